import { LineCounter, parseAllDocuments, isMap, isSeq, isPair, isScalar } from 'yaml';
import type { Document, DocumentOptions, Node, ParseOptions, SchemaOptions, YAMLMap } from 'yaml';

/** How new text must look to blend into a file. */
export interface SourceStyle {
  /** Line ending used by the file. */
  eol: '\n' | '\r\n';
  /** Spaces a nested block mapping is indented by. */
  indent: number;
  /** `key:\n- item` (true) rather than `key:\n  - item`. */
  indentlessSeq: boolean;
  /** The whole file is JSON: new content must be JSON too. */
  json: boolean;
  /** Flow collections written with padding: `{ a: 1 }`. */
  flowPadding: boolean;
  /** Columns from a sequence dash to its item: 2 for `- a`, 4 for `-   a`. */
  seqGap: number;
}

/** A parse problem at a position, already turned into line and column (1-based). */
export interface SourceError {
  message: string;
  code: string;
  line: number;
  col: number;
}

/** The parsed form of one text: its documents, positions and style. */
export interface ParsedSource {
  text: string;
  docs: Document.Parsed[];
  lines: LineCounter;
  style: SourceStyle;
  errors: SourceError[];
  /** The style of the document holding `offset` (documents of one stream may differ). */
  styleAt(offset: number): SourceStyle;
}

/**
 * Upper bound on alias expansion when converting to plain values (alias bombs): yaml counts
 * alias uses times the size of what they name. yaml's default of 100 refuses ordinary files (a
 * ConfigMap or a Compose file with a hundred `<<: *common`); 10,000 still stops a bomb early.
 */
export const MAX_ALIAS_COUNT = 10_000;

/** How every input is parsed: duplicate keys are errors, merge keys are understood. */
export const PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = { uniqueKeys: true, prettyErrors: false, strict: true, merge: true };

/**
 * PARSE_OPTIONS without yaml's duplicate-key check, which compares each key with every earlier
 * key of its mapping (quadratic: a quarter of the parse of a 1,000-service Compose file). A text
 * parsed this way must pass `hasDuplicateKeys` (linear) on every document, and is parsed again
 * with PARSE_OPTIONS when it does not, for yaml's exact errors.
 */
export const FAST_PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = { ...PARSE_OPTIONS, uniqueKeys: false };

/**
 * True when some mapping of `doc` may have two equal keys in yaml's sense (the same node, or
 * scalars with `===` values). May say true where yaml would not (a repeated `.nan`), never false
 * where it would: a true only costs a parse with yaml's own check.
 */
export function hasDuplicateKeys(doc: Document.Parsed): boolean {
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (isMap(node)) {
      const items = node.items;
      if (items.length > 1) {
        if (items.length <= 8) {
          for (let i = 1; i < items.length; i++) {
            const a = items[i].key;
            for (let j = 0; j < i; j++) {
              const b = items[j].key;
              if (a === b || (isScalar(a) && isScalar(b) && a.value === b.value)) return true;
            }
          }
        } else {
          const seen = new Set<unknown>();
          const nodes = new Set<unknown>();
          for (const pair of items) {
            const key = pair.key;
            if (isScalar(key)) {
              if (seen.has(key.value)) return true;
              seen.add(key.value);
            }
            if (nodes.has(key)) return true;
            nodes.add(key);
          }
        }
      }
      for (const pair of items) stack.push(pair.key, pair.value);
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    } else if (isPair(node)) {
      stack.push(node.key, node.value);
    }
  }
  return false;
}

/** All documents of `text`, parsed with PARSE_OPTIONS (see FAST_PARSE_OPTIONS). */
export function parseDocuments(text: string, lineCounter: LineCounter): Document.Parsed[] {
  const docs = parseAllDocuments(text, { ...FAST_PARSE_OPTIONS, lineCounter });
  if (!docs.some(hasDuplicateKeys)) return docs;
  lineCounter.lineStarts.length = 0;
  return parseAllDocuments(text, { ...PARSE_OPTIONS, lineCounter });
}

/**
 * What one document says about its own style; a fact it does not state is undefined, and the
 * stream's first document that states it decides (see `parseSource`).
 */
export interface RawStyle {
  /** Indentation step of the first nested block mapping (0: none). */
  indent: number;
  /** The first block sequence under a key: dash at the key's column, and dash-to-item columns if on one line. */
  seq?: { indentless: boolean; gap?: number };
  /** Padding inside the first non-empty flow collection. */
  flowPadding?: boolean;
}

/** Parses a multi-document YAML (or JSON) text, keeping every source range. */
export function parseSource(text: string, isJson = false): ParsedSource {
  const lines = new LineCounter();
  const list = parseDocuments(text, lines);
  const errors: SourceError[] = [];
  for (const doc of list) {
    for (const error of doc.errors) {
      const { line, col } = lines.linePos(error.pos[0]);
      errors.push({ message: error.message.split('\n')[0], code: error.code, line, col });
    }
  }
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const jsonLike = list.map((d) => isJsonLike(text, d));
  const json = isJson || (list.length > 0 && jsonLike.every(Boolean));
  // Style facts of each document, walked once and only when asked for.
  const raws: (RawStyle | undefined)[] = [];
  const rawOf = (i: number) => (raws[i] ??= rawStyleOf(text, list[i], json));
  const first = <T>(get: (raw: RawStyle) => T | undefined): T | undefined => {
    for (let i = 0; i < list.length; i++) {
      const v = get(rawOf(i));
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const globalSeq = first((r) => r.seq);
  const style: SourceStyle = {
    eol,
    indent: first((r) => r.indent || undefined) ?? 2,
    indentlessSeq: globalSeq?.indentless ?? false,
    json,
    flowPadding: first((r) => r.flowPadding) ?? true,
    seqGap: globalSeq?.gap ?? 2,
  };
  const perDoc: (SourceStyle | undefined)[] = [];
  const docStyle = (i: number): SourceStyle => {
    // A JSON document inside a YAML stream detects its own indentation as JSON.
    const own = jsonLike[i] && !json ? rawStyleOf(text, list[i], true) : rawOf(i);
    return (perDoc[i] ??= styleFrom(own, jsonLike[i] || json, style));
  };
  const styleAt = (offset: number) => {
    const i = docIndexAt(list, offset);
    return i < 0 ? style : docStyle(i);
  };
  return { text, docs: list, lines, style, errors, styleAt };
}

/** The style of a document that says `own` of itself, the stream saying `stream`. */
export function styleFrom(own: RawStyle, json: boolean, stream: SourceStyle): SourceStyle {
  return {
    eol: stream.eol,
    indent: own.indent || stream.indent,
    indentlessSeq: own.seq ? own.seq.indentless : stream.indentlessSeq,
    json,
    flowPadding: own.flowPadding ?? stream.flowPadding,
    seqGap: own.seq?.gap ?? stream.seqGap,
  };
}

/** Index of the first document whose range holds `offset`, or -1 (ranges are ordered). */
function docIndexAt(docs: readonly Document.Parsed[], offset: number): number {
  let lo = 0;
  let hi = docs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (docs[mid].range[2] < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo < docs.length && docs[lo].range[0] <= offset ? lo : -1;
}

/** 1-based line and column of an offset. */
export function positionOf(src: ParsedSource, offset: number): { line: number; col: number } {
  return src.lines.linePos(offset);
}

/**
 * The style facts of one document: the first nested block mapping gives the indentation (for
 * JSON, the first object whose keys are on their own lines), the first block sequence under a
 * key the sequence layout, the first non-empty flow collection the padding. One walk in
 * document order (as yaml's `visit`), ending once all three are known.
 */
export function rawStyleOf(text: string, doc: Document.Parsed, json: boolean): RawStyle {
  const raw: RawStyle = { indent: 0 };
  let seqSeen = false;
  const columnOf = (offset: number) => offset - (text.lastIndexOf('\n', offset - 1) + 1);
  const done = () => raw.indent !== 0 && seqSeen && raw.flowPadding !== undefined;
  const pair = (p: { key: unknown; value: unknown }) => {
    const key = p.key;
    if (!isScalar(key) || !key.range) return;
    const value = p.value as Node | null;
    if (!value || !value.range) return;
    if (isMap(value) && value.flow && json && value.items.length > 0 && !raw.indent) {
      // JSON: the step between a key and the keys of the object it opens, when on own lines.
      const first = value.items[0];
      if (isPair(first) && isScalar(first.key) && first.key.range && lineStartsAt(text, first.key.range[0]) && lineStartsAt(text, key.range[0])) {
        const d = columnAt(text, first.key.range[0]) - columnAt(text, key.range[0]);
        if (d > 0) raw.indent = d;
      }
    }
    if (isMap(value) && !value.flow && value.items.length > 0 && !raw.indent) {
      const first = value.items[0];
      if (isPair(first) && isScalar(first.key) && first.key.range) {
        const d = columnOf(first.key.range[0]) - columnOf(key.range[0]);
        if (d > 0 && lineStartsAt(text, first.key.range[0])) raw.indent = d;
      }
    }
    if (isSeq(value) && !value.flow && value.items.length > 0 && !seqSeen) {
      const first = value.items[0] as Node;
      const dash = first?.range ? dashBefore(text, first.range[0]) : -1;
      if (dash >= 0) {
        seqSeen = true;
        raw.seq = { indentless: columnOf(dash) === columnOf(key.range[0]) };
        if (first.range![0] - dash > 1 && !text.slice(dash, first.range![0]).includes('\n')) raw.seq.gap = first.range![0] - dash;
      }
    }
  };
  // Returns true to stop the walk.
  const walk = (node: unknown): boolean => {
    if (node === null || typeof node !== 'object') return false;
    if (isMap(node) || isSeq(node)) {
      const coll = node as YAMLMap;
      if (coll.flow && coll.items.length > 0 && raw.flowPadding === undefined && coll.range) {
        raw.flowPadding = text[coll.range[0] + 1] === ' ';
        if (done()) return true;
      }
      for (const item of coll.items as unknown[]) if (walk(item)) return true;
      return false;
    }
    if (isPair(node)) {
      pair(node);
      if (done()) return true;
      return walk(node.key) || walk(node.value);
    }
    return false;
  };
  walk(doc.contents);
  return raw;
}

/** True when a document is written as JSON: its content is a flow collection opening the document. */
export function isJsonLike(text: string, doc: Document.Parsed): boolean {
  const contents = doc.contents as Node | null;
  if (!contents || !(isMap(contents) || isSeq(contents)) || !contents.flow) return false;
  return /^\s*[[{]/.test(text.slice(doc.range[0], contents.range![0] + 1));
}

/** True when only spaces stand between the start of the line and `offset`. */
export function lineStartsAt(text: string, offset: number): boolean {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*$/.test(text.slice(start, offset));
}

/** Offset of the `-` that introduces the block sequence item starting at `offset`, or -1. */
export function dashBefore(text: string, offset: number): number {
  let i = offset - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t')) i--;
  return text[i] === '-' ? i : -1;
}

/** Column (0-based) of an offset. */
export function columnAt(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

export type { YAMLMap };
