import type { SiblingFile } from '../types.js';

/** Looks a variable up: its value, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/**
 * `text` with Compose's interpolation resolved (compose-go's template rules): `$$` is `$`;
 * `$VAR` and `${VAR}`; `${VAR:-x}` (x when VAR is unset or empty), `${VAR-x}` (x when unset);
 * `${VAR:?msg}`/`${VAR?msg}` (VAR must be set); `${VAR:+x}`/`${VAR+x}` (x when set). Defaults may
 * nest. Undefined when a variable that decides the result has no value (Compose would put an
 * empty string there, or stop): the caller cannot know what the text becomes.
 */
export function interpolate(text: string, lookup: Lookup, depth = 0): string | undefined {
  if (!text.includes('$')) return text;
  if (depth > 8) return undefined;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf('$', i);
    if (at < 0) return out + text.slice(i);
    out += text.slice(i, at);
    const next = text[at + 1];
    if (next === '$') {
      out += '$';
      i = at + 2;
      continue;
    }
    if (next !== '{') {
      const name = NAME.exec(text.slice(at + 1))?.[0];
      if (!name) {
        out += '$';
        i = at + 1;
        continue;
      }
      const value = lookup(name);
      if (value === undefined) return undefined;
      out += value;
      i = at + 1 + name.length;
      continue;
    }
    const end = closingBrace(text, at + 2);
    if (end < 0) return undefined;
    const body = text.slice(at + 2, end);
    const name = NAME.exec(body)?.[0];
    if (!name) return undefined;
    const op = /^(:?[-?+])?/.exec(body.slice(name.length))![0];
    const arg = body.slice(name.length + op.length);
    if (!op && arg) return undefined;
    const value = lookup(name);
    const set = value !== undefined;
    const full = set && value !== '';
    let piece: string | undefined;
    if (op === '') piece = value;
    else if (op === ':-' || op === '-') piece = (op === ':-' ? full : set) ? value : interpolate(arg, lookup, depth + 1);
    else if (op === ':?' || op === '?') piece = (op === ':?' ? full : set) ? value : undefined;
    else piece = (op === ':+' ? full : set) ? interpolate(arg, lookup, depth + 1) : '';
    if (piece === undefined) return undefined;
    out += piece;
    i = end + 1;
  }
  return out;
}

/** Index of the `}` that closes a `${` whose body starts at `from` (nested `${…}` skipped), or -1. */
function closingBrace(text: string, from: number): number {
  let open = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      open++;
      i++;
    } else if (text[i] === '}' && --open === 0) return i;
  }
  return -1;
}

/**
 * The variables of a `.env` file, read as compose-go's dotenv parser reads them: `NAME=value`
 * (or `NAME: value`), `export ` allowed, `#` comments; unquoted values end at ` #` and are
 * trimmed; single quotes keep their bytes; double quotes take `\n`, `\t`, `\\`, `\"` escapes;
 * both quotes may span lines. Unquoted and double-quoted values interpolate the variables
 * defined above them (a value that names an unknown one is left unset).
 */
export function readDotenv(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  const src = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  let i = 0;
  while (i < src.length) {
    const eol = src.indexOf('\n', i) < 0 ? src.length : src.indexOf('\n', i);
    const line = src.slice(i, eol);
    const m = /^\s*(?:export\s+)?([_a-zA-Z][_a-zA-Z0-9.-]*)\s*[=:][ \t]*/.exec(line);
    if (!m || /^\s*#/.test(line)) {
      i = eol + 1;
      continue;
    }
    const start = i + m[0].length;
    const quote = src[start];
    let raw: string;
    let expand = true;
    if (quote === "'" || quote === '"') {
      let end = start + 1;
      while (end < src.length && (src[end] !== quote || (quote === '"' && escaped(src, end)))) end++;
      if (end >= src.length) break;
      raw = src.slice(start + 1, end);
      if (quote === "'") expand = false;
      else raw = raw.replace(/\\([nrt\\"$])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? (c === '$' ? '$$' : c));
      const after = src.indexOf('\n', end);
      i = after < 0 ? src.length : after + 1;
    } else {
      raw = line.slice(m[0].length).split(/\s#/)[0].trim();
      i = eol + 1;
    }
    const value = expand ? interpolate(raw, (name) => vars.get(name)) : raw;
    if (value === undefined) vars.delete(m[1]);
    else vars.set(m[1], value);
  }
  return vars;
}

function escaped(text: string, at: number): boolean {
  let n = 0;
  for (let i = at - 1; i >= 0 && text[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

const READ = new WeakMap<object, Map<string, string> | null>();

/**
 * The variables of the `.env` beside a Compose file, read once through `sibling` (which reads
 * only inside the input tree: a symlink out of it, a FIFO or a device is refused, and then
 * nothing is known). Undefined without a readable `.env`.
 */
export function dotenvBeside(sibling: ((path: string) => SiblingFile | undefined) | undefined): Lookup | undefined {
  if (!sibling) return undefined;
  let vars = READ.get(sibling);
  if (vars === undefined) {
    const file = sibling('.env');
    vars = file && !file.refused ? readDotenv(file.text) : null;
    READ.set(sibling, vars);
  }
  const found = vars;
  return found ? (name) => found.get(name) : undefined;
}
