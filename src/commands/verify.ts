import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError, findConfig, loadConfig } from '../config.js';
import { TRANSFORMS } from '../../transforms/index.js';
import { UsageError, selectTransforms, splitIds } from '../run.js';
import type { StackDriver, VerifyReport } from '../stack/verify.js';

/** Options of `cuirass verify`, as commander hands them over. */
export interface VerifyCliOptions {
  format?: 'text' | 'json';
  timeout?: string;
  settle?: string;
  bisect: boolean;
  level?: 'restricted' | 'baseline';
  only?: string[];
  skip?: string[];
  config?: string;
  fixDockerSocket?: boolean;
  inspectImages?: boolean;
  quiet?: boolean;
}

function seconds(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} takes a number of seconds, not "${value}"`);
  return n;
}

/**
 * Secret-like literal values of the project (env entries and `.env` lines whose names match the
 * configured patterns): masked wherever a container's log lines are printed.
 */
export function secretValues(dir: string, files: readonly string[], patterns: readonly string[]): string[] {
  const re = new RegExp(patterns.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'i');
  const out = new Set<string>();
  const take = (name: string, value: unknown) => {
    if (re.test(name) && (typeof value === 'string' || typeof value === 'number') && String(value).length > 0) out.add(String(value));
  };
  for (const f of files) {
    try {
      const doc = parseDocument(readFileSync(join(dir, f), 'utf8'), { merge: true }).toJS({ maxAliasCount: 10_000 }) as { services?: Record<string, { environment?: unknown }> };
      for (const svc of Object.values(doc?.services ?? {})) {
        const env = svc?.environment;
        if (Array.isArray(env)) for (const e of env) if (typeof e === 'string' && e.includes('=')) take(e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1));
        if (env && typeof env === 'object' && !Array.isArray(env)) for (const [k, v] of Object.entries(env)) take(k, v);
      }
    } catch {
      /* an unreadable file masks nothing more */
    }
  }
  const dotenv = join(dir, '.env');
  if (existsSync(dotenv)) {
    for (const line of readFileSync(dotenv, 'utf8').split('\n')) {
      const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
      if (m) take(m[1], m[2].trim().replace(/^(['"])(.*)\1$/, '$2'));
    }
  }
  return [...out];
}

/** `cuirass verify [PATH]`. Returns the exit code. */
export async function runVerify(path: string, opts: VerifyCliOptions, driverFor?: (timeoutMs: number, settleMs: number) => Promise<StackDriver | string>): Promise<number> {
  const err = (s: string) => process.stderr.write(s);
  let timeoutMs: number;
  let settleMs: number;
  const hardenArgs: string[] = [];
  let patterns: readonly string[];
  const { composeFilesOf, verifyStack, textReport, interruptRuns } = await import('../stack/verify.js');
  const found = composeFilesOf(path);
  try {
    timeoutMs = seconds(opts.timeout, 180, '--timeout') * 1000;
    settleMs = seconds(opts.settle, 10, '--settle') * 1000;
    // The same transforms as `cuirass` would run there: checked now, handed to each hardening run.
    const ids = TRANSFORMS.map((t) => t.id);
    const config = findConfig(opts.config, found?.dir ?? resolve(path));
    const loaded = loadConfig(config, ids);
    patterns = loaded.settings.secretPatterns;
    selectTransforms(splitIds(opts.only), splitIds(opts.skip));
    if (config) hardenArgs.push('--config', resolve(config));
    if (opts.level) hardenArgs.push('--level', opts.level);
    if (opts.only?.length) hardenArgs.push('--only', splitIds(opts.only).join(','));
    if (opts.skip?.length) hardenArgs.push('--skip', splitIds(opts.skip).join(','));
    if (opts.fixDockerSocket) hardenArgs.push('--fix-docker-socket');
    if (opts.inspectImages) hardenArgs.push('--inspect-images');
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      err(`cuirass: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (!found) {
    err(`cuirass: ${path}: no Compose file (compose.yaml, docker-compose.yml, …) to verify\n`);
    return 2;
  }
  let driver: StackDriver;
  if (driverFor) {
    const d = await driverFor(timeoutMs, settleMs);
    if (typeof d === 'string') {
      err(`cuirass: ${d}\n`);
      return 2;
    }
    driver = d;
  } else {
    const { findCompose } = await import('../stack/compose.js');
    const { engineReachable } = await import('../stack/engine.js');
    const { ComposeDriver } = await import('../stack/driver.js');
    const compose = await findCompose();
    if (!compose) {
      err('cuirass: verify needs Docker Compose (`docker compose`, or `docker-compose`) on the PATH\n');
      return 2;
    }
    if (!(await engineReachable())) {
      err('cuirass: verify needs a running Docker engine (DOCKER_HOST or /var/run/docker.sock)\n');
      return 2;
    }
    driver = new ComposeDriver(compose, { timeoutMs, settleMs });
  }
  const tty = Boolean(process.stderr.isTTY) && !opts.quiet;
  const progress = (line: string) => {
    if (tty) err(`cuirass verify: ${line}\n`);
  };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    err('cuirass verify: interrupted, taking the trial stacks down\n');
    void interruptRuns().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let report: VerifyReport;
  try {
    report = await verifyStack(path, driver, { hardenArgs, bisect: opts.bisect !== false, maxTrials: 12, progress, secrets: secretValues(found.dir, found.files, patterns) });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (opts.format === 'json') process.stdout.write(JSON.stringify({ version: 1, ...report }, null, 2) + '\n');
  else process.stdout.write(textReport(report));
  return report.exitCode;
}
