import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The project root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The built CLI: tests run what users run, not the TypeScript sources. */
export const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));
/** The shared corpus, read-only. */
export const CORPUS = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));

/** Runs the built CLI; never throws for a non-zero exit. */
export function cli(args: string[], options: { input?: string; cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    input: options.input ?? '',
    env: { ...process.env, NO_COLOR: '', ...options.env },
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
