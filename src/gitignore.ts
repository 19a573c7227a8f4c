import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

interface Rule {
  regex: RegExp;
  negate: boolean;
  dirOnly: boolean;
}

/** Converts one .gitignore glob to a regular expression over a '/'-separated relative path. */
function globToRegex(glob: string, anchored: boolean): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        const slashAfter = glob[i + 2] === '/';
        re += slashAfter ? '(?:.*/)?' : '.*';
        i += slashAfter ? 2 : 1;
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else if (ch === '\\' && i + 1 < glob.length) re += '\\' + glob[++i];
    else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp((anchored ? '^' : '^(?:.*/)?') + re + '(?:/.*)?$');
}

/** Parses the text of a .gitignore file. */
export function parseGitignore(text: string): Rule[] {
  const rules: Rule[] = [];
  for (let line of text.split(/\r?\n/)) {
    if (!line.trim() || line.startsWith('#')) continue;
    line = line.replace(/(?<!\\)\s+$/, '');
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.slice(0, -1);
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    if (!line) continue;
    rules.push({ regex: globToRegex(line, anchored), negate, dirOnly });
  }
  return rules;
}

/** The .gitignore rules of one directory, matched against paths below it. */
export class IgnoreLayer {
  constructor(
    private readonly dir: string,
    private readonly rules: Rule[],
  ) {}

  /** Reads `dir/.gitignore`; an absent file gives no rules. */
  static read(dir: string): IgnoreLayer | undefined {
    try {
      const rules = parseGitignore(readFileSync(join(dir, '.gitignore'), 'utf8'));
      return rules.length ? new IgnoreLayer(dir, rules) : undefined;
    } catch {
      return undefined;
    }
  }

  /** true: ignored, false: re-included, undefined: no rule matches. */
  match(path: string, isDir: boolean): boolean | undefined {
    const rel = relative(this.dir, path).split(sep).join('/');
    if (!rel || rel.startsWith('..')) return undefined;
    let result: boolean | undefined;
    for (const rule of this.rules) {
      // Directory-only rules prune folders during the walk; files below them are never reached.
      if (rule.dirOnly && !isDir) continue;
      if (!rule.regex.test(rel)) continue;
      result = !rule.negate;
    }
    return result;
  }
}

/** True when any layer (outermost first, later ones win) ignores `path`. */
export function isIgnored(layers: readonly IgnoreLayer[], path: string, isDir: boolean): boolean {
  let ignored = false;
  for (const layer of layers) {
    const m = layer.match(path, isDir);
    if (m !== undefined) ignored = m;
  }
  return ignored;
}
