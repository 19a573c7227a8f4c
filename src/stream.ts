/**
 * `cuirass -` with YAML output, written as it is hardened (ADR 007, SPEC section 8): each
 * document goes to stdout as soon as it and every document before it have settled, and only what
 * the end of the run needs is kept of it (this module's tally). The result is the same bytes,
 * summary and exit code as the buffered run (`processText`, which stays the oracle and the path
 * for everything streaming leaves to it); a failure after output was written ends the stream
 * with a document no YAML reader accepts.
 */
import { mergeDocs, mergeFiles, parseSource } from './engine/index.js';
import { hardenTextStreamed, identity, place, StreamFallback } from './harden.js';
import type { SettledDocument } from './harden.js';
import type { Position } from './object-positions.js';
import type { Outcome, RunOptions } from './run.js';
import { templatedDocuments } from './templates.js';
import type { Finding } from './types.js';
import { MAX_ALIAS_COUNT } from './engine/source.js';

/** Documents settled before the first byte is written: a fallback among them still takes the buffered path. */
const HOLD = 16;

/** The end of a streamed run. */
export type Streamed =
  /** Every document was written; `outcome` has no output (it was written), the rest as `processText` gives it. */
  | { status: 'done'; outcome: Outcome; values: unknown[]; positions: Map<string, Position>; endsWithNewline: boolean }
  /** Nothing was written: the buffered run takes the input. */
  | { status: 'buffered' }
  /** Hardening stopped after output was written: `stopLine` ends the stream (see `STOPPED`). */
  | { status: 'stopped'; line: number; col: number; message: string; endsWithNewline: boolean };

/**
 * The last lines of a stream whose hardening stopped: a comment saying so, then `--- ]`, a
 * document that is a YAML syntax error, so that a consumer reading the whole stream (kubectl
 * apply, Helm, kustomize) refuses it rather than applying a part.
 */
export function stopLines(line: number, col: number): string {
  return `# cuirass: hardening stopped at <stdin>:${line}:${col}; this stream is incomplete\n--- ]\n`;
}

/** Whether `cuirass -` can write `input` as it is hardened (what it cannot goes buffered, as before). */
export function streamable(input: string): boolean {
  // JSON, CRLF, directives and templates are decided on the whole text.
  return !/^\uFEFF?\s*[{[]/.test(input) && !input.includes('\r') && !/^%/m.test(input) && templatedDocuments(input).length === 0;
}

/** A 53-bit hash of a string (cyrb53). */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

function objectKey(f: Finding): string {
  return `${f.object?.kind}/${f.object?.namespace}/${f.object?.name}`;
}

/** A finding left standing, with where the buffered run would report it once a document changed. */
interface Standing {
  f: Finding;
  line: number;
  col: number;
}

/**
 * What a streamed run keeps of its documents: the findings the summary prints, counts of the
 * changes, the changes that carry generated documents or files, the plain values the run-wide
 * step reads, and line counts. Put together as `hardenText` puts together the whole stream
 * (the order of passes, then documents; findings of the last pass where the input has them).
 */
class Tally {
  /**
   * The changes, by object: [identity hash, pass, document * 2 + behavior-changing] for each.
   * The same change twice (an object that two documents repeat) counts once, for its first pass.
   */
  private readonly changes = new Map<string, number[]>();
  /** Changes with generated documents or files, with their order in the buffered run. */
  private readonly carrying: { k: number; d: number; i: number; key: string; h: number; f: Finding }[] = [];
  private readonly standing: Standing[] = [];
  /** The standing findings by place, for a later document's first pass that states the same place. */
  private readonly waiting = new Map<string, Standing[]>();
  private readonly suppressed: Finding[] = [];
  private readonly secrets = new Set<string>();
  readonly values: unknown[] = [];
  /** Line breaks of the hardened documents so far. */
  private lines = 0;
  /** The highest pass any document settled at. */
  private last = 0;
  private kubernetes = false;
  private compose = false;

  add(d: SettledDocument): void {
    const { versions, settled: s } = d;
    if (s > 0 && d.final.shape.join('\n') !== d.shape.join('\n')) throw new StreamFallback(d.start, d.end, 'hardening changed the documents or objects of the stream');
    const local = new Set<string>();
    const claims = new Map<string, number[]>();
    for (let k = 0; k <= s; k++) {
      const findings = versions[k].findings;
      for (let i = 0; i < findings.length; i++) {
        const f = findings[i];
        for (const secret of f.secrets) this.secrets.add(secret);
        if (!f.fixable) continue;
        const id = identity(f);
        if (local.has(id)) continue;
        local.add(id);
        const key = objectKey(f);
        const h = hash53(id);
        const mine = claims.get(key);
        if (mine) mine.push(h, k, d.index * 2 + (f.behaviorChanging ? 1 : 0));
        else claims.set(key, [h, k, d.index * 2 + (f.behaviorChanging ? 1 : 0)]);
        if (f.documents.length || f.files.length) this.carrying.push({ k, d: d.index, i, key, h, f });
      }
    }
    for (const [key, mine] of claims) this.claim(key, mine);
    // Where the first pass has each place (the last such finding; a later document's wins).
    const first = new Map<string, Finding>();
    for (const f of versions[0].findings) {
      const p = place(f);
      first.set(p, f);
      for (const w of this.waiting.get(p) ?? []) {
        w.line = f.line;
        w.col = f.col;
      }
    }
    for (const f of versions[s].findings) {
      if (f.suppressed) this.suppressed.push(f);
      if (f.fixable || f.suppressed) continue;
      const p = place(f);
      const at = first.get(p);
      // Without a first-pass finding at its place: its line in the hardened output.
      const w: Standing = at ? { f, line: at.line, col: at.col } : { f, line: f.line + this.lines, col: f.col };
      this.standing.push(w);
      const list = this.waiting.get(p);
      if (list) list.push(w);
      else this.waiting.set(p, [w]);
    }
    this.lines += versions[s].lines;
    if (s > this.last) this.last = s;
    this.kubernetes ||= d.final.kubernetes;
    this.compose ||= d.final.compose;
    // The run-wide step reads the plain values of every document but Compose ones (an alias bomb's is skipped).
    if ((d.final.kubernetes || !d.final.compose) && !d.final.valueFailed) this.values.push(d.final.value);
  }

  /** Adds one document's changes of an object ([hash, pass, document * 2 + behavior-changing] each, no hash twice). */
  private claim(key: string, mine: number[]): void {
    const list = this.changes.get(key);
    // An object's first document (the usual case): a copy of exactly its size.
    if (!list) {
      this.changes.set(key, mine.slice());
      return;
    }
    const added: number[] = [];
    next: for (let i = 0; i < mine.length; i += 3) {
      for (let j = 0; j < list.length; j += 3) {
        if (list[j] !== mine[i]) continue;
        // Counted once: for the first pass that made it (earlier documents first).
        if (mine[i + 1] < list[j + 1]) {
          list[j + 1] = mine[i + 1];
          list[j + 2] = mine[i + 2];
        }
        continue next;
      }
      added.push(mine[i], mine[i + 1], mine[i + 2]);
    }
    if (added.length) this.changes.set(key, [...list, ...added]);
  }

  private won(key: string, h: number, k: number, d: number): boolean {
    const list = this.changes.get(key)!;
    for (let j = 0; j < list.length; j += 3) if (list[j] === h) return list[j + 1] === k && list[j + 2] >> 1 === d;
    return false;
  }

  /** The outcome `processText` gives for the stream, without its output (it was written). */
  outcome(input: string): Outcome {
    const base = { display: '<stdin>', input, output: '', changes: [], remaining: [], manifest: false, files: [], documents: [], secrets: [], suppressed: [] };
    const kubernetes = this.kubernetes;
    const compose = !kubernetes && this.compose;
    if (!kubernetes && !compose) return { ...base, status: 'skipped', message: 'skipped: no Kubernetes objects or Compose services' };
    let count = 0;
    let behaviorChanging = 0;
    for (const list of this.changes.values()) {
      for (let j = 0; j < list.length; j += 3) {
        count++;
        behaviorChanging += list[j + 2] & 1;
      }
    }
    const carrying = this.carrying.filter((c) => this.won(c.key, c.h, c.k, c.d)).sort((a, b) => a.k - b.k || a.d - b.d || a.i - b.i);
    const applied = carrying.map((c) => c.f);
    // The summary counts the changes: stand-ins, not the findings (a million at the stdin limit).
    const changes: Finding[] = new Array<Finding>(count).fill(CHANGED, 0, behaviorChanging).fill(UNCHANGED_BEHAVIOR, behaviorChanging);
    return {
      ...base,
      status: this.last > 0 ? 'changed' : 'unchanged',
      changes,
      remaining: this.standing.map((w) => (this.last === 0 ? w.f : { ...w.f, line: w.line, col: w.col })),
      manifest: true,
      files: mergeFiles(applied.flatMap((f) => f.files)),
      documents: mergeDocs(applied.flatMap((f) => f.documents)),
      secrets: [...this.secrets].filter(Boolean).sort((a, b) => b.length - a.length),
      kind: kubernetes ? 'kubernetes' : 'compose',
      suppressed: this.suppressed,
    };
  }
}

const STAND_IN: Finding = {
  transform: '', owasp: '', severity: 'info', message: 'a change of a streamed run', field: '', line: 1, col: 1,
  behaviorChanging: false, fixable: true, ops: [], files: [], documents: [], secrets: [],
} as unknown as Finding;
const CHANGED: Finding = Object.freeze({ ...STAND_IN, behaviorChanging: true });
const UNCHANGED_BEHAVIOR: Finding = Object.freeze({ ...STAND_IN });

/** Line and column of `offset` in `text` (1-based). */
function positionOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/** Where and why hardening stopped in the document at `start`..`end` of `input`. */
function stopOf(input: string, start: number, end: number, failure: string | undefined): { line: number; col: number; message: string } {
  const at = positionOf(input, start);
  const errors = failure ? [] : parseSource(input.slice(start, end)).errors;
  if (errors.length) {
    const e = errors[0];
    return { line: at.line + e.line - 1, col: e.line === 1 ? at.col + e.col - 1 : e.col, message: e.message };
  }
  const why = failure ?? 'this document cannot be hardened on its own in a stream (the whole-text passes cannot run once output is written)';
  return { ...at, message: `hardening stopped: ${why}; nothing from here on was written` };
}

/**
 * Hardens `input` (stdin) document by document, handing each hardened document's text to
 * `write` as soon as it and every one before it have settled (the first `HOLD` are held, so that
 * an early fallback still goes buffered).
 */
export function streamStdin(input: string, options: RunOptions, write: (text: string) => void): Streamed {
  const tally = new Tally();
  let held: string[] | undefined = [];
  let last = '\n';
  let next = 0;
  const emit = (text: string) => {
    if (text === '') return;
    last = text[text.length - 1];
    write(text);
  };
  const release = () => {
    if (!held) return;
    for (const t of held) emit(t);
    held = undefined;
  };
  try {
    const positions = hardenTextStreamed(input, { ...options, hasFolder: false }, { json: false, file: '<stdin>' }, (d) => {
      tally.add(d);
      next = d.end;
      const text = d.versions[d.settled].text;
      if (held) {
        held.push(text);
        if (held.length >= HOLD) release();
      } else emit(text);
    });
    release();
    return { status: 'done', outcome: tally.outcome(input), values: tally.values, positions, endsWithNewline: last === '\n' };
  } catch (e) {
    if (held) return { status: 'buffered' };
    const endsWithNewline = last === '\n';
    if (e instanceof StreamFallback) return { status: 'stopped', ...stopOf(input, e.start, e.end, e.failure), endsWithNewline };
    const at = positionOf(input, next);
    // As `processText` says it of a whole text.
    const message =
      e instanceof ReferenceError && /alias/i.test(e.message)
        ? `its aliases expand to more than ${MAX_ALIAS_COUNT} nodes (an alias bomb?); hardening stopped, nothing from here on was written`
        : `internal error: ${(e as Error).message}; hardening stopped, nothing from here on was written`;
    return { status: 'stopped', ...at, message, endsWithNewline };
  }
}
