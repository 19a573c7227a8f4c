/**
 * `--inspect-images` against a stand-in engine: an HTTP server on a unix socket that answers the
 * two Engine API calls cuirass makes (`/_ping`, `/images/{name}/json`), run through the built CLI
 * with DOCKER_HOST pointing at it. The real engine is exercised by the e2e.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { imageRefs } from '../src/stack/images.js';
import { inspectedImage, imageUser } from '../src/compose/build.js';
import { CLI } from './support/run-cli.js';

const IMAGES: Record<string, unknown> = {
  'example/app:2.1': { Config: { User: '4242:4242', ExposedPorts: { '8080/tcp': {} }, Volumes: { '/var/lib/app': {}, '/tmp': {} } } },
  'example/rooty:1.0': { Config: { User: '', ExposedPorts: null, Volumes: null } },
  'example/named:1.0': { Config: { User: 'app', Volumes: { '/data/': {} } } },
};

let server: Server;
let socket: string;
const asked: string[] = [];

beforeAll(async () => {
  socket = join(mkdtempSync(join(tmpdir(), 'fake-engine-')), 'docker.sock');
  server = createServer((req, res) => {
    asked.push(`${req.method} ${req.url}`);
    if (req.url === '/_ping') {
      res.end('OK');
      return;
    }
    const m = /^\/images\/([^/]+)\/json$/.exec(req.url ?? '');
    const image = m ? IMAGES[decodeURIComponent(m[1])] : undefined;
    res.statusCode = image ? 200 : 404;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(image ?? { message: 'No such image' }));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The built CLI, asynchronously (the stand-in engine answers from this process). */
function run(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const COMPOSE = `services:
  app:
    image: example/app:2.1
  rooty:
    image: example/rooty:1.0
  named:
    image: example/named:1.0
  pulled:
    image: example/not-here:3
`;

describe('--inspect-images', () => {
  it('keeps the non-root user an image declares and treats its declared volumes as writable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspect-'));
    writeFileSync(join(dir, 'compose.yaml'), COMPOSE);
    const r = await run([dir, '--format', 'yaml', '--only', 'run-as-non-root,read-only-root', '--inspect-images'], { DOCKER_HOST: `unix://${socket}` });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('--inspect-images: read the config of 3 local images; 1 not on this engine (not pulled)');
    const out = r.stdout;
    const section = (name: string) => {
      const start = out.indexOf(`  ${name}:\n`);
      const next = out.slice(start + 3).search(/\n {2}[a-z]/);
      return next < 0 ? out.slice(start) : out.slice(start, start + 3 + next);
    };
    // Declares 4242: no user override; /tmp is a volume Docker makes for it, so no tmpfs there.
    expect(section('app')).not.toContain('user:');
    expect(section('app')).toContain('read_only: true');
    expect(section('app')).not.toContain('tmpfs');
    expect(section('rooty')).toMatch(/tmpfs:\n\s+- \/tmp/);
    // Declares a named non-root user: kept too.
    expect(section('named')).not.toContain('user:');
    // Declares root (''), or unknown to the engine: the generic uid.
    expect(section('rooty')).toContain('user: "10001:10001"');
    expect(section('pulled')).toContain('user: "10001:10001"');
    // Only reads: a ping and one GET per image, never a pull (POST /images/create).
    expect(asked.every((a) => a.startsWith('GET '))).toBe(true);
    expect(asked).toContain('GET /images/example%2Fapp%3A2.1/json');
  });

  it('without the flag, or with no engine, the image configs are not read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspect-'));
    writeFileSync(join(dir, 'compose.yaml'), COMPOSE);
    const before = asked.length;
    const plain = await run([dir, '--format', 'yaml', '--only', 'run-as-non-root'], { DOCKER_HOST: `unix://${socket}` });
    expect(asked.length).toBe(before);
    expect(plain.stdout.match(/user: "10001:10001"/g)).toHaveLength(4);
    const none = await run([dir, '--format', 'yaml', '--only', 'run-as-non-root', '--inspect-images'], { DOCKER_HOST: `unix://${join(tmpdir(), 'no-such-engine.sock')}` });
    expect(none.status).toBe(0);
    expect(none.stderr).toContain('no Docker engine answers');
    expect(none.stdout).toBe(plain.stdout);
  });

  it('Kubernetes: a numeric uid an image declares becomes runAsUser', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspect-'));
    writeFileSync(
      join(dir, 'pod.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n    - name: app\n      image: example/app:2.1\n',
    );
    const r = await run([dir, '--format', 'yaml', '--only', 'run-as-non-root', '--inspect-images'], { DOCKER_HOST: `unix://${socket}` });
    expect(r.stdout).toContain('runAsUser: 4242');
    expect(r.stdout).not.toContain('10001');
  });
});

describe('image references and facts', () => {
  it('finds image references in Compose and Kubernetes texts, not interpolated ones', () => {
    expect(imageRefs(['services:\n  a: {image: "nginx:1.27"}\n  b:\n    image: ${REG}/b\n', 'kind: Pod\nspec:\n  containers:\n    - image: redis:7\n---\nkind: X\n'])).toEqual(['nginx:1.27', 'redis:7']);
    expect(imageRefs(['{{ not yaml'])).toEqual([]);
  });

  it('reads an image config the way Docker runs it', () => {
    expect(imageUser('')).toMatchObject({ root: true });
    expect(imageUser('0:0')).toMatchObject({ root: true, uid: 0 });
    expect(imageUser('root')).toMatchObject({ root: true });
    expect(imageUser('101:101')).toEqual({ value: '101:101', root: false, uid: 101, gid: 101 });
    expect(inspectedImage('x', { user: 'app', exposedPorts: ['80/tcp', '53/udp'], volumes: ['/data/'] })).toMatchObject({ source: 'engine', expose: [80, 53], volumes: ['/data'] });
  });
});
