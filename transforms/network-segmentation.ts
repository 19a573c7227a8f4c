import { isMap } from 'yaml';
import { daemonIcc } from './daemon.js';
import type { YAMLMap } from 'yaml';
import type { Transform, TransformContext } from '../src/types.js';
import { pairOf } from '../src/engine/index.js';
import type { ComposeService } from './compose.js';
import { listOf, where } from './compose.js';
import { composeExemptions } from '../src/exemptions.js';
import { kubernetesNetworkPolicies, networkView } from './network-policies.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Strings a service's configuration hands to its program: environment values and command/entrypoint. */
function configStrings(svc: ComposeService): string[] {
  const env = svc.effective.environment;
  const values = Array.isArray(env) ? env.map((e) => String(e).split('=').slice(1).join('=')) : isRecord(env) ? Object.values(env).map((v) => String(v ?? '')) : [];
  const commands = ['command', 'entrypoint', 'healthcheck'].flatMap((k) => {
    const v = svc.effective[k];
    return isRecord(v) ? listOf(v.test).map(String) : listOf(v).map(String);
  });
  return [...values, ...commands];
}

/** True when `text` names host `name`: the whole value, a URL host, or `name:port`. */
const HOST_PATTERNS = new Map<string, RegExp>();

function namesHost(text: string, name: string): boolean {
  if (!text.includes(name)) return false;
  let pattern = HOST_PATTERNS.get(name);
  if (!pattern) {
    const n = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    pattern = new RegExp(`^${n}$|(?:://|@)${n}(?:[:/?]|$)|(?:^|[\\s,=;"'])${n}:\\d`);
    HOST_PATTERNS.set(name, pattern);
  }
  return pattern.test(text);
}

/** Services each service depends on: depends_on, links, and host names in its configuration. */
export function dependencies(services: readonly ComposeService[]): Map<string, Set<string>> {
  const names = new Set(services.map((s) => s.name));
  const graph = new Map<string, Set<string>>();
  for (const svc of services) {
    const deps = new Set<string>();
    const dependsOn = svc.effective.depends_on;
    for (const d of Array.isArray(dependsOn) ? dependsOn : isRecord(dependsOn) ? Object.keys(dependsOn) : []) deps.add(String(d));
    for (const l of listOf(svc.effective.links)) deps.add(String(l).split(':')[0]);
    const strings = configStrings(svc);
    // One substring test over all of them first: most names appear in none (1,000 services).
    const all = strings.join('\n');
    for (const other of names) if (other !== svc.name && all.includes(other) && strings.some((s) => namesHost(s, other))) deps.add(other);
    graph.set(svc.name, new Set([...deps].filter((d) => names.has(d) && d !== svc.name)));
  }
  return graph;
}

function composeFile(services: ComposeService[], ctx: TransformContext): void {
  const exempt = new Set(
    services
      .filter((s) => composeExemptions(s, [], '').active.some((e) => e.skip.has('network-segmentation') || e.skip.has('all')))
      .map((s) => s.name),
  );
  const candidates = services.filter((s) => s.effective.network_mode == null);
  if (candidates.length < 2 || services.some((s) => s.override)) return;
  const root = services[0].root;
  const designed = candidates.some((s) => s.effective.networks != null);
  if (designed) {
    const onDefault = candidates.filter((s) => {
      const nets = s.effective.networks;
      return nets == null || (Array.isArray(nets) ? nets.map(String) : isRecord(nets) ? Object.keys(nets) : []).includes('default');
    });
    if (onDefault.length < 2) return;
    for (const s of onDefault) {
      ctx.report({
        at: where(s, 'networks'),
        object: { kind: 'service', name: s.name },
        field: `${s.path}.networks`,
        message: `service "${s.name}" shares the default network with ${onDefault.length - 1} other service(s); the file has its own network design, so cuirass leaves it to you`,
        severity: 'low',
      });
    }
    return;
  }
  const graph = dependencies(candidates);
  const edges: [string, string][] = [];
  for (const [consumer, deps] of graph) for (const provider of deps) edges.push([consumer, provider]);
  const memberOf = new Map<string, string[]>(candidates.map((s) => [s.name, []]));
  const definitions: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const [consumer, provider] of edges) {
    const key = [consumer, provider].sort().join('\u0000');
    if (seen.has(key)) continue;
    seen.add(key);
    const net = `${consumer}-${provider}`;
    definitions[net] = { internal: true };
    memberOf.get(consumer)!.push(net);
    memberOf.get(provider)!.push(net);
  }
  for (const s of candidates) {
    const publishes = listOf(s.effective.ports).length > 0;
    const backend = s.profile?.profile.noEgress === true;
    if (publishes || !backend) {
      const net = `${s.name}-egress`;
      definitions[net] = {};
      memberOf.get(s.name)!.push(net);
    }
  }
  const existing = pairOf(root, 'networks')?.value;
  const taken = isMap(existing) ? new Set((existing as YAMLMap).items.map((p) => String((p.key as { value?: unknown })?.value))) : new Set<string>();
  // An exempt service stays on the default network, and so must everything it talks to.
  for (const [consumer, provider] of edges) {
    if (exempt.has(consumer) && !exempt.has(provider)) memberOf.get(provider)!.push('default');
    if (exempt.has(provider) && !exempt.has(consumer)) memberOf.get(consumer)!.push('default');
  }
  for (const s of candidates) {
    const nets = [...new Set(memberOf.get(s.name)!)];
    if (nets.length === 0 || exempt.has(s.name)) continue;
    const peers = [...(graph.get(s.name) ?? [])];
    ctx.report({
      at: s.node,
      object: { kind: 'service', name: s.name },
      field: `${s.path}.networks`,
      message: peers.length
        ? `service "${s.name}" shares the default network with every service; it now reaches only ${peers.join(', ')}`
        : `service "${s.name}" shares the default network with every service; it gets a network of its own`,
      severity: 'medium',
      behaviorChanging: true,
      fix: (f) => {
        f.ensure(s.node, ['networks'], nets);
        for (const net of nets) if (!taken.has(net) && net !== 'default') f.ensure(root, ['networks', net], definitions[net]);
      },
    });
  }
}

/** OWASP rule 5: containers reach only what they depend on. */
export default {
  id: 'network-segmentation',
  owasp: '5',
  title: 'Segment networks along dependencies',
  why: 'On one flat network every compromised service can reach every other; segmenting along real dependencies limits the blast radius.',
  changes: {
    kubernetes: 'per namespace a default-deny ingress NetworkPolicy, plus allow policies derived from Services and the workloads whose env, args or ConfigMaps name them; Services the API server calls (admission webhooks, APIService, CRD conversion) and exposed ones (LoadBalancer, NodePort, Ingress backends) stay open on their ports; Prometheus scrapes (ServiceMonitor, PodMonitor, prometheus.io annotations) are admitted from the Prometheus namespace; namespaces with NetworkPolicies of their own and kube-system get no default-deny; --egress adds default-deny egress with DNS allowed and TCP 443/6443 for pods with a service account token; Services nothing references are reported',
    compose: 'one internal network per dependency (depends_on, links, host names in env and commands), a private network for services that publish ports or need egress; files that assign networks themselves are only reported',
    daemon: '"icc": false (the default bridge only; user-defined networks are unaffected)',
  },
  breaks: 'Connections between services that the file does not reveal (no depends_on, links or host name in the configuration) stop working; add depends_on or a shared network. Kubernetes: clients the input does not show (other releases, operator-created pods, monitoring that is neither a Prometheus nor a ServiceMonitor/PodMonitor of the input) are cut off by the default-deny; a scrape whose Prometheus the input does not show is opened to every namespace (reported).',
  severity: 'medium',
  composeFile,
  project: kubernetesNetworkPolicies,
  view: networkView,

  daemon: daemonIcc,
} satisfies Transform;
