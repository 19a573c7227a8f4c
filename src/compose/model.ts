import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, parseDocument } from 'yaml';
import type { Alias, Document, Node, Pair, YAMLMap, YAMLSeq } from 'yaml';
import { MAX_ALIAS_COUNT, pairOf } from '../engine/index.js';
import { profileFor } from '../../transforms/profiles/index.js';
import type { MatchedProfile } from '../../transforms/profiles/index.js';
import { builtImage, inspectedImage } from './build.js';
import type { BuildFileReader, BuiltImage } from './build.js';
import type { Settings } from '../settings.js';
import { interpolate } from './interpolate.js';
import type { Lookup } from './interpolate.js';

/** One service of a Compose file, with its effective configuration. */
export interface ComposeService {
  name: string;
  /** The service's own mapping: edits go here, so they affect this service only. */
  node: YAMLMap;
  doc: Document.Parsed;
  /** The document's root mapping (top-level `secrets:`, `networks:`). */
  root: YAMLMap;
  /** Dotted path, `services.web`. */
  path: string;
  /** What Compose will see: merge keys and `extends` within the file resolved. */
  effective: Record<string, unknown>;
  image?: string;
  /**
   * An image that names variables (`${IMAGE_NAME}:${VERSION}`): what they resolve to from the
   * `.env` beside the file or the expression's default, for the profile lookup only (the file
   * keeps its text); undefined when nothing resolves them, and then `unresolved` is set.
   */
  resolvedImage?: string;
  /** The image names a variable that neither the `.env` nor a default resolves: its profile is unknown. */
  unresolvedImage?: boolean;
  /** What its Dockerfile says, when it is built (`build:`); its FROM image picks the profile. */
  built?: BuiltImage;
  profile?: MatchedProfile;
  /**
   * The service patches a base file's service: every service of `compose.override.yaml`, and a
   * service of `compose.<x>.yaml` that the base file next to it defines too and that names no
   * image or build of its own. Compose merges the
   * later file over the base, so additions belong in the base (here they would loosen it).
   */
  override: boolean;
  /** The file limits resources with `mem_limit`/`cpus`/`pids_limit` rather than `deploy`. */
  legacyResources: boolean;
  /** Services that merge this service's mapping (`other: {<<: *this}`): they inherit its edits. */
  mergedBy: ComposeService[];
}

/** True when a document looks like a Compose file: a `services` mapping at the top. */
export function isComposeDoc(doc: Document.Parsed): boolean {
  const root = doc.contents;
  return isMap(root) && isMap(root.get('services', true));
}

/**
 * For a file Compose reads by its name (`compose.yaml`, `docker-compose.<x>.yml`, …): where its
 * top-level `services` is not a mapping (`services: []`, `services: 5`, an empty `services:`).
 * Compose rejects such a file (its schema wants an object), so it is an input error, not a file
 * without services. Undefined when every `services` is a mapping or absent.
 */
export function invalidServices(text: string): { line: number; col: number; message: string } | undefined {
  const lines = new LineCounter();
  for (const doc of parseAllDocuments(text, { lineCounter: lines })) {
    if (!('contents' in doc) || !isMap(doc.contents)) continue;
    const pair = (doc.contents.items as Pair[]).find((p) => isScalar(p.key) && p.key.value === 'services');
    if (!pair) continue;
    const value = pair.value as Node | null;
    const target = isAlias(value) ? resolveAlias(doc, value as Alias) : value;
    if (isMap(target)) continue;
    const what = target == null || (isScalar(target) && target.value === null) ? 'empty' : isSeq(target) ? 'a list' : `a ${typeof (isScalar(target) ? target.value : target)}`;
    const at = (value ?? (pair.key as Node)).range?.[0] ?? 0;
    return { ...lines.linePos(at), message: `services is ${what}; Compose wants a mapping of service names to services and rejects this file, so cuirass leaves it untouched` };
  }
  return undefined;
}

/** `compose.override.yaml`, `docker-compose.override.yml`: every service overrides a base file's (for `compose.<x>.yaml` see baseServiceNames). */
export function isOverrideName(file: string): boolean {
  return /(^|[/\\])(docker-)?compose\.override\.ya?ml$/i.test(file);
}

/** The base files next to a `compose.<x>.yaml`, in the order Compose looks for them. */
export const BASE_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

/**
 * For a `compose.<x>.yaml`/`docker-compose.<x>.yml` (not `compose.override.yaml`, whose every
 * service is an override): the names of the services that the base files next to it define,
 * read with `read` (a file of the same folder; undefined when absent). Undefined for other names.
 */
export function baseServiceNames(file: string, read: (name: string) => string | undefined): Set<string> | undefined {
  if (isOverrideName(file) || !/(^|[/\\])(docker-)?compose\.[^/\\]+\.ya?ml$/i.test(file)) return undefined;
  const names = new Set<string>();
  for (const base of BASE_FILES) {
    const text = read(base);
    if (!text) continue;
    // Only the keys of `services` are needed: nothing is converted, so aliases are not expanded.
    const services = parseDocument(text).get('services', true);
    if (isMap(services)) for (const pair of services.items) if (isScalar(pair.key)) names.add(String(pair.key.value));
  }
  return names;
}

function toPlain(node: unknown, doc: Document.Parsed): unknown {
  return node == null ? undefined : (node as Node).toJS(doc, { maxAliasCount: MAX_ALIAS_COUNT });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Compose's `extends` merge, simplified: mappings merge, the extending service's values win. */
function extendWith(base: Record<string, unknown>, own: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(own)) out[k] = isRecord(out[k]) && isRecord(v) ? extendWith(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/**
 * The services of a Compose document. `base`: for a `compose.<x>.yaml`, the services its base
 * file defines (see baseServiceNames); those of this file are overrides.
 */
export function servicesOf(
  doc: Document.Parsed,
  file: string,
  readBuildFile?: BuildFileReader,
  images?: Settings['images'],
  base?: ReadonlySet<string>,
  /** The variables of the `.env` beside the file (asked only when an image names one). */
  dotenv?: () => Lookup | undefined,
): ComposeService[] {
  const root = doc.contents as YAMLMap;
  const services = root.get("services", true) as unknown as YAMLMap;
  const plain = (toPlain(services, doc) ?? {}) as Record<string, Record<string, unknown>>;
  // One conversion of the whole mapping: aliases resolve through one shared cache, not a walk each.
  const legacy = Object.values(plain).some((v) => isRecord(v) && ('mem_limit' in v || 'cpus' in v || 'pids_limit' in v || 'mem_reservation' in v));
  const resolve = (name: string, seen: Set<string>): Record<string, unknown> => {
    const own = isRecord(plain[name]) ? plain[name] : {};
    const ext = own.extends;
    const baseName = typeof ext === 'string' ? ext : isRecord(ext) && !ext.file ? ext.service : undefined;
    if (typeof baseName !== 'string' || seen.has(baseName) || !(baseName in plain)) return own;
    seen.add(baseName);
    const { extends: _drop, ...rest } = own;
    void _drop;
    return extendWith(resolve(baseName, seen), rest);
  };
  const out: ComposeService[] = [];
  let env: Lookup | undefined;
  for (const pair of services.items as Pair[]) {
    const name = isScalar(pair.key) ? String(pair.key.value) : undefined;
    const node = pair.value;
    if (!name || !isMap(node) || isAlias(node)) continue;
    const effective = resolve(name, new Set([name]));
    const image = typeof effective.image === 'string' ? effective.image : undefined;
    const named = image?.includes('$') ? interpolate(image, (v) => (env ??= dotenv?.() ?? (() => undefined))(v)) : image;
    // A Dockerfile in the tree says what a built image is; else the engine's config of the image (--inspect-images).
    const inspected = named && images && Object.hasOwn(images, named) ? inspectedImage(named, images[named]) : undefined;
    const fromFile = builtImage(effective.build, readBuildFile);
    // A Dockerfile that could not be read (remote, interpolated, outside the tree) yields to the engine's facts.
    const built = fromFile && !fromFile.unread ? fromFile : inspected ?? fromFile;
    out.push({
      name,
      node,
      doc,
      root,
      path: `services.${name}`,
      effective,
      image,
      ...(named !== image ? (named ? { resolvedImage: named } : { unresolvedImage: true }) : {}),
      ...(built ? { built } : {}),
      profile: profileFor(built?.from ?? named, { compose: true, hostNetwork: effective.network_mode === 'host' }),
      // A service that names its own image or build is a whole definition (an alternative file such
      // as docker-compose.images.yml, run alone with -f), not a patch: it is hardened in full.
      override: isOverrideName(file) || ((base?.has(name) ?? false) && effective.image === undefined && effective.build === undefined),
      legacyResources: legacy,
      mergedBy: [],
    });
  }
  for (const svc of out) {
    for (const item of svc.node.items as Pair[]) {
      if (!isScalar(item.key) || typeof item.key.value !== 'symbol') continue;
      const sources = isSeq(item.value) ? (item.value as YAMLSeq).items : [item.value];
      for (const src of sources) {
        const target = isAlias(src) ? resolveAlias(doc, src as Alias) : undefined;
        const base = out.find((o) => o.node === target);
        if (base && base !== svc) base.mergedBy.push(svc);
      }
    }
  }
  return out;
}

const ANCHORS = new WeakMap<Document.Parsed, Map<string, Node[]>>();

/**
 * The node an alias points to: the last node with that anchor before it. The document's anchors
 * are collected once (yaml's own `resolve` walks the whole document for every alias).
 */
export function resolveAlias(doc: Document.Parsed, alias: Alias): Node | undefined {
  let anchors = ANCHORS.get(doc);
  if (!anchors) {
    anchors = new Map();
    const found = anchors;
    // Every node in document order (as yaml's visit), without its per-node bookkeeping.
    const walk = (node: unknown): void => {
      if (node === null || typeof node !== 'object') return;
      if (isPair(node)) {
        walk(node.key);
        walk(node.value);
        return;
      }
      const name = (node as { anchor?: string }).anchor;
      if (name && !isAlias(node)) {
        const list = found.get(name);
        if (list) list.push(node as Node);
        else found.set(name, [node as Node]);
      }
      if (isMap(node) || isSeq(node)) for (const item of (node as YAMLMap).items as unknown[]) walk(item);
    };
    walk(doc.contents);
    ANCHORS.set(doc, anchors);
  }
  const candidates = anchors.get(alias.source) ?? [];
  const at = alias.range?.[0] ?? Infinity;
  return [...candidates].reverse().find((n) => (n.range?.[0] ?? 0) < at) ?? candidates[candidates.length - 1];
}

/** The literal pair of a service key (merged keys are not literal). */
export function ownPair(svc: ComposeService, key: string): Pair | undefined {
  return pairOf(svc.node, key);
}

