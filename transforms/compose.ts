import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Alias, Node, YAMLMap, YAMLSeq } from 'yaml';
import type { Fix } from '../src/engine/index.js';
import { pairOf } from '../src/engine/index.js';
import type { ComposeService } from '../src/compose/model.js';
import { resolveAlias } from '../src/compose/model.js';
import { composeBool } from '../src/compose/values.js';

export type { ComposeService };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The effective value at `path` of a service (merge keys and `extends` resolved). */
export function effectiveAt(svc: ComposeService, path: readonly string[]): unknown {
  let v: unknown = svc.effective;
  for (const key of path) {
    if (!isRecord(v)) return undefined;
    v = v[key];
  }
  return v;
}

function withPath(base: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: Record<string, unknown> = isRecord(base) ? structuredClone(base) : {};
  copy[path[0]] = withPath(copy[path[0]], path.slice(1), value);
  return copy;
}

/**
 * Sets `path` = `value` for one service, where it takes effect for that service alone: in its
 * own mapping. A top-level key that only comes through a merge key (`<<: *common`) is written
 * out in full with the change, so the shared anchor and the other services stay as they are.
 */
export function setForService(f: Fix, svc: ComposeService, path: readonly string[], value: unknown): void {
  const [top, ...rest] = path;
  const pair = pairOf(svc.node, top);
  if (!pair) pinForDependents(f, svc, top);
  if (pair && rest.length > 0 && throughAlias(pair.value, rest)) {
    // A shared piece below (`limits: *lim`): the service gets its own copy, edited.
    f.setValue(pair, withPath(svc.effective[top], rest, value));
    return;
  }
  if (!pair) {
    if (top in svc.effective && rest.length > 0) f.ensure(svc.node, [top], withPath(svc.effective[top], rest, value));
    else f.ensure(svc.node, [top], withPath(undefined, rest, value));
    return;
  }
  const node = pair.value as Node | null;
  if (rest.length > 0 && (isAlias(node) || (node && !isMap(node) && !(isScalar(node) && node.value == null)))) {
    f.setValue(pair, withPath(svc.effective[top], rest, value));
    return;
  }
  if (rest.length === 0 && (isAlias(node) || isMap(node) || isSeq(node) || (typeof value === 'object' && value !== null))) {
    f.setValue(pair, value);
    return;
  }
  f.set(svc.node, path, value);
}

/** True when walking `path` below `node` meets an alias (a mapping shared with others). */
function throughAlias(node: unknown, path: readonly string[]): boolean {
  let current = node;
  for (const key of path.slice(0, -1)) {
    if (isAlias(current)) return true;
    if (!isMap(current)) return false;
    current = pairOf(current as YAMLMap, key)?.value;
  }
  return isAlias(current);
}

/** List settings whose value a merging service must not silently inherit (profile-specific). */
const PINNED_LISTS = new Set(['cap_add', 'tmpfs', 'networks', 'env_file', 'secrets']);

/**
 * A service whose mapping others merge (`db: {<<: *web}`) passes new keys on to them. Before a
 * profile-specific list is added to it, each such service that does not set the key itself gets
 * its current value written out (`cap_add: []`), so only the service being hardened changes.
 */
function pinForDependents(f: Fix, svc: ComposeService, key: string): void {
  if (!PINNED_LISTS.has(key)) return;
  for (const dep of svc.mergedBy) {
    if (pairOf(dep.node, key)) continue;
    const current = dep.effective[key];
    f.ensure(dep.node, [key], Array.isArray(current) ? current : current == null ? [] : [current]);
  }
}

/** Adds `value` to the list `key` of a service, keeping what the list already holds. */
export function appendForService(f: Fix, svc: ComposeService, key: string, value: unknown): void {
  const pair = pairOf(svc.node, key);
  const node = pair?.value as Node | null | undefined;
  if (node && isSeq(node) && !isAlias(node)) {
    f.appendTo(svc.node, [key], value);
    return;
  }
  const current = svc.effective[key];
  const list = Array.isArray(current) ? current : current == null ? [] : [current];
  setForService(f, svc, [key], [...list, value]);
}

/**
 * Takes a setting away from a service: its own pair is removed, unless a merged anchor would
 * then supply the same key, in which case `safe` is written instead.
 */
export function unsetForService(f: Fix, svc: ComposeService, key: string, safe: unknown): void {
  const pair = pairOf(svc.node, key);
  const mergedToo = mergedKeys(svc).has(key);
  if (pair && !mergedToo) f.remove(svc.node, key);
  else setForService(f, svc, [key], safe);
}

/** Keys a service receives through merge keys. */
function mergedKeys(svc: ComposeService): Set<string> {
  const keys = new Set<string>();
  for (const item of svc.node.items) {
    if (!isScalar(item.key) || typeof item.key.value !== 'symbol') continue;
    const sources = isSeq(item.value) ? (item.value as YAMLSeq).items : [item.value];
    for (const src of sources) {
      const resolved = isAlias(src) ? resolveAlias(svc.doc, src as Alias) : src;
      if (isMap(resolved)) for (const p of (resolved as YAMLMap).items) if (isScalar(p.key)) keys.add(String(p.key.value));
    }
  }
  return keys;
}

/** The literal node of a service key, for positions in reports. */
export function ownNode(svc: ComposeService, key: string): Node | undefined {
  return (pairOf(svc.node, key)?.value as Node | undefined) ?? undefined;
}

/** The key node of a service key (where its line starts), else the service itself. */
export function where(svc: ComposeService, key: string): Node {
  const pair = pairOf(svc.node, key);
  return ((pair?.key as Node | undefined) ?? svc.node) as Node;
}

/** The items of a list setting (short string form counts as one item). */
export function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value == null ? [] : [value];
}

/** One entry of a service's `volumes`, short or long syntax. */
export interface VolumeEntry {
  type: 'bind' | 'volume' | 'tmpfs' | 'other';
  source: string;
  target: string;
  /** Short-syntax mode (`ro`, `rw,z`), or '' . */
  mode: string;
  readOnly: boolean;
  /** The literal item in the service's own `volumes` list, when it is there. */
  node?: Node;
  long: boolean;
  /** The short-syntax text as written. */
  raw: string;
}

/** Parses `./conf:/etc/app.conf:ro` and `{type: bind, source, target, read_only}` entries. */
export function volumesOf(svc: ComposeService): VolumeEntry[] {
  const literal = pairOf(svc.node, 'volumes')?.value;
  const nodes = isSeq(literal) && !isAlias(literal) ? (literal.items as Node[]) : [];
  return listOf(svc.effective.volumes).map((v, i) => {
    const node = nodes.length === listOf(svc.effective.volumes).length ? nodes[i] : undefined;
    if (typeof v === 'string') {
      const parts = v.split(':');
      // Windows drive letters (C:\…) are not separators.
      if (parts.length > 1 && /^[A-Za-z]$/.test(parts[0]) && /^[\\/]/.test(parts[1] ?? '')) parts.splice(0, 2, `${parts[0]}:${parts[1]}`);
      const [source, target, mode] = parts.length === 1 ? ['', parts[0], ''] : [parts[0], parts[1] ?? '', parts.slice(2).join(':')];
      const isPath = /^[./~]|^\$\{?[A-Z_]/.test(source) || /^[A-Za-z]:[\\/]/.test(source);
      return { type: !source ? 'volume' : isPath ? 'bind' : 'volume', source, target, mode, readOnly: mode.split(',').includes('ro'), node, long: false, raw: v };
    }
    if (isRecord(v)) {
      const type = v.type === 'bind' || v.type === 'volume' || v.type === 'tmpfs' ? v.type : 'other';
      return { type, source: String(v.source ?? ''), target: String(v.target ?? ''), mode: '', readOnly: composeBool(v.read_only) === true, node, long: true, raw: '' };
    }
    return { type: 'other', source: '', target: '', mode: '', readOnly: false, node, long: false, raw: '' };
  });
}

/** Sets one environment variable of a service, in the list or map form the service uses. */
export function setEnvForService(f: Fix, svc: ComposeService, name: string, value: string): void {
  const literal = pairOf(svc.node, 'environment')?.value as Node | null | undefined;
  const current = svc.effective.environment;
  if (literal && isSeq(literal) && !isAlias(literal)) {
    const item = literal.items.find((i) => isScalar(i) && String(i.value).split('=')[0] === name);
    if (item) f.replace(item as Node, `${name}=${value}`);
    else f.appendTo(svc.node, ['environment'], `${name}=${value}`);
    return;
  }
  if (literal && isMap(literal) && !isAlias(literal)) {
    f.set(svc.node, ['environment', name], value);
    return;
  }
  if (Array.isArray(current)) {
    setForService(f, svc, ['environment'], [...current.filter((e) => String(e).split('=')[0] !== name), `${name}=${value}`]);
  } else setForService(f, svc, ['environment', name], value);
}

/** Entrypoints and commands that start as root and switch users themselves. */
const USER_SWITCHERS = /(^|[\s/"'])(gosu|su-exec|setpriv|s6-setuidgid|chpst|runuser)\s|(^|[\s"'\[])\/init(\s|$|["'\],])/;

/**
 * Why a service must start as root, or undefined: its image profile says so, its entrypoint or
 * command switches users itself (gosu, su-exec, s6-overlay's /init), or it adds NET_ADMIN, which
 * only root can use.
 */
export function rootStartOf(svc: ComposeService): string | undefined {
  if (svc.profile?.profile.startsAsRoot) return svc.profile.profile.startsAsRoot;
  for (const key of ['entrypoint', 'command']) {
    const value = svc.effective[key];
    const text = Array.isArray(value) ? value.map(String).join(' ') : typeof value === 'string' ? value : '';
    const hit = USER_SWITCHERS.exec(` ${text} `);
    if (hit) return `its ${key} ${hit[2] ?? '/init'} switches users itself and must start as root`;
  }
  const caps = listOf(svc.effective.cap_add).map((c) => String(c).replace(/^CAP_/, ''));
  if (caps.includes('NET_ADMIN')) return 'it adds NET_ADMIN, which a non-root user cannot use';
  return undefined;
}
