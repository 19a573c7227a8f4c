import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hardenText } from '../src/harden.js';
import type { HardenOptions } from '../src/harden.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { TRANSFORMS } from '../transforms/index.js';
import { credentialKind, envFileLine } from '../transforms/secrets.js';
import { combine } from '../src/engine/index.js';
import { redact } from '../src/emit.js';
import { readDotenvLine } from './support/dotenv.js';

const only = (...ids: string[]): HardenOptions => ({
  transforms: TRANSFORMS.filter((t) => ids.includes(t.id)),
  level: 'restricted',
  settings: DEFAULT_SETTINGS,
  hasFolder: true,
});

const readEnvLine = readDotenvLine;

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
    for (const value of ['plain', "it's", 'a"b\\c', 'dollar$sign', 'multi\nline', ' spaced ', 'SECRET\\', "it's $HOME", 'x #y', 'a\\\\b', "q'\\"]) {
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
      - DATABASE_URL=postgres://shop:\${APP_DATABASE_URL_PASSWORD:?set it in .env}@db:5432/shop
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
    expect(env).toEqual({ API_TOKEN: 'tok_abcdef123456' });
    expect(byPath['secrets/app.env'].mode).toBe(0o600);
    // The connection string keeps its shape; its password goes to the project's .env.
    expect(Object.fromEntries(byPath['.env'].content.trim().split('\n').map(readEnvLine))).toEqual({ APP_DATABASE_URL_PASSWORD: 'hunter2' });
    expect(byPath['.env'].mode).toBe(0o600);
    expect(byPath['.gitignore'].content).toBe('/secrets/\n/.env\n');
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
              name: api-statefulset-env-secrets
              key: DB_PASSWORD
      containers:
      - name: api
        image: shop/api:1.0
        env:
        - name: LOG_LEVEL
          value: info
        - {name: STRIPE_API_KEY, valueFrom: {secretKeyRef: {name: api-statefulset-env-secrets, key: STRIPE_API_KEY}}}
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
      metadata: { name: 'api-statefulset-env-secrets', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'cuirass' } },
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

/**
 * What a container sees for `value:` given the variables defined before it, the way the
 * kubelet expands it: `$(NAME)` of a known variable is replaced, `$$` is a `$`.
 */
function expandKubernetes(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name?: string) => (m === '$$' ? '$' : name && name in vars ? vars[name] : m));
}

/** Compose interpolation of `${NAME}`, `${NAME:?msg}` from `vars`, and `$$` → `$`. */
function interpolateCompose(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?\?[^}]*)?\}/g, (m, name?: string) => {
    if (m === '$$') return '$';
    if (!name || !(name in vars)) throw new Error(`${name} is not set`);
    return vars[name];
  });
}

const K8S_URLS = `apiVersion: v1
kind: Pod
metadata:
  name: report
spec:
  containers:
    - name: app
      image: example/report:3
      env:
        - name: MODE
          value: batch
        # connection to the warehouse
        - name: WAREHOUSE_URL
          value: "postgres://report:w4re$$house@dw:5432/dw"
        - name: AFTER
          value: $(WAREHOUSE_URL)/extra
`;

describe('connection strings keep their shape (Kubernetes)', () => {
  const r = hardenText(K8S_URLS, only('secrets-from-env'), { file: 'pod.yaml' });
  const secret = r.documents[0].object as { stringData: Record<string, string> };
  it('defines the password just before the string, which refers to it', () => {
    expect(r.output).toBe(`apiVersion: v1
kind: Pod
metadata:
  name: report
spec:
  containers:
    - name: app
      image: example/report:3
      env:
        - name: MODE
          value: batch
        - name: WAREHOUSE_URL_PASSWORD
          valueFrom:
            secretKeyRef:
              name: report-pod-env-secrets
              key: WAREHOUSE_URL_PASSWORD
        # connection to the warehouse
        - name: WAREHOUSE_URL
          value: "postgres://report:$(WAREHOUSE_URL_PASSWORD)@dw:5432/dw"
        - name: AFTER
          value: $(WAREHOUSE_URL)/extra
`);
    expect(r.output).not.toContain('w4re');
  });
  it('the container sees exactly the values it saw before', () => {
    const seen = (text: string, secrets: Record<string, string>) => {
      const env = parse(text).spec.containers[0].env as { name: string; value?: string; valueFrom?: { secretKeyRef: { key: string } } }[];
      const vars: Record<string, string> = {};
      for (const e of env) vars[e.name] = e.valueFrom ? secrets[e.valueFrom.secretKeyRef.key] : expandKubernetes(e.value ?? '', vars);
      return vars;
    };
    const before = seen(K8S_URLS, {});
    const after = seen(r.output, secret.stringData);
    expect(before.WAREHOUSE_URL).toBe('postgres://report:w4re$house@dw:5432/dw');
    expect(after.WAREHOUSE_URL).toBe(before.WAREHOUSE_URL);
    expect(after.AFTER).toBe(before.AFTER);
    expect(secret.stringData).toEqual({ WAREHOUSE_URL_PASSWORD: 'w4re$house' });
  });
  it('redacts the password, and the whole string, everywhere', () => {
    expect(r.secrets).toEqual(expect.arrayContaining(['w4re$house', 'w4re$$house', 'postgres://report:w4re$$house@dw:5432/dw']));
    for (const c of r.changes) expect(c.message).not.toContain('w4re');
    expect(r.changes[0].message).toContain('refers to it as $(WAREHOUSE_URL_PASSWORD)');
  });
  it('a second run changes nothing', () => {
    const again = hardenText(r.output, only('secrets-from-env'), { file: 'pod.yaml' });
    expect(again.output).toBe(r.output);
    expect(again.changes).toEqual([]);
    expect(again.documents).toEqual([]);
  });
});

const COMPOSE_URL = `services:
  api:
    image: example/api:1
    environment:
      DATABASE_URL: postgres://api:p4$$word@db:5432/api
`;

describe('connection strings keep their shape (Compose)', () => {
  const withDotenv = (dotenv: { text: string; ignored: boolean } | undefined) =>
    hardenText(COMPOSE_URL, { ...only('secrets-from-env'), sibling: (p) => (p === '.env' ? dotenv : undefined) }, { file: 'compose.yaml' });
  it('moves the password to a new .env and interpolates it', () => {
    const r = withDotenv(undefined);
    expect(r.output).toBe(COMPOSE_URL.replace('p4$$word', '${API_DATABASE_URL_PASSWORD:?set it in .env}'));
    const byPath = Object.fromEntries(r.files.map((f) => [f.path, f]));
    const vars = Object.fromEntries(byPath['.env'].content.trim().split('\n').map(readEnvLine));
    expect(vars).toEqual({ API_DATABASE_URL_PASSWORD: 'p4$word' });
    expect(byPath['.env']).toMatchObject({ mode: 0o600, merge: 'env', secret: true });
    expect(byPath['.gitignore'].content).toBe('/.env\n');
    // What the container sees is unchanged.
    const before = interpolateCompose(parse(COMPOSE_URL).services.api.environment.DATABASE_URL, {});
    expect(interpolateCompose(parse(r.output).services.api.environment.DATABASE_URL, vars)).toBe(before);
    expect(r.changes[0].message).not.toContain('p4');
  });
  it('adds to a git-ignored .env without touching .gitignore', () => {
    const r = withDotenv({ text: 'TZ=UTC\n', ignored: true });
    expect(r.files.map((f) => f.path)).toEqual(['.env']);
    expect(r.output).toContain('${API_DATABASE_URL_PASSWORD:?set it in .env}');
  });
  it('never puts a password into a .env that git tracks: the whole variable moves instead', () => {
    const r = withDotenv({ text: 'TZ=UTC\n', ignored: false });
    expect(r.files.map((f) => f.path).sort()).toEqual(['.gitignore', 'secrets/api.env']);
    expect(r.output).not.toContain('DATABASE_URL');
    expect(r.changes[0].message).toContain('.env exists and git does not ignore it');
  });
  it('never overwrites a variable the .env already defines', () => {
    const r = withDotenv({ text: "API_DATABASE_URL_PASSWORD='other'\n", ignored: true });
    expect(r.files.map((f) => f.path).sort()).toEqual(['.gitignore', 'secrets/api.env']);
    expect(r.changes[0].message).toContain('.env already defines API_DATABASE_URL_PASSWORD');
  });
  it('reuses the line a previous run wrote', () => {
    const r = withDotenv({ text: "API_DATABASE_URL_PASSWORD='p4$word'\n", ignored: true });
    expect(r.output).toContain('${API_DATABASE_URL_PASSWORD:?set it in .env}');
  });
});

describe('.env variables never collide', () => {
  it('services whose names normalize alike get their own variable, and both values survive', () => {
    const text = `services:
  my-app:
    image: a:1
    environment:
      DATABASE_URL: postgres://a:first-pw@db/a
  my_app:
    image: a:1
    environment:
      DATABASE_URL: postgres://a:second-pw@db/a
`;
    const r = hardenText(text, only('secrets-from-env'), { file: 'compose.yaml' });
    const dotenv = r.files.find((f) => f.path === '.env')!;
    const vars = Object.fromEntries(dotenv.content.trim().split('\n').map(readEnvLine));
    expect(vars).toEqual({ MY_APP_DATABASE_URL_PASSWORD: 'first-pw', MY_APP_DATABASE_URL_PASSWORD_2: 'second-pw' });
    const services = parse(r.output).services;
    expect(services['my-app'].environment.DATABASE_URL).toContain('${MY_APP_DATABASE_URL_PASSWORD:?');
    expect(services.my_app.environment.DATABASE_URL).toContain('${MY_APP_DATABASE_URL_PASSWORD_2:?');
  });
});
