import type { Transform } from '../src/types.js';
import { daemonNoNewPrivileges } from './daemon.js';
import { boolAt, label, nodeAt, scalarItems, seqAt } from './support.js';
import { appendForService, listOf, setForService, where } from './compose.js';
import { isScalar, isSeq } from 'yaml';
import type { Node } from 'yaml';
import { pairOf } from '../src/engine/index.js';

/** OWASP rule 4: processes cannot gain privileges (setuid binaries, file capabilities). */
export default {
  id: 'no-new-privileges',
  owasp: '4',
  title: 'Forbid privilege escalation',
  why: 'setuid binaries and file capabilities let a process gain privileges after it starts; no-new-privileges stops that.',
  changes: {
    kubernetes: 'allowPrivilegeEscalation: false on every container',
    compose: 'security_opt: [no-new-privileges:true]',
    daemon: '"no-new-privileges": true',
  },
  breaks: 'setuid/setgid binaries (sudo, su, ping on old images) no longer gain privileges.',
  severity: 'medium',
  pod(pod, ctx) {
    if (pod.windows) return;
    for (const c of pod.containers) {
      const key = ['securityContext', 'allowPrivilegeEscalation'];
      const value = boolAt(c.node, key);
      if (value === false) continue;
      const field = `${c.path}.securityContext.allowPrivilegeEscalation`;
      const message = value === true ? `${label(c)} allows privilege escalation` : `${label(c)} does not forbid privilege escalation`;
      // The API rejects allowPrivilegeEscalation: false next to privileged or CAP_SYS_ADMIN;
      // it is set in the same pass when no-privileged / drop-capabilities remove those.
      const sc = `${c.path}.securityContext`;
      const privileged = boolAt(c.node, ['securityContext', 'privileged']) === true && !ctx.fixes(`${sc}.privileged`);
      const sysAdmin =
        scalarItems(seqAt(c.node, ['securityContext', 'capabilities', 'add'])).some((i) => i.value === 'SYS_ADMIN' || i.value === 'CAP_SYS_ADMIN') &&
        !ctx.fixes(`${sc}.capabilities.add`);
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

  service(svc, ctx) {
    const opts = listOf(svc.effective.security_opt).map(String);
    const nnp = /^no-new-privileges(?:[:=](true|false))?$/;
    if (opts.some((o) => nnp.exec(o) && !/false$/.test(o))) return;
    const disabled = opts.findIndex((o) => /^no-new-privileges[:=]false$/.test(o));
    if (disabled >= 0) {
      const literal = pairOf(svc.node, 'security_opt')?.value;
      const item = isSeq(literal) ? (literal.items.find((i) => isScalar(i) && String(i.value) === opts[disabled]) as Node | undefined) : undefined;
      ctx.report({
        at: item ?? where(svc, 'security_opt'),
        field: `${svc.path}.security_opt`,
        message: `service "${svc.name}" allows privilege escalation (${opts[disabled]})`,
        behaviorChanging: true,
        fix: (f) =>
          item ? f.replace(item, 'no-new-privileges:true') : setForService(f, svc, ['security_opt'], opts.map((o, i) => (i === disabled ? 'no-new-privileges:true' : o))),
      });
      return;
    }
    ctx.report({
      at: where(svc, 'security_opt'),
      field: `${svc.path}.security_opt`,
      message: `service "${svc.name}" does not set no-new-privileges`,
      fix: (f) => appendForService(f, svc, 'security_opt', 'no-new-privileges:true'),
    });
  },

  daemon: daemonNoNewPrivileges,
} satisfies Transform;
