/**
 * What a fix creates besides edits to the file itself: files next to it (secret files, env
 * files, .gitignore lines) and whole new documents (a generated Secret or NetworkPolicy).
 */
export interface SideFile {
  /** Path relative to the folder of the input file, '/'-separated. */
  path: string;
  content: string;
  /** File mode for a new file. */
  mode: number;
  /** Mode of the folders created for it. */
  dirMode?: number;
  /** `replace` the file; merge `env` lines (NAME=…) or plain `lines` into an existing one. */
  merge: 'replace' | 'env' | 'lines';
  /** Holds secret values: shown as <redacted>, never printed. */
  secret: boolean;
}

/** A document a fix adds: appended to a stream, or written to a sidecar file. */
export interface GeneratedDoc {
  /** Identity for merging the contributions of several fixes (`Secret/ns/name`). */
  key: string;
  object: Record<string, unknown>;
  /** Sidecar file (relative to the input's folder) used with --write and --out. */
  file: string;
  /** Holds secret values. */
  secret: boolean;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isRecord(out[k]) && isRecord(v) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** Merges generated documents with the same key, keeping first-seen order. */
export function mergeDocs(docs: readonly GeneratedDoc[]): GeneratedDoc[] {
  const byKey = new Map<string, GeneratedDoc>();
  for (const d of docs) {
    const seen = byKey.get(d.key);
    byKey.set(d.key, seen ? { ...seen, object: deepMerge(seen.object, d.object), secret: seen.secret || d.secret } : d);
  }
  return [...byKey.values()];
}

/** Merges side files aimed at the same path (env and line files combine; later replaces win). */
export function mergeFiles(files: readonly SideFile[]): SideFile[] {
  const byPath = new Map<string, SideFile>();
  for (const f of files) {
    const seen = byPath.get(f.path);
    if (!seen || f.merge === 'replace') byPath.set(f.path, f);
    else byPath.set(f.path, { ...seen, content: combine(seen.content, f.content, f.merge), secret: seen.secret || f.secret });
  }
  return [...byPath.values()];
}

/** `existing` with the lines of `addition` merged in: env lines by name, other lines once. */
export function combine(existing: string, addition: string, merge: 'env' | 'lines'): string {
  const lines = existing.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1));
  for (const line of addition.split('\n').filter(Boolean)) {
    if (merge === 'env') {
      const name = line.split('=')[0];
      const at = lines.findIndex((l) => l.split('=')[0] === name);
      if (at >= 0) lines[at] = line;
      else lines.push(line);
    } else if (!lines.includes(line)) lines.push(line);
  }
  return lines.join('\n') + '\n';
}

/**
 * The .gitignore rule that matches exactly the file `rel` ('/'-separated) of the .gitignore's
 * folder: anchored with `/`, and every character git would read as a pattern (`[ ] * ? ! \`,
 * a leading `#`, trailing spaces) escaped. `folder: true` matches a folder and all below it.
 */
export function ignoreRule(rel: string, folder = false): string {
  const escaped = rel.replace(/[[\]*?!\\]/g, '\\$&').replace(/ (?= *$)/g, '\\ ');
  return `/${escaped}${folder ? '/' : ''}`;
}
