/**
 * The `daemon.json` checks of the transforms whose OWASP rule also lives in the Docker daemon's
 * configuration (rules 1, 2, 4, 5, 7). Each is a transform's `daemon` hook; the transform's id
 * is what `--skip` and exemptions name.
 */
import type { DaemonConfig } from '../src/daemon/model.js';
import type { TransformContext } from '../src/types.js';
import { nodeAt } from './support.js';

const DOCS = 'https://docs.docker.com/engine/security/protect-access/';

/** Rule 1: a `tcp://` listener without `tlsverify` and its certificates is an unauthenticated root API. */
export function daemonSocket(config: DaemonConfig, ctx: TransformContext): void {
  const hosts = Array.isArray(config.value.hosts) ? config.value.hosts.map(String) : [];
  const tcp = hosts.filter((h) => /^tcp:\/\//i.test(h.trim()));
  if (tcp.length === 0) return;
  const v = config.value;
  const verified = v.tlsverify === true && ['tlscacert', 'tlscert', 'tlskey'].every((k) => typeof v[k] === 'string' && v[k] !== '');
  if (verified) return;
  for (const h of tcp) {
    const host = h.trim().slice('tcp://'.length).replace(/:\d*$/, '');
    const scope =
      host === '' || host === '0.0.0.0' || host === '[::]' || host === '::'
        ? 'on every interface: anyone who reaches this host on the network is root on it'
        : /^(127\.|localhost$|\[::1\]$)/.test(host)
          ? 'on loopback: every local user and every container with host networking is root on the host'
          : `on ${host}: everyone who reaches that address is root on the host`;
    ctx.report({
      at: nodeAt(config.node, ['hosts']),
      field: 'hosts',
      message: `the daemon listens on ${h.trim()} without TLS client verification (${v.tlsverify === true ? 'tlscacert, tlscert and tlskey must all be set' : 'no "tlsverify": true'}), ${scope}; cuirass never removes a listener (that would cut remote access): set "tlsverify": true with "tlscacert", "tlscert", "tlskey" (${DOCS}), or use ssh:// contexts`,
      severity: 'critical',
    });
  }
}

/** Rule 2: without `userns-remap`, root in a container is root on the host. Fixed only on request. */
export function daemonUserns(config: DaemonConfig, ctx: TransformContext): void {
  const value = config.value['userns-remap'];
  if (typeof value === 'string' && value.trim() !== '') return;
  const optIn = ctx.flags.fixUsernsRemap === true;
  ctx.report({
    at: nodeAt(config.node, ['userns-remap']) ?? config.node,
    field: 'userns-remap',
    message:
      'the daemon does not remap user namespaces: uid 0 in a container is uid 0 on the host; "userns-remap": "default" maps it to the unprivileged dockremap range, ' +
      'but then files in bind mounts and existing volumes show shifted owners (chown them to the subordinate range), images and containers made before are not visible, ' +
      'and --privileged, --pid=host and --network=host need --userns=host' + (optIn ? '' : ' (cuirass sets it with --fix-userns-remap)'),
    severity: 'medium',
    ...(optIn ? { fix: (f) => f.ensure(config.node, ['userns-remap'], 'default') } : {}),
  });
}

/** Rule 4: `"no-new-privileges": true` for every container the daemon starts. */
export function daemonNoNewPrivileges(config: DaemonConfig, ctx: TransformContext): void {
  const value = config.value['no-new-privileges'];
  if (value === true) return;
  const explicit = value !== undefined;
  ctx.report({
    at: nodeAt(config.node, ['no-new-privileges']) ?? config.node,
    field: 'no-new-privileges',
    message: explicit
      ? `the daemon lets containers gain privileges ("no-new-privileges": ${JSON.stringify(value)}); true is used`
      : 'the daemon does not set no-new-privileges for its containers; "no-new-privileges": true is added (setuid binaries such as sudo stop gaining root)',
    behaviorChanging: explicit,
    fix: (f) => f.set(config.node, ['no-new-privileges'], true),
  });
}

/** Rule 5: `"icc": false`: containers on the default bridge cannot talk unless linked. */
export function daemonIcc(config: DaemonConfig, ctx: TransformContext): void {
  const value = config.value.icc;
  if (value === false) return;
  const explicit = value !== undefined;
  ctx.report({
    at: nodeAt(config.node, ['icc']) ?? config.node,
    field: 'icc',
    message:
      (explicit ? `the daemon allows inter-container traffic on the default bridge ("icc": ${JSON.stringify(value)}); false is used` : 'the daemon allows inter-container traffic on the default bridge; "icc": false is added') +
      ': containers started with plain `docker run` on the default bridge can only talk through published ports or --link; user-defined networks (every Compose project uses one) are unaffected',
    behaviorChanging: explicit,
    fix: (f) => f.set(config.node, ['icc'], false),
  });
}

/** Suggested `default-ulimits` (generous for servers, bounded for fork bombs and fd leaks). */
export const SUGGESTED_ULIMITS = {
  nofile: { Name: 'nofile', Hard: 65536, Soft: 65536 },
  nproc: { Name: 'nproc', Hard: 4096, Soft: 4096 },
};

/** Rule 7: `default-ulimits` (nofile, nproc) and `live-restore`, reported with suggested values. */
export function daemonLimits(config: DaemonConfig, ctx: TransformContext): void {
  const ulimits = config.value['default-ulimits'];
  const set = ulimits && typeof ulimits === 'object' ? Object.keys(ulimits) : [];
  const missing = (['nofile', 'nproc'] as const).filter((k) => !set.includes(k));
  if (missing.length) {
    const suggestion = JSON.stringify(Object.fromEntries(missing.map((k) => [k, SUGGESTED_ULIMITS[k]])));
    ctx.report({
      at: nodeAt(config.node, ['default-ulimits']) ?? config.node,
      field: 'default-ulimits',
      message: `the daemon sets no default ${missing.join(' and ')} ulimit for containers (a fork bomb or descriptor leak reaches the host's limits); suggested in "default-ulimits": ${suggestion} (a container can still set its own)`,
      severity: 'low',
    });
  }
  if (config.value['live-restore'] !== true) {
    ctx.report({
      at: nodeAt(config.node, ['live-restore']) ?? config.node,
      field: 'live-restore',
      message: 'the daemon stops every container when it stops or upgrades; "live-restore": true keeps them running (not with Swarm mode)',
      severity: 'low',
    });
  }
}
