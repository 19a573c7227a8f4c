import type { YAMLMap } from 'yaml';
import type { Transform, TransformContext } from '../src/types.js';
import { boolAt, label, mapAt, mapItems, nodeAt, scalarAt, seqAt } from './support.js';
import { unsetForService, where } from './compose.js';
import { composeBool } from '../src/compose/values.js';

/** Sysctls the Pod Security Standards consider safe (namespaced and isolated). */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
  'net.ipv4.tcp_slow_start_after_idle',
  'net.ipv4.tcp_notsent_lowat',
]);

const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

/** Removes the settings of `sc` (a securityContext) that give host-level power. */
function checkSecurityContext(sc: YAMLMap, where: string, who: string, ctx: TransformContext): void {
  const remove = (key: string, message: string, severity: 'high' | 'critical' = 'high') =>
    ctx.report({
      at: nodeAt(sc, [key]),
      field: `${where}.${key}`,
      message,
      severity,
      behaviorChanging: true,
      fix: (f) => f.remove(sc, key),
    });
  if (boolAt(sc, ['privileged']) === true) remove('privileged', `${who} is privileged`, 'critical');
  const windows = mapAt(sc, ['windowsOptions']);
  if (windows && boolAt(windows, ['hostProcess']) === true) {
    ctx.report({
      at: nodeAt(windows, ['hostProcess']),
      field: `${where}.windowsOptions.hostProcess`,
      message: `${who} runs as a Windows host process`,
      severity: 'critical',
      behaviorChanging: true,
      fix: (f) => f.remove(windows, 'hostProcess'),
    });
  }
  const procMount = scalarAt(sc, ['procMount']);
  if (procMount != null && procMount !== 'Default') remove('procMount', `${who} unmasks /proc (procMount: ${String(procMount)})`);
  const selinux = mapAt(sc, ['seLinuxOptions']);
  if (selinux) {
    for (const key of ['user', 'role']) {
      const value = scalarAt(selinux, [key]);
      if (value != null && value !== '') {
        ctx.report({
          at: nodeAt(selinux, [key]),
          field: `${where}.seLinuxOptions.${key}`,
          message: `${who} sets a custom SELinux ${key}`,
          behaviorChanging: true,
          fix: (f) => f.remove(selinux, key),
        });
      }
    }
    const type = scalarAt(selinux, ['type']);
    if (type != null && !SELINUX_TYPES.has(String(type))) {
      ctx.report({
        at: nodeAt(selinux, ['type']),
        field: `${where}.seLinuxOptions.type`,
        message: `${who} uses the SELinux type ${String(type)}`,
        behaviorChanging: true,
        fix: (f) => f.remove(selinux, 'type'),
      });
    }
  }
}

/** OWASP rule 3: no privileged mode or other host-level escapes. */
export default {
  id: 'no-privileged',
  owasp: '3',
  title: 'No privileged mode, host processes, unmasked /proc, custom SELinux or unsafe sysctls',
  why: 'A privileged container, a host process, an unmasked /proc or a custom SELinux type switches off the isolation between container and host.',
  changes: {
    kubernetes: 'removes privileged: true, windowsOptions.hostProcess, procMount: Unmasked, unsafe sysctls and SELinux user/role/custom types',
    compose: 'removes privileged: true',
  },
  breaks: 'Workloads that manage the host (CNI and storage drivers, node agents, Docker-in-Docker) stop working.',
  severity: 'critical',
  pod(pod, ctx) {
    const psc = mapAt(pod.spec, ['securityContext']);
    if (psc) {
      checkSecurityContext(psc, `${pod.path}.securityContext`, 'the pod', ctx);
      const sysctls = seqAt(psc, ['sysctls']);
      for (const item of mapItems(sysctls)) {
        const name = scalarAt(item, ['name']);
        if (typeof name === 'string' && SAFE_SYSCTLS.has(name)) continue;
        ctx.report({
          at: item,
          field: `${pod.path}.securityContext.sysctls`,
          message: `the pod sets the unsafe sysctl ${String(name)}`,
          severity: 'high',
          behaviorChanging: true,
          fix: (f) => f.removeItem(sysctls!, item),
        });
      }
    }
    for (const c of pod.containers) {
      const sc = mapAt(c.node, ['securityContext']);
      if (sc) checkSecurityContext(sc, `${c.path}.securityContext`, label(c), ctx);
    }
  },

  service(svc, ctx) {
    if (composeBool(svc.effective.privileged) !== true) return;
    ctx.report({
      at: where(svc, 'privileged'),
      field: `${svc.path}.privileged`,
      message: `service "${svc.name}" is privileged`,
      behaviorChanging: true,
      fix: (f) => unsetForService(f, svc, 'privileged', false),
    });
  },
} satisfies Transform;
