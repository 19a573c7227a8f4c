/**
 * Compose services built from a Dockerfile (SPEC section 2): what they need comes from the
 * Dockerfile (its final USER, the profile of its FROM image, EXPOSE, VOLUME). Checked on every
 * `build:` service of the shared corpus whose Dockerfile is there, and on hand-written cases.
 * The corpus is only read (processText writes nothing).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { processText } from '../src/run.js';
import type { Outcome, RunOptions } from '../src/run.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { TRANSFORMS } from '../transforms/index.js';
import { builtImage } from '../src/compose/build.js';
import { readTextInTree } from '../src/dockerfile/read.js';
import { profileFor } from '../transforms/profiles/index.js';

const CORPUS = fileURLToPath(new URL('../../shared/corpus/compose/', import.meta.url));
const OPTIONS: RunOptions = { level: 'restricted', settings: DEFAULT_SETTINGS, transforms: TRANSFORMS };
const GENERIC = `${DEFAULT_SETTINGS.uid}:${DEFAULT_SETTINGS.gid}`;

type Svc = Record<string, unknown>;

function composeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? composeFiles(join(dir, e.name)) : /^(docker-)?compose(\.[\w-]+)?\.ya?ml$/.test(e.name) && !/override/.test(e.name) ? [join(dir, e.name)] : []))
    .sort();
}

function harden(path: string): Outcome {
  return processText(relative(CORPUS, path), readFileSync(path, 'utf8'), OPTIONS, dirname(path));
}

function services(text: string): Record<string, Svc> {
  return ((parse(text, { merge: true }) as { services?: Record<string, Svc> }).services ?? {}) as Record<string, Svc>;
}

function tmpfsOf(svc: Svc): string[] {
  const t = svc.tmpfs;
  return (Array.isArray(t) ? t : t ? [t] : []).map((x) => String(x).split(':')[0]);
}

describe('Compose corpus: build: services hardened from their Dockerfile', () => {
  const cases: { file: string; name: string; before: Svc; after: Svc; built: NonNullable<ReturnType<typeof builtImage>> }[] = [];
  for (const file of composeFiles(CORPUS)) {
    let before: Record<string, Svc>;
    try {
      before = services(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    const built = Object.entries(before).filter(([, s]) => s && typeof s === 'object' && s.build !== undefined);
    if (built.length === 0) continue;
    const o = harden(file);
    if (o.status !== 'changed' && o.status !== 'unchanged') continue;
    const after = services(o.output);
    for (const [name, svc] of built) {
      const facts = builtImage(svc.build, (p) => readTextInTree(dirname(file), p));
      if (!facts || facts.unread) continue;
      cases.push({ file: relative(CORPUS, file), name, before: svc, after: after[name], built: facts });
    }
  }

  it('the corpus has many built services whose Dockerfile is there', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it('property: the user follows the Dockerfile (non-root USER kept), else the FROM profile, else the generic uid', () => {
    const wrong: string[] = [];
    for (const c of cases) {
      if (c.before.user !== undefined || c.before['x-cuirass'] !== undefined) continue;
      const profile = profileFor(c.built.from, { compose: true, hostNetwork: c.before.network_mode === 'host' });
      // A profile's null user keeps the image's root; a profile without a user (python) takes the generic uid.
      const expected = c.built.user && !c.built.user.root ? undefined : profile ? (profile.user === null ? undefined : profile.user ?? GENERIC) : GENERIC;
      if (c.after.user !== expected) wrong.push(`${c.file} ${c.name}: FROM ${c.built.from}, USER ${c.built.user?.value}: user ${String(c.after.user)}, expected ${String(expected)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('property: a read-only root keeps the FROM profile\'s writable paths writable, and no tmpfs hides a VOLUME', () => {
    const wrong: string[] = [];
    for (const c of cases) {
      if (c.after.read_only !== true || c.before.read_only !== undefined) continue;
      const tmpfs = tmpfsOf(c.after);
      const mounts = (Array.isArray(c.after.volumes) ? c.after.volumes : []).map((v) => (typeof v === 'string' ? v.split(':')[1] ?? v : String((v as Svc).target)));
      for (const p of profileFor(c.built.from)?.writable ?? []) if (!tmpfs.includes(p) && !mounts.includes(p) && !c.built.volumes.includes(p)) wrong.push(`${c.file} ${c.name}: ${p} not writable`);
      for (const v of c.built.volumes) if (tmpfs.includes(v) && !tmpfsOf(c.before).includes(v)) wrong.push(`${c.file} ${c.name}: tmpfs over VOLUME ${v}`);
    }
    expect(wrong).toEqual([]);
  });

  const one = (file: string, name: string) => {
    const c = cases.find((x) => x.file === file && x.name === name);
    expect(c, `${file} ${name}`).toBeDefined();
    return c!;
  };

  it('nginx-flask-mysql proxy (build: proxy, FROM nginx:1.13-alpine) gets nginx\'s Alpine writable paths', () => {
    const c = one('awesome-compose/nginx-flask-mysql/compose.yaml', 'proxy');
    expect(c.built.from).toBe('nginx:1.13-alpine');
    expect(tmpfsOf(c.after)).toEqual(['/tmp', ...(profileFor('nginx:1.13-alpine')!.writable)]);
    expect(tmpfsOf(c.after)).toContain('/var/cache/nginx');
  });

  it('nginx-wsgi-flask: USER nonroot and USER nginx in the Dockerfiles mean no user: override', () => {
    const flask = one('awesome-compose/nginx-wsgi-flask/compose.yaml', 'flask-app');
    expect(flask.built.user?.value).toBe('nonroot');
    expect(flask.after.user).toBeUndefined();
    const proxy = one('awesome-compose/nginx-wsgi-flask/compose.yaml', 'nginx-proxy');
    expect(proxy.built.user?.value).toBe('nginx');
    expect(proxy.after.user).toBeUndefined();
  });

  it('react-java-mysql backend: VOLUME /tmp is an anonymous volume, so no tmpfs at /tmp', () => {
    const c = one('awesome-compose/react-java-mysql/compose.yaml', 'backend');
    expect(c.built.volumes).toEqual(['/tmp']);
    expect(c.after.read_only).toBe(true);
    expect(tmpfsOf(c.after)).not.toContain('/tmp');
  });

  it('example-voting-app result (FROM node:18-slim, EXPOSE 80) runs as the node profile\'s user', () => {
    const c = one('example-voting-app/docker-compose.yml', 'result');
    expect(c.built).toMatchObject({ from: 'node:18-slim', expose: [80] });
    expect(c.after.user).toBe(profileFor('node:18-slim')?.user ?? GENERIC);
  });
});

describe('build: services, hand-written', () => {
  function project(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-build-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }
  const run = (dir: string) => processText('compose.yaml', readFileSync(join(dir, 'compose.yaml'), 'utf8'), { ...OPTIONS, transforms: TRANSFORMS.filter((t) => t.id === 'run-as-non-root') }, dir);

  it('a user created with useradd -u and USER by name: no override; user: root in Compose becomes that user', () => {
    const dir = project({
      'compose.yaml': 'services:\n  api:\n    build: {context: ./api, dockerfile: api.Dockerfile}\n  worker:\n    build: ./api\n    user: root\n',
      'api/api.Dockerfile': 'FROM debian:12-slim\nRUN useradd -u 1500 app\nUSER app\n',
      'api/Dockerfile': 'FROM debian:12-slim\nRUN useradd -u 1500 app\nUSER app\n',
    });
    const o = run(dir);
    expect(o.output).toBe('services:\n  api:\n    build: {context: ./api, dockerfile: api.Dockerfile}\n  worker:\n    build: ./api\n    user: app\n');
  });

  it('a Dockerfile that leaves the tree through a symlink is not read (generic uid)', () => {
    const outside = project({ 'Dockerfile': 'FROM alpine:3.20\nUSER 1234\n' });
    const dir = project({ 'compose.yaml': 'services:\n  app:\n    build: .\n' });
    symlinkSync(join(outside, 'Dockerfile'), join(dir, 'Dockerfile'));
    const o = run(dir);
    expect(o.output).toContain(`user: "${GENERIC}"`);
  });

  it('EXPOSE 80 as non-root on the host network is reported; on its own network it is fine', () => {
    const dir = project({
      'compose.yaml': 'services:\n  web:\n    build: .\n    network_mode: host\n  web2:\n    build: .\n',
      'Dockerfile': 'FROM alpine:3.20\nEXPOSE 80\nUSER 1000\n',
    });
    const o = run(dir);
    expect(o.remaining.map((f) => [f.field, f.line])).toEqual([['services.web.network_mode', 4]]);
    expect(o.output).toBe(readFileSync(join(dir, 'compose.yaml'), 'utf8'));
  });

  it('a Dockerfile that cannot be read yields to what --inspect-images read of the image', () => {
    const dir = project({ 'compose.yaml': 'services:\n  app:\n    image: app:1\n    build: {context: ., dockerfile: \"${DF}\"}\n' });
    const images = { 'app:1': { user: '1000', exposedPorts: [], volumes: [] } };
    const o = processText('compose.yaml', readFileSync(join(dir, 'compose.yaml'), 'utf8'), { ...OPTIONS, settings: { ...DEFAULT_SETTINGS, images }, transforms: TRANSFORMS.filter((t) => t.id === 'run-as-non-root') }, dir);
    expect(o.status).toBe('unchanged');
    expect(run(dir).output).toContain(`user: "${GENERIC}"`);
  });

  it('build.target picks the stage; USER root there means the generic uid', () => {
    const dir = project({
      'compose.yaml': 'services:\n  app:\n    build:\n      context: .\n      target: dev\n',
      'Dockerfile': 'FROM alpine:3.20 AS dev\nUSER root\nFROM alpine:3.20\nUSER 1000\n',
    });
    expect(run(dir).output).toContain(`user: "${GENERIC}"`);
  });
});
