import type { Transform } from '../src/types.js';
import { nodeAt } from './support.js';

/** Levels that keep what an audit needs (`info` is dockerd's default). */
const KEPT = new Set(['info', 'warn', 'error']);

/** OWASP rule 10: keep the Docker daemon's log level at info. */
export default {
  id: 'daemon-log-level',
  owasp: '10',
  title: 'Keep the Docker daemon log level at info',
  why: 'At fatal or panic the daemon hides the events an incident review needs; at debug it writes request details (and sometimes credentials) that nobody reads until they leak.',
  changes: {
    daemon: '"log-level" other than info, warn or error becomes "info", and "debug": true becomes false (debug is behavior-changing)',
  },
  breaks: 'Nothing runs differently; debug output someone relies on for troubleshooting stops (turn it on for the session instead).',
  severity: 'low',
  daemon(config, ctx) {
    // `"debug": true` is debug mode: the daemon logs at debug whatever log-level says.
    if (config.value.debug === true) {
      ctx.report({
        at: nodeAt(config.node, ['debug']),
        field: 'debug',
        message: 'the daemon runs in debug mode ("debug": true logs at debug level whatever log-level says); false is used',
        severity: 'medium',
        behaviorChanging: true,
        fix: (f) => f.set(config.node, ['debug'], false),
      });
    }
    const value = config.value['log-level'];
    if (value === undefined || (typeof value === 'string' && KEPT.has(value.toLowerCase()))) return;
    const debug = typeof value === 'string' && /^(debug|trace)$/i.test(value);
    ctx.report({
      at: nodeAt(config.node, ['log-level']),
      field: 'log-level',
      message: debug
        ? `the daemon logs at ${String(value)}: request details (and what clients send) reach the log; "info" is used`
        : `the daemon logs at ${JSON.stringify(value)}, which hides what an incident review needs; "info" is used`,
      severity: debug ? 'medium' : 'low',
      behaviorChanging: debug,
      fix: (f) => f.set(config.node, ['log-level'], 'info'),
    });
  },
} satisfies Transform;
