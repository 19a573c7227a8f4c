import { relative, resolve as resolvePath } from 'node:path';
import { hardenText } from './harden.js';
import { isComposeName, siblingReader } from './load.js';
import { invalidServices } from './compose/model.js';
import { treeFileReader } from './tree-files.js';
import { maskTemplates, templatedDocuments } from './templates.js';
import type { TemplatedDocument } from './templates.js';
import type { Flags, Level, Settings } from './settings.js';
import { InputError } from './types.js';
import type { Finding, Transform } from './types.js';
import type { ConfigExemption } from './config.js';
import type { GeneratedDoc, SideFile } from './engine/index.js';
import { TRANSFORMS } from '../transforms/index.js';
import { hardenDockerfile, isDockerfileName } from './dockerfile/harden.js';
import { readInTree, readTextInTree } from './dockerfile/read.js';
import { MAX_ALIAS_COUNT } from './engine/source.js';

/** A wrong command line: the CLI prints it and exits 2. */
export class UsageError extends Error {}

/** Options of a hardening run. */
export interface RunOptions {
  level: Level;
  settings: Settings;
  /** Opt-in rewrites (`--fix-docker-socket`). */
  flags?: Flags;
  transforms: readonly Transform[];
  exemptions?: ConfigExemption[];
  withEdits?: boolean;
}

/** What happened to one input. */
export interface Outcome {
  display: string;
  status: 'changed' | 'unchanged' | 'error' | 'skipped';
  input: string;
  output: string;
  changes: Finding[];
  remaining: Finding[];
  /** For `error`: where and what; for `skipped`: why. */
  message?: string;
  line?: number;
  col?: number;
  /** Holds Kubernetes objects (counts toward "found manifests"). */
  manifest: boolean;
  /** Files to create next to the input. */
  files: SideFile[];
  /** Generated documents (appended to streams, or written to sidecar files). */
  documents: GeneratedDoc[];
  /** Secret values to redact from anything printed. */
  secrets: string[];
  /** What the text holds. */
  kind?: 'kubernetes' | 'compose' | 'daemon' | 'dockerfile';
  /** Findings suppressed by exemptions. */
  suppressed: Finding[];
  /** Documents left as they are because they are templates (the others are hardened). */
  templates?: TemplatedDocument[];
}

/** Why a templated input is skipped; such a skip is always named (a template looks like a manifest). */
export const TEMPLATE_SKIPPED = 'skipped: a template (render it first, e.g. helm template | cuirass -)';

/** The transforms selected by `--only` and `--skip`; unknown ids are a usage error. */
export function selectTransforms(only: readonly string[] = [], skip: readonly string[] = []): Transform[] {
  const known = new Set(TRANSFORMS.map((t) => t.id));
  for (const id of [...only, ...skip]) {
    if (!known.has(id)) throw new UsageError(`unknown transform "${id}" (see the README's transform table)`);
  }
  return TRANSFORMS.filter((t) => (only.length === 0 || only.includes(t.id)) && !skip.includes(t.id));
}

/** Splits a comma-separated option value (`--only a,b --only c`). */
export function splitIds(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

/**
 * Hardens the text of one input. Never throws for bad input: errors are outcomes. `folder` is
 * the input's folder (generated files go there; transforms may read what it holds), `true`
 * for a folder that is not on disk (tests), absent for stdin.
 */
export function processText(display: string, text: string, options: RunOptions, folder?: string | boolean, root?: string): Outcome {
  const base = { display, input: text, output: text, changes: [], remaining: [], manifest: false, files: [], documents: [], secrets: [], suppressed: [] };
  if (isDockerfileName(display)) {
    const peek = typeof folder === 'string' ? (path: string) => { const r = readInTree(folder, path, 512); return 'bytes' in r ? r.bytes : undefined; } : undefined;
    return hardenDockerfile(display, text, options, peek);
  }
  const templates = templatedDocuments(text);
  const masking = templates.length ? maskTemplates(text, templates) : undefined;
  const outcome = hardenOne(display, masking?.masked ?? text, options, folder, root);
  if (!masking) return outcome;
  // Templated documents are left as they are; a text with nothing else is a template.
  if (outcome.status !== 'changed' && outcome.status !== 'unchanged') {
    return outcome.status === 'error' ? { ...outcome, input: text, output: text, templates } : { ...base, status: 'skipped', message: TEMPLATE_SKIPPED, templates };
  }
  return { ...outcome, input: text, output: masking.restore(outcome.output), templates };
}

/**
 * The notice for a templated document: of a file, left as it is while the others are hardened;
 * of stdin, an error (a pipeline must not pass a template on as if it were hardened).
 */
export function templateNotice(display: string, t: TemplatedDocument, stdin = false): string {
  const where = `${display}:${t.line}:${t.col}: document ${t.index} is a template`;
  return stdin ? `${where}: render it first (e.g. helm template | cuirass -)` : `${where}, left as it is (render it first, e.g. helm template | cuirass -)`;
}

function hardenOne(display: string, text: string, options: RunOptions, folder?: string | boolean, root?: string): Outcome {
  const base = { display, input: text, output: text, changes: [], remaining: [], manifest: false, files: [], documents: [], secrets: [], suppressed: [] };
  const json = /\.json$/i.test(display) || /^\uFEFF?\s*[{[]/.test(text);
  let result;
  try {
    const sibling = typeof folder === 'string' ? siblingReader(folder) : undefined;
    // A build context may sit beside the Compose file's folder (`build: ../vote`): it is read when it
    // is inside the input tree the run walks (`root`), never outside it.
    const tree = typeof folder === 'string' && root !== undefined && !relative(root, folder).startsWith('..') ? root : folder;
    const readBuildFile = typeof folder === 'string' && typeof tree === 'string' ? (path: string) => readTextInTree(tree, relative(tree, resolvePath(folder, path))) : undefined;
    const configFiles = typeof folder === 'string' ? treeFileReader(folder) : undefined;
    result = hardenText(text, { ...options, hasFolder: Boolean(folder), sibling, readBuildFile, configFiles }, { json, file: display });
  } catch (e) {
    if (e instanceof InputError) return { ...base, status: 'error', line: e.line, col: e.col, message: e.message };
    // The yaml library's alias limit (an alias bomb, e.g. in a Compose service): an input
    // error the user can act on, not an internal one.
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      return { ...base, status: 'error', line: 1, col: 1, message: `its aliases expand to more than ${MAX_ALIAS_COUNT} nodes (an alias bomb?), so cuirass leaves it untouched` };
    }
    return { ...base, status: 'error', line: 1, col: 1, message: `internal error: ${(e as Error).message}` };
  }
  if (result.errors.length) {
    const e = result.errors[0];
    // A parse error names a position, never the text there: secrets stay out of messages.
    return { ...base, status: 'error', line: e.line, col: e.col, message: e.message };
  }
  if (result.failure) {
    return { ...base, status: 'error', line: 1, col: 1, message: `left untouched: ${result.failure}`, manifest: true };
  }
  if (!result.kubernetes && !result.compose && !result.daemon) {
    const invalid = isComposeName(display) ? invalidServices(text) : undefined;
    if (invalid) return { ...base, status: 'error', ...invalid };
    return { ...base, status: 'skipped', message: 'skipped: no Kubernetes objects or Compose services' };
  }
  return {
    ...base,
    status: result.output === text ? 'unchanged' : 'changed',
    output: result.output,
    changes: result.changes,
    remaining: result.remaining,
    manifest: true,
    files: result.files,
    documents: result.documents,
    secrets: result.secrets,
    kind: result.kubernetes ? 'kubernetes' : result.daemon ? 'daemon' : 'compose',
    suppressed: result.suppressed,
  };
}
