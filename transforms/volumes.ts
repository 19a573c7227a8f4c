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

/** True when a host path exposes a container runtime socket. */
export function exposesRuntimeSocket(path: string): boolean {
  const clean = path.replace(/\/+$/, '') || '/';
  return RUNTIME_SOCKETS.some((s) => s === clean || s.startsWith(clean === '/' ? '/' : clean + '/'));
}

/** Each pod volume with its name, type (the key that is not `name`) and index. */
export function podVolumes(pod: PodTemplate): { node: YAMLMap; name: string; type: string; index: number }[] {
  return mapItems(seqAt(pod.spec, ['volumes'])).map((node, index) => {
    const keys = node.items.filter(isPair).map((p) => (isScalar(p.key) ? String(p.key.value) : '')).filter((k) => k !== 'name');
    return { node, name: String(scalarAt(node, ['name']) ?? ''), type: keys[0] ?? 'emptyDir', index };
  });
}
