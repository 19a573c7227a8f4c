export { applyEdits } from './text-edit.js';
export type { TextEdit, AppliedEdits } from './text-edit.js';
export { parseSource, positionOf, MAX_ALIAS_COUNT } from './source.js';
export type { ParsedSource, SourceStyle, SourceError } from './source.js';
export { Fix, keyOf, pairOf, nodeAt, isNullish, nest } from './ops.js';
export type { Op } from './ops.js';
export { renderOps } from './render.js';
export { mergeDocs, mergeFiles, combine, ignoreRule } from './side-effects.js';
export type { SideFile, GeneratedDoc } from './side-effects.js';
