/**
 * SPEC 7: diffs and patches redact every scalar form of a secret, and only its own positions.
 * Runs the built CLI on small projects and on stdin.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPatch } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli } from './support/cli.js';
import { jsonPatches } from '../src/report/json-patch.js';
import { secretSpans } from '../src/redact.js';
import type { Outcome } from '../src/run.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { TRANSFORMS } from '../transforms/index.js';

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cuirass-redact-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  execFileSync('git', ['init', '-q'], { cwd: dir });
  return dir;
}

const FORMS = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
      - name: app
        image: example/app:1.0
        env:
        - name: BLOCK_TOKEN
          value: |
            blockline-one
            blockline-two
        - name: FOLDED_TOKEN
          value: >-
            foldedword one
            foldedword two
        - name: SINGLE_TOKEN
          value: 'single''quote-word'
        - name: ESCAPED_TOKEN
          value: "dq\\x41\\u0042-word"
        - name: CONTINUED_TOKEN
          value: "contline-one \\
            contline-two"
        - name: PLAIN_TOKEN
          value: plainline-one
            plainline-two
`;

const JSON_JOB = `{
  "apiVersion": "batch/v1",
  "kind": "Job",
  "metadata": {"name": "job"},
  "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "job", "image": "example/job:1.0", "env": [{"name": "JSON_TOKEN", "value": "json\\u0073ecret-word"}]}]}}}
}
`;

/** Pieces of the values above, as written and as read: none may be printed. */
const FRAGMENTS = ['blockline', 'foldedword', 'quote-word', "single'", 'dqAB', 'x41', 'u0042', 'contline', 'plainline', 'jsonsecret', 'u0073'];

describe('every scalar form is redacted', () => {
  it('in the diff of the manifests and of the generated *.secrets.yaml', () => {
    const dir = project({ 'app.yaml': FORMS, 'job.json': JSON_JOB });
    const r = runCli(['.', '--no-color'], { cwd: dir });
    expect(r.status).toBe(0);
    for (const f of FRAGMENTS) expect([f, r.stdout.includes(f)]).toEqual([f, false]);
    // Line for line: each line of a value written over several lines shows <redacted>.
    expect(r.stdout).toContain(`-          value: <redacted>
-            <redacted>
-            <redacted>
`);
    expect(r.stdout).toContain(`-          value: "<redacted>
-            <redacted>"
`);
    expect(r.stdout).toContain(`+  BLOCK_TOKEN: <redacted>\n`);
    expect(r.stdout).toContain(`"value": "<redacted>"`);
  });

  it('on stdin, in the diff and in --format json-patch', () => {
    for (const format of ['diff', 'json-patch']) {
      const r = runCli(['-', '--format', format, '--no-color'], { input: FORMS });
      expect(r.status).toBe(0);
      for (const f of FRAGMENTS) expect([format, f, r.stdout.includes(f)]).toEqual([format, f, false]);
    }
  });

  it('a multi-line value in an existing .env stays hidden in the diff of the file', () => {
    const dir = project({
      '.gitignore': '/.env\n',
      '.env': 'OTHER="first-hidden-line\nsecond-hidden-line"\n',
      'compose.yaml': 'services:\n  app:\n    image: example/app:1.0\n    environment:\n      - DATABASE_URL=postgres://app:pw-in-url-1@db/app\n',
    });
    const r = runCli(['.', '--no-color'], { cwd: dir });
    expect(r.stdout).toContain('+APP_DATABASE_URL_PASSWORD=<redacted>');
    expect(r.stdout).not.toMatch(/hidden-line|pw-in-url/);
  });
});

describe('only the secret positions are redacted', () => {
  const compose = `services:
  api:
    image: example/api:1.0
    environment:
      - API_TOKEN=api
      - LOG_LEVEL=info
    networks: [apinet]
  web:
    image: example/web:1.0
    depends_on: [api]
    environment:
      API_URL: http://api:8080/api
networks:
  apinet: {}
`;
  const k8s = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: example/api:1.0
        env:
        - name: API_KEY
          value: api
`;

  it('a token "api" leaves apiVersion, example/api:1.0 and the api network alone', () => {
    const dir = project({ 'compose.yaml': compose, 'k8s/api.yaml': k8s });
    const r = runCli(['.', '--no-color'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/<redacted>Version|\/<redacted>|<redacted>net|<redacted>-/);
    expect(r.stdout).toContain('example/api:1.0');
    expect(r.stdout.split('\n').filter((l) => l.includes('<redacted>'))).toEqual([
      '-      - API_TOKEN=<redacted>',
      '-          value: <redacted>',
      '+API_TOKEN=<redacted>',
      '+  API_KEY: <redacted>',
    ]);
  });

  it('--format json-patch replays to the hardened documents exactly', () => {
    for (const input of [compose, k8s]) {
      const patches = JSON.parse(runCli(['-', '--format', 'json-patch'], { input }).stdout) as { document?: number; patch?: unknown[]; created?: Record<string, unknown> }[];
      const hardened = parseAllDocuments(runCli(['-', '--format', 'yaml'], { input }).stdout).map((d) => d.toJS());
      const docs = parseAllDocuments(input).map((d) => d.toJS());
      for (const p of patches.filter((x) => x.patch)) {
        const doc = structuredClone(docs[p.document!]);
        const results = applyPatch(doc, p.patch as never);
        expect(results.every((x) => x === null)).toBe(true);
        expect(doc).toEqual(hardened[p.document!]);
      }
      const created = patches.filter((x) => x.created).map((x) => x.created!);
      expect(created).toEqual(hardened.slice(docs.length).map((d) => ((d as { kind: string }).kind === 'Secret' ? { ...(d as object), stringData: { API_KEY: '<redacted>' } } : d)));
      // <redacted> stands only at the values of the generated Secret.
      expect(JSON.stringify(patches).split('<redacted>').length - 1).toBe(created.filter((c) => c.kind === 'Secret').length);
    }
  });

  it('a password equal to the user name: the user stays readable (only the password position is redacted)', () => {
    const dir = project({ 'compose.yaml': 'services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_USER: shop\n      POSTGRES_PASSWORD: shop\n' });
    const r = runCli(['.', '--no-color'], { cwd: dir });
    expect(r.stdout).toContain('       POSTGRES_USER: shop\n');
    expect(r.stdout).toContain('-      POSTGRES_PASSWORD: <redacted>\n');
  });

  it('reports keep the names a secret happens to equal (check, json, fn results)', () => {
    const dir = project({ 'compose.yaml': compose });
    const check = runCli(['check', '.', '--no-color'], { cwd: dir });
    expect(check.stdout + check.stderr).toContain('service "api" does not drop all capabilities');
    const json = runCli(['.', '--format', 'json'], { cwd: dir }).stdout;
    expect(json).not.toContain('<redacted>');
    expect(json).toContain('service \\"api\\"');
    const list = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${k8s.replace(/^/gm, '  ').replace(/^  apiVersion/, '- apiVersion')}`;
    const fn = runCli(['fn'], { input: list }).stdout;
    // Before, the results said `<redacted>Version: apps/v1` and `name: <redacted>`.
    expect(fn).toMatch(/^- message: /m);
    expect(fn).not.toContain('<redacted>');
  });
});

describe('json-patch operations', () => {
  it('an operation that carries a secret the document still holds shows <redacted> at its path only', () => {
    const input = 'services:\n  app:\n    image: example/app:1.0\n';
    const output = 'services:\n  app:\n    image: example/app:1.0\n    environment:\n      API_TOKEN: tok-left-here\n      LOG_LEVEL: tok-left-here-too\n    labels: [tok-left-here]\n';
    const o = { display: 'compose.yaml', status: 'changed', input, output, changes: [], remaining: [], manifest: true, files: [], documents: [], secrets: ['tok-left-here'], suppressed: [] } as Outcome;
    const redactors = TRANSFORMS.filter((t) => t.id === 'secrets-from-env');
    const [entry] = jsonPatches([o], [], undefined, (_o, text) => secretSpans(text, redactors, DEFAULT_SETTINGS, 'compose.yaml')) as { patch: unknown[] }[];
    expect(entry.patch).toEqual([
      { op: 'add', path: '/services/app/environment', value: { API_TOKEN: '<redacted>', LOG_LEVEL: 'tok-left-here-too' } },
      { op: 'add', path: '/services/app/labels', value: ['tok-left-here'] },
    ]);
  });
});
