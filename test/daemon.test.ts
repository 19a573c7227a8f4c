/**
 * Docker daemon configuration (`daemon.json`, SPEC section 2): found by name, hardened through
 * the same engine and reports as manifests, exempted by a config entry that matches its file.
 */
import { describe, expect, it } from 'vitest';
import { processText } from '../src/run.js';
import type { RunOptions } from '../src/run.js';
import { TRANSFORMS } from '../transforms/index.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { jsonPatches } from '../src/report/json-patch.js';
import { collectFindings } from '../src/report/findings.js';
import { sarifReport } from '../src/report/sarif.js';
import type { ConfigExemption } from '../src/config.js';
import { rulesText } from '../src/commands/rules.js';

const INPUT = `{
  "log-level": "debug",
  "hosts": ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"],
  "storage-driver": "overlay2"
}
`;

function options(extra: Partial<RunOptions> = {}): RunOptions {
  return { level: 'restricted', settings: DEFAULT_SETTINGS, transforms: TRANSFORMS, ...extra };
}

describe('daemon.json', () => {
  it('is hardened by name, keys appended in its layout, findings for every daemon rule', () => {
    const o = processText('etc/docker/daemon.json', INPUT, options(), true);
    expect(o.kind).toBe('daemon');
    expect(o.output).toBe(`{
  "log-level": "info",
  "hosts": ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"],
  "storage-driver": "overlay2",
  "no-new-privileges": true,
  "icc": false
}
`);
    const all = [...o.changes, ...o.remaining].map((f) => `${f.transform}@${f.owasp}:${f.line}`).sort();
    expect(all).toEqual([
      'daemon-log-level@10:2',
      'network-segmentation@5:1',
      'no-docker-socket@1:3',
      'no-new-privileges@4:1',
      'resource-limits@7:1',
      'resource-limits@7:1',
      'rootless-mode@11:1',
      'run-as-non-root@2:1',
    ]);
    const socket = o.remaining.find((f) => f.transform === 'no-docker-socket')!;
    expect(socket.severity).toBe('critical');
    expect(socket.message).toContain('on loopback');
    expect(o.changes.find((f) => f.transform === 'daemon-log-level')!.behaviorChanging).toBe(true);
  });

  it('says 0.0.0.0 is every interface', () => {
    const o = processText('daemon.json', '{"hosts": ["tcp://0.0.0.0:2375"]}\n', options({ transforms: TRANSFORMS.filter((t) => t.id === 'no-docker-socket') }), true);
    expect(o.remaining[0].message).toContain('on every interface');
    expect(o.output).toBe('{"hosts": ["tcp://0.0.0.0:2375"]}\n');
  });

  it('a JSON file of another name is not read as a daemon configuration', () => {
    const o = processText('config.json', INPUT, options(), true);
    expect(o.status).toBe('skipped');
  });

  it('userns-remap is added only with --fix-userns-remap', () => {
    const only = TRANSFORMS.filter((t) => t.id === 'run-as-non-root');
    const without = processText('daemon.json', '{\n  "icc": false\n}\n', options({ transforms: only }), true);
    expect(without.status).toBe('unchanged');
    expect(without.remaining[0].message).toContain('--fix-userns-remap');
    const withFlag = processText('daemon.json', '{\n  "icc": false\n}\n', options({ transforms: only, flags: { fixUsernsRemap: true } }), true);
    expect(withFlag.output).toBe('{\n  "icc": false,\n  "userns-remap": "default"\n}\n');
    expect(withFlag.changes[0].message).toContain('volumes show shifted owners');
  });

  it('a config exemption matching the file suppresses with its reason, and counts as used', () => {
    const exemption: ConfigExemption = { match: { file: 'etc/docker/daemon.json' }, skip: ['network-segmentation'], reason: 'legacy links on the default bridge', source: 'cuirass.config.yaml:3' };
    const o = processText('etc/docker/daemon.json', INPUT, options({ exemptions: [exemption] }), true);
    expect(o.output).not.toContain('"icc"');
    expect(o.suppressed.map((f) => [f.transform, f.suppressed])).toEqual([['network-segmentation', 'legacy links on the default bridge (cuirass.config.yaml:3)']]);
    expect(exemption.used).toBe(true);
  });

  it('json-patch and SARIF cover it like any JSON manifest', () => {
    const o = processText('daemon.json', INPUT, options({ withEdits: true }), true);
    const patches = jsonPatches([o]);
    expect(patches).toEqual([
      {
        file: 'daemon.json', document: 0, kind: undefined, name: undefined,
        patch: [
          { op: 'add', path: '/no-new-privileges', value: true },
          { op: 'add', path: '/icc', value: false },
          { op: 'replace', path: '/log-level', value: 'info' },
        ],
      },
    ]);
    const sarif = JSON.parse(sarifReport(collectFindings([o]), [], TRANSFORMS, new Map([[o.display, o.input]]), '0.0.0')) as { runs: { results: { ruleId: string; fixes?: unknown[] }[] }[] };
    const results = sarif.runs[0].results;
    expect(results.find((r) => r.ruleId === 'daemon-log-level')!.fixes).toHaveLength(1);
    expect(results.find((r) => r.ruleId === 'no-docker-socket')!.fixes).toBeUndefined();
  });

  it('hardening the output again changes nothing', () => {
    const first = processText('daemon.json', INPUT, options(), true);
    const again = processText('daemon.json', first.output, options(), true);
    expect(again.status).toBe('unchanged');
    expect(again.changes).toEqual([]);
  });
});

describe('cuirass rules', () => {
  it('lists every cheat sheet rule 0-13 with the transforms and inputs that cover it, 0 and 11 as host concerns', () => {
    const out = rulesText();
    const [transforms, coverage] = out.split('\n\n');
    expect(transforms.split('\n')).toHaveLength(TRANSFORMS.length);
    const rules = coverage.trim().split('\n').slice(1);
    expect(rules.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(rules[0]).toContain('host: patch the kernel and Docker Engine');
    expect(rules[1]).toContain('no-docker-socket (Compose, Kubernetes, daemon.json)');
    expect(rules[2]).toContain('run-as-non-root (Compose, Kubernetes, daemon.json, Dockerfile)');
    expect(rules[9]).toContain('dockerfile-hygiene (Dockerfile)');
    expect(rules[10]).toContain('daemon-log-level (daemon.json)');
    expect(rules[11]).toMatch(/rootless-mode \(daemon\.json\); host: /);
    expect(rules[13]).toContain('image-pinning (Compose, Kubernetes, Dockerfile)');
  });
});
