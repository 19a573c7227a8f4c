/**
 * `cuirass - [--level L] [--skip ids] --format yaml` in this process, with the code path of the
 * CLI's stdin mode (src/commands/harden.ts): harden the stream, run the run-wide transforms,
 * append their documents, and the stderr summary. For tests that pipe many inputs one by one,
 * where a process per input is most of the cost; test/pss-corpus.test.ts runs the same
 * fixtures through the built CLI.
 */
import { withDocs } from '../../src/emit.js';
import { runProject } from '../../src/project.js';
import { summarize } from '../../src/report/summary.js';
import { processText, selectTransforms } from '../../src/run.js';
import type { RunOptions } from '../../src/run.js';
import { DEFAULT_SETTINGS } from '../../src/settings.js';

export interface StdinRun {
  /** The hardened stream with the generated documents, as `--format yaml` prints it. */
  stdout: string;
  /** The summary `cuirass -` prints on stderr. */
  stderr: string;
  status: 'changed' | 'unchanged' | 'error' | 'skipped';
}

/** Hardens `input` as `cuirass -` would, with the default settings (no config file). */
export function hardenStdin(input: string, options: { level?: RunOptions['level']; skip?: string[] } = {}): StdinRun {
  const run: RunOptions = { level: options.level ?? 'restricted', settings: DEFAULT_SETTINGS, transforms: selectTransforms([], options.skip ?? []) };
  const outcome = processText('<stdin>', input, run);
  if (outcome.status === 'error') return { stdout: '', stderr: `cuirass: <stdin>:${outcome.line}:${outcome.col}: ${outcome.message}\n`, status: 'error' };
  const project = runProject([{ o: outcome, dir: '' }], run);
  outcome.documents = [...outcome.documents, ...(project.documents.get('') ?? [])];
  outcome.remaining = [...outcome.remaining, ...(project.findings.get(outcome.display) ?? [])];
  return { stdout: withDocs(outcome.output, outcome.documents), stderr: summarize([outcome], { wrote: false }), status: outcome.status };
}
