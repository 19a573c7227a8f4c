/**
 * What a container sees, asked of Compose itself: `docker-compose config` (Debian's
 * docker-compose, which needs no Docker engine for `config`) resolves interpolation from the
 * project's `.env`, merges `env_file`s and prints each service's final environment. Hardening
 * must not change it: every variable keeps its value, or becomes `NAME_FILE` pointing at a
 * secret whose file holds exactly that value.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cli, CORPUS, ROOT } from './support/run-cli.js';

const COMPOSE_BIN = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0 ? 'docker-compose' : undefined;

type Env = Record<string, string>;

/** `docker-compose config` of a folder: the environment of each service. */
function environments(dir: string): Record<string, Env> {
  const r = spawnSync(COMPOSE_BIN!, ['config'], { cwd: dir, encoding: 'utf8', env: { ...process.env, COMPOSE_PROJECT_NAME: 'p' } });
  if (r.status !== 0) throw new Error(`docker-compose config failed: ${r.stderr}`);
  const config = parse(r.stdout) as { services: Record<string, { environment?: Env }>; secrets?: Record<string, { file: string }> };
  const out: Record<string, Env> = {};
  for (const [name, svc] of Object.entries(config.services)) {
    const env: Env = {};
    for (const [k, v] of Object.entries(svc.environment ?? {})) {
      const secret = /^\/run\/secrets\/(.+)$/.exec(String(v))?.[1];
      const file = secret ? config.secrets?.[secret]?.file : undefined;
      if (k.endsWith('_FILE') && file && existsSync(file)) env[k.slice(0, -5)] = readFileSync(file, 'utf8');
      // `config` prints values re-escaped for Compose: `$$` is one `$` in the container.
      else env[k] = String(v ?? '').replace(/\$\$/g, '$');
    }
    out[name] = env;
  }
  return out;
}

/** Hardens a copy of `files` with the built CLI and returns the folders before and after. */
function hardenCopy(files: Record<string, string>, from?: string): { before: string; after: string; stdout: string; stderr: string } {
  const before = mkdtempSync(join(tmpdir(), 'cuirass-runtime-before-'));
  const after = mkdtempSync(join(tmpdir(), 'cuirass-runtime-after-'));
  if (from) for (const dir of [before, after]) cpSync(from, dir, { recursive: true });
  // The corpus holds compose files only: give each `build:` context an empty folder.
  for (const dir of [before, after]) {
    for (const name of Object.keys(files).length ? Object.keys(files) : readdirSync(dir).filter((n) => /compose\.ya?ml$/.test(n))) {
      const text = files[name] ?? readFileSync(join(dir, name), 'utf8');
      for (const svc of Object.values((parse(text) as { services?: Record<string, { build?: unknown }> }).services ?? {})) {
        const ctx = typeof svc?.build === 'string' ? svc.build : (svc?.build as { context?: string } | undefined)?.context;
        if (ctx && !/^[a-z]+:\/\//.test(ctx)) mkdirSync(join(dir, ctx), { recursive: true });
      }
    }
  }
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(before, name), text);
    writeFileSync(join(after, name), text);
  }
  // Only the secrets move: docker-compose 1.29's schema predates `deploy.resources.limits.pids`.
  const r = cli([after, '--write', '--only', 'secrets-from-env']);
  if (r.status !== 0) throw new Error(`cuirass exited ${r.status}: ${r.stderr}`);
  return { before, after, stdout: r.stdout, stderr: r.stderr };
}

const STACKS: Record<string, Record<string, string>> = {
  'connection strings, a _FILE secret and an env file': {
    'compose.yaml': readFileSync(join(ROOT, 'fixtures/secrets-from-env/compose-connection-string.in.yaml'), 'utf8'),
  },
  'values shared through anchors, aliases and merge keys': {
    'compose.yaml': readFileSync(join(ROOT, 'fixtures/secrets-from-env/compose-anchored-env.in.yaml'), 'utf8'),
  },
  'a password by name for an image with _FILE support': {
    'compose.yaml': readFileSync(join(ROOT, 'fixtures/secrets-from-env/compose-env-map-postgres-file.in.yaml'), 'utf8'),
  },
};

/** Corpus stacks with literal credentials, copied whole (their build contexts are checked). */
const CORPUS_STACKS = ['awesome-compose/wasmedge-mysql-nginx', 'awesome-compose/wasmedge-kafka-mysql', 'awesome-compose/nextcloud-postgres', 'awesome-compose/gitea-postgres', 'awesome-compose/nextcloud-redis-mariadb', 'awesome-compose/aspnet-mssql'];

describe.skipIf(!COMPOSE_BIN)('docker-compose sees the same environment after hardening', () => {
  for (const [name, files] of Object.entries(STACKS)) {
    it(name, () => {
      check(hardenCopy(files), Object.keys(files)[0], files[Object.keys(files)[0]]);
    });
  }
  for (const stack of CORPUS_STACKS) {
    it(`${stack} (corpus)`, () => {
      const from = join(CORPUS, 'compose', stack);
      const main = existsSync(join(from, 'compose.yaml')) ? 'compose.yaml' : 'compose.yml';
      check(hardenCopy({}, from), main, readFileSync(join(from, main), 'utf8'));
    });
  }
});

/** Credential-named variables with a literal value, and connection strings with a literal password, as a file writes them. */
function literalCredentials(text: string): string[] {
  const found: string[] = [];
  for (const [name, svc] of Object.entries((parse(text) as { services: Record<string, { environment?: unknown }> }).services)) {
    const env = svc?.environment;
    const pairs = Array.isArray(env) ? env.map((e) => String(e).split(/=(.*)/s).slice(0, 2)) : Object.entries(env ?? {}).map(([k, v]) => [k, v == null ? '' : String(v)]);
    for (const [k, v = ''] of pairs) {
      const literal = v !== '' && !v.includes('${') && !v.startsWith('/run/secrets/');
      if ((/PASSWORD|TOKEN|SECRET/.test(k) && !k.endsWith('_FILE') && literal) || /:\/\/[^:@/]*:(?!\$\{)[^@/]+@/.test(v)) found.push(`${name}.${k}`);
    }
  }
  return found;
}

function check({ before, after, stdout, stderr }: ReturnType<typeof hardenCopy>, main: string, original: string): void {
  const want = environments(before);
  expect(environments(after)).toEqual(want);
  // Every literal credential left the file...
  const hardened = readFileSync(join(after, main), 'utf8');
  expect(literalCredentials(original).length).toBeGreaterThan(0);
  expect(literalCredentials(hardened)).toEqual([]);
  // ...and none was printed doing it (values that the file holds nowhere else, so a diff's context cannot show them).
  const secrets = Object.values(want)
    .flatMap((env) => Object.entries(env).flatMap(([k, v]) => (/PASSWORD|TOKEN|SECRET/.test(k) ? [v] : /:([^:@/]+)@/.test(v) ? [/:([^:@/]+)@/.exec(v)![1]] : [])))
    .filter((v) => v.length >= 6 && original.split(v.replace(/\$/g, '$$$$')).length === 2);
  for (const v of secrets) expect(stdout + stderr).not.toContain(v);
}
