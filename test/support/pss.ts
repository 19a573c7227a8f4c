/**
 * An independent Pod Security Standards checker for tests: the checks of the
 * pod-security-admission library at policy version "latest" (v1.37), applied
 * to plain parsed Kubernetes objects. Upstream semantics are kept exactly,
 * including the v1.35 `hostUsers: false` relaxations, the Windows exemptions
 * and the restricted checks that replace ("override") baseline ones.
 */

/** One field of one pod spec that breaks a Pod Security Standards check. */
export interface PssViolation {
  /** Upstream check id, e.g. `hostNamespaces` or `seccompProfile_restricted`. */
  check: string;
  /** Dotted path of the offending field, e.g. `spec.template.spec.hostNetwork`. */
  path: string;
  message: string;
  /** True for volume checks, which only a person can fix. */
  volume: boolean;
}

type Level = 'baseline' | 'restricted';
type Obj = Record<string, any>;

interface Finding {
  path: string;
  message: string;
}

interface Pod {
  spec: Obj;
  meta: Obj;
  /** Dotted path of a field below the pod spec. */
  at(field: string): string;
  /** Path of a metadata annotation. */
  annotationAt(key: string): string;
}

interface Container {
  name: string;
  path: string;
  body: Obj;
  sc: Obj | undefined;
}

interface Check {
  id: string;
  level: Level;
  /** Baseline checks this restricted check replaces at the restricted level. */
  overrides?: string[];
  volume?: boolean;
  run(pod: Pod): Finding[];
}

interface LocatedPod {
  path: string;
  metaPath: string;
  meta: Obj;
  spec: Obj;
}

const obj = (v: unknown): Obj | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const join = (...parts: string[]): string => parts.filter(Boolean).join('.');
const q = (v: unknown): string => JSON.stringify(String(v ?? ''));
const isSet = (v: unknown): boolean => v !== undefined && v !== null;

// ---- locating pod specs ----------------------------------------------------

/** Where the object holding a pod's `metadata` and `spec` sits, per kind. */
const POD_HOLDER: Record<string, string[]> = {
  Pod: [],
  PodTemplate: ['template'],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

function locatePods(value: unknown, prefix: string): LocatedPod[] {
  const o = obj(value);
  const kind = o?.kind;
  if (!o || typeof kind !== 'string') return [];
  if (kind.endsWith('List')) {
    return arr(o.items).flatMap((item, i) => locatePods(item, join(prefix, `items[${i}]`)));
  }
  const segments = Object.hasOwn(POD_HOLDER, kind) ? POD_HOLDER[kind] : undefined;
  if (!segments) return [];
  const holder = segments.reduce<Obj | undefined>((node, key) => obj(node?.[key]), o);
  const spec = obj(holder?.spec);
  if (!spec) return [];
  return [{
    path: join(prefix, ...segments, 'spec'),
    metaPath: join(prefix, ...segments, 'metadata'),
    meta: obj(holder?.metadata) ?? {},
    spec,
  }];
}

/**
 * The pod specs inside a Kubernetes object: Pod, PodTemplate, the workload
 * controllers, CronJob, and the items of a List. Other kinds give [].
 */
export function podSpecsOf(obj: unknown): { path: string; meta: any; spec: any }[] {
  return locatePods(obj, '').map(({ path, meta, spec }) => ({ path, meta, spec }));
}

function toPod(located: LocatedPod): Pod {
  return {
    spec: located.spec,
    meta: located.meta,
    at: (field) => join(located.path, field),
    annotationAt: (key) => `${join(located.metaPath, 'annotations')}[${key}]`,
  };
}

/** initContainers, containers and ephemeralContainers, in upstream's order. */
function containers(pod: Pod): Container[] {
  return ['initContainers', 'containers', 'ephemeralContainers'].flatMap((list) =>
    arr(pod.spec[list]).flatMap((entry, i) => {
      const body = obj(entry);
      if (!body) return [];
      const path = pod.at(`${list}[${i}]`);
      return [{ name: String(body.name ?? ''), path, body, sc: obj(body.securityContext) }];
    }),
  );
}

const podSc = (pod: Pod): Obj | undefined => obj(pod.spec.securityContext);
const isWindows = (pod: Pod): boolean => obj(pod.spec.os)?.name === 'windows';
const inUserNamespace = (pod: Pod): boolean => pod.spec.hostUsers === false;

/** The pod-level security context followed by every container's, each with its path. */
function securityContexts(pod: Pod): { who: string; sc: Obj | undefined; path: string }[] {
  return [
    { who: 'pod', sc: podSc(pod), path: pod.at('securityContext') },
    ...containers(pod).map((c) => ({ who: `container ${q(c.name)}`, sc: c.sc, path: `${c.path}.securityContext` })),
  ];
}

// ---- baseline checks -------------------------------------------------------

/** hostNetwork, hostPID and hostIPC must be unset or false. */
function hostNamespaces(pod: Pod): Finding[] {
  return ['hostNetwork', 'hostPID', 'hostIPC']
    .filter((field) => pod.spec[field] === true)
    .map((field) => ({ path: pod.at(field), message: `pod must not set ${field}=true` }));
}

/** No container may be privileged. */
function privileged(pod: Pod): Finding[] {
  return containers(pod)
    .filter((c) => c.sc?.privileged === true)
    .map((c) => ({
      path: `${c.path}.securityContext.privileged`,
      message: `container ${q(c.name)} must not set securityContext.privileged=true`,
    }));
}

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD',
  'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);

function addedCapabilities(pod: Pod, allowed: (cap: string) => boolean): Finding[] {
  return containers(pod).flatMap((c) =>
    arr(obj(c.sc?.capabilities)?.add).flatMap((cap, j) =>
      allowed(String(cap)) ? [] : [{
        path: `${c.path}.securityContext.capabilities.add[${j}]`,
        message: `container ${q(c.name)} must not add capability ${q(cap)}`,
      }],
    ),
  );
}

/** Added capabilities must come from the baseline set (exact, case-sensitive). */
function capabilitiesBaseline(pod: Pod): Finding[] {
  return addedCapabilities(pod, (cap) => BASELINE_CAPABILITIES.has(cap));
}

function volumes(pod: Pod): { volume: Obj; name: string; path: string }[] {
  return arr(pod.spec.volumes).flatMap((entry, i) => {
    const volume = obj(entry);
    return volume ? [{ volume, name: String(volume.name ?? ''), path: pod.at(`volumes[${i}]`) }] : [];
  });
}

/** No hostPath volumes. */
function hostPathVolumes(pod: Pod): Finding[] {
  return volumes(pod)
    .filter((v) => isSet(v.volume.hostPath))
    .map((v) => ({ path: `${v.path}.hostPath`, message: `volume ${q(v.name)} must not use hostPath` }));
}

/** Container ports must not set a non-zero hostPort. */
function hostPorts(pod: Pod): Finding[] {
  return containers(pod).flatMap((c) =>
    arr(c.body.ports).flatMap((port, j) => {
      const hostPort = obj(port)?.hostPort;
      return isSet(hostPort) && Number(hostPort) !== 0 ? [{
        path: `${c.path}.ports[${j}].hostPort`,
        message: `container ${q(c.name)} must not use hostPort ${hostPort}`,
      }] : [];
    }),
  );
}

const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';
const ALLOWED_PROFILE_TYPES = new Set(['RuntimeDefault', 'Localhost']);

function allowedAppArmorAnnotation(value: string): boolean {
  return value === '' || value === 'runtime/default' || value.startsWith('localhost/');
}

/** Profile `type`s (AppArmor or seccomp) at pod and container level that are set but not allowed. */
function badProfileTypes(pod: Pod, field: string): Finding[] {
  return securityContexts(pod).flatMap(({ who, sc, path }) => {
    const profile = obj(sc?.[field]);
    return profile && !ALLOWED_PROFILE_TYPES.has(profile.type) ? [{
      path: `${path}.${field}.type`,
      message: `${who} must not set ${field}.type to ${q(profile.type)}`,
    }] : [];
  });
}

/** AppArmor: field types RuntimeDefault/Localhost; beta annotations runtime/default or localhost/*. */
function appArmorProfile(pod: Pod): Finding[] {
  const annotations = Object.entries(obj(pod.meta.annotations) ?? {})
    .filter(([key, value]) =>
      key.startsWith(APPARMOR_ANNOTATION_PREFIX) && !allowedAppArmorAnnotation(String(value ?? '')))
    .map(([key, value]) => ({
      path: pod.annotationAt(key),
      message: `annotation ${key} must not set AppArmor profile ${q(value)}`,
    }));
  return [...badProfileTypes(pod, 'appArmorProfile'), ...annotations];
}

const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

/** seLinuxOptions: type from the allowed set; user and role empty. */
function seLinuxOptions(pod: Pod): Finding[] {
  return securityContexts(pod).flatMap(({ who, sc, path }) => {
    const opts = obj(sc?.seLinuxOptions);
    if (!opts) return [];
    const at = (field: string) => `${path}.seLinuxOptions.${field}`;
    const findings: Finding[] = [];
    if (!SELINUX_TYPES.has(String(opts.type ?? ''))) {
      findings.push({ path: at('type'), message: `${who} must not set seLinuxOptions.type ${q(opts.type)}` });
    }
    for (const field of ['user', 'role']) {
      if (String(opts[field] ?? '') !== '') {
        findings.push({ path: at(field), message: `${who} must not set seLinuxOptions.${field}` });
      }
    }
    return findings;
  });
}

function unmaskedProcMounts(pod: Pod): Finding[] {
  return containers(pod)
    .filter((c) => isSet(c.sc?.procMount) && c.sc?.procMount !== 'Default')
    .map((c) => ({
      path: `${c.path}.securityContext.procMount`,
      message: `container ${q(c.name)} must not set securityContext.procMount to ${q(c.sc?.procMount)}`,
    }));
}

/** procMount must be unset or Default, except in a user-namespace pod (hostUsers: false). */
function procMount(pod: Pod): Finding[] {
  return inUserNamespace(pod) ? [] : unmaskedProcMounts(pod);
}

/** seccompProfile.type, where set, must be RuntimeDefault or Localhost. */
function seccompProfileBaseline(pod: Pod): Finding[] {
  return badProfileTypes(pod, 'seccompProfile');
}

const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ip_local_reserved_ports', // 1.27
  'net.ipv4.tcp_keepalive_time', // 1.29
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem', // 1.32
  'net.ipv4.tcp_wmem',
  'net.ipv4.tcp_slow_start_after_idle', // 1.37
  'net.ipv4.tcp_notsent_lowat',
]);

/** Pod sysctls must come from the safe set. */
function sysctls(pod: Pod): Finding[] {
  return arr(podSc(pod)?.sysctls).flatMap((entry, i) => {
    const name = obj(entry)?.name;
    return SAFE_SYSCTLS.has(String(name)) ? [] : [{
      path: pod.at(`securityContext.sysctls[${i}].name`),
      message: `pod must not set unsafe sysctl ${q(name)}`,
    }];
  });
}

/** windowsOptions.hostProcess must not be true at pod or container level. */
function windowsHostProcess(pod: Pod): Finding[] {
  return securityContexts(pod)
    .filter(({ sc }) => obj(sc?.windowsOptions)?.hostProcess === true)
    .map(({ who, path }) => ({
      path: `${path}.windowsOptions.hostProcess`,
      message: `${who} must not set securityContext.windowsOptions.hostProcess=true`,
    }));
}

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'];
const LIFECYCLE_HANDLERS = ['postStart', 'preStop'];

/** Probes and lifecycle handlers must not set httpGet.host or tcpSocket.host. */
function hostProbesAndHostLifecycle(pod: Pod): Finding[] {
  return containers(pod).flatMap((c) => {
    const lifecycle = obj(c.body.lifecycle);
    const handlers = [
      ...PROBES.map((probe) => ({ handler: obj(c.body[probe]), path: `${c.path}.${probe}` })),
      ...LIFECYCLE_HANDLERS.map((hook) => ({ handler: obj(lifecycle?.[hook]), path: `${c.path}.lifecycle.${hook}` })),
    ];
    return handlers.flatMap(({ handler, path }) =>
      ['httpGet', 'tcpSocket'].flatMap((action) => {
        const host = obj(handler?.[action])?.host;
        return isSet(host) && host !== '' ? [{
          path: `${path}.${action}.host`,
          message: `container ${q(c.name)} must not use probe or lifecycle host ${q(host)}`,
        }] : [];
      }),
    );
  });
}

// ---- restricted checks -----------------------------------------------------

const ALLOWED_VOLUME_SOURCES = [
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret',
];

/**
 * Only the allowed volume sources. A volume with no source at all is allowed:
 * the API server defaults it to emptyDir before admission.
 */
function restrictedVolumes(pod: Pod): Finding[] {
  return volumes(pod).flatMap(({ volume, name, path }) => {
    const sources = Object.keys(volume).filter((key) => key !== 'name' && isSet(volume[key]));
    if (sources.length === 0 || sources.some((key) => ALLOWED_VOLUME_SOURCES.includes(key))) return [];
    return [{ path, message: `volume ${q(name)} uses restricted volume type ${q(sources[0])}` }];
  });
}

/** Every container must set allowPrivilegeEscalation=false (Windows pods exempt). */
function allowPrivilegeEscalation(pod: Pod): Finding[] {
  if (isWindows(pod)) return [];
  return containers(pod)
    .filter((c) => c.sc?.allowPrivilegeEscalation !== false)
    .map((c) => ({
      path: `${c.path}.securityContext.allowPrivilegeEscalation`,
      message: `container ${q(c.name)} must set securityContext.allowPrivilegeEscalation=false`,
    }));
}

/**
 * runAsNonRoot=true at pod level or on every container, and false nowhere
 * (skipped for user-namespace pods).
 */
function runAsNonRoot(pod: Pod): Finding[] {
  if (inUserNamespace(pod)) return [];
  const podValue = podSc(pod)?.runAsNonRoot;
  const findings: Finding[] = [];
  if (isSet(podValue) && podValue !== true) {
    findings.push({ path: pod.at('securityContext.runAsNonRoot'), message: 'pod must not set securityContext.runAsNonRoot=false' });
  }
  for (const c of containers(pod)) {
    const value = c.sc?.runAsNonRoot;
    const path = `${c.path}.securityContext.runAsNonRoot`;
    if (isSet(value) && value !== true) {
      findings.push({ path, message: `container ${q(c.name)} must not set securityContext.runAsNonRoot=false` });
    } else if (!isSet(value) && podValue !== true) {
      findings.push({ path, message: `pod or container ${q(c.name)} must set securityContext.runAsNonRoot=true` });
    }
  }
  return findings;
}

/** runAsUser must not be 0 at pod or container level (skipped for user-namespace pods). */
function runAsUser(pod: Pod): Finding[] {
  if (inUserNamespace(pod)) return [];
  return securityContexts(pod)
    .filter(({ sc }) => sc?.runAsUser === 0)
    .map(({ who, path }) => ({ path: `${path}.runAsUser`, message: `${who} must not set runAsUser=0` }));
}

/**
 * seccompProfile.type RuntimeDefault or Localhost at pod level or on every
 * container, never anything else (Windows pods exempt).
 */
function seccompProfileRestricted(pod: Pod): Finding[] {
  if (isWindows(pod)) return [];
  const podType = obj(podSc(pod)?.seccompProfile)?.type;
  const implicit = ALLOWED_PROFILE_TYPES.has(podType) ? [] : containers(pod)
    .filter((c) => !obj(c.sc?.seccompProfile))
    .map((c) => ({
      path: `${c.path}.securityContext.seccompProfile`,
      message: `pod or container ${q(c.name)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    }));
  return [...badProfileTypes(pod, 'seccompProfile'), ...implicit];
}

/** Every container drops ALL and adds nothing but NET_BIND_SERVICE (Windows pods exempt). */
function capabilitiesRestricted(pod: Pod): Finding[] {
  if (isWindows(pod)) return [];
  const missingDrop = containers(pod)
    .filter((c) => !arr(obj(c.sc?.capabilities)?.drop).includes('ALL'))
    .map((c) => ({
      path: `${c.path}.securityContext.capabilities.drop`,
      message: `container ${q(c.name)} must set securityContext.capabilities.drop=["ALL"]`,
    }));
  return [...missingDrop, ...addedCapabilities(pod, (cap) => cap === 'NET_BIND_SERVICE')];
}

/** procMount must be unset or Default, even in a user-namespace pod. */
function procMountRestricted(pod: Pod): Finding[] {
  return unmaskedProcMounts(pod);
}

// ---- registry --------------------------------------------------------------

const CHECKS: Check[] = [
  { id: 'hostNamespaces', level: 'baseline', run: hostNamespaces },
  { id: 'privileged', level: 'baseline', run: privileged },
  { id: 'capabilities_baseline', level: 'baseline', run: capabilitiesBaseline },
  { id: 'hostPathVolumes', level: 'baseline', volume: true, run: hostPathVolumes },
  { id: 'hostPorts', level: 'baseline', run: hostPorts },
  { id: 'appArmorProfile', level: 'baseline', run: appArmorProfile },
  { id: 'seLinuxOptions', level: 'baseline', run: seLinuxOptions },
  { id: 'procMount', level: 'baseline', run: procMount },
  { id: 'seccompProfile_baseline', level: 'baseline', run: seccompProfileBaseline },
  { id: 'sysctls', level: 'baseline', run: sysctls },
  { id: 'windowsHostProcess', level: 'baseline', run: windowsHostProcess },
  { id: 'hostProbesAndHostLifecycle', level: 'baseline', run: hostProbesAndHostLifecycle },
  { id: 'restrictedVolumes', level: 'restricted', overrides: ['hostPathVolumes'], volume: true, run: restrictedVolumes },
  { id: 'allowPrivilegeEscalation', level: 'restricted', run: allowPrivilegeEscalation },
  { id: 'runAsNonRoot', level: 'restricted', run: runAsNonRoot },
  { id: 'runAsUser', level: 'restricted', run: runAsUser },
  { id: 'seccompProfile_restricted', level: 'restricted', overrides: ['seccompProfile_baseline'], run: seccompProfileRestricted },
  { id: 'capabilities_restricted', level: 'restricted', overrides: ['capabilities_baseline'], run: capabilitiesRestricted },
  { id: 'procMount_restricted', level: 'restricted', overrides: ['procMount'], run: procMountRestricted },
];

/** Baseline runs the baseline checks; restricted adds its own and drops the baseline checks they override. */
function checksFor(level: Level): Check[] {
  if (level === 'baseline') return CHECKS.filter((check) => check.level === 'baseline');
  const overridden = new Set(CHECKS.flatMap((check) => check.overrides ?? []));
  return CHECKS.filter((check) => !overridden.has(check.id));
}

/**
 * All Pod Security Standards violations of `obj` at `level`, one per offending
 * field. Objects without a pod spec have none.
 */
export function checkPodSecurity(obj: unknown, level: 'baseline' | 'restricted'): PssViolation[] {
  const checks = checksFor(level);
  return locatePods(obj, '').flatMap((located) => {
    const pod = toPod(located);
    return checks.flatMap((check) =>
      check.run(pod).map((finding) => ({ check: check.id, ...finding, volume: check.volume === true })),
    );
  });
}
