import type { Obj } from './read.js';
import { isObj, objs, str } from './read.js';

/**
 * Label keys whose values change on every upgrade of the same app (chart and app versions) or
 * that a controller adds per revision: a generated selector that kept them would stop matching
 * the pods after the next `helm upgrade`.
 */
const UNSTABLE = new Set([
  'chart',
  'version',
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'statefulset.kubernetes.io/pod-name',
]);

/** True for a label key that is no stable way to select an app's pods (see UNSTABLE). */
export function unstableLabel(key: string): boolean {
  const base = key.slice(key.lastIndexOf('/') + 1);
  return UNSTABLE.has(key) || base === 'version' || base === 'chart';
}

/**
 * The labels a generated selector may use: all but the unstable ones. When only unstable ones
 * remain, the labels as they are (an empty selector would select every pod of the namespace).
 */
export function stableLabels(labels: Record<string, string>): Record<string, string> {
  const kept = Object.fromEntries(Object.entries(labels).filter(([k]) => !unstableLabel(k)));
  return Object.keys(kept).length > 0 ? kept : labels;
}

/**
 * True when a label selector (`matchLabels` and `matchExpressions`) selects `labels`. An empty
 * selector selects everything; a malformed one selects nothing.
 */
export function selects(selector: unknown, labels: Record<string, string>): boolean {
  if (selector === undefined || selector === null) return true;
  if (!isObj(selector)) return false;
  const match = selector.matchLabels;
  if (isObj(match)) for (const k in match) if (typeof match[k] === 'string' && labels[k] !== match[k]) return false;
  for (const e of objs(selector.matchExpressions)) {
    const key = str(e.key);
    if (key === undefined) return false;
    const values = Array.isArray(e.values) ? e.values.map(String) : [];
    const has = Object.hasOwn(labels, key);
    switch (e.operator) {
      case 'In': if (!has || !values.includes(labels[key])) return false; break;
      case 'NotIn': if (has && values.includes(labels[key])) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/** `{matchLabels}` of a policy peer or target, copied (never shared between documents). */
export function matchLabels(labels: Record<string, string>): Obj {
  return { matchLabels: { ...labels } };
}

/** A namespaceSelector for one namespace by its automatic name label. */
export function namespaceNamed(namespace: string): Obj {
  return { matchLabels: { 'kubernetes.io/metadata.name': namespace } };
}
