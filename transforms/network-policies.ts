import type { ObjectRef, ProjectContext, ProjectObject, ProjectResult } from '../src/types.js';
import { POD_PATHS } from '../src/kubernetes/model.js';
import { nest } from '../src/engine/index.js';

type Obj = Record<string, any>;

const MANAGED = { 'app.kubernetes.io/managed-by': 'cuirass' };

/** Name of the per-namespace default-deny policy. */
export const DEFAULT_DENY = 'cuirass-default-deny';

function at(obj: unknown, path: string[]): any {
  return path.reduce<any>((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj);
}

function ns(o: Obj): string {
  return typeof o.metadata?.namespace === 'string' ? o.metadata.namespace : '';
}

function ref(o: Obj): ObjectRef {
  return { kind: String(o.kind), name: o.metadata?.name, namespace: o.metadata?.namespace };
}

interface Workload {
  obj: Obj;
  file: string;
  dir: string;
  labels: Record<string, string>;
  strings: string[];
}

/** The pod template (metadata + spec) of a workload. */
function podOf(o: Obj): { metadata?: Obj; spec?: Obj } | undefined {
  const path = POD_PATHS[String(o.kind)]?.meta;
  if (!path) return undefined;
  const pod = path.length ? at(o, path) : o;
  return pod && typeof pod === 'object' ? pod : undefined;
}

/** Strings a workload hands its containers: env values, args, commands, and referenced ConfigMap data. */
function stringsOf(pod: { spec?: Obj }, configMaps: Map<string, Obj>, namespace: string): string[] {
  const out: string[] = [];
  const cms = new Set<string>();
  for (const group of ['containers', 'initContainers']) {
    for (const c of (pod.spec?.[group] as Obj[] | undefined) ?? []) {
      for (const e of (c.env as Obj[] | undefined) ?? []) {
        if (typeof e.value === 'string') out.push(e.value);
        const cm = e.valueFrom?.configMapKeyRef?.name;
        if (typeof cm === 'string') cms.add(cm);
      }
      for (const e of (c.envFrom as Obj[] | undefined) ?? []) if (typeof e.configMapRef?.name === 'string') cms.add(e.configMapRef.name);
      for (const k of ['args', 'command']) for (const a of (c[k] as unknown[] | undefined) ?? []) out.push(String(a));
    }
  }
  for (const v of (pod.spec?.volumes as Obj[] | undefined) ?? []) if (typeof v.configMap?.name === 'string') cms.add(v.configMap.name);
  for (const name of cms) {
    const cm = configMaps.get(`${namespace}/${name}`);
    for (const value of Object.values((cm?.data as Obj | undefined) ?? {})) out.push(String(value));
  }
  return out;
}

/** True when `text` names the Service `name` in namespace `svcNs`, seen from namespace `fromNs`. */
const NAME_PATTERNS = new Map<string, RegExp>();

function names(text: string, name: string, svcNs: string, fromNs: string): boolean {
  if (!text.includes(name)) return false;
  const cacheKey = `${name}\u0000${svcNs}\u0000${svcNs === fromNs}`;
  const cached = NAME_PATTERNS.get(cacheKey);
  if (cached) return cached.test(text);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const qualified = svcNs ? `\\.${esc(svcNs)}(?:\\.svc(?:\\.cluster\\.local)?)?` : '(?:\\.[a-z0-9-]+(?:\\.svc(?:\\.cluster\\.local)?)?)';
  const suffix = svcNs === fromNs ? `(?:${qualified})?` : qualified;
  const pattern = new RegExp(`(?:^|[^A-Za-z0-9.-])${esc(name)}${suffix}(?=$|[:/\\s,;"'?@])`);
  NAME_PATTERNS.set(cacheKey, pattern);
  return pattern.test(text);
}

/** The fields of `o` that are present, and only those. */
function pick(o: unknown, keys: readonly string[]): Obj | undefined {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
  const out: Obj = {};
  for (const k of keys) if ((o as Obj)[k] !== undefined) out[k] = (o as Obj)[k];
  return out;
}

const CONTAINER_FIELDS = ['env', 'envFrom', 'args', 'command'];

/**
 * What `kubernetesNetworkPolicies` reads of an object: kind, name and namespace; a Service's
 * selector, ports and type; a ConfigMap's data; an Ingress's backends; a workload's pod labels,
 * its containers' env, envFrom, args and command, and its volumes. At 10,000 documents this is
 * a fifth of the hardened objects the run would otherwise keep until the run-wide step.
 */
export function networkView(o: Obj): Obj {
  const view: Obj = pick(o, ['apiVersion', 'kind'])!;
  const meta = pick(o.metadata, ['name', 'namespace']);
  if (meta) view.metadata = meta;
  if (o.kind === 'Service') {
    const spec = pick(o.spec, ['selector', 'ports', 'type']);
    if (spec) view.spec = spec;
  } else if (o.kind === 'Ingress') {
    const spec = pick(o.spec, ['defaultBackend', 'rules']);
    if (spec) view.spec = spec;
  } else if (o.kind === 'ConfigMap') {
    if (o.data !== undefined) view.data = o.data;
  } else {
    const path = POD_PATHS[String(o.kind)]?.meta;
    const pod = path && (path.length ? at(o, path) : o);
    if (pod && typeof pod === 'object') {
      const template: Obj = {};
      const labels = pick(pod.metadata, ['labels']);
      if (labels) template.metadata = labels;
      const spec = pod.spec;
      if (spec && typeof spec === 'object') {
        const slim: Obj = {};
        for (const group of ['containers', 'initContainers']) {
          if (Array.isArray(spec[group])) slim[group] = spec[group].map((c: unknown) => pick(c, CONTAINER_FIELDS) ?? c);
        }
        if (spec.volumes !== undefined) slim.volumes = spec.volumes;
        template.spec = slim;
      }
      if (path.length) Object.assign(view, nest(path, template) as Obj);
      else {
        if (template.metadata) view.metadata = { ...view.metadata, ...template.metadata };
        if (template.spec) view.spec = template.spec;
      }
    }
  }
  return view;
}

const NO_WORKLOADS: Workload[] = [];

/**
 * Workloads by the first DNS label of every host-like run in their strings (`db` of
 * `postgres://u:p@db.shop.svc:5432`). `names` only matches a Service name at the start of such a
 * run (after a character outside [A-Za-z0-9.-]) followed by `.` or a separator, so the workloads
 * filed under a name are the only ones it can match: each Service is then checked against its
 * few candidates instead of every workload (quadratic: 9,000 Services x 30,000 workloads at
 * 50,000 documents). In workload order, each once.
 */
function workloadsByLabel(workloads: readonly Workload[]): Map<string, Workload[]> {
  const index = new Map<string, Workload[]>();
  for (const w of workloads) {
    const seen = new Set<string>();
    for (const text of w.strings) {
      for (const run of text.split(/[^A-Za-z0-9.-]+/)) {
        const label = run.split('.', 1)[0];
        if (!label || seen.has(label)) continue;
        seen.add(label);
        const list = index.get(label);
        if (list) list.push(w);
        else index.set(label, [w]);
      }
    }
  }
  return index;
}

/** The ports a Service forwards to on its pods. */
function targetPorts(svc: Obj): Obj[] {
  return ((svc.spec?.ports as Obj[] | undefined) ?? []).map((p) => ({
    port: p.targetPort ?? p.port,
    ...(p.protocol && p.protocol !== 'TCP' ? { protocol: p.protocol } : {}),
  }));
}

function policy(name: string, namespace: string, spec: Obj): Obj {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: name.slice(0, 253), ...(namespace ? { namespace } : {}), labels: MANAGED },
    spec,
  };
}

/**
 * Kubernetes side of network-segmentation: a default-deny ingress policy per namespace that
 * runs workloads, and per Service an allow policy admitting exactly the workloads whose
 * configuration names it, on its target ports. Services exposed outside the cluster (type
 * LoadBalancer/NodePort, Ingress backends) admit everyone on their ports. Policies that exist
 * already (by name) are left alone, so a second run adds nothing.
 */
export function kubernetesNetworkPolicies(input: readonly ProjectObject[], ctx: ProjectContext): ProjectResult {
  const objects = input.map((o) => ({ ...o, object: o.object as Obj }));
  const result: ProjectResult = { documents: [], findings: [] };
  const existing = new Set(objects.filter((o) => o.object.kind === 'NetworkPolicy').map((o) => `${ns(o.object)}/${o.object.metadata?.name}`));
  const configMaps = new Map(objects.filter((o) => o.object.kind === 'ConfigMap').map((o) => [`${ns(o.object)}/${o.object.metadata?.name}`, o.object]));
  const workloads: Workload[] = [];
  for (const o of objects) {
    const pod = podOf(o.object);
    if (!pod) continue;
    workloads.push({ obj: o.object, file: o.file, dir: o.dir, labels: (pod.metadata?.labels as Record<string, string>) ?? {}, strings: stringsOf(pod, configMaps, ns(o.object)) });
  }
  const byLabel = workloadsByLabel(workloads);
  const external = new Set<string>();
  for (const o of objects) {
    if (o.object.kind !== 'Ingress') continue;
    const backends: unknown[] = [at(o.object, ['spec', 'defaultBackend', 'service', 'name'])];
    for (const rule of (at(o.object, ['spec', 'rules']) as Obj[] | undefined) ?? [])
      for (const path of (rule.http?.paths as Obj[] | undefined) ?? []) backends.push(path.backend?.service?.name);
    for (const b of backends) if (typeof b === 'string') external.add(`${ns(o.object)}/${b}`);
  }
  const emit = (dir: string, namespace: string, name: string, spec: Obj) => {
    if (existing.has(`${namespace}/${name}`)) return;
    existing.add(`${namespace}/${name}`);
    result.documents.push({ dir, object: policy(name, namespace, spec) });
  };
  const namespaces = new Map<string, string>();
  for (const w of workloads) if (!namespaces.has(ns(w.obj))) namespaces.set(ns(w.obj), w.dir);
  for (const [namespace, dir] of namespaces) {
    const spec: Obj = { podSelector: {}, policyTypes: ctx.flags.egress ? ['Ingress', 'Egress'] : ['Ingress'] };
    if (ctx.flags.egress) {
      spec.egress = [
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }],
        },
      ];
    }
    emit(dir, namespace, DEFAULT_DENY, spec);
  }
  for (const o of objects) {
    const svc = o.object;
    if (svc.kind !== 'Service' || svc.apiVersion !== 'v1') continue;
    const selector = svc.spec?.selector as Record<string, string> | undefined;
    const name = String(svc.metadata?.name ?? '');
    const svcNs = ns(svc);
    if (!selector || Object.keys(selector).length === 0 || !name) continue;
    const ports = targetPorts(svc);
    const candidates = name.includes('.') ? workloads : (byLabel.get(name) ?? NO_WORKLOADS);
    const clients = candidates.filter((w) => w.strings.some((s) => names(s, name, svcNs, ns(w.obj))));
    const exposed = svc.spec?.type === 'LoadBalancer' || svc.spec?.type === 'NodePort' || external.has(`${svcNs}/${name}`);
    const rules: Obj[] = [];
    if (exposed) rules.push(ports.length ? { ports } : {});
    const from = clients
      .filter((w) => Object.keys(w.labels).length > 0)
      .map((w) => ({
        podSelector: { matchLabels: w.labels },
        ...(ns(w.obj) !== svcNs ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns(w.obj) } } } : {}),
      }));
    const unique = [...new Map(from.map((f) => [JSON.stringify(f), f])).values()];
    if (unique.length) rules.push({ from: unique, ...(ports.length ? { ports } : {}) });
    for (const w of clients.filter((c) => Object.keys(c.labels).length === 0)) {
      result.findings.push({ file: w.file, object: ref(w.obj), message: `${w.obj.kind} "${w.obj.metadata?.name}" uses Service "${name}" but its pods have no labels to admit them by`, severity: 'medium' });
    }
    if (rules.length === 0) {
      result.findings.push({
        file: o.file,
        object: ref(svc),
        message: `Service "${name}": nothing in the input references it, so the default-deny policy cuts it off; allow its clients explicitly`,
        severity: 'medium',
      });
      continue;
    }
    emit(o.dir, svcNs, `allow-to-${name}`, { podSelector: { matchLabels: selector }, policyTypes: ['Ingress'], ingress: rules });
    if (ctx.flags.egress) {
      for (const w of clients.filter((c) => Object.keys(c.labels).length > 0)) {
        emit(w.dir, ns(w.obj), `allow-${w.obj.metadata?.name}-to-${name}`, {
          podSelector: { matchLabels: w.labels },
          policyTypes: ['Egress'],
          egress: [
            {
              to: [{ podSelector: { matchLabels: selector }, ...(svcNs !== ns(w.obj) ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': svcNs } } } : {}) }],
              ...(ports.length ? { ports } : {}),
            },
          ],
        });
      }
    }
  }
  return result;
}
