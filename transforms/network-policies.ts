import type { ObjectRef, ProjectContext, ProjectObject, ProjectResult, Severity } from '../src/types.js';
import type { Obj, PolicyPort } from './network/read.js';
import { at, isObj, nameOf, nsOf, objs, servicePorts, str, stringMap, uniquePorts } from './network/read.js';
import { matchLabels, namespaceNamed, selects, stableLabels } from './network/selectors.js';
import type { Workload } from './network/workloads.js';
import { names, workloadsByLabel, workloadsOf } from './network/workloads.js';
import type { Scrape } from './network/callers.js';
import { apiServerEgress, scraperEgress } from './network/egress.js';
import { apiServerCalls, monitorsOf, podScrapes, sameNamespace, scraperNamespaces, serviceScrapes } from './network/callers.js';

export { networkView } from './network/view.js';

const MANAGED = { 'app.kubernetes.io/managed-by': 'cuirass' };

/** Name of the per-namespace default-deny policy. */
export const DEFAULT_DENY = 'cuirass-default-deny';

/** Namespaces of the cluster's own pods, which no input shows whole: a default-deny there would cut DNS. */
const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

function ref(o: Obj): ObjectRef {
  return { kind: String(o.kind), name: str(at(o, ['metadata', 'name'])), namespace: str(at(o, ['metadata', 'namespace'])) };
}

/**
 * True when an Ingress of `external` (keys `ns/name`, `*\/name` for any namespace, `?/name` for
 * an Ingress without one) routes to Service `name` in `svcNs`: an object without a namespace
 * may be in any.
 */
function exposedByIngress(external: ReadonlySet<string>, svcNs: string, name: string): boolean {
  return external.has(`${svcNs}/${name}`) || (svcNs === '' ? external.has(`*/${name}`) : external.has(`?/${name}`));
}

/** The list of `map` at `key`, created empty when absent. */
function listAt<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

/** `kind "name"` of the first workloads, and how many more. */
function listed(workloads: readonly Workload[]): string {
  const shown = workloads.slice(0, 3).map((w) => `${String(w.obj.kind)} "${w.name}"`).join(', ');
  return workloads.length > 3 ? `${shown} and ${workloads.length - 3} more` : shown;
}

/** A namespaceSelector for a peer in `peerNs` seen from a policy in `policyNs` (none when the same). */
function peerNamespace(peerNs: string, policyNs: string): Obj {
  if (peerNs === policyNs) return {};
  // A peer without a namespace may be in any: never deny it on a guess.
  return { namespaceSelector: peerNs === '' ? {} : namespaceNamed(peerNs) };
}

/** A document of its own (a JSON copy): YAML output has no anchors and aliases for shared values. */
function policy(name: string, namespace: string, spec: Obj): Obj {
  return JSON.parse(JSON.stringify({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: name.slice(0, 253), ...(namespace ? { namespace } : {}), labels: MANAGED },
    spec,
  })) as Obj;
}

/** `{ports}` when there are any (no `ports` key admits every port). */
function portsOf(ports: readonly PolicyPort[]): Obj {
  const unique = uniquePorts(ports);
  return unique.length ? { ports: unique } : {};
}

/**
 * Rules without repeats, and without rules whose ports a rule for every source opens already
 * (a workload that names its own Service, a Job that names a webhook it prepares).
 */
function simplifyRules(rules: readonly Obj[]): Obj[] {
  const unique = [...new Map(rules.map((r) => [JSON.stringify(r), r])).values()];
  const open = unique.filter((r) => r.from === undefined);
  if (open.some((r) => r.ports === undefined)) return [{}];
  const openPorts = new Set(open.flatMap((r) => objs(r.ports).map((p) => JSON.stringify(p))));
  return unique.filter((r) => r.from === undefined || !(Array.isArray(r.ports) && r.ports.every((p) => openPorts.has(JSON.stringify(p)))));
}

/** The ingress rule that admits `scrapes` from where the stream says the scraper lives, and what to tell about it. */
function scrapeRule(scrapes: readonly Scrape[], scrapers: ReadonlySet<string>, policyNs: string): { rule: Obj; note?: { message: string; severity: Severity } } {
  const ports = scrapes.some((s) => s.ports.length === 0) ? [] : scrapes.flatMap((s) => s.ports);
  if (scrapers.size > 0) {
    return { rule: { from: [...scrapers].sort().map((n) => peerNamespace(n, policyNs)).map((p) => (Object.keys(p).length ? p : { podSelector: {} })), ...portsOf(ports) } };
  }
  const monitorNs = [...new Set(scrapes.map((s) => s.monitorNamespace).filter((n): n is string => n !== undefined && n !== '' && n !== policyNs))].sort();
  if (monitorNs.length > 0 && scrapes.every((s) => s.monitorNamespace !== undefined)) {
    return {
      rule: { from: monitorNs.map((n) => ({ namespaceSelector: namespaceNamed(n) })), ...portsOf(ports) },
      note: { message: `no Prometheus in the input, so their scrapes are allowed from their monitor's namespace ${monitorNs.map((n) => `"${n}"`).join(', ')}; check that Prometheus runs there`, severity: 'low' },
    };
  }
  return {
    rule: { from: [{ namespaceSelector: {} }], ...portsOf(ports) },
    note: { message: `the input shows no Prometheus, so their scraped ports are open to pods of every namespace; narrow those rules to your monitoring namespace`, severity: 'medium' },
  };
}

/**
 * Kubernetes side of network-segmentation: a default-deny ingress policy per namespace that
 * runs workloads, and per Service an allow policy admitting exactly the workloads whose
 * configuration names it, on its target ports. Services exposed outside the cluster (type
 * LoadBalancer/NodePort, Ingress backends) and Services the API server calls (webhooks,
 * APIServices, CRD conversion) admit everyone on their ports; scraped Services and pods admit
 * the Prometheus namespace. A namespace whose own NetworkPolicies are in the input is left to
 * them. Policies that exist already (by name) are left alone, so a second run adds nothing.
 */
export function kubernetesNetworkPolicies(input: readonly ProjectObject[], ctx: ProjectContext): ProjectResult {
  const objects = input.filter((o) => isObj(o.object));
  const result: ProjectResult = { documents: [], findings: [] };
  const report = (file: string, o: Obj, message: string, severity: Severity) => result.findings.push({ file, object: ref(o), message, severity });
  const existing = new Set<string>();
  /** Namespaces whose owners wrote NetworkPolicies (not cuirass's): their model stays. */
  const owned = new Map<string, Obj[]>();
  for (const { object: o } of objects) {
    if (o.kind !== 'NetworkPolicy') continue;
    existing.add(`${nsOf(o)}/${nameOf(o)}`);
    if (at(o, ['metadata', 'labels', 'app.kubernetes.io/managed-by']) !== 'cuirass') listAt(owned, nsOf(o)).push(o);
  }
  const workloads = workloadsOf(objects);
  const byLabel = workloadsByLabel(workloads);
  const external = new Set<string>();
  for (const { object: o } of objects) {
    if (o.kind !== 'Ingress') continue;
    const backends: unknown[] = [at(o, ['spec', 'defaultBackend', 'service', 'name'])];
    for (const rule of objs(at(o, ['spec', 'rules']))) for (const path of objs(at(rule, ['http', 'paths']))) backends.push(at(path, ['backend', 'service', 'name']));
    for (const b of backends) {
      if (typeof b !== 'string') continue;
      external.add(`${nsOf(o)}/${b}`).add(`*/${b}`);
      if (nsOf(o) === '') external.add(`?/${b}`);
    }
  }
  const calls = apiServerCalls(objects);
  /** Scrapes whose Prometheus the input does not show, by severity and message. */
  const notes = new Map<string, { file: string; obj: Obj; name: string }[]>();
  const monitors = monitorsOf(objects);
  const scrapers = scraperNamespaces(objects, workloads);
  /** Adds a policy unless one of that name exists; false in a namespace left to its owners. */
  const emit = (dir: string, namespace: string, name: string, spec: Obj): boolean => {
    if (owned.has(namespace)) return false;
    if (existing.has(`${namespace}/${name}`)) return true;
    existing.add(`${namespace}/${name}`);
    result.documents.push({ dir, object: policy(name, namespace, spec) });
    return true;
  };
  /** Namespaces where a cuirass default-deny applies (generated now, or from an earlier run). */
  const denied = new Set<string>();
  for (const { object: o } of objects) {
    if (o.kind === 'NetworkPolicy' && nameOf(o) === DEFAULT_DENY && !owned.has(nsOf(o)) && at(o, ['metadata', 'labels', 'app.kubernetes.io/managed-by']) === 'cuirass') denied.add(nsOf(o));
  }
  const namespaces = new Map<string, Workload>();
  for (const w of workloads) if (!namespaces.has(w.namespace)) namespaces.set(w.namespace, w);
  const byNamespace = new Map<string, Workload[]>();
  for (const w of workloads) listAt(byNamespace, w.namespace).push(w);
  for (const [namespace, policies] of owned) {
    const open = (byNamespace.get(namespace) ?? []).filter((w) => !policies.some((p) => selects(at(p, ['spec', 'podSelector']) ?? {}, w.labels)));
    if (open.length === 0) continue;
    const where = namespace ? `namespace "${namespace}"` : 'the namespace of the objects without one';
    report(open[0].file, open[0].obj, `${where} has NetworkPolicies of its own, so cuirass adds no default-deny there (the owners' model); none of them selects the pods of ${listed(open)}, which accept every connection`, 'medium');
  }
  for (const [namespace, first] of namespaces) {
    if (SYSTEM_NAMESPACES.has(namespace)) {
      report(first.file, first.obj, `namespace "${namespace}" runs the cluster's own pods (DNS, network plugin), which the input does not show: cuirass adds no default-deny there, only the allow policies of the Services the input defines`, 'low');
      continue;
    }
    const spec: Obj = { podSelector: {}, policyTypes: ctx.flags.egress ? ['Ingress', 'Egress'] : ['Ingress'] };
    if (ctx.flags.egress) {
      spec.egress = [
        {
          to: [{ namespaceSelector: namespaceNamed('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }],
        },
      ];
    }
    if (emit(first.dir, namespace, DEFAULT_DENY, spec)) denied.add(namespace);
  }
  for (const o of objects) {
    const svc = o.object;
    if (svc.kind !== 'Service' || svc.apiVersion !== 'v1') continue;
    const selector = stableLabels(stringMap(at(svc, ['spec', 'selector'])));
    const name = nameOf(svc);
    const svcNs = nsOf(svc);
    if (Object.keys(selector).length === 0 || !name) continue;
    const servicePortList = servicePorts(svc);
    const ports = servicePortList.map((p) => p.target);
    const candidates = name.includes('.') ? workloads : (byLabel.get(name) ?? []);
    const clients = candidates.filter((w) => w.strings.some((s) => names(s, name, svcNs, w.namespace)));
    const type = at(svc, ['spec', 'type']);
    const exposed = type === 'LoadBalancer' || type === 'NodePort' || exposedByIngress(external, svcNs, name);
    const rules: Obj[] = [];
    if (exposed) rules.push(portsOf(ports));
    const called = calls.filter((c) => c.name === name && sameNamespace(c.namespace, svcNs));
    if (called.length) {
      const targets = called.map((c) => servicePortList.find((p) => p.port === c.port)?.target);
      rules.push(portsOf(targets.some((t) => t === undefined) ? ports : (targets as PolicyPort[])));
    }
    const from = clients
      .filter((w) => Object.keys(w.labels).length > 0)
      .map((w) => ({ podSelector: matchLabels(stableLabels(w.labels)), ...peerNamespace(w.namespace, svcNs) }));
    const unique = [...new Map(from.map((f) => [JSON.stringify(f), f])).values()];
    if (unique.length) rules.push({ from: unique, ...portsOf(ports) });
    for (const w of clients.filter((c) => Object.keys(c.labels).length === 0)) {
      report(w.file, w.obj, `${String(w.obj.kind)} "${w.name}" uses Service "${name}" but its pods have no labels to admit them by`, 'medium');
    }
    const scrapes = serviceScrapes(svc, servicePortList, monitors);
    if (scrapes.length) {
      const { rule, note } = scrapeRule(scrapes, scrapers, svcNs);
      rules.push(rule);
      if (note && !owned.has(svcNs)) listAt(notes, `${note.severity}\u0000${note.message}`).push({ file: o.file, obj: svc, name: `Service "${name}"` });
    }
    if (rules.length === 0) {
      // Its clients are unknown: never cut it off on a guess. Where a default-deny of cuirass
      // applies, the pods of its own namespace keep reaching it; other namespaces stay denied.
      if (!denied.has(svcNs)) continue;
      rules.push({ from: [{ podSelector: {} }], ...portsOf(ports) });
      report(o.file, svc, `Service "${name}": nothing in the input references it, so its clients are unknown and it stays open to every pod of its own namespace (other namespaces are denied); narrow allow-to-${name} to its clients' pods`, 'medium');
      emit(o.dir, svcNs, `allow-to-${name}`, { podSelector: matchLabels(selector), policyTypes: ['Ingress'], ingress: rules });
      if (ctx.flags.egress) {
        emit(o.dir, svcNs, `allow-namespace-to-${name}`, {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [{ to: [{ podSelector: matchLabels(selector) }], ...portsOf(ports) }],
        });
      }
      continue;
    }
    emit(o.dir, svcNs, `allow-to-${name}`, { podSelector: matchLabels(selector), policyTypes: ['Ingress'], ingress: simplifyRules(rules) });
    if (ctx.flags.egress) {
      for (const w of clients.filter((c) => Object.keys(c.labels).length > 0 && !SYSTEM_NAMESPACES.has(c.namespace))) {
        emit(w.dir, w.namespace, `allow-${w.name}-to-${name}`, {
          podSelector: matchLabels(stableLabels(w.labels)),
          policyTypes: ['Egress'],
          egress: [{ to: [{ podSelector: matchLabels(selector), ...peerNamespace(svcNs, w.namespace) }], ...portsOf(ports) }],
        });
      }
    }
  }
  for (const w of workloads) {
    const scrapes = podScrapes(w, monitors);
    if (scrapes.length === 0 || Object.keys(w.labels).length === 0) continue;
    const { rule, note } = scrapeRule(scrapes, scrapers, w.namespace);
    emit(w.dir, w.namespace, `allow-scrape-to-${w.name}`, { podSelector: matchLabels(stableLabels(w.labels)), policyTypes: ['Ingress'], ingress: [rule] });
    if (note && !owned.has(w.namespace)) listAt(notes, `${note.severity}\u0000${note.message}`).push({ file: w.file, obj: w.obj, name: `${String(w.obj.kind)} "${w.name}"` });
  }
  // One finding per decision, naming the first objects it concerns (not one line per target).
  for (const [key, about] of notes) {
    const [severity, message] = key.split('\u0000') as [Severity, string];
    const names = about.slice(0, 3).map((a) => a.name).join(', ') + (about.length > 3 ? ` and ${about.length - 3} more` : '');
    report(about[0].file, about[0].obj, `scraped by Prometheus: ${names}; ${message}`, severity);
  }
  if (ctx.flags.egress) {
    const egressed = workloads.filter((w) => !SYSTEM_NAMESPACES.has(w.namespace));
    apiServerEgress(objects, egressed, emit, report);
    scraperEgress(egressed, emit, report);
  }
  return result;
}
