/**
 * vitest globalSetup: builds the CLI (`npm run build`) once before the suite
 * when `dist/src/cli.js` is missing or older than any file under `src/` or
 * `transforms/`, so that the CLI tests always run what users run.
 *
 * Several test runs may start at once (other engineers, watch mode): a lock
 * directory next to the build output keeps them from running `tsc` into the
 * same `dist/` concurrently; whoever waits re-checks staleness afterwards.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli.js');
const SOURCES = ['src', 'transforms'].map((d) => join(ROOT, d));
const LOCK = join(ROOT, 'dist/.cuirass-build.lock');
/** A lock older than this is left over from a killed build. */
const STALE_LOCK_MS = 5 * 60_000;
const WAIT_MS = 4 * 60_000;

/** The newest modification time of any file below `dir` (0 when it does not exist). */
function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) t = Math.max(t, newest(path));
    else if (entry.isFile()) t = Math.max(t, statSync(path).mtimeMs);
  }
  return t;
}

/** True when the built CLI is missing or older than a source file. */
export function isStale(): boolean {
  if (!existsSync(CLI)) return true;
  const built = statSync(CLI).mtimeMs;
  return SOURCES.some((dir) => newest(dir) > built);
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function acquire(): boolean {
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) return false;
      sleep(250);
    }
  }
}

export default function setup(): void {
  if (!isStale()) return;
  const locked = acquire();
  try {
    // Another run may have built while this one waited.
    if (!isStale()) return;
    try {
      execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    } catch (e) {
      throw new Error(`test/support/build.ts: \`npm run build\` failed, the CLI tests cannot run: ${(e as Error).message}`);
    }
    if (!existsSync(CLI)) throw new Error(`test/support/build.ts: the build did not produce ${CLI}`);
  } finally {
    if (locked) rmSync(LOCK, { recursive: true, force: true });
  }
}
