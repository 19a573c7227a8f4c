import type { Transform } from '../src/types.js';
import { label, nodeAt, scalarItems, seqAt } from './support.js';

const CAPS = ['securityContext', 'capabilities'];

/** OWASP rule 3: drop every Linux capability; only NET_BIND_SERVICE may be added back. */
export default {
  id: 'drop-capabilities',
  owasp: '3',
  title: 'Drop all capabilities',
  breaks: 'Processes that need a capability (chown on start, raw sockets for ping, changing users) fail with "operation not permitted".',
  severity: 'medium',
  pod(pod, ctx) {
    if (pod.windows) return;
    for (const c of pod.containers) {
      const drop = seqAt(c.node, [...CAPS, 'drop']);
      const drops = scalarItems(drop).map((i) => String(i.value));
      if (!drops.includes('ALL')) {
        ctx.report({
          at: drop ?? nodeAt(c.node, CAPS) ?? c.node,
          field: `${c.path}.securityContext.capabilities.drop`,
          message: `${label(c)} does not drop all capabilities`,
          fix: (f) => f.appendTo(c.node, [...CAPS, 'drop'], 'ALL'),
        });
      }
      const add = seqAt(c.node, [...CAPS, 'add']);
      for (const item of scalarItems(add)) {
        if (item.value === 'NET_BIND_SERVICE') continue;
        ctx.report({
          at: item.node,
          field: `${c.path}.securityContext.capabilities.add`,
          message: `${label(c)} adds capability ${String(item.value)}`,
          severity: 'high',
          behaviorChanging: true,
          fix: (f) => f.removeItem(add!, item.node),
        });
      }
    }
  },
} satisfies Transform;
