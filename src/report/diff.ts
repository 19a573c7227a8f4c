import { createTwoFilesPatch, diffArrays, formatPatch, type StructuredPatchHunk } from 'diff';

/** ANSI colors for a unified diff; identity functions when color is off. */
function painter(color: boolean) {
  const wrap = (code: string) => (s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { add: wrap('32'), del: wrap('31'), hunk: wrap('36'), head: wrap('1') };
}

const CONTEXT = 3;

/**
 * Work budget of the exact path, in line-steps of jsdiff's Myers diff (O((N+M)·D)). jsdiff runs
 * on the whole file with `maxEditLength` = EXACT_BUDGET / (N+M), so its cost stays bounded by a
 * constant: texts of up to ~700 lines together always take the exact path (the suite's byte-exact
 * diffs), larger ones only while their edit is small; beyond that jsdiff gives up and the
 * anchored path below takes over.
 */
export const EXACT_BUDGET = 500_000;
/** Edits allowed to jsdiff on one anchored segment of n+m lines: max(SEGMENT_MIN_EDITS, SEGMENT_BUDGET / (n+m)). */
const SEGMENT_BUDGET = 200_000;
const SEGMENT_MIN_EDITS = 100;

/** Which path made a diff, and how much work the anchored path handed to jsdiff. */
export interface DiffStats {
  path: 'exact' | 'anchored' | 'none';
  /** Segments diffed by jsdiff (anchored path). */
  segments: number;
  /** Lines (old + new) of the largest segment handed to jsdiff. */
  maxSegment: number;
  /** Lines (old + new) of all segments handed to jsdiff. */
  segmentLines: number;
  /** Segments where jsdiff gave up on its edit cap (they are shown as replaced whole). */
  capped: number;
}

export interface DiffTuning {
  /** `auto` (default): the exact jsdiff diff when it is cheap, else the anchored one. */
  engine?: 'auto' | 'exact' | 'anchored';
  /** Filled with what the call did (tests count work with it instead of timing it). */
  stats?: DiffStats;
  /** Tests: jsdiff's edit cap on each anchored segment, in place of the size-based one. */
  segmentMaxEdits?: number;
}

/**
 * A unified diff of one file with 3 lines of context and the display path in both headers
 * (`/dev/null` before a file the run creates).
 * Secret values never reach it: callers diff texts that no longer hold them.
 *
 * Small inputs (and large ones with a small edit) get jsdiff's `createTwoFilesPatch` on the whole
 * text, byte for byte as before. jsdiff is Myers O((N+M)·D), quadratic for cuirass's typical
 * edit of a long stream (every document gains lines), so past a fixed work budget the diff is
 * anchored instead (see `anchoredOps`) and its hunks are built here the way jsdiff builds them.
 */
export function unifiedDiff(display: string, before: string, after: string, color: boolean, created = false, tuning: DiffTuning = {}): string {
  const stats = tuning.stats;
  if (stats) Object.assign(stats, { path: 'none', segments: 0, maxSegment: 0, segmentLines: 0, capped: 0 } satisfies DiffStats);
  if (before === after && !created) return '';
  // A new file is diffed from /dev/null, so `git apply` and `patch` create it.
  const oldName = created ? '/dev/null' : display;
  const engine = tuning.engine ?? 'auto';
  let patch: string | undefined;
  if (engine !== 'anchored') {
    if (engine === 'exact') patch = createTwoFilesPatch(oldName, display, before, after, undefined, undefined, { context: CONTEXT });
    else {
      const maxEditLength = Math.floor(EXACT_BUDGET / Math.max(1, countLines(before) + countLines(after)));
      patch = createTwoFilesPatch(oldName, display, before, after, undefined, undefined, { context: CONTEXT, maxEditLength });
    }
    if (patch !== undefined && stats) stats.path = 'exact';
  }
  if (patch === undefined) {
    const a = splitLines(before);
    const b = splitLines(after);
    const hunks = buildHunks(a, b, anchoredOps(a, b, stats, tuning.segmentMaxEdits), CONTEXT);
    patch = formatPatch({ oldFileName: oldName, newFileName: display, oldHeader: undefined, newHeader: undefined, hunks });
    if (stats) stats.path = 'anchored';
  }
  const lines = patch.split('\n');
  // createTwoFilesPatch starts with an "Index:"/"====" preamble; keep from the first header.
  const start = lines.findIndex((l) => l.startsWith('--- '));
  const p = painter(color);
  return (
    lines
      .slice(start)
      .filter((l, i, all) => !(i === all.length - 1 && l === ''))
      .map((l) => {
        if (l.startsWith('--- ') || l.startsWith('+++ ')) return p.head(l.replace(/\t$/, ''));
        if (l.startsWith('@@')) return p.hunk(l);
        if (l.startsWith('+')) return p.add(l);
        if (l.startsWith('-')) return p.del(l);
        return l;
      })
      .join('\n') + '\n'
  );
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n + (text === '' || text.endsWith('\n') ? 0 : 1);
}

/** Lines as jsdiff's line diff tokenizes them: each with its `\n` (or `\r\n`); the last may have none. */
export function splitLines(text: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', from)) {
    out.push(text.slice(from, i + 1));
    from = i + 1;
  }
  if (from < text.length) out.push(text.slice(from));
  return out;
}

export const EQ = 0;
export const DEL = 1;
export const ADD = 2;

/** A line edit script as runs: kinds[i] (EQ, DEL, ADD) for counts[i] lines; same kinds never adjacent. */
export interface Ops {
  kinds: number[];
  counts: number[];
}

function pushOp(ops: Ops, kind: number, count: number): void {
  if (count <= 0) return;
  const last = ops.kinds.length - 1;
  if (last >= 0 && ops.kinds[last] === kind) ops.counts[last] += count;
  else {
    ops.kinds.push(kind);
    ops.counts.push(count);
  }
}

type Task = { eq: number } | { aLo: number; aHi: number; bLo: number; bHi: number };

/**
 * A line edit script from `a` to `b` in near-linear time for cuirass's edits (patience diff):
 * a range first loses its common prefix and suffix; then the lines that occur exactly once on
 * each side of it are matched, and the longest run of them in the same order on both sides (an
 * LIS, O(k log k)) anchors the range; the gaps between anchors are ranges again. A range without
 * such lines goes to jsdiff's Myers diff, capped in edits (past the cap it is shown replaced
 * whole, still a correct diff). Document separators, `name:` and `image:` lines give a stream
 * anchors in every document, so jsdiff only ever sees a few lines around each change.
 */
export function anchoredOps(a: string[], b: string[], stats?: DiffStats, segmentMaxEdits?: number): Ops {
  // Lines as integers: equality and counting without rehashing strings.
  const ids = new Map<string, number>();
  const intern = (lines: string[]) => {
    const out = new Int32Array(lines.length);
    for (let i = 0; i < lines.length; i++) {
      let id = ids.get(lines[i]);
      if (id === undefined) ids.set(lines[i], (id = ids.size));
      out[i] = id;
    }
    return out;
  };
  const A = intern(a);
  const B = intern(b);
  const n = ids.size;
  const scratch: Scratch = { cntA: new Int32Array(n), cntB: new Int32Array(n), headB: new Int32Array(n) };
  const ops: Ops = { kinds: [], counts: [] };
  // Anchor search scans each range once per nesting level; past this much scanning (only on
  // pathological inputs) ranges go straight to the capped Myers diff.
  let scanBudget = 64 * (A.length + B.length) + 1_000_000;

  const stack: Task[] = [{ aLo: 0, aHi: A.length, bLo: 0, bHi: B.length }];
  while (stack.length) {
    const t = stack.pop()!;
    if ('eq' in t) {
      pushOp(ops, EQ, t.eq);
      continue;
    }
    let { aLo, aHi, bLo, bHi } = t;
    while (aLo < aHi && bLo < bHi && A[aLo] === B[bLo]) aLo++, bLo++;
    pushOp(ops, EQ, aLo - t.aLo);
    let suffix = 0;
    while (aHi > aLo && bHi > bLo && A[aHi - 1] === B[bHi - 1]) aHi--, bHi--, suffix++;
    if (suffix) stack.push({ eq: suffix });
    if (aLo === aHi || bLo === bHi) {
      pushOp(ops, DEL, aHi - aLo);
      pushOp(ops, ADD, bHi - bLo);
      continue;
    }
    let anchors: number[] = [];
    if (scanBudget > 0) {
      anchors = findAnchors(A, aLo, aHi, B, bLo, bHi, scratch, false);
      if (anchors.length === 0) anchors = findAnchors(A, aLo, aHi, B, bLo, bHi, scratch, true);
      scanBudget -= 2 * (aHi - aLo + (bHi - bLo));
    }
    if (anchors.length === 0) {
      myers(A, aLo, aHi, B, bLo, bHi, ops, stats, segmentMaxEdits);
      continue;
    }
    // Ranges between anchors, pushed last-first so they pop in order.
    const tasks: Task[] = [];
    let pa = aLo;
    let pb = bLo;
    for (let k = 0; k < anchors.length; k += 2) {
      const ia = anchors[k];
      const ib = anchors[k + 1];
      tasks.push({ aLo: pa, aHi: ia, bLo: pb, bHi: ib }, { eq: 1 });
      pa = ia + 1;
      pb = ib + 1;
    }
    tasks.push({ aLo: pa, aHi, bLo: pb, bHi });
    for (let k = tasks.length - 1; k >= 0; k--) stack.push(tasks[k]);
  }
  return ops;
}

/** Zero-filled arrays indexed by line id, left zeroed again after each use. */
interface Scratch {
  cntA: Int32Array;
  cntB: Int32Array;
  headB: Int32Array;
}

/**
 * Anchors for a range: [a0, b0, a1, b1, ...] ascending on both sides, the longest run in the same
 * order of matched line pairs. Pairs are the lines unique on both sides (patience diff); with
 * `repeated` (when there are none: a stream of identical documents), the k-th occurrence of a
 * line in `a` is paired with its k-th in `b` when the line occurs as often on both sides.
 */
function findAnchors(A: Int32Array, aLo: number, aHi: number, B: Int32Array, bLo: number, bHi: number, s: Scratch, repeated: boolean): number[] {
  const { cntA, cntB, headB } = s;
  for (let i = aLo; i < aHi; i++) cntA[A[i]]++;
  // headB[id] = 1 + first position of id in b not yet paired; nextB chains its later ones.
  const nextB = new Int32Array(bHi - bLo);
  for (let j = bHi - 1; j >= bLo; j--) {
    const id = B[j];
    cntB[id]++;
    nextB[j - bLo] = headB[id];
    headB[id] = j + 1;
  }
  // Candidates in `a` order; their `b` positions form the sequence whose LIS is the answer.
  const ca: number[] = [];
  const cb: number[] = [];
  for (let i = aLo; i < aHi; i++) {
    const id = A[i];
    const c = cntA[id];
    if (c === cntB[id] && (c === 1 || (repeated && c > 1))) {
      const j = headB[id] - 1;
      ca.push(i);
      cb.push(j);
      headB[id] = nextB[j - bLo];
    }
  }
  for (let i = aLo; i < aHi; i++) cntA[A[i]] = 0;
  for (let j = bLo; j < bHi; j++) cntB[B[j]] = headB[B[j]] = 0;
  if (ca.length === 0) return [];
  // Patience sorting: tails[k] = index (into cb) of the smallest tail of an increasing run of length k+1.
  const tails: number[] = [];
  const prev = new Int32Array(cb.length);
  for (let k = 0; k < cb.length; k++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cb[tails[mid]] < cb[k]) lo = mid + 1;
      else hi = mid;
    }
    prev[k] = lo > 0 ? tails[lo - 1] : -1;
    tails[lo] = k;
  }
  const out = new Array<number>(tails.length * 2);
  for (let k = tails[tails.length - 1], w = tails.length - 1; k !== -1; k = prev[k], w--) {
    out[2 * w] = ca[k];
    out[2 * w + 1] = cb[k];
  }
  return out;
}

/** jsdiff's Myers diff on one segment, capped in edits; past the cap, the segment is replaced whole. */
function myers(A: Int32Array, aLo: number, aHi: number, B: Int32Array, bLo: number, bHi: number, ops: Ops, stats?: DiffStats, maxEdits?: number): void {
  const size = aHi - aLo + (bHi - bLo);
  if (stats) {
    stats.segments++;
    stats.segmentLines += size;
    stats.maxSegment = Math.max(stats.maxSegment, size);
  }
  const maxEditLength = maxEdits ?? Math.max(SEGMENT_MIN_EDITS, Math.floor(SEGMENT_BUDGET / size));
  const changes = diffArrays(Array.from(A.subarray(aLo, aHi)), Array.from(B.subarray(bLo, bHi)), { maxEditLength });
  if (changes === undefined) {
    if (stats) stats.capped++;
    pushOp(ops, DEL, aHi - aLo);
    pushOp(ops, ADD, bHi - bLo);
    return;
  }
  for (const c of changes) pushOp(ops, c.added ? ADD : c.removed ? DEL : EQ, c.count ?? c.value.length);
}

/**
 * Hunks from an edit script, built exactly as jsdiff's `structuredPatch` builds them from its
 * change list: `context` lines around each change, hunks merged when the equal lines between
 * them are at most 2·context, `\ No newline at end of file` after a last line without one.
 */
export function buildHunks(a: string[], b: string[], ops: Ops, context: number): StructuredPatchHunk[] {
  // The change list jsdiff would hand its hunk builder, plus its trailing empty entry.
  const diff: { added: boolean; removed: boolean; lines: string[] }[] = [];
  let ia = 0;
  let ib = 0;
  for (let k = 0; k < ops.kinds.length; k++) {
    const kind = ops.kinds[k];
    const count = ops.counts[k];
    if (kind === ADD) {
      diff.push({ added: true, removed: false, lines: b.slice(ib, ib + count) });
      ib += count;
    } else {
      diff.push({ added: false, removed: kind === DEL, lines: a.slice(ia, ia + count) });
      ia += count;
      if (kind === EQ) ib += count;
    }
  }
  if (ia !== a.length || ib !== b.length) throw new Error(`diff: edit script covers ${ia}/${a.length} old and ${ib}/${b.length} new lines`);
  diff.push({ added: false, removed: false, lines: [] });

  const hunks: StructuredPatchHunk[] = [];
  let oldRangeStart = 0;
  let newRangeStart = 0;
  let curRange: string[] = [];
  let oldLine = 1;
  let newLine = 1;
  for (let i = 0; i < diff.length; i++) {
    const current = diff[i];
    const lines = current.lines;
    if (current.added || current.removed) {
      if (!oldRangeStart) {
        const prev = diff[i - 1];
        oldRangeStart = oldLine;
        newRangeStart = newLine;
        if (prev) {
          curRange = context > 0 ? prev.lines.slice(-context).map((l) => ' ' + l) : [];
          oldRangeStart -= curRange.length;
          newRangeStart -= curRange.length;
        }
      }
      const mark = current.added ? '+' : '-';
      for (const line of lines) curRange.push(mark + line);
      if (current.added) newLine += lines.length;
      else oldLine += lines.length;
    } else {
      if (oldRangeStart) {
        if (lines.length <= context * 2 && i < diff.length - 2) {
          for (const line of lines) curRange.push(' ' + line);
        } else {
          const contextSize = Math.min(lines.length, context);
          for (let k = 0; k < contextSize; k++) curRange.push(' ' + lines[k]);
          hunks.push({ oldStart: oldRangeStart, oldLines: oldLine - oldRangeStart + contextSize, newStart: newRangeStart, newLines: newLine - newRangeStart + contextSize, lines: curRange });
          oldRangeStart = 0;
          newRangeStart = 0;
          curRange = [];
        }
      }
      oldLine += lines.length;
      newLine += lines.length;
    }
  }
  for (const hunk of hunks) {
    const out: string[] = [];
    for (const line of hunk.lines) {
      if (line.endsWith('\n')) out.push(line.slice(0, -1));
      else out.push(line, '\\ No newline at end of file');
    }
    hunk.lines = out;
  }
  return hunks;
}
