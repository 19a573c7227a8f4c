/**
 * Runs the user's own Compose on a copy of their project: `docker compose` (v2), else Debian's
 * `docker-compose` (1.29). Every call names its project (`-p`), so nothing else on the engine is
 * touched. Compose 1.29 rejects two fields cuirass writes (`deploy.resources.limits.pids`, top-level
 * `name`); `compatStep` moves the first to `pids_limit` (which 1.29 honours) and drops the second.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { isMap, parseDocument } from 'yaml';

/** A Compose command line: the program and the arguments that come before the project's. */
export interface ComposeCommand {
  program: string;
  prefix: string[];
  /** `v1` is docker-compose 1.x, which needs `compatStep`. */
  flavor: 'v2' | 'v1';
}

/** What a finished command printed. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell; never rejects (a missing program is code 127). */
export function run(program: string, args: string[], cwd?: string, timeoutMs = 15 * 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(program, args, { cwd, timeout: timeoutMs, maxBuffer: 64 << 20, env: process.env }, (error, stdout, stderr) => {
      const err = error as (NodeJS.ErrnoException & { code?: number | string }) | null;
      const code = !err ? 0 : typeof err.code === 'number' ? err.code : err.code === 'ENOENT' ? 127 : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && !stdout ? err.message : '')) });
    });
  });
}

/** `docker compose` when it answers, else `docker-compose`; undefined when neither exists. */
export async function findCompose(): Promise<ComposeCommand | undefined> {
  const v2 = await run('docker', ['compose', 'version'], undefined, 30_000);
  if (v2.code === 0) return { program: 'docker', prefix: ['compose'], flavor: 'v2' };
  const v1 = await run('docker-compose', ['version', '--short'], undefined, 30_000);
  if (v1.code === 0) return { program: 'docker-compose', prefix: [], flavor: /^1\./.test(v1.stdout.trim()) ? 'v1' : 'v2' };
  return undefined;
}

/**
 * A hardened Compose text as docker-compose 1.29 accepts it, asking the same of the engine:
 * `deploy.resources.limits.pids` becomes `pids_limit` (unless one is set), top-level `name` goes
 * (the project is named with `-p`). The text itself when there is nothing to change. The e2e
 * (e2e/run.mjs) runs its stacks through this too.
 */
export function compat129(text: string): string {
  const doc = parseDocument(text, { merge: true });
  if (doc.errors.length || !isMap(doc.contents)) return text;
  let changed = false;
  if (doc.has('name')) {
    doc.delete('name');
    changed = true;
  }
  const services = doc.get('services');
  if (isMap(services)) {
    for (const pair of services.items) {
      const svc = pair.value;
      if (!isMap(svc)) continue;
      const pids = svc.getIn(['deploy', 'resources', 'limits', 'pids']);
      if (pids === undefined) continue;
      svc.deleteIn(['deploy', 'resources', 'limits', 'pids']);
      if (!svc.has('pids_limit')) svc.set('pids_limit', Number(pids));
      changed = true;
    }
  }
  return changed ? doc.toString() : text;
}

/** `compat129` of a file, in place; whether it changed. */
export function compatStep(file: string): boolean {
  const text = readFileSync(file, 'utf8');
  const out = compat129(text);
  if (out !== text) writeFileSync(file, out);
  return out !== text;
}

/** One Compose project on a copy of the user's folder. */
export class ComposeProject {
  constructor(
    readonly compose: ComposeCommand,
    readonly name: string,
    readonly dir: string,
    readonly files: string[],
  ) {}

  private args(rest: string[]): string[] {
    return [...this.compose.prefix, '-p', this.name, ...this.files.flatMap((f) => ['-f', f]), ...rest];
  }

  /** `up -d --build`: starts the stack; a non-zero code when Compose itself fails. */
  up(): Promise<Ran> {
    return run(this.compose.program, this.args(['up', '-d', '--build']), this.dir);
  }

  /** `down -v --remove-orphans --rmi local`: removes the project's containers, networks, volumes and built images. */
  down(): Promise<Ran> {
    return run(this.compose.program, this.args(['down', '-v', '--remove-orphans', '--rmi', 'local', '-t', '5']), this.dir, 5 * 60_000);
  }

  /** The last `lines` log lines of a service. */
  async logs(service: string, lines = 20): Promise<string> {
    const r = await run(this.compose.program, this.args(['logs', '--no-color', '--tail', String(lines), service]), this.dir, 60_000);
    // docker-compose 1.x starts with "Attaching to <container>": not the service's own output.
    return (r.stdout + r.stderr).split('\n').filter((l) => !/^Attaching to /.test(l)).join('\n').trimEnd();
  }

  /** The service names, as Compose resolves the files (`config --services`). */
  async services(): Promise<{ ok: true; names: string[] } | { ok: false; message: string }> {
    const r = await run(this.compose.program, this.args(['config', '--services']), this.dir, 60_000);
    if (r.code !== 0) return { ok: false, message: r.stderr.trim() || r.stdout.trim() };
    return { ok: true, names: r.stdout.split('\n').map((s) => s.trim()).filter(Boolean) };
  }
}
