import { isMap, isScalar } from 'yaml';
import type { Node, YAMLMap } from 'yaml';
import type { ConfigExemption } from './config.js';
import type { ComposeService } from './compose/model.js';
import type { K8sObject, PodTemplate } from './kubernetes/model.js';
import { nodeAt } from './engine/index.js';

/** Annotation listing the transforms an object skips (`all` or ids, comma separated). */
export const SKIP_ANNOTATION = 'cuirass.dev/skip';
/** Annotation holding the required reason. */
export const REASON_ANNOTATION = 'cuirass.dev/skip-reason';

/** An exemption in force for one object, remembering whether it suppressed anything. */
export interface ActiveExemption {
  skip: Set<string>;
  reason: string;
  /** Where it is written: `cuirass.config.yaml:14:5`, or `annotation`/`x-cuirass` with a position. */
  source: string;
  /** Node to point at when it exempts nothing. */
  at?: Node;
  used: boolean;
  /** The config entry it comes from; its use is judged over the whole run. */
  origin?: ConfigExemption;
}

/** An exemption written without a reason: ignored, and reported. */
export interface InvalidExemption {
  at?: Node;
  message: string;
}

function covers(display: string, file: string): boolean {
  const norm = file.replace(/^\.\//, '');
  return display === norm || display.endsWith('/' + norm);
}

function fromConfig(config: readonly ConfigExemption[], test: (m: ConfigExemption['match']) => boolean): ActiveExemption[] {
  return config.filter((e) => test(e.match)).map((e) => ({ skip: new Set(e.skip), reason: e.reason, source: e.source, used: false, origin: e }));
}

function annotationExemption(meta: unknown, invalid: InvalidExemption[]): ActiveExemption | undefined {
  const annotations = nodeAt(meta, ['annotations']);
  if (!isMap(annotations)) return undefined;
  const skipNode = nodeAt(annotations, [SKIP_ANNOTATION]);
  if (!isScalar(skipNode) || skipNode.value == null) return undefined;
  const reason = nodeAt(annotations, [REASON_ANNOTATION]);
  const text = isScalar(reason) ? String(reason.value ?? '').trim() : '';
  if (!text) {
    invalid.push({ at: skipNode, message: `${SKIP_ANNOTATION} is ignored: ${REASON_ANNOTATION} must say why` });
    return undefined;
  }
  const ids = String(skipNode.value).split(',').map((s) => s.trim()).filter(Boolean);
  return { skip: new Set(ids), reason: text, source: `annotation ${SKIP_ANNOTATION}`, at: skipNode, used: false };
}

/** Exemptions of a Kubernetes object: config entries that match it, and its own annotations. */
export function kubernetesExemptions(object: K8sObject, pod: PodTemplate | undefined, config: readonly ConfigExemption[], display: string): { active: ActiveExemption[]; invalid: InvalidExemption[] } {
  const invalid: InvalidExemption[] = [];
  const active = fromConfig(config, (m) =>
    (m.kind === undefined || m.kind === object.kind) &&
    (m.namespace === undefined || m.namespace === (object.namespace ?? '')) &&
    (m.name === undefined || m.name === object.name) &&
    (m.file === undefined || covers(display, m.file)) &&
    m.service === undefined,
  );
  const own = annotationExemption(nodeAt(object.node, ['metadata']), invalid);
  if (own) active.push(own);
  if (pod && pod.metaParent !== object.node) {
    const template = annotationExemption(nodeAt(pod.metaParent, ['metadata']) as YAMLMap | undefined, invalid);
    if (template) active.push(template);
  }
  return { active, invalid };
}

/** Exemptions of a Compose service: config entries that match it, and its `x-cuirass`. */
export function composeExemptions(svc: ComposeService, config: readonly ConfigExemption[], display: string): { active: ActiveExemption[]; invalid: InvalidExemption[] } {
  const invalid: InvalidExemption[] = [];
  const active = fromConfig(config, (m) =>
    (m.service === undefined || m.service === svc.name) &&
    (m.file === undefined || covers(display, m.file)) &&
    m.kind === undefined && m.namespace === undefined && m.name === undefined && (m.service !== undefined || m.file !== undefined),
  );
  const x = svc.effective['x-cuirass'];
  if (x !== undefined) {
    const at = nodeAt(svc.node, ['x-cuirass']) ?? svc.node;
    const { skip, reason } = (typeof x === 'object' && x ? x : {}) as { skip?: unknown; reason?: unknown };
    const ids = Array.isArray(skip) ? skip.map(String) : typeof skip === 'string' ? skip.split(',').map((s) => s.trim()) : [];
    if (typeof reason !== 'string' || !reason.trim()) invalid.push({ at, message: 'x-cuirass is ignored: it needs a reason' });
    else active.push({ skip: new Set(ids), reason, source: 'x-cuirass', at, used: false });
  }
  return { active, invalid };
}

/** The exemption that covers `transform`, marking it used. */
export function exemptionFor(active: readonly ActiveExemption[], transform: string): ActiveExemption | undefined {
  const hit = active.find((e) => e.skip.has(transform) || e.skip.has('all'));
  if (hit) {
    hit.used = true;
    if (hit.origin) hit.origin.used = true;
  }
  return hit;
}

/**
 * Exemptions of a whole file that holds no objects or services (a `daemon.json`, a Dockerfile):
 * config entries that match it by `file` alone.
 */
export function fileExemptions(config: readonly ConfigExemption[], display: string): ActiveExemption[] {
  return fromConfig(config, (m) =>
    m.file !== undefined && covers(display, m.file) && m.kind === undefined && m.namespace === undefined && m.name === undefined && m.service === undefined,
  );
}
