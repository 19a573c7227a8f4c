/**
 * The BUILT command line (`dist/src/cli.js`), run as a separate process the way
 * users, pipelines and Helm run it. SPEC §1 (commands and flags), §2 (inputs),
 * §4 (minimal edits, idempotency) and §7 (safety).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CLI_PATH, ROOT, runCli } from './support/cli.js';

// ---- inputs ------------------------------------------------------------------

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web # the app label
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: example/web:1.0 # pinned
        ports:
        - containerPort: 8080
`;

const CONFIGMAP_DOC = `# Source: web/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels:
    helm.sh/chart: "web-0.1.0"
data:
  greeting: 'hello'   # single-quoted on purpose
  settings.json: |
    {"debug": false}
`;

const SERVICE_DOC = `# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: ClusterIP
  selector: {app: web}
  ports:
    - port: 80
      targetPort: 8080   # the container port
`;

/** What `helm template` prints: a leading `---`, `# Source:` comments, a workload between two non-workloads. */
const HELM = `---\n${CONFIGMAP_DOC}---\n# Source: web/templates/deployment.yaml\n${DEPLOYMENT}---\n${SERVICE_DOC}`;

const PRIVILEGED_POD = `apiVersion: v1
kind: Pod
metadata:
  name: priv
spec:
  containers:
  - name: c
    image: example/tool:2.1
    securityContext:
      privileged: true
`;

const CONFIGMAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  a: "1"\n';

/** The transform ids of SPEC §3, one per row of its table. */
const SPEC_TRANSFORM_IDS = [
  'no-docker-socket', 'run-as-non-root', 'drop-capabilities', 'no-privileged', 'no-host-namespaces',
  'no-new-privileges', 'network-segmentation', 'seccomp', 'resource-limits', 'read-only-root',
  'secrets-from-env', 'service-account-token', 'host-volumes', 'image-pinning', 'namespace-pss',
];

/** The file that the run-wide network-segmentation transform generates next to the manifests. */
const POLICY_FILE = 'cuirass-network-policies.yaml';

const ANSI = /\u001b\[/;

// ---- helpers -----------------------------------------------------------------

function tempDir(files: Record<string, string> = {}, prefix = 'cuirass-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Every file below `dir` (symlinks included, not followed), as sorted relative paths. */
function listFiles(dir: string): string[] {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      const p = join(d, e.name);
      return e.isDirectory() ? walk(p) : [relative(dir, p)];
    });
  return walk(dir).sort();
}

/** Every file below `dir` with its bytes. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(listFiles(dir).map((f) => {
    const p = join(dir, f);
    return [f, lstatSync(p).isSymbolicLink() ? `-> ${readlinkSync(p)}` : readFileSync(p, 'latin1')];
  }));
}

/** The parsed documents of a stream; fails the test on any parse error. */
function docs(text: string): any[] {
  const all = parseAllDocuments(text, { uniqueKeys: true });
  const errors = all.flatMap((d) => d.errors.map((e) => e.message));
  expect(errors, `does not parse:\n${text}`).toEqual([]);
  return all.map((d) => d.toJS());
}

/** Splits a stream at its `---` separator lines: the source text of every document, comments included. */
function segments(text: string): string[] {
  return text.split(/^---[ \t]*\r?\n/m);
}

/** Where the yaml library places the first error of `text`, 1-based. */
function firstErrorPosition(text: string): { line: number; col: number } {
  const err = parseAllDocuments(text, { uniqueKeys: true }).flatMap((d) => d.errors)[0];
  expect(err, 'the fixture should be invalid').toBeDefined();
  const pos = err.linePos?.[0];
  expect(pos).toBeDefined();
  return { line: pos!.line, col: pos!.col };
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A pseudo-terminal runner (util-linux `script`), so that color can be observed at all. */
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
function runInTerminal(args: string[], env: Record<string, string | undefined> = {}): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CLI_PATH, ...args].map(quote).join(' ');
  const e: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete e.NO_COLOR;
  delete e.FORCE_COLOR;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: e, cwd: ROOT, timeout: 60_000 });
  return r.stdout;
}

// ---- stdin -------------------------------------------------------------------

describe('stdin mode: `cuirass -`', () => {
  it('hardens a Deployment; the output parses; a second pass returns identical bytes', () => {
    const first = runCli(['-'], { input: DEPLOYMENT });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('runAsNonRoot: true');
    const objects = docs(first.stdout);
    const deployment = objects[0];
    expect(deployment.kind).toBe('Deployment');
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(deployment.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation).toBe(false);
    // Untouched lines keep their bytes (comments, flow style).
    expect(first.stdout.startsWith(DEPLOYMENT.slice(0, DEPLOYMENT.indexOf('        ports:')))).toBe(true);
    // Only hardened output on stdout: the summary is on stderr.
    expect(first.stdout).not.toMatch(/^cuirass:/m);
    expect(first.stderr).toMatch(/^cuirass: .*manifest/m);

    const second = runCli(['-'], { input: first.stdout });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
  });

  it('a Helm-rendered stream keeps its non-workload documents and `# Source:` comments byte-identical', () => {
    const r = runCli(['-'], { input: HELM });
    expect(r.status, r.stderr).toBe(0);
    const objects = docs(r.stdout);
    expect(objects.slice(0, 3).map((o) => o.kind)).toEqual(['ConfigMap', 'Deployment', 'Service']);
    // Documents cuirass generates come after the user's, never between them.
    expect(objects.slice(3).every((o) => o.kind !== 'ConfigMap' && o.kind !== 'Service' && o.kind !== 'Deployment')).toBe(true);

    const before = segments(HELM);
    const after = segments(r.stdout);
    expect(before[0]).toBe('');
    expect(after[0]).toBe(''); // the leading `---` stays
    expect(after[1]).toBe(CONFIGMAP_DOC);
    expect(after[3]).toBe(SERVICE_DOC);
    expect(after[2].startsWith('# Source: web/templates/deployment.yaml\n')).toBe(true);
    expect(after[2]).toContain('runAsNonRoot: true');

    // Also by the parser's own document ranges.
    const source = (text: string, i: number) => {
      const d = parseAllDocuments(text)[i];
      return text.slice(d.range[0], d.range[1]);
    };
    expect(source(r.stdout, 0)).toBe(source(HELM, 0));
    expect(source(r.stdout, 2).trimEnd()).toBe(source(HELM, 2).trimEnd());

    // Idempotent as a post-renderer too.
    expect(runCli(['-'], { input: r.stdout }).stdout).toBe(r.stdout);
  });

  it('an invalid stream exits 2 with <stdin>:line:col and prints nothing on stdout', () => {
    const input = 'apiVersion: v1\nkind: Pod\nkind: Pod\n';
    const r = runCli(['-'], { input });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const { line, col } = firstErrorPosition(input);
    expect(r.stderr).toMatch(new RegExp(`^cuirass: <stdin>:${line}:${col}: `, 'm'));
  });
});

describe('aliases', () => {
  const many = (n: number) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: many}\ndata:\n  base: &b "v"\n${Array.from({ length: n }, (_, i) => `  k${i}: *b\n`).join('')}`;
  let bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i <= 8; i++) bomb += `  a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;

  it('a ConfigMap that uses one anchor 150 times passes through byte-identical (no crash)', () => {
    const input = many(150);
    const r = runCli(['-'], { input });
    expect(r.stderr).not.toMatch(/ReferenceError|Excessive alias|\n\s+at /);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(input);
  });

  it('an alias bomb in a ConfigMap is never expanded: it passes through, and so does the Deployment next to it', () => {
    const input = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  ${bomb}---\n${DEPLOYMENT}`;
    const r = runCli(['-'], { input });
    expect(r.stderr).not.toMatch(/ReferenceError|\n\s+at /);
    expect(r.status).toBe(0);
    const [configMap, deployment] = r.stdout.split(/^---\n/m);
    expect(configMap).toBe(input.split(/^---\n/m)[0]);
    expect(deployment).toContain('allowPrivilegeEscalation: false');
  });

  it('--format json-patch of a changed Pod holding an alias bomb: file:line:col and exit 2, no crash, the bomb never expanded', () => {
    const input = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: bomb\n  annotations:\n    ${bomb.replace(/\n {2}/g, '\n    ')}spec:\n  containers:\n  - name: a\n    image: busybox:1.36\n    args: *a8\n`;
    const r = runCli(['-', '--format', 'json-patch'], { input });
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).toMatch(/^cuirass: <stdin>:1:1: no JSON Patch: a document expands more aliases than cuirass follows/m);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('an alias bomb in a Compose service: a clear file:line:col message and exit 2, not "internal error", the file untouched', () => {
    let composeBomb = 'x-a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i <= 7; i++) composeBomb += `x-a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;
    const input = `${composeBomb}services:\n  app:\n    image: nginx:1.27\n    command: *a7\n`;
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-alias-'));
    writeFileSync(join(dir, 'compose.yaml'), input);
    const r = runCli(['.', '--write'], { cwd: dir });
    expect(r.stderr).not.toMatch(/internal error|ReferenceError|\n\s+at /);
    expect(r.stderr).toMatch(/^cuirass: compose\.yaml:1:1: its aliases expand to more than \d+ nodes \(an alias bomb\?\)/m);
    expect(r.status).toBe(2);
    expect(readFileSync(join(dir, 'compose.yaml'), 'utf8')).toBe(input);
  });

  it('a Compose file whose 120 services share anchors through merge keys is hardened', () => {
    const services = Array.from({ length: 120 }, (_, i) => `  s${i}:\n    <<: *common\n    environment: *env\n`).join('');
    const input = `x-common: &common\n  image: redis:7.2\nx-env: &env\n  TZ: UTC\nservices:\n${services}`;
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-alias-'));
    writeFileSync(join(dir, 'compose.yaml'), input);
    const r = runCli(['compose.yaml', '--format', 'yaml', '--skip', 'network-segmentation'], { cwd: dir });
    expect(r.stderr).not.toMatch(/internal error|Excessive alias/);
    expect(r.status).toBe(0);
    expect(r.stdout.match(/no-new-privileges:true/g)?.length).toBe(120);
  });
});

// ---- files and folders ---------------------------------------------------------

describe('--write, --check and --out', () => {
  it('--write changes the file in place, keeps mode 0640, leaves no temp file; a second --check exits 0', () => {
    const dir = tempDir({ 'app/web.yaml': DEPLOYMENT, 'app/cm.yaml': CONFIGMAP });
    chmodSync(join(dir, 'app/web.yaml'), 0o640);
    const before = listFiles(dir);

    const r = runCli([dir, '--write']);
    expect(r.status, r.stderr).toBe(0);
    const written = readFileSync(join(dir, 'app/web.yaml'), 'utf8');
    expect(written).not.toBe(DEPLOYMENT);
    expect(docs(written)[0].spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(statSync(join(dir, 'app/web.yaml')).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(dir, 'app/cm.yaml'), 'utf8')).toBe(CONFIGMAP);
    // No temp file left behind: the only new file is the generated network policies.
    const added = listFiles(dir).filter((f) => !before.includes(f));
    expect(added.every((f) => f.endsWith(POLICY_FILE)), added.join(', ')).toBe(true);
    expect(listFiles(dir).filter((f) => /\.tmp|~$|\.swp$|\.cuirass-/.test(f))).toEqual([]);
    // --write prints no diff.
    expect(r.stdout).toBe('');

    const again = runCli([dir, '--check']);
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toBe('');
  });

  it('--check exits 1 when changes are pending, shows the diff and writes nothing', () => {
    const dir = tempDir({ 'web.yaml': DEPLOYMENT, 'cm.yaml': CONFIGMAP });
    const before = snapshot(dir);
    const r = runCli([dir, '--check']);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^--- .*web\.yaml$/m);
    expect(r.stdout).toMatch(/^\+ +runAsNonRoot: true$/m);
    expect(snapshot(dir)).toEqual(before);
    // Without --check the default command also writes nothing, and exits 0.
    const plain = runCli([dir]);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toBe(r.stdout);
    expect(snapshot(dir)).toEqual(before);
  });

  it('invalid files among valid ones: exit 2, file:line:col, invalid files untouched, valid file written', () => {
    const duplicate = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\nspec:\n  containers:\n  - name: c\n    image: x:1\n';
    const syntax = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\nspec: {}\n';
    const dir = tempDir({ 'dup.yaml': duplicate, 'nested/syntax.yaml': syntax, 'good.yaml': DEPLOYMENT });
    const r = runCli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(2);
    for (const [file, text] of [['dup.yaml', duplicate], ['nested/syntax.yaml', syntax]]) {
      const { line, col } = firstErrorPosition(text);
      expect(r.stderr, file).toMatch(new RegExp(`^cuirass: (\\./)?${escapeRe(file)}:${line}:${col}: \\S`, 'm'));
      expect(readFileSync(join(dir, file), 'utf8')).toBe(text);
    }
    expect(firstErrorPosition(duplicate)).toEqual({ line: 5, col: 3 });
    expect(r.stderr).not.toMatch(/good\.yaml:\d+:\d+/);
    expect(docs(readFileSync(join(dir, 'good.yaml'), 'utf8'))[0].spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it('--out mirrors the layout under DIR and leaves the inputs alone', () => {
    const dir = tempDir({ 'a/b/web.yaml': DEPLOYMENT, 'c/pod.yaml': PRIVILEGED_POD, 'cm.yaml': CONFIGMAP });
    const before = snapshot(dir);
    const out = join(tempDir({}, 'cuirass-out-'), 'hardened');
    const r = runCli([dir, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(snapshot(dir)).toEqual(before);
    const outFiles = listFiles(out);
    for (const f of ['a/b/web.yaml', 'c/pod.yaml', 'cm.yaml']) expect(outFiles).toContain(f);
    expect(outFiles.filter((f) => !f.endsWith(POLICY_FILE)).sort()).toEqual(['a/b/web.yaml', 'c/pod.yaml', 'cm.yaml']);
    expect(docs(readFileSync(join(out, 'a/b/web.yaml'), 'utf8'))[0].spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(docs(readFileSync(join(out, 'c/pod.yaml'), 'utf8'))[0].spec.containers[0].securityContext.privileged).toBeUndefined();
    expect(readFileSync(join(out, 'cm.yaml'), 'utf8')).toBe(CONFIGMAP);
    // What --out wrote is what --write would write.
    runCli([dir, '--write']);
    expect(readFileSync(join(dir, 'a/b/web.yaml'), 'utf8')).toBe(readFileSync(join(out, 'a/b/web.yaml'), 'utf8'));
  });

  it('--out refuses two inputs whose copies would land on the same path, before writing anything', () => {
    const dir = tempDir({ 'a/app.yaml': DEPLOYMENT, 'b/app.yaml': DEPLOYMENT.replace('name: web', 'name: api') });
    const out = join(dir, 'out');
    const r = runCli([join(dir, 'a'), join(dir, 'b'), '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--out: .*a\/app\.yaml and .*b\/app\.yaml would both be written to .*out\/app\.yaml/);
    expect(existsSync(out)).toBe(false);
    // Their common parent keeps both.
    expect(runCli([dir, '--out', out]).status).toBe(0);
    expect(readFileSync(join(out, 'a/app.yaml'), 'utf8')).toContain('name: web');
    expect(readFileSync(join(out, 'b/app.yaml'), 'utf8')).toContain('name: api');
  });
});

// ---- choosing transforms and levels ---------------------------------------------

describe('--only, --skip and --level', () => {
  const podSpec = (text: string) => docs(text)[0].spec.template.spec;

  it('--only runs just the named transforms', () => {
    const r = runCli(['-', '--only', 'seccomp'], { input: DEPLOYMENT });
    expect(r.status, r.stderr).toBe(0);
    const objects = docs(r.stdout);
    expect(objects).toHaveLength(1); // no generated NetworkPolicy
    const spec = objects[0].spec.template.spec;
    expect(spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    // Remove what seccomp added: the rest is the input, unchanged.
    delete spec.securityContext.seccompProfile;
    if (Object.keys(spec.securityContext).length === 0) delete spec.securityContext;
    for (const c of spec.containers) {
      if (c.securityContext) {
        delete c.securityContext.seccompProfile;
        if (Object.keys(c.securityContext).length === 0) delete c.securityContext;
      }
    }
    expect(objects[0]).toEqual(parse(DEPLOYMENT));

    const two = runCli(['-', '--only', 'seccomp,run-as-non-root'], { input: DEPLOYMENT });
    const spec2 = podSpec(two.stdout);
    expect(spec2.securityContext.seccompProfile.type).toBe('RuntimeDefault');
    expect(spec2.securityContext.runAsNonRoot).toBe(true);
    expect(spec2.containers[0].securityContext?.capabilities).toBeUndefined();
    expect(spec2.containers[0].resources).toBeUndefined();
    expect(spec2.automountServiceAccountToken).toBeUndefined();
  });

  it('--skip leaves out the named transforms (comma separated and repeated)', () => {
    const r = runCli(['-', '--skip', 'seccomp,network-segmentation', '--skip', 'resource-limits'], { input: DEPLOYMENT });
    expect(r.status, r.stderr).toBe(0);
    const objects = docs(r.stdout);
    expect(objects.map((o) => o.kind)).toEqual(['Deployment']);
    const spec = objects[0].spec.template.spec;
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    expect(spec.containers[0].securityContext.capabilities.drop).toEqual(['ALL']);
    expect(r.stdout).not.toContain('seccompProfile');
    expect(r.stdout).not.toContain('RuntimeDefault');
    expect(spec.containers[0].resources).toBeUndefined();
  });

  it('an unknown transform id or a bad flag exits 2 and changes nothing', () => {
    const dir = tempDir({ 'web.yaml': DEPLOYMENT });
    for (const args of [
      ['--only', 'no-such-transform'],
      ['--skip', 'seccomp,no-such-transform'],
      ['--frobnicate'],
      ['--level', 'paranoid'],
      ['--format', 'xml'],
      ['--only', ''],
      ['--only', ','],
      ['--only', 'seccomp', '--skip', 'seccomp'],
    ]) {
      const r = runCli([dir, '--write', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr.length, args.join(' ')).toBeGreaterThan(0);
      expect(readFileSync(join(dir, 'web.yaml'), 'utf8'), args.join(' ')).toBe(DEPLOYMENT);
    }
    expect(runCli([dir, '--only', 'no-such-transform']).stderr).toContain('no-such-transform');
    expect(runCli(['explain', 'no-such-transform']).status).toBe(2);
  });

  it('usage errors of subcommands exit 2 too (1 is only for findings)', () => {
    const dir = tempDir({ 'web.yaml': DEPLOYMENT });
    for (const args of [['check', dir, '--fail-on', 'bogus'], ['check', dir, '--format', 'yaml'], ['explain'], ['rules', 'extra'], ['fn', 'extra'], ['init', dir, '--frobnicate']]) {
      const r = runCli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^error: /m);
    }
    expect(runCli(['check', '--help']).status).toBe(0);
    expect(readdirSync(dir)).toEqual(['web.yaml']);
  });

  it('--level baseline keeps `privileged: true` and reports it; restricted removes it', () => {
    const baseline = runCli(['-', '--level', 'baseline'], { input: PRIVILEGED_POD });
    expect(baseline.status, baseline.stderr).toBe(0);
    const pod = docs(baseline.stdout)[0];
    expect(pod.spec.containers[0].securityContext.privileged).toBe(true);
    expect(baseline.stdout).toContain('      privileged: true\n');
    // Reported as not fixed, with its position in the input.
    const line = PRIVILEGED_POD.split('\n').findIndex((l) => l.includes('privileged: true')) + 1;
    expect(baseline.stderr).toMatch(/^cuirass: not fixed:$/m);
    expect(baseline.stderr).toMatch(new RegExp(`^ {2}<stdin>:${line}:\\d+ +critical +no-privileged: .*privileged`, 'm'));
    // Baseline still adds what is missing.
    expect(pod.spec.containers[0].securityContext.allowPrivilegeEscalation).toBeUndefined();
    expect(pod.spec.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');

    const restricted = runCli(['-'], { input: PRIVILEGED_POD });
    expect(docs(restricted.stdout)[0].spec.containers[0].securityContext.privileged).toBeUndefined();
  });

  it('YAML 1.1 booleans are read as the API server reads them: `privileged: yes` and `hostNetwork: on` fail `check --fail-on low`', () => {
    const pod = ['apiVersion: v1', 'kind: Pod', 'metadata: {name: old, namespace: app}', 'spec:', '  hostNetwork: on', '  hostPID: yes',
      '  automountServiceAccountToken: no', '  securityContext: {runAsNonRoot: yes, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: {type: RuntimeDefault}}',
      '  containers:', '    - name: app', '      image: example/app:1.0@sha256:' + 'a'.repeat(64),
      '      resources: {limits: {memory: 64Mi, cpu: 100m}, requests: {memory: 64Mi, cpu: 100m}}',
      '      securityContext: {privileged: yes, readOnlyRootFilesystem: YES, allowPrivilegeEscalation: No, capabilities: {drop: [ALL]}}', ''].join('\n');
    const check = runCli(['check', '-', '--fail-on', 'low', '--only', 'no-privileged,no-host-namespaces'], { input: pod });
    expect(check.status, check.stderr + check.stdout).toBe(1);
    const hardened = runCli(['-', '--format', 'yaml', '--only', 'no-privileged,no-host-namespaces,read-only-root,no-new-privileges,run-as-non-root,service-account-token'], { input: pod });
    expect(hardened.status, hardened.stderr).toBe(0);
    // What was true is gone; what the API server reads as the safe value stays as written.
    expect(hardened.stdout).not.toMatch(/hostNetwork|hostPID|privileged/);
    expect(hardened.stdout).toContain('automountServiceAccountToken: no\n');
    expect(hardened.stdout).toContain('{readOnlyRootFilesystem: YES, allowPrivilegeEscalation: No, capabilities: {drop: [ALL]}}');
    expect(hardened.stdout).toContain('{runAsNonRoot: yes, runAsUser: 1000');
  });
});

// ---- output formats and informational commands -------------------------------------

describe('--format, --quiet, --version, rules, explain', () => {
  it('--format yaml prints the hardened stream of a folder and writes nothing', () => {
    const dir = tempDir({ 'web.yaml': DEPLOYMENT });
    const r = runCli([dir, '--format', 'yaml']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'web.yaml'), 'utf8')).toBe(DEPLOYMENT);
    const objects = docs(r.stdout);
    expect(objects[0].kind).toBe('Deployment');
    expect(objects[0].spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(r.stdout).not.toMatch(/^(\+\+\+|@@) /m);
    // The stream starts with exactly what --write puts in the file.
    runCli([dir, '--write']);
    expect(r.stdout.startsWith(readFileSync(join(dir, 'web.yaml'), 'utf8'))).toBe(true);
    // stdin with --format yaml is the default stdin output.
    expect(runCli(['-', '--format', 'yaml'], { input: DEPLOYMENT }).stdout).toBe(runCli(['-'], { input: DEPLOYMENT }).stdout);
  });

  it('--quiet prints no summary', () => {
    const dir = tempDir({ 'web.yaml': DEPLOYMENT });
    const r = runCli([dir, '--quiet']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/runAsNonRoot: true/);
  });

  it('--version prints the version of package.json', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const r = runCli(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
    expect(runCli(['-V']).stdout).toBe(`${version}\n`);
  });

  it('rules lists every transform id of the specification, one per line', () => {
    const r = runCli(['rules']);
    expect(r.status).toBe(0);
    // The transforms, one per line, then (after a blank line) the cheat sheet's rules 0–13.
    const [transforms, rules] = r.stdout.split('\n\n');
    const ids = transforms.trim().split('\n').map((l) => l.trim().split(/\s+/)[0]);
    expect(new Set(ids).size).toBe(ids.length);
    // SPEC section 3's table, plus the transforms of the daemon.json and Dockerfile rules (SPEC 2).
    expect([...ids].sort()).toEqual([...SPEC_TRANSFORM_IDS, 'daemon-log-level', 'rootless-mode', 'dockerfile-hygiene'].sort());
    const numbers = rules.trim().split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
    expect(numbers).toEqual([...Array(14).keys()]);
  });

  it('explain seccomp says what, why (OWASP rule 6) and what it may break', () => {
    const r = runCli(['explain', 'seccomp']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^seccomp\b/);
    expect(r.stdout).toMatch(/OWASP[^\n]*\b6\b/);
    expect(r.stdout).toMatch(/may break/i);
    expect(r.stdout).toMatch(/seccomp/i);
  });
});

// ---- discovery ------------------------------------------------------------------

describe('what a folder walk touches', () => {
  it('git-ignored files, node_modules and .git are not touched', () => {
    const dir = tempDir({
      '.gitignore': '# generated\nignored/\n*.generated.yaml\n',
      'ignored/web.yaml': DEPLOYMENT,
      'a.generated.yaml': DEPLOYMENT,
      'sub/.gitignore': 'local.yaml\n',
      'sub/local.yaml': DEPLOYMENT,
      'sub/kept.yaml': DEPLOYMENT,
      'node_modules/pkg/web.yaml': DEPLOYMENT,
      'deep/node_modules/pkg/web.yaml': DEPLOYMENT,
      '.git/web.yaml': DEPLOYMENT,
      'web.yaml': DEPLOYMENT,
    });
    const r = runCli([dir, '--write']);
    expect(r.status, r.stderr).toBe(0);
    for (const f of ['ignored/web.yaml', 'a.generated.yaml', 'sub/local.yaml', 'node_modules/pkg/web.yaml',
      'deep/node_modules/pkg/web.yaml', '.git/web.yaml']) {
      expect(readFileSync(join(dir, f), 'utf8'), f).toBe(DEPLOYMENT);
    }
    for (const d of ['ignored', 'node_modules/pkg', 'deep/node_modules/pkg', 'deep', '.git']) {
      expect(existsSync(join(dir, d, POLICY_FILE)), `${d}: policy file`).toBe(false);
    }
    expect(readFileSync(join(dir, 'web.yaml'), 'utf8')).toContain('runAsNonRoot: true');
    expect(readFileSync(join(dir, 'sub/kept.yaml'), 'utf8')).toContain('runAsNonRoot: true');
    expect(r.stderr).not.toMatch(/node_modules|ignored\/web\.yaml|generated\.yaml|local\.yaml/);
  });

  it('a templated file is skipped with a notice and left untouched', () => {
    const template = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {{ .Values.x }}\n' +
      '  template:\n    spec:\n      containers:\n      - name: web\n        image: "{{ .Values.image }}"\n';
    const dir = tempDir({ 'chart/templates/deploy.yaml': template, 'web.yaml': DEPLOYMENT, 'chart/values.yaml': 'image: web\n' });
    const walk = runCli([dir, '--write']);
    expect(walk.status, walk.stderr).toBe(0);
    expect(readFileSync(join(dir, 'chart/templates/deploy.yaml'), 'utf8')).toBe(template);
    expect(readFileSync(join(dir, 'web.yaml'), 'utf8')).toContain('runAsNonRoot: true');
    // Each template is named; other YAML of the walk is named in one line.
    expect(walk.stderr).toMatch(/chart\/templates\/deploy\.yaml: skipped: a template/);
    expect(walk.stderr).toMatch(/skipped 1 file with no Kubernetes objects or Compose services: .*chart\/values\.yaml/);
    expect(walk.stderr).toMatch(/\b2 skipped\b/);
    expect(walk.stderr).not.toMatch(/deploy\.yaml:\d+:\d+/); // a notice, not an error

    const explicit = runCli([join(dir, 'chart/templates/deploy.yaml'), join(dir, 'web.yaml'), '--write']);
    expect(explicit.stderr).toMatch(/chart\/templates\/deploy\.yaml: skipped: .*template/);
    expect(explicit.status).toBe(0);
    expect(readFileSync(join(dir, 'chart/templates/deploy.yaml'), 'utf8')).toBe(template);
  });

  it('a path with no manifests exits 2', () => {
    const dir = tempDir({ 'README.md': '# nothing here\n', 'values.yaml': 'replicas: 2\nimage: web\n' });
    const r = runCli([dir]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/no Kubernetes manifests/);
    const empty = tempDir();
    expect(runCli([empty]).status).toBe(2);
    expect(runCli([join(empty, 'missing')]).status).toBe(2);
  });
});

// ---- safety ---------------------------------------------------------------------

describe('safety', () => {
  it('NO_COLOR and --no-color mean no ANSI escapes', () => {
    const dir = tempDir({ 'web.yaml': DEPLOYMENT });
    for (const r of [runCli([dir]), runCli([dir, '--no-color']), runCli([dir], { env: { NO_COLOR: '1' } })]) {
      expect(r.stdout).toMatch(/^\+/m);
      expect(r.stdout).not.toMatch(ANSI);
      expect(r.stderr).not.toMatch(ANSI);
    }
  });

  it.runIf(hasScript)('on a terminal the diff is colored unless NO_COLOR or --no-color', () => {
    const dir = tempDir({ 'web.yaml': DEPLOYMENT });
    expect(runInTerminal([dir])).toMatch(ANSI); // the control: color is observable here
    const noColorEnv = runInTerminal([dir], { NO_COLOR: '1' });
    expect(noColorEnv).toContain('runAsNonRoot: true');
    expect(noColorEnv).not.toMatch(ANSI);
    const noColorFlag = runInTerminal([dir, '--no-color']);
    expect(noColorFlag).toContain('runAsNonRoot: true');
    expect(noColorFlag).not.toMatch(ANSI);
  });

  it('a folder walk does not write through a symlink that points outside the input folder, and says so', () => {
    const outside = tempDir({ 'target.yaml': DEPLOYMENT }, 'cuirass-outside-');
    const dir = tempDir({ 'web.yaml': DEPLOYMENT });
    symlinkSync(join(outside, 'target.yaml'), join(dir, 'link.yaml'));
    const r = runCli([dir, '--write']);
    expect(readFileSync(join(outside, 'target.yaml'), 'utf8')).toBe(DEPLOYMENT);
    expect(listFiles(outside)).toEqual(['target.yaml']);
    expect(lstatSync(join(dir, 'link.yaml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'web.yaml'), 'utf8')).toContain('runAsNonRoot: true');
    expect(r.status === 0 || r.status === 2).toBe(true);
    // SPEC §2: what a walk skips is skipped with a notice.
    expect(r.stderr).toMatch(/link\.yaml.*symlink|symlink.*link\.yaml/);

  });

  it('a symlink named explicitly that points outside its folder is refused, not written through', () => {
    const outside = tempDir({ 'target.yaml': DEPLOYMENT }, 'cuirass-outside-');
    const dir = tempDir();
    symlinkSync(join(outside, 'target.yaml'), join(dir, 'link.yaml'));
    const explicit = runCli([join(dir, 'link.yaml'), '--write']);
    expect(readFileSync(join(outside, 'target.yaml'), 'utf8')).toBe(DEPLOYMENT);
    expect(lstatSync(join(dir, 'link.yaml')).isSymbolicLink()).toBe(true);
    expect(explicit.stderr).toMatch(/link\.yaml.*symlink/);
    expect(explicit.status).toBe(2);
    // The summary must not claim a write that was refused.
    expect(explicit.stderr).not.toMatch(/\b1 written\b/);
  });

  it('`check` on a file it does not change reports positions that exist in that file', () => {
    const pod = `apiVersion: v1
kind: Pod
metadata:
  name: logs
spec:
  containers:
  - name: agent
    image: example/agent:1.0
    volumeMounts:
    - name: varlog
      mountPath: /var/log
  volumes:
  - name: varlog
    hostPath:
      path: /var/log
`;
    const dir = tempDir({ 'pod.yaml': pod });
    const r = runCli(['check', join(dir, 'pod.yaml'), '--format', 'json']);
    expect(readFileSync(join(dir, 'pod.yaml'), 'utf8')).toBe(pod);
    const report = JSON.parse(r.stdout) as { findings: { transform: string; line: number; column: number; message: string }[] };
    const lines = pod.split('\n');
    const volume = report.findings.find((f) => f.transform === 'host-volumes');
    expect(volume, r.stdout).toBeDefined();
    const span = [lines.indexOf('  - name: varlog') + 1, lines.indexOf('      path: /var/log') + 1];
    const where = `host-volumes reported at ${volume!.line}:${volume!.column}; the volume is on lines ${span.join('-')} of a ${lines.length - 1}-line file`;
    expect(volume!.line, where).toBeGreaterThanOrEqual(span[0]);
    expect(volume!.line, where).toBeLessThanOrEqual(span[1]);
    for (const f of report.findings) {
      expect(f.line, `${f.transform} at ${f.line}:${f.column}: ${f.message}`).toBeLessThanOrEqual(lines.length);
    }
  });

  it('a JSON manifest stays valid JSON after --write', () => {
    const json = JSON.stringify(parse(DEPLOYMENT), null, 2) + '\n';
    const dir = tempDir({ 'web.json': json });
    const r = runCli([dir, '--write']);
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(join(dir, 'web.json'), 'utf8');
    expect(text).not.toBe(json);
    const out = JSON.parse(text);
    expect(out.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(out.spec.template.spec.containers[0].securityContext.capabilities.drop).toEqual(['ALL']);
    expect(runCli([dir, '--check']).status).toBe(0);
  });
});
