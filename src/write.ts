import {
  closeSync, fchmodSync, fchownSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync,
  renameSync, statSync, unlinkSync, writeSync, chownSync, chmodSync,
} from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { kindOf, readRegular, sameStamp, stampOf, UnsafeFileError } from './safe-fs.js';
import type { Stamp } from './safe-fs.js';

/**
 * Every file cuirass writes goes first to a temporary file next to it, named
 * `.<name>.<pid>.<hex>.cuirass-tmp`; the lock of a file is `.<name>.lock.cuirass-tmp`. The
 * .gitignore rule `TEMP_RULE` (written with every other rule) keeps both out of commits, and
 * `removeStaleTemps` removes those of runs that died.
 */
export const TEMP_SUFFIX = '.cuirass-tmp';
const TEMP_NAME = /^\..*\.(\d+)\.[0-9a-f]{12}\.cuirass-tmp$/;
const LOCK_NAME = /^\..*\.lock\.cuirass-tmp$/;
/** Temporary files of cuirass 0.1 (no process id in the name). */
const LEGACY_TEMP_NAME = /^\..+\.cuirass-[0-9a-f]{12}\.tmp$/;
/** How much of the target's name a temporary name repeats (names stay under 255 bytes). */
const NAME_KEPT = 100;
/** How long a run waits for another run's lock on the same file. */
const LOCK_WAIT_MS = 5 * 60_000;
/** A lock still without its holder's pid after this long was left by a run killed at that instant. */
const UNNAMED_LOCK_MS = 10_000;

/** Temporary files and locks this process made and still holds. */
const own = new Set<string>();

function shortName(target: string): string {
  const name = basename(target);
  return Buffer.byteLength(name) > NAME_KEPT ? Buffer.from(name).subarray(0, NAME_KEPT).toString('utf8').replace(/\uFFFD$/, '') : name;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Takes the lock of `target` (waits for a live holder, breaks the lock of a dead one). */
function lock(target: string): string {
  const path = join(dirname(target), `.${shortName(target)}.lock${TEMP_SUFFIX}`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (fd !== undefined) {
      own.add(path);
      try {
        writeAll(fd, Buffer.from(String(process.pid)));
      } catch (e) {
        unlock(path); // a full disk: no lock without its holder's pid is left behind
        throw e;
      } finally {
        closeSync(fd);
      }
      return path;
    }
    let holder = NaN;
    let age = 0;
    try {
      holder = Number(readFileSync(path, 'utf8'));
      age = Date.now() - statSync(path).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    // A lock just created has no pid yet (wait for it); one that never got its pid was killed.
    const known = Number.isInteger(holder) && holder > 0;
    if ((known && !own.has(path) && !alive(holder)) || (!known && age > UNNAMED_LOCK_MS)) {
      tryUnlink(path);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another cuirass run (pid ${holder}) has held ${basename(path)} for ${LOCK_WAIT_MS / 60_000} minutes`);
    sleep(20);
  }
}

function unlock(path: string): void {
  own.delete(path);
  tryUnlink(path);
}

/**
 * Removes the temporary files and locks that runs which died (a SIGKILL, a power cut) left in
 * `dir`. Those of live runs stay.
 */
export function removeStaleTemps(dir: string): void {
  let names: string[];
  try {
    if (!lstatSync(dir).isDirectory()) return; // never through a symlink
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (own.has(path)) continue;
    const temp = TEMP_NAME.exec(name);
    if (temp && !alive(Number(temp[1]))) tryUnlink(path);
    else if (LEGACY_TEMP_NAME.test(name)) tryUnlink(path);
    else if (LOCK_NAME.test(name)) {
      try {
        const holder = Number(readFileSync(path, 'utf8'));
        const known = Number.isInteger(holder) && holder > 0;
        if ((known && !alive(holder)) || (!known && Date.now() - statSync(path).mtimeMs > UNNAMED_LOCK_MS)) tryUnlink(path);
      } catch {
        // gone
      }
    }
  }
}

/** Writes all of `buf`: a short write continues where it stopped; a write that makes no progress fails. */
function writeAll(fd: number, buf: Buffer): void {
  let done = 0;
  while (done < buf.length) {
    const n = writeSync(fd, buf, done, buf.length - done);
    if (!(n > 0)) throw Object.assign(new Error(`ENOSPC: wrote ${done} of ${buf.length} bytes`), { code: 'ENOSPC' });
    done += n;
  }
}

function statOrUndefined(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Creates the missing folders of `dir`, each with `mode` and the owner of the folder it is made in. */
export function makeFolders(dir: string, mode = 0o755): void {
  const parent = dirname(dir);
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    st = undefined;
  }
  if (st) {
    if (!st.isDirectory()) throw new UnsafeFileError(`${dir} is ${kindOf(st)}, not a folder`);
    return;
  }
  if (parent !== dir) makeFolders(parent, mode);
  mkdirSync(dir, { mode });
  chmodSync(dir, mode);
  const owner = statSync(parent);
  try {
    chownSync(dir, owner.uid, owner.gid);
  } catch {
    // not allowed (not root): the folder keeps its creator as owner
  }
}

/** How `writeAtomic` treats the target. */
export interface WriteOptions {
  /** The real target must stay inside this folder (a symlink is written through only then). */
  root?: string;
  /** false: refuse a target that is a symlink at all (generated files). */
  follow?: boolean;
  /** Mode of a new file. */
  newMode?: number;
  /** Mode bits taken away (from the existing or new mode). */
  clearBits?: number;
  /** The target as it was read: a file changed since is refused, not overwritten. */
  expect?: Stamp | null;
}

/** A file changed by someone else between reading and writing. */
export class ChangedError extends Error {}

/**
 * Replaces `path` with `content` atomically, complete or not at all: under the file's lock, a
 * temporary file in the same folder is written in full (every byte counted), given the target's
 * owner, group and mode (a new file: the owner of its folder, `newMode`) minus `clearBits`,
 * flushed, then renamed over the target. `content` may be a function of the current text (a
 * merge): it is computed under the lock, and computed again if the file changes before the rename.
 */
export function writeAtomic(path: string, content: string | ((current: string | undefined) => string), options: WriteOptions = {}): void {
  let target = path;
  const link = (() => {
    try {
      return lstatSync(path).isSymbolicLink();
    } catch {
      return false;
    }
  })();
  if (link && options.follow === false) throw new UnsafeFileError(`${basename(path)} is a symlink; cuirass does not write generated files through one`);
  if (link) target = realpathSync(path);
  if (options.root) {
    const realRoot = realpathSync(options.root);
    const realTarget = link ? target : join(realpathSync(dirname(target)), basename(target));
    if (realTarget !== realRoot && !realTarget.startsWith(realRoot + sep)) {
      throw new UnsafeFileError('refusing to write through a symlink that leaves the input folder');
    }
  }
  const dir = dirname(target);
  makeFolders(dir);
  const held = lock(target);
  let temp: string | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 20) throw new ChangedError(`${basename(target)} kept changing while cuirass wrote it; run again`);
      const before = statOrUndefined(target);
      if (before && !before.isFile()) throw new UnsafeFileError(`${basename(target)} is ${kindOf(before)}, not a regular file`);
      if (options.expect !== undefined && !sameStamp(before ? stampOf(before) : undefined, options.expect ?? undefined)) {
        throw new ChangedError(`${basename(target)} changed since cuirass read it; left as it is now, run again to harden the new content`);
      }
      let text: string;
      if (typeof content === 'function') {
        let current;
        try {
          current = before ? readRegular(target) : undefined;
        } catch (e) {
          if (e instanceof UnsafeFileError) throw new UnsafeFileError(`${basename(target)}: ${e.message}`, e.line, e.col);
          throw e;
        }
        if (current && !sameStamp(current.stamp, stampOf(before!))) continue;
        text = content(current?.text);
      } else text = content;
      const mode = ((before ? Number(before.mode) & 0o7777 : options.newMode ?? 0o644) & ~(options.clearBits ?? 0)) >>> 0;
      const owner = before ?? statSync(dir, { bigint: true });
      temp = join(dir, `.${shortName(target)}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
      const fd = openSync(temp, 'wx', 0o600);
      own.add(temp);
      try {
        try {
          fchownSync(fd, Number(owner.uid), Number(owner.gid));
        } catch (e) {
          // A new file keeps its creator when the folder's owner cannot be given (not root);
          // an existing file is not replaced by one with another owner.
          if (before && (Number(before.uid) !== process.getuid?.() || Number(before.gid) !== process.getgid?.())) {
            throw new UnsafeFileError(`cannot keep the owner ${before.uid}:${before.gid} of ${basename(target)} (${(e as NodeJS.ErrnoException).code})`);
          }
        }
        writeAll(fd, Buffer.from(text, 'utf8'));
        fchmodSync(fd, mode);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      const now = statOrUndefined(target);
      if (!sameStamp(now ? stampOf(now) : undefined, before ? stampOf(before) : undefined)) {
        dropTemp(temp);
        temp = undefined;
        if (typeof content === 'function') continue;
        throw new ChangedError(`${basename(target)} changed while cuirass wrote it; left as it is now, run again`);
      }
      renameSync(temp, target);
      own.delete(temp);
      temp = undefined;
      syncFolder(dir);
      return;
    }
  } catch (e) {
    if (temp) dropTemp(temp);
    throw e;
  } finally {
    unlock(held);
  }
}

function dropTemp(path: string): void {
  tryUnlink(path);
  own.delete(path);
}

/** Flushes a folder's entries (the rename) to disk; file systems that cannot are left as they are. */
function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported here
  }
}
