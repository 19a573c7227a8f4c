/**
 * A small client of the local Docker Engine API: GET requests over the engine's unix socket
 * (or a plain `tcp://` DOCKER_HOST on this host), JSON answers. No pulls, no writes: cuirass only
 * reads what the engine already has (container states for `verify`, image configs for
 * `--inspect-images`).
 */
import { request } from 'node:http';

/** Where the engine listens: a unix socket path, or a host and port. */
export type EngineAddress = { socketPath: string } | { host: string; port: number };

/** The engine address from DOCKER_HOST (unix:// or tcp://), else the default socket. */
export function engineAddress(env: NodeJS.ProcessEnv = process.env): EngineAddress {
  const host = env.DOCKER_HOST;
  if (!host) return { socketPath: '/var/run/docker.sock' };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const m = /^tcp:\/\/([^:/]+)(?::(\d+))?/.exec(host);
  if (m) return { host: m[1], port: Number(m[2] ?? 2375) };
  return { socketPath: host };
}

/** An answer of the engine that is not 2xx, or no answer. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** GET `path` from the engine and parse the JSON answer. */
export function engineGet<T>(path: string, address: EngineAddress = engineAddress(), timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ ...address, path, method: 'GET', headers: { Host: 'docker' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          let message = body.trim();
          try {
            message = (JSON.parse(body) as { message?: string }).message ?? message;
          } catch {
            /* not JSON */
          }
          reject(new EngineError(`engine answered ${status} for ${path}: ${message}`, status));
          return;
        }
        try {
          resolve(JSON.parse(body) as T);
        } catch {
          reject(new EngineError(`engine answered ${path} with something that is not JSON`));
        }
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new EngineError(`no answer from the engine for ${path} within ${timeoutMs / 1000} s`)));
    req.on('error', (e) => reject(e instanceof EngineError ? e : new EngineError(`cannot reach the Docker engine (${(e as NodeJS.ErrnoException).code ?? e.message})`)));
    req.end();
  });
}

/** True when the engine answers `/_ping`. */
export async function engineReachable(address: EngineAddress = engineAddress()): Promise<boolean> {
  try {
    await new Promise<void>((resolve, reject) => {
      const req = request({ ...address, path: '/_ping', method: 'GET', headers: { Host: 'docker' } }, (res) => {
        res.resume();
        res.on('end', () => ((res.statusCode ?? 0) === 200 ? resolve() : reject(new Error(String(res.statusCode)))));
      });
      req.setTimeout(3000, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
    return true;
  } catch {
    return false;
  }
}

/** What `GET /containers/{id}/json` says of a container, the part verify reads. */
export interface ContainerState {
  id: string;
  service: string;
  status: string;
  running: boolean;
  restarting: boolean;
  exitCode: number;
  startedAt: string;
  restartCount: number;
  /** `healthy`, `unhealthy`, `starting`, or undefined without a healthcheck. */
  health?: string;
  oneOff: boolean;
}

interface InspectAnswer {
  Id: string;
  RestartCount?: number;
  State: { Status: string; Running: boolean; Restarting: boolean; ExitCode: number; StartedAt: string; Health?: { Status: string } };
  Config: { Labels?: Record<string, string> };
}

/** The containers of one Compose project (by its label), with their states. */
export async function projectContainers(project: string, address: EngineAddress = engineAddress()): Promise<ContainerState[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  const list = await engineGet<{ Id: string }[]>(`/containers/json?all=1&filters=${filters}`, address);
  const out: ContainerState[] = [];
  for (const { Id } of list) {
    let c: InspectAnswer;
    try {
      c = await engineGet<InspectAnswer>(`/containers/${Id}/json`, address);
    } catch (e) {
      if (e instanceof EngineError && e.status === 404) continue; // removed meanwhile
      throw e;
    }
    const labels = c.Config.Labels ?? {};
    out.push({
      id: c.Id,
      service: labels['com.docker.compose.service'] ?? '',
      status: c.State.Status,
      running: c.State.Running,
      restarting: c.State.Restarting,
      exitCode: c.State.ExitCode,
      startedAt: c.State.StartedAt,
      restartCount: c.RestartCount ?? 0,
      health: c.State.Health?.Status,
      oneOff: labels['com.docker.compose.oneoff'] === 'True',
    });
  }
  return out;
}

/** What an image's config declares (`GET /images/{name}/json`), the part hardening can use. */
export interface ImageFacts {
  /** `Config.User` as written ('' when the image runs as root by default). */
  user: string;
  /** `Config.ExposedPorts` keys, e.g. `80/tcp`. */
  exposedPorts: string[];
  /** `Config.Volumes` keys: paths the image declares writable. */
  volumes: string[];
}

/** The config of a local image, or undefined when the engine does not have it (never pulls). */
export async function inspectImage(ref: string, address: EngineAddress = engineAddress()): Promise<ImageFacts | undefined> {
  try {
    const img = await engineGet<{ Config?: { User?: string; ExposedPorts?: Record<string, unknown> | null; Volumes?: Record<string, unknown> | null } }>(
      `/images/${encodeURIComponent(ref)}/json`,
      address,
    );
    const c = img.Config ?? {};
    return { user: c.User ?? '', exposedPorts: Object.keys(c.ExposedPorts ?? {}), volumes: Object.keys(c.Volumes ?? {}) };
  } catch (e) {
    if (e instanceof EngineError && e.status === 404) return undefined;
    throw e;
  }
}
