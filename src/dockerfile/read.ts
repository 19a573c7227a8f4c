import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { MAX_FILE_BYTES } from '../load.js';

/** True when `path` is `root` or below it. */
function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Reads up to `limit` bytes of `rel` below `root` (SPEC section 7): only a regular file whose
 * real path stays inside the real `root` (no symlink out of the tree, no FIFO or device).
 * Returns the bytes, or why it was not read.
 */
export function readInTree(root: string, rel: string, limit = MAX_FILE_BYTES): { bytes: Buffer } | { refused: string } {
  const path = resolve(root, rel);
  if (!inside(resolve(root), path)) return { refused: 'outside the input folder' };
  let real: string;
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(path);
  } catch {
    return { refused: 'not found' };
  }
  if (!inside(realRoot, real)) return { refused: 'a symlink that leaves the input folder' };
  let fd: number | undefined;
  try {
    const stat = statSync(real);
    if (!stat.isFile()) return { refused: stat.isDirectory() ? 'a folder' : 'not a regular file' };
    if (limit === MAX_FILE_BYTES && stat.size > MAX_FILE_BYTES) return { refused: `larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB` };
    fd = openSync(real, 'r');
    const buf = Buffer.alloc(Math.min(limit, stat.size));
    const n = readSync(fd, buf, 0, buf.length, 0);
    return { bytes: buf.subarray(0, n) };
  } catch (e) {
    return { refused: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A UTF-8 text file below `root`, read as `readInTree` reads; bytes that are not UTF-8 refuse it. */
export function readTextInTree(root: string, rel: string): { text: string } | { refused: string } {
  const read = readInTree(root, rel);
  if ('refused' in read) return read;
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(read.bytes) };
  } catch {
    return { refused: 'not UTF-8 text' };
  }
}
