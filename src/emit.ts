import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { combine } from './engine/index.js';
import type { GeneratedDoc, SideFile } from './engine/index.js';
import { writeAtomic } from './write.js';

/** Placeholder printed instead of a secret value. */
export const REDACTED = '<redacted>';

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

/** What a side file holds after merging into the current content of `path`. */
export function sideFileContent(path: string, file: SideFile): string {
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (existing === undefined || file.merge === 'replace') return file.content;
  return combine(existing, file.content, file.merge);
}

/** Writes side files and sidecar documents under `folder` (before the manifest itself). */
export function writeGenerated(folder: string, files: readonly SideFile[], docs: readonly GeneratedDoc[]): void {
  for (const file of files) {
    const path = join(folder, file.path);
    const dir = dirname(path);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: file.dirMode ?? 0o755 });
      if (file.dirMode !== undefined) chmodSync(dir, file.dirMode);
    } else if (file.dirMode !== undefined && file.secret && dir !== folder) {
      // A folder that already exists (a `secrets/` of the project's own) loses the group and
      // other bits its mode for new folders would not grant: a 0444 secret file is only
      // private inside a folder other users cannot enter.
      const mode = statSync(dir).mode & 0o7777;
      const tightened = mode & ~(0o077 & ~file.dirMode);
      if (tightened !== mode) chmodSync(dir, tightened);
    }
    // A file that gains a secret loses the group/other bits its new-file mode would not grant
    // (a committed 0644 .env becomes 0600), before the secret is written into it.
    writeAtomic(path, sideFileContent(path, file), undefined, file.mode, file.secret ? ~file.mode & 0o077 : 0);
  }
  const bySidecar = new Map<string, GeneratedDoc[]>();
  for (const d of docs) bySidecar.set(d.file, [...(bySidecar.get(d.file) ?? []), d]);
  for (const [file, group] of bySidecar) {
    const path = join(folder, file);
    const existing = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    const secret = group.some((d) => d.secret);
    writeAtomic(path, sidecarContent(existing, group), undefined, secret ? 0o600 : 0o644, secret ? 0o077 : 0);
  }
}
