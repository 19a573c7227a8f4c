import { chmodSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { combine } from './engine/index.js';
import type { GeneratedDoc, SideFile } from './engine/index.js';
import { makeFolders, writeAtomic } from './write.js';
import { readGenerated, targetProblem, UnsafeFileError } from './safe-fs.js';
import { gitState } from './git.js';

import { REDACTED } from './redact.js';

export { REDACTED };

/** `text` with every secret value replaced by <redacted> (longest values first). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) if (s) out = out.split(s).join(REDACTED);
  return out;
}

/** Generated documents as a YAML stream, each starting with `---`. */
export function renderDocs(docs: readonly GeneratedDoc[]): string {
  return docs.map((d) => `---\n${stringify(d.object, { lineWidth: 0 })}`).join('');
}

/** The stream of `output` followed by generated documents (input order kept, new ones last). */
export function withDocs(output: string, docs: readonly GeneratedDoc[]): string {
  if (docs.length === 0) return output;
  return (output === '' || output.endsWith('\n') ? output : output + '\n') + renderDocs(docs);
}

/** What a sidecar file holds after adding `docs` to whatever it holds already. */
export function sidecarContent(existing: string | undefined, docs: readonly GeneratedDoc[]): string {
  const keep: unknown[] = [];
  const keys = new Set(docs.map((d) => d.key));
  for (const doc of existing ? parseAllDocuments(existing) : []) {
    const obj = doc.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
    if (!obj) continue;
    const key = `${obj.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    if (!keys.has(key)) keep.push(obj);
  }
  return [...keep.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`), renderDocs(docs)].join('');
}

/** What a side file holds after merging into `existing` (the file's current text, if any). */
export function mergedContent(existing: string | undefined, file: SideFile): string {
  if (existing === undefined || file.merge === 'replace') return file.content;
  return combine(existing, file.content, file.merge);
}

/** What the side file `file` of `folder` holds after merging into its current content. */
export function sideFileContent(folder: string, file: SideFile): string {
  return mergedContent(readGenerated(folder, file.path), file);
}

const isGitignore = (path: string) => path === '.gitignore' || path.endsWith('/.gitignore');

/**
 * Why the generated files of one input cannot be written below `folder` (checked before
 * anything is written, and before a diff reads them): a path that cannot exist or leads
 * through a symlink, a target that is not a regular file, or a secret file git tracks.
 */
export function generatedProblem(folder: string, files: readonly SideFile[], docs: readonly GeneratedDoc[]): string | undefined {
  const targets = [...files.map((f) => ({ path: f.path, secret: f.secret })), ...docs.map((d) => ({ path: d.file, secret: d.secret }))];
  for (const t of targets) {
    const problem = targetProblem(folder, t.path);
    if (problem) return problem;
    try {
      readGenerated(folder, t.path); // merged with what it holds: bytes that are not UTF-8 are refused
    } catch (e) {
      if (e instanceof UnsafeFileError) return `${e.message} (line ${e.line}, column ${e.col})`;
      throw e;
    }
  }
  for (const t of targets) {
    if (!t.secret) continue;
    if (gitState(folder, t.path)?.tracked) return `${t.path} would receive a secret, but git tracks it (it is committed)`;
  }
  return undefined;
}

/**
 * Writes side files and sidecar documents under `folder` (before the manifest itself): the
 * .gitignore rules first, then, once git confirms it ignores them, the files that hold secrets.
 * Each file is merged with its content at the time of writing, under its lock.
 */
export function writeGenerated(folder: string, files: readonly SideFile[], docs: readonly GeneratedDoc[]): void {
  const ordered = [...files.filter((f) => isGitignore(f.path)), ...files.filter((f) => !isGitignore(f.path))];
  const ignoreWritten = ordered.some((f) => isGitignore(f.path));
  const secrets = [...files.filter((f) => f.secret).map((f) => f.path), ...docs.filter((d) => d.secret).map((d) => d.file)];
  let checked = false;
  for (const file of ordered) {
    const problem = targetProblem(folder, file.path);
    if (problem) throw new UnsafeFileError(problem);
    if (file.secret && !checked) {
      checked = true;
      if (ignoreWritten) confirmIgnored(folder, secrets);
    }
    const path = join(folder, file.path);
    const dir = dirname(path);
    makeFolders(dir, file.dirMode ?? 0o755);
    if (file.dirMode !== undefined && file.secret && dir !== folder) {
      // A folder that already exists (a `secrets/` of the project's own) loses the group and
      // other bits its mode for new folders would not grant: a 0444 secret file is only
      // private inside a folder other users cannot enter.
      const mode = statSync(dir).mode & 0o7777;
      const tightened = mode & ~(0o077 & ~file.dirMode);
      if (tightened !== mode) chmodSync(dir, tightened);
    }
    // A file that gains a secret loses the group/other bits its new-file mode would not grant
    // (a committed 0644 .env becomes 0600), before the secret is written into it.
    writeAtomic(path, (current) => mergedContent(current, file), { follow: false, newMode: file.mode, clearBits: file.secret ? ~file.mode & 0o077 : 0 });
  }
  if (!checked && ignoreWritten) confirmIgnored(folder, secrets);
  const bySidecar = new Map<string, GeneratedDoc[]>();
  for (const d of docs) bySidecar.set(d.file, [...(bySidecar.get(d.file) ?? []), d]);
  for (const [file, group] of bySidecar) {
    const problem = targetProblem(folder, file);
    if (problem) throw new UnsafeFileError(problem);
    const secret = group.some((d) => d.secret);
    writeAtomic(join(folder, file), (current) => sidecarContent(current, group), { follow: false, newMode: secret ? 0o600 : 0o644, clearBits: secret ? 0o077 : 0 });
  }
}

/** Inside a git repository, every file in `paths` must now be ignored (and not tracked); else nothing more is written. */
function confirmIgnored(folder: string, paths: readonly string[]): void {
  for (const path of paths) {
    const git = gitState(folder, path);
    if (git && (git.tracked || !git.ignored)) {
      throw new UnsafeFileError(`${path} would receive a secret, but git ${git.tracked ? 'tracks it' : 'does not ignore it even with the rule cuirass wrote (a later rule re-includes it?)'}; it is not written`);
    }
  }
}
