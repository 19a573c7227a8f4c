/**
 * Compose hardening through `hardenText`, with inline files and EXACT expected outputs:
 * merge keys, `extends`, environment forms, flow style, CRLF, indentation, image profiles,
 * legacy resource keys, bind mounts, exemptions, override files and already hardened files.
 * Every case also hardens its output again and expects it back unchanged.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hardenText } from '../src/harden.js';
import type { HardenResult } from '../src/harden.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { TRANSFORMS } from '../transforms/index.js';

const OPTIONS = { transforms: TRANSFORMS, level: 'restricted' as const, settings: DEFAULT_SETTINGS };

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Hardens `text`, checks it parsed and settled, and that hardening the output again changes nothing. */
function harden(text: string, file = 'compose.yaml'): HardenResult {
  const r = hardenText(text, OPTIONS, { file });
  expect(r.errors).toEqual([]);
  expect(r.failure).toBeUndefined();
  const again = hardenText(r.output, OPTIONS, { file });
  expect(again.failure).toBeUndefined();
  expect(again.output).toBe(r.output);
  expect(again.changes.map((c) => c.message)).toEqual([]);
  return r;
}

/** The services of a Compose text as plain values, merge keys resolved. */
function services(text: string): Record<string, Obj> {
  const root = parse(text, { merge: true, maxAliasCount: 1000 }) as { services: Record<string, Obj | null> };
  return Object.fromEntries(Object.entries(root.services).map(([k, v]) => [k, v ?? {}]));
}

/** Compose's `extends` within a file: mappings merge, these sequences unite, other values are overridden. */
const UNION = new Set(['cap_add', 'cap_drop', 'security_opt', 'tmpfs', 'volumes', 'ports', 'secrets', 'env_file', 'dns']);
function extendWith(base: Obj, own: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(own)) {
    const b = out[k];
    if (isObj(b) && isObj(v)) out[k] = extendWith(b, v);
    else if (UNION.has(k) && Array.isArray(b) && Array.isArray(v)) out[k] = [...new Set([...b, ...v].map((x) => JSON.stringify(x)))].map((x) => JSON.parse(x) as unknown);
    else out[k] = v;
  }
  return out;
}

/** A service as Compose runs it: merge keys and `extends` within the file resolved. */
function effective(text: string, name: string, seen = new Set<string>()): Obj {
  const all = services(text);
  const own = all[name] ?? {};
  const { extends: ext, ...rest } = own;
  const base = typeof ext === 'string' ? ext : isObj(ext) && ext.file === undefined ? ext.service : undefined;
  if (typeof base !== 'string' || seen.has(base) || !(base in all)) return own;
  seen.add(name);
  return extendWith(effective(text, base, seen), rest);
}

/** Checks the hardened settings every non-exempt service of a non-override file must end with. */
function expectHardened(svc: Obj, { root = false, readOnly = true }: { root?: boolean; readOnly?: boolean } = {}): void {
  const opts = (svc.security_opt as unknown[] | undefined)?.map(String) ?? [];
  expect(opts.some((o) => o === 'no-new-privileges:true' || o === 'no-new-privileges')).toBe(true);
  expect(opts.filter((o) => /unconfined/.test(o))).toEqual([]);
  expect(svc.cap_drop).toContain('ALL');
  expect(svc.privileged).not.toBe(true);
  if (readOnly) expect(svc.read_only).toBe(true);
  if (!root) expect(String(svc.user)).not.toMatch(/^(root|0)(:|$)/);
  const limits = ((svc.deploy as Obj | undefined)?.resources as Obj | undefined)?.limits as Obj | undefined;
  expect(limits?.memory ?? svc.mem_limit).toBeDefined();
  expect(limits?.cpus ?? svc.cpus).toBeDefined();
  expect(limits?.pids ?? svc.pids_limit).toBeDefined();
}

/** The lines of `block` appear in `text`, in order (only additions happened around them). */
function expectSubsequence(block: string, text: string): void {
  const lines = text.split('\n');
  let at = 0;
  for (const line of block.split('\n')) {
    const found = lines.indexOf(line, at);
    expect(found, `line ${JSON.stringify(line)} kept in order`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

const LIMITS = `    deploy:
      resources:
        limits:
          memory: 512M
          cpus: "0.5"
          pids: 200
`;

describe('merge keys (<<: *anchor)', () => {
  const ANCHOR = `x-common: &common
  # shared by api and worker
  image: example/app:1.0
  privileged: true
  deploy:
    resources:
      limits:
        memory: 256M
  environment:
    LOG_LEVEL: info
`;
  const input = `${ANCHOR}
services:
  api:
    <<: *common
    command: ["api"]
  worker:
    <<: *common
    command: ["worker"]
    deploy:
      replicas: 2
`;

  it('edits each service where it takes effect, never the shared anchor', () => {
    const r = harden(input);
    expect(r.output).toBe(`${ANCHOR}
services:
  api:
    <<: *common
    command: ["api"]
    user: "10001:10001"
    cap_drop:
      - ALL
    privileged: false
    security_opt:
      - no-new-privileges:true
    deploy:
      resources:
        limits:
          memory: 256M
          cpus: "0.5"
          pids: 200
    read_only: true
    tmpfs:
      - /tmp
  worker:
    <<: *common
    command: ["worker"]
    deploy:
      replicas: 2
      resources:
        limits:
          memory: 512M
          cpus: "0.5"
          pids: 200
    user: "10001:10001"
    cap_drop:
      - ALL
    privileged: false
    security_opt:
      - no-new-privileges:true
    read_only: true
    tmpfs:
      - /tmp
`);
    // The anchor block is byte-identical, and so is what it resolves to.
    expect(r.output.startsWith(ANCHOR)).toBe(true);
    expect((parse(r.output, { merge: true }) as Obj)['x-common']).toEqual((parse(input, { merge: true }) as Obj)['x-common']);
    // Each service only gained lines.
    expectSubsequence('  api:\n    <<: *common\n    command: ["api"]', r.output);
    expectSubsequence('  worker:\n    <<: *common\n    command: ["worker"]\n    deploy:\n      replicas: 2', r.output);
  });

  it('the effective view of each service is hardened and keeps what the anchor gave it', () => {
    const out = harden(input).output;
    const api = effective(out, 'api');
    const worker = effective(out, 'worker');
    for (const svc of [api, worker]) {
      expectHardened(svc);
      expect(svc.privileged).toBe(false);
      expect(svc.image).toBe('example/app:1.0');
      expect(svc.environment).toEqual({ LOG_LEVEL: 'info' });
    }
    // api's own deploy replaces the merged one: the anchor's 256M memory limit is carried over.
    expect(api.deploy).toEqual({ resources: { limits: { memory: '256M', cpus: '0.5', pids: 200 } } });
    // worker's own deploy already hid the anchor's: it only gains the missing limits.
    expect(worker.deploy).toEqual({ replicas: 2, resources: { limits: { memory: '512M', cpus: '0.5', pids: 200 } } });
    expect(api.command).toEqual(['api']);
    expect(worker.command).toEqual(['worker']);
  });

  it('a user or seccomp setting inherited from an anchor is overridden in the service, not in the anchor', () => {
    const anchor = `x-a: &a
  security_opt: ["seccomp:unconfined"]
  user: root
`;
    const r = harden(`${anchor}services:
  app:
    <<: *a
    image: example/app:1.0
`);
    expect(r.output).toBe(`${anchor}services:
  app:
    <<: *a
    image: example/app:1.0
    user: "10001:10001"
    cap_drop:
      - ALL
    security_opt:
      - no-new-privileges:true
${LIMITS}    read_only: true
    tmpfs:
      - /tmp
`);
    expectHardened(effective(r.output, 'app'));
  });

  // Was a bug: when the anchor is a service itself (`web: &web`), cuirass
  // edits that service's own mapping, and every service that merges it (`db: {<<: *web}`)
  // inherits those edits: db (postgres, uid 999) ends with nginx's
  // cap_add [CHOWN, SETGID, SETUID, NET_BIND_SERVICE] and web's `networks: [web-egress]`, and
  // the capabilities come back as "high" findings that hardening itself created. SPEC §4:
  // "edits go where they take effect without changing other services that share the anchor".
  it('edits to a service that is itself an anchor do not leak into services merging it', () => {
    const r = harden(`services:
  web: &web
    image: nginx:1.27
    privileged: true
  db:
    <<: *web
    image: postgres:16
`);
    const db = effective(r.output, 'db');
    expectHardened(db);
    expect(db.user).toBe('999:999');
    expect(db.cap_add ?? []).toEqual([]);
    // (Segmentation reports that nothing reaches the database: not a finding hardening created.)
    expect(r.remaining.filter((f) => f.object?.name === 'db' && f.transform !== 'network-segmentation').map((f) => f.message)).toEqual([]);
  });

  // Was a bug: an aliased `limits: *lim` mapping is refused ("limits is not a mapping that can be
  // edited in place") and only reported, while an aliased `deploy: *res` or `security_opt: *opts`
  // is replaced by an edited copy. The service ends without cpu and pids limits.
  it('an aliased limits mapping gets the missing limits without touching the anchor', () => {
    const anchor = 'x-lim: &lim\n  memory: 1G\n';
    const r = harden(`${anchor}services:
  app:
    image: example/app:1.0
    deploy:
      resources:
        limits: *lim
`);
    expect(r.output.startsWith(anchor)).toBe(true);
    const app = effective(r.output, 'app');
    expectHardened(app);
    expect(((app.deploy as Obj).resources as Obj).limits).toEqual({ memory: '1G', cpus: '0.5', pids: 200 });
  });
});

describe('extends within the file', () => {
  const input = `services:
  base:
    image: example/app:1.0
    user: "1000:1000"
    read_only: true
  child:
    extends: base
    command: ["worker"]
  other:
    extends:
      service: base
    environment:
      MODE: other
`;
  it('decides on the extended view: what the base gives is not repeated', () => {
    const r = harden(input);
    const own = `    cap_drop:
      - ALL
    security_opt:
      - no-new-privileges:true
${LIMITS}    tmpfs:
      - /tmp
`;
    expect(r.output).toBe(`services:
  base:
    image: example/app:1.0
    user: "1000:1000"
    read_only: true
${own}  child:
    extends: base
    command: ["worker"]
${own}  other:
    extends:
      service: base
    environment:
      MODE: other
${own}`);
    for (const name of ['base', 'child', 'other']) {
      const svc = effective(r.output, name);
      expectHardened(svc);
      expect(svc.user).toBe('1000:1000');
      expect(svc.image).toBe('example/app:1.0');
    }
    expect(effective(r.output, 'child').command).toEqual(['worker']);
    expect(effective(r.output, 'other').environment).toEqual({ MODE: 'other' });
    // The user and read_only of the base are inherited, not written again.
    expect(services(r.output).child.user).toBeUndefined();
    expect(services(r.output).other.read_only).toBeUndefined();
  });
});

describe('environment as a list and as a map', () => {
  const API_ENV = `    environment:
      - LOG_LEVEL=debug
      - DB_HOST=db
`;
  const WORKER_ENV = `    environment:
      LOG_LEVEL: info
      QUEUE: jobs
`;
  it('is left byte-identical', () => {
    const input = `services:
  api:
    image: example/api:1.0
${API_ENV}  worker:
    image: example/worker:1.0
${WORKER_ENV}`;
    const r = harden(input);
    const rest = () => `    user: "10001:10001"
    cap_drop:
      - ALL
    security_opt:
      - no-new-privileges:true
${LIMITS}    read_only: true
    tmpfs:
      - /tmp
`;
    expect(r.output).toBe(`services:
  api:
    image: example/api:1.0
${API_ENV}${rest()}  worker:
    image: example/worker:1.0
${WORKER_ENV}${rest()}`);
    expect(r.output).toContain(`example/api:1.0\n${API_ENV}`);
    expect(r.output).toContain(`example/worker:1.0\n${WORKER_ENV}`);
    expect(services(r.output).api.environment).toEqual(['LOG_LEVEL=debug', 'DB_HOST=db']);
    expect(services(r.output).worker.environment).toEqual({ LOG_LEVEL: 'info', QUEUE: 'jobs' });
    expectHardened(services(r.output).api);
    expectHardened(services(r.output).worker);
  });
});

describe('layout', () => {
  it('a flow-style service stays on its line and gains flow-style keys', () => {
    const r = harden('services:\n  web: {image: nginx:1.27, ports: ["80:80"]}\n');
    expect(r.output).toBe(
      'services:\n  web: {image: nginx:1.27, ports: ["80:80"], user: "101:101", cap_drop: [ALL], ' +
        'security_opt: ["no-new-privileges:true"], deploy: {resources: {limits: {memory: 512M, cpus: "0.5", pids: 200}}}, ' +
        'read_only: true, tmpfs: [/tmp, "/var/cache/nginx:uid=101,gid=101", "/var/run:uid=101,gid=101"]}\n',
    );
    expectHardened(services(r.output).web);
  });

  it('a CRLF file gets CRLF lines only', () => {
    const input = 'services:\r\n  app:\r\n    image: example/app:1.0\r\n    ports:\r\n      - "8080:8080"\r\n';
    const r = harden(input);
    expect(r.output).toBe(
      [
        'services:',
        '  app:',
        '    image: example/app:1.0',
        '    ports:',
        '      - "8080:8080"',
        '    user: "10001:10001"',
        '    cap_drop:',
        '      - ALL',
        '    security_opt:',
        '      - no-new-privileges:true',
        '    deploy:',
        '      resources:',
        '        limits:',
        '          memory: 512M',
        '          cpus: "0.5"',
        '          pids: 200',
        '    read_only: true',
        '    tmpfs:',
        '      - /tmp',
        '',
      ].join('\r\n'),
    );
    expect(r.output.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expectHardened(services(r.output).app);
  });

  it('a file indented by 4 spaces gets 4-space indented additions', () => {
    const r = harden('services:\n    api:\n        image: example/api:1.0\n        ports:\n            - "8080:8080"\n');
    expect(r.output).toBe(`services:
    api:
        image: example/api:1.0
        ports:
            - "8080:8080"
        user: "10001:10001"
        cap_drop:
            - ALL
        security_opt:
            - no-new-privileges:true
        deploy:
            resources:
                limits:
                    memory: 512M
                    cpus: "0.5"
                    pids: 200
        read_only: true
        tmpfs:
            - /tmp
`);
    expectHardened(services(r.output).api);
  });
});

describe('security_opt, user', () => {
  const tail = `    user: "10001:10001"
    cap_drop:
      - ALL
${LIMITS}    read_only: true
    tmpfs:
      - /tmp
`;
  it('an existing security_opt: [no-new-privileges] is not duplicated', () => {
    const r = harden('services:\n  app:\n    image: example/app:1.0\n    security_opt: [no-new-privileges]\n');
    expect(r.output).toBe(`services:\n  app:\n    image: example/app:1.0\n    security_opt: [no-new-privileges]\n${tail}`);
    expect(r.output.match(/no-new-privileges/g)).toHaveLength(1);
    expectHardened(services(r.output).app);
  });

  it('security_opt: ["seccomp:unconfined"] is removed (and no-new-privileges takes its place)', () => {
    const r = harden('services:\n  app:\n    image: example/app:1.0\n    security_opt: ["seccomp:unconfined"]\n');
    expect(r.output).toBe(`services:\n  app:\n    image: example/app:1.0\n    security_opt: ["no-new-privileges:true"]\n${tail}`);
    expect(r.output).not.toContain('unconfined');
    expect(r.changes.some((c) => c.transform === 'seccomp' && c.behaviorChanging)).toBe(true);
    expectHardened(services(r.output).app);
  });

  it('user: root is replaced by "10001:10001" (behavior-changing)', () => {
    const r = harden('services:\n  app:\n    image: example/app:1.0\n    user: root\n');
    expect(r.output).toBe(`services:
  app:
    image: example/app:1.0
    user: "10001:10001"
    cap_drop:
      - ALL
    security_opt:
      - no-new-privileges:true
${LIMITS}    read_only: true
    tmpfs:
      - /tmp
`);
    expect(r.changes.some((c) => c.transform === 'run-as-non-root' && c.behaviorChanging)).toBe(true);
    expectHardened(services(r.output).app);
  });
});

describe('image profiles', () => {
  it('postgres runs as 999:999, postgres:16-alpine as 70:70, both with a tmpfs for the socket folder', () => {
    const svc = (name: string, image: string, user: string) => `  ${name}:
    image: ${image}
    user: "${user}"
    cap_drop:
      - ALL
    security_opt:
      - no-new-privileges:true
${LIMITS}    read_only: true
    tmpfs:
      - /tmp
      - /var/run/postgresql
`;
    const r = harden('services:\n  db:\n    image: postgres:16\n  db2:\n    image: postgres:16-alpine\n');
    expect(r.output).toBe(`services:\n${svc('db', 'postgres:16', '999:999')}${svc('db2', 'postgres:16-alpine', '70:70')}`);
    expect(services(r.output).db.user).toBe('999:999');
    expect(services(r.output).db2.user).toBe('70:70');
    expectHardened(services(r.output).db);
    expectHardened(services(r.output).db2);
  });

  it('nginx runs as its user 101 with no capabilities and tmpfs paths it owns (Docker >= 20.10 lets it bind port 80)', () => {
    const r = harden('services:\n  proxy:\n    image: nginx:1.27\n    ports:\n      - "80:80"\n');
    expect(r.output).toBe(`services:
  proxy:
    image: nginx:1.27
    ports:
      - "80:80"
    user: "101:101"
    cap_drop:
      - ALL
    security_opt:
      - no-new-privileges:true
${LIMITS}    read_only: true
    tmpfs:
      - /tmp
      - /var/cache/nginx:uid=101,gid=101
      - /var/run:uid=101,gid=101
`);
    expectHardened(services(r.output).proxy);
  });

  it('nginx on the host network keeps root, gets the capabilities and writable paths it needs, and the root user is reported', () => {
    const r = harden('services:\n  proxy:\n    image: nginx:1.27\n    network_mode: host\n');
    const proxy = services(r.output).proxy;
    expect(proxy.user).toBeUndefined();
    expect(proxy.cap_add).toEqual(['CHOWN', 'SETGID', 'SETUID', 'NET_BIND_SERVICE']);
    expect(proxy.tmpfs).toEqual(['/tmp', '/var/cache/nginx', '/var/run']);
    expect(r.remaining.some((f) => f.transform === 'run-as-non-root' && f.object?.name === 'proxy')).toBe(true);
    expectHardened(proxy, { root: true });
  });

  it('nginx with run-as-non-root skipped keeps root and gets the capabilities its entrypoint needs', () => {
    const r = harden('services:\n  proxy:\n    image: nginx:1.27\n    x-cuirass: {skip: [run-as-non-root], reason: "test"}\n');
    expect(services(r.output).proxy.cap_add).toEqual(['CHOWN', 'SETGID', 'SETUID', 'NET_BIND_SERVICE']);
  });
});

describe('resources', () => {
  it('a file that uses mem_limit gets the legacy keys for the missing limits', () => {
    const r = harden('services:\n  app:\n    image: example/app:1.0\n    mem_limit: 256m\n  worker:\n    image: example/worker:1.0\n');
    const common = () => `    user: "10001:10001"
    cap_drop:
      - ALL
    security_opt:
      - no-new-privileges:true
`;
    expect(r.output).toBe(`services:
  app:
    image: example/app:1.0
    mem_limit: 256m
${common()}    cpus: 0.5
    pids_limit: 200
    read_only: true
    tmpfs:
      - /tmp
  worker:
    image: example/worker:1.0
${common()}    mem_limit: 512m
    cpus: 0.5
    pids_limit: 200
    read_only: true
    tmpfs:
      - /tmp
`);
    expect(r.output).not.toContain('deploy');
    expectHardened(services(r.output).app);
    expectHardened(services(r.output).worker);
  });
});

describe('volumes', () => {
  it('a single-file bind mount becomes read-only; folders and named volumes do not', () => {
    const r = harden(`services:
  app:
    image: example/app:1.0
    volumes:
      - ./nginx.conf:/etc/nginx/nginx.conf
      - ./data:/data
      - cache:/cache
volumes:
  cache: {}
`);
    expect(r.output).toBe(`services:
  app:
    image: example/app:1.0
    volumes:
      - ./nginx.conf:/etc/nginx/nginx.conf:ro
      - ./data:/data
      - cache:/cache
    user: "10001:10001"
    cap_drop:
      - ALL
    security_opt:
      - no-new-privileges:true
${LIMITS}    read_only: true
    tmpfs:
      - /tmp
volumes:
  cache: {}
`);
    expectHardened(services(r.output).app);
  });
});

describe('exemptions and override files', () => {
  it('x-cuirass: {skip: [read-only-root], reason} exempts that service from read-only-root only', () => {
    const input = `services:
  app:
    image: example/app:1.0
    x-cuirass:
      skip: [read-only-root]
      reason: "writes under /var/lib/app until v3"
`;
    const r = harden(input);
    expect(r.output).toBe(`${input}    user: "10001:10001"
    cap_drop:
      - ALL
    security_opt:
      - no-new-privileges:true
${LIMITS}`);
    const app = services(r.output).app;
    expect(app.read_only).toBeUndefined();
    expect(app.tmpfs).toBeUndefined();
    expectHardened(app, { readOnly: false });
    expect(r.suppressed.length).toBeGreaterThan(0);
    expect(r.suppressed.every((f) => f.transform === 'read-only-root' && /until v3/.test(f.reason ?? ''))).toBe(true);
  });

  it('compose.override.yaml gets no additions, but privileged: true is removed', () => {
    const r = harden(
      `services:
  app:
    privileged: true
    ports:
      - "8080:8080"
  db:
    environment:
      LOG_LEVEL: debug
`,
      'compose.override.yaml',
    );
    expect(r.output).toBe(`services:
  app:
    ports:
      - "8080:8080"
  db:
    environment:
      LOG_LEVEL: debug
`);
    expect(r.changes.map((c) => c.transform)).toEqual(['no-privileged']);
  });

  it('an already hardened file comes back byte-identical with no changes', () => {
    const input = `services:
  app:
    image: example/app:1.0
    user: "10001:10001"
    read_only: true
    tmpfs:
      - /tmp
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    deploy:
      resources:
        limits: {memory: 256M, cpus: "0.25", pids: 100}
`;
    const r = harden(input);
    expect(r.output).toBe(input);
    expect(r.changes).toEqual([]);
    expect(r.remaining).toEqual([]);
    expectHardened(services(r.output).app);
  });
});
