import type { YAMLMap } from 'yaml';
import type { PodTemplate } from './support.js';
import { mapItems, scalarAt, seqAt } from './support.js';
import { isPair, isScalar } from 'yaml';

/** Volume types the restricted Pod Security Standard allows. */
export const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret', 'image',
]);

/** Paths of the container runtime's control sockets (and the folders that hold them). */
export const RUNTIME_SOCKETS = [
  '/var/run/docker.sock', '/run/docker.sock', '/var/run/containerd/containerd.sock', '/run/containerd/containerd.sock',
  '/var/run/crio/crio.sock', '/run/crio/crio.sock', '/var/run/cri-dockerd.sock', '/run/podman/podman.sock',
];

/**
 * True when a host path exposes a container runtime socket: the socket or a folder that holds
 * it (`/var/run`), not the host's whole root (`/`, which host-volumes reports as a host path).
 */
export function exposesRuntimeSocket(path: string): boolean {
  const clean = path.replace(/\/+$/, '');
  if (!clean.startsWith('/')) return false;
  return RUNTIME_SOCKETS.some((s) => s === clean || s.startsWith(clean + '/'));
}

/** Host paths through which an agent reads the node itself (its root, processes, kernel state). */
const NODE_VIEW_PATHS = new Set(['/', '/proc', '/sys']);

/** Images of agents that report on the node they run on (repository's last path segment). */
const NODE_AGENT_IMAGES = new Set(['node-exporter', 'cadvisor', 'node-problem-detector', 'netdata']);

/**
 * Why a workload is a node agent, or undefined: it mounts the node's root, /proc or /sys from
 * the host, or runs a known node agent image. Such a workload keeps its host namespaces: without
 * them it would report on its own pod and still need its host paths.
 */
export function nodeAgentReason(hostPaths: readonly string[], images: readonly (string | undefined)[]): string | undefined {
  const path = hostPaths.map((p) => p.replace(/\/+$/, '') || '/').find((p) => NODE_VIEW_PATHS.has(p));
  if (path) return `it mounts the host path ${path}`;
  for (const image of images) {
    const repo = (image ?? '').split('@')[0].replace(/:[^/:]*$/, '');
    const name = repo.slice(repo.lastIndexOf('/') + 1).toLowerCase();
    if (NODE_AGENT_IMAGES.has(name)) return `it runs ${name}, a node agent`;
  }
  return undefined;
}

/** `nodeAgentReason` of a pod template: its hostPath volumes and container images. */
export function podNodeAgentReason(pod: PodTemplate): string | undefined {
  const paths = podVolumes(pod).filter((v) => v.type === 'hostPath').map((v) => String(scalarAt(v.node, ['hostPath', 'path']) ?? ''));
  return nodeAgentReason(paths, pod.containers.map((c) => c.image));
}

/** Each pod volume with its name, type (the key that is not `name`) and index. */
export function podVolumes(pod: PodTemplate): { node: YAMLMap; name: string; type: string; index: number }[] {
  return mapItems(seqAt(pod.spec, ['volumes'])).map((node, index) => {
    const keys = node.items.filter(isPair).map((p) => (isScalar(p.key) ? String(p.key.value) : '')).filter((k) => k !== 'name');
    return { node, name: String(scalarAt(node, ['name']) ?? ''), type: keys[0] ?? 'emptyDir', index };
  });
}
