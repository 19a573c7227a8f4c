import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Alias, Document, Node, Pair, YAMLMap, YAMLSeq } from 'yaml';
import { resolveAlias } from '../src/compose/model.js';
import { pairOf } from '../src/engine/index.js';
import type { ComposeService } from './compose.js';

/**
 * The environment a Compose service gets, variable by variable, with the node that holds each
 * value and whether other services share that node through an anchor.
 */

/** One literal variable of the environment a Compose service gets. */
export interface ComposeEnv {
  name: string;
  raw: string;
  /** List item (`- NAME=value`) or mapping pair (`NAME: value`). */
  item?: Node;
  pair?: Pair;
  /** The scalar that holds the value (the item itself for `NAME=value`). */
  value: Node;
  /**
   * Set when the value lives where other services can reach it (an anchored mapping, list or
   * scalar): the anchor's name. Such a value is changed in place, for every service at once.
   */
  shared?: string;
  /** The anchor is on the value itself (`&token value`), not on the mapping or list holding it. */
  sharedScalar?: boolean;
  /** An own value that hides one the mapping merges (`<<: *common`): removing it would expose that one. */
  overrides?: boolean;
  /** A later entry of the same list sets the same name: this value is not in effect. */
  shadowed?: boolean;
  /** Where the entry stands in its list (duplicates of a name are told apart by it). */
  index?: number;
}

/** The YAML merge sources of a mapping (`<<: *a` or `<<: [*a, *b]`), first one first. */
function mergeSources(map: YAMLMap, doc: Document.Parsed): { node: Node; anchor: string }[] {
  const out: { node: Node; anchor: string }[] = [];
  for (const pair of map.items as Pair[]) {
    if (!isScalar(pair.key) || (typeof pair.key.value !== 'symbol' && pair.key.value !== '<<')) continue;
    for (const src of isSeq(pair.value) ? (pair.value as YAMLSeq).items : [pair.value]) {
      if (isAlias(src)) {
        const target = resolveAlias(doc, src as Alias);
        if (target) out.push({ node: target, anchor: (src as Alias).source });
      } else if (isMap(src)) {
        // `<<: &defaults {...}` written in place: shared with whoever aliases it later.
        out.push({ node: src as Node, anchor: (src as { anchor?: string }).anchor ?? 'merged' });
      }
    }
  }
  return out;
}

function isMergeKey(pair: Pair): boolean {
  return isScalar(pair.key) && (typeof pair.key.value === 'symbol' || pair.key.value === '<<');
}

/** The literal variables of an environment list or mapping, merged ones included (own keys win). */
function envEntries(node: Node, doc: Document.Parsed, shared: string | undefined): ComposeEnv[] {
  const anchor = shared ?? (node as { anchor?: string }).anchor;
  const scalarOf = (value: unknown): { node: Node; shared?: string; sharedScalar?: boolean } | undefined => {
    if (isAlias(value)) {
      const target = resolveAlias(doc, value as Alias);
      return isScalar(target) ? { node: target, shared: (value as Alias).source, sharedScalar: true } : undefined;
    }
    if (!isScalar(value)) return undefined;
    const own = (value as { anchor?: string }).anchor;
    return { node: value as Node, shared: own ?? anchor, sharedScalar: Boolean(own) };
  };
  if (isSeq(node)) {
    const entries = node.items.flatMap((item, index): ComposeEnv[] => {
      const s = scalarOf(item);
      const text = s ? String((s.node as { value?: unknown }).value ?? '') : '';
      const eq = text.indexOf('=');
      return s && eq > 0 ? [{ name: text.slice(0, eq), raw: text.slice(eq + 1), item: s.node, value: s.node, shared: s.shared, sharedScalar: s.sharedScalar, index }] : [];
    });
    // Compose keeps the last entry of a name: the earlier ones are not in effect.
    const last = new Map(entries.map((e, i) => [e.name, i]));
    return entries.map((e, i) => (last.get(e.name) === i ? e : { ...e, shadowed: true }));
  }
  if (!isMap(node)) return [];
  const own = (node.items as Pair[]).filter((p) => !isMergeKey(p)).flatMap((pair): ComposeEnv[] => {
    const s = scalarOf(pair.value);
    if (!isScalar(pair.key) || !s || (s.node as { value?: unknown }).value == null) return [];
    return [{ name: String(pair.key.value), raw: String((s.node as { value?: unknown }).value), pair, value: s.node, shared: s.shared, sharedScalar: s.sharedScalar }];
  });
  const seen = new Set(own.map((e) => e.name));
  const hidden = new Set<string>();
  const merged: ComposeEnv[] = [];
  for (const src of mergeSources(node as YAMLMap, doc)) {
    for (const e of envEntries(src.node, doc, src.anchor)) {
      if (seen.has(e.name)) {
        if (own.some((o) => o.name === e.name)) hidden.add(e.name);
        continue;
      }
      seen.add(e.name);
      merged.push(e);
    }
  }
  return [...own.map((e) => (hidden.has(e.name) ? { ...e, overrides: true } : e)), ...merged];
}

/**
 * Every literal variable a service gets from `environment`: its own, those of an aliased or
 * merged mapping, and those of a service-level merge (`<<: *defaults`) from an `x-` block.
 * Merges of another service are left to that service.
 */
export function composeEnv(svc: ComposeService): ComposeEnv[] {
  let node = pairOf(svc.node, 'environment')?.value as Node | undefined;
  let shared: string | undefined;
  if (node === undefined) {
    const services = svc.root.get('services', true) as unknown as YAMLMap;
    const isService = (n: Node) => (services.items as Pair[]).some((p) => p.value === n);
    const base = mergeSources(svc.node, svc.doc).find((src) => isMap(src.node) && pairOf(src.node as YAMLMap, 'environment'));
    if (!base || isService(base.node)) return [];
    node = pairOf(base.node as YAMLMap, 'environment')!.value as Node;
    shared = base.anchor;
  }
  if (isAlias(node)) {
    shared = (node as Alias).source;
    node = resolveAlias(svc.doc, node as Alias);
  }
  return node ? envEntries(node, svc.doc, shared) : [];
}
