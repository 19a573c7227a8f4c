import type { Transform } from '../src/types.js';
import { nodeAt, scalarAt } from './support.js';

const LABEL = 'pod-security.kubernetes.io/enforce';
const STRENGTH: Record<string, number> = { privileged: 0, baseline: 1, restricted: 2 };

/** Namespaces enforce the Pod Security Standards at the run's level. */
export default {
  id: 'namespace-pss',
  owasp: '2–4',
  title: 'Enforce Pod Security Standards on namespaces',
  why: 'Pod Security admission enforces the restricted level for every pod of a namespace, including pods nobody ran through cuirass.',
  changes: {
    kubernetes: 'Namespace objects get pod-security.kubernetes.io/enforce: restricted (baseline at that level)',
  },
  breaks: 'Pods in the namespace that do not meet the level are rejected at admission, including ones created by charts and operators.',
  severity: 'medium',
  object(object, ctx) {
    if (object.kind !== 'Namespace' || object.apiVersion !== 'v1') return;
    const path = ['metadata', 'labels', LABEL];
    const current = scalarAt(object.node, path);
    const wanted = ctx.level;
    if (current != null && (STRENGTH[String(current)] ?? -1) >= STRENGTH[wanted]) return;
    const explicit = current != null;
    ctx.report({
      at: nodeAt(object.node, path) ?? nodeAt(object.node, ['metadata']) ?? object.node,
      field: `${object.path ? object.path + '.' : ''}metadata.labels.${LABEL}`,
      message: explicit
        ? `namespace "${object.name ?? ''}" enforces only ${String(current)}; ${wanted} is enforced`
        : `namespace "${object.name ?? ''}" does not enforce a Pod Security Standard`,
      behaviorChanging: explicit,
      fix: (f) => f.set(object.node, path, wanted),
    });
  },
} satisfies Transform;
