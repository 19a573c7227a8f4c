import type { Transform } from '../src/types.js';
import { daemonLimits } from './daemon.js';
import { label, mapAt, scalarAt } from './support.js';
import { effectiveAt, setForService, where } from './compose.js';
import type { ComposeService } from './compose.js';
import { profileFor } from './profiles/index.js';
import type { ImageProfile } from './profiles/index.js';

const MEMORY_UNITS: Record<string, number> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, m: 1e-3,
};

/** Parses a Kubernetes quantity ("500m", "1.5", "512Mi", "1e3"); NaN when it is not one. */
export function parseQuantity(value: unknown): number {
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(String(value ?? '').trim());
  if (!m || !(m[2] in MEMORY_UNITS)) return NaN;
  return Number(m[1]) * MEMORY_UNITS[m[2]];
}

/** A Kubernetes memory quantity in Compose's byte syntax: 512Mi → 512M. */
export function composeBytes(quantity: string): string {
  return quantity.replace(/^([0-9.]+)([KMGTPE])i$/, '$1$2').replace(/^([0-9.]+)([kKMGTPE])$/, '$1$2');
}

/** A Kubernetes CPU quantity as Compose cpus: 500m → '0.5'. */
export function composeCpus(quantity: string): string {
  const n = parseQuantity(quantity);
  return Number.isFinite(n) ? String(Math.round(n * 1000) / 1000) : quantity;
}

/** Why a limit is not the generic default, for the message. */
function fitNote(what: string, fit: ImageProfile | undefined, pids: number | null, generic: number): string {
  if (what === 'memory' && fit?.limits?.memory) return ` (${fit.id}: ${fit.limits.why})`;
  if (what === 'pids' && fit?.limits?.pids) return ` (${fit.id}: ${fit.limits.why})`;
  if (what === 'pids' && pids !== generic && fit?.connections) return ` (${fit.id}: a process or thread per connection, and it accepts ${pids! - CONNECTION_HEADROOM})`;
  return '';
}

/** Processes and threads a database runs besides one per connection. */
const CONNECTION_HEADROOM = 100;

/**
 * The pids limit of a service: the generic one, or for a database enough for each connection
 * it accepts (its default, or `max_connections` from its command) plus its own workers.
 */
function pidsFor(svc: ComposeService, fit: ImageProfile | undefined, generic: number): number {
  if (!fit?.connections) return generic;
  const command = [svc.effective.command, svc.effective.entrypoint].flat().filter((v) => v != null).map(String).join(' ');
  const set = /max[_-]connections\s*[= ]\s*(\d+)/.exec(command);
  const connections = set ? Number(set[1]) : fit.connections;
  return Math.max(generic, connections + CONNECTION_HEADROOM);
}

/** OWASP rule 7: bound what a container may consume. */
export default {
  id: 'resource-limits',
  owasp: '7',
  title: 'CPU and memory requests and limits',
  why: 'Without limits one container can starve the node (memory, CPU, fork bombs) and take its neighbours down.',
  changes: {
    kubernetes: 'cpu and memory requests and limits where missing, consistent with what is set; images whose profile knows better get limits that fit them (JVMs, Kafka, ClickHouse: 2-4Gi) or no memory limit and a finding (model servers)',
    compose: 'deploy.resources.limits (memory, cpus, pids), or the legacy keys (mem_limit, cpus, pids_limit) a file already uses, fitted to the image (JVMs and Kafka 2G and 4096 pids, ClickHouse no pids limit, databases pids for every connection); unbounded restart policies reported once per file',
    daemon: 'reports missing default-ulimits (nofile, nproc) with suggested values, and live-restore',
  },
  breaks: 'A container that needs more than the default limit is throttled (CPU) or killed (memory); tune the values per workload. Image profiles raise the defaults for JVMs, Kafka, ClickHouse and databases, and leave a limit out (reported) where no value fits every deployment.',
  severity: 'medium',
  pod(pod, ctx) {
    for (const c of pod.containers) {
      if (c.group === 'ephemeralContainers') continue; // the API forbids resources there
      const resources = mapAt(c.node, ['resources']);
      const fit = profileFor(c.image)?.profile;
      for (const res of ['cpu', 'memory'] as const) {
        const limitRaw = scalarAt(resources, ['limits', res]);
        const requestRaw = scalarAt(resources, ['requests', res]);
        let limit = limitRaw;
        if (limitRaw == null && res === 'memory' && fit?.limits?.memory === null) {
          ctx.report({
            at: resources ?? c.node,
            field: `${c.path}.resources.limits.memory`,
            message: `${label(c)} has no memory limit, and none is set: ${fit.limits.why} (${fit.id})`,
          });
          limit = requestRaw ?? ctx.settings.requests.memory;
        } else if (limitRaw == null) {
          const fallback = res === 'memory' && fit?.limits?.memory ? fit.limits.memory : ctx.settings.limits[res];
          limit = requestRaw != null && parseQuantity(requestRaw) > parseQuantity(fallback) ? requestRaw : fallback;
          const value = limit;
          ctx.report({
            at: resources ?? c.node,
            field: `${c.path}.resources.limits.${res}`,
            message: `${label(c)} has no ${res} limit; ${String(value)} is used${res === 'memory' && fit?.limits?.memory ? ` (${fit.id}: ${fit.limits.why})` : ''}`,
            fix: (f) => f.ensure(c.node, ['resources', 'limits', res], value),
          });
        }
        if (requestRaw == null) {
          const fallback = ctx.settings.requests[res];
          const value = parseQuantity(limit) < parseQuantity(fallback) ? limit : fallback;
          ctx.report({
            at: resources ?? c.node,
            field: `${c.path}.resources.requests.${res}`,
            message: `${label(c)} has no ${res} request; ${String(value)} is used`,
            severity: 'low',
            fix: (f) => f.ensure(c.node, ['resources', 'requests', res], value),
          });
        }
      }
    }
  },

  service(svc, ctx) {
    const { cpu } = ctx.settings.limits;
    const e = svc.effective;
    const fit = svc.profile?.profile;
    const memory = fit?.limits?.memory === undefined ? ctx.settings.limits.memory : fit.limits.memory;
    const pids = fit?.limits?.pids === undefined ? pidsFor(svc, fit, ctx.settings.limits.pids) : fit.limits.pids;
    const limits = (key: string) => effectiveAt(svc, ['deploy', 'resources', 'limits', key]);
    const wanted: { have: boolean; legacy: string; path: string[]; value: unknown; label: string }[] = [
      { have: e.mem_limit != null || limits('memory') != null, legacy: 'mem_limit', path: ['deploy', 'resources', 'limits', 'memory'], value: memory === null ? null : composeBytes(memory), label: 'memory' },
      { have: e.cpus != null || limits('cpus') != null, legacy: 'cpus', path: ['deploy', 'resources', 'limits', 'cpus'], value: composeCpus(cpu), label: 'cpu' },
      { have: e.pids_limit != null || limits('pids') != null, legacy: 'pids_limit', path: ['deploy', 'resources', 'limits', 'pids'], value: pids, label: 'pids' },
    ];
    for (const w of wanted) {
      if (w.have) continue;
      const legacy = svc.legacyResources;
      if (w.value === null) {
        ctx.report({
          at: where(svc, legacy ? w.legacy : 'deploy'),
          field: `${svc.path}.${legacy ? w.legacy : w.path.join('.')}`,
          message: `service "${svc.name}" has no ${w.label} limit, and none is set: ${fit!.limits!.why} (${fit!.id})`,
        });
        continue;
      }
      const value = legacy && w.legacy === 'cpus' ? Number(w.value) : legacy && w.legacy === 'mem_limit' ? String(w.value).toLowerCase() : w.value;
      ctx.report({
        at: where(svc, legacy ? w.legacy : 'deploy'),
        field: `${svc.path}.${legacy ? w.legacy : w.path.join('.')}`,
        message: `service "${svc.name}" has no ${w.label} limit; ${String(value)} is used${fitNote(w.label, fit, pids, ctx.settings.limits.pids)}`,
        fix: (f) => setForService(f, svc, legacy ? [w.legacy] : w.path, value),
      });
    }
  },

  composeFile(services, ctx) {
    // One note for the whole file: the same advice on every service is noise.
    const unbounded = services.filter((svc) => ['always', 'unless-stopped'].includes(String(svc.effective.restart ?? '')));
    if (unbounded.length === 0) return;
    const [first] = unbounded;
    const names = unbounded.slice(0, 5).map((svc) => svc.name).join(', ') + (unbounded.length > 5 ? `, and ${unbounded.length - 5} more` : '');
    ctx.report({
      at: where(first, 'restart'),
      field: 'services.*.restart',
      message: `${unbounded.length === 1 ? 'service' : `${unbounded.length} services`} ${names} restart${unbounded.length === 1 ? 's' : ''} without bound (restart: always or unless-stopped); on-failure:5 limits crash loops`,
      severity: 'low',
    });
  },

  daemon: daemonLimits,
} satisfies Transform;
