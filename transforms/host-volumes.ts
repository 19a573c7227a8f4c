import type { Transform } from '../src/types.js';
import { nodeAt, scalarAt } from './support.js';
import { RESTRICTED_VOLUME_TYPES, exposesRuntimeSocket, podVolumes } from './volumes.js';
import { volumesOf, where } from './compose.js';

/** Host folders whose bind mount gives a container power over the host. */
const SENSITIVE_HOST_PATHS = ['/', '/etc', '/proc', '/sys', '/dev', '/boot', '/root', '/home', '/var/run', '/run', '/var/lib/docker', '/var/lib/kubelet', '/lib/modules', '/usr', '/bin', '/sbin', '/lib'];

/** OWASP rule 8: host paths and volume types the restricted profile forbids need a person. */
export default {
  id: 'host-volumes',
  owasp: '8',
  title: 'Report host paths and forbidden volume types',
  why: 'Host paths give a container the node\'s files (/, /etc, /proc, the kubelet\'s data); the restricted level forbids them.',
  changes: {
    kubernetes: 'reports hostPath volumes and the volume types the restricted level forbids (report only: replacing them needs a decision)',
    compose: 'reports sensitive host bind mounts (/, /etc, /proc, /var/lib/docker, …)',
  },
  breaks: 'Nothing: report only. Replacing a host path needs a decision (PVC, ConfigMap, CSI driver).',
  severity: 'high',
  pod(pod, ctx) {
    for (const v of podVolumes(pod)) {
      if (v.type === 'hostPath') {
        const path = String(scalarAt(v.node, ['hostPath', 'path']) ?? '');
        if (exposesRuntimeSocket(path)) continue; // no-docker-socket reports it
        ctx.report({
          at: nodeAt(v.node, ['hostPath']),
          field: `${pod.path}.volumes[${v.index}].hostPath`,
          message: `volume "${v.name}" mounts the host path ${path}`,
        });
      } else if (!RESTRICTED_VOLUME_TYPES.has(v.type) && ctx.level === 'restricted') {
        ctx.report({
          at: nodeAt(v.node, [v.type]),
          field: `${pod.path}.volumes[${v.index}].${v.type}`,
          message: `volume "${v.name}" has type ${v.type}, which the restricted level forbids`,
          severity: 'medium',
        });
      }
    }
  },

  service(svc, ctx) {
    for (const v of volumesOf(svc)) {
      if (v.type !== 'bind' || exposesRuntimeSocket(v.source)) continue;
      const source = v.source.replace(/\/+$/, '') || '/';
      const hit = SENSITIVE_HOST_PATHS.find((p) => source === p || (p !== '/' && source.startsWith(p + '/')));
      if (!hit) continue;
      ctx.report({
        at: v.node ?? where(svc, 'volumes'),
        field: `${svc.path}.volumes`,
        message: `service "${svc.name}" mounts the sensitive host path ${v.source}${v.readOnly ? ' (read-only)' : ''}`,
        severity: v.readOnly ? 'medium' : 'high',
      });
    }
  },
} satisfies Transform;
