import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { MAX_FILE_BYTES } from '../load.js';
import { UnsafeFileError, readRegular } from '../safe-fs.js';

/** True when `path` is `root` or below it. */
function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The real path of `rel` below `root`, or why it is not one cuirass reads (SPEC section 7). */
function realInTree(root: string, rel: string): { real: string } | { refused: string } {
  const path = resolve(root, rel);
  if (!inside(resolve(root), path)) return { refused: 'outside the input folder' };
  try {
    const real = realpathSync(path);
    return inside(realpathSync(root), real) ? { real } : { refused: 'a symlink that leaves the input folder' };
  } catch {
    return { refused: 'not found' };
  }
}

/**
 * The text of `rel` below `root`: only a regular UTF-8 file whose real path stays inside the
 * real `root` (no symlink out of the tree; FIFOs and devices refused without blocking).
 */
export function readTextInTree(root: string, rel: string): { text: string } | { refused: string } {
  const at = realInTree(root, rel);
  if ('refused' in at) return at;
  try {
    return { text: readRegular(at.real, { maxBytes: MAX_FILE_BYTES }).text };
  } catch (e) {
    return { refused: e instanceof UnsafeFileError ? e.message : `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
  }
}

/** The first `limit` bytes of `rel` below `root`, refused like `readTextInTree` (any bytes). */
export function readInTree(root: string, rel: string, limit: number): { bytes: Buffer } | { refused: string } {
  const at = realInTree(root, rel);
  if ('refused' in at) return at;
  let fd: number | undefined;
  try {
    fd = openSync(at.real, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return { refused: 'not a regular file' };
    const buf = Buffer.alloc(limit);
    return { bytes: buf.subarray(0, readSync(fd, buf, 0, limit, 0)) };
  } catch (e) {
    return { refused: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
