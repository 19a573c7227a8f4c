import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { cli, CORPUS, ROOT } from './support/run-cli.js';
import { explainText } from '../src/commands/rules.js';
// @ts-expect-error the benchmark's generator is plain JavaScript
import { generateK8sDocs, k8sStream, splitFiles } from '../bench/generate.mjs';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: example/web:1.0 # pinned
`;

const HELM = `---
# Source: web/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  greeting: "hello"   # quoted on purpose
---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
    - port: 80
---
# Source: web/templates/deployment.yaml
${DEPLOYMENT}`;

function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cuirass-cli-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('stdin mode (Helm post-renderer, kustomize pipe)', () => {
  it('hardens a stream and a second pass returns identical bytes', () => {
    const first = cli(['-', '--skip', 'network-segmentation'], { input: DEPLOYMENT });
    expect(first.status).toBe(0);
    expect(parse(first.stdout).spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(first.stdout).toContain('image: example/web:1.0 # pinned');
    const second = cli(['-', '--skip', 'network-segmentation'], { input: first.stdout });
    expect(second.stdout).toBe(first.stdout);
  });
  it('keeps non-workload documents of a Helm stream byte-identical and appends generated ones last', () => {
    const r = cli(['-'], { input: HELM });
    expect(r.status).toBe(0);
    const cut = (text: string) => text.split(/^---$/m);
    const before = cut(HELM);
    const after = cut(r.stdout);
    expect(after[1]).toBe(before[1]);
    expect(after[2]).toBe(before[2]);
    const kinds = parseAllDocuments(r.stdout).map((d) => d.toJS()?.kind);
    expect(kinds.slice(0, 3)).toEqual(['ConfigMap', 'Service', 'Deployment']);
    expect(kinds.slice(3).every((k) => k === 'NetworkPolicy')).toBe(true);
  });
  it('--check exits 1 when the stream would change, 0 when it would not', () => {
    expect(cli(['-', '--check', '--quiet'], { input: DEPLOYMENT }).status).toBe(1);
    const hardened = cli(['-', '--skip', 'network-segmentation'], { input: DEPLOYMENT }).stdout;
    expect(cli(['-', '--check', '--quiet', '--skip', 'network-segmentation'], { input: hardened }).status).toBe(0);
  });
  it('an invalid stream exits 2 with line and column and prints nothing on stdout', () => {
    const r = cli(['-'], { input: 'a: 1\na: 2\n' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/<stdin>:2:1: .*unique/);
  });
  it('a stream larger than the 1 MiB output slice comes out whole, even with a character split across the slice end', () => {
    // The Deployment is hardened (output longer than input); the ConfigMap after it holds an
    // emoji (two UTF-16 units) placed so that every output slice boundary near it splits it.
    const hardened = cli(['-', '--skip', 'network-segmentation'], { input: DEPLOYMENT }).stdout;
    const head = `${hardened}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: "`;
    const pad = (1 << 20) - 1 - head.length;
    const input = `${head}${'a'.repeat(pad)}\u{1F510}${'b'.repeat(1 << 20)}\u{1F510}end"\n`;
    expect(input.charCodeAt((1 << 20) - 1)).toBe(0xd83d);
    const r = cli(['-', '--skip', 'network-segmentation'], { input });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(input);
  });
  it('generated Secrets go to the stream; nothing on stderr shows the value', () => {
    const input = DEPLOYMENT.replace('# pinned', '# pinned\n        env:\n        - name: DB_PASSWORD\n          value: hunter2-secret');
    const r = cli(['-'], { input });
    expect(r.stderr).not.toContain('hunter2-secret');
    const secret = parseAllDocuments(r.stdout).map((d) => d.toJS()).find((o) => o?.kind === 'Secret');
    expect(secret.stringData.DB_PASSWORD).toBe('hunter2-secret');
    const diff = cli(['-', '--format', 'diff'], { input });
    expect(diff.stdout + diff.stderr).not.toContain('hunter2-secret');
  });
});

describe('the re-check on a worker thread (large inputs)', () => {
  // 300 generated documents (~240 KB): above the size of a text the worker takes; a run this
  // small stays on one thread by default, CUIRASS_THREADS=2 uses the worker anyway.
  const docs = generateK8sDocs(300);
  const input: string = k8sStream(docs);

  it('a stream on stdin: the same stdout and stderr as the main thread alone, for every format', () => {
    for (const format of ['yaml', 'json', 'sarif']) {
      const alone = cli(['-', '--format', format], { input, env: { CUIRASS_THREADS: '1' } });
      const shared = cli(['-', '--format', format], { input, env: { CUIRASS_THREADS: '2', CUIRASS_THREADS_REPORT: '1' } });
      expect(alone.status, format).toBe(0);
      expect(shared.stdout, format).toBe(alone.stdout);
      const report = /^cuirass: re-checks (\{.*\})\n/m.exec(shared.stderr);
      expect(report, format).not.toBeNull();
      expect(JSON.parse(report![1]).byWorker, format).toBeGreaterThan(0);
      expect(shared.stderr.replace(report![0], ''), format).toBe(alone.stderr);
    }
    // Six runs of 300 documents (three forced onto the worker): long work, not a slow machine.
  }, 300_000);

  it('a run under 2 MiB of input stays on one thread unless CUIRASS_THREADS=2', () => {
    const small = cli(['-'], { input, env: { CUIRASS_THREADS_REPORT: '1' } });
    expect(small.status).toBe(0);
    expect(small.stderr).not.toContain('re-checks');
  });

  it('a folder with --write: the same files as the main thread alone', () => {
    const root = mkdtempSync(join(tmpdir(), 'cuirass-threads-'));
    const files: { name: string; text: string }[] = splitFiles(docs, 100);
    for (const mode of ['alone', 'shared']) {
      mkdirSync(join(root, mode));
      for (const f of files) writeFileSync(join(root, mode, f.name), f.text);
    }
    const alone = cli(['alone', '--write'], { cwd: root, env: { CUIRASS_THREADS: '1' } });
    const shared = cli(['shared', '--write'], { cwd: root, env: { CUIRASS_THREADS: '2', CUIRASS_THREADS_REPORT: '1' } });
    expect(alone.status).toBe(0);
    expect(shared.status).toBe(0);
    expect(JSON.parse(/^cuirass: re-checks (\{.*\})$/m.exec(shared.stderr)![1]).byWorker).toBeGreaterThan(0);
    const names = readdirSync(join(root, 'alone')).sort();
    expect(readdirSync(join(root, 'shared')).sort()).toEqual(names);
    expect(names.length).toBeGreaterThan(files.length);
    for (const name of names) expect(readFileSync(join(root, 'shared', name), 'utf8'), name).toBe(readFileSync(join(root, 'alone', name), 'utf8'));
    expect(readFileSync(join(root, 'alone', files[0].name), 'utf8')).not.toBe(files[0].text);
  });
});

describe('files and folders', () => {
  it('--write changes files atomically, keeps their mode and leaves no temp file', () => {
    const dir = tempDir({ 'app/web.yaml': DEPLOYMENT, 'app/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' });
    chmodSync(join(dir, 'app/web.yaml'), 0o640);
    const r = cli([dir, '--write', '--skip', 'network-segmentation']);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'app/web.yaml'), 'utf8')).toContain('readOnlyRootFilesystem: true');
    expect(statSync(join(dir, 'app/web.yaml')).mode & 0o777).toBe(0o640);
    expect(readdirSync(join(dir, 'app')).sort()).toEqual(['cm.yaml', 'web.yaml']);
    expect(cli([dir, '--check', '--skip', 'network-segmentation']).status).toBe(0);
  });
  it('without --write nothing changes on disk; --check exits 1 and the diff names the file', () => {
    const dir = tempDir({ 'web.yaml': DEPLOYMENT });
    const r = cli([dir, '--check']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^--- .*web\.yaml$/m);
    expect(readFileSync(join(dir, 'web.yaml'), 'utf8')).toBe(DEPLOYMENT);
  });
  it('--check on one hardened manifest passes when its policy file (not an input) already holds the policies', () => {
    const dir = tempDir({ 'web.yaml': DEPLOYMENT });
    expect(cli([dir, '--write', '--quiet']).status).toBe(0);
    const policies = join(dir, 'cuirass-network-policies.yaml');
    const before = statSync(policies).mtimeMs;
    const r = cli([join(dir, 'web.yaml'), '--check']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    // --write does not rewrite it either.
    expect(cli([join(dir, 'web.yaml'), '--write', '--quiet']).status).toBe(0);
    expect(statSync(policies).mtimeMs).toBe(before);
    // A policy file that lacks them is still a pending change.
    writeFileSync(policies, '# emptied\n');
    expect(cli([join(dir, 'web.yaml'), '--check', '--quiet']).status).toBe(1);
  });
  it('an invalid file among valid ones: exit 2, file:line:col, invalid file untouched, the others written', () => {
    const bad = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  name: y\n';
    const dir = tempDir({ 'bad.yaml': bad, 'good.yaml': DEPLOYMENT });
    const r = cli([dir, '--write']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml:5:3: .*unique/);
    expect(readFileSync(join(dir, 'bad.yaml'), 'utf8')).toBe(bad);
    expect(readFileSync(join(dir, 'good.yaml'), 'utf8')).toContain('runAsNonRoot: true');
  });
  it('--out mirrors the layout and leaves the inputs alone', () => {
    const dir = tempDir({ 'a/web.yaml': DEPLOYMENT });
    const out = mkdtempSync(join(tmpdir(), 'cuirass-out-'));
    expect(cli([dir, '--out', out, '--skip', 'network-segmentation']).status).toBe(0);
    expect(readFileSync(join(out, 'a/web.yaml'), 'utf8')).toContain('runAsNonRoot: true');
    expect(readFileSync(join(dir, 'a/web.yaml'), 'utf8')).toBe(DEPLOYMENT);
  });
  it('--only and --skip choose transforms; an unknown id exits 2', () => {
    const only = cli(['-', '--only', 'seccomp'], { input: DEPLOYMENT }).stdout;
    expect(only).toContain('type: RuntimeDefault');
    expect(only).not.toContain('runAsNonRoot');
    const skip = cli(['-', '--skip', 'seccomp,network-segmentation'], { input: DEPLOYMENT }).stdout;
    expect(skip).toContain('runAsNonRoot: true');
    expect(skip).not.toContain('RuntimeDefault');
    const bad = cli(['-', '--only', 'no-such-thing'], { input: DEPLOYMENT });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown transform "no-such-thing"');
  });
  it('--level baseline keeps privileged: true and reports it', () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x:1\n    securityContext:\n      privileged: true\n';
    const r = cli(['-', '--level', 'baseline'], { input: pod });
    expect(r.stdout).toContain('privileged: true');
    expect(r.stderr).toMatch(/no-privileged: container "c" is privileged \(the baseline level never overrides/);
    expect(cli(['-'], { input: pod }).stdout).not.toContain('privileged: true');
  });
  it('--format yaml prints the hardened stream; --format json-patch round-trips', () => {
    const dir = tempDir({ 'web.yaml': DEPLOYMENT });
    const yaml = cli([dir, '--format', 'yaml', '--skip', 'network-segmentation']).stdout;
    expect(parse(yaml).spec.template.spec.automountServiceAccountToken).toBe(false);
    const patches = JSON.parse(cli([dir, '--format', 'json-patch', '--skip', 'network-segmentation']).stdout);
    expect(patches).toHaveLength(1);
    expect(patches[0]).toMatchObject({ document: 0, kind: 'Deployment', name: 'web' });
  });
  it('--version, rules and explain', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(cli(['--version']).stdout.trim()).toBe(pkg.version);
    const rules = cli(['rules']).stdout.split('\n\n')[0].trim().split('\n');
    expect(rules).toHaveLength(18);
    expect(rules.map((l) => l.split(/\s+/)[0])).toContain('secrets-from-env');
    const explain = cli(['explain', 'seccomp']);
    expect(explain.stdout).toMatch(/Rule: +OWASP Docker Security Cheat Sheet rule 6, https:\/\/cheatsheetseries\.owasp\.org\//);
    for (const heading of ['Why:', 'Kubernetes:', 'Compose:', 'May break:', 'Unfixed:']) expect(explain.stdout).toContain(heading);
    expect(explain.stdout).toContain('cuirass.dev/skip: "seccomp"');
    expect(cli(['explain', 'service-account-token']).stdout).toMatch(/Compose: +nothing to change/);
    expect(cli(['explain', 'nope']).status).toBe(2);
  });
  it('explain: the exemption it shows for every transform is a valid config file', () => {
    // One config holding every transform's exemption: the config is validated as a whole, and
    // one run instead of one per transform keeps the test within its time on a loaded machine.
    // The texts come from the function `explain` prints (one process per id took over 60 s).
    const ids = cli(['rules']).stdout.split('\n\n')[0].trim().split('\n').map((line) => line.split(/\s+/)[0]);
    expect(cli(['explain', ids[0]]).stdout).toBe(explainText(ids[0]));
    const exemptions = ids.map((id) => `  - ${/exemptions: \[(.*)\]/.exec(explainText(id) ?? '')![1]}`);
    const dir = tempDir({ 'cuirass.config.yaml': `skip: [${ids.join(', ')}]\nexemptions:\n${exemptions.join('\n')}\n`, 'pod.yaml': DEPLOYMENT });
    const r = cli([dir, '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expect(exemptions).toHaveLength(18);
  });
  it('skips node_modules, .git and git-ignored files, and templates with a notice', () => {
    const dir = tempDir({
      '.gitignore': 'ignored/\n*.generated.yaml\n',
      'node_modules/pkg/pod.yaml': DEPLOYMENT,
      '.git/x.yaml': DEPLOYMENT,
      'ignored/pod.yaml': DEPLOYMENT,
      'a.generated.yaml': DEPLOYMENT,
      'chart/templates/deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n',
      'web.yaml': DEPLOYMENT,
    });
    mkdirSync(join(dir, '.git'), { recursive: true });
    const r = cli([dir, '--write', '--skip', 'network-segmentation']);
    expect(r.status).toBe(0);
    for (const f of ['node_modules/pkg/pod.yaml', '.git/x.yaml', 'ignored/pod.yaml', 'a.generated.yaml']) {
      expect(readFileSync(join(dir, f), 'utf8'), f).toBe(DEPLOYMENT);
    }
    expect(readFileSync(join(dir, 'chart/templates/deploy.yaml'), 'utf8')).toContain('{{ .Release.Name }}');
    expect(readFileSync(join(dir, 'web.yaml'), 'utf8')).not.toBe(DEPLOYMENT);
    const explicit = cli([join(dir, 'chart/templates/deploy.yaml')]);
    expect(explicit.stderr).toMatch(/skipped: a template/);
  });
  it('--no-color and NO_COLOR print no escape codes', () => {
    const dir = tempDir({ 'web.yaml': DEPLOYMENT });
    expect(cli([dir, '--no-color']).stdout).not.toContain('\u001b[');
    expect(cli([dir], { env: { NO_COLOR: '1' } }).stdout).not.toContain('\u001b[');
  });
  it('does not write through a symlink that leaves the input folder', () => {
    const outside = tempDir({ 'target.yaml': DEPLOYMENT });
    const dir = tempDir({});
    symlinkSync(join(outside, 'target.yaml'), join(dir, 'link.yaml'));
    const r = cli([dir, '--write']);
    expect(readFileSync(join(outside, 'target.yaml'), 'utf8')).toBe(DEPLOYMENT);
    expect(r.stderr).toMatch(/no Kubernetes manifests|symlink/);
  });
  it('a JSON manifest stays valid JSON after --write', () => {
    const json = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'j' }, spec: { containers: [{ name: 'c', image: 'x:1' }] } }, null, 2) + '\n';
    const dir = tempDir({ 'pod.json': json });
    expect(cli([dir, '--write', '--skip', 'network-segmentation']).status).toBe(0);
    const out = JSON.parse(readFileSync(join(dir, 'pod.json'), 'utf8'));
    expect(out.spec.securityContext.runAsNonRoot).toBe(true);
  });
  it('a path with no manifests exits 2', () => {
    const dir = tempDir({ 'README.md': '# nothing here\n' });
    const r = cli([dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no Kubernetes manifests or Compose files found');
  });
  it('a missing path exits 2', () => {
    expect(cli(['/definitely/not/here']).status).toBe(2);
  });
});

describe('Compose secrets through the CLI', () => {
  it('--write puts values in git-ignored files other users cannot read, and prints none', () => {
    const dir = tempDir({
      'compose.yaml': 'services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: "pa55-word-xyz"\n  app:\n    image: example/app:1\n    environment:\n      - API_TOKEN=tok-998877\n',
    });
    const r = cli([dir, '--write']);
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/pa55-word-xyz|tok-998877/);
    expect(readFileSync(join(dir, 'compose.yaml'), 'utf8')).not.toMatch(/pa55-word-xyz|tok-998877/);
    expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'secrets/db_postgres_password')).mode & 0o777).toBe(0o444);
    expect(readFileSync(join(dir, 'secrets/db_postgres_password'), 'utf8')).toBe('pa55-word-xyz');
    expect(statSync(join(dir, 'secrets/app.env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'secrets/app.env'), 'utf8')).toBe("API_TOKEN='tok-998877'\n");
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('/secrets/');
    const again = cli([dir, '--check']);
    expect(again.status).toBe(0);
  });

  it('a secrets/ folder the project already has is closed to other users before a secret goes in', () => {
    const dir = tempDir({ 'compose.yaml': 'services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: "pg-own-folder-1"\n' });
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'secrets'), { mode: 0o755 });
    chmodSync(join(dir, 'secrets'), 0o755);
    writeFileSync(join(dir, 'secrets/README'), 'ours\n');
    expect(cli([dir, '--write']).status).toBe(0);
    expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'secrets/db_postgres_password')).mode & 0o777).toBe(0o444);
    expect(statSync(dir).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(dir, 'secrets/README'), 'utf8')).toBe('ours\n');
  });
});

describe('check command', () => {
  it('exits 1 on findings at --fail-on, 0 below it, and emits valid JSON', () => {
    const dir = tempDir({ 'web.yaml': DEPLOYMENT });
    expect(cli(['check', dir]).status).toBe(1);
    const json = JSON.parse(cli(['check', dir, '--format', 'json']).stdout);
    expect(json.version).toBe(1);
    expect(json.findings.some((f: { transform: string; status: string }) => f.transform === 'run-as-non-root' && f.status === 'pending')).toBe(true);
    for (const f of json.findings) expect(Object.keys(f)).toEqual(expect.arrayContaining(['transform', 'owasp', 'severity', 'file', 'line', 'column', 'message', 'fixable', 'behaviorChanging']));
    cli([dir, '--write']);
    expect(cli(['check', dir, '--fail-on', 'critical']).status).toBe(0);
  });
});

describe('corpus smoke through the built CLI', () => {
  it('the demo fixtures harden without error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-demo-'));
    cpSync(join(ROOT, 'fixtures/demo'), dir, { recursive: true });
    const r = cli([dir, '--write']);
    expect(r.status).toBe(0);
    expect(cli([dir, '--check']).status).toBe(0);
    expect(existsSync(CORPUS)).toBe(true);
  });
});
