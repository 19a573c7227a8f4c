import type { Transform } from '../src/types.js';
import { nodeAt, scalarAt } from './support.js';
import { exposesRuntimeSocket, podVolumes } from './volumes.js';
import { volumesOf, where } from './compose.js';

/** OWASP rule 1: the container runtime socket is root on the node. */
export default {
  id: 'no-docker-socket',
  owasp: '1',
  title: 'Do not expose the container runtime socket',
  breaks: 'Nothing: report only. Tools that drive Docker (CI runners, log shippers, Traefik) need a socket proxy or another API.',
  severity: 'critical',
  pod(pod, ctx) {
    for (const v of podVolumes(pod)) {
      if (v.type !== 'hostPath') continue;
      const path = String(scalarAt(v.node, ['hostPath', 'path']) ?? '');
      if (!exposesRuntimeSocket(path)) continue;
      ctx.report({
        at: nodeAt(v.node, ['hostPath', 'path']),
        field: `${pod.path}.volumes[${v.index}].hostPath.path`,
        message: `volume "${v.name}" exposes the container runtime socket (${path}): root on the node`,
      });
    }
  },

  service(svc, ctx) {
    for (const v of volumesOf(svc)) {
      if (v.type !== 'bind' || !exposesRuntimeSocket(v.source)) continue;
      ctx.report({
        at: v.node ?? where(svc, 'volumes'),
        field: `${svc.path}.volumes`,
        message: `service "${svc.name}" mounts the container runtime socket (${v.source}): root on the host${v.readOnly ? ' (read-only does not help: the API still accepts every call)' : ''}`,
      });
    }
  },
} satisfies Transform;
