import type { Level } from '../src/settings.js';
import type { SurveyContext } from '../src/types.js';
import type { PodTemplate } from './support.js';
import { mapItems, nodeAt, reasonOf, scalarAt, scalarItems, seqAt } from './support.js';
import { RESTRICTED_VOLUME_TYPES, exposesRuntimeSocket, podNodeAgentReason, podVolumes } from './volumes.js';
import { SKIP_ANNOTATION } from '../src/exemptions.js';

/** A Pod Security Standard level, weakest first. */
export type PssLevel = 'privileged' | Level;

export const PSS_STRENGTH: Record<PssLevel, number> = { privileged: 0, baseline: 1, restricted: 2 };

/** Capabilities the baseline level allows a container to add. */
const BASELINE_CAPS = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);

/** The strongest level a pod meets once hardened, and what keeps it from the next one. */
export interface PodLevel {
  level: PssLevel;
  why?: string;
}

function skipsOf(pod: PodTemplate): Set<string> {
  const ids = [pod.object.node, pod.metaParent].map((n) => scalarAt(n, ['metadata', 'annotations', SKIP_ANNOTATION]));
  return new Set(ids.flatMap((v) => (v == null ? [] : String(v).split(',').map((s) => s.trim()))));
}

/**
 * Predicts the Pod Security Standard level a pod meets after this run hardens it: what the run's
 * transforms remove or add (at its level, minus what the pod's annotations exempt) is gone, what
 * they keep (host paths, a node agent's host namespaces, a root user the file explains, volume
 * types only a person can replace) stays.
 */
export function levelAfterHardening(pod: PodTemplate, ctx: SurveyContext): PodLevel {
  const skips = skipsOf(pod);
  const adds = (id: string) => ctx.transforms.has(id) && !skips.has(id) && !skips.has('all');
  const removes = (id: string) => ctx.level === 'restricted' && adds(id);
  const agent = podNodeAgentReason(pod);
  const scs = [pod.spec, ...pod.containers.map((c) => c.node)].map((n) => nodeAt(n, ['securityContext']));
  const containerScs = pod.containers.map((c) => nodeAt(c.node, ['securityContext']));
  const baseline: string[] = [];
  for (const v of podVolumes(pod)) {
    if (v.type !== 'hostPath') continue;
    const path = String(scalarAt(v.node, ['hostPath', 'path']) ?? '');
    if (exposesRuntimeSocket(path) && ctx.flags.fixDockerSocket && adds('no-docker-socket')) continue;
    baseline.push(`host path ${path}`);
  }
  const hostNs = ['hostNetwork', 'hostPID', 'hostIPC'].filter((k) => scalarAt(pod.spec, [k]) === true);
  const hostPorts = pod.containers.some((c) => mapItems(seqAt(c.node, ['ports'])).some((p) => Number(scalarAt(p, ['hostPort']) ?? 0) > 0));
  if ((hostNs.length || hostPorts) && (agent || !removes('no-host-namespaces'))) baseline.push(hostNs.length ? hostNs.join(', ') : 'host ports');
  if (!removes('no-privileged') && scs.some((sc) => scalarAt(sc, ['privileged']) === true || (scalarAt(sc, ['procMount']) ?? 'Default') !== 'Default')) baseline.push('privileged');
  const added = containerScs.flatMap((sc) => scalarItems(seqAt(sc, ['capabilities', 'add'])).map((i) => String(i.value).replace(/^CAP_/, '')));
  if (!removes('drop-capabilities') && added.some((c) => !BASELINE_CAPS.has(c))) baseline.push('capabilities');
  const seccompUnconfined = scs.some((sc) => scalarAt(sc, ['seccompProfile', 'type']) === 'Unconfined');
  if (!removes('seccomp') && seccompUnconfined) baseline.push('seccomp Unconfined');
  if (baseline.length) return { level: 'privileged', why: baseline.join(', ') };

  const restricted: string[] = [];
  const forbidden = podVolumes(pod).filter((v) => v.type !== 'hostPath' && !RESTRICTED_VOLUME_TYPES.has(v.type));
  if (forbidden.length) restricted.push(`${forbidden[0].type} volume`);
  const rootUsers = scs.map((sc) => nodeAt(sc, ['runAsUser'])).filter((n) => n !== undefined && Number(scalarAt(n, [])) === 0);
  const rootKept = rootUsers.some((n) => !removes('run-as-non-root') || reasonOf(n) !== undefined);
  if (rootKept || (!removes('run-as-non-root') && scs.some((sc) => scalarAt(sc, ['runAsNonRoot']) === false))) restricted.push('root user');
  else if (!adds('run-as-non-root') && scalarAt(pod.spec, ['securityContext', 'runAsNonRoot']) !== true && !containerScs.every((sc) => scalarAt(sc, ['runAsNonRoot']) === true)) restricted.push('runAsNonRoot');
  if (!removes('no-new-privileges') && containerScs.some((sc) => scalarAt(sc, ['allowPrivilegeEscalation']) === true)) restricted.push('allowPrivilegeEscalation');
  else if (!adds('no-new-privileges') && containerScs.some((sc) => scalarAt(sc, ['allowPrivilegeEscalation']) !== false)) restricted.push('allowPrivilegeEscalation');
  if (!removes('drop-capabilities') && added.some((c) => c !== 'NET_BIND_SERVICE')) restricted.push('capabilities');
  else if (!adds('drop-capabilities') && containerScs.some((sc) => !scalarItems(seqAt(sc, ['capabilities', 'drop'])).some((i) => i.value === 'ALL'))) restricted.push('capabilities');
  if (!adds('seccomp') && !scs.some((sc) => scalarAt(sc, ['seccompProfile', 'type']) != null)) restricted.push('seccomp');
  if (ctx.level === 'baseline' && restricted.length === 0) return { level: 'baseline', why: 'the run is at the baseline level' };
  return restricted.length ? { level: 'baseline', why: restricted.join(', ') } : { level: 'restricted' };
}
