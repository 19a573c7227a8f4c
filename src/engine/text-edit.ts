/**
 * A replacement of the half-open range [start, end) of a text by `text`.
 * An empty range inserts; an empty text deletes. Offsets are UTF-16 indices.
 */
export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /**
   * Orders insertions at the same offset (lower first). Insertions at one offset are all
   * applied; the renderer ranks deeper content first so it stays inside its block.
   */
  readonly rank?: number;
}

/** Result of splicing edits into a text: the edits that overlapped an earlier one are returned, not applied. */
export interface AppliedEdits {
  text: string;
  applied: TextEdit[];
  skipped: TextEdit[];
}

/**
 * The only function that rewrites a user's text. Edits are sorted by position; an edit that
 * overlaps one already accepted is skipped, so callers can
 * re-plan and apply it in a later pass.
 */
export function applyEdits(text: string, edits: readonly TextEdit[]): AppliedEdits {
  const order = edits
    .map((edit, index) => ({ edit, index }))
    .sort(
      (a, b) =>
        a.edit.start - b.edit.start ||
        a.edit.end - b.edit.end ||
        (a.edit.rank ?? 0) - (b.edit.rank ?? 0) ||
        a.index - b.index,
    );
  const applied: TextEdit[] = [];
  const skipped: TextEdit[] = [];
  let cursor = -1;
  for (const { edit } of order) {
    const overlaps = edit.start < cursor;
    if (overlaps || edit.start > edit.end || edit.end > text.length) {
      skipped.push(edit);
      continue;
    }
    applied.push(edit);
    cursor = edit.end;
  }
  let out = '';
  let pos = 0;
  for (const edit of applied) {
    out += text.slice(pos, edit.start) + edit.text;
    pos = edit.end;
  }
  out += text.slice(pos);
  return { text: out, applied, skipped };
}
