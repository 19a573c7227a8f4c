import { lstatSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ignoreRule, mergeFiles } from './engine/index.js';
import type { SideFile } from './engine/index.js';
import { gitState } from './git.js';
import type { Outcome } from './run.js';

/** The rule that keeps cuirass's temporary files and locks (see write.ts) out of commits. */
export const TEMP_RULE = '.*.cuirass-tmp';

const GITIGNORE = '.gitignore';

/** True when git would commit `rel` of `folder` (inside a repository: not ignored, not tracked). */
function exposed(folder: string, rel: string): boolean {
  const git = gitState(folder, rel);
  return git !== undefined && !git.tracked && !git.ignored;
}

function isFolder(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Rules that secret files an earlier run generated need and no longer have (a .gitignore line
 * lost to a concurrent edit or a revert): the sidecar `<name>.secrets.yaml` of a manifest,
 * Compose's `secrets/` folder and `.env` when the file reads from them. Asked of git.
 */
function missingRules(folder: string, input: string, o: Outcome): string[] {
  const rules: string[] = [];
  if (o.kind === 'kubernetes') {
    const sidecar = `${basename(input).replace(/\.(ya?ml|json)$/i, '')}.secrets.yaml`;
    if (isFile(join(folder, sidecar)) && exposed(folder, sidecar)) rules.push(ignoreRule(sidecar));
  } else if (o.kind === 'compose') {
    const secrets = join(folder, 'secrets');
    if (/(^|[\s"'/])secrets\//m.test(o.output) && isFolder(secrets)) {
      const files = readdirSync(secrets).filter((n) => isFile(join(secrets, n)));
      if (files.some((n) => exposed(folder, `secrets/${n}`))) rules.push(ignoreRule('secrets', true));
    }
    if (o.output.includes(':?set it in .env}') && isFile(join(folder, '.env')) && exposed(folder, '.env')) rules.push(ignoreRule('.env'));
  }
  return rules;
}

/**
 * The side files of an outcome with the .gitignore rules safety needs added: rules an earlier
 * run wrote that are missing now, and, whenever the .gitignore is written, the rule for
 * temporary files (a killed run's temporary file may hold a secret).
 */
export function withSafetyRules(folder: string, input: string, o: Outcome): SideFile[] {
  const repairs = missingRules(folder, input, o);
  const writes = repairs.length > 0 || o.files.some((f) => f.path === GITIGNORE);
  if (!writes) return o.files;
  const rules = [...repairs, TEMP_RULE].map((r) => `${r}\n`).join('');
  return mergeFiles([...o.files, { path: GITIGNORE, content: rules, mode: 0o644, merge: 'lines', secret: false }]);
}
