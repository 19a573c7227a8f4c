import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { hardenText } from '../src/harden.js';
import type { HardenOptions } from '../src/harden.js';
import { processText } from '../src/run.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { TRANSFORMS } from '../transforms/index.js';
import { checkPodSecurity } from './support/pss.js';
import { CORPUS } from './support/run-cli.js';

const SEED = 20261128;
const OPTIONS: HardenOptions = { transforms: TRANSFORMS, level: 'restricted', settings: DEFAULT_SETTINGS, hasFolder: true };

// ---- generators ------------------------------------------------------------------------

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const image = fc.constantFrom('nginx:1.27', 'postgres:16-alpine', 'redis', 'example/app:1.0', 'example/api:latest', 'busybox@sha256:' + 'a'.repeat(64));
const securityContext = fc.record(
  {
    privileged: fc.boolean(),
    runAsUser: fc.constantFrom(0, 1000, 65534),
    runAsNonRoot: fc.boolean(),
    allowPrivilegeEscalation: fc.boolean(),
    readOnlyRootFilesystem: fc.boolean(),
    capabilities: fc.record({ add: fc.subarray(['NET_ADMIN', 'SYS_ADMIN', 'NET_BIND_SERVICE', 'CHOWN']), drop: fc.subarray(['ALL', 'NET_RAW']) }, { requiredKeys: [] }),
    seccompProfile: fc.record({ type: fc.constantFrom('RuntimeDefault', 'Unconfined') }),
  },
  { requiredKeys: [] },
);
const env = fc.array(
  fc.oneof(
    fc.record({ name: fc.constantFrom('LOG_LEVEL', 'PORT', 'MODE'), value: fc.constantFrom('info', '8080', 'fast') }),
    fc.record({ name: fc.constantFrom('DB_PASSWORD', 'API_TOKEN'), value: fc.stringMatching(/^[A-Za-z0-9_-]{8,16}$/) }),
  ),
  { maxLength: 3 },
);
const container = fc.record(
  { name, image, securityContext, env, ports: fc.array(fc.record({ containerPort: fc.integer({ min: 1, max: 65535 }), hostPort: fc.constantFrom(0, 8080) }, { requiredKeys: ['containerPort'] }), { maxLength: 2 }) },
  { requiredKeys: ['name', 'image'] },
);
const podSpec = fc.record(
  {
    containers: fc.array(container, { minLength: 1, maxLength: 3 }),
    initContainers: fc.array(container, { maxLength: 1 }),
    hostNetwork: fc.boolean(),
    hostPID: fc.boolean(),
    serviceAccountName: name,
    securityContext: fc.record({ runAsUser: fc.constantFrom(0, 1000), fsGroup: fc.constant(2000), runAsNonRoot: fc.boolean() }, { requiredKeys: [] }),
    nodeSelector: fc.dictionary(fc.constantFrom('disk', 'zone'), fc.constantFrom('ssd', 'a')),
  },
  { requiredKeys: ['containers'] },
);
const workload = fc.tuple(fc.constantFrom('Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'), name, podSpec).map(([kind, n, spec]) => {
  const labels = { app: n };
  const template = { metadata: { labels }, spec };
  const wrap: Record<string, unknown> = {
    Pod: { apiVersion: 'v1', kind, metadata: { name: n, labels }, spec },
    Deployment: { apiVersion: 'apps/v1', kind, metadata: { name: n }, spec: { replicas: 2, selector: { matchLabels: labels }, template } },
    StatefulSet: { apiVersion: 'apps/v1', kind, metadata: { name: n }, spec: { serviceName: n, selector: { matchLabels: labels }, template } },
    DaemonSet: { apiVersion: 'apps/v1', kind, metadata: { name: n }, spec: { selector: { matchLabels: labels }, template } },
    Job: { apiVersion: 'batch/v1', kind, metadata: { name: n }, spec: { template } },
    CronJob: { apiVersion: 'batch/v1', kind, metadata: { name: n }, spec: { schedule: '@daily', jobTemplate: { spec: { template } } } },
  };
  return wrap[kind] as Record<string, unknown>;
});
const other = name.map((n) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n }, data: { key: 'value: not yaml', n } }));
const style = fc.record({ indent: fc.constantFrom(2, 4), indentSeq: fc.boolean(), flow: fc.boolean(), comments: fc.array(fc.nat(400), { maxLength: 6 }) });

/** A multi-document text in a random style, with comment lines sprinkled between lines. */
function render(docs: Record<string, unknown>[], s: { indent: number; indentSeq: boolean; flow: boolean; comments: number[] }): string {
  const text = docs
    .map((d) => stringify(d, { indent: s.indent, indentSeq: s.indentSeq, lineWidth: 0, collectionStyle: s.flow ? 'any' : 'block', flowCollectionPadding: s.flow }))
    .map((t) => `---\n${t}`)
    .join('');
  const lines = text.split('\n');
  for (const at of s.comments) {
    const i = at % lines.length;
    const indent = /^\s*/.exec(lines[i] ?? '')?.[0] ?? '';
    if (lines[i] === '' || lines[i].trim().startsWith('-') === false) lines.splice(i, 0, `${indent.replace(/-/g, ' ')}# note ${at}`);
  }
  return lines.join('\n');
}

/** Keys cuirass may change; everything else must come out deep-equal. */
const OWNED = new Set(['securityContext', 'resources', 'volumes', 'volumeMounts', 'automountServiceAccountToken', 'hostNetwork', 'hostPID', 'hostIPC', 'hostPort', 'env', 'value', 'valueFrom', 'labels', 'annotations']);

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).filter(([k]) => !OWNED.has(k)).map(([k, v]) => [k, strip(v)]));
  return value;
}

function comments(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('#')).sort();
}

describe('property: random Kubernetes documents', () => {
  it('output parses, a second run is byte-identical, other fields are untouched, comments survive, restricted passes (volumes aside)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(workload, other), { minLength: 1, maxLength: 4 }), style, (docs, s) => {
        const input = render(docs, s);
        const parsedIn = parseAllDocuments(input);
        fc.pre(parsedIn.every((d) => d.errors.length === 0));
        const r = hardenText(input, OPTIONS, { file: 'gen.yaml' });
        expect(r.failure).toBeUndefined();
        expect(r.errors).toEqual([]);
        const out = parseAllDocuments(r.output);
        expect(out.every((d) => d.errors.length === 0)).toBe(true);
        expect(hardenText(r.output, OPTIONS, { file: 'gen.yaml' }).output).toBe(r.output);
        expect(out.map((d) => strip(d.toJS()))).toEqual(parsedIn.map((d) => strip(d.toJS())));
        expect(comments(r.output)).toEqual(comments(input));
        for (const d of out) {
          const v = checkPodSecurity(d.toJS(), 'restricted').filter((x) => !x.volume);
          expect(v).toEqual([]);
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});

const service = fc.record(
  {
    image,
    user: fc.constantFrom('root', '1000', '0:0'),
    privileged: fc.boolean(),
    read_only: fc.boolean(),
    cap_add: fc.subarray(['NET_ADMIN', 'SYS_PTRACE']),
    security_opt: fc.subarray(['seccomp:unconfined', 'no-new-privileges', 'label:disable']),
    environment: fc.oneof(fc.dictionary(fc.constantFrom('LOG_LEVEL', 'MODE'), fc.constantFrom('info', 'x')), fc.array(fc.constantFrom('A=1', 'B=two'), { maxLength: 2 })),
    ports: fc.array(fc.constantFrom('8080:80', '443'), { maxLength: 1 }),
    mem_limit: fc.constantFrom('256m', '1g'),
  },
  { requiredKeys: ['image'] },
);

describe('property: random Compose files', () => {
  it('output parses, is idempotent, keeps fields cuirass does not own, and every service is hardened', () => {
    const owned = new Set(['user', 'privileged', 'read_only', 'cap_add', 'cap_drop', 'security_opt', 'tmpfs', 'deploy', 'mem_limit', 'cpus', 'pids_limit', 'networks', 'environment', 'env_file', 'secrets', 'pid', 'ipc', 'volumes']);
    fc.assert(
      fc.property(fc.dictionary(name, service, { minKeys: 1, maxKeys: 4 }), fc.boolean(), (services, anchor) => {
        const doc: Record<string, unknown> = { services };
        let input = stringify(doc, { lineWidth: 0 });
        if (anchor) input = `x-common: &common\n  restart: unless-stopped\n  labels: [team=shop]\n${input.replace(/^( {2}[a-z][a-z0-9-]*:)\n/m, '$1\n    <<: *common\n')}`;
        const r = hardenText(input, OPTIONS, { file: 'compose.yaml' });
        expect(r.failure).toBeUndefined();
        const before = parseAllDocuments(input, { merge: true })[0].toJS() as { services: Record<string, Record<string, unknown>> };
        const after = parseAllDocuments(r.output, { merge: true })[0].toJS() as { services: Record<string, Record<string, unknown>> };
        expect(hardenText(r.output, OPTIONS, { file: 'compose.yaml' }).output).toBe(r.output);
        expect(Object.keys(after.services)).toEqual(Object.keys(before.services));
        for (const [n, svc] of Object.entries(after.services)) {
          const keep = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => !owned.has(k)));
          expect(keep(svc)).toEqual(keep(before.services[n]));
          expect(svc.privileged === true).toBe(false);
          expect((svc.cap_drop as string[]) ?? []).toContain('ALL');
          expect(((svc.security_opt as string[]) ?? []).some((o) => /unconfined|disable/.test(o))).toBe(false);
        }
      }),
      { seed: SEED, numRuns: 120 },
    );
  });
});

function corpusSamples(): string[] {
  const pick = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && /\.ya?ml$/.test(e.name)).map((e) => join(e.parentPath, e.name));
  const all = [...pick(join(CORPUS, 'k8s/kubernetes-examples')), ...pick(join(CORPUS, 'compose/awesome-compose'))];
  return all.filter((_, i) => i % 9 === 0).map((f) => readFileSync(f, 'utf8'));
}

describe('property: mutated corpus files never crash or hang', () => {
  const samples = corpusSamples();
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('truncate'), at: fc.nat() }),
    fc.record({ kind: fc.constant('flip'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('duplicate-key'), at: fc.nat() }),
    fc.record({ kind: fc.constant('tabs'), at: fc.nat() }),
    fc.record({ kind: fc.constant('huge-scalar'), at: fc.nat() }),
    fc.record({ kind: fc.constant('deep-nesting'), depth: fc.integer({ min: 50, max: 2000 }) }),
    fc.record({ kind: fc.constant('alias-bomb'), depth: fc.integer({ min: 5, max: 12 }) }),
  );
  function mutate(text: string, m: { kind: string; at?: number; byte?: number; depth?: number }): string {
    const at = (m.at ?? 0) % Math.max(1, text.length);
    const lines = text.split('\n');
    const line = (m.at ?? 0) % lines.length;
    switch (m.kind) {
      case 'truncate':
        return text.slice(0, at);
      case 'flip':
        return text.slice(0, at) + String.fromCharCode(m.byte ?? 0) + text.slice(at + 1);
      case 'duplicate-key':
        lines.splice(line, 0, lines[line]);
        return lines.join('\n');
      case 'tabs':
        lines[line] = lines[line].replace(/^ +/, '\t');
        return lines.join('\n');
      case 'huge-scalar':
        lines.splice(line, 0, `huge: ${'x'.repeat(200_000)}`);
        return lines.join('\n');
      case 'deep-nesting':
        return `${text}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: ${'['.repeat(m.depth ?? 10)}${']'.repeat(m.depth ?? 10)}\n`;
      default: {
        const d = m.depth ?? 8;
        let bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
        for (let i = 1; i <= d; i++) bomb += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;
        return `apiVersion: v1\nkind: Pod\nmetadata: {name: bomb}\nspec:\n  containers: [{name: c, image: x:1}]\n${bomb}`;
      }
    }
  }
  it('each mutation ends in hardened output or a positioned error, quickly', () => {
    fc.assert(
      fc.property(fc.nat(samples.length - 1), mutation, (i, m) => {
        const text = mutate(samples[i], m);
        const started = Date.now();
        const o = processText('mutated.yaml', text, OPTIONS, true);
        expect(Date.now() - started).toBeLessThan(5000);
        expect(['changed', 'unchanged', 'skipped', 'error']).toContain(o.status);
        if (o.status === 'error') {
          expect(o.line).toBeGreaterThanOrEqual(1);
          expect(o.col).toBeGreaterThanOrEqual(1);
          expect(o.output).toBe(text);
          expect(o.message).not.toMatch(/internal error/);
        } else if (o.status === 'changed') {
          expect(parseAllDocuments(o.output, { merge: true }).every((d) => d.errors.length === 0)).toBe(true);
        }
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});
