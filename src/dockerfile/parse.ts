/**
 * A small Dockerfile reader, after BuildKit's parser (moby/buildkit frontend/dockerfile/parser):
 * parser directives at the top (`# escape=`), comments, line continuations with the escape
 * character, heredocs of RUN/COPY/ADD, JSON (exec) and shell forms, leading `--flags`.
 * It never fails: what it cannot read stays text in `args`. Offsets index the source text.
 */

/** One `--name=value` (or bare `--name`) flag of an instruction. */
export interface Flag {
  name: string;
  value: string | undefined;
}

/** A heredoc body: `<<EOF` … `EOF`. */
export interface Heredoc {
  name: string;
  body: string;
}

/** One instruction, with its place in the source. */
export interface Instruction {
  /** Upper-case keyword: `FROM`, `RUN`, … */
  keyword: string;
  /** Offset of the keyword (the instruction's first character). */
  start: number;
  /** Offset just past the instruction's last line (heredocs included), before its line break. */
  end: number;
  /** 1-based line and column of the keyword. */
  line: number;
  col: number;
  /** The logical line after the keyword and flags: continuations joined, comments dropped. */
  args: string;
  flags: Flag[];
  /** The exec form's items (`["a", "b"]`), when the arguments are a JSON array of strings. */
  json?: string[];
  heredocs: Heredoc[];
  /** Source offset of index `i` of `args`. */
  offsetOf(i: number): number;
}

/** A parsed Dockerfile. */
export interface DockerfileSource {
  text: string;
  directives: Map<string, string>;
  escape: string;
  instructions: Instruction[];
  /** 1-based line and column of an offset. */
  position(offset: number): { line: number; col: number };
}

const DIRECTIVE = /^#[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(.*?)[ \t]*$/;
const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\2/g;
const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);
/** Instructions that take `--flags` before their arguments. */
const FLAG_KEYWORDS = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'HEALTHCHECK']);

interface Line {
  start: number;
  /** Content end, before `\r\n` or `\n`. */
  end: number;
}

function linesOf(text: string): Line[] {
  const out: Line[] = [];
  let start = 0;
  while (start <= text.length) {
    const nl = text.indexOf('\n', start);
    const stop = nl < 0 ? text.length : nl;
    out.push({ start, end: stop > start && text[stop - 1] === '\r' ? stop - 1 : stop });
    if (nl < 0) break;
    start = nl + 1;
  }
  return out;
}

/** Reads a Dockerfile. */
export function parseDockerfile(input: string): DockerfileSource {
  const text = input;
  const lines = linesOf(text);
  const bom = text.startsWith('\uFEFF') ? 1 : 0;
  const lineText = (i: number) => text.slice(i === 0 ? lines[0].start + bom : lines[i].start, lines[i].end);
  const directives = new Map<string, string>();
  let i = 0;
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lineText(i));
    if (!m || directives.has(m[1].toLowerCase())) break;
    directives.set(m[1].toLowerCase(), m[2]);
  }
  const escape = directives.get('escape') === '`' ? '`' : '\\';
  const instructions: Instruction[] = [];
  const isComment = (s: string) => /^[ \t]*#/.test(s);
  const isBlank = (s: string) => /^[ \t]*$/.test(s);
  while (i < lines.length) {
    const first = lineText(i);
    if (isBlank(first) || isComment(first)) {
      i++;
      continue;
    }
    // The logical line: pieces of physical lines, each with its source offset.
    const pieces: { text: string; offset: number }[] = [];
    let lastLine = i;
    let j = i;
    for (;;) {
      const raw = lineText(j);
      const offset = j === 0 ? lines[0].start + bom : lines[j].start;
      const trimmed = raw.replace(/[ \t]+$/, '');
      const continues = trimmed.endsWith(escape);
      pieces.push({ text: continues ? trimmed.slice(0, -1) : raw, offset });
      lastLine = j;
      if (!continues) break;
      // Comment and blank lines inside a continuation are dropped (BuildKit warns on blanks).
      j++;
      while (j < lines.length && (isComment(lineText(j)) || isBlank(lineText(j)))) j++;
      if (j >= lines.length) break;
    }
    const logical = pieces.map((p) => p.text).join('');
    const offsetOfLogical = (k: number): number => {
      let at = 0;
      for (const p of pieces) {
        if (k < at + p.text.length || p === pieces[pieces.length - 1]) return p.offset + Math.min(k - at, p.text.length);
        at += p.text.length;
      }
      return pieces[0].offset;
    };
    const lead = /^[ \t]*/.exec(logical)![0].length;
    const kwMatch = /^\S+/.exec(logical.slice(lead))!;
    const keyword = kwMatch[0].toUpperCase();
    let k = lead + kwMatch[0].length;
    const flags: Flag[] = [];
    const skipSpace = () => {
      while (k < logical.length && /[ \t]/.test(logical[k])) k++;
    };
    skipSpace();
    if (FLAG_KEYWORDS.has(keyword)) {
      for (;;) {
        const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=((?:"[^"]*"|'[^']*'|\S)*))?(?=\s|$)/.exec(logical.slice(k));
        if (!m) break;
        flags.push({ name: m[1].toLowerCase(), value: m[2] === undefined ? undefined : m[2].replace(/^(["'])(.*)\1$/, '$2') });
        k += m[0].length;
        skipSpace();
      }
    }
    const argsStart = k;
    const args = logical.slice(argsStart).replace(/[ \t]+$/, '');
    let json: string[] | undefined;
    if (args.startsWith('[')) {
      try {
        const v = JSON.parse(args) as unknown;
        if (Array.isArray(v) && v.every((x) => typeof x === 'string')) json = v;
      } catch {
        // shell form
      }
    }
    const heredocs: Heredoc[] = [];
    let end = lines[lastLine].end;
    let next = lastLine + 1;
    if (HEREDOC_KEYWORDS.has(keyword) && !json) {
      for (const m of args.matchAll(HEREDOC)) {
        const strip = m[1] === '-';
        const body: string[] = [];
        while (next < lines.length) {
          const l = lineText(next++);
          if ((strip ? l.replace(/^\t+/, '') : l) === m[3]) break;
          body.push(strip ? l.replace(/^\t+/, '') : l);
        }
        end = lines[Math.min(next, lines.length) - 1].end;
        heredocs.push({ name: m[3], body: body.length ? body.join('\n') + '\n' : '' });
      }
    }
    const start = offsetOfLogical(lead);
    const pos = position(start);
    instructions.push({
      keyword,
      start,
      end,
      line: pos.line,
      col: pos.col,
      args,
      flags,
      ...(json ? { json } : {}),
      heredocs,
      offsetOf: (idx: number) => offsetOfLogical(argsStart + idx),
    });
    i = next;
  }
  function position(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = lines.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lines[mid].start <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - lines[lo].start + 1 };
  }
  return { text, directives, escape, instructions, position };
}

/** A word of a shell-form argument list, with its index in `args`. */
export interface Word {
  value: string;
  index: number;
}

/**
 * Splits arguments into words the way the instruction sees them (whitespace separated, quotes
 * removed, escape character kept out). Variables are left as written.
 */
export function wordsOf(args: string, escape = '\\'): Word[] {
  const out: Word[] = [];
  let i = 0;
  while (i < args.length) {
    while (i < args.length && /\s/.test(args[i])) i++;
    if (i >= args.length) break;
    const index = i;
    let value = '';
    while (i < args.length && !/\s/.test(args[i])) {
      const c = args[i];
      if (c === '"' || c === "'") {
        const close = args.indexOf(c, i + 1);
        if (close < 0) {
          value += args.slice(i + 1);
          i = args.length;
          break;
        }
        value += args.slice(i + 1, close);
        i = close + 1;
      } else if (c === escape && i + 1 < args.length) {
        value += args[i + 1];
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    out.push({ value, index });
  }
  return out;
}
