import { profileFor } from './profiles/index.js';
import type { Transform } from '../src/types.js';
import { label, mapAt, nodeAt, scalarItems, seqAt } from './support.js';
import { appendForService, listOf, rootStartOf, where } from './compose.js';
import { USER_SWITCH_CAPS } from './profiles/families.js';

const CAPS = ['securityContext', 'capabilities'];

/** OWASP rule 3: drop every Linux capability; only NET_BIND_SERVICE may be added back. */
export default {
  id: 'drop-capabilities',
  owasp: '3',
  title: 'Drop all capabilities',
  why: 'Default capabilities (CHOWN, NET_RAW, SETUID, …) are rarely needed and each one widens what an attacker can do.',
  changes: {
    kubernetes: 'every container capabilities.drop: [ALL]; added capabilities other than NET_BIND_SERVICE removed, except what an image that must run as root needs (a VPN client\'s NET_ADMIN), which is kept and reported',
    compose: 'cap_drop: [ALL]; the cap_add an image profile needs is kept (postgres, nginx); a service that must start as root (s6-overlay, mail servers, gosu/su-exec//init entrypoints) gets CHOWN, DAC_OVERRIDE, FOWNER, SETGID and SETUID back; other adds are reported',
  },
  breaks: 'Processes that need a capability (chown on start, raw sockets for ping, changing users) fail with "operation not permitted". Entrypoints that switch users keep what they need for it; anything else they do as root (mknod, raw sockets) needs a cap_add.',
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
      const caps = mapAt(c.node, CAPS);
      // An image that must run as root for a capability (a VPN client's NET_ADMIN) keeps it whole.
      const rootImage = profileFor(c.image)?.profile;
      const kept = (cap: unknown) => cap === 'NET_BIND_SERVICE' || (rootImage?.startsAsRoot !== undefined && rootImage.capAdd.includes(String(cap).replace(/^CAP_/, '')));
      const dropsEveryAdd = scalarItems(add).every((i) => !kept(i.value));
      for (const item of scalarItems(add)) {
        if (kept(item.value)) {
          if (item.value !== 'NET_BIND_SERVICE') {
            ctx.report({
              at: item.node,
              field: `${c.path}.securityContext.capabilities.add`,
              message: `${label(c)} adds capability ${String(item.value)}; kept: ${rootImage!.startsAsRoot} (${rootImage!.id})`,
              severity: 'high',
            });
          }
          continue;
        }
        ctx.report({
          at: item.node,
          field: `${c.path}.securityContext.capabilities.add`,
          message: `${label(c)} adds capability ${String(item.value)}`,
          severity: 'high',
          behaviorChanging: true,
          // When nothing stays, the whole `add` goes rather than leaving `add: []`.
          fix: (f) => (dropsEveryAdd && caps ? f.remove(caps, 'add') : f.removeItem(add!, item.node)),
        });
      }
    }
  },

  service(svc, ctx) {
    const drops = listOf(svc.effective.cap_drop).map(String);
    if (!drops.includes('ALL')) {
      ctx.report({
        at: where(svc, 'cap_drop'),
        field: `${svc.path}.cap_drop`,
        message: `service "${svc.name}" does not drop all capabilities`,
        fix: (f) => appendForService(f, svc, 'cap_drop', 'ALL'),
      });
    }
    const adds = listOf(svc.effective.cap_add).map((c) => String(c).replace(/^CAP_/, ''));
    const profile = svc.profile;
    const user = svc.effective.user;
    // Root stays when run-as-non-root does not change it in this pass (skipped, exempted, or the
    // image must keep root): then the entrypoint needs what the image needs as root.
    const runsAsRoot = (user == null || /^(root|0)(:|$)/.test(String(user))) && !ctx.fixes(`${svc.path}.user`);
    const imageCaps = profile && runsAsRoot ? (profileFor(svc.built?.from ?? svc.image)?.profile.capAdd ?? []) : [];
    const rootStart = runsAsRoot && imageCaps.length === 0 && rootStartOf(svc);
    // An entrypoint that switches users (gosu, su-exec, /init) needs what lets it do so.
    const needed = imageCaps.length ? imageCaps : rootStart && !rootStart.includes('NET_ADMIN') ? USER_SWITCH_CAPS : [];
    for (const cap of needed) {
      if (adds.includes(cap) || adds.includes('ALL')) continue;
      ctx.report({
        at: where(svc, 'cap_add'),
        field: `${svc.path}.cap_add`,
        message: `service "${svc.name}" gets ${cap} back: ${profile?.profile.capAdd.includes(cap) ? profile.profile.id : 'its entrypoint'} needs it once all capabilities are dropped`,
        severity: 'low',
        fix: (f) => appendForService(f, svc, 'cap_add', cap),
      });
    }
    for (const cap of adds) {
      if (cap === 'NET_BIND_SERVICE' || needed.includes(cap)) continue;
      ctx.report({
        at: where(svc, 'cap_add'),
        field: `${svc.path}.cap_add`,
        message: `service "${svc.name}" adds capability ${cap}`,
        severity: cap === 'ALL' || cap === 'SYS_ADMIN' ? 'critical' : 'high',
      });
    }
  },
} satisfies Transform;
