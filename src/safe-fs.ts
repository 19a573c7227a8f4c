import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';

/** A file cuirass will not read or write, with a message fit for people. */
export class UnsafeFileError extends Error {
  constructor(
    message: string,
    /** Where the problem is in the file (bytes that are not UTF-8). */
    readonly line = 1,
    readonly col = 1,
  ) {
    super(message);
  }
}

/** What identifies the content of a file as it was read: compared again before it is replaced. */
export interface Stamp {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
}

export function stampOf(st: BigIntStats): Stamp {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs };
}

export function sameStamp(a: Stamp | undefined, b: Stamp | undefined): boolean {
  if (!a || !b) return a === b;
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

/** How a file that is not a regular file is named in messages. */
export function kindOf(st: Stats | BigIntStats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFile()) return 'a regular file';
  return 'not a regular file';
}

/** Where the first byte that is not UTF-8 sits: 1-based line and column (in characters). */
function invalidUtf8At(buf: Buffer): { line: number; col: number } {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  while (i < buf.length) {
    const b = buf[i];
    let n = 0;
    if (b < 0x80) n = 1;
    else if (b >= 0xc2 && b <= 0xdf) n = 2;
    else if (b >= 0xe0 && b <= 0xef) n = 3;
    else if (b >= 0xf0 && b <= 0xf4) n = 4;
    let ok = n > 0 && i + n <= buf.length;
    for (let k = 1; ok && k < n; k++) ok = (buf[i + k] & 0xc0) === 0x80;
    if (ok && n === 3) ok = !(b === 0xe0 && buf[i + 1] < 0xa0) && !(b === 0xed && buf[i + 1] > 0x9f);
    if (ok && n === 4) ok = !(b === 0xf0 && buf[i + 1] < 0x90) && !(b === 0xf4 && buf[i + 1] > 0x8f);
    if (!ok) break;
    if (b === 0x0a) {
      line++;
      lineStart = i + 1;
    }
    i += n;
  }
  const col = [...buf.subarray(lineStart, i).toString('utf8')].length + 1;
  return { line, col };
}

/** `buf` as text; bytes that are not UTF-8 are refused with their position, never replaced. */
export function decodeUtf8(buf: Buffer): string {
  if (isUtf8(buf)) return buf.toString('utf8');
  const { line, col } = invalidUtf8At(buf);
  throw new UnsafeFileError('bytes that are not UTF-8; cuirass keeps files byte for byte, so it leaves this one untouched', line, col);
}

/**
 * Reads a regular file as UTF-8 with its stamp. FIFOs and devices are refused without blocking
 * (opened non-blocking, checked on the open descriptor); `follow: false` refuses a symlink.
 */
export function readRegular(path: string, options: { maxBytes?: number; follow?: boolean } = {}): { text: string; stamp: Stamp } {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.follow === false ? constants.O_NOFOLLOW : 0);
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafeFileError('is a symlink; cuirass does not read or write generated files through one');
    throw e;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw new UnsafeFileError(`not a regular file (${kindOf(st)})`);
    if (options.maxBytes !== undefined && st.size > BigInt(options.maxBytes)) throw new UnsafeFileError(`file is larger than ${options.maxBytes / 1024 / 1024} MiB`);
    const buf = Buffer.allocUnsafe(Number(st.size));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    return { text: decodeUtf8(buf.subarray(0, got)), stamp: stampOf(st) };
  } finally {
    closeSync(fd);
  }
}

/** The longest file name most file systems take (bytes). */
const NAME_MAX = 255;
/** The longest path Linux takes (bytes). */
const PATH_MAX = 4096;

/**
 * Why cuirass cannot write the generated file `rel` (a '/'-separated path) below `folder`, or
 * undefined when it can: every existing part of the path must be a real folder (no symlink),
 * the file itself a regular file or absent, and every name short enough to exist.
 */
export function targetProblem(folder: string, rel: string): string | undefined {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return `${rel} leaves the folder of its manifest`;
  const long = parts.find((p) => Buffer.byteLength(p) > NAME_MAX);
  if (long !== undefined) return `${rel}: the name ${long.slice(0, 40)}… is longer than ${NAME_MAX} bytes (ENAMETOOLONG)`;
  if (Buffer.byteLength(join(folder, rel)) >= PATH_MAX) return `${rel}: the path is longer than ${PATH_MAX} bytes (ENAMETOOLONG)`;
  let path = folder;
  for (let i = 0; i < parts.length; i++) {
    path = join(path, parts[i]);
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      return `${parts.slice(0, i + 1).join('/')}: cannot read (${code ?? String(e)})`;
    }
    const last = i === parts.length - 1;
    const shown = parts.slice(0, i + 1).join('/');
    if (st.isSymbolicLink()) return `${shown} is a symlink; cuirass does not read or write generated files through one (replace it with the file or folder itself)`;
    if (!last && !st.isDirectory()) return `${shown} is ${kindOf(st)}, not a folder`;
    if (last && !st.isFile()) return `${shown} is ${kindOf(st)}, not a regular file`;
  }
  return undefined;
}

/** The text of the generated file `rel` below `folder` (undefined when absent), refused like `targetProblem`. */
export function readGenerated(folder: string, rel: string): string | undefined {
  const problem = targetProblem(folder, rel);
  if (problem) throw new UnsafeFileError(problem);
  try {
    return readRegular(join(folder, rel), { follow: false }).text;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (e instanceof UnsafeFileError) throw new UnsafeFileError(`${rel}: ${e.message}`, e.line, e.col);
    throw e;
  }
}
