import type { Transform } from '../src/types.js';
import { boolAt, label, mapItems, nodeAt, scalarAt, seqAt } from './support.js';
import type { Container } from './support.js';
import { profileFor } from './profiles/index.js';
import type { MatchedProfile } from './profiles/index.js';
import type { ComposeService } from './compose.js';
import { appendForService, listOf, setForService, volumesOf, where } from './compose.js';
import { composeBool } from '../src/compose/values.js';
import { isMap, isScalar } from 'yaml';

/** Volume name for an emptyDir at `path`: /tmp → tmp, /var/cache/nginx → var-cache-nginx. */
function volumeName(path: string): string {
  return path.replace(/^\/+|\/+$/g, '').replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 50) || 'tmp';
}

const CONFIG_EXTENSIONS = /\.(conf|cfg|cnf|ini|ya?ml|json|toml|xml|properties|pem|crt|cert|key|htpasswd|lua|tmpl|tpl|sql|env|rules)$/i;

/** Files an app writes although their extension looks like configuration: ACME storage, state, databases. */
const WRITTEN_FILES = /(^|[-_.])(acme|state|status|store|storage|data|db|cache|session|sessions|history|lock|token|tokens|cookies|leases?|registry|progress)([-_.]|$)/i;

/** A bind source that names a single configuration file (by its extension), not one the app writes. */
function isConfigFile(source: string): boolean {
  const base = source.split(/[\\/]/).pop() ?? '';
  return CONFIG_EXTENSIONS.test(base) && !base.includes('$') && !WRITTEN_FILES.test(base.replace(CONFIG_EXTENSIONS, ''));
}

/**
 * An image profile that lists where the image writes (so an explicit writable root can still be
 * made read-only with those paths writable); not one that says the root must stay writable.
 */
function knowsWritablePaths(profile: MatchedProfile | undefined): profile is MatchedProfile {
  return profile !== undefined && !profile.profile.writableRoot && profile.writable.length > 0;
}

/** Where the container's image keeps its data: the profile's folders, PGDATA when the env sets it. */
function dataDirsOf(c: Container, profile: MatchedProfile | undefined): string[] {
  const dirs = profile?.profile.dataDirs ?? [];
  const pgdata = mapItems(seqAt(c.node, ['env'])).find((e) => scalarAt(e, ['name']) === 'PGDATA');
  const value = pgdata ? scalarAt(pgdata, ['value']) : undefined;
  return typeof value === 'string' && value.startsWith('/') && profile?.profile.fileEnv.some((e) => e.startsWith('POSTGRES')) ? [value] : dirs;
}

/**
 * Compose: the profile's data folders that the image declares no VOLUME for (`dataVolume: false`)
 * and that no volume, tmpfs or Dockerfile VOLUME of the service covers. Under a read-only root the
 * image could not write its data there; a tmpfs would lose it at every restart.
 */
function unmountedData(svc: ComposeService, profile: MatchedProfile | undefined): string[] {
  if (!profile || profile.profile.dataVolume !== false) return [];
  const mounted = new Set([
    ...listOf(svc.effective.tmpfs).map((t) => String(t).split(':')[0].replace(/\/+$/, '')),
    ...volumesOf(svc).map((v) => v.target.replace(/\/+$/, '')),
    ...(svc.built?.volumes ?? []),
  ]);
  return (profile.profile.dataDirs ?? []).filter((d) => ![...mounted].some((m) => d === m || d.startsWith(`${m}/`)));
}

/** OWASP rule 8: read-only root filesystem, with an emptyDir where the app must write. */
export default {
  id: 'read-only-root',
  owasp: '8',
  title: 'Read-only root filesystem with writable scratch space',
  why: 'A read-only root filesystem stops an attacker from changing binaries or dropping tools, and makes writes explicit.',
  changes: {
    kubernetes: 'readOnlyRootFilesystem: true and an emptyDir at /tmp and at the image profile\'s writable paths, unless something is mounted there; an explicit readOnlyRootFilesystem: false stays (reported) unless the image profile knows where the image writes',
    compose: 'read_only: true with tmpfs for /tmp and the image profile\'s writable paths; an explicit read_only: false stays (reported) unless the image profile knows where the image writes; single-file config bind mounts (by extension, not ACME storage, state, databases, sockets or logs) become read-only',
  },
  breaks: 'Applications that write outside the mounted emptyDir paths (caches, pid files, logs under /var) fail with "read-only file system". A root filesystem the file explicitly leaves writable stays writable unless the image profile lists every path the image writes.',
  severity: 'medium',
  pod(pod, ctx) {
    if (pod.windows) return;
    const volumes = mapItems(seqAt(pod.spec, ['volumes']));
    for (const c of pod.containers) {
      const key = ['securityContext', 'readOnlyRootFilesystem'];
      const value = boolAt(c.node, key);
      const needsWritableRoot = profileFor(c.image)?.profile.writableRoot;
      if (value !== true && needsWritableRoot) {
        ctx.report({
          at: nodeAt(c.node, key) ?? c.node,
          field: `${c.path}.securityContext.readOnlyRootFilesystem`,
          message: `${label(c)} keeps a writable root filesystem: ${needsWritableRoot}`,
          severity: 'low',
        });
        continue;
      }
      const profile = profileFor(c.image);
      if (value === false && !knowsWritablePaths(profile)) {
        // The authors chose a writable root; without a profile nobody knows where the app writes.
        ctx.report({
          at: nodeAt(c.node, key),
          field: `${c.path}.securityContext.readOnlyRootFilesystem`,
          message: `${label(c)} keeps readOnlyRootFilesystem: false as the file says: where it writes is unknown (make it read-only with an emptyDir at each path it writes)`,
          severity: 'low',
        });
        continue;
      }
      if (value !== true) {
        ctx.report({
          at: nodeAt(c.node, key) ?? c.node,
          field: `${c.path}.securityContext.readOnlyRootFilesystem`,
          message: value === false ? `${label(c)} has a writable root filesystem (readOnlyRootFilesystem: false); ${profile!.profile.id} writes only to known paths` : `${label(c)} has a writable root filesystem`,
          behaviorChanging: value === false,
          fix: (f) => f.set(c.node, key, true),
        });
      }
      const mounts = mapItems(seqAt(c.node, ['volumeMounts'])).map((m) => String(scalarAt(m, ['mountPath']) ?? '').replace(/\/+$/, ''));
      const writable = [...new Set([...ctx.settings.tmpfs, ...(profile?.writable ?? []), ...dataDirsOf(c, profile)])];
      for (const path of writable) {
        const clean = path.replace(/\/+$/, '');
        // A mount at the path or at a folder above it (a volume at /var/lib/postgresql) covers it.
        if (mounts.some((m) => m !== '' && (m === clean || clean.startsWith(m + '/')))) continue;
        const data = !ctx.settings.tmpfs.includes(path) && !(profile?.writable ?? []).includes(path);
        const base = volumeName(path);
        const existing = volumes.find((v) => scalarAt(v, ['name']) === base);
        const reusable = !existing || nodeAt(existing, ['emptyDir']) !== undefined;
        const name = reusable ? base : `cuirass-${base}`;
        ctx.report({
          at: c.node,
          field: `${c.path}.volumeMounts`,
          message: data
            ? `${label(c)} gets an emptyDir at ${path}, where ${profile!.profile.id} keeps its data (nothing is mounted there: the data was already lost with the container; mount a volume to keep it)`
            : `${label(c)} gets an emptyDir at ${path} so it can still write there`,
          severity: 'low',
          fix: (f) => {
            if (!volumes.some((v) => scalarAt(v, ['name']) === name)) f.appendTo(pod.spec, ['volumes'], { name, emptyDir: {} });
            f.appendTo(c.node, ['volumeMounts'], { name, mountPath: path });
          },
        });
      }
    }
  },

  service(svc, ctx) {
    const readOnly = svc.effective.read_only;
    const profile = svc.profile;
    let writableRoot = false;
    if (typeof readOnly === 'string' && /\$\{?[A-Za-z_]/.test(readOnly)) {
      // `read_only: ${RO:-true}`: the value is decided where the file is deployed; it stays.
      ctx.report({
        at: where(svc, 'read_only'),
        field: `${svc.path}.read_only`,
        message: `service "${svc.name}" sets read_only through interpolation (${readOnly}); make sure it is true where it is deployed`,
        severity: 'low',
      });
    } else if (composeBool(readOnly) === false && !knowsWritablePaths(profile)) {
      ctx.report({
        at: where(svc, 'read_only'),
        field: `${svc.path}.read_only`,
        message: `service "${svc.name}" keeps read_only: ${String(readOnly)} as the file says: where it writes is unknown (make it read-only with a tmpfs or volume at each path it writes)`,
        severity: 'low',
      });
      writableRoot = true;
    } else if (composeBool(readOnly) !== true && svc.unresolvedImage && !svc.built?.from) {
      // Evidence before change: where an image that cannot be named writes is unknown.
      ctx.report({
        at: where(svc, 'image'),
        field: `${svc.path}.read_only`,
        message: `service "${svc.name}" keeps a writable root filesystem: its image ${svc.image} names variables that neither .env beside the file nor a default resolves, so its profile (where it writes) cannot be determined; define them in .env, or set read_only: true with a tmpfs at each path it writes`,
        severity: 'low',
      });
      writableRoot = true;
    } else if (composeBool(readOnly) !== true && unmountedData(svc, profile).length > 0) {
      // Evidence before change: the image writes its data into its own layer (no VOLUME there).
      const dirs = unmountedData(svc, profile);
      ctx.report({
        at: where(svc, 'read_only'),
        field: `${svc.path}.read_only`,
        message: `service "${svc.name}" keeps a writable root filesystem: ${profile!.profile.id} keeps its data in ${dirs.join(', ')}, which its image declares no volume for and nothing mounts; mount a volume there, then set read_only: true`,
        severity: 'low',
      });
      writableRoot = true;
    } else if (composeBool(readOnly) !== true) {
      if (profile?.profile.writableRoot) {
        ctx.report({
          at: where(svc, 'read_only'),
          field: `${svc.path}.read_only`,
          message: `service "${svc.name}" keeps a writable root filesystem: ${profile.profile.writableRoot}`,
          severity: 'low',
        });
        return;
      }
      ctx.report({
        at: where(svc, 'read_only'),
        field: `${svc.path}.read_only`,
        message: composeBool(readOnly) === false ? `service "${svc.name}" has a writable root filesystem (read_only: ${String(readOnly)}); ${profile!.profile.id} writes only to known paths` : `service "${svc.name}" has a writable root filesystem`,
        behaviorChanging: composeBool(readOnly) === false,
        fix: (f) => setForService(f, svc, ['read_only'], true),
      });
    }
    const volumes = volumesOf(svc);
    const mounted = new Set([
      ...listOf(svc.effective.tmpfs).map((t) => String(t).split(':')[0].replace(/\/+$/, '')),
      ...volumes.map((v) => v.target.replace(/\/+$/, '')),
      // A VOLUME of the service's Dockerfile gets an anonymous volume: writable under a read-only root.
      ...(svc.built?.volumes ?? []),
    ]);
    const paths = [...new Set([...ctx.settings.tmpfs, ...(profile?.writable ?? [])])];
    for (const entry of writableRoot ? [] : paths) {
      const path = entry.split(':')[0];
      if (mounted.has(path.replace(/\/+$/, ''))) continue;
      ctx.report({
        at: where(svc, 'tmpfs'),
        field: `${svc.path}.tmpfs`,
        message: `service "${svc.name}" gets a tmpfs at ${path} so it can still write there${profile && path !== '/tmp' ? ` (${profile.profile.id})` : ''}`,
        severity: 'low',
        fix: (f) => appendForService(f, svc, 'tmpfs', entry),
      });
    }
    for (const v of volumes) {
      if (v.type !== 'bind' || v.readOnly || !isConfigFile(v.source)) continue;
      const node = v.node;
      ctx.report({
        at: node ?? where(svc, 'volumes'),
        field: `${svc.path}.volumes`,
        message: `service "${svc.name}" mounts the config file ${v.source} writable; it becomes read-only`,
        severity: 'low',
        behaviorChanging: v.mode.split(',').includes('rw'),
        fix: (f) => {
          if (!node) return void f.refuse('the volume comes from a shared anchor or extends');
          if (isScalar(node)) {
            if (!v.mode) return void f.replace(node, `${v.raw}:ro`);
            if (v.raw.includes('${')) return void f.refuse('the mount mixes interpolation and a mode; add :ro by hand');
            const modes = v.mode.split(',').filter((m) => m !== 'rw');
            f.replace(node, `${v.source}:${v.target}:${['ro', ...modes].join(',')}`);
          } else if (isMap(node)) f.set(node, ['read_only'], true);
        },
      });
    }
  },
} satisfies Transform;
