import { isScalar } from 'yaml';
import type { YAMLMap } from 'yaml';
import type { Transform, TransformContext } from '../src/types.js';
import { label, mapAt, nodeAt, scalarAt } from './support.js';

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
} satisfies Transform;
