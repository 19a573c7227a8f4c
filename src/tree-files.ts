import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { readRegular } from './safe-fs.js';
import { isAbsolute, join, relative, sep } from 'node:path';

/** Largest config file read (proxy configs are small; a data file is not a config). */
const MAX_CONFIG_BYTES = 1024 * 1024;
/** Files read from one mounted folder. */
const MAX_FOLDER_FILES = 50;

/** A file a transform read inside the input's folder. */
export interface TreeFile {
  /** Path relative to the folder, as the manifest names it (`nginx/conf.d/app.conf`). */
  path: string;
  text: string;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Reads a bind-mounted config (`./nginx.conf`, or the files directly in `./conf.d`) below
 * `folder`, never outside it: a path that leaves the folder, a symlink whose target does, a
 * FIFO, device or socket, a file over 1 MiB or not UTF-8 text is not read. Read-only.
 */
export function treeFileReader(folder: string): (path: string) => TreeFile[] {
  let root: string | undefined;
  const read = new Map<string, TreeFile[]>();
  return (path) => {
    let files = read.get(path);
    if (!files) read.set(path, (files = readBelow(path)));
    return files;
  };
  function readBelow(path: string): TreeFile[] {
    if (!path || isAbsolute(path) || path.includes('\0')) return [];
    try {
      root ??= realpathSync(folder);
      const real = realpathSync(join(folder, path));
      if (!inside(root, real)) return [];
      const stat = statSync(real);
      if (stat.isFile()) return readText(real, path);
      if (!stat.isDirectory()) return [];
      const names = readdirSync(real).sort().slice(0, MAX_FOLDER_FILES);
      return names.flatMap((name) => {
        const child = join(real, name);
        // Only regular files of the folder itself: no symlinks, no subfolders.
        try {
          return lstatSync(child).isFile() ? readText(child, `${path.replace(/\/+$/, '')}/${name}`) : [];
        } catch {
          return [];
        }
      });
    } catch {
      return [];
    }
  }
}

function readText(real: string, path: string): TreeFile[] {
  // Non-blocking open, checked on the descriptor: a FIFO swapped in after the stat still cannot hang the run.
  return [{ path, text: readRegular(real, { maxBytes: MAX_CONFIG_BYTES }).text }];
}
