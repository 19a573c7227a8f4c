/**
 * The real `StackDriver`: the user's Compose for up/down/logs, the engine API for container
 * states, and the built cuirass CLI (a child process) for hardening a copy.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ComposeProject, compatStep, run } from './compose.js';
import type { ComposeCommand } from './compose.js';
import { projectContainers } from './engine.js';
import type { ContainerState, EngineAddress } from './engine.js';
import type { ServiceResult, ServiceState, StackDriver, StackRun } from './verify.js';

export interface DriverOptions {
  /** Give up waiting for services after this long (ms). */
  timeoutMs: number;
  /** A service without a healthcheck works when it stays up this long (ms). */
  settleMs: number;
  /** Poll the engine this often (ms). */
  pollMs?: number;
  address?: EngineAddress;
}

/** The built CLI next to this module (dist/src/stack → dist/src/cli.js). */
function cliPath(): string {
  const here = fileURLToPath(new URL('../cli.js', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Classifies the containers of one service at one moment; `final` when waiting longer changes nothing. */
export function classify(containers: readonly ContainerState[], stableSince: number | undefined, now: number, settleMs: number): { state: ServiceState; detail: string; final: boolean } {
  if (containers.length === 0) return { state: 'missing', detail: 'not created', final: true };
  // Several replicas: the worst one speaks for the service.
  const results = containers.map((c) => one(c));
  const order: ServiceState[] = ['missing', 'exited', 'unhealthy', 'restarting', 'starting', 'running', 'completed', 'healthy'];
  results.sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state));
  return results[0];

  function one(c: ContainerState): { state: ServiceState; detail: string; final: boolean } {
    if (c.restarting) return { state: 'restarting', detail: `restarting (exit code ${c.exitCode}, ${c.restartCount} restarts)`, final: false };
    if (!c.running) {
      if (c.status === 'created') return { state: 'starting', detail: 'created, not started', final: false };
      if (c.exitCode === 0) return { state: 'completed', detail: 'completed (exit code 0)', final: true };
      return { state: 'exited', detail: `exited with code ${c.exitCode}`, final: true };
    }
    if (c.health === 'healthy') return { state: 'healthy', detail: 'healthy', final: true };
    if (c.health === 'unhealthy') return { state: 'unhealthy', detail: 'healthcheck failing', final: true };
    if (c.health === 'starting') return { state: 'starting', detail: 'healthcheck starting', final: false };
    const up = stableSince !== undefined && now - stableSince >= settleMs;
    return { state: up ? 'running' : 'starting', detail: up ? 'running' : `running for less than ${Math.round(settleMs / 1000)} s`, final: up };
  }
}

/** Drives Compose and the engine on this machine. */
export class ComposeDriver implements StackDriver {
  private projects = new Map<string, ComposeProject>();

  constructor(
    readonly compose: ComposeCommand,
    readonly options: DriverOptions,
  ) {}

  async up(project: string, dir: string, files: string[], progress: (line: string) => void): Promise<StackRun> {
    if (this.compose.flavor === 'v1') for (const f of files) compatStep(join(dir, f));
    const p = new ComposeProject(this.compose, project, dir, files);
    this.projects.set(project, p);
    const listed = await p.services();
    if (!listed.ok) return { ok: false, message: listed.message, services: [] };
    const started = await p.up();
    const services = await this.watch(project, listed.names, progress);
    if (started.code !== 0) {
      const message = (started.stderr.trim() || started.stdout.trim()).split('\n').slice(-3).join(' ');
      return { ok: false, message, services };
    }
    return { ok: true, services };
  }

  /** Polls the engine until every service settled or the timeout passed. */
  private async watch(project: string, names: string[], progress: (line: string) => void): Promise<ServiceResult[]> {
    const { timeoutMs, settleMs } = this.options;
    const poll = this.options.pollMs ?? 1000;
    const start = Date.now();
    const stable = new Map<string, { key: string; since: number }>();
    let last: ServiceResult[] = [];
    let said = '';
    for (;;) {
      const now = Date.now();
      const containers = (await projectContainers(project, this.options.address)).filter((c) => !c.oneOff);
      const waiting: string[] = [];
      last = names.map((service) => {
        const mine = containers.filter((c) => c.service === service);
        const key = mine.map((c) => `${c.id}:${c.startedAt}:${c.restartCount}:${c.running}`).join(',');
        const prior = stable.get(service);
        if (!prior || prior.key !== key) stable.set(service, { key, since: now });
        const r = classify(mine, stable.get(service)!.since, now, settleMs);
        if (!r.final) waiting.push(service);
        return { service, state: r.state, detail: r.detail };
      });
      const line = waiting.length ? `waiting for ${waiting.join(', ')}` : '';
      if (line && line !== said) progress(line);
      said = line;
      if (waiting.length === 0 || now - start >= timeoutMs) break;
      await sleep(poll);
    }
    return last.map((s) => (s.state === 'starting' || s.state === 'restarting' || s.state === 'missing' ? { ...s, detail: `${s.detail} after ${Math.round(timeoutMs / 1000)} s` } : s));
  }

  async logs(project: string, service: string): Promise<string> {
    const p = this.projects.get(project);
    return p ? p.logs(service) : '';
  }

  async down(project: string): Promise<void> {
    const p = this.projects.get(project);
    if (!p) return;
    await p.down();
    this.projects.delete(project);
  }

  async harden(dir: string, args: string[]): Promise<{ code: number; stderr: string }> {
    const r = await run(process.execPath, [cliPath(), dir, '--write', '--quiet', ...args], dir);
    return { code: r.code, stderr: r.stderr };
  }

  async findings(dir: string, args: string[]): Promise<{ transform: string; service?: string; status: string; file: string }[]> {
    const r = await run(process.execPath, [cliPath(), dir, '--format', 'json', '--quiet', ...args], dir);
    try {
      const doc = JSON.parse(r.stdout) as { findings: { transform: string; status: string; file: string; object?: { kind: string; name?: string } }[] };
      return doc.findings.map((f) => ({ transform: f.transform, status: f.status, file: f.file, service: f.object?.kind === 'service' ? f.object.name : undefined }));
    } catch {
      return [];
    }
  }
}
