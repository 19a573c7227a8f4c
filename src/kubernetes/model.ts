import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, Node, YAMLMap, YAMLSeq } from 'yaml';
import { MAX_ALIAS_COUNT, nodeAt } from '../engine/index.js';

/** The items of a plain `List` value (`kind: …List` with an `items` array), or undefined. */
export function listItems(value: Record<string, unknown>): unknown[] | undefined {
  return String(value.kind ?? '').endsWith('List') && Array.isArray(value.items) ? value.items : undefined;
}

/** One Kubernetes object found in a document (a `List` contributes each of its items). */
export interface K8sObject {
  node: YAMLMap;
  doc: Document.Parsed;
  apiVersion: string;
  kind: string;
  name?: string;
  namespace?: string;
  /** Dotted path of the object within its document ('' or 'items[3]'). */
  path: string;
}

/** A container, init container or ephemeral container of a pod template. */
export interface Container {
  node: YAMLMap;
  group: 'containers' | 'initContainers' | 'ephemeralContainers';
  index: number;
  name: string;
  image?: string;
  /** Dotted path, e.g. `spec.template.spec.containers[0]`. */
  path: string;
}

/** The pod spec of a workload, with what transforms need to read and edit it. */
export interface PodTemplate {
  object: K8sObject;
  spec: YAMLMap;
  /** Dotted path of the pod spec. */
  path: string;
  /** The map that holds (or will hold) the pod's `metadata`. */
  metaParent: YAMLMap;
  /** Dotted path of `metaParent`. */
  metaPath: string;
  containers: Container[];
  /** `spec.os.name: windows`: Linux-only settings are not allowed. */
  windows: boolean;
  /** Plain value of a node below the pod spec (aliases resolved, bounded). */
  read(node: Node | null | undefined): unknown;
}

/** Where each workload kind keeps its pod spec and the map holding the pod's metadata. */
export const POD_PATHS: Readonly<Record<string, { spec: string[]; meta: string[] }>> = {
  Pod: { spec: ['spec'], meta: [] },
  PodTemplate: { spec: ['template', 'spec'], meta: ['template'] },
  Deployment: { spec: ['spec', 'template', 'spec'], meta: ['spec', 'template'] },
  StatefulSet: { spec: ['spec', 'template', 'spec'], meta: ['spec', 'template'] },
  DaemonSet: { spec: ['spec', 'template', 'spec'], meta: ['spec', 'template'] },
  ReplicaSet: { spec: ['spec', 'template', 'spec'], meta: ['spec', 'template'] },
  ReplicationController: { spec: ['spec', 'template', 'spec'], meta: ['spec', 'template'] },
  Job: { spec: ['spec', 'template', 'spec'], meta: ['spec', 'template'] },
  CronJob: { spec: ['spec', 'jobTemplate', 'spec', 'template', 'spec'], meta: ['spec', 'jobTemplate', 'spec', 'template'] },
};

/** Where a pod spec holds what the API server rejects, and what it is. */
export interface MalformedField {
  /** Offset of the bad value (or of what holds it) in the parsed text. */
  offset: number;
  message: string;
}

/** Lists of a pod spec whose items are objects, and the word for one item. */
const POD_LISTS: readonly (readonly [string, string])[] = [
  ['containers', 'a container'],
  ['initContainers', 'a container'],
  ['ephemeralContainers', 'a container'],
  ['volumes', 'a volume'],
];
/** Lists of a container whose items are objects. */
const CONTAINER_LISTS: readonly (readonly [string, string])[] = [
  ['env', 'an env variable'],
  ['envFrom', 'an envFrom source'],
  ['volumeMounts', 'a volume mount'],
  ['ports', 'a port'],
];
/** Objects of a pod spec and of a container. */
const POD_MAPS = ['securityContext'];
const CONTAINER_MAPS = ['securityContext', 'resources'];

function shapeOf(node: unknown): string {
  if (node == null || (isScalar(node) && node.value == null)) return 'null';
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  return `a ${typeof (isScalar(node) ? node.value : node)}`;
}

/**
 * The first value of a pod spec that the API server rejects for its shape: a container, volume,
 * env variable, mount or port that is not a mapping (`containers: [null]`, `env: [5]`), such a
 * list that is not a list, a `securityContext` or `resources` that is not a mapping. cuirass does
 * not edit around those. Absent and null fields are fine (partial manifests, patches); aliases are
 * not followed.
 */
export function malformedPod(pod: PodTemplate): MalformedField | undefined {
  const bad = (node: unknown, holder: Node, path: string, wants: string): MalformedField => ({
    offset: (isScalar(node) || isSeq(node) || isMap(node) ? (node as Node).range?.[0] : undefined) ?? holder.range?.[0] ?? 0,
    message: `${path} is ${shapeOf(node)}; Kubernetes wants ${wants} there and rejects the object, so cuirass leaves this file untouched`,
  });
  const list = (owner: YAMLMap, key: string, item: string, path: string): MalformedField | YAMLSeq | undefined => {
    const node = owner.get(key, true);
    if (node == null || isAlias(node) || (isScalar(node) && node.value == null)) return undefined;
    if (!isSeq(node)) return bad(node, owner, `${path}.${key}`, `a list of ${item.replace(/^an? /, '')}s`);
    for (let i = 0; i < node.items.length; i++) {
      const it = node.items[i];
      if (!isMap(it) && !isAlias(it)) return bad(it, node, `${path}.${key}[${i}]`, `${item} (a mapping)`);
    }
    return node;
  };
  const map = (owner: YAMLMap, key: string, path: string): MalformedField | undefined => {
    const node = owner.get(key, true);
    if (node == null || isAlias(node) || isMap(node) || (isScalar(node) && node.value == null)) return undefined;
    return bad(node, owner, `${path}.${key}`, 'a mapping');
  };
  for (const key of POD_MAPS) {
    const found = map(pod.spec, key, pod.path);
    if (found) return found;
  }
  for (const [key, item] of POD_LISTS) {
    const found = list(pod.spec, key, item, pod.path);
    if (found && !isSeq(found)) return found;
  }
  for (const c of pod.containers) {
    for (const key of CONTAINER_MAPS) {
      const found = map(c.node, key, c.path);
      if (found) return found;
    }
    for (const [key, item] of CONTAINER_LISTS) {
      const found = list(c.node, key, item, c.path);
      if (found && !isSeq(found)) return found;
    }
  }
  return undefined;
}

/** Kinds whose pod templates cuirass hardens. */
export const WORKLOAD_KINDS = Object.keys(POD_PATHS);

const GROUPS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

function str(node: unknown): string | undefined {
  return isScalar(node) && node.value != null ? String(node.value) : undefined;
}

/** True when a parsed document is (or lists) Kubernetes objects: `apiVersion` and `kind`. */
export function isKubernetesDoc(doc: Document.Parsed): boolean {
  const root = doc.contents;
  return isMap(root) && str(root.get('kind', true)) !== undefined && str(root.get('apiVersion', true)) !== undefined;
}

/** Every Kubernetes object of a document, descending into `List` kinds. */
export function objectsOf(doc: Document.Parsed): K8sObject[] {
  const out: K8sObject[] = [];
  const visit = (node: unknown, path: string) => {
    if (!isMap(node)) return;
    const kind = str(node.get('kind', true));
    const apiVersion = str(node.get('apiVersion', true));
    if (!kind || !apiVersion) return;
    const meta = node.get('metadata', true);
    out.push({
      node,
      doc,
      kind,
      apiVersion,
      name: isMap(meta) ? str(meta.get('name', true)) : undefined,
      namespace: isMap(meta) ? str(meta.get('namespace', true)) : undefined,
      path,
    });
    const items = node.get('items', true);
    if (kind.endsWith('List') && isSeq(items)) {
      (items as YAMLSeq).items.forEach((item, i) => visit(item, `${path ? path + '.' : ''}items[${i}]`));
    }
  };
  visit(doc.contents, '');
  return out;
}

/** The pod template of a workload object, or undefined for other kinds and malformed specs. */
export function podTemplateOf(object: K8sObject): PodTemplate | undefined {
  const where = POD_PATHS[object.kind];
  if (!where) return undefined;
  const spec = nodeAt(object.node, where.spec);
  const metaParent = where.meta.length ? nodeAt(object.node, where.meta) : object.node;
  if (!isMap(spec) || !isMap(metaParent)) return undefined;
  const prefix = object.path ? `${object.path}.` : '';
  const path = prefix + where.spec.join('.');
  const read = (node: Node | null | undefined) =>
    node == null ? undefined : (node as Node).toJS(object.doc, { maxAliasCount: MAX_ALIAS_COUNT });
  const containers: Container[] = [];
  for (const group of GROUPS) {
    const list = spec.get(group, true);
    if (!isSeq(list)) continue;
    list.items.forEach((item, index) => {
      if (!isMap(item) || isAlias(item)) return;
      containers.push({
        node: item,
        group,
        index,
        name: str(item.get('name', true)) ?? `${group}[${index}]`,
        image: str(item.get('image', true)),
        path: `${path}.${group}[${index}]`,
      });
    });
  }
  const os = nodeAt(spec, ['os', 'name']);
  return {
    object,
    spec,
    path,
    metaParent,
    metaPath: prefix + where.meta.join('.'),
    containers,
    windows: str(os)?.toLowerCase() === 'windows',
    read,
  };
}
