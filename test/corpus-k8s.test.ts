/**
 * The Kubernetes corpus (`../shared/corpus/k8s`: real files nobody here wrote)
 * through the BUILT CLI, in one process: `cuirass DIR --write` on a writable
 * copy, then properties of the result (SPEC §2, §4, §7 and the restricted
 * Pod Security Standard promise of §3).
 */
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { checkPodSecurity, podSpecsOf } from './support/pss.js';
import { ROOT, runCli, type CliResult } from './support/cli.js';

const SOURCE = fileURLToPath(new URL('../../shared/corpus/k8s/', import.meta.url));

/** Kinds cuirass may edit; every other document must come out byte-identical. */
const EDITABLE_KINDS = new Set([
  'Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'ReplicationController',
  'PodTemplate', 'Namespace', 'List',
]);

/** Every file below `dir`, as sorted '/'-separated relative paths. */
function walk(dir: string): string[] {
  const files: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else files.push(relative(dir, p).split(sep).join('/'));
    }
  };
  visit(dir);
  return files.sort();
}

const isManifestName = (f: string) => /\.(ya?ml|json)$/i.test(f);
const read = (root: string, f: string) => readFileSync(join(root, f), 'utf8');

/** Comment lines (trimmed text starting with `#`) with how often each occurs. */
function commentLines(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split(/\r\n|\n|\r/)) {
    const t = line.trim();
    if (t.startsWith('#')) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return counts;
}

/** Each document's kind and source text, sliced from the input by the parser's range. */
function documentSources(text: string): { kind: unknown; source: string }[] {
  return parseAllDocuments(text).map((doc) => {
    let value: any;
    try {
      value = doc.toJS({ maxAliasCount: -1 });
    } catch {
      value = undefined;
    }
    const kind = value && typeof value === 'object' && !Array.isArray(value) ? value.kind : undefined;
    return { kind, source: text.slice(doc.range[0], doc.range[2]) };
  });
}

/** Parse problems of an output file: YAML errors, or for .json files a JSON.parse failure. */
function parseProblems(file: string, text: string): string[] {
  if (file.toLowerCase().endsWith('.json')) {
    try {
      JSON.parse(text);
      return [];
    } catch (e) {
      return [(e as Error).message];
    }
  }
  return parseAllDocuments(text, { uniqueKeys: true }).flatMap((d) => d.errors.map((e) => `${e.code} ${e.message}`));
}

/** The objects of a manifest file (JSON or YAML). */
function objectsOf(file: string, text: string): unknown[] {
  if (file.toLowerCase().endsWith('.json')) return [JSON.parse(text)];
  return parseAllDocuments(text).map((d) => d.toJS({ maxAliasCount: -1 }));
}

/** `cuirass: <display>:L:C: message` lines of a run, as paths relative to `dir` with their position. */
function errorLines(stderr: string, dir: string): { file: string; line: number; col: number }[] {
  return [...stderr.matchAll(/^cuirass: (.+?):(\d+):(\d+): /gm)].map((m) => ({
    file: relative(dir, resolve(ROOT, m[1])).split(sep).join('/'),
    line: Number(m[2]),
    col: Number(m[3]),
  }));
}

describe('Kubernetes corpus: one `cuirass DIR --write` run over a copy', () => {
  const inputs = walk(SOURCE).filter(isManifestName);
  /** Files with duplicate keys, found independently with the yaml parser; with the parser's first error position. */
  const duplicates = new Map<string, { line: number; col: number }>();
  for (const f of inputs) {
    const errors = parseAllDocuments(read(SOURCE, f), { uniqueKeys: true }).flatMap((d) => d.errors);
    const dup = errors.find((e) => e.code === 'DUPLICATE_KEY');
    if (dup) duplicates.set(f, { line: dup.linePos?.[0].line ?? 0, col: dup.linePos?.[0].col ?? 0 });
  }
  const valid = inputs.filter((f) => !duplicates.has(f));

  let dir: string;
  let first: CliResult;
  let outputs: string[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cuirass-corpus-k8s-'));
    cpSync(SOURCE, dir, { recursive: true });
    const writable = (d: string) => {
      chmodSync(d, 0o755);
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) writable(join(d, e.name));
        else if (e.isFile()) chmodSync(join(d, e.name), 0o644);
      }
    };
    writable(dir);
    first = runCli([dir, '--write']);
    outputs = walk(dir);
  }, 180_000);

  it('the corpus has exactly 5 files with duplicate keys, and every other file parses', () => {
    expect(inputs.length).toBeGreaterThan(900);
    expect([...duplicates.keys()], [...duplicates.keys()].join('\n')).toHaveLength(5);
    const otherErrors = valid.filter((f) => parseProblems(f, read(SOURCE, f)).length > 0);
    expect(otherErrors).toEqual([]);
  });

  it('exits 2 naming exactly the 5 files with duplicate keys at file:line:col; those stay byte-identical', () => {
    expect(first.status, first.stderr.slice(-2000)).toBe(2);
    expect(first.stdout).toBe('');
    const named = errorLines(first.stderr, dir);
    expect(named.map((e) => e.file).sort()).toEqual([...duplicates.keys()].sort());
    for (const e of named) expect({ line: e.line, col: e.col }, e.file).toEqual(duplicates.get(e.file));
    expect(first.stderr).not.toMatch(/not written/);
    for (const f of duplicates.keys()) expect(read(dir, f) === read(SOURCE, f), f).toBe(true);
  });

  it('every output file parses (YAML without errors, .json with JSON.parse)', () => {
    const problems = outputs
      .filter((f) => isManifestName(f) && !duplicates.has(f))
      .flatMap((f) => parseProblems(f, read(dir, f)).map((p) => `${f}: ${p}`));
    expect(problems, problems.join('\n')).toEqual([]);
    // The run did change the corpus, and every input is still there.
    expect(valid.filter((f) => read(dir, f) !== read(SOURCE, f)).length).toBeGreaterThan(100);
    expect(inputs.filter((f) => !outputs.includes(f))).toEqual([]);
  });

  it('every comment line of every input still appears at least as often in its output', () => {
    const lost: string[] = [];
    for (const f of inputs) {
      const after = commentLines(read(dir, f));
      for (const [line, n] of commentLines(read(SOURCE, f))) {
        const m = after.get(line) ?? 0;
        if (m < n) lost.push(`${f}: ${JSON.stringify(line)} ${n} -> ${m}`);
      }
    }
    expect(lost, lost.join('\n')).toEqual([]);
  });

  it('documents that are not workloads, Namespaces or Lists are byte-identical', () => {
    const changed: string[] = [];
    let compared = 0;
    for (const f of valid) {
      if (f.toLowerCase().endsWith('.json')) {
        const before = JSON.parse(read(SOURCE, f));
        if (!EDITABLE_KINDS.has(before?.kind)) {
          compared++;
          if (read(dir, f) !== read(SOURCE, f)) changed.push(`${f} (${before?.kind})`);
        }
        continue;
      }
      const before = documentSources(read(SOURCE, f));
      const after = documentSources(read(dir, f));
      if (after.length !== before.length) {
        changed.push(`${f}: ${before.length} documents -> ${after.length}`);
        continue;
      }
      before.forEach((doc, i) => {
        if (typeof doc.kind === 'string' && EDITABLE_KINDS.has(doc.kind)) return;
        compared++;
        if (after[i].source !== doc.source) changed.push(`${f}#${i} (${String(doc.kind)})`);
      });
    }
    expect(compared).toBeGreaterThan(500);
    expect(changed, changed.join('\n')).toEqual([]);
  });

  it('a second run with --check prints no diff and exits 2 only because of the 5 invalid files', () => {
    const second = runCli([dir, '--check']);
    expect(second.stdout).toBe('');
    expect(second.status).toBe(2);
    expect(errorLines(second.stderr, dir).map((e) => e.file).sort()).toEqual([...duplicates.keys()].sort());
    // Nothing else went wrong, and nothing is left to change.
    const otherErrors = second.stderr.split('\n').filter((l) => l.startsWith('cuirass: ') && !/^cuirass: .+:\d+:\d+: /.test(l) &&
      !/^cuirass: not fixed:$/.test(l) && !/^cuirass: \d+ manifest files?,/.test(l) &&
      // Notices of what the walk skipped (SPEC 2): templates one by one, other YAML in one line.
      !/^cuirass: .+: skipped: a template /.test(l) && !/^cuirass: skipped \d+ files? with no Kubernetes objects or Compose services: /.test(l));
    expect(otherErrors).toEqual([]);
    expect(second.stderr).toMatch(/^cuirass: \d+ manifest files, 0 to change, 0 changes\b/m);
  });

  it('at least 98% of the pod templates in the output pass the restricted Pod Security Standard, volumes aside', () => {
    let total = 0;
    const failures: string[] = [];
    for (const f of outputs) {
      if (!isManifestName(f) || duplicates.has(f)) continue;
      objectsOf(f, read(dir, f)).forEach((obj, i) => {
        const pods = podSpecsOf(obj);
        total += pods.length;
        for (const pod of pods) {
          // Each pod template on its own, with its own metadata (AppArmor annotations).
          const violations = checkPodSecurity({ kind: 'Pod', metadata: pod.meta, spec: pod.spec }, 'restricted').filter((v) => !v.volume);
          if (violations.length) failures.push(`${f}#${i} ${pod.path}: ${violations.map((v) => `${v.check} at ${v.path}`).join('; ')}`);
        }
      });
    }
    expect(total).toBeGreaterThan(500);
    const passRate = (total - failures.length) / total;
    expect(passRate, `${failures.length} of ${total} pod templates fail:\n${failures.join('\n')}`).toBeGreaterThanOrEqual(0.98);
  });
});
