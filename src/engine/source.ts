import { LineCounter, parseAllDocuments, isMap, isSeq, isPair, isScalar, visit } from 'yaml';
import type { Document, Node, YAMLMap } from 'yaml';

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

/** Upper bound on aliases resolved when converting to plain values (alias bombs). */
export const MAX_ALIAS_COUNT = 100;

/** Parses a multi-document YAML (or JSON) text, keeping every source range. */
export function parseSource(text: string, isJson = false): ParsedSource {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true, merge: true });
  const list = Array.isArray(docs) ? docs : [];
  const errors: SourceError[] = [];
  for (const doc of list) {
    for (const error of doc.errors) {
      const { line, col } = lines.linePos(error.pos[0]);
      errors.push({ message: error.message.split('\n')[0], code: error.code, line, col });
    }
  }
  const style = detectStyle(text, list, isJson);
  const perDoc = list.map((d) => ({ start: d.range[0], end: d.range[2], style: detectStyle(text, [d], style.json, style) }));
  const styleAt = (offset: number) => perDoc.find((d) => offset >= d.start && offset <= d.end)?.style ?? style;
  return { text, docs: list, lines, style, errors, styleAt };
}

/** 1-based line and column of an offset. */
export function positionOf(src: ParsedSource, offset: number): { line: number; col: number } {
  return src.lines.linePos(offset);
}

function detectStyle(text: string, docs: Document.Parsed[], isJson: boolean, fallback?: SourceStyle): SourceStyle {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  let indent = 0;
  let indentlessSeq: boolean | undefined;
  let flowPadding: boolean | undefined;
  let seqGap: number | undefined;
  const columnOf = (offset: number) => offset - (text.lastIndexOf('\n', offset - 1) + 1);
  const json = isJson || (docs.length > 0 && docs.every((d) => isJsonLike(text, d)));
  for (const doc of docs) {
    visit(doc, {
      Pair(_key, pair) {
        if (!isScalar(pair.key) || !pair.key.range) return;
        const value = pair.value as Node | null;
        if (!value || !value.range) return;
        if (isMap(value) && value.flow && json && value.items.length > 0 && !indent) {
          // JSON: the step between a key and the keys of the object it opens, when on own lines.
          const first = value.items[0];
          if (isPair(first) && isScalar(first.key) && first.key.range && lineStartsAt(text, first.key.range[0]) && lineStartsAt(text, pair.key.range[0])) {
            const d = columnAt(text, first.key.range[0]) - columnAt(text, pair.key.range[0]);
            if (d > 0) indent = d;
          }
        }
        if (isMap(value) && !value.flow && value.items.length > 0 && !indent) {
          const first = value.items[0];
          if (isPair(first) && isScalar(first.key) && first.key.range) {
            const d = columnOf(first.key.range[0]) - columnOf(pair.key.range[0]);
            if (d > 0 && lineStartsAt(text, first.key.range[0])) indent = d;
          }
        }
        if (isSeq(value) && !value.flow && value.items.length > 0 && indentlessSeq === undefined) {
          const first = value.items[0] as Node;
          const dash = first?.range ? dashBefore(text, first.range[0]) : -1;
          if (dash >= 0) indentlessSeq = columnOf(dash) === columnOf(pair.key.range[0]);
          if (dash >= 0 && first?.range && first.range[0] - dash > 1 && !text.slice(dash, first.range[0]).includes('\n')) seqGap = first.range[0] - dash;
        }
      },
      Map(_key, map) {
        if (map.flow && map.items.length > 0 && flowPadding === undefined && map.range) flowPadding = text[map.range[0] + 1] === ' ';
      },
      Seq(_key, seq) {
        if (seq.flow && seq.items.length > 0 && flowPadding === undefined && seq.range) flowPadding = text[seq.range[0] + 1] === ' ';
      },
    });
  }
  return {
    eol,
    indent: indent || fallback?.indent || 2,
    indentlessSeq: indentlessSeq ?? fallback?.indentlessSeq ?? false,
    json,
    flowPadding: flowPadding ?? fallback?.flowPadding ?? true,
    seqGap: seqGap ?? fallback?.seqGap ?? 2,
  };
}

function isJsonLike(text: string, doc: Document.Parsed): boolean {
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
