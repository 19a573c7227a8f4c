import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hardenText } from '../src/harden.js';
import type { HardenOptions } from '../src/harden.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { TRANSFORMS } from '../transforms/index.js';
import { credentialKind, envFileLine } from '../transforms/secrets.js';
import { combine } from '../src/engine/index.js';
import { redact } from '../src/emit.js';

const only = (...ids: string[]): HardenOptions => ({
  transforms: TRANSFORMS.filter((t) => ids.includes(t.id)),
  level: 'restricted',
  settings: DEFAULT_SETTINGS,
  hasFolder: true,
});

/** Reads back `NAME='value'` / `NAME="value"` lines the way Compose's env_file parser does. */
function readEnvLine(line: string): [string, string] {
  const eq = line.indexOf('=');
  const name = line.slice(0, eq);
  const raw = line.slice(eq + 1);
  if (raw.startsWith("'")) return [name, raw.slice(1, -1)];
  const body = raw.slice(1, -1);
  return [name, body.replace(/\$\$/g, '$').replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')];
}

describe('credential detection', () => {
  const p = DEFAULT_SETTINGS.secretPatterns;
  it('finds names and connection strings, leaves references alone', () => {
    expect(credentialKind('DB_PASSWORD', 'hunter2', p)).toBe('name');
    expect(credentialKind('STRIPE_API_KEY', 'sk_live_1', p)).toBe('name');
    expect(credentialKind('DATABASE_URL', 'postgres://app:pw@db/app', p)).toBe('url');
    expect(credentialKind('DB_PASSWORD', '${DB_PASSWORD}', p)).toBeUndefined();
    expect(credentialKind('DB_PASSWORD', '$DB_PASSWORD', p)).toBeUndefined();
    expect(credentialKind('DB_PASSWORD', '', p)).toBeUndefined();
    expect(credentialKind('DB_PASSWORD_FILE', '/run/secrets/db', p)).toBeUndefined();
    expect(credentialKind('DATABASE_PASSWORD', '/run/secrets/db-password', p)).toBeUndefined();
    expect(credentialKind('TOKEN_TTL', '3600', p)).toBeUndefined();
    expect(credentialKind('LOG_LEVEL', 'info', p)).toBeUndefined();
    expect(credentialKind('DATABASE_URL', 'postgres://db:5432/app', p)).toBeUndefined();
    expect(credentialKind('MY_CUSTOM', 'x', ['CUSTOM'])).toBe('name');
  });
  it('env file lines read back byte for byte', () => {
    for (const value of ['plain', "it's", 'a"b\\c', 'dollar$sign', 'multi\nline', ' spaced ']) {
      expect(readEnvLine(envFileLine('X', value))).toEqual(['X', value]);
    }
  });
  it('env lines merge by name', () => {
    expect(combine("A='1'\nB='2'\n", "B='3'\nC='4'\n", 'env')).toBe("A='1'\nB='3'\nC='4'\n");
    expect(combine('/secrets/\n', '/secrets/\n', 'lines')).toBe('/secrets/\n');
  });
  it('redaction hides every spelling, longest first', () => {
    expect(redact('a=hunter2 b=hunter', ['hunter', 'hunter2'])).toBe('a=<redacted> b=<redacted>');
  });
});

const COMPOSE = `services:
  db:
    image: postgres:16
    environment:
      POSTGRES_USER: shop
      POSTGRES_PASSWORD: "s3cr3t-Pa$$word"   # do not commit!
  app:
    image: shop/app:1.0
    environment:
      - DATABASE_URL=postgres://shop:hunter2@db:5432/shop
      - API_TOKEN=tok_abcdef123456
      - LOG_LEVEL=info
`;

describe('secrets-from-env on Compose', () => {
  const r = hardenText(COMPOSE, only('secrets-from-env'), { file: 'compose.yaml' });
  it('moves each value out, byte-exact output', () => {
    expect(r.output).toBe(`services:
  db:
    image: postgres:16
    environment:
      POSTGRES_USER: shop
      POSTGRES_PASSWORD_FILE: "/run/secrets/db_postgres_password"   # do not commit!
    secrets:
      - db_postgres_password
  app:
    image: shop/app:1.0
    environment:
      - LOG_LEVEL=info
    env_file:
      - secrets/app.env
secrets:
  db_postgres_password:
    file: ./secrets/db_postgres_password
`);
  });
  it('no secret value is left in the manifest', () => {
    for (const v of ['s3cr3t', 'hunter2', 'tok_abcdef123456']) expect(r.output).not.toContain(v);
  });
  it('every value is recoverable from the generated files', () => {
    const byPath = Object.fromEntries(r.files.map((f) => [f.path, f]));
    expect(byPath['secrets/db_postgres_password'].content).toBe('s3cr3t-Pa$word');
    expect(byPath['secrets/db_postgres_password'].mode).toBe(0o444);
    expect(byPath['secrets/db_postgres_password'].dirMode).toBe(0o700);
    const env = Object.fromEntries(byPath['secrets/app.env'].content.trim().split('\n').map(readEnvLine));
    expect(env).toEqual({ DATABASE_URL: 'postgres://shop:hunter2@db:5432/shop', API_TOKEN: 'tok_abcdef123456' });
    expect(byPath['secrets/app.env'].mode).toBe(0o600);
    expect(byPath['.gitignore'].content).toBe('/secrets/\n');
  });
  it('reports the values for redaction and never in messages', () => {
    expect(r.secrets).toEqual(expect.arrayContaining(['s3cr3t-Pa$word', 'postgres://shop:hunter2@db:5432/shop', 'tok_abcdef123456']));
    for (const c of r.changes) expect(c.message).not.toMatch(/hunter2|s3cr3t|tok_abc/);
  });
  it('is idempotent: a second run changes and creates nothing', () => {
    const again = hardenText(r.output, only('secrets-from-env'), { file: 'compose.yaml' });
    expect(again.output).toBe(r.output);
    expect(again.files).toEqual([]);
    expect(again.changes).toEqual([]);
  });
  it('refuses without a folder (stdin) and keeps the value', () => {
    const stdin = hardenText(COMPOSE, { ...only('secrets-from-env'), hasFolder: false }, { file: '<stdin>' });
    expect(stdin.output).toBe(COMPOSE);
    expect(stdin.remaining.map((f) => f.reason)).toContain('secret files need the folder of a Compose file (not stdin)');
  });
});

const K8S = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: api
  namespace: shop
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: shop/api:1.0
        env:
        - name: DB_PASSWORD
          value: "hunter2"   # rotate me
      containers:
      - name: api
        image: shop/api:1.0
        env:
        - name: LOG_LEVEL
          value: info
        - {name: STRIPE_API_KEY, value: sk_live_123456789}
        - name: REF
          valueFrom: {secretKeyRef: {name: other, key: k}}
`;

describe('secrets-from-env on Kubernetes', () => {
  const r = hardenText(K8S, only('secrets-from-env'), { file: 'api.yaml' });
  it('replaces values with secretKeyRef, byte-exact', () => {
    expect(r.output).toBe(`apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: api
  namespace: shop
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: shop/api:1.0
        env:
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef:
              name: api-env-secrets
              key: DB_PASSWORD
      containers:
      - name: api
        image: shop/api:1.0
        env:
        - name: LOG_LEVEL
          value: info
        - {name: STRIPE_API_KEY, valueFrom: {secretKeyRef: {name: api-env-secrets, key: STRIPE_API_KEY}}}
        - name: REF
          valueFrom: {secretKeyRef: {name: other, key: k}}
`);
  });
  it('generates one Secret per workload holding every value', () => {
    expect(r.documents).toHaveLength(1);
    const secret = r.documents[0];
    expect(secret.file).toBe('api.secrets.yaml');
    expect(secret.object).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'api-env-secrets', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'cuirass' } },
      type: 'Opaque',
      stringData: { DB_PASSWORD: 'hunter2', STRIPE_API_KEY: 'sk_live_123456789' },
    });
    expect(r.files.find((f) => f.path === '.gitignore')?.content).toBe('/api.secrets.yaml\n');
  });
  it('the output holds no value and a second run adds nothing', () => {
    expect(r.output).not.toMatch(/hunter2|sk_live/);
    const again = hardenText(r.output, only('secrets-from-env'), { file: 'api.yaml' });
    expect(again.output).toBe(r.output);
    expect(again.documents).toEqual([]);
  });
  it('output parses and keeps every variable', () => {
    const obj = parse(r.output);
    const env = obj.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name);
    expect(env).toEqual(['LOG_LEVEL', 'STRIPE_API_KEY', 'REF']);
  });
});
