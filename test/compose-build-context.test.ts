/**
 * A build context beside the Compose file's folder (`build: ../vote/`, as in example-voting-app's
 * result/docker-compose.test.yml) is read when it is inside the tree the run walks, and only then.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cli } from './support/run-cli.js';

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'cuirass-context-'));
  mkdirSync(join(root, 'vote'));
  mkdirSync(join(root, 'result'));
  writeFileSync(join(root, 'vote', 'Dockerfile'), 'FROM python:3.11-slim\nRUN useradd -u 4242 app\nUSER app\nCMD ["python", "app.py"]\n');
  writeFileSync(join(root, 'result', 'docker-compose.test.yml'), 'services:\n  vote:\n    build: ../vote/\n');
  return root;
}

const user = (root: string) => (parse(readFileSync(join(root, 'result', 'docker-compose.test.yml'), 'utf8')) as { services: { vote: { user?: string } } }).services.vote.user;

describe('build contexts beside the Compose file', () => {
  it('are read inside the walked tree: the Dockerfile USER (4242) needs no user: override', () => {
    const root = tree();
    const r = cli([root, '--write', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expect(user(root)).toBeUndefined();
  });

  it('are not read outside it: hardening the Compose file alone gives the generic uid', () => {
    const root = tree();
    const r = cli([join(root, 'result', 'docker-compose.test.yml'), '--write', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expect(user(root)).toBe('10001:10001');
  });
});
