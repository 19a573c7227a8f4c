import type { Transform } from '../src/types.js';
import { label, nodeAt, scalarAt, scalarItems, seqAt } from './support.js';

/** OWASP rule 4: processes cannot gain privileges (setuid binaries, file capabilities). */
export default {
  id: 'no-new-privileges',
  owasp: '4',
  title: 'Forbid privilege escalation',
  breaks: 'setuid/setgid binaries (sudo, su, ping on old images) no longer gain privileges.',
  severity: 'medium',
  pod(pod, ctx) {
    if (pod.windows) return;
    for (const c of pod.containers) {
      const key = ['securityContext', 'allowPrivilegeEscalation'];
      const value = scalarAt(c.node, key);
      if (value === false) continue;
      const field = `${c.path}.securityContext.allowPrivilegeEscalation`;
      const message = value === true ? `${label(c)} allows privilege escalation` : `${label(c)} does not forbid privilege escalation`;
      // The API rejects allowPrivilegeEscalation: false next to privileged or CAP_SYS_ADMIN;
      // no-privileged and drop-capabilities remove those first, then a later pass adds it.
      const privileged = scalarAt(c.node, ['securityContext', 'privileged']) === true;
      const sysAdmin = scalarItems(seqAt(c.node, ['securityContext', 'capabilities', 'add'])).some(
        (i) => i.value === 'SYS_ADMIN' || i.value === 'CAP_SYS_ADMIN',
      );
      if (privileged || sysAdmin) {
        ctx.report({ at: nodeAt(c.node, key) ?? c.node, field, message: `${message}; it cannot be forbidden while the container is ${privileged ? 'privileged' : 'given SYS_ADMIN'}` });
        continue;
      }
      ctx.report({
        at: nodeAt(c.node, key) ?? c.node,
        field,
        message,
        behaviorChanging: value === true,
        fix: (f) => f.set(c.node, key, false),
      });
    }
  },
} satisfies Transform;
