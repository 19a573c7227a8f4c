import type { Transform } from '../src/types.js';
import { label, mapAt, scalarAt } from './support.js';

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

/** OWASP rule 7: bound what a container may consume. */
export default {
  id: 'resource-limits',
  owasp: '7',
  title: 'CPU and memory requests and limits',
  breaks: 'A container that needs more than the default limit is throttled (CPU) or killed (memory); tune the values per workload.',
  severity: 'medium',
  pod(pod, ctx) {
    for (const c of pod.containers) {
      if (c.group === 'ephemeralContainers') continue; // the API forbids resources there
      const resources = mapAt(c.node, ['resources']);
      for (const res of ['cpu', 'memory'] as const) {
        const limitRaw = scalarAt(resources, ['limits', res]);
        const requestRaw = scalarAt(resources, ['requests', res]);
        let limit = limitRaw;
        if (limitRaw == null) {
          const fallback = ctx.settings.limits[res];
          limit = requestRaw != null && parseQuantity(requestRaw) > parseQuantity(fallback) ? requestRaw : fallback;
          const value = limit;
          ctx.report({
            at: resources ?? c.node,
            field: `${c.path}.resources.limits.${res}`,
            message: `${label(c)} has no ${res} limit; ${String(value)} is used`,
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
} satisfies Transform;
