import { POD_PATHS } from '../../src/kubernetes/model.js';
import { nest } from '../../src/engine/index.js';
import type { Obj } from './read.js';
import { at, isObj } from './read.js';

/** The fields of `o` that are present, and only those. */
function pick(o: unknown, keys: readonly string[]): Obj | undefined {
  if (!isObj(o)) return undefined;
  const out: Obj = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Metadata: name and namespace, plus labels and the `prometheus.io/*` annotations when asked. */
function metadata(meta: unknown, labels: boolean): Obj | undefined {
  const out = pick(meta, labels ? ['name', 'namespace', 'labels'] : ['name', 'namespace']);
  const annotations = at(meta, ['annotations']);
  if (out && labels && isObj(annotations)) {
    const prometheus = Object.entries(annotations).filter(([k]) => k.startsWith('prometheus.io/'));
    if (prometheus.length) out.annotations = Object.fromEntries(prometheus);
  }
  return out;
}

const CONTAINER_FIELDS = ['env', 'envFrom', 'args', 'command', 'ports', 'image'];
const POD_FIELDS = ['volumes', 'serviceAccountName', 'serviceAccount', 'automountServiceAccountToken'];

/** Spec fields the network step reads, by kind (workloads aside). */
const SPEC_FIELDS: Record<string, string[]> = {
  Service: ['selector', 'ports', 'type'],
  Ingress: ['defaultBackend', 'rules'],
  NetworkPolicy: ['podSelector'],
  APIService: ['service'],
  CustomResourceDefinition: ['conversion'],
  ServiceMonitor: ['selector', 'namespaceSelector', 'endpoints'],
  PodMonitor: ['selector', 'namespaceSelector', 'podMetricsEndpoints'],
};

/**
 * What `kubernetesNetworkPolicies` reads of an object: kind, name and namespace; a Service's
 * labels, `prometheus.io/*` annotations, selector, ports and type; a ConfigMap's data; an
 * Ingress's backends; a NetworkPolicy's labels and pod selector; the Services that webhook
 * configurations, APIServices and CRD conversions call; ServiceMonitor/PodMonitor selectors and
 * endpoints; a ServiceAccount's token setting; a workload's pod labels and `prometheus.io/*`
 * annotations, its containers' env, envFrom, args, command, ports and image, and its volumes
 * and service account. At 10,000 documents this is a fifth of the hardened objects the run would
 * otherwise keep until the run-wide step.
 */
export function networkView(o: Obj): Obj {
  if (!isObj(o)) return o;
  const view: Obj = pick(o, ['apiVersion', 'kind'])!;
  const kind = String(o.kind);
  const spec = SPEC_FIELDS[kind];
  const meta = metadata(o.metadata, spec !== undefined || kind === 'Pod');
  if (meta) view.metadata = meta;
  if (spec) {
    const picked = pick(o.spec, spec);
    if (picked) view.spec = picked;
  } else if (kind === 'ConfigMap') {
    if (o.data !== undefined) view.data = o.data;
  } else if (kind === 'ServiceAccount') {
    if (o.automountServiceAccountToken !== undefined) view.automountServiceAccountToken = o.automountServiceAccountToken;
  } else if (kind === 'ValidatingWebhookConfiguration' || kind === 'MutatingWebhookConfiguration') {
    if (Array.isArray(o.webhooks)) view.webhooks = o.webhooks.map((w) => (isObj(w) ? pick(w, ['clientConfig']) : w));
  } else {
    const path = POD_PATHS[kind]?.meta;
    const pod = path && (path.length ? at(o, path) : o);
    if (isObj(pod)) {
      const template: Obj = {};
      const podMeta = metadata(pod.metadata, true);
      delete podMeta?.name;
      delete podMeta?.namespace;
      if (podMeta && path.length) template.metadata = podMeta;
      if (isObj(pod.spec)) {
        const slim: Obj = pick(pod.spec, POD_FIELDS)!;
        for (const group of ['containers', 'initContainers']) {
          const list = pod.spec[group];
          if (Array.isArray(list)) slim[group] = list.map((c: unknown) => pick(c, CONTAINER_FIELDS) ?? c);
        }
        template.spec = slim;
      }
      if (path.length) Object.assign(view, nest(path, template) as Obj);
      else if (template.spec) view.spec = template.spec;
    }
  }
  return view;
}
