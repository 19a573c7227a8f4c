import { isMap, isPair, isScalar, isSeq, stringify } from 'yaml';
import type { Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import type { Op } from './ops.js';
import type { ParsedSource, SourceStyle } from './source.js';
import { columnAt, dashBefore, lineStartsAt } from './source.js';
import type { TextEdit } from './text-edit.js';

/**
 * Turns the ops planned for one parsed text into text edits. Ops on the same mapping or
 * sequence are merged into one insertion, so several transforms can add keys below the same
 * new `securityContext` without conflicting.
 */
export function renderOps(src: ParsedSource, ops: readonly Op[]): TextEdit[] {
  const r = new Renderer(src);
  const ensures = new Map<YAMLMap, Map<string, unknown>>();
  const setValues = new Map<Pair, unknown>();
  const removes = new Map<YAMLMap, Set<Pair>>();
  const removeItems = new Map<YAMLSeq, Set<Node>>();
  const appends = new Map<YAMLSeq, unknown[]>();
  const inserts = new Map<Node, { seq: YAMLSeq; values: unknown[] }>();
  const replaced = new Map<Node, unknown>();
  const edits: TextEdit[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case 'ensure': {
        const keys = ensures.get(op.map) ?? new Map<string, unknown>();
        // The first value is copied, later ones merged into it in place (no copy per op).
        keys.set(op.key, keys.has(op.key) ? merge(keys.get(op.key), op.value) : copy(op.value));
        ensures.set(op.map, keys);
        break;
      }
      case 'set-value':
        setValues.set(op.pair, setValues.has(op.pair) ? merge(setValues.get(op.pair), op.value) : copy(op.value));
        break;
      case 'replace':
        // Services that share an anchor plan the same replacement of it: render it once.
        if (replaced.has(op.node) && replaced.get(op.node) === op.value) break;
        replaced.set(op.node, op.value);
        edits.push(r.at(op.node).replaceScalar(op.node as Scalar, op.value));
        break;
      case 'remove':
        add(removes, op.map, op.pair);
        break;
      case 'remove-item':
        add(removeItems, op.seq, op.item);
        break;
      case 'append': {
        const list = appends.get(op.seq) ?? [];
        if (!list.some((v) => deepEqual(v, op.value))) list.push(op.value);
        appends.set(op.seq, list);
        break;
      }
      case 'insert-before': {
        const entry = inserts.get(op.item) ?? { seq: op.seq, values: [] };
        if (!entry.values.some((v) => deepEqual(v, op.value))) entry.values.push(copy(op.value));
        inserts.set(op.item, entry);
        break;
      }
    }
  }
  // A block mapping emptied and refilled in one pass is rewritten with its new keys
  // (`capabilities:` losing its `add` and gaining `drop`). Any other emptied collection becomes
  // `{}`/`[]`, and additions to it wait for the next pass.
  for (const [map, pairs] of removes) {
    if (map.flow || map.items.length === 0 || !map.items.every((p) => pairs.has(p as Pair)) || !ensures.has(map)) continue;
    edits.push(r.at(map).replacePairs(map, [...ensures.get(map)!]));
    ensures.delete(map);
    removes.delete(map);
  }
  // A list emptied and refilled in one pass is rewritten in its own style.
  for (const [seq, items] of removeItems) {
    if (!seq.items.every((n) => items.has(n as Node)) || !appends.has(seq)) continue;
    edits.push(r.at(seq).replaceItems(seq, appends.get(seq)!));
    appends.delete(seq);
    removeItems.delete(seq);
  }
  // Appended one by one: a spread would pass one argument per edit (a list of 150,000 items).
  const push = (more: TextEdit | TextEdit[]) => {
    for (const e of [more].flat()) edits.push(e);
  };
  for (const [map, keys] of ensures) push(r.at(map).insertPairs(map, [...keys]));
  for (const [pair, value] of setValues) edits.push(r.at(pair.key).setValue(pair, value));
  for (const [map, pairs] of removes) push(r.at(map).removePairs(map, pairs));
  for (const [seq, items] of removeItems) push(r.at(seq).removeItems(seq, items));
  for (const [seq, values] of appends) push(r.at(seq).appendItems(seq, values));
  for (const [item, { seq, values }] of inserts) edits.push(r.at(seq).insertItemsBefore(seq, item, values));
  return edits;
}

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key) ?? new Set<V>();
  set.add(value);
  map.set(key, set);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `structuredClone(value)` for the values ops carry, without its serialization (a third of
 * renderOps' time at 1,000 documents): strings, numbers, booleans, null, and plain objects and
 * arrays of them, none reached twice. Anything else goes to structuredClone itself.
 */
function copy<T>(value: T): T {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) return value;
  const out = plainCopy(value, new Set());
  return out === UNCOPIED ? structuredClone(value) : (out as T);
}

const UNCOPIED = Symbol('uncopied');

function plainCopy(v: unknown, seen: Set<object>): unknown {
  if (v === null) return v;
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return v;
    case 'object':
      break;
    default:
      return UNCOPIED;
  }
  const o = v as object;
  if (seen.has(o)) return UNCOPIED;
  seen.add(o);
  if (Array.isArray(o)) {
    // No holes and no other keys: those structuredClone keeps as they are.
    if (Object.getPrototypeOf(o) !== Array.prototype || Object.keys(o).length !== o.length) return UNCOPIED;
    const out: unknown[] = [];
    for (const item of o) {
      const c = plainCopy(item, seen);
      if (c === UNCOPIED) return UNCOPIED;
      out.push(c);
    }
    return out;
  }
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return UNCOPIED;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    if (k === '__proto__') return UNCOPIED;
    const c = plainCopy((o as Record<string, unknown>)[k], seen);
    if (c === UNCOPIED) return UNCOPIED;
    out[k] = c;
  }
  return out;
}

/** Merges `b` into `a` (a value owned by the renderer, changed in place). */
function merge(a: unknown, b: unknown): unknown {
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const [k, v] of Object.entries(b)) a[k] = k in a ? merge(a[k], v) : copy(v);
    return a;
  }
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b.filter((x) => !a.some((y) => deepEqual(x, y)))];
  return b === undefined ? a : b;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A value set after `key:` belongs to that key, before anything else inserted at the same offset. */
const SET_VALUE_RANK = -1e6;

/**
 * Strings that YAML 1.1 readers (docker-compose v1, PyYAML, older Go parsers) would take for
 * numbers or booleans: sexagesimal `999:999`, `yes`/`no`/`on`/`off`. They are always quoted.
 */
const YAML11_AMBIGUOUS = /^(?:[-+]?[0-9][0-9_]*(?::[0-9]+)+(?:\.[0-9_]*)?|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/;

const SCALAR_OPTIONS = { lineWidth: 0, minContentWidth: 0 } as const;

/**
 * `stringify(value, SCALAR_OPTIONS).trimEnd()`, remembered: the same keys and values
 * (`securityContext`, `true`, `10001`, `RuntimeDefault`) are rendered for thousands of
 * documents, and each yaml `stringify` builds a Document and a Schema (~10% of a 1k run).
 */
const PLAIN = new Map<string | number | boolean | null, string>();

function plainScalar(value: unknown): string {
  const cacheable = value === null || typeof value === 'boolean' || (typeof value === 'number' && !Object.is(value, -0)) || (typeof value === 'string' && value.length <= 256);
  if (!cacheable) return stringify(value, SCALAR_OPTIONS).trimEnd();
  const key = value as string | number | boolean | null;
  let text = PLAIN.get(key);
  if (text === undefined) {
    text = stringify(value, SCALAR_OPTIONS).trimEnd();
    if (PLAIN.size < 10_000) PLAIN.set(key, text);
  }
  return text;
}

class Renderer {
  private readonly text: string;
  private style: SourceStyle;
  private readonly src: ParsedSource;

  constructor(src: ParsedSource) {
    this.text = src.text;
    this.src = src;
    this.style = src.style;
  }

  /** Renders what follows in the style of the document holding `node`. */
  at(node: unknown): this {
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    this.style = range ? this.src.styleAt(range[0]) : this.src.style;
    return this;
  }

  // ---- positions -------------------------------------------------------------------------

  /** Offset just past the end of the line holding `offset` (past its newline). */
  private endOfLine(offset: number): number {
    if (offset > 0 && this.text[offset - 1] === '\n') return offset;
    const nl = this.text.indexOf('\n', offset);
    return nl < 0 ? this.text.length : nl + 1;
  }

  /** The line ending that a range ending at `offset` removed ('' at the end of a file without one). */
  private eolOf(offset: number): string {
    return this.text[offset - 1] === '\n' ? this.nl() : '';
  }

  /**
   * Where removing whole lines from `lineStart` to `end` begins: at the line start, or, when the
   * removed lines end the file without a final newline, at the newline before them, so the file
   * still ends without one.
   */
  private removalStart(lineStart: number, end: number): number {
    if (end < this.text.length || this.text.endsWith('\n') || lineStart === 0) return lineStart;
    return this.text[lineStart - 2] === '\r' ? lineStart - 2 : lineStart - 1;
  }

  /**
   * The `-` of the sequence item starting at `offset`: on the same line, or alone on a line
   * above it (`- # comment` then the item's keys on the next lines). -1 when there is none.
   */
  private dashOf(offset: number): number {
    const same = dashBefore(this.text, offset);
    if (same >= 0) return same;
    let end = this.lineStart(offset);
    while (end > 0) {
      const start = this.lineStart(end - 1);
      const line = this.text.slice(start, end).replace(/\r?\n$/, '');
      const m = /^([ \t]*)-(?:[ \t]+#.*|[ \t]*)$/.exec(line);
      if (m) return start + m[1].length;
      if (!/^[ \t]*(#.*)?$/.test(line)) return -1;
      end = start;
    }
    return -1;
  }

  private lineStart(offset: number): number {
    return this.text.lastIndexOf('\n', offset - 1) + 1;
  }

  /** End of a pair's content: its value, or its key when the value is empty. */
  private pairEnd(pair: Pair): number {
    const value = pair.value as Node | null;
    if (value?.range && value.range[1] > value.range[0]) return value.range[1];
    return this.colonAfter(pair) + 1;
  }

  private keyStart(pair: Pair): number {
    return (pair.key as Node).range![0];
  }

  private colonAfter(pair: Pair): number {
    const key = pair.key as Node;
    let i = key.range![1];
    while (i < this.text.length && this.text[i] !== ':') i++;
    return i;
  }

  // ---- rendering values ------------------------------------------------------------------

  private nl(): string {
    return this.style.eol;
  }

  private scalar(value: unknown, original?: Scalar): string {
    if (this.style.json) return JSON.stringify(value);
    if (typeof value === 'string') {
      if (original?.type === 'QUOTE_DOUBLE' || value.includes('\n') || YAML11_AMBIGUOUS.test(value)) return JSON.stringify(value);
      if (original?.type === 'QUOTE_SINGLE') return `'${value.replace(/'/g, "''")}'`;
    }
    return plainScalar(value);
  }

  private key(key: string): string {
    return this.style.json ? JSON.stringify(key) : plainScalar(key);
  }

  /** A value on one line, in flow style (or JSON). */
  private flow(value: unknown, nested = false): string {
    // Inside [ ] and { }, YAML 1.1 readers (PyYAML) reject ':' in plain scalars: quote them.
    if (nested && typeof value === 'string' && !this.style.json && /[:,[\]{}#]/.test(value)) return JSON.stringify(value);
    // Read only for a non-empty collection: the style fact may make a stream look ahead at later
    // documents (a stream without flow collections, as kustomize writes, never states it).
    const pad = () => (this.style.flowPadding && !this.style.json ? ' ' : '');
    if (Array.isArray(value)) return value.length ? `[${pad()}${value.map((v) => this.flow(v, true)).join(', ')}${pad()}]` : '[]';
    if (isPlainObject(value)) {
      const entries = Object.entries(value).map(([k, v]) => `${this.key(k)}: ${this.flow(v, true)}`);
      return entries.length ? `{${pad()}${entries.join(', ')}${pad()}}` : '{}';
    }
    return this.scalar(value);
  }

  /** JSON over several lines, continuation lines indented to `col`. */
  private jsonBlock(value: unknown, col: number): string {
    const body = JSON.stringify(value, null, this.style.indent);
    return body.split('\n').join(this.nl() + ' '.repeat(col));
  }

  private isComposite(value: unknown): boolean {
    return (Array.isArray(value) && value.length > 0) || (isPlainObject(value) && Object.keys(value).length > 0);
  }

  /** Block lines for `key: value` at column `col`; the first line has no indentation. */
  private blockPair(key: string, value: unknown, col: number): string {
    const head = `${this.key(key)}:`;
    if (!this.isComposite(value)) return `${head} ${this.flow(value)}`;
    const nl = this.nl();
    if (Array.isArray(value)) {
      const dashCol = this.style.indentlessSeq ? col : col + this.style.indent;
      return head + value.map((item) => nl + ' '.repeat(dashCol) + this.blockItem(item, dashCol)).join('');
    }
    const inner = col + this.style.indent;
    return head + Object.entries(value as object).map(([k, v]) => nl + ' '.repeat(inner) + this.blockPair(k, v, inner)).join('');
  }

  /** Block lines for a sequence item whose dash is at column `dashCol`, without indentation. */
  private blockItem(value: unknown, dashCol: number, gap?: number): string {
    // `-   key: v` aligns mapping items with a 4-space indent; scalars keep `- v` unless the
    // list being extended already spaces its items wider.
    const scalar = !isPlainObject(value) || Object.keys(value).length === 0;
    const dash = '-' + ' '.repeat(Math.max(1, (gap ?? (scalar ? 2 : this.style.seqGap)) - 1));
    if (scalar) return `${dash}${this.flow(value)}`;
    const col = dashCol + dash.length;
    const lines = Object.entries(value).map(([k, v]) => this.blockPair(k, v, col));
    return dash + lines.join(this.nl() + ' '.repeat(col));
  }

  // ---- edits -----------------------------------------------------------------------------

  replaceScalar(node: Scalar, value: unknown): TextEdit {
    const [start, end] = node.range!;
    return { start, end, text: this.scalar(value, node) };
  }

  insertPairs(map: YAMLMap, entries: [string, unknown][]): TextEdit | TextEdit[] {
    if (map.flow) return this.insertFlow(map, entries.map(([k, v]) => [k, v]));
    const pairs = map.items.filter(isPair) as Pair[];
    const first = pairs[0];
    const col = columnAt(this.text, this.keyStart(first));
    const at = this.endOfLine(this.pairEnd(pairs[pairs.length - 1]));
    const atEof = at === this.text.length && !this.text.endsWith('\n');
    const nl = this.nl();
    const body = entries.map(([k, v]) => ' '.repeat(col) + this.blockPair(k, v, col) + nl).join('');
    return { start: at, end: at, text: atEof ? nl + body.slice(0, -nl.length) : body, rank: -col };
  }

  /** All the pairs of the block mapping `map` replaced by `entries`, at its column. */
  replacePairs(map: YAMLMap, entries: [string, unknown][]): TextEdit {
    const pairs = map.items as Pair[];
    const start = this.keyStart(pairs[0]);
    const col = columnAt(this.text, start);
    const end = this.endOfLine(this.pairEnd(pairs[pairs.length - 1]));
    const nl = this.nl();
    const body = entries.map(([k, v], i) => (i ? ' '.repeat(col) : '') + this.blockPair(k, v, col)).join(nl);
    return { start, end, text: end === this.text.length && !this.text.endsWith('\n') ? body : body + nl };
  }

  /** Replaces every item of a sequence by `values`, keeping its block or flow style. */
  replaceItems(seq: YAMLSeq, values: unknown[]): TextEdit {
    const items = seq.items as Node[];
    if (seq.flow) {
      const [start, end] = seq.range!;
      const inner = this.text.slice(start + 1, end - 1);
      const pad = /^\s/.test(inner) && !this.style.json ? ' ' : '';
      return { start: start + 1, end: end - 1, text: `${pad}${values.map((v) => this.flow(v, true)).join(', ')}${pad}` };
    }
    const dash = this.dashOf(items[0].range![0]);
    const dashCol = columnAt(this.text, dash);
    const gap = this.gapOf(dash, items[0]);
    const end = this.endOfLine(items[items.length - 1].range![1]);
    const nl = this.nl();
    const body = values.map((v, i) => (i === 0 ? '' : ' '.repeat(dashCol)) + this.blockItem(v, dashCol, gap)).join(nl);
    return { start: dash, end, text: body + this.eolOf(end) };
  }

  /** New items just before `item`, in the layout of the sequence. */
  insertItemsBefore(seq: YAMLSeq, item: Node, values: unknown[]): TextEdit {
    const start = item.range![0];
    if (seq.flow) {
      const items = seq.items as Node[];
      const multiline = items.length > 1 && this.text.slice(items[0].range![0], items[items.length - 1].range![0]).includes('\n');
      const col = columnAt(this.text, start);
      const one = (v: unknown) => (this.style.json && multiline && this.isComposite(v) ? this.jsonBlock(v, col) : this.flow(v, true));
      const sep = multiline ? `,${this.nl()}${' '.repeat(col)}` : ', ';
      return { start, end: start, text: values.map((v) => one(v) + sep).join('') };
    }
    const dash = this.dashOf(start);
    const dashCol = columnAt(this.text, dash);
    const gap = this.gapOf(dash, item);
    const at = this.lineStart(dash);
    const nl = this.nl();
    if (this.text.slice(at, dash).trim()) {
      // `- - item`: the dash shares its line with an outer one; the new items go right there.
      return { start: dash, end: dash, text: values.map((v) => this.blockItem(v, dashCol, gap) + nl + ' '.repeat(dashCol)).join('') };
    }
    // Next to a one-line `- {name: X, value: y}` item, the new ones are written the same way.
    const oneLine = (isMap(item) || isSeq(item)) && item.flow && !this.text.slice(start, item.range![1]).includes('\n');
    const line = (v: unknown) => (oneLine ? `-${' '.repeat(Math.max(1, gap - 1))}${this.flow(v)}` : this.blockItem(v, dashCol, gap));
    const body = values.map((v) => ' '.repeat(dashCol) + line(v) + nl).join('');
    // Comment lines just above the item, at its indentation, are about it: they stay with it.
    let start0 = at;
    while (start0 > 0) {
      const prev = this.lineStart(start0 - 1);
      const line = this.text.slice(prev, start0).replace(/\r?\n$/, '');
      if (!line.trimStart().startsWith('#') || columnAt(this.text, prev + line.length - line.trimStart().length) !== dashCol) break;
      start0 = prev;
    }
    // After whatever the item before this one gains at the end of its last line.
    return { start: start0, end: start0, text: body, rank: 1 };
  }

  appendItems(seq: YAMLSeq, values: unknown[]): TextEdit | TextEdit[] {
    if (seq.flow) return this.insertFlow(seq, values.map((v) => [undefined, v]));
    const items = seq.items as Node[];
    const dash = this.dashOf(items[0].range![0]);
    const dashCol = columnAt(this.text, dash);
    const last = items[items.length - 1];
    const at = this.endOfLine(last.range![1]);
    const atEof = at === this.text.length && !this.text.endsWith('\n');
    const nl = this.nl();
    const gap = this.gapOf(dash, items[0]);
    const body = values.map((v) => ' '.repeat(dashCol) + this.blockItem(v, dashCol, gap) + nl).join('');
    return { start: at, end: at, text: atEof ? nl + body.slice(0, -nl.length) : body, rank: -dashCol - 1 };
  }

  /** Columns between a dash and its item's content on the same line (2 for `- a`). */
  private gapOf(dash: number, item: Node): number {
    const start = item.range![0];
    return start > dash && !this.text.slice(dash, start).includes('\n') ? start - dash : this.style.seqGap;
  }

  /** Inserts entries (pairs for a map, values for a sequence) before the closing bracket. */
  private insertFlow(coll: YAMLMap | YAMLSeq, entries: [string | undefined, unknown][]): TextEdit | TextEdit[] {
    const [start, end] = coll.range!;
    const close = end - 1;
    const render = (k: string | undefined, v: unknown, col: number | undefined) => {
      const value = this.style.json && col !== undefined && this.isComposite(v) ? this.jsonBlock(v, col) : this.flow(v, true);
      return k === undefined ? value : `${this.key(k)}: ${value}`;
    };
    const items = coll.items as (Pair | Node)[];
    if (items.length === 0) {
      const pad = !this.style.json && this.style.flowPadding ? ' ' : '';
      const body = entries.map(([k, v]) => render(k, v, undefined)).join(', ');
      return { start: start + 1, end: close, text: `${pad}${body}${pad}` };
    }
    const last = items[items.length - 1];
    const lastStart = isPair(last) ? this.keyStart(last) : (last as Node).range![0];
    const lastEnd = isPair(last) ? this.pairEnd(last) : (last as Node).range![1];
    const multiline = this.text.slice(start, lastStart).includes('\n');
    if (multiline) {
      const col = columnAt(this.text, lastStart);
      // New list items copy a one-line sibling's layout; new keys of an object get their own block.
      const oneLineSibling = !this.text.slice(lastStart, lastEnd).includes('\n');
      const item = (k: string | undefined, v: unknown) => render(k, v, k === undefined && oneLineSibling ? undefined : col);
      // The last entry's own indentation, tabs included (a tab-indented daemon.json).
      const before = this.text.slice(this.text.lastIndexOf('\n', lastStart - 1) + 1, lastStart);
      const indent = /^[ \t]*$/.test(before) ? before : ' '.repeat(col);
      const nlAt = this.text.indexOf('\n', lastEnd);
      const rest = this.text.slice(lastEnd, nlAt < 0 ? this.text.length : nlAt);
      if (nlAt >= 0 && rest.includes('#') && !/[\]}]/.test(rest.slice(0, rest.indexOf('#')))) {
        // A comment ends the last entry's line: the comma goes before it, new entries after it.
        const at = this.text[nlAt - 1] === '\r' ? nlAt - 1 : nlAt;
        const body = entries.map(([k, v], i) => `${i ? ',' : ''}${this.nl()}${indent}${item(k, v)}`).join('');
        return [
          { start: lastEnd, end: lastEnd, text: ',' },
          { start: at, end: at, text: body },
        ];
      }
      const body = entries.map(([k, v]) => `,${this.nl()}${indent}${item(k, v)}`).join('');
      return { start: lastEnd, end: lastEnd, text: body };
    }
    const body = entries.map(([k, v]) => `, ${render(k, v, undefined)}`).join('');
    return { start: lastEnd, end: lastEnd, text: body };
  }

  setValue(pair: Pair, value: unknown): TextEdit {
    const colon = this.colonAfter(pair);
    const node = pair.value as Node | null;
    let end = node?.range && node.range[1] > node.range[0] ? node.range[1] : colon + 1;
    // A block value's range runs past its last line break: keep that break (and blank lines).
    while (end > colon + 1 && /\s/.test(this.text[end - 1])) end--;
    const inFlow = this.inFlow(pair);
    if (!this.isComposite(value) || inFlow || this.style.json) {
      const col = columnAt(this.text, this.keyStart(pair));
      // JSON laid out one key per line gets a block; compact JSON stays on its line.
      const ownLine = lineStartsAt(this.text, this.keyStart(pair));
      const text = this.style.json && ownLine && this.isComposite(value) ? this.jsonBlock(value, col) : this.flow(value, inFlow);
      return { start: colon + 1, end, text: ` ${text}`, rank: SET_VALUE_RANK };
    }
    const col = columnAt(this.text, this.keyStart(pair));
    const rendered = this.blockPair('x', value, col);
    return { start: colon + 1, end, text: rendered.slice(rendered.indexOf(':') + 1), rank: SET_VALUE_RANK };
  }

  private inFlow(pair: Pair): boolean {
    // A pair in a flow mapping has a `{` or `,` before its key on the same logical level.
    let i = this.keyStart(pair) - 1;
    while (i >= 0 && /\s/.test(this.text[i])) i--;
    return this.text[i] === '{' || this.text[i] === ',';
  }

  removePairs(map: YAMLMap, remove: Set<Pair>): TextEdit[] {
    const pairs = map.items as Pair[];
    if (pairs.every((p) => remove.has(p))) return [this.emptyCollection(map, '{}')];
    if (map.flow) return pairs.flatMap((p, i) => (remove.has(p) ? [this.removeFlowEntry(pairs, i)] : []));
    const edits: TextEdit[] = [];
    pairs.forEach((pair, i) => {
      if (!remove.has(pair)) return;
      const start = this.keyStart(pair);
      const end = this.endOfLine(this.pairEnd(pair));
      if (lineStartsAt(this.text, start)) {
        edits.push({ start: this.removalStart(this.lineStart(start), end), end, text: '' });
        return;
      }
      // First key of a `- key: value` item: pull the next key up behind the dash.
      const next = pairs[i + 1];
      const nextStart = next ? this.keyStart(next) : end;
      const between = this.text.slice(end, nextStart);
      if (/^\s*$/.test(between)) return void edits.push({ start, end: nextStart, text: '' });
      // A comment line follows: it moves up behind the dash (`- # note`), keeping its text.
      let to = end;
      while (to < this.text.length && (this.text[to] === ' ' || this.text[to] === '\t')) to++;
      edits.push({ start, end: to, text: '' });
    });
    return edits;
  }

  removeItems(seq: YAMLSeq, remove: Set<Node>): TextEdit[] {
    const items = seq.items as Node[];
    if (items.every((n) => remove.has(n))) return [this.emptyCollection(seq, '[]')];
    if (seq.flow) return items.flatMap((n, i) => (remove.has(n) ? [this.removeFlowEntry(items, i)] : []));
    return items.flatMap((node) => {
      if (!remove.has(node)) return [];
      const dash = this.dashOf(node.range![0]);
      const end = this.endOfLine(node.range![1]);
      const from = dash >= 0 && lineStartsAt(this.text, dash) ? this.removalStart(this.lineStart(dash), end) : node.range![0];
      return [{ start: from, end, text: '' }];
    });
  }

  private removeFlowEntry(entries: (Pair | Node)[], i: number): TextEdit {
    const startOf = (e: Pair | Node) => (isPair(e) ? this.keyStart(e) : (e as Node).range![0]);
    const endOf = (e: Pair | Node) => (isPair(e) ? this.pairEnd(e) : (e as Node).range![1]);
    const entry = entries[i];
    if (i + 1 < entries.length) return { start: startOf(entry), end: startOf(entries[i + 1]), text: '' };
    return { start: endOf(entries[i - 1]), end: endOf(entry), text: '' };
  }

  /** Replaces a whole collection by an empty one, in place. */
  private emptyCollection(coll: YAMLMap | YAMLSeq, empty: string): TextEdit {
    const [start, end] = coll.range!;
    if (coll.flow) return { start, end, text: empty };
    // A block collection: keep what precedes it on its first line (`key:` or `- `).
    const before = this.text.slice(this.lineStart(start), start);
    const valueEnd = this.endOfLine(Math.max(start, end - 1));
    if (/^\s*$/.test(before)) {
      // The collection starts on its own line below its key: join `{}` to the key line,
      // unless a comment ends that line.
      let i = this.lineStart(start) - 1;
      while (i > 0 && (this.text[i] === '\n' || this.text[i] === '\r')) i--;
      const keyLine = this.text.slice(this.lineStart(i), i + 1);
      if (!keyLine.includes('#')) return { start: i + 1, end: valueEnd, text: ` ${empty}${this.eolOf(valueEnd)}` };
    }
    return { start, end: valueEnd, text: `${empty}${this.eolOf(valueEnd)}` };
  }
}

