/**
 * SPEC 7: the value in effect is the value that reaches the app, every time. Each case hardens
 * a file with secrets-from-env and then reads the result the way Compose or Kubernetes would
 * (env_file, .env interpolation, *_FILE secret files, secretKeyRef), comparing what every
 * service or container sees before and after.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { hardenText } from '../src/harden.js';
import type { HardenOptions, HardenResult } from '../src/harden.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { TRANSFORMS } from '../transforms/index.js';
import { envFileLine } from '../transforms/secrets.js';
import { readDotenvLine } from './support/dotenv.js';

const options: HardenOptions = {
  transforms: TRANSFORMS.filter((t) => t.id === 'secrets-from-env'),
  level: 'restricted',
  settings: DEFAULT_SETTINGS,
  hasFolder: true,
};

type Env = Record<string, string>;

function dotenv(text: string | undefined): Env {
  return Object.fromEntries((text ?? '').split('\n').filter((l) => l.trim() && !l.startsWith('#')).map(readDotenvLine));
}

/** What each Compose service gets as its environment (env_file, then environment; *_FILE read back). */
function composeEnvs(text: string, r?: HardenResult): Record<string, Env> {
  const files = new Map((r?.files ?? []).map((f) => [f.path, f.content]));
  const interpolation = dotenv(files.get('.env'));
  const doc = parse(text, { merge: true }) as { services: Record<string, { environment?: unknown; env_file?: string[] }>; secrets?: Record<string, { file: string }> };
  const out: Record<string, Env> = {};
  for (const [name, svc] of Object.entries(doc.services)) {
    const env: Env = {};
    for (const f of svc.env_file ?? []) Object.assign(env, dotenv(files.get(f.replace(/^\.\//, ''))));
    const own: [string, string][] = Array.isArray(svc.environment)
      ? (svc.environment as string[]).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
      : Object.entries((svc.environment ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]);
    for (const [k, raw] of own) {
      env[k] = raw.replace(/\$\{([A-Z0-9_]+):\?[^}]*\}/g, (_m, v: string) => {
        if (!(v in interpolation)) throw new Error(`${name}: ${v} is not in .env`);
        return interpolation[v];
      }).replace(/\$\$/g, '$');
    }
    for (const [k, v] of Object.entries(env)) {
      if (!k.endsWith('_FILE') || !v.startsWith('/run/secrets/')) continue;
      const source = doc.secrets?.[v.slice('/run/secrets/'.length)]?.file.replace(/^\.\//, '');
      env[k.slice(0, -'_FILE'.length)] = files.get(source ?? '') ?? `<missing ${source}>`;
      delete env[k];
    }
    out[name] = env;
  }
  return out;
}

/** What each container of each workload sees (the last entry of a name wins; secretKeyRef resolved). */
function kubernetesEnvs(text: string, r?: HardenResult): Record<string, Env> {
  const secrets = new Map<string, Env>();
  for (const d of r?.documents ?? []) {
    const o = d.object as { metadata: { name: string }; stringData: Env };
    secrets.set(o.metadata.name, o.stringData);
  }
  const out: Record<string, Env> = {};
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
    const pod = (o.kind === 'CronJob' ? (o.spec.jobTemplate as { spec: { template: { spec: unknown } } }).spec.template.spec : (o.spec.template as { spec: unknown }).spec) as { containers: { name: string; env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[] }[] };
    for (const c of pod.containers) {
      const env: Env = {};
      for (const e of c.env) {
        const ref = e.valueFrom?.secretKeyRef;
        env[e.name] = ref ? secrets.get(ref.name)?.[ref.key] ?? `<missing ${ref.name}/${ref.key}>` : e.value!;
      }
      out[`${o.kind}/${o.metadata.name}/${c.name}`] = env;
    }
  }
  return out;
}

describe('Kubernetes: the value in effect reaches the container', () => {
  it('two entries of one name in a container, and a Deployment and a CronJob both named app', () => {
    const input = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
      - name: app
        image: example/app:1.0
        env:
        - name: DB_PASSWORD
          value: first-pw
        - name: DB_PASSWORD
          value: second-pw
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: app
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: app
            image: example/app:1.0
            env:
            - name: DB_PASSWORD
              value: cron-pw
`;
    const r = hardenText(input, options, { file: 'app.yaml' });
    expect(r.output).not.toMatch(/first-pw|second-pw|cron-pw/);
    expect(kubernetesEnvs(r.output, r)).toEqual(kubernetesEnvs(input));
    expect(kubernetesEnvs(input)['Deployment/app/app'].DB_PASSWORD).toBe('second-pw');
    // Every value is kept (the shadowed one too), each under its own key.
    const values = r.documents.flatMap((d) => Object.values((d.object as { stringData: Env }).stringData)).sort();
    expect(values).toEqual(['cron-pw', 'first-pw', 'second-pw']);
    expect(r.changes.filter((c) => c.transform === 'secrets-from-env')).toHaveLength(3);
  });

  it('ephemeral containers get the finding and the same move', () => {
    const input = `apiVersion: v1
kind: Pod
metadata:
  name: dbg
spec:
  containers:
  - name: app
    image: example/app:1.0
  ephemeralContainers:
  - name: debug
    image: busybox:1.36
    env:
    - name: API_TOKEN
      value: eph-token
`;
    const r = hardenText(input, options, { file: 'pod.yaml' });
    expect(r.changes.map((c) => c.field)).toEqual(['spec.ephemeralContainers[0].env.API_TOKEN']);
    expect(r.output).not.toContain('eph-token');
    expect(r.documents.map((d) => (d.object as { stringData: Env }).stringData)).toEqual([{ API_TOKEN: 'eph-token' }]);
  });
});

describe('Compose: the value in effect reaches the service', () => {
  const input = `x-common: &common
  API_TOKEN: common-token
services:
  a:
    image: example/a:1
    environment:
      <<: *common
  b:
    image: example/b:1
    environment:
      <<: *common
      API_TOKEN: b-own-token
  pg:
    image: postgres:16
    environment:
      - POSTGRES_PASSWORD=A-pass
      - POSTGRES_PASSWORD=B-pass
  web:
    image: example/web:1
    environment:
      - API_TOKEN=first-token
      - LOG_LEVEL=info
      - API_TOKEN=second-token
  DB:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: upper-pass
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: lower-pass
`;
  const r = hardenText(input, options, { file: 'compose.yaml' });

  it('every service sees what it saw before, and no value stays in the file', () => {
    const before = composeEnvs(input);
    expect(before.b.API_TOKEN).toBe('b-own-token');
    expect(before.pg.POSTGRES_PASSWORD).toBe('B-pass');
    expect(composeEnvs(r.output, r)).toEqual(before);
    expect(r.output).not.toMatch(/-pass|-token/);
  });

  it('DB and db do not share a secret file (case-insensitive disks)', () => {
    const paths = r.files.map((f) => f.path.toLowerCase());
    expect(new Set(paths).size).toBe(paths.length);
    expect(r.files.filter((f) => f.path.startsWith('secrets/db')).map((f) => f.path).sort()).toEqual(['secrets/db_2_postgres_password', 'secrets/db_postgres_password']);
  });

  it('a shadowed list entry is removed, not turned into a second *_FILE entry', () => {
    const pg = (parse(r.output) as { services: { pg: { environment: string[]; secrets: string[] } } }).services.pg;
    expect(pg.environment).toEqual(['POSTGRES_PASSWORD_FILE=/run/secrets/pg_postgres_password']);
    expect(pg.secrets).toEqual(['pg_postgres_password']);
  });

  it('a second run changes nothing', () => {
    const again = hardenText(r.output, options, { file: 'compose.yaml' });
    expect(again.output).toBe(r.output);
    expect(again.changes).toEqual([]);
  });
});

describe('env file lines read back whole', () => {
  const values: Env = {
    TRAILING: 'SECRET\\',
    QUOTE: "it's",
    BOTH: 'a"b\\c',
    DOLLAR: 'pa$word',
    LINES: 'multi\nline',
    HASH: 'x #y',
    BLANKS: ' sp ',
    QUOTE_BACKSLASH: "q'\\",
    DOUBLE_BACKSLASH: 'a\\\\b',
    ESCAPE_LOOKALIKE: 'a\\nb',
  };
  it("by compose-go's dotenv rules", () => {
    for (const [k, v] of Object.entries(values)) expect(readDotenvLine(envFileLine(k, v))).toEqual([k, v]);
    expect(envFileLine('API_TOKEN', 'SECRET\\')).not.toBe("API_TOKEN='SECRET\\'");
  });
  const compose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  it.skipIf(compose.status !== 0)('by docker-compose config (docker-compose 1.29, python-dotenv)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-envfile-'));
    writeFileSync(join(dir, 'app.env'), Object.entries(values).map(([k, v]) => `${envFileLine(k, v)}\n`).join(''));
    writeFileSync(join(dir, 'docker-compose.yml'), 'services:\n  s:\n    image: busybox\n    env_file: [app.env]\n');
    const out = execFileSync('docker-compose', ['config'], { cwd: dir, encoding: 'utf8', env: { ...process.env, COMPOSE_PROJECT_NAME: 'envfile' } });
    const env = (parse(out) as { services: { s: { environment: Env } } }).services.s.environment;
    // `config` prints a `$` as `$$`.
    expect(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\$/g, '$')]))).toEqual(values);
  });
});
