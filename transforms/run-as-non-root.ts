import type { Transform, TransformContext } from '../src/types.js';
import type { Settings } from '../src/settings.js';
import type { ComposeService } from '../src/compose/model.js';
import { dockerfileUser } from './dockerfile.js';
import { daemonUserns } from './daemon.js';
import { boolAt, label, nodeAt, reasonOf, scalarAt } from './support.js';
import type { PodTemplate } from './support.js';
import { profileFor } from './profiles/index.js';
import { ownNode, rootStartOf, setForService, volumesOf, where } from './compose.js';

const UNPRIVILEGED_PORTS = 'net.ipv4.ip_unprivileged_port_start';

/** Names of the pod's sysctls. */
function scalarItemsOf(spec: unknown): { name: string }[] {
  const v = (nodeAt(spec, ['securityContext', 'sysctls']) as { toJSON?: () => unknown } | undefined)?.toJSON?.();
  return Array.isArray(v) ? v.filter((x) => x && typeof x === 'object').map((x) => ({ name: String((x as { name?: unknown }).name) })) : [];
}

/**
 * A built service that runs as non-root and EXPOSEs a port below 1024: fine on its own network
 * namespace (Docker 20.10+ sets net.ipv4.ip_unprivileged_port_start=0 there), not on the host's.
 */
function lowPortsOnHost(svc: ComposeService, ctx: TransformContext, nonRoot: boolean): void {
  const low = (svc.built?.expose ?? []).filter((p) => p < 1024);
  if (!nonRoot || low.length === 0 || svc.effective.network_mode !== 'host') return;
  ctx.report({
    at: where(svc, 'network_mode'),
    field: `${svc.path}.network_mode`,
    message: `service "${svc.name}" exposes port ${low.join(', ')} (its Dockerfile) on the host network: as a non-root user it can bind below 1024 only with CAP_NET_BIND_SERVICE or the host's net.ipv4.ip_unprivileged_port_start lowered`,
    severity: 'medium',
  });
}

/**
 * The numeric non-root `uid:gid` an image's config declares (`--inspect-images`); a named user
 * cannot be checked by the kubelet against runAsNonRoot, so it gives nothing.
 */
function declaredUid(image: string | undefined, images: Settings['images']): string | undefined {
  const user = image && images && Object.hasOwn(images, image) ? images[image].user : '';
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!m || Number(m[1]) === 0) return undefined;
  return `${m[1]}:${m[2] ?? m[1]}`;
}

/**
 * The uid the pod already states: its own runAsUser, else the one every app container sets
 * alike; undefined when it states none (or containers disagree).
 */
function explicitUid(pod: PodTemplate): number | undefined {
  const own = scalarAt(pod.spec, ['securityContext', 'runAsUser']);
  if (own != null) return Number.isInteger(Number(own)) ? Number(own) : undefined;
  const apps = pod.containers.filter((c) => c.group === 'containers').map((c) => scalarAt(c.node, ['securityContext', 'runAsUser']));
  if (apps.length === 0 || apps.some((v) => v == null) || new Set(apps.map(Number)).size !== 1) return undefined;
  return Number.isInteger(Number(apps[0])) ? Number(apps[0]) : undefined;
}

/**
 * What replaces an explicit root user: at the baseline level nothing (it never overrides the
 * file), so the message does not claim a uid it will not set.
 */
function instead(level: string, user: string | number): string {
  return level === 'baseline' ? 'the baseline level keeps it' : `${user} is used`;
}

/**
 * A service that keeps the Docker socket (no --fix-docker-socket) talks to a root-owned socket:
 * another uid only loses that access, and the socket already gives it root on the host (reported
 * critical by no-docker-socket). It keeps its user rather than being half-hardened.
 */
function socketHolder(svc: ComposeService, ctx: TransformContext): string | undefined {
  if (ctx.flags.fixDockerSocket) return undefined;
  const socket = volumesOf(svc).find((v) => /^\/(var\/)?run\/docker\.sock$/.test(v.target.replace(/\/+$/, '')));
  return socket ? `it mounts the Docker socket at ${socket.target} (root-owned; another uid loses it, and the socket is root on the host anyway)` : undefined;
}

/** OWASP rule 2: do not run containers as root. */
export default {
  id: 'run-as-non-root',
  owasp: '2',
  title: 'Run as a non-root user',
  why: 'A process that runs as root in the container is root on the host once it escapes, and can change every file of the image.',
  changes: {
    kubernetes: 'pod runAsNonRoot: true and runAsUser/runAsGroup/fsGroup from the image profile (or 10001) unless set; runAsUser: 0 (unless a comment on its line says why: kept and reported) and runAsNonRoot: false replaced; images that bind low ports get the safe sysctl net.ipv4.ip_unprivileged_port_start=0',
    compose: 'user: "10001:10001" (or the image profile\'s uid) unless set; user: root replaced unless a comment on its line says why (then kept and reported); images that must start as root, and services that keep the Docker socket, keep it and are reported',
    daemon: 'reports a missing userns-remap; with --fix-userns-remap sets "userns-remap": "default"',
    dockerfile: 'reports a final stage without USER or with USER root, with the cheat sheet\'s fix (create a user, USER it by number)',
  },
  breaks: 'Images that must start as root (to bind low ports, chown volumes or switch users in the entrypoint) fail to start unless a profile, their command (gosu, su-exec, /init), NET_ADMIN or a comment on an explicit root user says so, in which case they keep root and are reported; files in volumes may need the new uid/gid (groups follow a uid the workload already sets).',
  severity: 'high',
  pod(pod, ctx) {
    // The pod-wide ids follow the image profile when every app container agrees on one.
    const users = new Set(pod.containers.filter((c) => c.group === 'containers').map((c) => profileFor(c.image)?.user ?? declaredUid(c.image, ctx.settings.images)));
    const [profiled] = users.size === 1 ? [...users] : [undefined];
    const [uid, gid] = profiled ? profiled.split(':').map(Number) : [ctx.settings.uid, ctx.settings.gid];
    const sc = ['securityContext'];
    const nonRoot = nodeAt(pod.spec, [...sc, 'runAsNonRoot']);
    const nonRootValue = boolAt(pod.spec, [...sc, 'runAsNonRoot']);
    // An explicit runAsUser: 0 stays under baseline, and at any level when a comment on its line
    // says why; runAsNonRoot next to it would stop the pod.
    const rootUsers = [pod.spec, ...pod.containers.map((c) => c.node)].filter((n) => {
      const v = scalarAt(n, [...sc, 'runAsUser']);
      return v != null && Number(v) === 0;
    });
    const kept = (n: unknown) => ctx.level === 'baseline' || reasonOf(nodeAt(n, [...sc, 'runAsUser'])) !== undefined;
    // An image whose entrypoint must start as root (s6-overlay, mail servers, VPN clients) keeps it.
    const rootStart = pod.containers.map((c) => (nodeAt(c.node, [...sc, 'runAsUser']) === undefined ? profileFor(c.image)?.profile : undefined)).find((p) => p?.startsAsRoot);
    if (rootStart && nonRootValue !== true) {
      ctx.report({
        at: nonRoot ?? pod.spec,
        field: `${pod.path}.securityContext.runAsNonRoot`,
        message: `the pod keeps its root user: ${rootStart.startsAsRoot} (${rootStart.id}); it cannot meet the restricted level`,
      });
      return;
    }
    const rootPinned = rootUsers.some(kept);
    if (nonRootValue !== true && rootPinned) {
      ctx.report({
        at: nonRoot ?? pod.spec,
        field: `${pod.path}.securityContext.runAsNonRoot`,
        message: `the pod does not require a non-root user; it cannot while runAsUser is 0 (${ctx.level === 'baseline' ? 'the baseline level keeps it' : 'kept: the file says why'})`,
      });
    } else if (nonRootValue !== true) {
      const explicit = nonRootValue === false;
      ctx.report({
        at: nonRoot ?? pod.spec,
        field: `${pod.path}.securityContext.runAsNonRoot`,
        message: explicit ? 'the pod allows running as root (runAsNonRoot: false)' : 'the pod does not require a non-root user',
        behaviorChanging: explicit,
        fix: (f) => f.set(pod.spec, [...sc, 'runAsNonRoot'], true),
      });
    }
    for (const c of pod.containers) {
      if (boolAt(c.node, [...sc, 'runAsNonRoot']) === false) {
        ctx.report({
          at: nodeAt(c.node, [...sc, 'runAsNonRoot']),
          field: `${c.path}.securityContext.runAsNonRoot`,
          message: `${label(c)} allows running as root (runAsNonRoot: false)`,
          behaviorChanging: true,
          fix: (f) => f.set(c.node, [...sc, 'runAsNonRoot'], true),
        });
      }
    }
    if (pod.windows) return;
    // Groups follow the uid the workload already runs as (101 gets 101, not 10001 beside it);
    // a root user the level keeps gets no group that would change nothing but volume owners.
    const setUid = explicitUid(pod);
    const keptRoot = setUid === 0 && rootPinned;
    const groupId = setUid === undefined || setUid === 0 || setUid === uid ? gid : setUid;
    const ids: [string, number][] = [['runAsUser', uid], ...(keptRoot ? [] : [['runAsGroup', groupId], ['fsGroup', groupId]] as [string, number][])];
    for (const [key, id] of ids) {
      const node = nodeAt(pod.spec, [...sc, key]);
      const value = scalarAt(pod.spec, [...sc, key]);
      const everyContainerSets = key !== 'fsGroup' && pod.containers.length > 0 &&
        pod.containers.every((c) => nodeAt(c.node, [...sc, key]) !== undefined);
      if (value === undefined || value === null) {
        if (everyContainerSets) continue;
        ctx.report({
          at: pod.spec,
          field: `${pod.path}.securityContext.${key}`,
          message: `the pod sets no ${key}; ${id} is used`,
          severity: key === 'runAsUser' ? 'high' : 'low',
          fix: (f) => f.ensure(pod.spec, [...sc, key], id),
        });
      } else if (key === 'runAsUser' && Number(value) === 0 && reasonOf(node) !== undefined) {
        ctx.report({
          at: node,
          field: `${pod.path}.securityContext.runAsUser`,
          message: `the pod runs as root (runAsUser: 0); kept: the file says why (${reasonOf(node)})`,
          severity: 'medium',
        });
      } else if (key === 'runAsUser' && Number(value) === 0) {
        ctx.report({
          at: node,
          field: `${pod.path}.securityContext.runAsUser`,
          message: `the pod runs as root (runAsUser: 0); ${instead(ctx.level, uid)}`,
          behaviorChanging: true,
          fix: (f) => f.set(pod.spec, [...sc, key], uid),
        });
      }
    }
    for (const c of pod.containers) {
      const profile = profileFor(c.image);
      if (!profile || nodeAt(c.node, [...sc, 'runAsUser']) !== undefined || profile.user === profiled || profile.user === undefined) continue;
      if (profile.user === null) {
        // Images that start as root to bind ports below 1024 (nginx, httpd, traefik) can bind them
        // as any user once the pod allows it: the sysctl is namespaced and allowed by restricted.
        const sysctls = scalarItemsOf(pod.spec);
        if (sysctls.some((s) => s.name === UNPRIVILEGED_PORTS)) continue;
        ctx.report({
          at: nodeAt(c.node, ['image']),
          field: `${pod.path}.securityContext.sysctls`,
          message: `${label(c)} runs ${profile.profile.id} as a non-root user; the pod lets it bind ports below 1024 (${UNPRIVILEGED_PORTS}=0)`,
          severity: 'low',
          fix: (f) => f.appendTo(pod.spec, ['securityContext', 'sysctls'], { name: UNPRIVILEGED_PORTS, value: '0' }),
        });
        continue;
      }
      const [user, group] = profile.user.split(':').map(Number);
      ctx.report({
        at: c.node,
        field: `${c.path}.securityContext.runAsUser`,
        message: `${label(c)} runs as ${profile.user}, the user ${profile.profile.id} expects`,
        severity: 'low',
        fix: (f) => {
          f.ensure(c.node, [...sc, 'runAsUser'], user);
          if (Number.isFinite(group)) f.ensure(c.node, [...sc, 'runAsGroup'], group);
        },
      });
    }
    for (const c of pod.containers) {
      const node = nodeAt(c.node, [...sc, 'runAsUser']);
      if (node !== undefined && Number(scalarAt(c.node, [...sc, 'runAsUser'])) === 0 && scalarAt(c.node, [...sc, 'runAsUser']) !== null) {
        const why = reasonOf(node);
        if (why !== undefined) {
          ctx.report({
            at: node,
            field: `${c.path}.securityContext.runAsUser`,
            message: `${label(c)} runs as root (runAsUser: 0); kept: the file says why (${why})`,
            severity: 'medium',
          });
          continue;
        }
        ctx.report({
          at: node,
          field: `${c.path}.securityContext.runAsUser`,
          message: `${label(c)} runs as root (runAsUser: 0); ${instead(ctx.level, uid)}`,
          behaviorChanging: true,
          fix: (f) => f.set(c.node, [...sc, 'runAsUser'], uid),
        });
      }
    }
  },

  service(svc, ctx) {
    const user = svc.effective.user;
    const profile = svc.profile;
    // A non-root USER in the service's Dockerfile is what the image runs as: no override needed.
    const built = svc.built?.user && !svc.built.user.root ? svc.built.user : undefined;
    const wanted = built ? built.value : profile?.user ?? `${ctx.settings.uid}:${ctx.settings.gid}`;
    const rootStart = built ? undefined : rootStartOf(svc) ?? socketHolder(svc, ctx);
    const keepsRoot = (!built && profile !== undefined && profile.user === null) || rootStart !== undefined;
    const isRoot = typeof user === 'string' || typeof user === 'number' ? /^(root|0)(:|$)/.test(String(user)) : false;
    const origin = svc.built?.from && svc.built.source !== 'engine' ? ` (built FROM ${svc.built.from})` : '';
    lowPortsOnHost(svc, ctx, !keepsRoot);
    if (user == null || user === '') {
      if (built) return;
      if (keepsRoot) {
        ctx.report({
          at: where(svc, 'image'),
          field: `${svc.path}.user`,
          message: rootStart
            ? `service "${svc.name}"${origin} keeps its root user: ${rootStart}`
            : `service "${svc.name}"${origin} keeps the root user that ${profile!.profile.id} needs: ${profile!.profile.note}`,
          severity: 'medium',
        });
        return;
      }
      ctx.report({
        at: svc.node,
        field: `${svc.path}.user`,
        message: profile
          ? `service "${svc.name}"${origin} runs as root; ${profile.profile.id} runs as ${wanted}`
          : `service "${svc.name}"${origin} runs as root; ${wanted} is used (unknown image: if its entrypoint needs root, exempt it with x-cuirass)`,
        fix: (f) => setForService(f, svc, ['user'], wanted),
      });
    } else if (isRoot && rootStart !== undefined) {
      ctx.report({
        at: where(svc, 'user'),
        field: `${svc.path}.user`,
        message: `service "${svc.name}" runs as root (user: ${String(user)}); kept: ${rootStart}`,
        severity: 'medium',
      });
    } else if (isRoot && !keepsRoot && reasonOf(ownNode(svc, 'user')) !== undefined) {
      ctx.report({
        at: where(svc, 'user'),
        field: `${svc.path}.user`,
        message: `service "${svc.name}" runs as root (user: ${String(user)}); kept: the file says why (${reasonOf(ownNode(svc, 'user'))})`,
        severity: 'medium',
      });
    } else if (isRoot && !keepsRoot) {
      ctx.report({
        at: where(svc, 'user'),
        field: `${svc.path}.user`,
        message: `service "${svc.name}" runs as root (user: ${String(user)}); ${instead(ctx.level, wanted)}${built && ctx.level !== 'baseline' ? ` (the USER of ${svc.built!.dockerfile})` : ''}`,
        behaviorChanging: true,
        fix: (f) => setForService(f, svc, ['user'], wanted),
      });
    }
  },

  daemon: daemonUserns,

  dockerfile: dockerfileUser,
} satisfies Transform;
