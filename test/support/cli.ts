/**
 * Runs the BUILT CLI (`dist/src/cli.js`, produced by `npm run build`, see
 * `test/support/build.ts`) the way users run it: a separate node process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The project root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The built CLI. */
export const CLI_PATH = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));
/** The shared, read-only corpus (`../shared/corpus` from the project root). */
export const CORPUS = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));

export interface CliOptions {
  /** Bytes for stdin (empty when omitted). */
  input?: string | Buffer;
  /** Working directory (the project root when omitted). */
  cwd?: string;
  /** Extra environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The environment for a run: the current one without color switches, plus `extra`. */
function environment(extra: CliOptions['env']): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Runs `node dist/src/cli.js ...args` synchronously; never throws for a non-zero exit. */
export function runCli(args: string[], options: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI_PATH, ...args], {
    cwd: options.cwd ?? ROOT,
    input: options.input ?? '',
    env: environment(options.env),
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
    // A guard against a hung CLI only: a slow, busy machine must never fail a test here.
    timeout: 900_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same as {@link runCli}, without blocking: for running many fixtures side by side. */
export function runCliAsync(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      cwd: options.cwd ?? ROOT,
      env: environment(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => {
      // the CLI may exit before reading all of stdin; its status tells
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs `task` over `items` with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
