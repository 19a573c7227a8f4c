import { dirname } from 'node:path';
import { Composer, LineCounter, parseAllDocuments, Parser } from 'yaml';
import type { Node } from 'yaml';
import type { GeneratedDoc } from './engine/index.js';
import { MAX_ALIAS_COUNT } from './engine/index.js';
import type { Outcome, RunOptions } from './run.js';
import type { Finding, ProjectObject } from './types.js';
import { takeDocumentValues, takeInputPositions, unpackValue } from './harden.js';
import { addObjectPositions, refKey } from './object-positions.js';
import { listItems } from './kubernetes/model.js';
import type { Position } from './object-positions.js';

/** Sidecar file that takes the policies generated for a folder. */
export const POLICY_FILE = 'cuirass-network-policies.yaml';

/** Documents and findings of the run-wide transforms (Kubernetes network policies). */
export interface ProjectOutput {
  /** Generated documents by folder ('' for the stdin stream). */
  documents: Map<string, GeneratedDoc[]>;
  /** Findings by display path. */
  findings: Map<string, Finding[]>;
}

/** Plain values of the documents of a text (handed over by `hardenText` or a streamed run, or parsed here). */
function* documentValues(text: string, packed?: readonly unknown[]): Generator<unknown> {
  if (packed) {
    for (const v of packed) yield unpackValue(v);
    return;
  }
  const kept = takeDocumentValues(text);
  if (kept) return yield* kept;
  // Document by document: one tree in memory at a time.
  for (const doc of new Composer({ merge: true }).compose(new Parser().parse(text))) {
    if (doc.errors.length) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      // An alias bomb (hardening never expands one either): the run-wide transforms do without
      // its objects rather than expand it.
      if (e instanceof ReferenceError) continue;
      throw e;
    }
    yield value;
  }
}

function* plainObjects(text: string, packed?: readonly unknown[]): Generator<Record<string, unknown>> {
  for (const v of documentValues(text, packed)) {
    const value = v as Record<string, unknown> | null;
    if (!value || typeof value !== 'object') continue;
    const items = listItems(value) ?? [value];
    for (const item of items) if (item && typeof item === 'object' && 'kind' in item) yield item as Record<string, unknown>;
  }
}

/**
 * Where each object of an input text starts (line and column of its first key), by refKey.
 * Only asked for files that get a finding; handed over by `hardenText` when it kept them.
 */
function positions(text: string): Map<string, Position> {
  const kept = takeInputPositions(text);
  if (kept) return kept;
  const lines = new LineCounter();
  const out = new Map<string, Position>();
  for (const doc of parseAllDocuments(text, { lineCounter: lines, merge: true })) if (doc.contents) addObjectPositions(out, doc.contents as Node, lines);
  return out;
}

/** An input of the run-wide step: its outcome and the folder its generated documents go to. */
export interface ProjectInput {
  o: Outcome;
  dir: string;
  /** Of a streamed run (whose outcome has no output): its documents' packed plain values, and where its objects start. */
  streamed?: { values: readonly unknown[]; positions: Map<string, Position> };
}

/**
 * Runs the transforms that need every Kubernetes object at once (after each file was
 * hardened): `inputs` pairs each outcome with the folder its generated documents go to.
 */
export function runProject(inputs: readonly ProjectInput[], options: RunOptions): ProjectOutput {
  const out: ProjectOutput = { documents: new Map(), findings: new Map() };
  const transforms = options.transforms.filter((t) => t.project);
  if (transforms.length === 0) return out;
  const objects: ProjectObject[] = [];
  for (const { o, dir, streamed } of inputs) {
    if (o.kind !== 'kubernetes' || (o.status !== 'changed' && o.status !== 'unchanged')) continue;
    for (const object of plainObjects(o.output, streamed?.values)) objects.push({ object, file: o.display, dir });
    for (const d of o.documents) objects.push({ object: d.object, file: o.display, dir });
  }
  if (objects.length === 0) return out;
  for (const t of transforms) {
    const result = t.project!(objects, { level: options.level, settings: options.settings, flags: options.flags ?? {} });
    for (const { dir, object } of result.documents) {
      const meta = object.metadata as { name?: string; namespace?: string };
      const doc: GeneratedDoc = { key: `${object.kind}/${meta.namespace ?? ''}/${meta.name ?? ''}`, object, file: POLICY_FILE, secret: false };
      const docs = out.documents.get(dir);
      if (docs) docs.push(doc);
      else out.documents.set(dir, [doc]);
    }
    const seen = new Set<string>();
    const texts = new Map(inputs.map(({ o }) => [o.display, o.input]));
    const kept = new Map(inputs.flatMap(({ o, streamed }) => (streamed ? [[o.display, streamed.positions] as const] : [])));
    const located = new Map<string, Map<string, Position>>();
    const where = (file: string, object: Finding['object']) => {
      if (!object) return undefined;
      if (!located.has(file)) located.set(file, kept.get(file) ?? positions(texts.get(file) ?? ''));
      return located.get(file)!.get(refKey(object.kind, object.namespace, object.name));
    };
    for (const f of result.findings) {
      const key = `${f.file}\u0000${f.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const finding: Finding = {
        transform: t.id, owasp: t.owasp, severity: f.severity, message: f.message, field: '', object: f.object,
        ...(where(f.file, f.object) ?? { line: 1, col: 1 }), behaviorChanging: false, fixable: false, reason: 'report only: a person has to decide',
        ops: [], files: [], documents: [], secrets: [],
      };
      const findings = out.findings.get(f.file);
      if (findings) findings.push(finding);
      else out.findings.set(f.file, [finding]);
    }
  }
  return out;
}

export { dirname };
