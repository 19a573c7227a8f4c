import { isAlias, isMap, isSeq } from 'yaml';
import type { Node } from 'yaml';
import type { Fix } from '../src/engine/index.js';
import { daemonIcc } from './daemon.js';
import type { Transform, TransformContext } from '../src/types.js';
import { MAX_ALIAS_COUNT, pairOf } from '../src/engine/index.js';
import type { ComposeService } from './compose.js';
import { listOf, setForService, where } from './compose.js';
import { composeExemptions } from '../src/exemptions.js';
import { kubernetesNetworkPolicies, networkView } from './network-policies.js';
import { programOf, serviceLinks, unknownConfig } from './compose-links.js';
import type { Links } from './compose-links.js';
import { repositoryOf } from './profiles/index.js';
import { SOCKET_PROXY } from './no-docker-socket.js';

/** Networks a stack may need once segmented, `default` included (Docker's address pools hold ~31 per host). */
export const MAX_NETWORKS = 8;
/** The internal network of a backend and the services that reach it. */
const netOf = (provider: string) => `${provider}-net`;
const SOCKET_PROXY_IMAGE = 'tecnativa/docker-socket-proxy';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Network names a service is on (empty: the default network, as Compose does). */
function networksOf(s: ComposeService): string[] {
  const nets = s.effective.networks;
  return Array.isArray(nets) ? nets.map(String) : isRecord(nets) ? Object.keys(nets) : [];
}

/**
 * A backend: a service that needs no egress (a database or cache image profile, the socket proxy
 * `--fix-docker-socket` adds) and publishes no port. Only backends leave the default network:
 * for any other service the files cannot show it needs no egress or no caller outside them.
 */
function isBackend(s: ComposeService): boolean {
  if (listOf(s.effective.ports).length > 0) return false;
  return s.profile?.profile.noEgress === true || (s.image !== undefined && repositoryOf(s.image).repo === SOCKET_PROXY_IMAGE);
}

/**
 * Adds networks to a service, in the form its `networks` already has (a list by default). A
 * service that merges this one's mapping (`<<: *app`) and has no `networks` of its own keeps the
 * default network (`[default]` written out), unless it is being given networks itself (`edited`).
 */
function joinNetworks(f: Fix, s: ComposeService, add: string[], current: string[], edited: ReadonlySet<string>): void {
  const own = pairOf(s.node, 'networks');
  const value = own?.value;
  if (isSeq(value) && !isAlias(value)) for (const n of add) f.appendTo(s.node, ['networks'], n);
  else if (isMap(value) && !isAlias(value)) for (const n of add) f.ensure(s.node, ['networks', n], {});
  else if (own) setForService(f, s, ['networks'], [...current, ...add]);
  else {
    f.ensure(s.node, ['networks'], [...current, ...add]);
    for (const d of s.mergedBy) if (!pairOf(d.node, 'networks') && !edited.has(d.name) && networksOf(d).length === 0) f.ensure(d.node, ['networks'], ['default']);
  }
}

/** A node's plain value, or undefined when it cannot be had (an alias bomb). */
function plain(node: unknown, s: ComposeService): unknown {
  try {
    return node == null ? undefined : (node as Node).toJS(s.doc, { maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    return undefined;
  }
}

function list(names: Iterable<string>): string {
  return [...names].join(', ');
}

/**
 * Compose segmentation: each backend that some services are seen to reach leaves the default
 * network for an internal network it shares with exactly those services; everything else stays
 * where it was. At most MAX_NETWORKS networks per stack; what would need more stays and is reported.
 */
function composeFile(services: ComposeService[], ctx: TransformContext): void {
  const patches = services.filter((s) => s.override);
  if (patches.length) return mergedProject(services, patches, ctx);
  const candidates = services.filter((s) => s.effective.network_mode == null);
  if (candidates.length < 2) return;
  const root = services[0].root;
  const byName = new Map(services.map((s) => [s.name, s]));
  const topLevel = plain(pairOf(root, 'networks')?.value, services[0]);
  const defined = (n: string) => (isRecord(topLevel) ? topLevel[n] : undefined);
  const used = new Set(candidates.flatMap(networksOf).filter((n) => n !== 'default'));
  const ours = [...used].every((n) => n.endsWith('-net') && byName.has(n.slice(0, -4)) && isRecord(defined(n)) && (defined(n) as Record<string, unknown>).internal === true);
  const links = serviceLinks(services, ctx);
  if (!ours) return designedFile(candidates, links, ctx);
  // Memberships an earlier pass made are evidence too: a value moved to a secret file no longer shows the host.
  for (const s of candidates) {
    for (const n of networksOf(s)) if (n.endsWith('-net') && n.slice(0, -4) !== s.name && !links.get(s.name)!.has(n.slice(0, -4))) links.get(s.name)!.set(n.slice(0, -4), `${n}`);
  }
  // A service whose configuration is not all in the files joins every backend network (it may reach any).
  const unknown = unknownConfig(services, ctx);
  const exempt = new Set(services.filter((s) => composeExemptions(s, [], '').active.some((e) => e.skip.has('network-segmentation') || e.skip.has('all'))).map((s) => s.name));
  const consumers = new Map<string, Map<string, string>>(services.map((s) => [s.name, new Map()]));
  for (const [c, providers] of links) for (const [p, via] of providers) consumers.get(p)!.set(c, via);
  const isCandidate = new Set(candidates.map((s) => s.name));
  // Who can be put on a network: a candidate that is not exempt (a service in another's network namespace goes through it).
  const joins = (name: string) => {
    const mode = byName.get(name)!.effective.network_mode;
    if (typeof mode === 'string' && mode.startsWith('service:')) return isCandidate.has(mode.slice(8)) && !exempt.has(mode.slice(8));
    return isCandidate.has(name) && !exempt.has(name);
  };
  // A service that runs the same image (or build) as one that reaches a backend is the same
  // program in another role (netbox-worker and netbox): it reaches the backend too.
  const programs = new Map<string, string[]>();
  for (const s of candidates) {
    const program = programOf(s);
    if (program) (programs.get(program) ?? programs.set(program, []).get(program)!).push(s.name);
  }
  for (const p of candidates) {
    if (!isBackend(p)) continue;
    for (const [c, via] of [...consumers.get(p.name)!]) {
      const program = programOf(byName.get(c)!);
      for (const o of (program && programs.get(program)) || []) {
        if (o === p.name || consumers.get(p.name)!.has(o)) continue;
        consumers.get(p.name)!.set(o, `same image as ${c}, ${via}`);
        links.get(o)!.set(p.name, `same image as ${c}, ${via}`);
      }
    }
  }
  const wasOff = new Set(candidates.filter((s) => networksOf(s).length > 0 && !networksOf(s).includes('default')).map((s) => s.name));
  const kept = new Map<string, string>();
  // A backend an earlier pass left on the default network (listed with it) stays there.
  const movable = (s: ComposeService) => isBackend(s) && !exempt.has(s.name) && consumers.get(s.name)!.size > 0 && !networksOf(s).includes('default');
  let off = candidates.filter((s) => wasOff.has(s.name) || movable(s)).map((s) => s.name);
  // Off the default network, a service must share a network with everything it reaches or that reaches it.
  for (let changed = true; changed; ) {
    changed = false;
    for (const name of off) {
      const blind = [...unknown.keys()].filter((u) => !isBackend(byName.get(u)!));
      const peers = [...consumers.get(name)!.keys(), ...links.get(name)!.keys(), ...blind];
      const stuck = peers.find((p) => !joins(p));
      if (stuck && !wasOff.has(name)) {
        kept.set(name, exempt.has(stuck) ? `${stuck} is exempted from network-segmentation` : `${stuck} uses network_mode: ${String(byName.get(stuck)!.effective.network_mode)}`);
        off = off.filter((n) => n !== name);
        changed = true;
        break;
      }
    }
  }
  // The links between candidates, consumer then provider, in the order of `links` (flat, and
  // made again only when plan adds a link: plan runs once per backend over the network ceiling).
  let pairs: string[] | undefined;
  // `count`: only how many networks (the backends that would get one), not their members.
  function plan(): Map<string, Set<string>>;
  function plan(count: true): number;
  function plan(count?: true): Map<string, Set<string>> | number {
    const offSet = new Set(off);
    const nets = new Map<string, Set<string>>();
    for (const [c, why] of unknown) {
      if (!isCandidate.has(c) || offSet.has(c) || isBackend(byName.get(c)!)) continue;
      for (const p of off) {
        if (p === c || links.get(c)!.has(p)) continue;
        links.get(c)!.set(p, why);
        consumers.get(p)!.set(c, why);
        pairs = undefined;
      }
    }
    if (!pairs) {
      pairs = [];
      for (const [c, providers] of links) if (isCandidate.has(c)) for (const p of providers.keys()) if (isCandidate.has(p)) pairs.push(c, p);
    }
    if (count) {
      const providers = new Set<string>();
      for (let i = 0; i < pairs.length; i += 2) {
        const p = pairs[i + 1];
        if (!providers.has(p) && (offSet.has(p) || offSet.has(pairs[i]))) providers.add(p);
      }
      return providers.size;
    }
    for (let i = 0; i < pairs.length; i += 2) {
      const c = pairs[i];
      const p = pairs[i + 1];
      if (!offSet.has(c) && !offSet.has(p)) continue;
      const members = nets.get(p) ?? nets.set(p, new Set([p])).get(p)!;
      members.add(c);
    }
    return nets;
  }
  let count = plan(true);
  const overflow: string[] = [];
  const needed = count + 1;
  while (count + 1 > MAX_NETWORKS) {
    const last = [...off].reverse().find((n) => !wasOff.has(n));
    if (!last) break;
    off = off.filter((n) => n !== last);
    overflow.unshift(last);
    count = plan(true);
  }
  // The members of the networks that fit (the links plan adds are all in place by now).
  const nets = plan();
  if (overflow.length) {
    ctx.report({
      at: pairOf(root, 'services')?.key as Node | undefined,
      field: 'networks',
      message: `segmenting every backend would take ${needed} networks; cuirass keeps a stack within ${MAX_NETWORKS} (Docker's default address pools hold about 31 for a whole host): ${list(overflow)} stay${overflow.length === 1 ? 's' : ''} on the default network`,
      severity: 'low',
    });
  }
  for (const s of candidates) {
    if (!isBackend(s) || off.includes(s.name) || overflow.includes(s.name) || exempt.has(s.name)) continue;
    const why = kept.get(s.name) ?? 'nothing in the files reaches it (no depends_on, links, or host name in environment, commands or mounted configs); add depends_on to the services that use it';
    ctx.report({
      at: where(s, 'networks'),
      object: { kind: 'service', name: s.name },
      field: `${s.path}.networks`,
      message: `backend "${s.name}" stays on the default network: ${why}`,
      severity: 'low',
    });
  }
  const offSet = new Set(off);
  const created = [...nets.keys()].map(netOf);
  const changes = candidates.flatMap((s) => {
    const want = [...nets].filter(([, members]) => members.has(s.name)).map(([p]) => netOf(p));
    const current = networksOf(s);
    const full = [...(offSet.has(s.name) ? [] : ['default']), ...want];
    const add = current.length ? full.filter((n) => !current.includes(n)) : full;
    return want.length && add.length ? [{ s, want, current, add }] : [];
  });
  const edited = new Set(changes.map((c) => c.s.name));
  for (const { s, want, current, add } of changes) {
    const provider = nets.get(s.name);
    const reaches = want.map((n) => n.slice(0, -4)).filter((p) => p !== s.name);
    const message = provider
      ? `backend "${s.name}" leaves the default network for the internal network ${netOf(s.name)}, shared with what the files show reaching it: ${[...consumers.get(s.name)!].filter(([c]) => provider.has(c)).map(([c, via]) => `${c} (${via})`).join(', ')}`
      : `service "${s.name}" joins ${list(want)} to keep reaching ${list(reaches)}`;
    ctx.report({
      at: s.node,
      object: { kind: 'service', name: s.name },
      field: `${s.path}.networks`,
      message: provider && reaches.length ? `${message}; it joins ${list(want.filter((n) => n !== netOf(s.name)))} to keep reaching ${list(reaches)}` : message,
      severity: provider ? 'medium' : 'low',
      behaviorChanging: true,
      fix: (f) => {
        joinNetworks(f, s, add, current, edited);
        for (const net of created) if (want.includes(net) && defined(net) === undefined) f.ensure(root, ['networks', net], { internal: true });
      },
    });
  }
}

/**
 * A file that patches services of a base file (an override): Compose merges the files into one
 * project whose networks they share, and who reaches which backend is spread over files cuirass
 * reads one at a time. A backend this file defines, put on its own network, would lose the base
 * file's services that reach it; networks given to a patch would add to the base's. Nothing is
 * segmented; when the file also defines services in full (which a file of its own would have
 * segmented), a finding says why. A file of patches only has nothing of its own to segment.
 */
function mergedProject(services: ComposeService[], patches: ComposeService[], ctx: TransformContext): void {
  const whole = services.filter((s) => !s.override).map((s) => s.name);
  if (whole.length === 0) return;
  ctx.report({
    at: pairOf(services[0].root, 'services')?.key as Node | undefined,
    field: 'networks',
    message: `${list(whole)} keep${whole.length === 1 ? 's' : ''} ${whole.length === 1 ? 'its' : 'their'} networks: this file also patches ${list(patches.map((s) => s.name))} of its base file, and Compose merges the files into one project that shares its networks, so who reaches what is spread over the files and segmenting this one alone could cut services off; segment the merged project (docker compose config) by hand`,
    severity: 'low',
  });
}

/** A file with its own network design: reported, and the socket proxy cuirass added joins its consumers' networks. */
function designedFile(candidates: ComposeService[], links: Links, ctx: TransformContext): void {
  const onDefault = candidates.filter((s) => networksOf(s).length === 0 || networksOf(s).includes('default'));
  if (onDefault.length >= 2) {
    for (const s of onDefault) {
      ctx.report({
        at: where(s, 'networks'),
        object: { kind: 'service', name: s.name },
        field: `${s.path}.networks`,
        message: `service "${s.name}" shares the default network with ${onDefault.length - 1} other service(s); the file has its own network design, so cuirass leaves it to you`,
        severity: 'low',
      });
    }
  }
  const proxy = candidates.find((s) => s.name === SOCKET_PROXY && s.image !== undefined && repositoryOf(s.image).repo === SOCKET_PROXY_IMAGE);
  if (!proxy) return;
  const has = networksOf(proxy).length ? networksOf(proxy) : ['default'];
  const users = candidates.filter((s) => links.get(s.name)?.has(SOCKET_PROXY));
  const want = [...new Set(users.flatMap((s) => (networksOf(s).length ? networksOf(s) : ['default'])))];
  const add = want.filter((n) => !has.includes(n));
  if (add.length === 0) return;
  ctx.report({
    at: proxy.node,
    object: { kind: 'service', name: proxy.name },
    field: `${proxy.path}.networks`,
    message: `service "${proxy.name}" joins ${list(add)}: the networks of ${list(users.map((s) => s.name))}, which reach it`,
    severity: 'low',
    fix: (f) => joinNetworks(f, proxy, add, networksOf(proxy), new Set()),
  });
}

/** OWASP rule 5: containers reach only what they depend on. */
export default {
  id: 'network-segmentation',
  owasp: '5',
  title: 'Segment networks along dependencies',
  why: 'On one flat network every compromised service can reach every other; segmenting along real dependencies limits the blast radius.',
  changes: {
    kubernetes: 'per namespace a default-deny ingress NetworkPolicy, plus allow policies derived from Services and the workloads whose env, args or ConfigMaps name them; Services the API server calls (admission webhooks, APIService, CRD conversion) and exposed ones (LoadBalancer, NodePort, Ingress backends) stay open on their ports; Prometheus scrapes (ServiceMonitor, PodMonitor, prometheus.io annotations) are admitted from the Prometheus namespace; namespaces with NetworkPolicies of their own and kube-system get no default-deny; --egress adds default-deny egress with DNS allowed and TCP 443/6443 for pods with a service account token; Services nothing references stay open to their own namespace (reported)',
    compose:
      'a backend (database or cache image, the socket proxy; no published port) that services are seen to reach leaves the default network for one internal network `<backend>-net` shared with exactly those services (seen in depends_on, links, host names in env, commands, healthchecks, env files and mounted nginx/Caddy/HAProxy configs, Traefik and other label-driven proxies); every other service stays on the default network; at most 8 networks per stack; files that assign networks themselves are only reported',
    daemon: '"icc": false (the default bridge only; user-defined networks are unaffected)',
  },
  breaks:
    'Compose: a service that reaches a backend in a way the files do not show (a host name compiled into the app, a config file outside the project) loses it; add depends_on. A backend nothing is seen to reach, one reached by an exempted or network_mode service, and backends beyond the 8-network ceiling stay on the default network and are reported. No other service changes network. Kubernetes: clients the input does not show (other releases, operator-created pods, monitoring that is neither a Prometheus nor a ServiceMonitor/PodMonitor of the input) are cut off by the default-deny, except that a Service nothing in the input references stays open to every pod of its own namespace (reported: narrow it to its clients); a scrape whose Prometheus the input does not show is opened to every namespace (reported).',
  severity: 'medium',
  composeFile,
  project: kubernetesNetworkPolicies,
  view: networkView,

  daemon: daemonIcc,
} satisfies Transform;
