/**
 * `cuirass verify` decisions, without an engine: a driver whose "containers" work or fail by rules
 * read from the Compose file it is handed (as hardened by the real, built CLI). The real engine
 * runs in the e2e (`npm run e2e`).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ComposeDriver, classify } from '../src/stack/driver.js';
import { compatStep } from '../src/stack/compose.js';
import { exemptionText, maskLogs, textReport, verifyStack, PROJECT_PREFIX } from '../src/stack/verify.js';
import type { ServiceResult, StackRun } from '../src/stack/verify.js';
import { secretValues } from '../src/commands/verify.js';
import { cli } from './support/run-cli.js';

type Svc = Record<string, unknown>;
type Rule = (name: string, svc: Svc, all: Record<string, Svc>) => ServiceResult['state'];

/** A driver that "runs" a stack by applying `rule` to each service of the file in the folder. */
class RuleDriver extends ComposeDriver {
  ups: string[] = [];
  downs: string[] = [];
  constructor(private rule: Rule) {
    super({ program: 'false', prefix: [], flavor: 'v2' }, { timeoutMs: 0, settleMs: 0 });
  }
  override async up(project: string, dir: string, files: string[]): Promise<StackRun> {
    this.ups.push(project);
    const doc = parse(readFileSync(join(dir, files[0]), 'utf8'), { merge: true }) as { services: Record<string, Svc> };
    const services = Object.entries(doc.services).map(([name, svc]) => {
      const state = this.rule(name, svc, doc.services);
      return { service: name, state, detail: state === 'exited' ? 'exited with code 1' : state };
    });
    return { ok: true, services };
  }
  override async logs(_project: string, service: string): Promise<string> {
    return `${service} | mkdir: cannot create directory '/var/lib/app/cache': Read-only file system\n${service} | login with s3cr3t-pa55word failed`;
  }
  override async down(project: string): Promise<void> {
    this.downs.push(project);
  }
}

function project(compose: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'verify-test-'));
  writeFileSync(join(dir, 'compose.yaml'), compose);
  return dir;
}

const quiet = { hardenArgs: [], bisect: true, maxTrials: 12, progress: () => {} };

const networksOf = (svc: Svc): string[] => {
  const n = svc.networks;
  if (!n) return ['default'];
  return Array.isArray(n) ? n.map(String) : Object.keys(n as object);
};
const share = (a: Svc, b: Svc) => networksOf(a).some((n) => networksOf(b).includes(n));

describe('cuirass verify', () => {
  it('names read-only-root for an app that writes outside the paths it is given, and prints the exemption', async () => {
    const dir = project(`services:
  app:
    image: example/app:1.0
    environment:
      DB_PASSWORD: s3cr3t-pa55word
  web:
    image: example/web:1.0
`);
    const driver = new RuleDriver((name, svc) => (name === 'app' && svc.read_only === true ? 'exited' : 'running'));
    const report = await verifyStack(dir, driver, { ...quiet, secrets: ['s3cr3t-pa55word'] });
    expect(report.exitCode).toBe(1);
    const app = report.services.find((s) => s.service === 'app')!;
    expect(app.verdict).toBe('broken');
    expect(app.exemption).toEqual({ file: 'compose.yaml', service: 'app', scope: 'service', skip: ['read-only-root'] });
    expect(report.services.find((s) => s.service === 'web')!.verdict).toBe('ok');
    // All of its transforms at once, then the likeliest single one: two trials, not one per transform.
    expect(app.trials!.map((t) => t.works)).toEqual([true, true]);
    expect(app.trials![1].skip).toEqual(['read-only-root']);
    const text = textReport(report);
    expect(text).toContain('      skip: [read-only-root]');
    expect(text).toContain("Read-only file system");
    expect(text).not.toContain('s3cr3t-pa55word');
    expect(text).toContain('<redacted>');
    // Every project it started went down, the user's folder is untouched.
    expect(new Set(driver.downs)).toEqual(new Set(driver.ups));
    expect(readFileSync(join(dir, 'compose.yaml'), 'utf8')).toContain('DB_PASSWORD: s3cr3t-pa55word');
    expect(driver.ups.every((p) => p.startsWith(PROJECT_PREFIX))).toBe(true);
  });

  it('finds that a network change breaks a service whose only link is hidden in its command', async () => {
    // app reaches cache only through its command line (nothing in env or depends_on); worker
    // reveals a link to cache, so segmentation gives cache a network of its own.
    const dir = project(`services:
  app:
    image: example/app:1.0
    command: ["sh", "-c", "exec app --cache-host=$$(cat /etc/cache-host)"]
    ports: ["8080:8080"]
    environment:
      DATABASE_URL: postgres://db:5432/app
  worker:
    image: example/worker:1.0
    environment:
      REDIS_URL: redis://cache:6379
  cache:
    image: redis:7
  db:
    image: postgres:16
`);
    const driver = new RuleDriver((name, svc, all) => (name === 'app' && !share(svc, all.cache) ? 'exited' : 'running'));
    const report = await verifyStack(dir, driver, quiet);
    const app = report.services.find((s) => s.service === 'app')!;
    expect(app.verdict).toBe('broken');
    expect(app.exemption?.skip).toEqual(['network-segmentation']);
    expect(report.exitCode).toBe(1);
  });

  it('exits 2 when the stack does not work unhardened, and 0 when hardening breaks nothing', async () => {
    const dir = project('services:\n  app:\n    image: example/app:1.0\n');
    const broken = await verifyStack(dir, new RuleDriver(() => 'exited'), quiet);
    expect(broken.exitCode).toBe(2);
    expect(broken.message).toContain('no service of the stack works unhardened');
    const fine = await verifyStack(dir, new RuleDriver(() => 'healthy'), quiet);
    expect(fine.exitCode).toBe(0);
    expect(textReport(fine)).toContain('every service that works unhardened still works hardened');
    const none = await verifyStack(mkdtempSync(join(tmpdir(), 'verify-empty-')), new RuleDriver(() => 'running'), quiet);
    expect(none.exitCode).toBe(2);
  });

  it('leaves no temporary copy behind', async () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('cuirass-verify-')).length;
    const dir = project('services:\n  app:\n    image: example/app:1.0\n');
    await verifyStack(dir, new RuleDriver((_n, svc) => (svc.read_only ? 'exited' : 'running')), quiet);
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('cuirass-verify-')).length).toBe(before);
  });

  it('prints a config exemption when only exempting every service helps', () => {
    const text = exemptionText({ file: 'compose.yaml', service: 'app', scope: 'file', skip: ['network-segmentation'] }, 'app | connection refused');
    expect(text).toContain('  - match: {file: compose.yaml}\n    skip: [network-segmentation]');
    expect(text).toContain('#   app | connection refused');
  });
});

describe('verify helpers', () => {
  it('classifies containers: health, exit codes, restarts, settle time', () => {
    const c = { id: 'a', service: 's', status: 'running', running: true, restarting: false, exitCode: 0, startedAt: 't', restartCount: 0, oneOff: false };
    expect(classify([{ ...c, health: 'healthy' }], 0, 0, 10_000)).toMatchObject({ state: 'healthy', final: true });
    expect(classify([{ ...c, health: 'unhealthy' }], 0, 0, 10_000)).toMatchObject({ state: 'unhealthy', final: true });
    expect(classify([c], 0, 5_000, 10_000)).toMatchObject({ state: 'starting', final: false });
    expect(classify([c], 0, 10_000, 10_000)).toMatchObject({ state: 'running', final: true });
    expect(classify([{ ...c, running: false, status: 'exited', exitCode: 0 }], 0, 0, 0)).toMatchObject({ state: 'completed', final: true });
    expect(classify([{ ...c, running: false, status: 'exited', exitCode: 3 }], 0, 0, 0)).toMatchObject({ state: 'exited', detail: 'exited with code 3' });
    expect(classify([{ ...c, restarting: true, exitCode: 1, restartCount: 2 }], 0, 0, 0)).toMatchObject({ state: 'restarting', final: false });
    // One failing replica makes the service fail.
    expect(classify([{ ...c, health: 'healthy' }, { ...c, running: false, status: 'exited', exitCode: 1 }], 0, 0, 0).state).toBe('exited');
  });

  it('makes a hardened file acceptable to docker-compose 1.29: pids to pids_limit, no top-level name', () => {
    const dir = project(`name: shop
services:
  app:
    image: example/app:1.0
    deploy:
      resources:
        limits:
          memory: 512M
          pids: 200
`);
    expect(compatStep(join(dir, 'compose.yaml'))).toBe(true);
    const doc = parse(readFileSync(join(dir, 'compose.yaml'), 'utf8'));
    expect(doc.name).toBeUndefined();
    expect(doc.services.app.pids_limit).toBe(200);
    expect(doc.services.app.deploy.resources.limits).toEqual({ memory: '512M' });
    expect(compatStep(join(dir, 'compose.yaml'))).toBe(false);
  });

  it('masks secret values of env entries and .env in log lines', () => {
    const dir = project(`services:
  app:
    image: a
    environment:
      - API_TOKEN=tok-123456
      - LOG_LEVEL=debug
`);
    writeFileSync(join(dir, '.env'), "DB_PASSWORD='pw-abcdef'\nPORT=8080\n");
    const values = secretValues(dir, ['compose.yaml'], ['PASSWORD', 'TOKEN']);
    expect(values.sort()).toEqual(['pw-abcdef', 'tok-123456']);
    expect(maskLogs('got tok-123456 and pw-abcdef on 8080', values)).toBe('got <redacted> and <redacted> on 8080');
  });

  it('the built CLI: verify without a Compose file exits 2 with a clear message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'verify-cli-'));
    const r = cli(['verify', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no Compose file/);
    expect(existsSync(join(dir, 'compose.yaml'))).toBe(false);
    const bad = cli(['verify', dir, '--timeout', 'soon']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--timeout takes a number of seconds');
  });
});
