import type { Transform } from '../src/types.js';
import { label, mapItems, nodeAt, scalarAt, seqAt } from './support.js';

/** Volume name for an emptyDir at `path`: /tmp → tmp, /var/cache/nginx → var-cache-nginx. */
function volumeName(path: string): string {
  return path.replace(/^\/+|\/+$/g, '').replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 50) || 'tmp';
}

/** OWASP rule 8: read-only root filesystem, with an emptyDir where the app must write. */
export default {
  id: 'read-only-root',
  owasp: '8',
  title: 'Read-only root filesystem with writable scratch space',
  breaks: 'Applications that write outside the mounted emptyDir paths (caches, pid files, logs under /var) fail with "read-only file system".',
  severity: 'medium',
  pod(pod, ctx) {
    if (pod.windows) return;
    const volumes = mapItems(seqAt(pod.spec, ['volumes']));
    for (const c of pod.containers) {
      const key = ['securityContext', 'readOnlyRootFilesystem'];
      const value = scalarAt(c.node, key);
      if (value !== true) {
        ctx.report({
          at: nodeAt(c.node, key) ?? c.node,
          field: `${c.path}.securityContext.readOnlyRootFilesystem`,
          message: value === false ? `${label(c)} has a writable root filesystem (readOnlyRootFilesystem: false)` : `${label(c)} has a writable root filesystem`,
          behaviorChanging: value === false,
          fix: (f) => f.set(c.node, key, true),
        });
      }
      const mounts = mapItems(seqAt(c.node, ['volumeMounts'])).map((m) => String(scalarAt(m, ['mountPath']) ?? '').replace(/\/+$/, ''));
      for (const path of ctx.settings.tmpfs) {
        if (mounts.includes(path.replace(/\/+$/, ''))) continue;
        const base = volumeName(path);
        const existing = volumes.find((v) => scalarAt(v, ['name']) === base);
        const reusable = !existing || nodeAt(existing, ['emptyDir']) !== undefined;
        const name = reusable ? base : `cuirass-${base}`;
        ctx.report({
          at: c.node,
          field: `${c.path}.volumeMounts`,
          message: `${label(c)} gets an emptyDir at ${path} so it can still write there`,
          severity: 'low',
          fix: (f) => {
            if (!volumes.some((v) => scalarAt(v, ['name']) === name)) f.appendTo(pod.spec, ['volumes'], { name, emptyDir: {} });
            f.appendTo(c.node, ['volumeMounts'], { name, mountPath: path });
          },
        });
      }
    }
  },
} satisfies Transform;
