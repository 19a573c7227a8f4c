import { isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Node, Pair, YAMLMap, YAMLSeq } from 'yaml';
import type { GeneratedDoc, SideFile } from './side-effects.js';

/**
 * A structural change to a parsed document, expressed against its nodes. Ops are plans: the
 * renderer turns the ops of one file into text edits, merging those that touch the same place.
 */
export type Op =
  | { kind: 'ensure'; map: YAMLMap; key: string; value: unknown }
  | { kind: 'set-value'; pair: Pair; value: unknown }
  | { kind: 'replace'; node: Node; value: unknown }
  | { kind: 'remove'; map: YAMLMap; pair: Pair }
  | { kind: 'remove-item'; seq: YAMLSeq; item: Node }
  | { kind: 'append'; seq: YAMLSeq; value: unknown }
  | { kind: 'insert-before'; seq: YAMLSeq; item: Node; value: unknown };

/** Key of a pair as a string, or undefined for complex keys. */
export function keyOf(pair: Pair): string | undefined {
  const key = pair.key as unknown;
  if (isScalar(key)) return String(key.value);
  if (typeof key === 'string') return key;
  return undefined;
}

/** The pair of `map` whose key is `key`. */
export function pairOf(map: YAMLMap, key: string): Pair | undefined {
  for (const item of map.items) if (isPair(item) && keyOf(item) === key) return item as Pair;
  return undefined;
}

/** The node at `path` below `node`, following mappings only (no aliases). */
export function nodeAt(node: unknown, path: readonly string[]): Node | undefined {
  let current = node as Node | undefined;
  for (const key of path) {
    if (!current || !isMap(current)) return undefined;
    current = pairOf(current, key)?.value as Node | undefined;
  }
  return current ?? undefined;
}

/** True when a node stands for "nothing": absent, `~`, `null` or an empty value. */
export function isNullish(node: unknown): boolean {
  return node == null || (isScalar(node) && node.value == null);
}

/** Nests `value` under `path`: (['a','b'], 1) → {a: {b: 1}}. */
export function nest(path: readonly string[], value: unknown): unknown {
  return path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
}

/**
 * Collects the ops of one fix. Each method records what is needed and nothing when the
 * document already says it; a place it cannot edit safely (an alias, a scalar where a mapping
 * is expected) is recorded as a refusal instead.
 */
export class Fix {
  /**
   * With `guardMergeKeys`, adding a key to a mapping that also takes keys through `<<` is
   * refused: the merged value it might replace is not visible here. (Compose services, whose
   * effective view is known, pass their own merged values instead.)
   */
  constructor(private readonly options: { guardMergeKeys?: boolean } = {}) {}

  readonly ops: Op[] = [];
  readonly refusals: string[] = [];
  readonly files: SideFile[] = [];
  readonly documents: GeneratedDoc[] = [];

  /** Creates (or merges into) a file next to the input. */
  writeFile(file: SideFile): this {
    this.files.push(file);
    return this;
  }

  /** Adds a generated document (appended to the stream, or written to a sidecar file). */
  addDocument(doc: GeneratedDoc): this {
    this.documents.push(doc);
    return this;
  }

  /** Adds `path` = `value` below `map` unless the last key is already present. */
  ensure(map: YAMLMap, path: readonly string[], value: unknown): this {
    return this.walk(map, path, value, false);
  }

  /** Like `ensure`, but an existing scalar with another value is replaced. */
  set(map: YAMLMap, path: readonly string[], value: unknown): this {
    return this.walk(map, path, value, true);
  }

  /** Replaces the whole value of a pair (an alias, a collection or a scalar) by `value`. */
  setValue(pair: Pair, value: unknown): this {
    if (anchored(pair.value)) return this.refuse(shared(pair.value));
    this.ops.push({ kind: 'set-value', pair, value });
    return this;
  }

  /** Removes the pair `key` from `map`, if present. */
  remove(map: YAMLMap, key: string): this {
    const pair = pairOf(map, key);
    if (pair && anchored(pair.value)) return this.refuse(shared(pair.value));
    if (pair) this.ops.push({ kind: 'remove', map, pair });
    return this;
  }

  /** Removes one item of a sequence. */
  removeItem(seq: YAMLSeq, item: Node): this {
    if (anchored(item)) return this.refuse(shared(item));
    this.ops.push({ kind: 'remove-item', seq, item });
    return this;
  }

  /** Replaces a scalar node by another scalar value. */
  replace(node: Node, value: unknown): this {
    if (isAlias(node) || !isScalar(node)) return this.refuse('the value is not a plain scalar');
    if (anchored(node)) return this.refuse(shared(node));
    this.ops.push({ kind: 'replace', node, value });
    return this;
  }

  /**
   * Replaces a scalar that may carry an anchor, keeping the anchor: every alias of it takes the
   * new value. Only for a value that is right for every alias (a `${VAR}` that reads the same
   * value from elsewhere).
   */
  replaceShared(node: Node, value: unknown): this {
    if (isAlias(node) || !isScalar(node)) return this.refuse('the value is not a plain scalar');
    this.ops.push({ kind: 'replace', node, value });
    return this;
  }

  /** Appends `value` to the sequence at `path` below `map`, creating the sequence if needed. */
  appendTo(map: YAMLMap, path: readonly string[], value: unknown): this {
    const node = nodeAt(map, path);
    if (isNullish(node)) return this.walk(map, path, [value], true);
    if (isAlias(node) || !isSeq(node)) return this.refuse(`${path.join('.')} is not a list that can be edited in place`);
    if (anchored(node)) return this.refuse(shared(node));
    const parent = nodeAt(map, path.slice(0, -1));
    const pair = isMap(parent) ? pairOf(parent, path[path.length - 1]) : undefined;
    if ((node as YAMLSeq).flow && (node as YAMLSeq).items.length === 0 && pair) {
      // `key: []` becomes the new list, in the style of the surrounding block.
      this.ops.push({ kind: 'set-value', pair, value: [value] });
      return this;
    }
    this.ops.push({ kind: 'append', seq: node as YAMLSeq, value });
    return this;
  }

  /**
   * Inserts `value` into a sequence just before `item` (an env var that a later one refers to
   * as `$(NAME)` must come first).
   */
  insertBefore(seq: YAMLSeq, item: Node, value: unknown): this {
    // Like an edit inside a list item, an insertion into an anchored list reaches its aliases.
    if (!seq.items.includes(item)) return this.refuse('the item is not in that list');
    this.ops.push({ kind: 'insert-before', seq, item, value });
    return this;
  }

  /** Records that this fix cannot be made, and why. */
  refuse(reason: string): this {
    this.refusals.push(reason);
    return this;
  }

  private walk(map: YAMLMap, path: readonly string[], value: unknown, override: boolean): this {
    let current = map;
    for (let i = 0; i < path.length; i++) {
      const key = path[i];
      const pair = pairOf(current, key);
      const rest = path.slice(i + 1);
      if (!pair) {
        if (this.options.guardMergeKeys && hasMergeKey(current)) {
          return this.refuse(`${key} may come through a YAML merge key (<<) there; set it by hand`);
        }
        this.ops.push({ kind: 'ensure', map: current, key, value: nest(rest, value) });
        return this;
      }
      const node = pair.value as Node | null;
      if (anchored(node)) return this.refuse(shared(node));
      if (isNullish(node)) {
        if (rest.length === 0 && !override) return this;
        this.ops.push({ kind: 'set-value', pair: pair as Pair, value: nest(rest, value) });
        return this;
      }
      if (rest.length === 0) {
        if (!override) return this;
        if (isScalar(node) && sameScalar(node.value, value)) return this;
        if (isScalar(node) && !isObjectLike(value)) {
          this.ops.push({ kind: 'replace', node, value });
          return this;
        }
        return this.refuse(`${key} holds a structure where a plain value was expected`);
      }
      if (isAlias(node) || !isMap(node)) return this.refuse(`${key} is not a mapping that can be edited in place`);
      if (node.flow && node.items.length === 0) {
        // `key: {}` becomes the new content, in the style of the surrounding block.
        this.ops.push({ kind: 'set-value', pair: pair as Pair, value: nest(rest, value) });
        return this;
      }
      current = node as YAMLMap;
    }
    return this;
  }
}

/** True when a mapping takes keys from others through `<<`. */
function hasMergeKey(map: YAMLMap): boolean {
  return map.items.some((p) => isScalar(p.key) && (typeof p.key.value === 'symbol' || p.key.value === '<<'));
}

/** True for a node that carries an anchor: editing it would change every alias of it too. */
function anchored(node: unknown): boolean {
  return node != null && typeof node === 'object' && 'anchor' in node && Boolean((node as { anchor?: string }).anchor);
}

function shared(node: unknown): string {
  return `the value is shared through the anchor &${(node as { anchor?: string }).anchor}; edit it by hand`;
}

function isObjectLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

function sameScalar(a: unknown, b: unknown): boolean {
  return a === b || (typeof a !== 'object' && typeof b !== 'object' && String(a) === String(b) && typeof a === typeof b);
}
