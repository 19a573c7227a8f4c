import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { IgnoreLayer, isIgnored } from './gitignore.js';
import { gitState } from './git.js';
import { kindOf, readGenerated, readRegular, UnsafeFileError } from './safe-fs.js';
import type { Stamp } from './safe-fs.js';
import type { SiblingFile } from './types.js';

/** Largest input file cuirass reads (bounded work on hostile input). */
export const MAX_FILE_BYTES = 32 * 1024 * 1024;

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const NEVER_WALKED = new Set(['node_modules', '.git']);
const COMPOSE_NAME = /^(docker-)?compose(\.[\w.-]+)?\.ya?ml$/i;
/** Dockerfiles (SPEC section 2): `Dockerfile`, `Containerfile`, `<name>.Dockerfile`. */
const DOCKERFILE_NAME = /^(Dockerfile|Containerfile|.+\.Dockerfile)$/;

/** A file found under an input path. */
export interface InputFile {
  /** Absolute path as given (may be a symlink inside the root). */
  path: string;
  /** Path shown to people: relative to the working directory. */
  display: string;
  /** The input root it was found under (a directory argument, or the file's folder). */
  root: string;
  /** Given on the command line rather than found by walking. */
  explicit: boolean;
}

/** Something the walk passed over, and why. */
export interface Notice {
  display: string;
  message: string;
}

/** Result of discovering the inputs. */
export interface Discovery {
  files: InputFile[];
  notices: Notice[];
  /** Problems that make the run exit 2 (a missing path). */
  errors: Notice[];
  /** Files passed over without a notice (not YAML or JSON). */
  otherFiles: number;
}

/**
 * Path shown to people for an absolute path: relative to the working directory, unless that
 * climbs out more than one folder (`../../x`), where the absolute path says more.
 */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return (rel && !isAbsolute(rel) && !climbsFar(rel) ? rel : path).split(sep).join('/');
}

function climbsFar(rel: string): boolean {
  return rel === `..${sep}..` || rel.startsWith(`..${sep}..${sep}`);
}

/**
 * Path shown for `path`, found under the argument `typed` (resolved to `abs`): as the user typed
 * it (normalized), or relative to the working directory when that is shorter and does not climb
 * out more than one folder.
 */
export function typedPath(typed: string, abs: string, path: string, cwd = process.cwd()): string {
  const asTyped = normalize(join(typed, relative(abs, path)));
  const rel = relative(cwd, path) || '.';
  const shown = !isAbsolute(rel) && !climbsFar(rel) && rel.length < asTyped.length ? rel : asTyped;
  return shown.split(sep).join('/');
}

/** Why a path could not be read, in words (the error code in brackets). */
export function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const words = code ? READ_FAILURES[code] : undefined;
  return words ? `${words} (${code})` : `cannot read: ${code ?? String(e)}`;
}

const READ_FAILURES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a folder in the path is a file',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
};

/** .gitignore layers of the folders above `dir`, up to the enclosing git repository (none outside one). */
function ancestorIgnoreLayers(dir: string): IgnoreLayer[] {
  const chain: string[] = [];
  let current = resolve(dir);
  while (!safeExists(join(current, '.git'))) {
    const parent = dirname(current);
    if (parent === current) return [];
    current = parent;
    chain.unshift(current);
  }
  return chain.map((d) => IgnoreLayer.read(d)).filter((l): l is IgnoreLayer => l !== undefined);
}

function safeExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the manifest candidates under `paths`: YAML and JSON files, skipping `node_modules`,
 * `.git`, git-ignored paths, symlinked folders and symlinks that leave the input root.
 */
export function discover(paths: readonly string[], cwd = process.cwd()): Discovery {
  const out: Discovery = { files: [], notices: [], errors: [], otherFiles: 0 };
  const seen = new Set<string>();
  for (const arg of paths) {
    const abs = resolve(cwd, arg);
    const shown = (path: string) => typedPath(arg, abs, path, cwd);
    let stat;
    try {
      stat = statSync(abs);
    } catch (e) {
      out.errors.push({ display: shown(abs), message: readFailure(e) });
      continue;
    }
    if (!stat.isFile() && !stat.isDirectory()) {
      out.errors.push({ display: shown(abs), message: `not a regular file (${kindOf(stat)}); cuirass reads only files and folders` });
      continue;
    }
    if (stat.isFile()) {
      if (!seen.has(abs)) out.files.push({ path: abs, display: shown(abs), root: dirname(abs), explicit: true });
      seen.add(abs);
      continue;
    }
    const rootReal = realpathSync(abs);
    const walk = (dir: string, layers: IgnoreLayer[]) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      } catch (e) {
        out.errors.push({ display: shown(dir), message: readFailure(e) });
        return;
      }
      const own = IgnoreLayer.read(dir);
      const here = own ? [...layers, own] : layers;
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (NEVER_WALKED.has(entry.name) || isIgnored(here, path, true)) continue;
          walk(path, here);
          continue;
        }
        if (isIgnored(here, path, false)) continue;
        if (entry.isSymbolicLink()) {
          let target: string;
          try {
            target = realpathSync(path);
          } catch {
            out.notices.push({ display: shown(path), message: 'skipped: broken symlink' });
            continue;
          }
          if (target !== rootReal && !target.startsWith(rootReal + sep)) {
            out.notices.push({ display: shown(path), message: 'skipped: symlink leaves the input folder' });
            continue;
          }
          if (!safeStatFile(target)) continue;
        } else if (!entry.isFile()) continue;
        if ((!MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase()) && !DOCKERFILE_NAME.test(entry.name)) || /^cuirass\.config\.ya?ml$/.test(entry.name)) {
          out.otherFiles++;
          continue;
        }
        if (seen.has(path)) continue;
        seen.add(path);
        out.files.push({ path, display: shown(path), root: abs, explicit: false });
      }
    };
    walk(abs, ancestorIgnoreLayers(abs));
  }
  return out;
}

function safeStatFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** What a file's name and content say it is. */
export type FileKind = 'kubernetes' | 'compose' | 'templated' | 'other';

/** True for file names Compose itself looks for. */
export function isComposeName(path: string): boolean {
  return COMPOSE_NAME.test(basename(path));
}

/**
 * Reads a file with the size limit; errors carry a message fit for people (and the position of
 * bytes that are not UTF-8). FIFOs and devices are refused, never waited on or read.
 */
export function readInput(path: string): { text: string; stamp: Stamp } | { error: string; line?: number; col?: number } {
  try {
    return readRegular(path, { maxBytes: MAX_FILE_BYTES });
  } catch (e) {
    if (e instanceof UnsafeFileError) return { error: e.message, line: e.line, col: e.col };
    return { error: readFailure(e) };
  }
}

/**
 * Largest stream cuirass reads on stdin: a rendered release (`helm template`, `kustomize build`)
 * joins many files, so twice a file's limit (50,000 benchmark documents are 38 MiB).
 */
export const MAX_STDIN_BYTES = 2 * MAX_FILE_BYTES;

/** Why stdin was refused. */
export const STDIN_TOO_LARGE = `stdin is larger than ${MAX_STDIN_BYTES / 1024 / 1024} MiB; split the stream, or write it to files and harden the folder`;

/**
 * Reads all of stdin up to `MAX_STDIN_BYTES`: reading stops at the first byte over it
 * (`cuirass - < /dev/zero` ends at once instead of filling memory). `decode` turns the bytes
 * into text (it may throw, e.g. `decodeUtf8` on bytes that are not UTF-8).
 */
export async function readStdin(
  stream: NodeJS.ReadableStream = process.stdin,
  decode: (bytes: Buffer) => string = (bytes) => bytes.toString('utf8'),
): Promise<{ text: string } | { error: string }> {
  // One buffer, doubled as it fills, instead of a list of chunks and their concatenation: the
  // chunks die young (and their memory is reused for the next ones), the buffer is mapped apart
  // and given back once decoded. Kept, the chunks and their copy held twice the input in memory
  // the C allocator does not return (~50 MB of RSS for the rest of a run on 24 MB of input).
  let bytes = Buffer.allocUnsafeSlow(1 << 20);
  let size = 0;
  for await (const chunk of stream) {
    const piece = chunk as Buffer;
    if (size + piece.length > MAX_STDIN_BYTES) {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      return { error: STDIN_TOO_LARGE };
    }
    if (size + piece.length > bytes.length) {
      const larger = Buffer.allocUnsafeSlow(Math.max(bytes.length * 2, size + piece.length));
      bytes.copy(larger, 0, 0, size);
      bytes = larger;
    }
    piece.copy(bytes, size);
    size += piece.length;
  }
  return { text: decode(bytes.subarray(0, size)) };
}

/** The total size of the files found (unreadable ones count as empty). */
export function inputBytes(files: readonly InputFile[]): number {
  let total = 0;
  for (const f of files) {
    try {
      total += statSync(f.path).size;
    } catch {
      // reported when it is read
    }
  }
  return total;
}

/**
 * Reads files next to an input for transforms that must know what is already there (a
 * project's `.env`): the text, and whether git would commit it (asked of git inside a
 * repository; outside one, the .gitignore files of the folder). A symlink, a FIFO or bytes that
 * are not UTF-8 are `refused`, never read.
 */
export function siblingReader(folder: string): (path: string) => SiblingFile | undefined {
  return (path) => {
    let text: string | undefined;
    try {
      text = readGenerated(folder, path);
    } catch (e) {
      if (e instanceof UnsafeFileError) return { text: '', ignored: false, refused: e.message };
      return undefined;
    }
    if (text === undefined) return undefined;
    const git = gitState(folder, path);
    if (git) return { text, ...git };
    const own = IgnoreLayer.read(folder);
    const layers = [...ancestorIgnoreLayers(folder), ...(own ? [own] : [])];
    return { text, ignored: isIgnored(layers, join(folder, path), false), tracked: false };
  };
}
