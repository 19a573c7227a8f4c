import { dirname, join, relative } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { CliOptions } from '../cli.js';
import { discover, inputBytes, readInput, readStdin } from '../load.js';
import type { InputFile } from '../load.js';
import { processText, selectTransforms, splitIds, TEMPLATE_SKIPPED, templateNotice, UsageError } from '../run.js';
import type { Outcome, RunOptions } from '../run.js';
import { ConfigError, findConfig, loadConfig } from '../config.js';
import { TRANSFORMS } from '../../transforms/index.js';
import { summarize, formatError } from '../report/summary.js';
import { removeStaleTemps, writeAtomic } from '../write.js';
import { decodeUtf8, readGenerated, UnsafeFileError } from '../safe-fs.js';
import { withSafetyRules } from '../ignore-rules.js';
import { expectInput, releaseVerifier } from '../verify.js';
import { generatedProblem, REDACTED, redact, sidecarContent, withDocs, writeGenerated } from '../emit.js';
import { POLICY_FILE, runProject } from '../project.js';
import { displayPath } from '../load.js';
import type { GeneratedDoc } from '../engine/index.js';
import { GeneratedFiles } from '../report/generated.js';
import { redactSpans, secretObjectSpans, secretSpans } from '../redact.js';
import type { SecretSpan } from '../redact.js';
import { stopLines, streamable, streamStdin } from '../stream.js';

/** The most of a string handed to stdout at once (UTF-16 code units). */
const SLICE = 1 << 20;

/**
 * Writes `text` to stdout a slice at a time: `write` turns a string into a Buffer of its own, and
 * the 13 MB output of 10,000 documents would be held twice at the end of a run. A slice never
 * ends between the two halves of a surrogate pair (each is encoded on its own).
 */
function print(text: string): void {
  for (let i = 0; i < text.length; ) {
    let end = Math.min(i + SLICE, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    process.stdout.write(text.slice(i, end));
    i = end;
  }
}

/** `withDocs(output, docs)`, printed without building it as one string. */
function printStream(output: string, docs: readonly GeneratedDoc[]): void {
  print(output);
  if (docs.length === 0) return;
  if (output !== '' && !output.endsWith('\n')) print('\n');
  print(withDocs('', docs));
}

function useColor(opts: CliOptions): boolean {
  return opts.color !== false && !process.env.NO_COLOR && Boolean(process.stdout.isTTY);
}

function errorOutcome(display: string, message: string, line = 1, col = 1): Outcome {
  return { display, status: 'error', input: '', output: '', changes: [], remaining: [], message, line, col, manifest: false, files: [], documents: [], secrets: [], suppressed: [] };
}

/** The texts of the inputs that read cleanly (for `--inspect-images`, which reads them before hardening). */
export function textsOf(files: readonly InputFile[]): string[] {
  return files.flatMap((f) => {
    const read = readInput(f.path);
    return 'error' in read ? [] : [read.text];
  });
}

/** `options` with the local engine's image configs (`--inspect-images`), the notice on stderr. */
export async function inspected(options: RunOptions, texts: readonly string[], quiet?: boolean): Promise<RunOptions> {
  const { withImageFacts } = await import('../stack/images.js');
  const { settings, notice } = await withImageFacts(options.settings, texts);
  if (!quiet) process.stderr.write(`cuirass: ${notice}
`);
  return { ...options, settings };
}

/** Run options from the config file and the flags (flags win). */
export function optionsFrom(paths: string[], opts: CliOptions): RunOptions {
  const ids = TRANSFORMS.map((t) => t.id);
  const start = paths.length === 0 || paths[0] === '-' ? process.cwd() : paths[0];
  const config = loadConfig(findConfig(opts.config, start), ids);
  const only = splitIds(opts.only);
  // `--only ""` (an unset variable in a script) would otherwise mean every transform.
  if (opts.only && only.length === 0) throw new UsageError('--only names no transform (ids, comma separated: `cuirass rules`)');
  const transforms = selectTransforms(only, [...splitIds(opts.skip), ...config.skip]);
  if (only.length && transforms.length === 0) throw new UsageError(`--only ${only.join(',')}: every transform it names is skipped (--skip or the config's skip)`);
  return {
    level: opts.level ?? config.level ?? 'restricted',
    settings: config.settings,
    flags: { fixDockerSocket: Boolean(opts.fixDockerSocket), egress: Boolean(opts.egress), fixUsernsRemap: Boolean(opts.fixUsernsRemap) },
    transforms,
    exemptions: config.exemptions,
  };
}

// The report modules (and the diff and JSON-patch libraries) load only for the format that needs
// them: `--write` and `-` to YAML start faster without them.
type UnifiedDiff = typeof import('../report/diff.js').unifiedDiff;
let unifiedDiff: UnifiedDiff;
async function loadDiff(): Promise<void> {
  unifiedDiff ??= (await import('../report/diff.js')).unifiedDiff;
}

/** The transforms whose findings say where secrets stand: asked even when a run skips them. */
const REDACTORS = TRANSFORMS.filter((t) => t.id === 'secrets-from-env');

/** Where the secrets of `text` (the input or output of `o`) stand. */
function secretsIn(o: Outcome, text: string, options: RunOptions): SecretSpan[] {
  if (o.secrets.length === 0 && options.transforms.some((t) => t.id === 'secrets-from-env')) return [];
  return secretSpans(text, REDACTORS, options.settings, o.display);
}

/** The diff of one input, each secret shown as <redacted> where it stands (after `loadDiff`). */
function diffOf(o: Outcome, color: boolean, options: RunOptions): string {
  if (o.status !== 'changed') return '';
  return unifiedDiff(o.display, redactSpans(o.input, secretsIn(o, o.input, options)), redactSpans(o.output, secretsIn(o, o.output, options)), color);
}

/** One diff per generated file, secret values hidden (after `loadDiff`). */
function generatedDiffs(files: GeneratedFiles, color: boolean): string {
  let out = '';
  for (const f of files.changed()) {
    // Side files: secret and env files masked whole; sidecars: the values of their Secrets.
    const masked = (t: string) => (f.merge ? (f.secret ? maskSecretFile(t, f.merge) : t) : redactSpans(t, secretObjectSpans(t)));
    out += unifiedDiff(f.display, masked(f.before ?? ''), masked(f.after), color, f.before === undefined);
  }
  return out;
}

/**
 * A secret file's content for display: env lines keep their names, everything else is hidden,
 * the lines of a quoted value that goes on over several lines too.
 */
function maskSecretFile(text: string, merge: string): string {
  if (!text) return text;
  if (merge !== 'env') return `${REDACTED}\n`;
  /** True when `s` holds the quote `q` that closes a value (a backslash escapes the next character). */
  const closes = (s: string, q: string) => {
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '\\') i++;
      else if (s[i] === q) return true;
    }
    return false;
  };
  let open: string | undefined;
  return text
    .split('\n')
    .map((l) => {
      if (open) {
        if (closes(l, open)) open = undefined;
        return REDACTED;
      }
      if (!l.includes('=')) return l;
      const value = l.slice(l.indexOf('=') + 1).trimStart();
      if (!l.trimStart().startsWith('#') && (value[0] === '"' || value[0] === "'") && !closes(value.slice(1), value[0])) open = value[0];
      return `${l.slice(0, l.indexOf('='))}=${REDACTED}`;
    })
    .join('\n');
}

/** `--format json|sarif|json-patch` of the default command. */
async function machineReport(
  format: string,
  outcomes: Outcome[],
  generated: { file: string; docs: GeneratedDoc[] }[],
  options: RunOptions,
  version: string,
  failed: () => void,
): Promise<string> {
  if (format === 'json-patch') {
    const { jsonPatches } = await import('../report/json-patch.js');
    const patches = jsonPatches(
      outcomes,
      generated,
      (o, message) => {
        process.stderr.write(`cuirass: ${o.display}:1:1: ${message}\n`);
        failed();
      },
      (o, text) => secretsIn(o, text, options),
    );
    return JSON.stringify(patches, null, 2) + '\n';
  }
  const { collectErrors, collectFindings, staleExemptions } = await import('../report/findings.js');
  const findings = [...collectFindings(outcomes), ...staleExemptions(options.exemptions ?? [])];
  const errors = collectErrors(outcomes);
  if (format === 'sarif') {
    const { sarifReport } = await import('../report/sarif.js');
    return sarifReport(findings, errors, options.transforms, new Map(outcomes.map((o) => [o.display, o.input])), version);
  }
  const { jsonReport } = await import('../report/json.js');
  return jsonReport(findings, errors, version);
}

/**
 * `cuirass -` to YAML, each document written as it settles (src/stream.ts); the exit code, or
 * undefined when nothing was written and the buffered run must take the input.
 */
function stdinStreamed(input: string, options: RunOptions, opts: CliOptions): number | undefined {
  const err = (s: string) => process.stderr.write(s);
  // What a streamed run keeps alive is small and the rest is garbage: the old generation grows by
  // 15% over what survives a collection (cli.ts allows 30%), which keeps 30,000 documents under
  // 300 MB of RSS.
  setFlagsFromString('--heap-growing-percent=15');
  const run = streamStdin(input, options, print);
  releaseVerifier();
  if (run.status === 'buffered') return undefined;
  if (run.status === 'stopped') {
    print(`${run.endsWithNewline ? '' : '\n'}${stopLines(run.line, run.col)}`);
    err(`cuirass: <stdin>:${run.line}:${run.col}: ${run.message}\n`);
    return 2;
  }
  const { outcome } = run;
  const project = runProject([{ o: outcome, dir: '', streamed: { values: run.values, positions: run.positions } }], options);
  outcome.documents = [...outcome.documents, ...(project.documents.get('') ?? [])];
  outcome.remaining = [...outcome.remaining, ...(project.findings.get(outcome.display) ?? [])];
  const created = new GeneratedFiles();
  created.add(outcome, undefined);
  // As `printStream` appends them to the output.
  if (outcome.documents.length) print(`${run.endsWithNewline ? '' : '\n'}${withDocs('', outcome.documents)}`);
  if (!opts.quiet) err(summarize([outcome], { wrote: false, generated: created.changed().length }));
  return opts.check && (outcome.status === 'changed' || outcome.documents.length > 0) ? 1 : 0;
}

/**
 * `cuirass -` once stdin is read: prints the hardened stream (or the report) and returns the exit
 * code. `stream: false` is the buffered run, which the streamed one must equal (test/stream-stdin).
 */
export async function hardenStdin(input: string, options: RunOptions, opts: CliOptions, version = '0.0.0', stream = true): Promise<number> {
  const err = (s: string) => process.stderr.write(s);
  const color = useColor(opts);
  // YAML out: written as it is hardened (ADR 007); what streaming leaves runs buffered below.
  if (stream && (opts.format ?? 'yaml') === 'yaml' && streamable(input)) {
    const code = stdinStreamed(input, options, opts);
    if (code !== undefined) return code;
  }
  const outcome = processText('<stdin>', input, options);
  let unpatched = false;
  releaseVerifier();
  if (outcome.status === 'error') {
    err(formatError(outcome) + '\n');
    return 2;
  }
  // A template on stdin (a Helm post-renderer, whose stderr Helm hides) is an error, never a pass-through.
  if (outcome.templates?.length) {
    for (const t of outcome.templates) err(`cuirass: ${templateNotice('<stdin>', t, true)}; nothing is written\n`);
    return 2;
  }
  const project = runProject([{ o: outcome, dir: '' }], options);
  outcome.documents = [...outcome.documents, ...(project.documents.get('') ?? [])];
  outcome.remaining = [...outcome.remaining, ...(project.findings.get(outcome.display) ?? [])];
  const created = new GeneratedFiles();
  created.add(outcome, undefined);
  if (opts.format === 'diff') {
    await loadDiff();
    process.stdout.write(diffOf(outcome, color, options) + generatedDiffs(created, color));
  } else if (opts.format && opts.format !== 'yaml') process.stdout.write(await machineReport(opts.format, [outcome], [], options, version, () => (unpatched = true)));
  else printStream(outcome.output, outcome.documents);
  if (!opts.quiet) err(summarize([outcome], { wrote: false, generated: created.changed().length }));
  if (unpatched) return 2;
  return opts.check && (outcome.status === 'changed' || outcome.documents.length > 0) ? 1 : 0;
}

/** The default command: harden PATHs (or stdin) and print a diff, YAML, or write files. Returns the exit code. */
export async function runHarden(paths: string[], opts: CliOptions, version = '0.0.0'): Promise<number> {
  let options: RunOptions;
  try {
    options = { ...optionsFrom(paths, opts), withEdits: opts.format === 'sarif' };
    if (opts.write && opts.out) throw new UsageError('--write and --out cannot be combined');
    if (paths.includes('-') && paths.length > 1) throw new UsageError('"-" (stdin) cannot be combined with other paths');
    if (paths.includes('-') && (opts.write || opts.out)) throw new UsageError('"-" writes to stdout; --write and --out do not apply');
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      process.stderr.write(`cuirass: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const err = (s: string) => process.stderr.write(s);
  const color = useColor(opts);
  if (paths.length === 1 && paths[0] === '-') {
    let input: string;
    try {
      const stdin = await readStdin(process.stdin, decodeUtf8);
      if ('error' in stdin) {
        err(`cuirass: <stdin>: ${stdin.error}\n`);
        return 2;
      }
      input = stdin.text;
    } catch (e) {
      if (!(e instanceof UnsafeFileError)) throw e;
      err(`cuirass: <stdin>:${e.line}:${e.col}: ${e.message}\n`);
      return 2;
    }
    if (opts.inspectImages) options = await inspected(options, [input], opts.quiet);
    return hardenStdin(input, options, opts, version);
  }

  const found = discover(paths);
  expectInput(inputBytes(found.files));
  if (opts.inspectImages) options = await inspected(options, textsOf(found.files), opts.quiet);
  if (opts.out) {
    // Two inputs with the same path relative to their folders would overwrite each other's copy.
    const taken = new Map<string, string>();
    for (const file of found.files) {
      const target = join(opts.out, relative(file.root, file.path));
      const other = taken.get(target);
      if (other !== undefined && other !== file.display) {
        err(`cuirass: --out: ${other} and ${file.display} would both be written to ${displayPath(target)}; harden them in separate runs (or pass their common parent folder)\n`);
        return 2;
      }
      taken.set(target, file.display);
    }
  }
  const outcomes: { o: Outcome; file: InputFile }[] = [];
  // Temporary files and locks that killed runs left where this run writes are removed first.
  const cleaned = new Set<string>();
  const cleanFolder = (folder: string) => {
    for (const dir of [folder, join(folder, 'secrets')]) {
      if (cleaned.has(dir)) continue;
      cleaned.add(dir);
      removeStaleTemps(dir);
    }
  };
  let failed = found.errors.length > 0;
  for (const e of found.errors) err(`cuirass: ${e.display}: ${e.message}\n`);
  if (!opts.quiet) for (const n of found.notices) err(`cuirass: ${n.display}: ${n.message}\n`);
  const files = found.files;
  const created = new GeneratedFiles();
  const progress = process.stderr.isTTY && files.length > 50 && !opts.quiet;
  files.forEach((file: InputFile, i: number) => {
    if (progress) err(`\r[${i + 1}/${files.length}] ${file.display}`.slice(0, 100).padEnd(100));
    const read = readInput(file.path);
    const o = 'error' in read ? errorOutcome(file.display, read.error, read.line, read.col) : processText(file.display, read.text, options, dirname(file.path), file.root);
    outcomes.push({ o, file });
    const folder = dirname(file.path);
    if (opts.write) cleanFolder(folder);
    if (o.status === 'changed' || o.status === 'unchanged') {
      // Every path the run would write is checked before anything is written or read for a diff.
      const files = withSafetyRules(folder, file.path, o);
      const problem = generatedProblem(opts.out ? join(opts.out, relative(file.root, folder)) : folder, files, o.documents);
      if (problem) {
        o.status = 'error';
        o.message = `${opts.write || opts.out ? 'not written' : 'refused'}: ${redact(problem, o.secrets)}`;
      } else o.files = files;
    }
    if (o.status === 'error') {
      failed = true;
      if (progress) err('\n');
      err(formatError(o) + '\n');
      return;
    }
    // A file named on the command line is always explained; of a folder walk, templates are
    // (they look like manifests and are not hardened); other YAML is summed up once at the end.
    if (o.status === 'skipped' && !opts.quiet && !opts.allowNoManifests && (file.explicit || o.message === TEMPLATE_SKIPPED)) err(`cuirass: ${file.display}: ${o.message}\n`);
    if (o.status !== 'skipped' && !opts.quiet) for (const t of o.templates ?? []) err(`cuirass: ${templateNotice(file.display, t)}\n`);
    if (o.status !== 'changed' && o.status !== 'unchanged') return;
    created.add(o, dirname(file.path));
    try {
      // Generated files first: a value moved out of a manifest is on disk before it leaves it.
      if (opts.write) {
        writeGenerated(folder, o.files, o.documents);
        if (o.status === 'changed') writeAtomic(file.path, o.output, { root: file.root, expect: 'stamp' in read ? read.stamp : undefined });
      }
      if (opts.out) {
        const target = join(opts.out, relative(file.root, file.path));
        writeGenerated(dirname(target), o.files, o.documents);
        writeAtomic(target, o.output);
      }
    } catch (e) {
      failed = true;
      o.status = 'error';
      o.message = `not written: ${redact((e as Error).message, o.secrets)}`;
      err(`cuirass: ${file.display}: ${o.message}\n`);
    }
  });
  if (progress) err('\r'.padEnd(101) + '\r');
  const others = outcomes.filter(({ o, file }) => o.status === 'skipped' && !file.explicit && o.message !== TEMPLATE_SKIPPED).map(({ file }) => file.display);
  if (others.length && !opts.quiet && !opts.allowNoManifests) {
    const named = others.slice(0, 5).join(', ') + (others.length > 5 ? `, and ${others.length - 5} more` : '');
    err(`cuirass: skipped ${others.length} file${others.length === 1 ? '' : 's'} with no Kubernetes objects or Compose services: ${named}\n`);
  }
  if (!opts.allowNoManifests && found.errors.length === 0 && outcomes.every(({ o }) => !o.manifest && o.status !== 'error')) {
    err(`cuirass: no Kubernetes manifests or Compose files found under ${paths.join(', ')}\n`);
    failed = true;
  }

  // Run-wide transforms (network policies) see every hardened object at once.
  releaseVerifier();
  const project = runProject(outcomes.map(({ o, file }) => ({ o, dir: dirname(file.path) })), options);
  for (const { o } of outcomes) o.remaining = [...o.remaining, ...(project.findings.get(o.display) ?? [])];
  const generated: { dir: string; root: string; docs: GeneratedDoc[]; before?: string }[] = [];
  for (const [dir, docs] of project.documents) {
    const root = outcomes.find(({ file }) => dirname(file.path) === dir)?.file.root ?? dir;
    // A policy file that already says this (it was not among the inputs) is not a change.
    let before: string | undefined;
    try {
      before = readGenerated(dir, POLICY_FILE);
    } catch (e) {
      if (!(e instanceof UnsafeFileError)) throw e;
      failed = true;
      err(`cuirass: ${displayPath(join(dir, POLICY_FILE))}: ${opts.write ? 'not written' : 'refused'}: ${e.message}\n`);
      continue;
    }
    if (before !== undefined && sidecarContent(before, docs) === before && !opts.out) continue;
    generated.push({ dir, root, docs, before });
    try {
      if (opts.write) writeGenerated(dir, [], docs);
      if (opts.out) writeGenerated(join(opts.out, relative(root, dir)), [], docs);
    } catch (e) {
      failed = true;
      err(`cuirass: ${displayPath(join(dir, POLICY_FILE))}: not written: ${(e as Error).message}\n`);
    }
  }

  const format = opts.format ?? (opts.write || opts.out ? undefined : 'diff');
  if (format === 'diff') {
    await loadDiff();
    for (const { o } of outcomes) if (o.status !== 'error') process.stdout.write(diffOf(o, color, options));
    process.stdout.write(generatedDiffs(created, color));
    for (const g of generated) {
      const path = join(g.dir, POLICY_FILE);
      process.stdout.write(unifiedDiff(displayPath(path), g.before ?? '', sidecarContent(g.before, g.docs), color, g.before === undefined));
    }
  } else if (format === 'yaml') {
    let first = true;
    for (const { o } of outcomes) {
      // A Dockerfile is not part of a YAML stream (its fixes show in the diff and --write).
      if ((o.status !== 'changed' && o.status !== 'unchanged') || o.kind === 'dockerfile') continue;
      const text = withDocs(o.output, o.documents);
      if (!first && !/^\uFEFF?---/.test(text)) process.stdout.write('---\n');
      print(text);
      if (!text.endsWith('\n') && text !== '') print('\n');
      first = false;
    }
    const docs = generated.flatMap((g) => g.docs);
    if (docs.length) process.stdout.write(withDocs('', docs));
  } else if (format) {
    const policyFiles = generated.map((g) => ({ file: displayPath(join(g.dir, POLICY_FILE)), docs: g.docs }));
    process.stdout.write(await machineReport(format, outcomes.map(({ o }) => o), policyFiles, options, version, () => (failed = true)));
  }
  const all = outcomes.map(({ o }) => o);
  for (const e of options.exemptions ?? []) {
    if (!e.used) err(`cuirass: ${e.source}: exemption of ${e.skip.join(', ')} exempts nothing (${e.reason})\n`);
  }
  if (!opts.quiet) err(summarize(all, { wrote: Boolean(opts.write), notices: found.notices.length, otherFiles: found.otherFiles, generated: created.changed().length + generated.length }));
  if (failed) return 2;
  if (opts.check && (generated.length > 0 || all.some((o) => o.status === 'changed' || o.files.length > 0 || o.documents.length > 0))) return 1;
  return 0;
}
