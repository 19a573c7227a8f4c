import { isMap, isScalar, isSeq } from 'yaml';
import type { Node, YAMLMap, YAMLSeq } from 'yaml';
import { nodeAt } from '../src/engine/index.js';
import { kubernetesBool } from '../src/kubernetes/values.js';
import type { Container, PodTemplate } from '../src/kubernetes/model.js';

export { nodeAt };
export type { Container, PodTemplate };

/** The scalar value at `path` below `map`, or undefined. */
export function scalarAt(map: unknown, path: readonly string[]): unknown {
  const node = nodeAt(map, path);
  return isScalar(node) ? node.value : undefined;
}

/**
 * The Kubernetes boolean at `path` below `map` as the API server reads it (`yes`, `on`: true),
 * or undefined when it is not a boolean. Every Kubernetes boolean field is read through this.
 */
export function boolAt(map: unknown, path: readonly string[]): boolean | undefined {
  return kubernetesBool(nodeAt(map, path));
}

/** The mapping at `path` below `map`, or undefined. */
export function mapAt(map: unknown, path: readonly string[]): YAMLMap | undefined {
  const node = nodeAt(map, path);
  return isMap(node) ? (node as YAMLMap) : undefined;
}

/** The sequence at `path` below `map`, or undefined. */
export function seqAt(map: unknown, path: readonly string[]): YAMLSeq | undefined {
  const node = nodeAt(map, path);
  return isSeq(node) ? (node as YAMLSeq) : undefined;
}

/** Scalar items of a sequence with their nodes. */
export function scalarItems(seq: YAMLSeq | undefined): { node: Node; value: unknown }[] {
  if (!seq) return [];
  return seq.items.filter(isScalar).map((node) => ({ node: node as Node, value: (node as { value: unknown }).value }));
}

/** Mapping items of a sequence. */
export function mapItems(seq: YAMLSeq | undefined): YAMLMap[] {
  return seq ? (seq.items.filter(isMap) as YAMLMap[]) : [];
}

/** `containers[0] "app"`: how a message names a container. */
export function label(c: Container): string {
  return `${c.group === 'containers' ? 'container' : c.group === 'initContainers' ? 'init container' : 'ephemeral container'} "${c.name}"`;
}

/** The pod's `securityContext` path and each container's, for messages. */
export const POD_SC = ['securityContext'] as const;
export const SC = ['securityContext'] as const;

/** Comments that doubt the value rather than explain it (`# TODO drop`, `# was needed for …`). */
const DOUBT = /\b(todo|fixme|xxx|hack|temporar\w*|supposedly|was needed|used to|drop|remove|no longer|why)\b|\?/i;

/**
 * The reason a comment on the line of an explicit value gives (`user: root # binds port 25`):
 * a few words that do not doubt it. Undefined for no comment, a bare word, or a TODO.
 */
export function reasonOf(node: unknown): string | undefined {
  const comment = isScalar(node) ? node.comment?.trim() : undefined;
  if (!comment || comment.split(/\s+/).length < 3 || DOUBT.test(comment)) return undefined;
  return comment;
}
