import type { Transform } from '../src/types.js';
import { boolAt, label, mapAt, mapItems, nodeAt, scalarAt, seqAt } from './support.js';
import { unsetForService, volumesOf, where } from './compose.js';
import { nodeAgentReason, podNodeAgentReason } from './volumes.js';

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'];
const HANDLERS = ['postStart', 'preStop'];

/** OWASP rules 3 and 5: keep the pod out of the host's network, PID and IPC namespaces. */
export default {
  id: 'no-host-namespaces',
  owasp: '3, 5',
  title: 'No host network, PID or IPC namespace, host ports or probes against other hosts',
  why: 'Sharing the host\'s network, PID or IPC namespace lets a container see and reach what runs on the node.',
  changes: {
    kubernetes: 'removes hostNetwork, hostPID, hostIPC, hostPort and probe/lifecycle host fields; a node agent (hostPath /, /proc or /sys, or a node-exporter-like image) keeps its host namespaces and ports, reported',
    compose: 'removes pid: host and ipc: host, except for a node agent (bind mount of /, /proc or /sys, or a node-exporter-like image), which keeps them, reported; reports network_mode: host',
  },
  breaks: 'Workloads that listen on the node address, inspect host processes or share host IPC must be redesigned (use a Service instead of hostPort). Node agents are left whole rather than half-hardened: their host namespaces stay and are reported.',
  severity: 'high',
  pod(pod, ctx) {
    // A node agent keeps what it cannot work without; removing one piece would half-harden it.
    const agent = podNodeAgentReason(pod);
    for (const key of ['hostNetwork', 'hostPID', 'hostIPC']) {
      if (boolAt(pod.spec, [key]) !== true) continue;
      const namespace = key.slice(4) === 'Network' ? 'network' : key.slice(4);
      ctx.report({
        at: nodeAt(pod.spec, [key]),
        field: `${pod.path}.${key}`,
        message: agent
          ? `the pod shares the host's ${namespace} namespace; kept: the pod is a node agent (${agent})`
          : `the pod shares the host's ${namespace} namespace`,
        behaviorChanging: !agent,
        fix: agent ? undefined : (f) => f.remove(pod.spec, key),
      });
    }
    for (const c of pod.containers) {
      mapItems(seqAt(c.node, ['ports'])).forEach((port, i) => {
        const hostPort = scalarAt(port, ['hostPort']);
        if (hostPort == null || Number(hostPort) === 0) return;
        ctx.report({
          at: nodeAt(port, ['hostPort']),
          field: `${c.path}.ports[${i}].hostPort`,
          message: agent ? `${label(c)} binds host port ${String(hostPort)}; kept: the pod is a node agent (${agent})` : `${label(c)} binds host port ${String(hostPort)}`,
          behaviorChanging: !agent,
          fix: agent ? undefined : (f) => f.remove(port, 'hostPort'),
        });
      });
      const handlers = [
        ...PROBES.map((p) => ({ name: p, node: mapAt(c.node, [p]) })),
        ...HANDLERS.map((h) => ({ name: `lifecycle.${h}`, node: mapAt(c.node, ['lifecycle', h]) })),
      ];
      for (const { name, node } of handlers) {
        for (const action of ['httpGet', 'tcpSocket']) {
          const target = node && mapAt(node, [action]);
          const host = target && scalarAt(target, ['host']);
          if (!target || host == null || host === '') continue;
          ctx.report({
            at: nodeAt(target, ['host']),
            field: `${c.path}.${name}.${action}.host`,
            message: `${label(c)} ${name} targets another host (${String(host)})`,
            severity: 'medium',
            behaviorChanging: true,
            fix: (f) => f.remove(target, 'host'),
          });
        }
      }
    }
  },

  service(svc, ctx) {
    const agent = nodeAgentReason(volumesOf(svc).filter((v) => v.type === 'bind').map((v) => v.source), [svc.image]);
    for (const [key, safe] of [['pid', null], ['ipc', 'private'], ['uts', null]] as const) {
      if (svc.effective[key] !== 'host') continue;
      ctx.report({
        at: where(svc, key),
        field: `${svc.path}.${key}`,
        message: agent
          ? `service "${svc.name}" shares the host's ${key.toUpperCase()} namespace; kept: the service is a node agent (${agent})`
          : `service "${svc.name}" shares the host's ${key.toUpperCase()} namespace`,
        behaviorChanging: !agent,
        fix: agent ? undefined : (f) => unsetForService(f, svc, key, safe),
      });
    }
    for (const key of ['network_mode', 'userns_mode']) {
      if (svc.effective[key] !== 'host') continue;
      ctx.report({
        at: where(svc, key),
        field: `${svc.path}.${key}`,
        message: `service "${svc.name}" uses the host's ${key === 'network_mode' ? 'network stack' : 'user namespace'} (${key}: host); ${agent ? `the service is a node agent (${agent})` : 'give it published ports instead'}`,
      });
    }
  },
} satisfies Transform;
