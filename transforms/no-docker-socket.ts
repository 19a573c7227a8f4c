import { isMap, isSeq } from 'yaml';
import { daemonSocket } from './daemon.js';
import type { YAMLMap } from 'yaml';
import type { Transform } from '../src/types.js';
import { pairOf } from '../src/engine/index.js';
import { mapItems, nodeAt, scalarAt, seqAt } from './support.js';
import { RUNTIME_SOCKETS, exposesRuntimeSocket, podVolumes } from './volumes.js';
import { effectiveAt, setEnvForService, volumesOf, where } from './compose.js';
import type { ComposeService } from './compose.js';

/** Name of the service `--fix-docker-socket` adds. */
export const SOCKET_PROXY = 'docker-socket-proxy';

/**
 * The socket proxy: only it mounts the socket, and it answers read-only calls about containers,
 * networks, services, tasks and events; every write (POST) is refused.
 */
function socketProxy(svc: ComposeService): Record<string, unknown> {
  const networks = effectiveAt(svc, ['networks']);
  const names = Array.isArray(networks) ? networks.map(String) : networks && typeof networks === 'object' ? Object.keys(networks) : [];
  return {
    image: 'tecnativa/docker-socket-proxy:v0.3.0',
    environment: { CONTAINERS: 1, NETWORKS: 1, SERVICES: 1, TASKS: 1, EVENTS: 1, POST: 0 },
    volumes: ['/var/run/docker.sock:/var/run/docker.sock:ro'],
    ...(names.length ? { networks: names } : {}),
    'x-cuirass': {
      skip: ['no-docker-socket', 'run-as-non-root', 'read-only-root'],
      reason: 'the socket proxy is the one service that talks to the Docker API; HAProxy needs root for the socket',
    },
  };
}

/** OWASP rule 1: the container runtime socket is root on the node. */
export default {
  id: 'no-docker-socket',
  owasp: '1',
  title: 'Do not expose the container runtime socket',
  why: 'Whoever reaches the container runtime socket controls every container on the host and the host itself: it is root on the node.',
  changes: {
    kubernetes: 'reports a hostPath volume to the docker, containerd, CRI-O or podman socket (critical); with --fix-docker-socket the volume and its mounts are removed',
    compose: 'reports /var/run/docker.sock mounts (critical); with --fix-docker-socket the service talks to a read-only socket proxy service instead',
    daemon:
      'reports a tcp:// listener in hosts without TLS client verification (critical), never removes it. The TLS setup: "tls": true, "tlsverify": true, ' +
      '"tlscacert": "/etc/docker/ca.pem", "tlscert": "/etc/docker/server-cert.pem", "tlskey": "/etc/docker/server-key.pem", listen on tcp://0.0.0.0:2376, ' +
      'and give each client its own certificate signed by that CA (docker --tlsverify); or drop the listener and use ssh:// contexts',
  },
  breaks: 'Tools that drive Docker (CI runners, log shippers, Traefik) lose the API. With --fix-docker-socket, Compose services reach a read-only socket proxy at tcp://docker-socket-proxy:2375 instead, and Kubernetes pods lose the socket volume and its mounts.',
  severity: 'critical',
  pod(pod, ctx) {
    for (const v of podVolumes(pod)) {
      if (v.type !== 'hostPath') continue;
      const path = String(scalarAt(v.node, ['hostPath', 'path']) ?? '');
      if (!exposesRuntimeSocket(path)) continue;
      const message = `volume "${v.name}" exposes the container runtime socket (${path}): root on the node`;
      if (!ctx.flags.fixDockerSocket) {
        ctx.report({ at: nodeAt(v.node, ['hostPath', 'path']), field: `${pod.path}.volumes[${v.index}].hostPath.path`, message });
        continue;
      }
      // Opt-in removal: the volume and every mount of it go.
      const volumes = seqAt(pod.spec, ['volumes']);
      ctx.report({
        at: nodeAt(v.node, ['hostPath', 'path']),
        field: `${pod.path}.volumes[${v.index}].hostPath.path`,
        message: `${message}; the volume and its mounts are removed`,
        behaviorChanging: true,
        fix: (f) => {
          if (!volumes) return void f.refuse('the volumes list cannot be edited in place');
          f.removeItem(volumes, v.node);
          for (const c of pod.containers) {
            const mounts = seqAt(c.node, ['volumeMounts']);
            for (const m of mapItems(mounts)) if (scalarAt(m, ['name']) === v.name) f.removeItem(mounts!, m);
          }
        },
      });
    }
  },
  service(svc, ctx) {
    for (const v of volumesOf(svc)) {
      // An interpolated source (`${DOCKER_SOCK}:/var/run/docker.sock`) is judged by its target.
      const interpolated = /^\$/.test(v.source) && RUNTIME_SOCKETS.includes(v.target.replace(/\/+$/, ''));
      if (v.type !== 'bind' || !(exposesRuntimeSocket(v.source) || interpolated)) continue;
      const shown = interpolated ? `${v.source} at ${v.target}` : v.source;
      const message = `service "${svc.name}" mounts the container runtime socket (${shown}): root on the host${v.readOnly ? ' (read-only does not help: the API still accepts every call)' : ''}`;
      if (!ctx.flags.fixDockerSocket) {
        ctx.report({ at: v.node ?? where(svc, 'volumes'), field: `${svc.path}.volumes`, message });
        continue;
      }
      const volumes = pairOf(svc.node, 'volumes')?.value;
      const services = svc.root.get('services', true) as unknown as YAMLMap;
      ctx.report({
        at: v.node ?? where(svc, 'volumes'),
        field: `${svc.path}.volumes`,
        message: `${message}; it talks to the read-only ${SOCKET_PROXY} service instead`,
        behaviorChanging: true,
        fix: (f) => {
          if (!v.node || !isSeq(volumes)) return void f.refuse('the socket mount comes from a shared anchor or extends');
          f.removeItem(volumes, v.node);
          setEnvForService(f, svc, 'DOCKER_HOST', `tcp://${SOCKET_PROXY}:2375`);
          if (isMap(services) && !pairOf(services, SOCKET_PROXY)) f.ensure(services, [SOCKET_PROXY], socketProxy(svc));
        },
      });
    }
  },

  daemon: daemonSocket,
} satisfies Transform;
