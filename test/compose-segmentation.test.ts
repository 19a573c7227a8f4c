import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hardenText } from '../src/harden.js';
import type { HardenOptions } from '../src/harden.js';
import { processText } from '../src/run.js';
import type { RunOptions } from '../src/run.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { treeFileReader } from '../src/tree-files.js';
import { TRANSFORMS } from '../transforms/index.js';
import { namesHost } from '../transforms/compose-links.js';
import { MAX_NETWORKS } from '../transforms/network-segmentation.js';

const only = (...ids: string[]) => TRANSFORMS.filter((t) => ids.includes(t.id));
const opts: HardenOptions = { transforms: only('network-segmentation'), level: 'restricted', settings: DEFAULT_SETTINGS };
const runOpts: RunOptions = { transforms: only('network-segmentation'), level: 'restricted', settings: DEFAULT_SETTINGS };

/** Networks of each service of a Compose text (`default` when it lists none), network_mode services left out. */
function networksOf(text: string): Record<string, Set<string>> {
  const doc = parse(text) as { services: Record<string, { networks?: string[] | Record<string, unknown>; network_mode?: string }> };
  return Object.fromEntries(
    Object.entries(doc.services)
      .filter(([, s]) => !s.network_mode)
      .map(([name, s]) => [name, new Set(Array.isArray(s.networks) ? s.networks : s.networks ? Object.keys(s.networks) : ['default'])]),
  );
}

function shares(nets: Record<string, Set<string>>, a: string, b: string): boolean {
  return [...nets[a]].some((n) => nets[b].has(n));
}

function allNetworks(nets: Record<string, Set<string>>): Set<string> {
  return new Set(Object.values(nets).flatMap((s) => [...s]));
}

const STACK = `services:
  proxy:
    image: nginx:1.27
    ports: ["80:80"]
    depends_on: [app]
  app:
    image: shop/app:1
    environment:
      DATABASE_HOST: db
      REDIS_URL: redis://cache:6379/0
  worker:
    image: shop/worker:1
    command: ["worker", "--queue", "cache:6379"]
  db:
    image: postgres:16
  cache:
    image: redis:7
  mailer:
    image: shop/mailer:1
`;

describe('Compose segmentation: few networks, only backends move', () => {
  const r = hardenText(STACK, opts, { file: 'compose.yaml' });
  const nets = networksOf(r.output);

  it('a backend shares one internal network with exactly what reaches it; every other service stays on default', () => {
    expect(nets).toEqual({
      proxy: new Set(['default']),
      app: new Set(['default', 'db-net', 'cache-net']),
      worker: new Set(['default', 'cache-net']),
      db: new Set(['db-net']),
      cache: new Set(['cache-net']),
      mailer: new Set(['default']),
    });
    expect(parse(r.output).networks).toEqual({ 'db-net': { internal: true }, 'cache-net': { internal: true } });
    // 4 services that reach a backend or are one; the others are not touched.
    expect(r.changes.map((c) => c.object?.name)).toEqual(['app', 'worker', 'db', 'cache']);
    expect(r.changes.find((c) => c.object?.name === 'db')!.message).toBe(
      'backend "db" leaves the default network for the internal network db-net, shared with what the files show reaching it: app (DATABASE_HOST)',
    );
  });

  it('a second run changes nothing', () => {
    const again = hardenText(r.output, opts, { file: 'compose.yaml' });
    expect(again.output).toBe(r.output);
    expect(again.changes).toEqual([]);
  });

  it('a file with its own networks is only reported', () => {
    const designed = 'services:\n  a:\n    image: x:1\n    networks: [front]\n  b:\n    image: y:1\n  c:\n    image: z:1\nnetworks:\n  front: {}\n';
    const d = hardenText(designed, opts, { file: 'compose.yaml' });
    expect(d.output).toBe(designed);
    expect(d.remaining.map((f) => f.message)).toEqual([
      expect.stringContaining('service "b" shares the default network'),
      expect.stringContaining('service "c" shares the default network'),
    ]);
  });

  it('a default URL in ${VAR:-...} and a bare host only under a host-like key are connections; a database name is not', () => {
    const text = `services:
  web:
    image: example/web:1
    environment:
      API_URL: \${API_URL:-http://api:3003}
  api:
    image: example/api:1
    environment:
      POSTGRES_DB: db
  db:
    image: postgres:16
  search:
    image: example/search:1
    environment:
      CACHE_SERVER: cache
  cache:
    image: redis:7
`;
    const n = networksOf(hardenText(text, opts, { file: 'compose.yaml' }).output);
    // api names "db" only as a database name: db is reached by nothing and stays.
    expect(n.db).toEqual(new Set(['default']));
    expect(n.cache).toEqual(new Set(['cache-net']));
    expect(n.search).toEqual(new Set(['default', 'cache-net']));
    expect(namesHost('${API_URL:-http://api:3003}'.replace(/\$\{[A-Z_]+:-([^}]*)\}/, '$1'), 'api')).toBe(true);
  });
});

/** A 57-service stack: one broker every app joins, nine databases, and apps on top. */
function bigStack(): string {
  const lines = ['services:', '  broker:', '    image: redis:7.4'];
  for (let d = 1; d <= 9; d++) lines.push(`  db${d}:`, '    image: postgres:16');
  for (let a = 1; a <= 47; a++) {
    lines.push(`  app${a}:`, `    image: example/app${a}:1.0`, '    environment:', '      BROKER_URL: redis://broker:6379/0');
    if (a <= 9) lines.push(`      DB_HOST: db${a}`);
  }
  return lines.join('\n') + '\n';
}

describe('Compose segmentation: the network ceiling', () => {
  const input = bigStack();
  const r = hardenText(input, opts, { file: 'compose.yaml' });
  const nets = networksOf(r.output);

  it(`a 57-service stack needs at most ${MAX_NETWORKS} networks, default included (one per edge made 314)`, () => {
    expect(Object.keys(nets)).toHaveLength(57);
    expect(allNetworks(nets).size).toBeLessThanOrEqual(MAX_NETWORKS);
    expect(MAX_NETWORKS).toBe(8);
  });

  it('what would need more stays on the default network, with one finding that gives the count', () => {
    const ceiling = r.remaining.filter((f) => /networks; cuirass keeps a stack within 8/.test(f.message));
    expect(ceiling.map((f) => f.message)).toEqual([
      "segmenting every backend would take 11 networks; cuirass keeps a stack within 8 (Docker's default address pools hold about 31 for a whole host): db7, db8, db9 stay on the default network",
    ]);
    for (const d of ['db7', 'db8', 'db9']) expect(nets[d]).toEqual(new Set(['default']));
    expect(nets.broker).toEqual(new Set(['broker-net']));
  });

  it('every connection the files reveal still has a network', () => {
    for (let a = 1; a <= 47; a++) {
      expect(shares(nets, `app${a}`, 'broker'), `app${a} ~ broker`).toBe(true);
      if (a <= 9) expect(shares(nets, `app${a}`, `db${a}`), `app${a} ~ db${a}`).toBe(true);
    }
    expect(shares(nets, 'app10', 'db1')).toBe(false);
    expect(hardenText(r.output, opts, { file: 'compose.yaml' }).output).toBe(r.output);
  });
});

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cuirass-segment-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('Compose segmentation: connections only config files and labels reveal', () => {
  it('HAProxy `server` lines and an nginx `upstream` in a mounted conf.d keep the backends they name in reach', () => {
    const compose = `services:
  pgbalancer:
    image: haproxy:3.0
    ports: ["5432:5432"]
    volumes:
      - ./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro
  edge:
    image: nginx:1.27
    ports: ["6379:6379"]
    volumes:
      - ./nginx/conf.d:/etc/nginx/conf.d:ro
  db:
    image: postgres:16
  cache:
    image: redis:7.4
  app:
    image: example/app:1.0
    depends_on: [db]
`;
    const dir = project({
      'compose.yaml': compose,
      'haproxy/haproxy.cfg': 'frontend pg\n  bind *:5432\n  default_backend pgs\nbackend pgs\n  mode tcp\n  server pg1 db:5432 check\n',
      'nginx/conf.d/stream.conf': 'upstream redis_up {\n    server cache:6379;\n}\nserver {\n    listen 6379;\n    proxy_pass redis_up;\n}\n',
    });
    const o = processText('compose.yaml', compose, runOpts, dir);
    const nets = networksOf(o.output);
    expect(shares(nets, 'pgbalancer', 'db')).toBe(true);
    expect(shares(nets, 'app', 'db')).toBe(true);
    expect(shares(nets, 'edge', 'cache')).toBe(true);
    expect(nets.cache).toEqual(new Set(['cache-net']));
    expect(o.changes.find((c) => c.object?.name === 'db')!.message).toContain('pgbalancer (./haproxy/haproxy.cfg)');
    expect(o.changes.find((c) => c.object?.name === 'cache')!.message).toContain('edge (./nginx/conf.d/stream.conf)');
    // Without the folder (stdin) nothing shows the proxies' upstreams: the cache stays.
    const blind = networksOf(processText('<stdin>', compose, runOpts).output);
    expect(blind.cache).toEqual(new Set(['default']));
  });

  it('nginx proxy_pass and upstream servers, Caddy reverse_proxy and php_fastcgi, HAProxy server lines name hosts; server_name does not', () => {
    expect(namesHost('location / {\n  proxy_pass http://api:8000;\n}', 'api')).toBe(true);
    expect(namesHost('upstream up {\n  server api;\n}', 'api')).toBe(true);
    expect(namesHost('fastcgi_pass php:9000;', 'php')).toBe(true);
    expect(namesHost('example.com {\n  reverse_proxy api:8080\n}', 'api')).toBe(true);
    expect(namesHost('reverse_proxy /api/* api', 'api')).toBe(false);
    expect(namesHost('reverse_proxy api', 'api')).toBe(true);
    expect(namesHost('php_fastcgi php', 'php')).toBe(true);
    expect(namesHost('backend app\n    server web1 web:80 check', 'web')).toBe(true);
    expect(namesHost('server web1 web check', 'web')).toBe(true);
    expect(namesHost('server_name api;', 'api')).toBe(false);
    expect(namesHost('root /var/www/api;', 'api')).toBe(false);
    expect(namesHost('api', 'api')).toBe(false);
    expect(namesHost('api', 'api', true)).toBe(true);
  });

  it('config files are read only inside the project folder: no symlink out of it, no FIFO, no path above it', () => {
    const outside = project({ 'secret.conf': 'proxy_pass http://db:5432;\n' });
    const dir = project({ 'ok.conf': 'proxy_pass http://db:5432;\n', 'conf.d/a.conf': 'server db:5432;\n' });
    symlinkSync(join(outside, 'secret.conf'), join(dir, 'leak.conf'));
    symlinkSync(join(outside, 'secret.conf'), join(dir, 'conf.d/b.conf'));
    execFileSync('mkfifo', [join(dir, 'pipe.conf')]);
    const read = treeFileReader(dir);
    expect(read('./ok.conf').map((f) => f.path)).toEqual(['./ok.conf']);
    expect(read('./leak.conf')).toEqual([]);
    expect(read('./pipe.conf')).toEqual([]);
    expect(read(`../${outside.split('/').pop()}/secret.conf`)).toEqual([]);
    expect(read('/etc/hostname')).toEqual([]);
    expect(read('./conf.d').map((f) => f.path)).toEqual(['./conf.d/a.conf']);
  });

  it("Traefik shares a network with every service its labels route to (traefik.enable=false excluded)", () => {
    const text = `services:
  traefik:
    image: traefik:v3.1
    ports: ["80:80"]
  mongo:
    image: mongo:7.0
    labels: ["traefik.tcp.routers.mongo.rule=HostSNI(\`*\`)"]
  cache:
    image: redis:7.4
    labels: {traefik.enable: "false"}
  app:
    image: example/app:1.0
    depends_on: [cache]
`;
    const nets = networksOf(hardenText(text, opts, { file: 'compose.yaml' }).output);
    expect(nets.mongo).toEqual(new Set(['mongo-net']));
    expect(nets.traefik).toEqual(new Set(['default', 'mongo-net']));
    expect(shares(nets, 'traefik', 'cache')).toBe(false);
  });

  it('a service whose env file cannot be read, or that runs the same image as a consumer, keeps every backend in reach', () => {
    const compose = `services:
  netbox:
    image: netboxcommunity/netbox:v4.1
    depends_on: [postgres, redis]
  worker:
    image: netboxcommunity/netbox:v4.1
    command: ["rqworker"]
  housekeeping:
    image: example/housekeeping:1
    env_file: env/netbox.env
  postgres:
    image: postgres:16
  redis:
    image: redis:7.4
`;
    const nets = networksOf(processText('compose.yaml', compose, runOpts, project({ 'compose.yaml': compose })).output);
    for (const s of ['netbox', 'worker', 'housekeeping']) expect(nets[s], s).toEqual(new Set(['default', 'postgres-net', 'redis-net']));
    // The env file is there and names only postgres: housekeeping reaches only postgres.
    const dir = project({ 'compose.yaml': compose, 'env/netbox.env': 'DB_HOST=postgres\n' });
    expect(networksOf(processText('compose.yaml', compose, runOpts, dir).output).housekeeping).toEqual(new Set(['default', 'postgres-net']));
  });
});

describe('Compose segmentation: the socket proxy of --fix-docker-socket joins its consumers', () => {
  const fixOpts: HardenOptions = { ...opts, transforms: only('no-docker-socket', 'network-segmentation'), flags: { fixDockerSocket: true } };
  it('on a segmented stack, the proxy gets an internal network with the service that used the socket', () => {
    const text = `services:
  traefik:
    image: traefik:v3.1
    ports: ["80:80"]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock:ro
  db:
    image: postgres:16
  app:
    image: example/app:1.0
    environment:
      DB_HOST: db
`;
    const r = hardenText(text, fixOpts, { file: 'compose.yaml' });
    const nets = networksOf(r.output);
    expect(nets['docker-socket-proxy']).toEqual(new Set(['docker-socket-proxy-net']));
    expect(nets.traefik).toEqual(new Set(['default', 'docker-socket-proxy-net']));
    expect(shares(nets, 'app', 'docker-socket-proxy')).toBe(false);
    expect(hardenText(r.output, fixOpts, { file: 'compose.yaml' }).output).toBe(r.output);
  });

  it('in a file with its own networks, the proxy joins the networks of every consumer', () => {
    const text = `services:
  traefik:
    image: traefik:v3.1
    networks: [proxy]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock:ro
  agent:
    image: example/agent:1.0
    networks: [monitoring]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
networks:
  proxy: {}
  monitoring: {}
`;
    const r = hardenText(text, fixOpts, { file: 'compose.yaml' });
    const nets = networksOf(r.output);
    expect(nets['docker-socket-proxy']).toEqual(new Set(['proxy', 'monitoring']));
    expect(hardenText(r.output, fixOpts, { file: 'compose.yaml' }).output).toBe(r.output);
  });
});

const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasCompose)('Compose segmentation output is valid for docker-compose config', () => {
  it('the big stack and a socket-proxy stack', () => {
    for (const text of [hardenText(bigStack(), opts, { file: 'compose.yaml' }).output, hardenText(STACK, opts, { file: 'compose.yaml' }).output]) {
      const dir = project({ 'compose.yaml': text });
      const r = spawnSync('docker-compose', ['config', '-q'], { cwd: dir, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });
});

describe('Compose segmentation: the same image is the same program, except base and runtime images', () => {
  it('two python:3.11 services running different commands are not taken for one program', () => {
    const text = `services:
  cache:
    image: redis:7
  worker:
    image: python:3.11
    environment:
      REDIS_URL: redis://cache:6379/0
  app:
    image: python:3.11
    command: ["python3", "-c", "print(1)"]
`;
    const nets = networksOf(hardenText(text, opts, { file: 'compose.yaml' }).output);
    expect(nets.app).toEqual(new Set(['default']));
    expect(nets.worker).toEqual(new Set(['default', 'cache-net']));
  });
});

describe('serviceLinks picks host names from the tokens of a service (1,000 services would test a million pairs)', () => {
  it('finds every form namesHost accepts, a name that only prefixes a token, and names with boundary characters', async () => {
    const { parseDocument } = await import('yaml');
    const { servicesOf } = await import('../src/compose/model.js');
    const { serviceLinks } = await import('../transforms/compose-links.js');
    const text = `services:
  db:
    image: postgres
  db-replica:
    image: postgres
    container_name: replica
  cache:
    image: redis
  "odd name":
    image: redis
  api:
    image: app
    environment:
      DATABASE_URL: postgres://user:pw@db/app
      REPLICA_URL: http://replica:5432
      CACHE_HOST: " cache "
      ODD: "x=odd name:6379"
      NOTE: db-replicas is not a host
  worker:
    image: app
    command: ["run", "--db=db-replica:5432"]
`;
    const doc = parseDocument(text, { merge: true }) as never;
    const services = servicesOf(doc, 'compose.yaml');
    const ctx = { configFiles: () => [] } as never;
    const links = serviceLinks(services, ctx);
    expect([...links.get('api')!]).toEqual([
      ['db', 'DATABASE_URL'],
      ['db-replica', 'REPLICA_URL'],
      ['cache', 'CACHE_HOST'],
      ['odd name', 'ODD'],
    ]);
    expect([...links.get('worker')!]).toEqual([['db-replica', 'command']]);
  });
});
