import { isScalar } from 'yaml';
import type { YAMLMap } from 'yaml';
import type { Transform, TransformContext } from '../src/types.js';
import { label, mapAt, nodeAt, scalarAt } from './support.js';
import { listOf, setForService, where } from './compose.js';
import { isSeq } from 'yaml';
import { pairOf } from '../src/engine/index.js';

const APPARMOR_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

/** Replaces an `Unconfined` profile type below `sc` by RuntimeDefault. */
function confine(sc: YAMLMap | undefined, key: string, where: string, who: string, ctx: TransformContext): void {
  if (!sc) return;
  const type = scalarAt(sc, [key, 'type']);
  if (type !== 'Unconfined') return;
  ctx.report({
    at: nodeAt(sc, [key, 'type']),
    field: `${where}.${key}.type`,
    message: `${who} runs with ${key === 'seccompProfile' ? 'seccomp' : 'AppArmor'} disabled (Unconfined)`,
    severity: 'high',
    behaviorChanging: true,
    fix: (f) => f.set(sc, [key, 'type'], 'RuntimeDefault'),
  });
}

/** OWASP rule 6: keep the runtime's default seccomp and AppArmor profiles. */
export default {
  id: 'seccomp',
  owasp: '6',
  title: 'Use the runtime default seccomp and AppArmor profiles',
  why: 'The runtime\'s default seccomp and AppArmor profiles block syscalls that containers do not need and that kernel exploits use.',
  changes: {
    kubernetes: 'pod seccompProfile: {type: RuntimeDefault}; Unconfined seccomp and unconfined AppArmor (field or annotation) replaced by RuntimeDefault',
    compose: 'removes seccomp:unconfined and apparmor:unconfined from security_opt',
  },
  breaks: 'Programs that use syscalls outside the default profile (some debuggers, ptrace, unshare, old JVMs) fail with EPERM.',
  severity: 'medium',
  pod(pod, ctx) {
    if (pod.windows) return;
    const psc = mapAt(pod.spec, ['securityContext']);
    const type = scalarAt(pod.spec, ['securityContext', 'seccompProfile', 'type']);
    if (type == null || type === '') {
      ctx.report({
        at: nodeAt(pod.spec, ['securityContext', 'seccompProfile']) ?? psc ?? pod.spec,
        field: `${pod.path}.securityContext.seccompProfile`,
        message: 'the pod sets no seccomp profile',
        fix: (f) => f.set(pod.spec, ['securityContext', 'seccompProfile', 'type'], 'RuntimeDefault'),
      });
    }
    confine(psc, 'seccompProfile', `${pod.path}.securityContext`, 'the pod', ctx);
    confine(psc, 'appArmorProfile', `${pod.path}.securityContext`, 'the pod', ctx);
    for (const c of pod.containers) {
      const sc = mapAt(c.node, ['securityContext']);
      confine(sc, 'seccompProfile', `${c.path}.securityContext`, label(c), ctx);
      confine(sc, 'appArmorProfile', `${c.path}.securityContext`, label(c), ctx);
    }
    const annotations = mapAt(pod.metaParent, ['metadata', 'annotations']);
    for (const pair of annotations?.items ?? []) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const value = isScalar(pair.value) ? pair.value.value : undefined;
      if (!key.startsWith(APPARMOR_PREFIX) || typeof value !== 'string') continue;
      if (value === '' || value === 'runtime/default' || value.startsWith('localhost/')) continue;
      ctx.report({
        at: pair.value as YAMLMap,
        field: `${pod.metaPath ? pod.metaPath + '.' : ''}metadata.annotations.${key}`,
        message: `container "${key.slice(APPARMOR_PREFIX.length)}" runs with AppArmor profile ${value}`,
        severity: 'high',
        behaviorChanging: true,
        fix: (f) => f.set(annotations!, [key], 'runtime/default'),
      });
    }
  },

  service(svc, ctx) {
    const opts = listOf(svc.effective.security_opt).map(String);
    const weak = (o: string) => /^(seccomp|apparmor)[:=]unconfined$/i.test(o) || /^label[:=]disable$/i.test(o);
    if (!opts.some(weak)) return;
    const literal = pairOf(svc.node, 'security_opt')?.value;
    for (const o of opts.filter(weak)) {
      const item = isSeq(literal) ? literal.items.find((i) => isScalar(i) && String(i.value) === o) : undefined;
      ctx.report({
        at: (item as YAMLMap | undefined) ?? where(svc, 'security_opt'),
        field: `${svc.path}.security_opt`,
        message: `service "${svc.name}" disables a kernel security profile (${o})`,
        severity: 'high',
        behaviorChanging: true,
        fix: (f) => (item && isSeq(literal) ? f.removeItem(literal, item as YAMLMap) : setForService(f, svc, ['security_opt'], opts.filter((x) => !weak(x)))),
      });
    }
  },
} satisfies Transform;
