/**
 * SPEC §2/§3: a `compose.<x>.yaml` that patches services of the `compose.yaml` next to it is an
 * override for those services. Compose merges the later file over the base, so limits, `user`,
 * `read_only`… added to the patch would replace the base's (cart 160M → 512M: looser). A service
 * only the `compose.<x>.yaml` defines has no base and is hardened in full.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cli, CORPUS } from './support/run-cli.js';

const BASE = `services:
  cart:
    image: example/cart:1.0
    mem_limit: 160M
  web:
    image: example/web:1.0
    depends_on:
      - cart
`;

const OBSERVABILITY = `services:
  cart:
    environment:
      - OTEL_EXPORTER=otlp
  grafana:
    image: example/grafana:1.0
`;

type Services = Record<string, Record<string, unknown>>;

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cuirass-overrides-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function services(dir: string, name: string): Services {
  return (parse(readFileSync(join(dir, name), 'utf8')) as { services: Services }).services;
}

describe('compose.<x>.yaml patching services of compose.yaml', () => {
  it('adds nothing to the patch of a base service, hardens the base and a new service in full', () => {
    const dir = folder({ 'compose.yaml': BASE, 'compose.observability.yaml': OBSERVABILITY });
    const r = cli(['--write', dir]);
    expect(r.status, r.stderr).toBe(0);

    // The patch of cart is left as it was: no limit, user, read_only or tmpfs to win over the base.
    const patch = services(dir, 'compose.observability.yaml');
    expect(patch.cart).toEqual({ environment: ['OTEL_EXPORTER=otlp'] });
    expect(readFileSync(join(dir, 'compose.observability.yaml'), 'utf8')).toContain('  cart:\n    environment:\n      - OTEL_EXPORTER=otlp\n  grafana:\n');

    // grafana has no base: it is hardened as a standalone service.
    const grafana = patch.grafana;
    expect(grafana.user).toBe('10001:10001');
    expect(grafana.read_only).toBe(true);
    expect(grafana.cap_drop).toEqual(['ALL']);
    expect(grafana.security_opt).toEqual(['no-new-privileges:true']);
    expect(grafana.deploy ?? grafana.mem_limit).toBeDefined();

    // The base carries the additions, and keeps its own limit.
    const base = services(dir, 'compose.yaml');
    expect(base.cart.mem_limit).toBe('160M');
    expect(base.cart.user).toBe('10001:10001');
    expect(base.cart.read_only).toBe(true);
  });

  it('docker-compose.<x>.yml reads docker-compose.yml; a file without a base service is hardened in full', () => {
    const dir = folder({
      'docker-compose.yml': BASE,
      'docker-compose.dev.yml': 'services:\n  cart:\n    ports:\n      - "8080:8080"\n',
      'compose.extra.yaml': 'services:\n  worker:\n    image: example/worker:1.0\n',
    });
    const r = cli(['--write', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'docker-compose.dev.yml'), 'utf8')).toBe('services:\n  cart:\n    ports:\n      - "8080:8080"\n');
    expect(services(dir, 'compose.extra.yaml').worker.read_only).toBe(true);
  });

  it('the OpenTelemetry demo: no memory limit is added to the patches of compose.observability.yaml and compose.full.yaml', () => {
    const demo = join(CORPUS, 'compose/opentelemetry-demo');
    const base = services(demo, 'compose.yaml');
    // Per file: every service the base defines keeps exactly what the patch had.
    for (const name of ['compose.observability.yaml', 'compose.full.yaml']) {
      const dir = folder({ 'compose.yaml': readFileSync(join(demo, 'compose.yaml'), 'utf8'), [name]: readFileSync(join(demo, name), 'utf8') });
      expect(cli(['--write', dir]).status).toBe(0);
      const before = services(demo, name);
      const after = services(dir, name);
      const patched = Object.keys(before).filter((s) => s in base);
      expect(patched.length).toBeGreaterThan(0);
      for (const s of patched) {
        expect((after[s].deploy as { resources?: { limits?: { memory?: unknown } } } | undefined)?.resources?.limits?.memory, `${name} ${s}`).toEqual(
          (before[s].deploy as { resources?: { limits?: { memory?: unknown } } } | undefined)?.resources?.limits?.memory,
        );
        for (const key of ['user', 'read_only', 'tmpfs', 'mem_limit']) expect(after[s][key], `${name} ${s} ${key}`).toEqual(before[s][key]);
      }
    }
  });
});

describe('an alternative file that names its own images', () => {
  it('is hardened in full: docker-compose.images.yml is run alone with -f, not merged as a patch', () => {
    const dir = folder({
      'docker-compose.yml': 'services:\n  vote:\n    build: ./vote\n  db:\n    image: example/db:1.0\n',
      'docker-compose.images.yml': 'services:\n  vote:\n    image: example/vote:1.0\n  db:\n    image: example/db:1.0\n',
    });
    const r = cli([dir, '--write', '--quiet']);
    expect(r.status).toBe(0);
    const alt = services(dir, 'docker-compose.images.yml');
    for (const name of ['vote', 'db']) {
      expect(alt[name].user).toBe('10001:10001');
      expect(alt[name].read_only).toBe(true);
      expect(alt[name].cap_drop).toEqual(['ALL']);
    }
  });
});

describe('network-segmentation and a file that patches base services', () => {
  const JOBS = 'services:\n  app:\n    environment: [X=1]\n  worker:\n    image: example/worker:1\n    depends_on: [db]\n  db:\n    image: postgres:16\n';
  it('leaves its networks alone, the services it defines in full too, and says why (a file of its own is segmented)', () => {
    const dir = folder({ 'compose.yaml': 'services:\n  app:\n    image: example/app:1\n', 'compose.jobs.yaml': JOBS });
    const r = cli([dir, '--only', 'network-segmentation', '--write']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'compose.jobs.yaml'), 'utf8')).toBe(JOBS);
    expect(r.stderr).toContain(
      'compose.jobs.yaml:1:1  low      network-segmentation: worker, db keep their networks: this file also patches app of its base file, and Compose merges the files into one project that shares its networks, so who reaches what is spread over the files and segmenting this one alone could cut services off; segment the merged project (docker compose config) by hand\n',
    );
    // Without the base file, the same services are a stack of their own: db leaves the default network.
    const alone = folder({ 'compose.jobs.yaml': JOBS });
    expect(cli([alone, '--only', 'network-segmentation', '--write']).status).toBe(0);
    expect(services(alone, 'compose.jobs.yaml').db.networks).toEqual(['db-net']);
  });
  it('a file of patches only has nothing of its own to segment: no finding', () => {
    const dir = folder({ 'compose.yaml': 'services:\n  app:\n    image: example/app:1\n  db:\n    image: postgres:16\n', 'compose.override.yaml': 'services:\n  app:\n    depends_on: [db]\n' });
    const r = cli([dir, '--only', 'network-segmentation']);
    expect(r.stderr).not.toContain('compose.override.yaml:1:1');
  });
});
