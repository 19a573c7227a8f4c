/**
 * The hooks of .pre-commit-hooks.yaml run by the real pre-commit, the way README.md's "pre-commit"
 * section says: its .pre-commit-config.yaml (pointed at this checkout's HEAD) and its commands, in
 * a throwaway git repository with a Compose file and a Kubernetes manifest. pre-commit installs a
 * `language: node` hook by packing the repository (`npm pack`, which builds it through `prepare`)
 * and installing the tarball, so this also proves that the package packs and installs. The hooks
 * come from the commit, not the working tree: uncommitted changes are not what runs here.
 *
 * pre-commit is not installed by the project (Debian package `pre-commit`; .ci/run installs it
 * when it can): without `pre-commit` on the PATH these tests are skipped and say so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { ROOT } from './support/run-cli.js';

/** One pre-commit install packs and installs the repository (devDependencies included). */
const INSTALL_TIMEOUT = 300_000;

const preCommitVersion = (() => {
  const r = spawnSync('pre-commit', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
})();

/** The fenced block of `lang` that follows `marker` in README.md, as lines. */
function readmeBlock(marker: string, lang: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(marker);
  expect(at, `README.md has no "${marker}"`).toBeGreaterThanOrEqual(0);
  const fence = `\`\`\`${lang}\n`;
  const start = readme.indexOf(fence, at);
  expect(start, `README.md has no \`\`\`${lang} block after "${marker}"`).toBeGreaterThan(at);
  const body = start + fence.length;
  return readme.slice(body, readme.indexOf('\n```', body)).split('\n');
}

const MARKER = '**pre-commit**';

/** The README's commands, without their trailing comments. */
function readmeCommands(): string[] {
  return readmeBlock(MARKER, 'sh').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

/** Like a user's shell: no `npm_*` variables of the `npm test` that started vitest, no git hook variables. */
function userEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^(npm_|GIT_)/i.test(key)) env[key] = value;
  return {
    ...env,
    PRE_COMMIT_HOME: home,
    PRE_COMMIT_COLOR: 'never',
    NO_COLOR: '1',
    GIT_AUTHOR_NAME: 'cuirass test',
    GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'cuirass test',
    GIT_COMMITTER_EMAIL: 'test@example.invalid',
  };
}

const COMPOSE = `# The shop's local stack
services:
  api:
    image: example/shop-api:1.4.2 # pinned by the release job
    ports:
      - "8080:8080"
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: example/shop-api:1.4.2 # same image as Compose
`;

/** Neither a manifest nor a Compose file: passed to the hooks (it is YAML), passed over by cuirass. */
const OTHER_YAML = `# not a manifest
name: shop
owners: [team-a]
`;

/** A Helm template: excluded by the hooks' `exclude`, and not YAML cuirass could read anyway. */
const HELM_TEMPLATE = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
{{- include "shop.spec" . | nindent 2 }}
`;

describe.skipIf(!preCommitVersion)(
  `pre-commit runs the cuirass hooks as README.md says${preCommitVersion ? ` (${preCommitVersion})` : ' (skipped: pre-commit is not on the PATH)'}`,
  () => {
    let tmp: string;
    let project: string;
    let env: NodeJS.ProcessEnv;

    /** Runs one command line in the project, the way a user types it. */
    function sh(command: string, timeout = INSTALL_TIMEOUT - 20_000) {
      const r = spawnSync('bash', ['-c', command], { cwd: project, env, encoding: 'utf8', timeout });
      if (r.error) throw r.error;
      return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
    }

    const read = (file: string) => readFileSync(join(project, file), 'utf8');

    beforeAll(() => {
      tmp = mkdtempSync(join(tmpdir(), 'cuirass-precommit-'));
      project = join(tmp, 'project');
      env = userEnv(join(tmp, 'pre-commit-home'));
      const files: Record<string, string> = {
        'compose.yaml': COMPOSE,
        'k8s/deploy.yaml': DEPLOYMENT,
        'config/shop.yaml': OTHER_YAML,
        'chart/templates/deploy.yaml': HELM_TEMPLATE,
        '.pre-commit-config.yaml': preCommitConfig(),
      };
      for (const [file, text] of Object.entries(files)) {
        mkdirSync(dirname(join(project, file)), { recursive: true });
        writeFileSync(join(project, file), text);
      }
      const init = sh('git init -q && git add -A && git commit -q -m "the shop, not hardened yet"', 30_000);
      expect(init.status, init.output).toBe(0);
    });

    afterAll(() => {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    /** README's .pre-commit-config.yaml with its repository and rev pointed at this checkout's HEAD. */
    function preCommitConfig(): string {
      const doc = parseDocument(readmeBlock(MARKER, 'yaml').join('\n'));
      const head = spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
      expect(head).toMatch(/^[0-9a-f]{40}$/);
      expect(doc.getIn(['repos', 0, 'repo']), 'README config has repos[0].repo').toBeTruthy();
      expect(doc.getIn(['repos', 0, 'rev']), 'README config has repos[0].rev').toBeTruthy();
      doc.setIn(['repos', 0, 'repo'], ROOT.replace(/\/$/, ''));
      doc.setIn(['repos', 0, 'rev'], head);
      return doc.toString();
    }

    it('the README config names only hooks that .pre-commit-hooks.yaml defines, and its commands are the three this test runs', () => {
      const defined = (parse(readFileSync(join(ROOT, '.pre-commit-hooks.yaml'), 'utf8')) as { id: string }[]).map((h) => h.id);
      const config = parse(readFileSync(join(project, '.pre-commit-config.yaml'), 'utf8'));
      const hooks = config.repos[0].hooks as { id: string; stages?: string[] }[];
      expect(hooks.map((h) => h.id)).toEqual(['cuirass', 'cuirass-write']);
      for (const h of hooks) expect(defined).toContain(h.id);
      expect(hooks[1].stages).toEqual(['manual']);
      expect(readmeCommands()).toEqual([
        'pre-commit run --all-files',
        'pre-commit run --hook-stage manual cuirass-write --all-files',
        'git add -A && pre-commit run --all-files',
      ]);
    });

    it(
      'cuirass (installed by packing the repository) fails with exit 1 and prints the diff of each unhardened file; nothing is written',
      () => {
        const r = sh(readmeCommands()[0]!);
        expect(r.stderr + r.stdout).not.toMatch(/An unexpected error has occurred/);
        expect(r.status, r.output).toBe(1);
        expect(r.stdout).toMatch(/^cuirass \(Compose and Kubernetes hardening is complete\)\.+Failed$/m);
        expect(r.stdout).toContain('- exit code: 1');
        // The diff names each file and shows hardening lines.
        expect(r.stdout).toContain('--- compose.yaml\n+++ compose.yaml\n');
        expect(r.stdout).toMatch(/^\+ {4}cap_drop:$/m);
        expect(r.stdout).toContain('--- k8s/deploy.yaml\n+++ k8s/deploy.yaml\n');
        expect(r.stdout).toMatch(/^\+ +runAsNonRoot: true$/m);
        expect(r.stdout).toContain('+++ k8s/cuirass-network-policies.yaml');
        // The manual hook did not run, and nothing changed.
        expect(r.stdout).not.toContain('cuirass --write');
        expect(read('compose.yaml')).toBe(COMPOSE);
        expect(read('k8s/deploy.yaml')).toBe(DEPLOYMENT);
        expect(existsSync(join(project, 'k8s/cuirass-network-policies.yaml'))).toBe(false);
        expect(sh('git status --porcelain').stdout).toBe('');
      },
      INSTALL_TIMEOUT,
    );

    it('cuirass-write (manual stage) hardens the files in place: pre-commit reports them modified', () => {
      const r = sh(readmeCommands()[1]!);
      expect(r.status, r.output).toBe(1);
      expect(r.stdout).toMatch(/^cuirass --write \(harden staged Compose files and Kubernetes manifests\)\.+Failed$/m);
      expect(r.stdout).toContain('- files were modified by this hook');

      const compose = read('compose.yaml');
      expect(compose.startsWith(COMPOSE.trimEnd())).toBe(true); // additions only, comments kept
      const api = parse(compose).services.api;
      expect(api.cap_drop).toEqual(['ALL']);
      expect(api.security_opt).toContain('no-new-privileges:true');
      expect(api.read_only).toBe(true);

      const deployText = read('k8s/deploy.yaml');
      expect(deployText).toContain('image: example/shop-api:1.4.2 # same image as Compose');
      const pod = parse(deployText).spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      expect(pod.containers[0].securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      const policy = parse(read('k8s/cuirass-network-policies.yaml'));
      expect(policy).toMatchObject({ kind: 'NetworkPolicy', metadata: { name: 'cuirass-default-deny' } });

      // Files that are not manifests, and Helm templates, are left alone.
      expect(read('config/shop.yaml')).toBe(OTHER_YAML);
      expect(read('chart/templates/deploy.yaml')).toBe(HELM_TEMPLATE);
      expect(sh('git status --porcelain').stdout.split('\n').filter(Boolean).sort()).toEqual([
        ' M compose.yaml',
        ' M k8s/deploy.yaml',
        '?? k8s/cuirass-network-policies.yaml',
      ]);
    });

    it('once the hardened files are staged, cuirass passes (exit 0, no diff), and cuirass-write changes nothing', () => {
      const before = { compose: read('compose.yaml'), deploy: read('k8s/deploy.yaml') };
      const gate = sh(readmeCommands()[2]!);
      expect(gate.status, gate.output).toBe(0);
      expect(gate.stdout).toMatch(/^cuirass \(Compose and Kubernetes hardening is complete\)\.+Passed$/m);
      expect(gate.stdout).not.toContain('+++');

      const again = sh('pre-commit run --hook-stage manual cuirass-write --all-files');
      expect(again.status, again.output).toBe(0);
      expect(again.stdout).toMatch(/^cuirass --write .*\.+Passed$/m);
      expect(read('compose.yaml')).toBe(before.compose);
      expect(read('k8s/deploy.yaml')).toBe(before.deploy);

      // A commit of just the hardened Compose file (the usual case: only staged files) passes too.
      const one = sh('pre-commit run cuirass --files compose.yaml');
      expect(one.status, one.output).toBe(0);
      expect(one.stdout).toMatch(/\.+Passed$/m);
    });

    it('a commit that stages only an already hardened Kubernetes manifest passes the cuirass hook', () => {
      // Its cuirass-network-policies.yaml is not among the inputs: regenerating the same policies is no change.
      const one = sh('pre-commit run cuirass --files k8s/deploy.yaml');
      expect(one.status, one.output).toBe(0);
      expect(one.stdout).toMatch(/\.+Passed$/m);
    });
  },
);
