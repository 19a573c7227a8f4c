import { createPatch } from 'rfc6902';
import { parseAllDocuments } from 'yaml';
import { MAX_ALIAS_COUNT } from '../engine/index.js';
import type { GeneratedDoc } from '../engine/index.js';
import { REDACTED } from '../emit.js';
import type { Outcome } from '../run.js';

/** One entry of `--format json-patch`. */
export type PatchEntry =
  | { file: string; document: number; kind?: string; name?: string; patch: unknown[] }
  | { file: string; created: unknown };

function plain(text: string): unknown[] {
  return parseAllDocuments(text, { merge: true }).map((d) => d.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
}

/** Replaces every string equal to (or containing) a secret by <redacted>. */
function redactValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return secrets.some((s) => s && value.includes(s)) ? REDACTED : value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, secrets));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, secrets)]));
  return value;
}

/**
 * RFC 6902 operations per changed input document (applying them to the original document
 * yields the hardened one), then each generated document as `{file, created}`.
 */
export function jsonPatches(
  outcomes: readonly Outcome[],
  generated: readonly { file: string; docs: GeneratedDoc[] }[] = [],
  /** A changed file whose documents cannot be plain values (an alias bomb): no patch for it. */
  unpatchable: (o: Outcome, message: string) => void = () => {},
): PatchEntry[] {
  const out: PatchEntry[] = [];
  for (const o of outcomes) {
    // A Dockerfile is no JSON document: its fixes are in the diff, text reports and SARIF.
    if (o.status === 'changed' && o.kind !== 'dockerfile') {
      let before: unknown[];
      let after: unknown[];
      try {
        before = plain(o.input);
        after = plain(o.output);
      } catch (e) {
        if (!(e instanceof ReferenceError)) throw e;
        unpatchable(o, `no JSON Patch: a document expands more aliases than cuirass follows (${e.message})`);
        continue;
      }
      before.forEach((doc, i) => {
        const patch = createPatch(doc, after[i]);
        if (patch.length === 0) return;
        const meta = (doc && typeof doc === 'object' ? (doc as { kind?: string; metadata?: { name?: string } }) : {}) as { kind?: string; metadata?: { name?: string } };
        out.push({ file: o.display, document: i, kind: meta.kind, name: meta.metadata?.name, patch: redactValue(patch, o.secrets) as unknown[] });
      });
    }
    for (const d of o.documents) out.push({ file: o.display, created: redactValue(d.object, o.secrets) });
  }
  for (const g of generated) for (const d of g.docs) out.push({ file: g.file, created: d.object });
  return out;
}
