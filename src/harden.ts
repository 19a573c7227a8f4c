import type { Node } from 'yaml';
import { Fix, applyEdits, mergeDocs, mergeFiles, parseSource, renderOps } from './engine/index.js';
import type { GeneratedDoc, Op, ParsedSource, SideFile, SourceError } from './engine/index.js';
import { isKubernetesDoc, objectsOf, podTemplateOf } from './kubernetes/model.js';
import type { K8sObject } from './kubernetes/model.js';
import { isComposeDoc, servicesOf } from './compose/model.js';
import { composeExemptions, exemptionFor, kubernetesExemptions } from './exemptions.js';
import type { ActiveExemption, InvalidExemption } from './exemptions.js';
import type { ConfigExemption } from './config.js';
import type { Flags, Level, Settings } from './settings.js';
import type { Finding, ObjectRef, Report, SiblingFile, Transform, TransformContext } from './types.js';

/** Everything that decides what a run changes. */
export interface HardenOptions {
  transforms: readonly Transform[];
  level: Level;
  settings: Settings;
  /** Opt-in rewrites (`--fix-docker-socket`). */
  flags?: Flags;
  /** The input is a file whose folder can take generated files. */
  hasFolder?: boolean;
  /** Reads files next to the input (see TransformContext.sibling). */
  sibling?: (path: string) => SiblingFile | undefined;
  /** Exemptions from the config file. */
  exemptions?: ConfigExemption[];
  /** Keep each first-pass fix as text edits of the input (for SARIF). */
  withEdits?: boolean;
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
  /** The text is a Compose file. */
  compose: boolean;
  /** Files to create next to the input (secret files, env files, .gitignore lines). */
  files: SideFile[];
  /** Documents to append to the stream or write to sidecar files. */
  documents: GeneratedDoc[];
  /** Secret values found in the input: never printed, redacted in diffs. */
  secrets: string[];
  /** Findings an exemption suppressed, with its reason. */
  suppressed: Finding[];
}

/** What is known of the text's origin. */
export interface TextInfo {
  /** The text is JSON (by file name or content): new content must be JSON. */
  json?: boolean;
  /** File name, for Compose override detection. */
  file?: string;
}

/** Passes before giving up on reaching a fixed point (two are normal: fix, then verify). */
const MAX_PASSES = 6;

/**
 * Hardens one YAML/JSON text. Each pass parses, lets every transform plan its findings, and
 * applies the permitted fixes as minimal edits; the run ends on a pass that plans nothing,
 * so the output is verified to be a fixed point (hardening it again changes nothing).
 */
export function hardenText(input: string, options: HardenOptions, textInfo: TextInfo | boolean = {}): HardenResult {
  const info: TextInfo = typeof textInfo === 'boolean' ? { json: textInfo } : textInfo;
  const json = info.json ?? false;
  let text = input;
  let shape: string[] = [];
  const changes = new Map<string, Finding>();
  const secrets = new Set<string>();
  const firstSeen = new Map<string, Finding>();
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const src = parseSource(text, json);
    if (src.errors.length) {
      if (pass === 0) return { ...EMPTY, output: input, errors: src.errors };
      const e = src.errors[0];
      return failed(input, `hardened output does not parse (${e.line}:${e.col} ${e.message})`);
    }
    const findings = planFindings(src, options, info.file ?? '');
    for (const f of findings) for (const s of f.secrets) secrets.add(s);
    if (pass === 0) for (const f of findings) firstSeen.set(place(f), f);
    const kubernetes = src.docs.some(isKubernetesDoc);
    const compose = !kubernetes && src.docs.some(isComposeDoc);
    const fixes = findings.filter((f) => f.fixable);
    for (const f of fixes) if (!changes.has(identity(f))) changes.set(identity(f), f);
    if (pass === 0) shape = shapeOf(src);
    const editing = fixes.filter((f) => f.ops.length > 0);
    // Each first-pass fix on its own, as text edits of the input (SARIF fixes, json-patch).
    if (pass === 0 && options.withEdits) for (const f of editing) f.edits = renderOps(src, f.ops);
    if (editing.length === 0) {
      const broken = pass > 0 ? validate(text, src, shape, json) : undefined;
      if (broken) return failed(input, broken);
      const applied = [...changes.values()];
      // Findings of the last pass sit in the hardened text: report them where the input has them.
      const located = findings.map((f) => {
        const first = firstSeen.get(place(f));
        return first && pass > 0 ? { ...f, line: first.line, col: first.col } : f;
      });
      return {
        output: text,
        changes: applied,
        remaining: located.filter((f) => !f.fixable && !f.suppressed),
        suppressed: located.filter((f) => f.suppressed),
        errors: [],
        kubernetes,
        compose,
        files: mergeFiles(applied.flatMap((f) => f.files)),
        documents: mergeDocs(applied.flatMap((f) => f.documents)),
        secrets: [...secrets].filter(Boolean).sort((a, b) => b.length - a.length),
      };
    }
    const next = applyEdits(text, renderOps(src, editing.flatMap((f) => f.ops))).text;
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

const EMPTY: HardenResult = { output: '', changes: [], remaining: [], errors: [], kubernetes: false, compose: false, files: [], documents: [], secrets: [], suppressed: [] };

function failed(input: string, failure: string): HardenResult {
  return { ...EMPTY, output: input, failure, kubernetes: true };
}

/** Where a finding is, independent of its wording: transform, object and field. */
function place(f: Finding): string {
  return `${f.transform}\u0000${f.object?.kind}/${f.object?.namespace}/${f.object?.name}\u0000${f.field}`;
}

function identity(f: Finding): string {
  return `${f.transform}\u0000${f.object?.kind}/${f.object?.namespace}/${f.object?.name}\u0000${f.field}\u0000${f.message}`;
}

/** Runs every transform over every object of a parsed text and collects its findings. */
export function planFindings(src: ParsedSource, options: HardenOptions, file = ''): Finding[] {
  const findings: Finding[] = [];
  for (const doc of src.docs) {
    if (isComposeDoc(doc) && !isKubernetesDoc(doc)) {
      const services = servicesOf(doc, file);
      for (const transform of options.transforms) {
        if (!transform.composeFile || services.length === 0) continue;
        const ctx = contextFor(src, options, transform, { kind: 'compose-file' }, doc.contents as Node, findings, file);
        transform.composeFile(services, ctx);
      }
      for (const svc of services) {
        const { active, invalid } = composeExemptions(svc, options.exemptions ?? [], file);
        const ref = { kind: 'service', name: svc.name };
        const own: Finding[] = [];
        for (const transform of options.transforms) {
          if (!transform.service) continue;
          const ctx = contextFor(src, options, transform, ref, svc.node, own, file, active);
          transform.service(svc, ctx);
        }
        for (const t of options.transforms) if (t.composeFile) exemptionFor(active, t.id);
        own.push(...exemptionFindings(src, active, invalid, ref, svc.node));
        // An override file only adds to its base file, which carries the additions: here
        // only what weakens the base (privileged, root, unconfined…) is reported and fixed.
        findings.push(...(svc.override ? own.filter((f) => f.behaviorChanging || f.ops.length === 0) : own));
      }
      continue;
    }
    if (!isKubernetesDoc(doc)) continue;
    for (const object of objectsOf(doc)) {
      const pod = podTemplateOf(object);
      const { active, invalid } = kubernetesExemptions(object, pod, options.exemptions ?? [], file);
      for (const transform of options.transforms) {
        const ctx = contextFor(src, options, transform, refOf(object), object.node, findings, file, active);
        transform.object?.(object, ctx);
        if (pod && transform.pod) transform.pod(pod, ctx);
      }
      for (const t of options.transforms) if (t.project && pod) exemptionFor(active, t.id);
      findings.push(...exemptionFindings(src, active, invalid, refOf(object), object.node));
    }
  }
  return findings;
}

/** Findings about exemptions themselves: written without a reason, or exempting nothing. */
function exemptionFindings(src: ParsedSource, active: ActiveExemption[], invalid: InvalidExemption[], object: ObjectRef, fallback: Node): Finding[] {
  const make = (at: Node | undefined, message: string, severity: Finding['severity']): Finding => {
    const { line, col } = src.lines.linePos(at?.range?.[0] ?? fallback.range?.[0] ?? 0);
    return {
      transform: 'exemptions', owasp: '—', severity, message, field: '', object, line, col,
      behaviorChanging: false, fixable: false, reason: 'report only: a person has to decide',
      ops: [], files: [], documents: [], secrets: [],
    };
  };
  return [
    ...invalid.map((i) => make(i.at, i.message, 'medium')),
    ...active.filter((e) => !e.used && !e.origin).map((e) => make(e.at, `exemption (${e.source}) of ${[...e.skip].join(', ')} exempts nothing: ${e.reason}`, 'low')),
  ];
}

function refOf(object: K8sObject): ObjectRef {
  return { kind: object.kind, name: object.name, namespace: object.namespace, apiVersion: object.apiVersion };
}

function contextFor(
  src: ParsedSource,
  options: HardenOptions,
  transform: Transform,
  object: ObjectRef,
  fallback: Node,
  sink: Finding[],
  file: string,
  exemptions: readonly ActiveExemption[] = [],
): TransformContext {
  return {
    level: options.level,
    settings: options.settings,
    flags: options.flags ?? {},
    hasFolder: options.hasFolder ?? false,
    sibling: (path) => options.sibling?.(path),
    file,
    report(report: Report) {
      const offset = report.at?.range?.[0] ?? fallback.range?.[0] ?? 0;
      const { line, col } = src.lines.linePos(offset);
      let ops: Op[] = [];
      let files: SideFile[] = [];
      let documents: GeneratedDoc[] = [];
      let reason: string | undefined;
      const behaviorChanging = report.behaviorChanging ?? false;
      const exempt = exemptionFor(exemptions, transform.id);
      if (exempt) {
        reason = `exempted: ${exempt.reason}`;
      } else if (report.fix) {
        const fix = new Fix({ guardMergeKeys: object.kind !== 'service' && object.kind !== 'compose-file' });
        report.fix(fix);
        ops = fix.ops;
        files = fix.files;
        documents = fix.documents;
        if (fix.refusals.length) reason = fix.refusals.join('; ');
        else if (behaviorChanging && options.level === 'baseline')
          reason = 'the baseline level never overrides or removes what the file says';
        else if (ops.length === 0 && documents.length === 0) reason = 'nothing to edit';
      } else {
        reason = 'report only: a person has to decide';
      }
      sink.push({
        transform: transform.id,
        owasp: transform.owasp,
        severity: report.severity ?? transform.severity,
        message: report.message,
        field: report.field,
        object: report.object ?? object,
        line,
        col,
        behaviorChanging,
        fixable: reason === undefined,
        reason,
        ops: reason === undefined ? ops : [],
        files: reason === undefined ? files : [],
        documents: reason === undefined ? documents : [],
        secrets: report.secrets ?? [],
        ...(exempt ? { suppressed: `${exempt.reason} (${exempt.source})` } : {}),
      });
    },
  };
}
