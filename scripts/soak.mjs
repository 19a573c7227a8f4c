// Corpus soak: runs cuirass (the built CLI) over all of ../shared/corpus and prints one table:
// files, documents, changes per transform, findings per severity, refusals with reasons, errors.
// Fails (exit 1) on any crash, unparsable output, lost comment, non-idempotent file, or a secret
// value printed. Usage: npm run soak [-- --corpus DIR] [--json FILE]
import { spawnSync } from 'node:child_process';
import { cpSync, chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const corpus = arg('--corpus', join(root, '../shared/corpus'));
const cli = join(root, 'dist/src/cli.js');
const { processText } = await import(join(root, 'dist/src/run.js'));
const { selectTransforms } = await import(join(root, 'dist/src/run.js'));
const { DEFAULT_SETTINGS } = await import(join(root, 'dist/src/settings.js'));

const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : /\.(ya?ml|json)$/i.test(e.name) ? [join(d, e.name)] : []));
const comments = (t) => {
  const m = new Map();
  for (const l of t.split(/\r?\n/)) if (l.trim().startsWith('#')) m.set(l.trim(), (m.get(l.trim()) ?? 0) + 1);
  return m;
};

const work = mkdtempSync(join(tmpdir(), 'cuirass-soak-'));
cpSync(corpus, work, { recursive: true });
const writable = (d) => {
  chmodSync(d, 0o755);
  for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? writable(join(d, e.name)) : chmodSync(join(d, e.name), 0o644);
};
writable(work);

const options = { level: 'restricted', settings: DEFAULT_SETTINGS, transforms: selectTransforms(), hasFolder: true };
const stats = { files: 0, manifests: 0, documents: 0, skipped: 0, errors: [], changes: {}, severities: {}, refusals: {}, problems: [] };
const secrets = new Set();
for (const file of walk(work)) {
  const rel = relative(work, file);
  const text = readFileSync(file, 'utf8');
  stats.files++;
  let o;
  try {
    o = processText(rel, text, options, true);
  } catch (e) {
    stats.problems.push(`${rel}: crash: ${e.message}`);
    continue;
  }
  if (o.status === 'error') {
    stats.errors.push(`${rel}:${o.line}:${o.col}: ${o.message}`);
    if (/internal error|left untouched/.test(o.message)) stats.problems.push(`${rel}: ${o.message}`);
    continue;
  }
  if (o.status === 'skipped') {
    stats.skipped++;
    continue;
  }
  stats.manifests++;
  stats.documents += parseAllDocuments(text).length;
  for (const s of o.secrets) if (s.length >= 4) secrets.add(s);
  for (const c of o.changes) stats.changes[c.transform] = (stats.changes[c.transform] ?? 0) + 1;
  for (const f of o.remaining) {
    stats.severities[f.severity] = (stats.severities[f.severity] ?? 0) + 1;
    if (f.reason && !f.reason.startsWith('report only')) stats.refusals[`${f.transform}: ${f.reason}`] = (stats.refusals[`${f.transform}: ${f.reason}`] ?? 0) + 1;
  }
  if (parseAllDocuments(o.output, { merge: true }).some((d) => d.errors.length)) stats.problems.push(`${rel}: output does not parse`);
  const after = comments(o.output);
  for (const [l, n] of comments(text)) if ((after.get(l) ?? 0) < n) stats.problems.push(`${rel}: lost comment ${l}`);
  const again = processText(rel, o.output, options, true);
  if (again.output !== o.output) stats.problems.push(`${rel}: not idempotent`);
}

// A value that also appears where it is no secret (an image name, a path, a comment) cannot be
// told apart in the output: only the distinctive ones are checked.
const SECRETISH = /(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|ACCESS_KEY|CREDENTIALS)|:\/\/[^\s]*:[^\s]*@/i;
const publicText = walk(work)
  .map((f) => `${relative(work, f)}\n${readFileSync(f, 'utf8').split('\n').filter((l) => !SECRETISH.test(l)).join('\n')}`)
  .join('\n');
for (const s of [...secrets]) if (publicText.includes(s)) secrets.delete(s);

// Everything the CLI prints, over the whole corpus, in every format: no secret value in it.
for (const format of ['diff', 'json', 'sarif', 'json-patch']) {
  const r = spawnSync(process.execPath, [cli, work, '--format', format], { encoding: 'utf8', maxBuffer: 1 << 30 });
  for (const s of secrets) if (r.stdout.includes(s) || r.stderr.includes(s)) stats.problems.push(`secret printed by --format ${format}: ${process.env.SOAK_SHOW ? s : s.slice(0, 2) + "…"}`);
}
const check = spawnSync(process.execPath, [cli, 'check', work], { encoding: 'utf8', maxBuffer: 1 << 30 });
for (const s of secrets) if (check.stdout.includes(s) || check.stderr.includes(s)) stats.problems.push(`secret printed by check: ${s.slice(0, 2)}…`);

const rows = [
  ['files', stats.files],
  ['manifest files', stats.manifests],
  ['documents', stats.documents],
  ['skipped (not manifests, templates)', stats.skipped],
  ['input errors (left untouched)', stats.errors.length],
  ['secret values checked', secrets.size],
  ...Object.entries(stats.changes).sort().map(([k, v]) => [`changes: ${k}`, v]),
  ...['critical', 'high', 'medium', 'low'].map((s) => [`unfixed: ${s}`, stats.severities[s] ?? 0]),
  ...Object.entries(stats.refusals).sort((a, b) => b[1] - a[1]).map(([k, v]) => [`refused: ${k}`, v]),
  ['problems', stats.problems.length],
];
const width = Math.max(...rows.map(([k]) => String(k).length));
console.log(rows.map(([k, v]) => `${String(k).padEnd(width)}  ${v}`).join('\n'));
for (const e of stats.errors) console.log(`error: ${e}`);
for (const p of stats.problems) console.log(`PROBLEM: ${p}`);
const json = arg('--json');
if (json) writeFileSync(json, JSON.stringify(stats, null, 2));
process.exitCode = stats.problems.length ? 1 : 0;
