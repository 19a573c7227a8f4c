import type { ProjectObject } from '../../src/types.js';
import type { Obj, PolicyPort, ServicePort } from './read.js';
import { at, isObj, nsOf, objs, portValue, str, stringMap } from './read.js';
import { selects } from './selectors.js';
import type { Workload } from './workloads.js';
import { prometheusAnnotations } from './workloads.js';

/** A Service that something outside the pod network calls, and on which Service port. */
export interface ServiceCall {
  namespace: string;
  name: string;
  /** The Service port called (443 when the caller does not say). */
  port: number | string;
}

const WEBHOOK_KINDS = new Set(['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);

function call(service: unknown): ServiceCall | undefined {
  const name = str(at(service, ['name']));
  if (!name) return undefined;
  return { namespace: str(at(service, ['namespace'])) ?? '', name, port: portValue(at(service, ['port'])) ?? 443 };
}

/**
 * Services the API server calls: admission webhooks (`webhooks[].clientConfig.service`),
 * aggregated APIs (`APIService` `spec.service`) and CRD conversion webhooks
 * (`spec.conversion.webhook.clientConfig.service`, v1beta1 `spec.conversion.webhookClientConfig`).
 * No pod selector can name the API server, so their target ports stay open to every source.
 */
export function apiServerCalls(objects: readonly ProjectObject[]): ServiceCall[] {
  const out: ServiceCall[] = [];
  for (const { object: o } of objects) {
    const services: unknown[] = [];
    if (WEBHOOK_KINDS.has(String(o.kind))) for (const w of objs(o.webhooks)) services.push(at(w, ['clientConfig', 'service']));
    else if (o.kind === 'APIService') services.push(at(o, ['spec', 'service']));
    else if (o.kind === 'CustomResourceDefinition') {
      services.push(at(o, ['spec', 'conversion', 'webhook', 'clientConfig', 'service']), at(o, ['spec', 'conversion', 'webhookClientConfig', 'service']));
    }
    for (const s of services) {
      const c = isObj(s) ? call(s) : undefined;
      if (c) out.push(c);
    }
  }
  return out;
}

/** True when namespace `a` may be namespace `b` (an object without a namespace may be in any). */
export function sameNamespace(a: string, b: string): boolean {
  return a === b || a === '' || b === '';
}

const PROMETHEUS_IMAGE = /(?:^|\/)prometheus(?:-operator)?(?:[:@]|$)/;

/**
 * Namespaces a Prometheus scrapes from, as the stream shows them: where a `Prometheus` object
 * (prometheus-operator) or a Prometheus server or operator workload lives.
 */
export function scraperNamespaces(objects: readonly ProjectObject[], workloads: readonly Workload[]): Set<string> {
  const out = new Set<string>();
  for (const { object: o } of objects) if (o.kind === 'Prometheus' && String(o.apiVersion).startsWith('monitoring.coreos.com/')) out.add(nsOf(o));
  for (const w of workloads) if (w.images.some((i) => PROMETHEUS_IMAGE.test(i))) out.add(w.namespace);
  return out;
}

/** A scrape the stream asks for: the pods it reaches and on which ports. */
export interface Scrape {
  /** Namespace of the scraped pods. */
  namespace: string;
  /** Ports scraped; empty for every port. */
  ports: PolicyPort[];
  /** The ServiceMonitor/PodMonitor's namespace, when one asks for the scrape. */
  monitorNamespace?: string;
}

/** True when a monitor's `namespaceSelector` (default: its own namespace) takes namespace `ns`. */
function monitorTakes(monitor: Obj, ns: string): boolean {
  const sel = at(monitor, ['spec', 'namespaceSelector']);
  if (at(sel, ['any']) === true) return true;
  const names = at(sel, ['matchNames']);
  if (Array.isArray(names) && names.length > 0) return names.some((n) => typeof n === 'string' && sameNamespace(n, ns));
  return sameNamespace(nsOf(monitor), ns);
}

/** The ServiceMonitors and PodMonitors (prometheus-operator) of a run. */
export interface Monitors {
  service: Obj[];
  pod: Obj[];
}

/** The monitors of `objects`, gathered once (each Service and workload is checked against them). */
export function monitorsOf(objects: readonly ProjectObject[]): Monitors {
  const out: Monitors = { service: [], pod: [] };
  for (const { object: o } of objects) {
    if (!String(o.apiVersion).startsWith('monitoring.coreos.com/')) continue;
    if (o.kind === 'ServiceMonitor') out.service.push(o);
    else if (o.kind === 'PodMonitor') out.pod.push(o);
  }
  return out;
}

/**
 * The scrapes of a Service: ServiceMonitors that select it (their endpoints' `port` names a
 * Service port, `targetPort` a pod port) and `prometheus.io/scrape: "true"` on it.
 */
export function serviceScrapes(svc: Obj, ports: readonly ServicePort[], monitors: Monitors): Scrape[] {
  const out: Scrape[] = [];
  const ns = nsOf(svc);
  const labels = monitors.service.length ? stringMap(at(svc, ['metadata', 'labels'])) : {};
  const all = ports.map((p) => p.target);
  for (const m of monitors.service) {
    if (!monitorTakes(m, ns) || !isObj(at(m, ['spec', 'selector'])) || !selects(at(m, ['spec', 'selector']), labels)) continue;
    // An endpoint that names a port the Service lacks makes no target on it (Prometheus skips it).
    const scraped: PolicyPort[] = [];
    for (const e of objs(at(m, ['spec', 'endpoints']))) {
      const named = str(e.port);
      const target = portValue(e.targetPort);
      if (named !== undefined) scraped.push(...ports.filter((p) => p.name === named).map((p) => p.target));
      else if (target !== undefined) scraped.push({ port: target });
      else scraped.push(...all);
    }
    if (scraped.length) out.push({ namespace: ns, ports: scraped, monitorNamespace: nsOf(m) });
  }
  const annotations = prometheusAnnotations(at(svc, ['metadata', 'annotations']));
  if (annotations['prometheus.io/scrape'] === 'true') {
    const port = portValue(annotations['prometheus.io/port']);
    out.push({ namespace: ns, ports: port !== undefined ? [{ port }] : all });
  }
  return out;
}

/** The scrapes of a workload's pods: PodMonitors that select them and `prometheus.io/scrape: "true"` on the pods. */
export function podScrapes(w: Workload, monitors: Monitors): Scrape[] {
  const out: Scrape[] = [];
  for (const m of monitors.pod) {
    if (!monitorTakes(m, w.namespace) || !isObj(at(m, ['spec', 'selector'])) || !selects(at(m, ['spec', 'selector']), w.labels)) continue;
    const scraped: PolicyPort[] = [];
    let every = false;
    for (const e of objs(at(m, ['spec', 'podMetricsEndpoints']))) {
      const port = str(e.port) ?? portValue(e.portNumber) ?? portValue(e.targetPort);
      if (port !== undefined) scraped.push({ port });
      else every = true;
    }
    out.push({ namespace: w.namespace, ports: every ? [] : scraped, monitorNamespace: nsOf(m) });
  }
  if (w.annotations['prometheus.io/scrape'] === 'true') {
    const port = portValue(w.annotations['prometheus.io/port']);
    out.push({ namespace: w.namespace, ports: port !== undefined ? [{ port }] : w.ports.map((p) => ({ port: p.port })) });
  }
  return out;
}
