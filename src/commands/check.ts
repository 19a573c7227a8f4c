import { dirname } from 'node:path';
import type { CliOptions } from '../cli.js';
import { ConfigError } from '../config.js';
import { discover, inputBytes, readInput, readStdin } from '../load.js';
import { processText, templateNotice, UsageError } from '../run.js';
import { expectInput, releaseVerifier } from '../verify.js';
import type { Outcome } from '../run.js';
import { runProject } from '../project.js';
import { collectErrors, collectFindings, reaches, staleExemptions } from '../report/findings.js';
import { formatError } from '../report/summary.js';
import type { Severity } from '../types.js';
import { inspected, optionsFrom, textsOf } from './harden.js';
import { decodeUtf8, UnsafeFileError } from '../safe-fs.js';

/** Options of `cuirass check`. */
export interface CheckOptions extends Omit<CliOptions, 'format'> {
  failOn: Severity;
  format?: 'text' | 'json' | 'sarif';
}

/** `cuirass check`: report findings; exit 1 when one reaches --fail-on, 2 on bad input. */
export async function runCheck(paths: string[], opts: CheckOptions, version: string): Promise<number> {
  let options;
  try {
    options = { ...optionsFrom(paths, opts as CliOptions), withEdits: opts.format === 'sarif' };
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      process.stderr.write(`cuirass: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const outcomes: { o: Outcome; dir: string }[] = [];
  let failed = false;
  if (paths.length === 1 && paths[0] === '-') {
    let input: string;
    try {
      const stdin = await readStdin(process.stdin, decodeUtf8);
      if ('error' in stdin) {
        process.stderr.write(`cuirass: <stdin>: ${stdin.error}
`);
        return 2;
      }
      input = stdin.text;
    } catch (e) {
      if (!(e instanceof UnsafeFileError)) throw e;
      process.stderr.write(`cuirass: <stdin>:${e.line}:${e.col}: ${e.message}
`);
      return 2;
    }
    if (opts.inspectImages) options = await inspected(options, [input], opts.quiet);
    const o = processText('<stdin>', input, options);
    for (const t of o.templates ?? []) process.stderr.write(`cuirass: ${templateNotice('<stdin>', t, true)}\n`);
    failed = Boolean(o.templates?.length);
    outcomes.push({ o, dir: '' });
  } else {
    const found = discover(paths);
    expectInput(inputBytes(found.files));
    if (opts.inspectImages) options = await inspected(options, textsOf(found.files), opts.quiet);
    for (const e of found.errors) process.stderr.write(`cuirass: ${e.display}: ${e.message}\n`);
    failed = found.errors.length > 0;
    for (const file of found.files) {
      const read = readInput(file.path);
      const o: Outcome =
        'error' in read
          ? { display: file.display, status: 'error', input: '', output: '', changes: [], remaining: [], message: read.error, line: read.line ?? 1, col: read.col ?? 1, manifest: false, files: [], documents: [], secrets: [], suppressed: [] }
          : processText(file.display, read.text, options, dirname(file.path), file.root);
      outcomes.push({ o, dir: dirname(file.path) });
      if (o.status !== 'skipped' && !opts.quiet) for (const t of o.templates ?? []) process.stderr.write(`cuirass: ${templateNotice(file.display, t)}\n`);
    }
    if (!failed && outcomes.every(({ o }) => !o.manifest && o.status !== 'error')) {
      process.stderr.write(`cuirass: no Kubernetes manifests or Compose files found under ${paths.join(', ')}\n`);
      failed = true;
    }
  }
  releaseVerifier();
  const project = runProject(outcomes, options);
  for (const { o } of outcomes) o.remaining = [...o.remaining, ...(project.findings.get(o.display) ?? [])];
  const all = outcomes.map(({ o }) => o);
  for (const o of all) if (o.status === 'error') process.stderr.write(formatError(o) + '\n');
  const findings = [...collectFindings(all), ...staleExemptions(options.exemptions ?? [])];
  const errors = collectErrors(all);
  const color = opts.color !== false && !process.env.NO_COLOR && Boolean(process.stdout.isTTY);
  const format = opts.format ?? 'text';
  // Only the format asked for is loaded.
  if (format === 'json') process.stdout.write((await import('../report/json.js')).jsonReport(findings, errors, version));
  else if (format === 'sarif') {
    const { sarifReport } = await import('../report/sarif.js');
    process.stdout.write(sarifReport(findings, errors, options.transforms, new Map(all.map((o) => [o.display, o.input])), version));
  } else process.stdout.write((await import('../report/text.js')).textReport(findings, errors, color));
  const failing = findings.filter((f) => reaches(f, opts.failOn));
  if (!opts.quiet && format === 'text') {
    const pending = findings.filter((f) => f.status === 'pending').length;
    process.stderr.write(`cuirass: ${findings.length} findings (${pending} fixable with --write), ${failing.length} at or above ${opts.failOn}\n`);
  }
  if (failed || errors.length) return 2;
  return failing.length ? 1 : 0;
}
