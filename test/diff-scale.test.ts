/**
 * SPEC section 8 "Cost grows linearly with input size" for the default output: the unified diff
 * (src/report/diff.ts). jsdiff's Myers diff is O((N+M)·D), and cuirass's edit of a stream adds
 * lines to every document, so D grows with N: 250 Pods took 12 s, 1000 Pods over 120 s for the
 * diff alone. Past a fixed work budget the diff is anchored on lines unique on both sides
 * (patience diff) and jsdiff only sees the few lines between anchors.
 *
 * No timing here: work is counted (segments handed to jsdiff), and every patch is applied, by a
 * strict applier below and, for a subset, by `git apply` and `patch -p0`.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffLines, structuredPatch } from 'diff';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { ADD, buildHunks, DEL, EQ, EXACT_BUDGET, type DiffStats, type DiffTuning, type Ops, splitLines, unifiedDiff } from '../src/report/diff.js';

// ---------------------------------------------------------------------------------------------
// A strict unified-diff applier and shape checker

interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: string[];
}

/** Parses one file's patch as unifiedDiff prints it: exactly one ---/+++ header pair, then hunks. */
function parse(patch: string): { oldName: string; newName: string; hunks: Hunk[] } {
  expect(patch.endsWith('\n')).toBe(true);
  const lines = patch.slice(0, -1).split('\n');
  expect(lines[0].startsWith('--- ')).toBe(true);
  expect(lines[1].startsWith('+++ ')).toBe(true);
  const hunks: Hunk[] = [];
  for (let i = 2; i < lines.length; i++) {
    const m = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$/.exec(lines[i]);
    if (!m) throw new Error(`line ${i + 1} is not a hunk header: ${JSON.stringify(lines[i])}`);
    const h: Hunk = { oldStart: Number(m[1]), oldLines: Number(m[2]), newStart: Number(m[3]), newLines: Number(m[4]), lines: [] };
    let o = 0;
    let n = 0;
    while (o < h.oldLines || n < h.newLines || lines[i + 1]?.startsWith('\\')) {
      const l = lines[++i];
      if (l === undefined) throw new Error('hunk shorter than its header');
      if (l.startsWith('\\')) {
        if (l !== '\\ No newline at end of file' || h.lines.length === 0) throw new Error(`bad marker line ${i + 1}`);
      } else if (l[0] === ' ') o++, n++;
      else if (l[0] === '-') o++;
      else if (l[0] === '+') n++;
      else throw new Error(`bad hunk line ${JSON.stringify(l)}`);
      h.lines.push(l);
    }
    expect([o, n]).toEqual([h.oldLines, h.newLines]);
    hunks.push(h);
  }
  return { oldName: lines[0].slice(4), newName: lines[1].slice(4), hunks };
}

/** Hunk lines as [mark, line-with-its-newline] pairs (a `\` marker takes the newline away). */
function entries(h: Hunk): [string, string][] {
  const out: [string, string][] = [];
  for (const l of h.lines) {
    if (l.startsWith('\\')) {
      const last = out[out.length - 1];
      last[1] = last[1].slice(0, -1);
    } else out.push([l[0], l.slice(1) + '\n']);
  }
  return out;
}

/**
 * Applies a patch strictly (context and removed lines must match at the stated line numbers),
 * and checks the hunk shape: 3 lines of context (fewer only at the file's ends), hunks in order,
 * and hunks apart by more than 6 unchanged lines (closer ones are merged, as jsdiff and GNU diff do).
 */
function apply(before: string, patch: string): string {
  const { hunks } = parse(patch);
  const a = splitLines(before);
  const out: string[] = [];
  let pos = 0; // next unconsumed line of `a`, 0-based
  let lastChangeEnd = -Infinity; // old index after the previous hunk's last change
  for (const h of hunks) {
    const es = entries(h);
    const start = h.oldLines === 0 ? h.oldStart : h.oldStart - 1;
    expect(start).toBeGreaterThanOrEqual(pos);
    const newStart = h.newLines === 0 ? h.newStart : h.newStart - 1;
    out.push(...a.slice(pos, start));
    expect(newStart).toBe(out.length);
    let i = start;
    for (const [mark, line] of es) {
      if (mark === '+') out.push(line);
      else {
        if (a[i] !== line) throw new Error(`old line ${i + 1} is ${JSON.stringify(a[i])}, the hunk says ${JSON.stringify(line)}`);
        if (mark === ' ') out.push(line);
        i++;
      }
    }
    pos = i;
    // Shape: leading/trailing context and the gap to the previous hunk.
    const first = es.findIndex(([m]) => m !== ' ');
    const last = es.length - 1 - [...es].reverse().findIndex(([m]) => m !== ' ');
    expect(first).toBeGreaterThanOrEqual(0);
    const firstChangeOld = start + first;
    expect(first).toBe(Math.min(3, firstChangeOld));
    const oldAfterLast = start + es.slice(0, last + 1).filter(([m]) => m !== '+').length;
    expect(es.length - 1 - last).toBe(Math.min(3, a.length - oldAfterLast));
    expect(firstChangeOld - lastChangeEnd).toBeGreaterThan(6);
    lastChangeEnd = oldAfterLast;
    // Inside a hunk, no run of more than 6 context lines.
    let run = 0;
    for (const [m] of es.slice(first, last + 1)) {
      run = m === ' ' ? run + 1 : 0;
      if (run > 6) throw new Error(`hunk at -${h.oldStart}: more than 6 context lines between changes`);
    }
  }
  out.push(...a.slice(pos));
  return out.join('');
}

// ---------------------------------------------------------------------------------------------
// Random inputs

function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)), chance: (p: number) => next() < p };
}

/** A random before/after pair: few distinct lines (so repeats are common), random edits. */
function randomPair(seed: number): { before: string; after: string } {
  const r = rng(seed);
  const vocab = r.int(2, 30);
  const crlf = r.chance(0.2);
  const line = () => {
    const v = r.int(0, vocab);
    const text = v === 0 ? '' : `  key${v}: ${v % 3 === 0 ? '---' : 'value'}`;
    return text + (crlf && r.chance(0.7) ? '\r\n' : '\n');
  };
  const n = r.chance(0.1) ? 0 : r.int(1, 80);
  const a = Array.from({ length: n }, line);
  const b = [...a];
  const edits = r.int(0, 12);
  for (let e = 0; e < edits; e++) {
    const at = r.chance(0.15) ? 0 : r.chance(0.15) ? b.length : r.int(0, b.length);
    const op = r.int(0, 2);
    if (op === 0) b.splice(at, 0, ...Array.from({ length: r.int(1, 6) }, line));
    else if (op === 1) b.splice(at, r.int(1, 5));
    else b.splice(at, r.int(1, 4), ...Array.from({ length: r.int(1, 4) }, line));
  }
  const join = (ls: string[], eofNl: boolean) => {
    const s = ls.join('');
    return eofNl || !s.endsWith('\n') ? s : s.replace(/\r?\n$/, '');
  };
  return { before: join(a, !r.chance(0.25)), after: join(b, !r.chance(0.25)) };
}

/** Every path: jsdiff whole, anchored, anchored with jsdiff capped at 1 edit per segment (the
 * segments it gives up on are shown replaced whole), and the default choice. */
const CONFIGS: DiffTuning[] = [{ engine: 'exact' }, { engine: 'anchored' }, { engine: 'anchored', segmentMaxEdits: 1 }, {}];

describe('unifiedDiff: a correct unified diff on every path', () => {
  it('400 random pairs (inserts, deletions, replacements, ends, no final newline, CRLF, empty, created): every path applies', () => {
    let capped = 0;
    let segments = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const { before, after } = randomPair(seed);
      const created = seed % 17 === 0;
      const from = created ? '' : before;
      for (const config of CONFIGS) {
        const stats = {} as DiffStats;
        const d = unifiedDiff('dir/f.yaml', from, after, false, created, { ...config, stats });
        capped += stats.capped;
        segments += stats.segments;
        if (from === after && !created) {
          expect(d).toBe('');
          continue;
        }
        const p = parse(d);
        expect([p.oldName, p.newName]).toEqual([created ? '/dev/null' : 'dir/f.yaml', 'dir/f.yaml']);
        const got = apply(from, d);
        if (got !== after) throw new Error(`seed ${seed}, ${JSON.stringify(config)}: the patch does not give the new text\n${d}`);
      }
    }
    // The Myers segments and the capped fallback were both exercised.
    expect(segments).toBeGreaterThan(100);
    expect(capped).toBeGreaterThan(20);
  }, 300_000);

  it('the hunk builder is jsdiff\'s: fed jsdiff\'s own line diff it gives structuredPatch\'s hunks exactly', () => {
    for (let seed = 1000; seed < 1300; seed++) {
      const { before, after } = randomPair(seed);
      const ops: Ops = { kinds: [], counts: [] };
      for (const c of diffLines(before, after)) {
        const kind = c.added ? ADD : c.removed ? DEL : EQ;
        if (ops.kinds.at(-1) === kind) throw new Error('jsdiff gave two adjacent changes of one kind');
        ops.kinds.push(kind);
        ops.counts.push(c.count ?? splitLines(c.value).length);
      }
      const want = structuredPatch('f', 'f', before, after, undefined, undefined, { context: 3 }).hunks;
      expect(buildHunks(splitLines(before), splitLines(after), ops, 3)).toEqual(want);
    }
  });

  it('small inputs keep jsdiff\'s output byte for byte (auto = exact below the budget)', () => {
    for (let seed = 2000; seed < 2200; seed++) {
      const { before, after } = randomPair(seed);
      expect(unifiedDiff('f.yaml', before, after, false, false)).toBe(unifiedDiff('f.yaml', before, after, false, false, { engine: 'exact' }));
    }
  });

  it('git apply and patch -p0 accept the anchored patches (CRLF, no final newline, created files)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-diff-scale-'));
    const cases = [
      { name: 'plain.yaml', before: 'a: 1\nb: 2\nc: 3\n', after: 'a: 1\nb: 2\nx: 9\nc: 3\n' },
      { name: 'crlf.yaml', before: 'a: 1\r\nb: 2\r\nc: 3\r\n', after: 'a: 1\r\nb: 2\r\n  x: 9\r\nc: 3\r\n' },
      { name: 'nonl-before.yaml', before: 'a: 1\nb: 2', after: 'a: 1\nb: 2\nc: 3\n' },
      { name: 'nonl-after.yaml', before: 'a: 1\nb: 2\n', after: 'a: 0\nb: 2' },
      { name: 'nonl-both.yaml', before: 'a: 1\nb: 2', after: 'z: 0\na: 1\nb: 3' },
      { name: 'emptied.yaml', before: 'a: 1\n', after: '' },
      ...Array.from({ length: 30 }, (_, k) => ({ name: `random-${k}.yaml`, ...randomPair(5000 + k) })),
    ].filter((c) => c.before !== c.after);
    const created = { name: 'new/created.yaml', before: '', after: 'kind: Pod\nmetadata:\n  name: x\n' };
    let patch = '';
    for (const c of cases) patch += unifiedDiff(c.name, c.before, c.after, false, false, { engine: 'anchored' });
    patch += unifiedDiff(created.name, created.before, created.after, false, true, { engine: 'anchored' });
    for (const tool of ['git', 'patch'] as const) {
      const root = join(dir, tool);
      mkdirSync(root, { recursive: true });
      for (const c of cases) writeFileSync(join(root, c.name), c.before);
      const r =
        tool === 'git'
          ? (spawnSync('git', ['init', '-q'], { cwd: root }), spawnSync('git', ['apply', '-p0', '--whitespace=nowarn', '-'], { cwd: root, input: patch, encoding: 'utf8' }))
          : spawnSync('patch', ['-p0', '--batch', '--silent'], { cwd: root, input: patch, encoding: 'utf8' });
      expect(r.stderr + r.stdout).toBe('');
      expect(r.status).toBe(0);
      for (const c of [...cases, created]) expect([tool, c.name, readFileSync(join(root, c.name), 'utf8')]).toEqual([tool, c.name, c.after]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Scale: a 1000-Pod stream, each document hardened the way cuirass hardens it

function pod(i: number): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: pod-${i}
  labels:
    app: web-${i % 7}
spec:
  containers:
    - name: app
      image: nginx:1.25.${i % 5}
      ports:
        - containerPort: 8080
    - name: sidecar
      image: busybox:1.36
      command: ["sleep", "3600"]
  restartPolicy: Always
  dnsPolicy: ClusterFirst
  terminationGracePeriodSeconds: 30
  enableServiceLinks: false
`;
}

const CONTAINER_BLOCK = `      securityContext:
        capabilities:
          drop:
            - ALL
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
`;
const POD_BLOCK = `  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
`;

/**
 * The Pod as hardened: the pod spec and both containers gain a securityContext (after `spec:`,
 * line 7; after `- containerPort: 8080`, line 12; after the sidecar's command, line 15). Each
 * document's changes are more than 3 lines from its ends and more than 6 from the next
 * document's, so its hunks are the same in the stream as in the document alone.
 */
function hardened(i: number): string {
  const lines = splitLines(pod(i));
  return [...lines.slice(0, 7), POD_BLOCK, ...lines.slice(7, 12), CONTAINER_BLOCK, ...lines.slice(12, 15), CONTAINER_BLOCK, ...lines.slice(15)].join('');
}

const stream = (docs: string[]) => docs.map((d, i) => (i ? '---\n' : '') + d).join('');

describe('unifiedDiff on a long stream: work grows with the input, not with its square', () => {
  const N = 1000;
  const befores = Array.from({ length: N }, (_, i) => pod(i));
  const afters = Array.from({ length: N }, (_, i) => hardened(i));
  const before = stream(befores);
  const after = stream(afters);

  it('1000 Pods: the anchored path is taken, jsdiff sees only small segments, and the patch applies', () => {
    // Past the exact path's budget, whatever the edit.
    expect(splitLines(before).length + splitLines(after).length).toBeGreaterThan(EXACT_BUDGET / 100);
    const stats = {} as DiffStats;
    const d = unifiedDiff('pods.yaml', before, after, false, false, { stats });
    expect(stats.path).toBe('anchored');
    // Work handed to Myers: no segment beyond a few documents' worth of lines, in total at most
    // a few lines per document (here the anchors settle everything: unique name: lines, then
    // lines unique within each document).
    expect(stats.maxSegment).toBeLessThanOrEqual(100);
    expect(stats.segmentLines).toBeLessThanOrEqual(50 * N);
    expect(stats.capped).toBe(0);
    expect(apply(before, d)).toBe(after);
    // Minimal: only the added lines, nothing removed.
    const body = d.split('\n').slice(2);
    expect(body.filter((l) => l.startsWith('-')).length).toBe(0);
    expect(body.filter((l) => l.startsWith('+')).length).toBe(N * (2 * 6 + 3));
  }, 300_000);

  it('1000 Pods: the hunks are the per-document diffs (jsdiff on each document alone), shifted', () => {
    const d = unifiedDiff('pods.yaml', before, after, false, false);
    const whole = parse(d).hunks;
    const want: Hunk[] = [];
    let oldOffset = 0;
    let newOffset = 0;
    for (let i = 0; i < N; i++) {
      const sep = i ? '---\n' : '';
      const b = sep + befores[i];
      const a = sep + afters[i];
      for (const h of parse(unifiedDiff('pods.yaml', b, a, false, false, { engine: 'exact' })).hunks) {
        want.push({ ...h, oldStart: h.oldStart + oldOffset, newStart: h.newStart + newOffset });
      }
      oldOffset += splitLines(b).length;
      newOffset += splitLines(a).length;
    }
    expect(whole.length).toBe(want.length);
    expect(whole).toEqual(want);
  }, 300_000);

  it('a stream whose documents are all alike (no unique lines) still gets a correct, small-segment diff', () => {
    // Every document identical: no line is unique. Lines that occur as often on both sides
    // anchor instead (k-th occurrence to k-th), so jsdiff still sees small segments only.
    const same = Array.from({ length: 1000 }, () => pod(1));
    const b = stream(same);
    const a = stream(same.map((_, i) => (i % 10 === 3 ? hardened(1) : pod(1))));
    const stats = {} as DiffStats;
    const d = unifiedDiff('same.yaml', b, a, false, false, { stats });
    expect(stats.path).toBe('anchored');
    expect(stats.maxSegment).toBeLessThanOrEqual(100);
    expect(stats.capped).toBe(0);
    expect(apply(b, d)).toBe(a);
    const body = d.split('\n').slice(2);
    expect(body.filter((l) => l.startsWith('-')).length).toBe(0);
    expect(body.filter((l) => l.startsWith('+')).length).toBe(100 * (2 * 6 + 3));
  }, 300_000);

  it('cuirass FILE on 150 Pods: the printed diff (anchored) applies with git apply and patch -p0 and gives what --write writes', () => {
    const root = mkdtempSync(join(tmpdir(), 'cuirass-diff-scale-cli-'));
    const src = join(root, 'src');
    mkdirSync(src);
    const input = stream(Array.from({ length: 150 }, (_, i) => pod(i)));
    writeFileSync(join(src, 'pods.yaml'), input);
    const shown = runCli(['pods.yaml', '--no-color'], { cwd: src });
    expect(shown.status).toBe(0);
    const written = join(root, 'written');
    cpSync(src, written, { recursive: true });
    expect(runCli(['pods.yaml', '--write', '--no-color'], { cwd: written }).status).toBe(0);
    const want = Object.fromEntries(readdirSync(written).map((f) => [f, readFileSync(join(written, f), 'utf8')]));
    // The manifest's diff is the one the anchored path makes (too much edit for the exact one).
    const stats = {} as DiffStats;
    const own = unifiedDiff('pods.yaml', input, want['pods.yaml'], false, false, { stats });
    expect(stats.path).toBe('anchored');
    expect(shown.stdout.startsWith(own)).toBe(true);
    for (const tool of ['git', 'patch'] as const) {
      const dir = join(root, tool);
      cpSync(src, dir, { recursive: true });
      const r =
        tool === 'git'
          ? (spawnSync('git', ['init', '-q'], { cwd: dir }), spawnSync('git', ['apply', '-p0', '--whitespace=nowarn', '-'], { cwd: dir, input: shown.stdout, encoding: 'utf8' }))
          : spawnSync('patch', ['-p0', '--batch', '--silent'], { cwd: dir, input: shown.stdout, encoding: 'utf8' });
      expect(r.stderr + r.stdout).toBe('');
      expect(r.status).toBe(0);
      const got = Object.fromEntries(readdirSync(dir).filter((f) => f !== '.git').map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
      expect(got).toEqual(want);
    }
  }, 300_000);
});
