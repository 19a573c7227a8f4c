import { createPatch } from 'rfc6902';
import { parseAllDocuments } from 'yaml';
import { MAX_ALIAS_COUNT } from '../engine/index.js';
import type { GeneratedDoc } from '../engine/index.js';
import { REDACTED, markedValues } from '../redact.js';
import type { SecretSpan } from '../redact.js';
import type { Outcome } from '../run.js';

/** One entry of `--format json-patch`. */
export type PatchEntry =
  | { file: string; document: number; kind?: string; name?: string; patch: unknown[] }
  | { file: string; created: unknown };

function plain(text: string): unknown[] {
  return parseAllDocuments(text, { merge: true }).map((d) => d.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
}

/** Stands in for a secret scalar in the hardened document while the patch is read. */
const MARK = '\u0000cuirass-secret\u0000';

/** The value at a JSON pointer, or undefined. */
function at(doc: unknown, pointer: string): unknown {
  let v = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** `value` with <redacted> wherever `marked` (the same place in the marked document) holds a secret. */
function redactAt(value: unknown, marked: unknown): unknown {
  if (typeof marked === 'string' && marked.includes(MARK)) return marked.replace(MARK, REDACTED);
  if (Array.isArray(value) && Array.isArray(marked)) return value.map((v, i) => redactAt(v, marked[i]));
  if (value && typeof value === 'object' && marked && typeof marked === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactAt(v, (marked as Record<string, unknown>)[k])]));
  return value;
}

/** A generated document with the values of a Secret (`stringData`, `data`) shown as <redacted>. */
function createdValue(d: GeneratedDoc): unknown {
  const o = d.object as Record<string, unknown>;
  if (o.kind !== 'Secret') return o;
  const hide = (m: unknown) => (m && typeof m === 'object' ? Object.fromEntries(Object.keys(m).map((k) => [k, REDACTED])) : m);
  return { ...o, ...('stringData' in o ? { stringData: hide(o.stringData) } : {}), ...('data' in o ? { data: hide(o.data) } : {}) };
}

/**
 * RFC 6902 operations per changed input document (applying them to the original document
 * yields the hardened one), then each generated document as `{file, created}`. Secret values
 * are `<redacted>` at their own paths only: a value the hardened document still holds (where an
 * op carries it) and the values of a generated Secret; every other value replays exactly.
 */
export function jsonPatches(
  outcomes: readonly Outcome[],
  generated: readonly { file: string; docs: GeneratedDoc[] }[] = [],
  /** A changed file whose documents cannot be plain values (an alias bomb): no patch for it. */
  unpatchable: (o: Outcome, message: string) => void = () => {},
  /** Where the secrets of a hardened text stand (`secretSpans`): shown as <redacted> there only. */
  secretsOf: (o: Outcome, text: string) => SecretSpan[] = () => [],
): PatchEntry[] {
  const out: PatchEntry[] = [];
  for (const o of outcomes) {
    // A Dockerfile is no JSON document: its fixes are in the diff, text reports and SARIF.
    if (o.status === 'changed' && o.kind !== 'dockerfile') {
      let before: unknown[];
      let after: unknown[];
      let marked: unknown[] | undefined;
      try {
        before = plain(o.input);
        after = plain(o.output);
        const spans = secretsOf(o, o.output);
        if (spans.length) marked = markedValues(o.output, spans, MARK);
      } catch (e) {
        if (!(e instanceof ReferenceError)) throw e;
        unpatchable(o, `no JSON Patch: a document expands more aliases than cuirass follows (${e.message})`);
        continue;
      }
      before.forEach((doc, i) => {
        const patch = createPatch(doc, after[i]);
        if (patch.length === 0) return;
        const meta = (doc && typeof doc === 'object' ? (doc as { kind?: string; metadata?: { name?: string } }) : {}) as { kind?: string; metadata?: { name?: string } };
        const shown = marked ? patch.map((op) => ('value' in op ? { ...op, value: redactAt(op.value, at(marked![i], op.path)) } : op)) : patch;
        out.push({ file: o.display, document: i, kind: meta.kind, name: meta.metadata?.name, patch: shown });
      });
    }
    for (const d of o.documents) out.push({ file: o.display, created: createdValue(d) });
  }
  for (const g of generated) for (const d of g.docs) out.push({ file: g.file, created: d.object });
  return out;
}
