import { isMap, isSeq } from 'yaml';
import type { LineCounter, Node, YAMLMap } from 'yaml';

/** A 1-based line and column. */
export interface Position {
  line: number;
  col: number;
}

/** `kind/namespace/name` of an object, as a finding's ObjectRef names it. */
export function refKey(kind: unknown, namespace: unknown, name: unknown): string {
  return `${String(kind ?? '')}/${String(namespace ?? '')}/${String(name ?? '')}`;
}

/**
 * Adds where each object of one parsed document starts (line and column of its first key), by
 * refKey, descending into `List` items; the first object of a key keeps its place.
 */
export function addObjectPositions(out: Map<string, Position>, node: Node | null | undefined, lines: LineCounter): void {
  if (!isMap(node)) return;
  const map = node as YAMLMap;
  const meta = map.get('metadata', true) as YAMLMap | undefined;
  const get = (key: string) => (isMap(meta) ? meta.get(key) : undefined);
  const key = refKey(map.get('kind'), get('namespace'), get('name'));
  if (!out.has(key) && map.range) out.set(key, lines.linePos(map.range[0]));
  const items = map.get('items', true);
  if (String(map.get('kind') ?? '').endsWith('List') && isSeq(items)) for (const item of items.items) addObjectPositions(out, item as Node, lines);
}
