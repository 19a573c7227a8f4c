import { isMap, LineCounter, parseAllDocuments, visit } from 'yaml';
import type { Document, Node, Scalar } from 'yaml';
import { MAX_ALIAS_COUNT } from './engine/index.js';
import { parseDocuments } from './engine/source.js';
import { isComposeDoc, servicesOf } from './compose/model.js';
import { isKubernetesDoc, objectsOf, podTemplateOf } from './kubernetes/model.js';
import type { Settings } from './settings.js';
import type { Report, SecretScalar, Transform, TransformContext } from './types.js';

/**
 * Redaction by position: a secret is hidden where its own scalar stands (the source text of
 * whatever form it is written in: plain, quoted with escapes, block, continued lines), and
 * nowhere else, so a token `api` never touches `apiVersion` or `example/api:1.0`.
 */

/** Placeholder printed instead of a secret value. */
export const REDACTED = '<redacted>';

/** A secret's source text in a text: `[start, end)`; `node` is where its scalar starts. */
export interface SecretSpan {
  start: number;
  end: number;
  node: number;
  /** Text of the scalar's value kept before the secret (`NAME=` of a list entry). */
  prefix?: string;
}

/** The span of a secret scalar in `text`: inside its quotes, after its prefix, without trailing blanks. */
export function spanOf(text: string, s: SecretScalar): SecretSpan | undefined {
  const range = s.node.range;
  if (!range) return undefined;
  let [start, end] = range;
  const type = (s.node as Scalar).type;
  if (type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE') {
    start++;
    end--;
  }
  let prefix: string | undefined;
  if (s.prefix && text.startsWith(s.prefix, start)) {
    start += s.prefix.length;
    prefix = s.prefix;
  }
  while (end > start && /\s/.test(text[end - 1])) end--;
  return end > start ? { start, end, node: range[0], prefix } : undefined;
}

/**
 * `text` with each span replaced by <redacted>, line for line: a value written over several
 * lines keeps its line breaks and indentation (each line shows <redacted>), so line numbers
 * and the lines around it stay as they are.
 */
export function redactSpans(text: string, spans: readonly SecretSpan[]): string {
  if (spans.length === 0) return text;
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const s of sorted) {
    if (s.end <= at) continue;
    const start = Math.max(s.start, at);
    out += text.slice(at, start);
    out += text
      .slice(start, s.end)
      .split('\n')
      .map((line, i) => {
        if (i === 0) return REDACTED;
        const indent = /^[ \t]*/.exec(line)![0];
        return line.length === indent.length || line === '\r' ? line : `${indent}${REDACTED}${line.endsWith('\r') ? '\r' : ''}`;
      })
      .join('\n');
    at = s.end;
  }
  return out + text.slice(at);
}

/**
 * Where the secrets of `text` stand: the scalars that the transforms holding secrets report
 * (`Report.redact`), found by planning them again over `text` (an input, or a hardened output,
 * where what is left unmoved is found again). Empty for a text that does not parse.
 */
export function secretSpans(text: string, transforms: readonly Transform[], settings: Settings, file = ''): SecretSpan[] {
  const docs = parseDocuments(text, new LineCounter());
  if (docs.some((d) => d.errors.length)) return [];
  const spans: SecretSpan[] = [];
  const ctx: TransformContext = {
    level: 'restricted',
    settings,
    flags: {},
    hasFolder: true,
    sibling: () => undefined,
    configFiles: () => [],
    file,
    fixes: () => false,
    report(report: Report) {
      for (const s of report.redact ?? []) {
        const span = spanOf(text, s);
        if (span) spans.push(span);
      }
    },
  };
  for (const doc of docs) {
    if (isKubernetesDoc(doc)) {
      for (const object of objectsOf(doc)) {
        const pod = podTemplateOf(object);
        for (const t of transforms) {
          t.object?.(object, ctx);
          if (pod) t.pod?.(pod, ctx);
        }
      }
    } else if (isComposeDoc(doc)) {
      for (const svc of servicesOf(doc, file)) for (const t of transforms) t.service?.(svc, ctx);
    }
  }
  return spans;
}

/** The values of `stringData` and `data` of every Secret in a YAML stream (a generated `*.secrets.yaml`). */
export function secretObjectSpans(text: string): SecretSpan[] {
  const spans: SecretSpan[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (!isMap(doc.contents) || (doc.contents.get('kind') as unknown) !== 'Secret') continue;
    for (const key of ['stringData', 'data']) {
      const map = doc.contents.get(key, true);
      if (!isMap(map)) continue;
      visit(map as Node, {
        Scalar(k, node) {
          if (k !== 'value') return;
          const span = spanOf(text, { node });
          if (span) spans.push(span);
        },
      });
    }
  }
  return spans;
}

/**
 * The documents of `text` as plain values (merge keys applied, as --format json-patch reads
 * them), with each secret scalar of `spans` replaced by its prefix and `marker`, so a value
 * reached through an alias or a merge key is marked wherever it lands.
 */
export function markedValues(text: string, spans: readonly SecretSpan[], marker: string): unknown[] {
  const starts = new Map(spans.map((s) => [s.node, s.prefix ?? '']));
  return parseAllDocuments(text, { merge: true }).map((doc: Document.Parsed) => {
    if (starts.size)
      visit(doc, {
        Scalar(_k, node) {
          const at = node.range?.[0];
          if (at !== undefined && starts.has(at)) node.value = `${starts.get(at)}${marker}`;
        },
      });
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  });
}

