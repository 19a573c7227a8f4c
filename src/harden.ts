import { Fix, applyEdits, parseSource, renderOps } from './engine/index.js';
import type { Op, ParsedSource, SourceError } from './engine/index.js';
import { isKubernetesDoc, objectsOf, podTemplateOf } from './kubernetes/model.js';
import type { K8sObject } from './kubernetes/model.js';
import type { Level, Settings } from './settings.js';
import type { Finding, ObjectRef, Report, Transform, TransformContext } from './types.js';

/** Everything that decides what a run changes. */
export interface HardenOptions {
  transforms: readonly Transform[];
  level: Level;
  settings: Settings;
}

/** The outcome of hardening one text. */
export interface HardenResult {
  output: string;
  /** Fixes applied (located in the input). */
  changes: Finding[];
  /** Findings still standing in the output: report-only, refused, or not allowed by the level. */
  remaining: Finding[];
  /** Parse errors of the input; when present the output is the input. */
  errors: SourceError[];
  /** Set when the hardened text failed its own re-check; the output is then the input. */
  failure?: string;
  /** The text held Kubernetes objects. */
  kubernetes: boolean;
}

/** Passes before giving up on reaching a fixed point (two are normal: fix, then verify). */
const MAX_PASSES = 6;

/**
 * Hardens one YAML/JSON text. Each pass parses, lets every transform plan its findings, and
 * applies the permitted fixes as minimal edits; the run ends on a pass that plans nothing,
 * so the output is verified to be a fixed point (hardening it again changes nothing).
 */
export function hardenText(input: string, options: HardenOptions, json = false): HardenResult {
  let text = input;
  let shape: string[] = [];
  const changes = new Map<string, Finding>();
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const src = parseSource(text, json);
    if (src.errors.length) {
      if (pass === 0) return { output: input, changes: [], remaining: [], errors: src.errors, kubernetes: false };
      const e = src.errors[0];
      return failed(input, `hardened output does not parse (${e.line}:${e.col} ${e.message})`);
    }
    const findings = planFindings(src, options);
    const kubernetes = src.docs.some(isKubernetesDoc);
    const fixes = findings.filter((f) => f.fixable);
    if (pass === 0) shape = shapeOf(src);
    if (fixes.length === 0) {
      const broken = pass > 0 ? validate(text, src, shape, json) : undefined;
      if (broken) return failed(input, broken);
      return { output: text, changes: [...changes.values()], remaining: findings, errors: [], kubernetes };
    }
    for (const f of fixes) if (!changes.has(identity(f))) changes.set(identity(f), f);
    const next = applyEdits(text, renderOps(src, fixes.flatMap((f) => f.ops))).text;
    if (next === text) return failed(input, 'a planned fix produced no change');
    text = next;
  }
  return failed(input, `hardening did not settle after ${MAX_PASSES} passes`);
}

/** Kind, API version and name of every object, in order: hardening must not change them. */
function shapeOf(src: ParsedSource): string[] {
  return src.docs.flatMap((doc) =>
    isKubernetesDoc(doc) ? objectsOf(doc).map((o) => `${o.apiVersion}/${o.kind}/${o.namespace ?? ''}/${o.name ?? ''}`) : ['-'],
  );
}

/** Why a hardened text is unfit to write, or undefined when it is fine. */
function validate(text: string, src: ParsedSource, before: string[], json: boolean): string | undefined {
  const after = shapeOf(src);
  if (after.join('\n') !== before.join('\n')) return 'hardening changed the documents or objects of the file';
  if (json) {
    try {
      JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (e) {
      return `hardened output is not valid JSON (${(e as Error).message})`;
    }
  }
  return undefined;
}

function failed(input: string, failure: string): HardenResult {
  return { output: input, changes: [], remaining: [], errors: [], failure, kubernetes: true };
}

function identity(f: Finding): string {
  return `${f.transform}\u0000${f.object?.kind}/${f.object?.namespace}/${f.object?.name}\u0000${f.field}\u0000${f.message}`;
}

/** Runs every transform over every object of a parsed text and collects its findings. */
export function planFindings(src: ParsedSource, options: HardenOptions): Finding[] {
  const findings: Finding[] = [];
  for (const doc of src.docs) {
    if (!isKubernetesDoc(doc)) continue;
    for (const object of objectsOf(doc)) {
      const pod = podTemplateOf(object);
      for (const transform of options.transforms) {
        const ctx = contextFor(src, options, transform, object, findings);
        transform.object?.(object, ctx);
        if (pod && transform.pod) transform.pod(pod, ctx);
      }
    }
  }
  return findings;
}

function refOf(object: K8sObject): ObjectRef {
  return { kind: object.kind, name: object.name, namespace: object.namespace, apiVersion: object.apiVersion };
}

function contextFor(
  src: ParsedSource,
  options: HardenOptions,
  transform: Transform,
  object: K8sObject,
  sink: Finding[],
): TransformContext {
  return {
    level: options.level,
    settings: options.settings,
    report(report: Report) {
      const offset = report.at?.range?.[0] ?? object.node.range?.[0] ?? 0;
      const { line, col } = src.lines.linePos(offset);
      let ops: Op[] = [];
      let reason: string | undefined;
      const behaviorChanging = report.behaviorChanging ?? false;
      if (report.fix) {
        const fix = new Fix();
        report.fix(fix);
        ops = fix.ops;
        if (fix.refusals.length) reason = fix.refusals.join('; ');
        else if (behaviorChanging && options.level === 'baseline')
          reason = 'the baseline level never overrides or removes what the file says';
        else if (ops.length === 0) reason = 'nothing to edit';
      } else {
        reason = 'report only: a person has to decide';
      }
      sink.push({
        transform: transform.id,
        owasp: transform.owasp,
        severity: report.severity ?? transform.severity,
        message: report.message,
        field: report.field,
        object: refOf(object),
        line,
        col,
        behaviorChanging,
        fixable: reason === undefined,
        reason,
        ops: reason === undefined ? ops : [],
      });
    },
  };
}
