/**
 * Reads `NAME=value` lines the way compose-go's dotenv parser (compose-spec/compose-go v2,
 * dotenv/parser.go) does, for what cuirass writes: unquoted values end at ` #` and lose trailing
 * blanks; in quotes a backslash keeps the next character from ending the value; single quotes
 * keep the bytes between them; double quotes turn `\n`, `\r`, `\t`, `\\`, `\"` into their
 * characters and `\$` or `$$` into `$` (variables are not expected in what cuirass writes).
 */
export function readDotenvLine(line: string): [string, string] {
  const eq = line.indexOf('=');
  const name = line.slice(0, eq).trim();
  const src = line.slice(eq + 1).replace(/^[ \t]+/, '');
  const quote = src[0];
  if (quote !== "'" && quote !== '"') {
    const value = src.split(' #')[0].replace(/\s+$/, '');
    if (/\$(?!\$)/.test(value.replace(/\$\$/g, ''))) throw new Error(`${name}: unquoted value would be interpolated`);
    return [name, value.replace(/\$\$/g, '$')];
  }
  let escape = false;
  for (let i = 1; i < src.length; i++) {
    const c = src[i];
    if (c !== quote) {
      escape = !escape && c === '\\';
      continue;
    }
    if (escape) {
      escape = false;
      continue;
    }
    if (src.slice(i + 1).trim() !== '' && !src.slice(i + 1).trim().startsWith('#')) throw new Error(`${name}: text after the closing quote`);
    const body = src.slice(1, i);
    if (quote === "'") return [name, body];
    const unescaped = body.replace(/\\([abcfnrtv$"\\])/g, (_m, ch: string) => ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', f: '\f', v: '\v', c: '\\c', $: '$$', '"': '"', '\\': '\\' })[ch] as string);
    if (/\$(?!\$)/.test(unescaped.replace(/\$\$/g, ''))) throw new Error(`${name}: double-quoted value would be interpolated`);
    return [name, unescaped.replace(/\$\$/g, '$')];
  }
  throw new Error(`${name}: unterminated quoted value`);
}
