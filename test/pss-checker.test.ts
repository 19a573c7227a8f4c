import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkPodSecurity, podSpecsOf } from './support/pss.js';

type Level = 'baseline' | 'restricted';

const CORPUS = new URL('../../shared/corpus/pss/', import.meta.url);
const LEVELS: Level[] = ['baseline', 'restricted'];

/** At restricted, upstream replaces these baseline checks by the restricted check named here. */
const RESTRICTED_OVERRIDES: Record<string, string> = {
  hostpathvolumes: 'restrictedVolumes',
  seccompprofilebaseline: 'seccompProfile_restricted',
  capabilitiesbaseline: 'capabilities_restricted',
  procmount: 'procMount_restricted',
};

/**
 * Checks a fixture also trips, by construction: hostProcess pods need hostNetwork,
 * privileged containers cannot set allowPrivilegeEscalation=false, and one
 * allowPrivilegeEscalation fixture drops the whole container securityContext.
 */
const COMPANIONS: Record<string, string[]> = {
  windowshostprocess: ['hostNamespaces'],
  privileged: ['allowPrivilegeEscalation'],
  allowprivilegeescalation: ['capabilities_restricted'],
};

const VOLUME_CHECKS = new Set(['hostPathVolumes', 'restrictedVolumes']);

const normalize = (name: string): string => name.toLowerCase().replaceAll('_', '');

function fixtures(level: Level, outcome: 'pass' | 'fail'): string[] {
  return readdirSync(new URL(`${level}/v1.37/${outcome}/`, CORPUS)).filter((f) => f.endsWith('.yaml')).sort();
}

function load(level: Level, outcome: 'pass' | 'fail', file: string): unknown {
  return parse(readFileSync(new URL(`${level}/v1.37/${outcome}/${file}`, CORPUS), 'utf8'));
}

/** The check names (normalized) a fail fixture is meant to trip at a level. */
function expectedChecks(level: Level, file: string): string[] {
  const prefix = normalize(file.replace(/\d+\.yaml$/, ''));
  const override = level === 'restricted' ? RESTRICTED_OVERRIDES[prefix] : undefined;
  return override ? [normalize(override)] : [prefix];
}

describe.each(LEVELS)('upstream %s v1.37 fixtures', (level) => {
  it.each(fixtures(level, 'pass'))('pass/%s has no violations', (file) => {
    expect(checkPodSecurity(load(level, 'pass', file), level)).toEqual([]);
  });

  it.each(fixtures(level, 'fail'))('fail/%s is rejected by its check', (file) => {
    const violations = checkPodSecurity(load(level, 'fail', file), level);
    const expected = expectedChecks(level, file);
    const prefix = normalize(file.replace(/\d+\.yaml$/, ''));
    const tolerated = [...expected, ...(COMPANIONS[prefix] ?? []).map(normalize)];

    expect(violations.map((v) => normalize(v.check))).toEqual(expect.arrayContaining(expected));
    for (const v of violations) {
      expect(tolerated, `${v.check} at ${v.path}`).toContain(normalize(v.check));
      expect(v.volume).toBe(VOLUME_CHECKS.has(v.check));
    }
  });
});

const restrictedContainer = {
  name: 'app',
  image: 'app:1',
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
};
const restrictedPodSpec = {
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [restrictedContainer],
};

describe('object traversal', () => {
  it('finds the pod template of a Deployment', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        template: {
          metadata: { annotations: { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' } },
          spec: { containers: [{ name: 'app', image: 'app:1', securityContext: { privileged: true } }] },
        },
      },
    };
    expect(podSpecsOf(deployment).map((p) => p.path)).toEqual(['spec.template.spec']);
    expect(checkPodSecurity(deployment, 'baseline').map(({ check, path }) => ({ check, path }))).toEqual([
      { check: 'privileged', path: 'spec.template.spec.containers[0].securityContext.privileged' },
      {
        check: 'appArmorProfile',
        path: 'spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]',
      },
    ]);
  });

  it('finds the pod template of a CronJob', () => {
    const cronJob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly' },
      spec: {
        schedule: '0 0 * * *',
        jobTemplate: { spec: { template: { spec: { hostNetwork: true, containers: [restrictedContainer] } } } },
      },
    };
    expect(checkPodSecurity(cronJob, 'baseline')).toEqual([{
      check: 'hostNamespaces',
      path: 'spec.jobTemplate.spec.template.spec.hostNetwork',
      message: 'pod must not set hostNetwork=true',
      volume: false,
    }]);
  });

  it('recurses into the items of a List', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: {} },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: restrictedPodSpec },
        {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 's' },
          spec: { template: { spec: { ...restrictedPodSpec, volumes: [{ name: 'data', hostPath: { path: '/' } }] } } },
        },
      ],
    };
    expect(podSpecsOf(list).map((p) => p.path)).toEqual(['items[1].spec', 'items[2].spec.template.spec']);
    expect(checkPodSecurity(list, 'restricted')).toEqual([expect.objectContaining({
      check: 'restrictedVolumes',
      path: 'items[2].spec.template.spec.volumes[0]',
      volume: true,
    })]);
  });

  it('gives no violations for a non-workload object', () => {
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { hostNetwork: 'true' } };
    expect(podSpecsOf(configMap)).toEqual([]);
    expect(checkPodSecurity(configMap, 'restricted')).toEqual([]);
  });
});

describe('upstream edge cases', () => {
  const pod = (spec: object) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec });

  it('passes a Windows pod without seccomp, capabilities or allowPrivilegeEscalation at restricted', () => {
    const windows = pod({ os: { name: 'windows' }, securityContext: { runAsNonRoot: true }, containers: [{ name: 'w' }] });
    expect(checkPodSecurity(windows, 'restricted')).toEqual([]);
  });

  it('lets a Windows pod add any capability at restricted, because capabilities_restricted replaces the baseline check', () => {
    const windows = pod({
      os: { name: 'windows' },
      securityContext: { runAsNonRoot: true },
      containers: [{ name: 'w', securityContext: { capabilities: { add: ['NET_RAW'] } } }],
    });
    expect(checkPodSecurity(windows, 'restricted')).toEqual([]);
    expect(checkPodSecurity(windows, 'baseline').map((v) => v.check)).toEqual(['capabilities_baseline']);
  });

  it('skips runAsNonRoot and runAsUser for a user-namespace pod', () => {
    const userns = pod({
      ...restrictedPodSpec,
      hostUsers: false,
      securityContext: { runAsUser: 0, seccompProfile: { type: 'RuntimeDefault' } },
    });
    expect(checkPodSecurity(userns, 'restricted')).toEqual([]);
  });

  it('allows image volumes and implicit emptyDir volumes at restricted', () => {
    const volumes = [{ name: 'model', image: { reference: 'models:1' } }, { name: 'scratch' }];
    expect(checkPodSecurity(pod({ ...restrictedPodSpec, volumes }), 'restricted')).toEqual([]);
  });

  it('allows the sysctls added up to v1.37 and rejects others', () => {
    const sysctls = ['net.ipv4.tcp_rmem', 'net.ipv4.tcp_notsent_lowat', 'kernel.msgmax'].map((name) => ({ name, value: '1' }));
    const violations = checkPodSecurity(pod({ securityContext: { sysctls }, containers: [{ name: 'a' }] }), 'baseline');
    expect(violations.map((v) => v.path)).toEqual(['spec.securityContext.sysctls[2].name']);
  });

  it('checks ephemeral containers', () => {
    const spec = { ...restrictedPodSpec, ephemeralContainers: [{ name: 'debug', securityContext: { privileged: true } }] };
    expect(checkPodSecurity(pod(spec), 'baseline').map((v) => v.path)).toEqual([
      'spec.ephemeralContainers[0].securityContext.privileged',
    ]);
  });
});
