// Deterministic benchmark inputs for cuirass (see bench/README.md).
//
// Everything here is a pure function of (count, seed) except writeBenchInputs, which writes the
// generated files under a scratch folder (by default os.tmpdir()/cuirass-bench, never the repo).
// Only Node built-ins are used.
//
//   import { generateK8sDocs, generateCompose, writeBenchInputs } from './generate.mjs';
//   node bench/generate.mjs [--seed N] [--sizes 1000,10000,50000] [--out DIR]

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_SEED = 20240611;
export const DEFAULT_SIZES = [1000, 10000, 50000];
export const DOCS_PER_FILE = 100;
export const COMPOSE_SERVICES = 1000;
export const BENCH_ROOT = join(tmpdir(), 'cuirass-bench');

/** mulberry32: a small, fast, seedable PRNG. Returns helpers bound to one stream. */
export function makeRng(seed = DEFAULT_SEED) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    weighted(entries) {
      const total = entries.reduce((s, [, w]) => s + w, 0);
      let r = next() * total;
      for (const [v, w] of entries) if ((r -= w) < 0) return v;
      return entries[entries.length - 1][0];
    },
  };
}

const KIND_WEIGHTS = [
  ['Deployment', 25],
  ['Service', 18],
  ['ConfigMap', 14],
  ['StatefulSet', 10],
  ['Pod', 10],
  ['CronJob', 8],
  ['Job', 8],
  ['DaemonSet', 7],
];

const IMAGES = [
  'nginx:1.25.3',
  'nginx:latest',
  'postgres:16.2',
  'redis:7.2-alpine',
  'node:20-bookworm-slim',
  'python:3.12-slim',
  'busybox',
  'ghcr.io/acme/api:v2.14.1',
  'registry.example.com/team/worker@sha256:4c7e1f0a9b3d2e6f8a1c5b7d9e0f2a4c6b8d0e2f4a6c8e0a2c4e6a8c0e2a4c6e',
  'quay.io/prometheus/node-exporter:v1.7.0',
  'docker.io/library/alpine:3.19',
];

const NAMESPACES = Array.from({ length: 16 }, (_, i) => `team-${String(i).padStart(2, '0')}`);
const SHORT = { Deployment: 'deploy', StatefulSet: 'sts', DaemonSet: 'ds', CronJob: 'cron', Job: 'job', Pod: 'pod', Service: 'svc', ConfigMap: 'cm' };
const API = { Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1', CronJob: 'batch/v1', Job: 'batch/v1', Pod: 'v1', Service: 'v1', ConfigMap: 'v1' };

/** Writes YAML lines with a per-document indentation unit and sequence style. */
class Out {
  constructor(unit, indentSeq) {
    this.unit = unit; // 2 or 4
    this.indentSeq = indentSeq; // `key:\n  - item` (true) or `key:\n- item` (kubectl style, false)
    this.lines = [];
  }
  pad(level) {
    return ' '.repeat(level * this.unit);
  }
  line(level, text) {
    this.lines.push(this.pad(level) + text);
  }
  /** The level of `- ` items under a key at `level`. */
  seq(level) {
    return this.indentSeq ? level + 1 : level;
  }
  /** Starts a sequence item: `- first`, the rest of the item goes at item(level). */
  item(level, first) {
    this.lines.push(this.pad(level) + '- ' + first);
  }
  /** Indentation of the remaining keys of an item that began with item(level, ...). */
  itemRest(level) {
    return ' '.repeat(level * this.unit + 2);
  }
  raw(text) {
    this.lines.push(text);
  }
  text() {
    return this.lines.join('\n') + '\n';
  }
}

const q = (rng, s) => rng.weighted([[s, 6], [`"${s}"`, 3], [`'${s}'`, 1]]);

function metadata(o, rng, kind, name, ns, app) {
  o.line(0, 'metadata:');
  o.line(1, `name: ${q(rng, name)}`);
  o.line(1, `namespace: ${ns}`);
  o.line(1, 'labels:');
  o.line(2, `app: ${q(rng, app)}`);
  if (rng.chance(0.5)) o.line(2, `app.kubernetes.io/part-of: "shop"`);
  if (rng.chance(0.3)) o.line(2, `tier: ${rng.pick(['frontend', 'backend', 'batch', 'cache'])}`);
  if (rng.chance(0.25)) {
    o.line(1, 'annotations:');
    o.line(2, `description: "${kind} ${name}: generated for the cuirass benchmark"`);
    if (rng.chance(0.3)) o.line(2, `prometheus.io/scrape: "true"`);
  }
}

/** A container; securityContext ranges from absent to fully hardened, with some weak values. */
function container(o, rng, level, name, opts = {}) {
  const r = o.itemRest(level); // prefix for the item's other keys
  const sub = (n, t) => o.raw(r + ' '.repeat(n * o.unit) + t);
  o.item(level, `name: ${name}`);
  const image = opts.image ?? rng.pick(IMAGES);
  o.raw(`${r}image: ${rng.chance(0.4) ? `"${image}"` : image}`);
  if (rng.chance(0.3)) o.raw(`${r}imagePullPolicy: IfNotPresent`);
  if (opts.command) o.raw(`${r}command: ["/bin/sh", "-c", "echo run && sleep 5"]`);
  if (rng.chance(0.6)) {
    o.raw(`${r}ports:`);
    const s = o.indentSeq ? 1 : 0;
    sub(s, `- containerPort: ${rng.pick([80, 8080, 8443, 9090, 5432, 6379])}`);
    sub(s, `  name: ${rng.pick(['http', 'metrics', 'grpc'])}`);
    if (rng.chance(0.4)) sub(s, '  protocol: TCP');
  }
  if (rng.chance(0.55)) {
    o.raw(`${r}env:`);
    const s = o.indentSeq ? 1 : 0;
    const n = rng.int(1, 4);
    for (let i = 0; i < n; i++) {
      const kind = rng.weighted([['plain', 6], ['quoted', 3], ['ref', 2], ['secret', 0.4]]);
      if (kind === 'ref') {
        sub(s, `- name: CONFIG_${i}`);
        sub(s, '  valueFrom:');
        sub(s + 1, '  configMapKeyRef:');
        sub(s + 2, `  name: settings`);
        sub(s + 2, `  key: key-${i}`);
      } else if (kind === 'secret') {
        // A literal credential: secrets-from-env moves it into a generated Secret.
        sub(s, `- name: DB_PASSWORD`);
        sub(s, `  value: "s3cr3t-${rng.int(1000, 9999)}"`);
      } else {
        sub(s, `- name: LOG_LEVEL_${i}`);
        sub(s, `  value: ${kind === 'quoted' ? '"info"' : rng.pick(['info', 'debug', '"42"', "'true'"])}`);
      }
    }
  }
  if (rng.chance(0.4)) {
    o.raw(`${r}resources:`);
    sub(1, 'requests:');
    sub(2, `cpu: ${rng.pick(['100m', '250m', '"500m"'])}`);
    sub(2, `memory: ${rng.pick(['64Mi', '128Mi', '256Mi'])}`);
    if (rng.chance(0.5)) {
      sub(1, 'limits:');
      sub(2, `memory: ${rng.pick(['256Mi', '512Mi', '1Gi'])}`);
    }
  }
  if (opts.volumes && rng.chance(0.7)) {
    o.raw(`${r}volumeMounts:`);
    const s = o.indentSeq ? 1 : 0;
    sub(s, '- name: config');
    sub(s, '  mountPath: /etc/app');
    sub(s, '  readOnly: true');
    if (rng.chance(0.5)) {
      sub(s, '- name: scratch');
      sub(s, '  mountPath: /tmp');
    }
  }
  const sc = rng.weighted([['none', 45], ['partial', 25], ['flow', 8], ['weak', 12], ['full', 10]]);
  if (sc === 'partial') {
    o.raw(`${r}securityContext:`);
    sub(1, 'allowPrivilegeEscalation: false');
    if (rng.chance(0.5)) sub(1, 'readOnlyRootFilesystem: true');
  } else if (sc === 'flow') {
    o.raw(`${r}securityContext:`);
    sub(1, 'capabilities: {drop: [NET_RAW]}');
  } else if (sc === 'weak') {
    o.raw(`${r}securityContext:  # legacy, needs review`);
    sub(1, 'privileged: true');
    sub(1, 'runAsUser: 0');
    if (rng.chance(0.5)) {
      sub(1, 'capabilities:');
      sub(2, 'add:');
      sub(o.indentSeq ? 3 : 2, '- NET_ADMIN');
      sub(o.indentSeq ? 3 : 2, '- SYS_TIME');
    }
  } else if (sc === 'full') {
    o.raw(`${r}securityContext:`);
    sub(1, 'allowPrivilegeEscalation: false');
    sub(1, 'readOnlyRootFilesystem: true');
    sub(1, 'capabilities:');
    sub(2, 'drop:');
    sub(o.indentSeq ? 3 : 2, '- ALL');
  }
}

/** A pod spec at `level` (the level of its keys). */
function podSpec(o, rng, level, app, opts = {}) {
  if (rng.chance(0.2)) o.line(level, `serviceAccountName: ${app}`);
  if (opts.restartPolicy) o.line(level, `restartPolicy: ${opts.restartPolicy}`);
  if (rng.chance(0.05)) o.line(level, 'hostNetwork: true');
  const psc = rng.weighted([['none', 55], ['partial', 30], ['weak', 5], ['full', 10]]);
  if (psc === 'partial') {
    o.line(level, 'securityContext:');
    o.line(level + 1, 'runAsNonRoot: true');
    if (rng.chance(0.4)) o.line(level + 1, `fsGroup: ${rng.pick([2000, 10001])}`);
  } else if (psc === 'weak') {
    o.line(level, 'securityContext:');
    o.line(level + 1, 'runAsNonRoot: false');
  } else if (psc === 'full') {
    o.line(level, 'securityContext:');
    o.line(level + 1, 'runAsNonRoot: true');
    o.line(level + 1, 'runAsUser: 10001');
    o.line(level + 1, 'runAsGroup: 10001');
    o.line(level + 1, 'fsGroup: 10001');
    o.line(level + 1, 'seccompProfile:');
    o.line(level + 2, 'type: RuntimeDefault');
  }
  const volumes = rng.chance(0.3);
  if (rng.chance(0.15)) {
    o.line(level, 'initContainers:');
    container(o, rng, o.seq(level), 'init', { image: 'busybox:1.36', command: true, volumes });
  }
  o.line(level, 'containers:');
  const n = rng.weighted([[1, 8], [2, 2]]);
  for (let i = 0; i < n; i++) {
    if (i > 0 && rng.chance(0.5)) o.raw(`${o.pad(o.seq(level))}# sidecar`);
    container(o, rng, o.seq(level), i === 0 ? app : 'sidecar', { command: opts.command, volumes });
  }
  if (volumes) {
    o.line(level, 'volumes:');
    const s = o.seq(level);
    o.item(s, 'name: config');
    o.raw(`${o.itemRest(s)}configMap:`);
    o.raw(`${o.itemRest(s)}${o.pad(1)}name: ${app}-config`);
    o.item(s, 'name: scratch');
    o.raw(`${o.itemRest(s)}emptyDir: {}`);
  }
}

function template(o, rng, level, app, opts) {
  o.line(level, 'template:');
  o.line(level + 1, 'metadata:');
  o.line(level + 2, 'labels:');
  o.line(level + 3, `app: ${app}`);
  o.line(level + 1, 'spec:');
  podSpec(o, rng, level + 2, app, opts);
}

function selector(o, level, app) {
  o.line(level, 'selector:');
  o.line(level + 1, 'matchLabels:');
  o.line(level + 2, `app: ${app}`);
}

/** One Kubernetes document (text without a leading `---`), index i, kind chosen by the rng. */
export function generateK8sDoc(rng, i) {
  const kind = rng.weighted(KIND_WEIGHTS);
  const o = new Out(rng.chance(0.25) ? 4 : 2, rng.chance(0.5));
  const ns = rng.pick(NAMESPACES);
  const app = `app-${String(i % 2000).padStart(4, '0')}`;
  const name = `${SHORT[kind]}-${String(i).padStart(6, '0')}`;
  if (rng.chance(0.3)) o.raw(`# Source: shop/templates/${SHORT[kind]}.yaml`);
  if (rng.chance(0.1)) o.raw(`# ${kind} ${name}, owned by ${ns}`);
  o.raw(`apiVersion: ${API[kind]}`);
  o.raw(`kind: ${kind}`);
  metadata(o, rng, kind, name, ns, app);
  switch (kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
      o.line(0, 'spec:');
      if (kind !== 'DaemonSet') o.line(1, `replicas: ${rng.int(1, 5)}`);
      if (kind === 'StatefulSet') o.line(1, `serviceName: ${app}`);
      selector(o, 1, app);
      if (rng.chance(0.2)) o.line(1, '# pod template');
      template(o, rng, 1, app, {});
      break;
    case 'Job':
      o.line(0, 'spec:');
      o.line(1, `backoffLimit: ${rng.int(0, 6)}`);
      template(o, rng, 1, app, { restartPolicy: 'OnFailure', command: true });
      break;
    case 'CronJob':
      o.line(0, 'spec:');
      o.line(1, `schedule: "${rng.pick(['*/5 * * * *', '0 3 * * *', '@hourly'])}"`);
      o.line(1, 'concurrencyPolicy: Forbid');
      o.line(1, 'jobTemplate:');
      o.line(2, 'spec:');
      template(o, rng, 3, app, { restartPolicy: 'Never', command: true });
      break;
    case 'Pod':
      o.line(0, 'spec:');
      podSpec(o, rng, 1, app, { restartPolicy: rng.pick(['Always', 'Never']) });
      break;
    case 'Service':
      o.line(0, 'spec:');
      o.line(1, `type: ${rng.pick(['ClusterIP', 'ClusterIP', 'NodePort'])}`);
      o.line(1, 'selector:');
      o.line(2, `app: ${app}`);
      o.line(1, 'ports:');
      o.item(o.seq(1), `name: http`);
      o.raw(`${o.itemRest(o.seq(1))}port: 80`);
      o.raw(`${o.itemRest(o.seq(1))}targetPort: ${rng.chance(0.5) ? 8080 : '"http"'}`);
      break;
    case 'ConfigMap':
      o.line(0, 'data:');
      o.line(1, `LOG_LEVEL: ${q(rng, 'info')}`);
      o.line(1, `FEATURE_FLAGS: "a,b,c"`);
      o.line(1, 'app.properties: |');
      for (let k = 0; k < rng.int(2, 6); k++) o.line(2, `key.${k}=value-${k} # not a comment`);
      break;
  }
  return o.text();
}

/** `count` documents (strings), deterministic for a seed. */
export function generateK8sDocs(count, seed = DEFAULT_SEED) {
  const rng = makeRng(seed);
  const docs = [];
  for (let i = 0; i < count; i++) docs.push(generateK8sDoc(rng, i));
  return docs;
}

/** Documents joined as one multi-document stream (leading `---` on every document). */
export function k8sStream(docs) {
  return docs.map((d) => `---\n${d}`).join('');
}

/** The documents split in files of `perFile` documents: [{ name, text }]. */
export function splitFiles(docs, perFile = DOCS_PER_FILE) {
  const files = [];
  for (let i = 0; i < docs.length; i += perFile) {
    files.push({ name: `part-${String(i / perFile).padStart(4, '0')}.yaml`, text: k8sStream(docs.slice(i, i + perFile)) });
  }
  return files;
}

/** Pod securityContext that the kustomize peer run sets on every Deployment/StatefulSet/DaemonSet. */
export const PEER_SECURITY_CONTEXT = { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } };

/** kustomization.yaml: the files as resources plus one `patches:` entry per workload kind. */
export function kustomization(resourcePaths) {
  const sc = JSON.stringify(PEER_SECURITY_CONTEXT);
  const lines = ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', 'resources:'];
  for (const p of resourcePaths) lines.push(`- ${p}`);
  lines.push('patches:');
  for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet']) {
    lines.push(`- target:`, `    kind: ${kind}`, `  patch: |-`, `    - op: add`, `      path: /spec/template/spec/securityContext`, `      value: ${sc}`);
  }
  return lines.join('\n') + '\n';
}

export const MAX_COMPOSE_MERGES = 90;

/** A Compose file with `count` services: anchors and merge keys, env as list and map, depends_on. */
export function generateCompose(count = COMPOSE_SERVICES, seed = DEFAULT_SEED) {
  const rng = makeRng(seed ^ 0x5eed);
  const L = [
    '# Generated for the cuirass benchmark',
    'x-common: &common',
    '  restart: unless-stopped',
    '  logging:',
    '    driver: "json-file"',
    '',
    'services:',
  ];
  let merges = 0;
  for (let i = 0; i < count; i++) {
    const name = `svc-${String(i).padStart(4, '0')}`;
    if (rng.chance(0.1)) L.push(`  # ${name}: ${rng.pick(['frontend', 'api', 'worker'])}`);
    L.push(`  ${name}:`);
    // At most MAX_COMPOSE_MERGES merge keys: cuirass's alias limit (100, the yaml default)
    // rejects a file with 100 or more alias uses as an alias bomb (see bench/README.md).
    if (merges < MAX_COMPOSE_MERGES && rng.chance(0.4)) {
      L.push('    <<: *common');
      merges++;
    }
    const image = rng.pick(IMAGES);
    L.push(`    image: ${rng.chance(0.3) ? `"${image}"` : image}`);
    if (rng.chance(0.5)) L.push('    ports:', `      - "${8000 + (i % 1000)}:${rng.pick([80, 8080])}"`);
    const env = rng.weighted([['none', 3], ['list', 3], ['map', 3], ['secret', 0.3]]);
    if (env === 'list') L.push('    environment:', '      - LOG_LEVEL=info', `      - WORKERS=${rng.int(1, 8)}`);
    else if (env === 'map') L.push('    environment:', '      LOG_LEVEL: "info"', '      REGION: ${REGION:-eu-west-1}');
    else if (env === 'secret') L.push('    environment:', `      API_TOKEN: "tok-${rng.int(10000, 99999)}"`);
    if (i > 0 && rng.chance(0.4)) {
      L.push('    depends_on:');
      const deps = new Set([rng.int(Math.max(0, i - 20), i - 1), rng.int(Math.max(0, i - 20), i - 1)]);
      for (const d of deps) L.push(`      - svc-${String(d).padStart(4, '0')}`);
    }
    if (rng.chance(0.2)) L.push('    volumes:', `      - ./data/${name}:/var/lib/app`);
    const sc = rng.weighted([['none', 6], ['partial', 2], ['weak', 1], ['full', 1]]);
    if (sc === 'partial') L.push('    security_opt:', '      - "no-new-privileges:true"');
    else if (sc === 'weak') L.push('    privileged: true', '    user: root');
    else if (sc === 'full') L.push('    user: "10001:10001"', '    read_only: true', '    cap_drop: [ALL]', '    security_opt: ["no-new-privileges:true"]');
  }
  return L.join('\n') + '\n';
}

/** A single small manifest for the cold-start measurement. */
export function smallManifest() {
  return generateK8sDocs(40, DEFAULT_SEED).find((d) => d.includes('kind: Deployment'));
}

/**
 * Writes every input under `root` (default os.tmpdir()/cuirass-bench) and returns their paths.
 * Per size: <root>/k8s-<label>/stream.yaml (one stream), files/part-NNNN.yaml (100 docs each)
 * and kustomization.yaml (resources files/part-*.yaml plus the securityContext patches).
 * Also <root>/compose-1k/files/compose.yaml and <root>/small/files/deployment.yaml.
 */
export function writeBenchInputs({ root = BENCH_ROOT, sizes = DEFAULT_SIZES, seed = DEFAULT_SEED, composeServices = COMPOSE_SERVICES } = {}) {
  mkdirSync(root, { recursive: true });
  const inputs = { root, seed, k8s: [] };
  const all = generateK8sDocs(Math.max(...sizes), seed); // smaller sizes are prefixes of the largest
  for (const size of [...sizes].sort((a, b) => a - b)) {
    const label = size >= 1000 && size % 1000 === 0 ? `${size / 1000}k` : String(size);
    const dir = join(root, `k8s-${label}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'files'), { recursive: true });
    const docs = all.slice(0, size);
    const stream = join(dir, 'stream.yaml');
    const text = k8sStream(docs);
    writeFileSync(stream, text);
    const files = splitFiles(docs);
    const kdir = dir;
    for (const f of files) writeFileSync(join(dir, 'files', f.name), f.text);
    writeFileSync(join(kdir, 'kustomization.yaml'), kustomization(files.map((f) => `files/${f.name}`)));
    const kinds = {};
    for (const d of docs) {
      const k = /^kind: (\w+)$/m.exec(d)[1];
      kinds[k] = (kinds[k] ?? 0) + 1;
    }
    inputs.k8s.push({ docs: size, label, dir, stream, filesDir: join(dir, 'files'), fileCount: files.length, kustomizeDir: kdir, bytes: Buffer.byteLength(text), kinds });
  }
  const cdir = join(root, 'compose-1k');
  rmSync(cdir, { recursive: true, force: true });
  mkdirSync(join(cdir, 'files'), { recursive: true });
  const compose = generateCompose(composeServices, seed);
  const cfile = join(cdir, 'files', 'compose.yaml');
  writeFileSync(cfile, compose);
  inputs.compose = { services: composeServices, label: `compose-${composeServices >= 1000 ? `${composeServices / 1000}k` : composeServices}`, dir: cdir, filesDir: join(cdir, 'files'), file: cfile, bytes: Buffer.byteLength(compose) };
  const sdir = join(root, 'small');
  rmSync(sdir, { recursive: true, force: true });
  mkdirSync(join(sdir, 'files'), { recursive: true });
  writeFileSync(join(sdir, 'files', 'deployment.yaml'), smallManifest());
  inputs.small = { dir: sdir, filesDir: join(sdir, 'files'), file: join(sdir, 'files', 'deployment.yaml') };
  return inputs;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const val = (flag, dflt) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : dflt);
  const inputs = writeBenchInputs({
    root: val('--out', BENCH_ROOT),
    seed: Number(val('--seed', DEFAULT_SEED)),
    sizes: val('--sizes', DEFAULT_SIZES.join(',')).split(',').map(Number),
  });
  console.log(JSON.stringify(inputs, null, 2));
}
