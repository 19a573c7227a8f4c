import type { Node } from 'yaml';
import type { Transform, TransformContext } from '../src/types.js';
import type { K8sObject } from '../src/kubernetes/model.js';
import { podTemplateOf } from '../src/kubernetes/model.js';
import { nodeAt, scalarAt } from './support.js';
import { PSS_STRENGTH, levelAfterHardening } from './pss-level.js';
import type { PssLevel } from './pss-level.js';

const PREFIX = 'pod-security.kubernetes.io/';

/** The weakest pod of a namespace: the level it meets after hardening, and which pod that is. */
interface NamespaceFloor {
  level: PssLevel;
  pod: string;
  why: string;
}

/** Namespace name ('' for objects without one, which `kubectl apply -n` may put anywhere) → floor. */
type Floors = Map<string, NamespaceFloor>;

function weaker(a: NamespaceFloor | undefined, b: NamespaceFloor | undefined): NamespaceFloor | undefined {
  if (!a || !b) return a ?? b;
  return PSS_STRENGTH[b.level] < PSS_STRENGTH[a.level] ? b : a;
}


/** Sets `enforce` to the level the namespace's pods meet, never lower than the file says. */
function enforce(object: K8sObject, ctx: TransformContext, level: PssLevel, floor: NamespaceFloor | undefined, field: (mode: string) => string, at: (mode: string) => unknown): void {
  const name = object.name ?? '';
  const path = ['metadata', 'labels', `${PREFIX}enforce`];
  const current = scalarAt(object.node, path);
  const strength = current == null ? -1 : (PSS_STRENGTH[String(current) as PssLevel] ?? -1);
  const because = floor?.why && level === floor.level ? ` (${floor.pod} keeps ${floor.why})` : '';
  if (current != null && floor && strength > PSS_STRENGTH[floor.level]) {
    ctx.report({
      at: nodeAt(object.node, path),
      field: field('enforce'),
      message: `namespace "${name}" enforces ${String(current)}, which ${floor.pod} does not meet after hardening: it keeps ${floor.why}, and admission will reject its pods`,
    });
    return;
  }
  if (strength >= PSS_STRENGTH[level]) return;
  if (level === 'privileged') {
    ctx.report({
      at: at('enforce') as Node,
      field: field('enforce'),
      message: `namespace "${name}" enforces no Pod Security Standard; none is set: ${floor!.pod} keeps ${floor!.why}, which baseline rejects`,
    });
    return;
  }
  ctx.report({
    at: at('enforce') as Node,
    field: field('enforce'),
    message: current != null
      ? `namespace "${name}" enforces only ${String(current)}; ${level} is enforced${because}`
      : `namespace "${name}" does not enforce a Pod Security Standard; ${level} is enforced${because}`,
    behaviorChanging: current != null,
    fix: (f) => f.set(object.node, path, level),
  });
}

/**
 * Namespaces enforce the Pod Security Standard level their pods meet once hardened (as far as
 * the same file or stream shows them), and warn and audit at restricted.
 */
export default {
  id: 'namespace-pss',
  owasp: '2–4',
  title: 'Enforce Pod Security Standards on namespaces',
  why: 'Pod Security admission enforces the restricted level for every pod of a namespace, including pods nobody ran through cuirass.',
  changes: {
    kubernetes: 'Namespace objects get pod-security.kubernetes.io/enforce at the level every pod of that namespace in the same file or stream meets after hardening (restricted, at most the run\'s level), and warn/audit: restricted',
  },
  breaks: 'Pods in the namespace that do not meet the enforced level are rejected at admission, including ones created by charts and operators or kept in other files. A namespace whose pods keep host paths or host namespaces (node agents) enforces a lower level, or none, and is reported; an enforce level the file already states is never lowered.',
  severity: 'medium',
  survey: {
    when: /kind["']?\s*:\s*["']?Namespace\b/,
    read(objects, ctx): Floors {
      const floors: Floors = new Map();
      for (const object of objects) {
        const pod = podTemplateOf(object);
        if (!pod) continue;
        const { level, why } = levelAfterHardening(pod, ctx);
        const ns = object.namespace ?? '';
        const floor = weaker(floors.get(ns), { level, pod: `${object.kind} ${object.name ?? ''}`, why: why ?? '' });
        if (floor) floors.set(ns, floor);
      }
      return floors;
    },
    merge(first, then): Floors {
      const floors: Floors = new Map(first as Floors);
      for (const [ns, floor] of then as Floors) floors.set(ns, weaker(floors.get(ns), floor)!);
      return floors;
    },
  },
  object(object, ctx) {
    if (object.kind !== 'Namespace' || object.apiVersion !== 'v1') return;
    const name = object.name ?? '';
    const floors = (ctx.survey as Floors | undefined) ?? new Map<string, NamespaceFloor>();
    const floor = weaker(floors.get(name), floors.get(''));
    const level: PssLevel = floor && PSS_STRENGTH[floor.level] < PSS_STRENGTH[ctx.level] ? floor.level : ctx.level;
    const field = (mode: string) => `${object.path ? object.path + '.' : ''}metadata.labels.${PREFIX}${mode}`;
    const at = (mode: string) => nodeAt(object.node, ['metadata', 'labels', PREFIX + mode]) ?? nodeAt(object.node, ['metadata']) ?? object.node;
    enforce(object, ctx, level, floor, field, at);
    // warn and audit never reject a pod: they show the owners what restricted would refuse.
    for (const mode of ['warn', 'audit']) {
      const current = scalarAt(object.node, ['metadata', 'labels', PREFIX + mode]);
      if (current != null) continue;
      ctx.report({
        at: at(mode),
        field: field(mode),
        message: `namespace "${name}" gets ${mode}: restricted (admission ${mode === 'warn' ? 'warns about' : 'audits'} pods that restricted would refuse, and rejects none)`,
        severity: 'low',
        fix: (f) => f.set(object.node, ['metadata', 'labels', PREFIX + mode], 'restricted'),
      });
    }
  },
} satisfies Transform;
