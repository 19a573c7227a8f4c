/**
 * A later pass reads the files the earlier passes create. The first pass moves a service's
 * literal secrets to `secrets/<svc>.env` and adds `env_file:`; the next pass used to find that
 * file missing (it is written only at the end of the run), took the service for one whose env file
 * cannot be read, and let network segmentation give it every backend network (on the 1,000-service
 * bench input, 476 services joined a backend network they do not use, over two extra passes).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from './support/cli.js';

const COMPOSE = `services:
  app1:
    image: example/app1:1.0
    environment:
      API_TOKEN: tok-123456789
  app2:
    image: example/app2:1.0
    depends_on: [db]
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/x
`;

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function networksOf(text: string, svc: string): unknown {
  return parse(text).services[svc].networks;
}

describe('files created by an earlier pass', () => {
  it('a service whose secrets moved to its own env file does not join a backend network it does not reach', () => {
    dir = mkdtempSync(join(tmpdir(), 'cuirass-pending-'));
    writeFileSync(join(dir, 'compose.yaml'), COMPOSE);
    const w = runCli(['--write', '--no-color', '.'], { cwd: dir });
    expect(w.status, w.stderr).toBe(0);
    const out = readFileSync(join(dir, 'compose.yaml'), 'utf8');
    expect(parse(out).services.app1.env_file).toEqual(['secrets/app1.env']);
    expect(readFileSync(join(dir, 'secrets/app1.env'), 'utf8')).toContain('API_TOKEN=');
    expect(networksOf(out, 'app1')).toBeUndefined();
    expect(networksOf(out, 'app2')).toEqual(['default', 'db-net']);
    expect(networksOf(out, 'db')).toEqual(['db-net']);
    expect(w.stderr).not.toMatch(/cannot be read/);
    // The next run reads the file from disk and agrees: nothing more to change.
    const again = runCli(['--check', '--no-color', '.'], { cwd: dir });
    expect(again.status, again.stdout + again.stderr).toBe(0);
  });

  it('a service that reaches a backend keeps that network when its secrets move to its env file', () => {
    dir = mkdtempSync(join(tmpdir(), 'cuirass-pending-'));
    writeFileSync(
      join(dir, 'compose.yaml'),
      COMPOSE.replace('API_TOKEN: tok-123456789', 'API_TOKEN: tok-123456789\n      DB_PASSWORD: s3cret-db-pw\n      DB_HOST: db'),
    );
    const w = runCli(['--write', '--no-color', '.'], { cwd: dir });
    expect(w.status, w.stderr).toBe(0);
    const out = readFileSync(join(dir, 'compose.yaml'), 'utf8');
    expect(networksOf(out, 'app1')).toEqual(['default', 'db-net']);
    expect(runCli(['--check', '.'], { cwd: dir }).status).toBe(0);
  });
});
