/**
 * `cuirass fn` run by real KRM function runners: kpt (`kpt fn eval --exec`, and `kpt fn render`
 * with the Kptfile pipeline of examples/kpt), and what `kubectl kustomize` does with an exec KRM
 * function. kpt is not installed by the project (Debian package google-cloud-cli-kpt): without
 * `kpt` on the PATH these tests are skipped and say so.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { checkPodSecurity } from './support/pss.js';
import { ROOT } from './support/run-cli.js';

const EXAMPLE = join(ROOT, 'examples/kpt');

/**
 * The environment for a runner: no `npm_*` variables from the `npm test` that started vitest, so
 * that the `npx` a function runs resolves cuirass from its working directory, as for a user.
 */
function runnerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return env;
}

function sh(command: string, cwd = ROOT) {
  const r = spawnSync('bash', ['-euc', command], { cwd, env: runnerEnv(), encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return r;
}

const kptVersion = (() => {
  const r = spawnSync('kpt', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
})();

/** Every file of `dir` by name, with its text. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
}

/** The ```sh block that follows `marker` in README.md. */
function readmeBlock(marker: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(marker);
  expect(at, `README.md has no "${marker}"`).toBeGreaterThanOrEqual(0);
  const start = readme.indexOf('```sh\n', at) + '```sh\n'.length;
  return readme.slice(start, readme.indexOf('\n```', start)).split('\n');
}

/** The README's kpt command that starts with `prefix`, without its trailing comment. */
function readmeKpt(prefix: string): string {
  const line = readmeBlock('**KRM function with kpt**').find((l) => l.startsWith(prefix));
  expect(line, `README.md has no "${prefix}" line`).toBeDefined();
  return line!.replace(/\s+#.*$/, '');
}

/** Parsed YAML. */
type Obj = any;

/** True when every line of `before` is in `after`, in order: the edit only added lines. */
function onlyAdded(before: string, after: string): boolean {
  const added = after.split('\n');
  let at = 0;
  return before.split('\n').every((line) => {
    while (at < added.length && added[at] !== line) at++;
    return at++ < added.length;
  });
}

/** The package's Deployment is hardened, its own settings and leading comment kept. */
function expectHardenedPackage(files: Record<string, string>, original: Record<string, string>): void {
  const deployment = parse(files['deployment.yaml']);
  expect(checkPodSecurity(deployment, 'restricted')).toEqual([]);
  expect(deployment.spec.template.spec.containers[0].env).toEqual([{ name: 'LOG_LEVEL', value: 'info' }]);
  // kpt writes the files back, yet what cuirass did not touch stays as it was (comment included).
  expect(files['deployment.yaml'].split('\n')[0]).toMatch(/^# The shop front end/);
  expect(onlyAdded(original['deployment.yaml'], files['deployment.yaml'])).toBe(true);
  expect(files['service.yaml']).toBe(original['service.yaml']);
  expect(files.Kptfile).toBe(original.Kptfile);
  const policy = parse(files['networkpolicy_cuirass-default-deny.yaml']);
  expect(policy).toMatchObject({ kind: 'NetworkPolicy', metadata: { name: 'cuirass-default-deny' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
}

describe.skipIf(!kptVersion)(`kpt runs cuirass fn as an exec function${kptVersion ? ` (kpt ${kptVersion})` : ' (skipped: kpt is not on the PATH)'}`, () => {
  let work: string;
  const original = snapshot(EXAMPLE);
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'cuirass-kpt-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('kpt fn eval DIR --exec "npx --no-install cuirass fn": the files in DIR are hardened in place, results reported, a second run changes nothing', () => {
    const pkg = join(work, 'eval');
    cpSync(EXAMPLE, pkg, { recursive: true });
    const results = join(work, 'eval-results');
    const command = readmeKpt('kpt fn eval ').replace('path/to/package', pkg);
    expect(command).toBe(`kpt fn eval ${pkg} --exec "npx --no-install cuirass fn"`);
    const r = sh(`${command} --results-dir ${results}`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('[PASS] "npx --no-install cuirass fn"');
    expect(r.stderr).toMatch(/\[info\] apps\/v1\/Deployment\/shop spec\.template\.spec\.securityContext\.runAsNonRoot: fixed:/);
    const once = snapshot(pkg);
    expect(Object.keys(once)).toEqual(['Kptfile', 'deployment.yaml', 'networkpolicy_allow-to-shop.yaml', 'networkpolicy_cuirass-default-deny.yaml', 'service.yaml']);
    expectHardenedPackage(once, original);

    const list = parse(readFileSync(join(results, 'results.yaml'), 'utf8'));
    expect(list).toMatchObject({ kind: 'FunctionResultList', exitCode: 0 });
    const reported: Obj[] = list.items[0].results;
    expect(reported.find((x) => x.field?.path === 'spec.template.spec.securityContext.runAsNonRoot')).toMatchObject({
      severity: 'info',
      resourceRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'shop' },
      file: { path: 'deployment.yaml' },
      tags: { transform: 'run-as-non-root' },
    });
    expect(reported.filter((x) => String(x.message).startsWith('fixed:')).length).toBeGreaterThan(5);
    // What cuirass could not settle is a warning on the Service, not silence.
    expect(reported.some((x) => x.severity === 'warning' && x.resourceRef?.kind === 'Service' && x.tags?.transform === 'network-segmentation')).toBe(true);

    const again = sh(`${command} --results-dir ${results}`);
    expect(again.status, again.stderr).toBe(0);
    expect(snapshot(pkg)).toEqual(once);
  });

  it('kpt fn render examples/kpt --allow-exec -o unwrap runs the Kptfile pipeline (exec, configMap functionConfig) and leaves the example untouched', () => {
    const command = readmeKpt('kpt fn render examples/kpt');
    expect(command).toBe('kpt fn render examples/kpt --allow-exec -o unwrap');
    const r = sh(command);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('[PASS] "npx --no-install cuirass fn"');
    expect(snapshot(EXAMPLE)).toEqual(original);
    const objects = parseAllDocuments(r.stdout).map((d) => d.toJS());
    expect(objects.map((o) => o.kind)).toEqual(['Kptfile', 'Deployment', 'Service', 'NetworkPolicy', 'NetworkPolicy']);
    expect(checkPodSecurity(objects[1], 'restricted')).toEqual([]);
  });

  it('kpt fn render DIR --allow-exec hardens in place and a second render changes nothing; without --allow-exec kpt refuses', () => {
    const pkg = join(work, 'render');
    cpSync(EXAMPLE, pkg, { recursive: true });
    const refused = sh(`kpt fn render ${pkg}`);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('--allow-exec');
    expect(snapshot(pkg)).toEqual(original);

    const command = readmeKpt('kpt fn render path/to/package').replace('path/to/package', pkg);
    expect(command).toBe(`kpt fn render ${pkg} --allow-exec`);
    const r = sh(command);
    expect(r.status, r.stderr).toBe(0);
    const once = snapshot(pkg);
    expectHardenedPackage(once, original);
    const again = sh(command);
    expect(again.status, again.stderr).toBe(0);
    expect(snapshot(pkg)).toEqual(once);
  });

  it('a literal credential moves into a generated Secret that kpt writes as a file of the package, in plain text', () => {
    const pkg = join(work, 'credential');
    cpSync(EXAMPLE, pkg, { recursive: true });
    writeFileSync(join(pkg, 'deployment.yaml'), original['deployment.yaml'].replace(
      /^( +)- name: LOG_LEVEL\n +value: info\n/m,
      (entry, indent) => `${entry}${indent}- name: DB_PASSWORD\n${indent}  value: hunter2-kpt-test\n`,
    ));
    const r = sh(readmeKpt('kpt fn eval ').replace('path/to/package', pkg));
    expect(r.status, r.stderr).toBe(0);
    const files = snapshot(pkg);
    expect(files['deployment.yaml']).not.toContain('hunter2-kpt-test');
    const env = parse(files['deployment.yaml']).spec.template.spec.containers[0].env;
    expect(env[1]).toMatchObject({ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { key: 'DB_PASSWORD' } } });
    const secretFile = Object.keys(files).find((name) => name.startsWith('secret_'));
    expect(secretFile).toBeDefined();
    const secret = parse(files[secretFile!]);
    expect(secret).toMatchObject({ kind: 'Secret', metadata: { name: env[1].valueFrom.secretKeyRef.name } });
    expect(files[secretFile!]).toContain('hunter2-kpt-test');
  });

  it('a functionConfig cuirass rejects fails the pipeline with an error result and leaves the files alone', () => {
    const pkg = join(work, 'bad-config');
    cpSync(EXAMPLE, pkg, { recursive: true });
    writeFileSync(join(pkg, 'Kptfile'), original.Kptfile.replace('level: restricted', 'level: strict'));
    const before = snapshot(pkg);
    const results = join(work, 'bad-config-results');
    const r = sh(`kpt fn render ${pkg} --allow-exec --results-dir ${results}`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('[FAIL] "npx --no-install cuirass fn"');
    expect(r.stderr).toContain('[error]: functionConfig: data.level: must be restricted or baseline');
    expect(snapshot(pkg)).toEqual(before);
    const list = parse(readFileSync(join(results, 'results.yaml'), 'utf8'));
    expect(list.items[0]).toMatchObject({ exitCode: 2, results: [{ severity: 'error', message: 'functionConfig: data.level: must be restricted or baseline' }] });
  });
});

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasKubectl)(`kubectl kustomize and exec KRM functions${hasKubectl ? '' : ' (skipped: kubectl is not on the PATH)'}`, () => {
  it('kubectl kustomize has no --enable-exec and silently skips an exec KRM function: with kubectl, use the legacy exec plugin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-kustomize-fn-'));
    try {
      cpSync(join(EXAMPLE, 'deployment.yaml'), join(dir, 'deployment.yaml'));
      const marker = join(dir, 'function-ran');
      const fn = join(dir, 'cuirass-fn');
      writeFileSync(fn, `#!/bin/sh\ntouch '${marker}'\nexec node '${join(ROOT, 'dist/src/cli.js')}' fn\n`);
      chmodSync(fn, 0o755);
      writeFileSync(join(dir, 'harden.yaml'), [
        'apiVersion: cuirass.dev/v1',
        'kind: Config',
        'metadata:',
        '  name: harden',
        '  annotations:',
        '    config.kubernetes.io/function: |',
        '      exec:',
        '        path: ./cuirass-fn',
        'spec:',
        '  level: restricted',
        '',
      ].join('\n'));
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [deployment.yaml]\ntransformers: [harden.yaml]\n');

      const r = spawnSync('kubectl', ['kustomize', '--enable-alpha-plugins', dir], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(marker)).toBe(false);
      const deployment = parse(r.stdout);
      expect(deployment.kind).toBe('Deployment');
      expect(deployment.spec.template.spec.securityContext).toBeUndefined();

      const flag = spawnSync('kubectl', ['kustomize', '--enable-alpha-plugins', '--enable-exec', dir], { encoding: 'utf8' });
      expect(flag.status).not.toBe(0);
      expect(flag.stderr).toContain('unknown flag: --enable-exec');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
