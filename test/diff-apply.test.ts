/**
 * Issue 14 "Diff and noise": the printed diff applies. One hunk set per file however many
 * inputs add to it (a folder's Compose files share `.gitignore` and `secrets/`; its manifests
 * share `.gitignore`), new files diffed from /dev/null, and the summary counts the files the
 * run writes. The diff is applied for real with `git apply` and `patch -p0` to a copy of the
 * tree as the diff shows it (secret values as `<redacted>`), and the result must equal what
 * `--write` leaves on disk, shown the same way.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';

const REDACTED = '<redacted>';

/** Every file under `dir` (relative paths), `.git` left out. */
function tree(dir: string, base = dir): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    if (name === '.git') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) Object.assign(out, tree(path, base));
    else out[relative(base, path)] = readFileSync(path, 'utf8');
  }
  return out;
}

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cuirass-apply-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  execFileSync('git', ['init', '-q'], { cwd: dir });
  return dir;
}

/** `files` with each secret value spelled as the diff shows it. */
function shownAs(files: Record<string, string>, values: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([p, t]) => [p, values.reduce((s, v) => s.split(v).join(REDACTED), t)]));
}

function checkApplies(files: Record<string, string>, values: string[], secretFiles: RegExp) {
  const dir = project(files);
  const r = runCli(['.', '--no-color'], { cwd: dir });
  expect(r.status).toBe(0);
  const headers = r.stdout.split('\n').filter((l) => l.startsWith('+++ ')).map((l) => l.slice(4));
  // One diff per file.
  expect(headers.length).toBe(new Set(headers).size);
  for (const v of values) expect(r.stdout).not.toContain(v);

  // --write on the real tree: the files it changes or creates are the files the diff names.
  const written = project(files);
  const w = runCli(['.', '--write', '--no-color'], { cwd: written });
  expect(w.status).toBe(0);
  const after = tree(written);
  const changed = Object.keys(after).filter((p) => after[p] !== files[p]).sort();
  expect([...headers].sort()).toEqual(changed);
  const count = /(\d+) generated files?/.exec(r.stderr)?.[1];
  expect(Number(count)).toBe(changed.filter((p) => !(p in files)).length + changed.filter((p) => p in files && !/\.(ya?ml|json)$/.test(p)).length);

  // The diff applies to the tree as it shows it, and gives what --write wrote, shown alike.
  for (const tool of ['git', 'patch'] as const) {
    const shown = project(shownAs(files, values));
    const applied =
      tool === 'git'
        ? spawnSync('git', ['apply', '-p0', '--whitespace=nowarn', '-'], { cwd: shown, input: r.stdout, encoding: 'utf8' })
        : spawnSync('patch', ['-p0', '--batch', '--silent'], { cwd: shown, input: r.stdout, encoding: 'utf8' });
    expect(applied.stderr + applied.stdout).toBe('');
    expect(applied.status).toBe(0);
    const got = tree(shown);
    const want = shownAs(after, values);
    for (const p of Object.keys(want)) if (!secretFiles.test(p)) expect([p, got[p]]).toEqual([p, want[p]]);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  }
}

describe('the printed diff applies (git apply, patch -p0)', () => {
  it('a multi-service Compose project: three Compose files share .gitignore and secrets/', () => {
    const files = {
      'compose.yaml': `services:
  web:
    image: example/web:1.0
    environment:
      - API_TOKEN=tok-web-1234
  worker:
    image: example/worker:1.0
    environment:
      SECRET_KEY: worker-secret-99
      LOG_LEVEL: info
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: pg-pass-123
`,
      'compose.prod.yaml': `services:
  api:
    image: example/api:1.0
    environment:
      - API_TOKEN=tok-api-777
      - LOG_LEVEL=info
`,
      'docker-compose.yml': `services:
  cache:
    image: example/cache:1.0
    environment:
      CACHE_PASSWORD: cache-pw-1
`,
    };
    checkApplies(files, ['tok-web-1234', 'worker-secret-99', 'pg-pass-123', 'tok-api-777', 'cache-pw-1'], /^secrets\/|\.secrets\.yaml$/);
  });

  it('a multi-file Kubernetes folder: each manifest adds to one .gitignore', () => {
    const deployment = (name: string, value: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: ${name}
        image: example/${name}:1.0
        env:
        - name: API_TOKEN
          value: ${value}
`;
    const files = { 'app.yaml': deployment('app', 'app-token-1'), 'worker.yaml': deployment('worker', 'worker-token-2'), 'sub/other.yaml': deployment('other', 'other-token-3') };
    checkApplies(files, ['app-token-1', 'worker-token-2', 'other-token-3'], /\.secrets\.yaml$/);
  });
});

describe('no empty environment left behind', () => {
  it('moving every entry removes the key, in list and map form', () => {
    const dir = project({
      'compose.yaml': `services:
  web:
    image: example/web:1.0
    environment:
      - API_TOKEN=tok-web-1234
  worker:
    image: example/worker:1.0
    environment:
      SECRET_KEY: worker-secret-99
`,
    });
    expect(runCli(['.', '--write', '--only', 'secrets-from-env'], { cwd: dir }).status).toBe(0);
    expect(readFileSync(join(dir, 'compose.yaml'), 'utf8')).toBe(`services:
  web:
    image: example/web:1.0
    env_file:
      - secrets/web.env
  worker:
    image: example/worker:1.0
    env_file:
      - secrets/worker.env
`);
    expect(runCli(['.', '--check', '--only', 'secrets-from-env'], { cwd: dir }).status).toBe(0);
  });
});
