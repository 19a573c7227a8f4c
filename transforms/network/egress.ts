import type { ProjectObject, Severity } from '../../src/types.js';
import type { Obj, PolicyPort } from './read.js';
import { kubernetesBoolean, nameOf, nsOf } from './read.js';
import { matchLabels, stableLabels } from './selectors.js';
import type { Workload } from './workloads.js';

/** Ports the API server listens on behind the `kubernetes` Service (443 on managed clusters, 6443 elsewhere). */
export const API_SERVER_PORTS: readonly PolicyPort[] = [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }];

/** True when a workload's pods hold a service account token: a named account whose token is mounted, or a projected token. */
function usesToken(w: Workload, noToken: ReadonlySet<string>): boolean {
  if (w.projectedToken) return true;
  if (w.serviceAccount === '' || w.serviceAccount === 'default') return false;
  return w.automount ?? !noToken.has(`${w.namespace}/${w.serviceAccount}`);
}

/**
 * With --egress: pods that hold a service account token reach the API server on TCP 443 and
 * 6443 at any address (its address is not in the manifests), one policy per workload and one
 * finding for the run; a `Prometheus` object's pods, which the input does not show, are reported.
 */
export function apiServerEgress(
  objects: readonly ProjectObject[],
  workloads: readonly Workload[],
  emit: (dir: string, namespace: string, name: string, spec: Obj) => boolean,
  report: (file: string, o: Obj, message: string, severity: Severity) => void,
): void {
  const noToken = new Set<string>();
  for (const { object: o } of objects) if (o.kind === 'ServiceAccount' && kubernetesBoolean(o.automountServiceAccountToken) === false) noToken.add(`${nsOf(o)}/${nameOf(o)}`);
  const allowed: Workload[] = [];
  for (const w of workloads) {
    if (!usesToken(w, noToken) || Object.keys(w.labels).length === 0) continue;
    const spec = { podSelector: matchLabels(stableLabels(w.labels)), policyTypes: ['Egress'], egress: [{ ports: API_SERVER_PORTS }] };
    if (emit(w.dir, w.namespace, `allow-${w.name}-to-apiserver`, spec)) allowed.push(w);
  }
  if (allowed.length) {
    const named = allowed.slice(0, 3).map((w) => `"${w.name}"`).join(', ') + (allowed.length > 3 ? ` and ${allowed.length - 3} more` : '');
    report(allowed[0].file, allowed[0].obj, `--egress: ${allowed.length} workload${allowed.length > 1 ? 's' : ''} (${named}) use a service account token, so their pods may reach TCP 443 and 6443 at any address (the API server's address is not in the manifests); narrow these allow-*-to-apiserver rules to your control plane's addresses`, 'low');
  }
  for (const o of objects) {
    if (o.object.kind !== 'Prometheus' || !String(o.object.apiVersion).startsWith('monitoring.coreos.com/')) continue;
    report(o.file, o.object, `--egress: the pods prometheus-operator creates for Prometheus "${nameOf(o.object)}" are not in the input; the default-deny egress leaves them DNS only, so allow their egress to the scrape targets and the API server`, 'medium');
  }
}

const PROMETHEUS_SERVER = /(?:^|\/)prometheus(?:[:@]|$)/;

/**
 * With --egress: a Prometheus server of the input scrapes targets the input does not list
 * (kubelets, node exporters, other releases), so its pods keep every egress; one finding says so.
 */
export function scraperEgress(
  workloads: readonly Workload[],
  emit: (dir: string, namespace: string, name: string, spec: Obj) => boolean,
  report: (file: string, o: Obj, message: string, severity: Severity) => void,
): void {
  for (const w of workloads) {
    if (!w.images.some((i) => PROMETHEUS_SERVER.test(i)) || Object.keys(w.labels).length === 0) continue;
    const spec = { podSelector: matchLabels(stableLabels(w.labels)), policyTypes: ['Egress'], egress: [{}] };
    if (emit(w.dir, w.namespace, `allow-${w.name}-to-scrape-targets`, spec)) {
      report(w.file, w.obj, `--egress: ${String(w.obj.kind)} "${w.name}" runs Prometheus, which scrapes targets the input does not list, so its pods keep every egress (allow-${w.name}-to-scrape-targets); narrow it to your targets`, 'low');
    }
  }
}
