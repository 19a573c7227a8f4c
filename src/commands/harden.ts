import { join, relative } from 'node:path';
import type { CliOptions } from '../cli.js';
import { discover, readInput } from '../load.js';
import type { InputFile } from '../load.js';
import { processText, selectTransforms, splitIds, UsageError } from '../run.js';
import type { Outcome, RunOptions } from '../run.js';
import { DEFAULT_SETTINGS } from '../settings.js';
import { unifiedDiff } from '../report/diff.js';
import { summarize, formatError } from '../report/summary.js';
import { writeAtomic } from '../write.js';

/** Reads all of stdin as UTF-8. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function useColor(opts: CliOptions): boolean {
  return opts.color !== false && !process.env.NO_COLOR && Boolean(process.stdout.isTTY);
}

/** The default command: harden PATHs (or stdin) and print a diff, YAML, or write files. Returns the exit code. */
export async function runHarden(paths: string[], opts: CliOptions): Promise<number> {
  let options: RunOptions;
  try {
    options = {
      level: opts.level,
      settings: DEFAULT_SETTINGS,
      flags: { fixDockerSocket: Boolean(opts.fixDockerSocket) },
      transforms: selectTransforms(splitIds(opts.only), splitIds(opts.skip)),
    };
    if (opts.write && opts.out) throw new UsageError('--write and --out cannot be combined');
    if (paths.includes('-') && paths.length > 1) throw new UsageError('"-" (stdin) cannot be combined with other paths');
    if (paths.includes('-') && (opts.write || opts.out)) throw new UsageError('"-" writes to stdout; --write and --out do not apply');
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`cuirass: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const err = (s: string) => process.stderr.write(s);
  if (paths.length === 1 && paths[0] === '-') {
    const outcome = processText('<stdin>', await readStdin(), options);
    if (outcome.status === 'error') {
      err(formatError(outcome) + '\n');
      return 2;
    }
    if (opts.format === 'diff') process.stdout.write(unifiedDiff('<stdin>', outcome.input, outcome.output, useColor(opts)));
    else process.stdout.write(outcome.output);
    if (!opts.quiet) err(summarize([outcome], { wrote: false }));
    return opts.check && outcome.status === 'changed' ? 1 : 0;
  }

  const found = discover(paths);
  const outcomes: Outcome[] = [];
  let failed = found.errors.length > 0;
  for (const e of found.errors) err(`cuirass: ${e.display}: ${e.message}\n`);
  const files = found.files;
  const progress = process.stderr.isTTY && files.length > 50 && !opts.quiet;
  const byRoot = new Map<string, number>();
  files.forEach((file: InputFile, i: number) => {
    if (progress) err(`\r[${i + 1}/${files.length}] ${file.display}`.slice(0, 100).padEnd(100));
    const read = readInput(file.path);
    const outcome: Outcome =
      'error' in read
        ? { display: file.display, status: 'error', input: '', output: '', changes: [], remaining: [], message: read.error, line: 1, col: 1, manifest: false }
        : processText(file.display, read.text, options);
    outcomes.push(outcome);
    if (outcome.manifest || outcome.status === 'error') byRoot.set(file.root, (byRoot.get(file.root) ?? 0) + 1);
    if (outcome.status === 'error') {
      failed = true;
      if (progress) err('\n');
      err(formatError(outcome) + '\n');
      return;
    }
    if (outcome.status === 'skipped' && (file.explicit || outcome.manifest) && !opts.quiet) err(`cuirass: ${file.display}: ${outcome.message}\n`);
    if (outcome.status !== 'changed' && outcome.status !== 'unchanged') return;
    try {
      if (opts.write && outcome.status === 'changed') writeAtomic(file.path, outcome.output, file.root);
      if (opts.out) writeAtomic(join(opts.out, relative(file.root, file.path)), outcome.output);
    } catch (e) {
      failed = true;
      err(`cuirass: ${file.display}: not written: ${(e as Error).message}\n`);
    }
  });
  if (progress) err('\r'.padEnd(101) + '\r');
  if (found.errors.length === 0 && outcomes.every((o) => !o.manifest && o.status !== 'error')) {
    err(`cuirass: no Kubernetes manifests or Compose files found under ${paths.join(', ')}\n`);
    failed = true;
  }

  const format = opts.format ?? (opts.write || opts.out ? undefined : 'diff');
  const color = useColor(opts);
  if (format === 'diff') {
    for (const o of outcomes) if (o.status === 'changed') process.stdout.write(unifiedDiff(o.display, o.input, o.output, color));
  } else if (format === 'yaml') {
    let first = true;
    for (const o of outcomes) {
      if (o.status !== 'changed' && o.status !== 'unchanged') continue;
      if (!first && !/^\uFEFF?---/.test(o.output)) process.stdout.write('---\n');
      process.stdout.write(o.output.endsWith('\n') || o.output === '' ? o.output : o.output + '\n');
      first = false;
    }
  }
  if (!opts.quiet) err(summarize(outcomes, { wrote: Boolean(opts.write), notices: found.notices.length, otherFiles: found.otherFiles }));
  if (failed) return 2;
  if (opts.check && outcomes.some((o) => o.status === 'changed')) return 1;
  return 0;
}
