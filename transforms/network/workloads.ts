import type { ProjectObject } from '../../src/types.js';
import type { Obj } from './read.js';
import { at, containersOf, isObj, kubernetesBoolean, nameOf, nsOf, objs, podOf, scalars, str, stringMap } from './read.js';

/** A workload as the network step sees it. */
export interface Workload {
  obj: Obj;
  file: string;
  dir: string;
  namespace: string;
  name: string;
  /** Labels of its pods. */
  labels: Record<string, string>;
  /** The `prometheus.io/*` annotations of its pods. */
  annotations: Record<string, string>;
  /** Strings it hands its containers: env values, args, commands, referenced ConfigMap data. */
  strings: string[];
  /** Container ports: name and number. */
  ports: { name?: string; port: number }[];
  /** Images of its containers. */
  images: string[];
  /** The pod spec's service account name ('' when it names none). */
  serviceAccount: string;
  /** The pod spec's `automountServiceAccountToken`, when a boolean. */
  automount?: boolean;
  /** A projected volume holds a service account token. */
  projectedToken: boolean;
}

/** Strings a workload hands its containers: env values, args, commands, and referenced ConfigMap data. */
function stringsOf(spec: unknown, containers: readonly Obj[], configMaps: ReadonlyMap<string, Obj>, namespace: string): string[] {
  const out: string[] = [];
  const cms = new Set<string>();
  for (const c of containers) {
    for (const e of objs(c.env)) {
      if (typeof e.value === 'string') out.push(e.value);
      const cm = str(at(e, ['valueFrom', 'configMapKeyRef', 'name']));
      if (cm !== undefined) cms.add(cm);
    }
    for (const e of objs(c.envFrom)) {
      const cm = str(at(e, ['configMapRef', 'name']));
      if (cm !== undefined) cms.add(cm);
    }
    for (const k of ['args', 'command']) out.push(...scalars(c[k]));
  }
  for (const v of objs(at(spec, ['volumes']))) {
    const cm = str(at(v, ['configMap', 'name']));
    if (cm !== undefined) cms.add(cm);
    for (const source of objs(at(v, ['projected', 'sources']))) {
      const projected = str(at(source, ['configMap', 'name']));
      if (projected !== undefined) cms.add(projected);
    }
  }
  for (const name of cms) {
    // An object without a namespace may be in any: its ConfigMap too.
    const data = (configMaps.get(`${namespace}/${name}`) ?? configMaps.get(namespace === '' ? `*/${name}` : `/${name}`))?.data;
    if (isObj(data)) for (const value of Object.values(data)) if (typeof value === 'string') out.push(value);
  }
  return out;
}

/** The `prometheus.io/*` string annotations of a map (usually none: no copy of the others). */
export function prometheusAnnotations(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObj(v)) return out;
  for (const k of ['prometheus.io/scrape', 'prometheus.io/port']) if (typeof v[k] === 'string') out[k] = v[k] as string;
  return out;
}

/** Every workload of `objects` (kinds with a pod template), ConfigMaps resolved in its namespace. */
export function workloadsOf(objects: readonly ProjectObject[]): Workload[] {
  const configMaps = new Map<string, Obj>();
  for (const { object } of objects) {
    if (object.kind !== 'ConfigMap') continue;
    configMaps.set(`${nsOf(object)}/${nameOf(object)}`, object);
    if (!configMaps.has(`*/${nameOf(object)}`)) configMaps.set(`*/${nameOf(object)}`, object);
  }
  const out: Workload[] = [];
  for (const o of objects) {
    const obj = o.object;
    const pod = podOf(obj);
    if (!pod) continue;
    const namespace = nsOf(obj);
    const spec = pod.spec;
    const containers = containersOf(spec);
    const ports: Workload['ports'] = [];
    for (const c of containers) {
      for (const p of objs(c.ports)) if (typeof p.containerPort === 'number') ports.push({ name: str(p.name), port: p.containerPort });
    }
    const automount = kubernetesBoolean(at(spec, ['automountServiceAccountToken']));
    out.push({
      obj,
      file: o.file,
      dir: o.dir,
      namespace,
      name: nameOf(obj),
      labels: stringMap(at(pod, ['metadata', 'labels'])),
      annotations: prometheusAnnotations(at(pod, ['metadata', 'annotations'])),
      strings: stringsOf(spec, containers, configMaps, namespace),
      ports,
      images: containers.map((c) => str(c.image) ?? ''),
      serviceAccount: str(at(spec, ['serviceAccountName'])) ?? str(at(spec, ['serviceAccount'])) ?? '',
      ...(automount !== undefined ? { automount } : {}),
      projectedToken: objs(at(spec, ['volumes'])).some((v) => objs(at(v, ['projected', 'sources'])).some((s) => s.serviceAccountToken !== undefined)),
    });
  }
  return out;
}

const NAME_PATTERNS = new Map<string, RegExp>();

/**
 * True when `text` names the Service `name` in namespace `svcNs`, seen from namespace `fromNs`.
 * A short name resolves only in the Service's own namespace; an object without a namespace may
 * be in any namespace, so a short name from or to it may resolve.
 */
export function names(text: string, name: string, svcNs: string, fromNs: string): boolean {
  if (!text.includes(name)) return false;
  const short = svcNs === fromNs || svcNs === '' || fromNs === '';
  const cacheKey = `${name}\u0000${svcNs}\u0000${short}`;
  let pattern = NAME_PATTERNS.get(cacheKey);
  if (!pattern) {
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const qualified = svcNs ? `\\.${esc(svcNs)}(?:\\.svc(?:\\.cluster\\.local)?)?` : '(?:\\.[a-z0-9-]+(?:\\.svc(?:\\.cluster\\.local)?)?)';
    const suffix = short ? `(?:${qualified})?` : qualified;
    pattern = new RegExp(`(?:^|[^A-Za-z0-9.-])${esc(name)}${suffix}(?=$|[:/\\s,;"'?@])`);
    NAME_PATTERNS.set(cacheKey, pattern);
  }
  return pattern.test(text);
}

/**
 * Workloads by the first DNS label of every host-like run in their strings (`db` of
 * `postgres://u:p@db.shop.svc:5432`). `names` only matches a Service name at the start of such a
 * run (after a character outside [A-Za-z0-9.-]) followed by `.` or a separator, so the workloads
 * filed under a name are the only ones it can match: each Service is then checked against its
 * few candidates instead of every workload (quadratic: 9,000 Services x 30,000 workloads at
 * 50,000 documents). In workload order, each once.
 */
export function workloadsByLabel(workloads: readonly Workload[]): Map<string, Workload[]> {
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
