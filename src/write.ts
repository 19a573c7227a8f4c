import { closeSync, fsyncSync, mkdirSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, chmodSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Replaces `path` with `text` atomically: a temporary file in the same folder, flushed, given
 * the original mode (`newMode` for a new file) minus `clearBits` (never wider than 0600 until complete), then
 * renamed over the target. A symlink is written through to its target,
 * and only when that target stays inside `root`.
 */
export function writeAtomic(path: string, text: string, root?: string, newMode = 0o644, clearBits = 0): void {
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    // a new file
  }
  if (root) {
    const realRoot = realpathSync(root);
    if (target !== realRoot && !target.startsWith(realRoot + sep)) {
      throw new Error('refusing to write through a symlink that leaves the input folder');
    }
  }
  let mode: number | undefined;
  try {
    mode = statSync(target).mode & 0o7777;
  } catch {
    mode = undefined;
  }
  const finalMode = (mode ?? newMode) & ~clearBits;
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true });
  const temp = join(dir, `.${basename(target)}.cuirass-${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', finalMode & 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(temp);
    throw e;
  }
  closeSync(fd);
  try {
    chmodSync(temp, finalMode);
    renameSync(temp, target);
  } catch (e) {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
    throw e;
  }
}
