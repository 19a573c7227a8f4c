import { POD_PATHS } from '../../src/kubernetes/model.js';

/**
 * Total readers over the plain values of Kubernetes objects: the run-wide network step reads
 * every object of a run at once, so one malformed field (`containers: [null]`, `ports: {}`,
 * `env: 3`) must read as absent, never throw.
 */
export type Obj = Record<string, unknown>;

/** A map (not null, not a list). */
export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The value at `path`, or undefined where any step is not a map. */
export function at(o: unknown, path: readonly string[]): unknown {
  let v = o;
  for (const k of path) {
    if (!isObj(v)) return undefined;
    v = v[k];
  }
  return v;
}

/** The maps of a list; [] for anything that is not a list. */
export function objs(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObj) : [];
}

/** A string, or undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The scalar items of a list as text (args may be numbers); [] for anything that is not a list. */
export function scalars(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const x of v) if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out.push(String(x));
  return out;
}

/** The string entries of a map (labels, a selector); {} for anything else. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** `metadata.namespace`, '' when absent (meant for `kubectl apply -n`). */
export function nsOf(o: Obj): string {
  return str(at(o, ['metadata', 'namespace'])) ?? '';
}

/** `metadata.name`, '' when absent or not a string. */
export function nameOf(o: Obj): string {
  return str(at(o, ['metadata', 'name'])) ?? '';
}

/** A boolean field of a plain value as the API server reads it (src/kubernetes/values.ts). */
export { kubernetesBoolValue as kubernetesBoolean } from '../../src/kubernetes/values.js';

/** A port as a NetworkPolicy takes it: a number or a name; undefined for other shapes. */
export function portValue(v: unknown): number | string | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536) return v;
  if (typeof v === 'string' && v !== '') return /^\d+$/.test(v) ? Number(v) : v;
  return undefined;
}

/** A NetworkPolicy port entry. */
export interface PolicyPort {
  port: number | string;
  protocol?: string;
}

/** `ports` without repeats (same port and protocol), in first-seen order. */
export function uniquePorts(ports: readonly PolicyPort[]): PolicyPort[] {
  const seen = new Map<string, PolicyPort>();
  for (const p of ports) {
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (!seen.has(key)) seen.set(key, p);
  }
  return [...seen.values()];
}

/** One port of a Service, read totally. */
export interface ServicePort {
  name?: string;
  port?: number | string;
  /** What a NetworkPolicy on the Service's pods admits: `targetPort`, else `port`. */
  target: PolicyPort;
}

/** The ports of a Service that name a usable target (entries of other shapes are skipped). */
export function servicePorts(svc: Obj): ServicePort[] {
  const out: ServicePort[] = [];
  for (const p of objs(at(svc, ['spec', 'ports']))) {
    const port = portValue(p.port);
    const target = portValue(p.targetPort) ?? port;
    if (target === undefined) continue;
    const protocol = str(p.protocol);
    out.push({ name: str(p.name), port, target: { port: target, ...(protocol && protocol !== 'TCP' ? { protocol } : {}) } });
  }
  return out;
}

/** The pod template (metadata + spec) of a workload, or undefined for other kinds. */
export function podOf(o: Obj): { metadata?: unknown; spec?: unknown } | undefined {
  const path = POD_PATHS[String(o.kind)]?.meta;
  if (!path) return undefined;
  const pod = path.length ? at(o, path) : o;
  return isObj(pod) ? pod : undefined;
}

/** The containers and init containers of a pod spec (maps only). */
export function containersOf(spec: unknown): Obj[] {
  return [...objs(at(spec, ['containers'])), ...objs(at(spec, ['initContainers']))];
}
