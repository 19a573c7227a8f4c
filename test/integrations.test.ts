import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { checkPodSecurity } from './support/pss.js';
import { cli, ROOT } from './support/run-cli.js';

const HELM_RENDERED = readFileSync(join(ROOT, 'fixtures/resource-limits/helm-rendered-stream.in.yaml'), 'utf8');

function resourceList(items: unknown[], functionConfig?: unknown): string {
  return stringify({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items, ...(functionConfig ? { functionConfig } : {}) });
}

describe('cuirass fn (KRM function)', () => {
  const items = parseAllDocuments(HELM_RENDERED).map((d) => d.toJS());
  it('items written `- # comment` then their keys (kpt writes Kptfiles so) get generated items appended', () => {
    const input = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- # comment
  apiVersion: v1
  kind: Pod
  metadata: {name: a}
  spec: {containers: [{name: a, image: "a:1", env: [{name: DB_PASSWORD, value: pw-123456}]}]}
`;
    const r = cli(['fn'], { input });
    expect(r.status, r.stderr).toBe(0);
    const out = parse(r.stdout) as { items: { kind: string }[] };
    expect(out.items.map((i) => i.kind)).toEqual(['Pod', 'Secret', 'NetworkPolicy']);
    expect(r.stdout).toContain('- # comment\n  apiVersion: v1\n');
  });
  it('hardens the items of a ResourceList with a Helm-rendered payload and reports results', () => {
    const r = cli(['fn'], { input: resourceList(items) });
    expect(r.status).toBe(0);
    const out = parse(r.stdout);
    expect(out.kind).toBe('ResourceList');
    const kinds = out.items.map((i: { kind: string }) => i.kind);
    expect(kinds.slice(0, 3)).toEqual(['ConfigMap', 'Service', 'Deployment']);
    expect(kinds.slice(3).every((k: string) => k === 'NetworkPolicy')).toBe(true);
    expect(out.items[0]).toEqual(items[0]);
    expect(out.items[1]).toEqual(items[1]);
    expect(checkPodSecurity(out.items[2], 'restricted')).toEqual([]);
    const fixed = out.results.filter((x: { message: string }) => x.message.startsWith('fixed:'));
    expect(fixed.length).toBeGreaterThan(5);
    expect(fixed[0]).toMatchObject({ severity: 'info', resourceRef: { kind: 'Deployment', name: 'shop' } });
    expect(fixed.every((x: { field?: { path: string } }) => x.field?.path.startsWith('spec.'))).toBe(true);
  });
  it('takes a ConfigMap functionConfig (level, skip) and a cuirass.dev/v1 Config', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { skip: 'network-segmentation,seccomp' } };
    const a = parse(cli(['fn'], { input: resourceList(items, cm) }).stdout);
    expect(a.items).toHaveLength(3);
    expect(a.items[2].spec.template.spec.securityContext.seccompProfile).toBeUndefined();
    const config = { apiVersion: 'cuirass.dev/v1', kind: 'Config', metadata: { name: 'c' }, spec: { skip: ['network-segmentation'], defaults: { uid: 20000, gid: 20000 } } };
    const b = parse(cli(['fn'], { input: resourceList(items, config) }).stdout);
    expect(b.items[2].spec.template.spec.securityContext.runAsUser).toBe(20000);
  });
  it('a bad functionConfig or input is an error result and exit 2, with <stdin>:line:col for YAML errors', () => {
    const bad = cli(['fn'], { input: resourceList(items, { apiVersion: 'v1', kind: 'ConfigMap', data: { level: 'strict' } }) });
    expect(bad.status).toBe(2);
    expect(parse(bad.stdout).results[0]).toMatchObject({ severity: 'error' });
    expect(cli(['fn'], { input: 'kind: Pod\n' }).status).toBe(2);
    const broken = cli(['fn'], { input: 'kind: ResourceList\nitems: [a,\n' });
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/^cuirass: <stdin>:\d+:\d+: the ResourceList does not parse: /m);
    expect(parse(broken.stdout).results[0]).toMatchObject({ severity: 'error' });
  });
  it('is idempotent: running the function on its output changes no item', () => {
    const once = parse(cli(['fn'], { input: resourceList(items) }).stdout);
    const twice = parse(cli(['fn'], { input: resourceList(once.items) }).stdout);
    expect(twice.items).toEqual(once.items);
  });
});

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

describe('kustomize legacy exec transformer plugin', () => {
  it.skipIf(!hasKubectl)('the example builds with kubectl kustomize and its output passes restricted', () => {
    const r = spawnSync('kubectl', ['kustomize', '--enable-alpha-plugins', 'examples/kustomize'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, KUSTOMIZE_PLUGIN_HOME: join(ROOT, 'examples/kustomize/plugins') },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const objects = parseAllDocuments(r.stdout).map((d) => d.toJS());
    const deployment = objects.find((o) => o.kind === 'Deployment');
    expect(deployment.metadata.namespace).toBe('shop');
    expect(checkPodSecurity(deployment, 'restricted')).toEqual([]);
    expect(objects.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'cuirass-default-deny')).toBe(true);
  });
});

describe('Helm post-renderer', () => {
  it('reads the rendered stream on stdin and writes it back hardened, comments kept', () => {
    const r = cli(['-', '--quiet'], { input: HELM_RENDERED });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    for (const line of HELM_RENDERED.split('\n').filter((l) => l.startsWith('# Source:'))) expect(r.stdout).toContain(line);
    const deployment = parseAllDocuments(r.stdout).map((d) => d.toJS()).find((o) => o?.kind === 'Deployment');
    expect(checkPodSecurity(deployment, 'restricted')).toEqual([]);
  });
});

describe('--fix-docker-socket', () => {
  it('Kubernetes: removes the socket volume and its mounts, behavior-changing; without the flag it is only reported', () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: ci}\nspec:\n  containers:\n  - name: runner\n    image: example/runner:1\n    volumeMounts:\n    - name: docker\n      mountPath: /var/run/docker.sock\n    - name: work\n      mountPath: /work\n  volumes:\n  - name: docker\n    hostPath: {path: /var/run/docker.sock}\n  - name: work\n    emptyDir: {}\n';
    const plain = cli(['-', '--only', 'no-docker-socket'], { input: pod });
    expect(plain.stdout).toBe(pod);
    expect(plain.stderr).toMatch(/critical no-docker-socket/);
    const fixed = cli(['-', '--only', 'no-docker-socket', '--fix-docker-socket', '--format', 'json'], { input: pod });
    const finding = JSON.parse(fixed.stdout).findings[0];
    expect(finding).toMatchObject({ transform: 'no-docker-socket', status: 'pending', behaviorChanging: true });
    const out = parse(cli(['-', '--only', 'no-docker-socket', '--fix-docker-socket'], { input: pod }).stdout);
    expect(out.spec.volumes).toEqual([{ name: 'work', emptyDir: {} }]);
    expect(out.spec.containers[0].volumeMounts).toEqual([{ name: 'work', mountPath: '/work' }]);
  });
  it('Compose: the service talks to a read-only socket proxy instead', () => {
    const compose = 'services:\n  traefik:\n    image: traefik:v3.1\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n';
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-sock-'));
    writeFileSync(join(dir, 'compose.yaml'), compose);
    expect(cli([dir, '--fix-docker-socket', '--write']).status).toBe(0);
    const out = parse(readFileSync(join(dir, 'compose.yaml'), 'utf8'));
    expect(out.services.traefik.volumes ?? []).not.toContain('/var/run/docker.sock:/var/run/docker.sock:ro');
    expect(out.services.traefik.environment).toEqual({ DOCKER_HOST: 'tcp://docker-socket-proxy:2375' });
    expect(out.services['docker-socket-proxy'].environment.POST).toBe(0);
    expect(cli([dir, '--fix-docker-socket', '--check']).status).toBe(0);
  });
});
