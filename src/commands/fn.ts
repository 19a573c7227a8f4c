import { LineCounter, isMap, parseDocument, stringify } from "yaml";
import type { YAMLMap } from 'yaml';
import { configFromText, ConfigError } from '../config.js';
import type { Config } from '../config.js';
import { Fix, MAX_ALIAS_COUNT, applyEdits, parseSource, renderOps } from '../engine/index.js';
import { processText, selectTransforms, UsageError } from '../run.js';
import { releaseVerifier } from '../verify.js';
import { readStdin } from '../load.js';
import { decodeUtf8, UnsafeFileError } from '../safe-fs.js';
import type { RunOptions } from '../run.js';
import { runProject } from '../project.js';
import { TRANSFORMS } from '../../transforms/index.js';
import type { Finding, Severity } from '../types.js';

/** A KRM function result (config.kubernetes.io/v1 ResourceList `results`). */
interface Result {
  message: string;
  severity: 'error' | 'warning' | 'info';
  resourceRef?: { apiVersion?: string; kind: string; name?: string; namespace?: string };
  field?: { path: string };
  file?: { path: string; index?: number };
  tags?: Record<string, string>;
}

const SEVERITY: Record<Severity, Result['severity']> = { critical: 'warning', high: 'warning', medium: 'warning', low: 'info' };

/** Options from `functionConfig`: a ConfigMap's `data`, or a `cuirass.dev/v1` Config object. */
export function functionOptions(functionConfig: unknown): RunOptions {
  const ids = TRANSFORMS.map((t) => t.id);
  let config: Config = configFromText('{}', 'functionConfig', ids);
  let only: string[] = [];
  let skip: string[] = [];
  let flags = {};
  const fc = functionConfig as { kind?: string; data?: Record<string, unknown> } | undefined;
  if (fc && fc.kind === 'ConfigMap') {
    const data = fc.data ?? {};
    const list = (v: unknown) => String(v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const level = data.level === undefined ? undefined : String(data.level);
    if (level !== undefined && level !== 'restricted' && level !== 'baseline') throw new ConfigError(`functionConfig: data.level: must be restricted or baseline`);
    config = { ...config, level: level as Config['level'] };
    only = list(data.only);
    skip = list(data.skip);
    flags = { egress: data.egress === 'true', fixDockerSocket: data['fix-docker-socket'] === 'true' };
  } else if (fc && typeof fc === 'object' && Object.keys(fc).length) {
    config = configFromText(stringify(fc), 'functionConfig', ids);
  }
  return {
    level: config.level ?? 'restricted',
    settings: config.settings,
    transforms: selectTransforms(only, [...skip, ...config.skip]),
    exemptions: config.exemptions,
    flags,
  };
}

/** Where an item came from, by its kustomize/kpt annotations. */
function itemFile(item: unknown): Result['file'] {
  const a = (item as { metadata?: { annotations?: Record<string, string> } })?.metadata?.annotations ?? {};
  const path = a['internal.config.kubernetes.io/path'] ?? a['config.kubernetes.io/path'];
  if (!path) return undefined;
  const index = Number(a['internal.config.kubernetes.io/index'] ?? a['config.kubernetes.io/index']);
  return Number.isFinite(index) ? { path, index } : { path };
}

function toResult(f: Finding, items: unknown[], kind: 'fixed' | 'unfixed' | 'suppressed'): Result {
  const m = /^items\[(\d+)\]\.?(.*)$/.exec(f.field);
  const item = m ? items[Number(m[1])] : undefined;
  const result: Result = {
    message: kind === 'fixed' ? `fixed: ${f.message}` : kind === 'suppressed' ? `suppressed: ${f.message} (${f.suppressed})` : f.message,
    severity: kind === 'unfixed' ? SEVERITY[f.severity] : 'info',
    tags: { transform: f.transform, owasp: f.owasp, severity: f.severity, ...(f.behaviorChanging ? { behaviorChanging: 'true' } : {}) },
  };
  if (f.object && f.object.kind !== 'service') result.resourceRef = { apiVersion: f.object.apiVersion, kind: f.object.kind, name: f.object.name, namespace: f.object.namespace };
  if (m && m[2]) result.field = { path: m[2] };
  const file = itemFile(item);
  if (file) result.file = file;
  return result;
}

/**
 * `cuirass fn`: a KRM function. Reads a ResourceList on stdin, hardens its `items` in place
 * (same minimal edits as files), appends generated Secrets and NetworkPolicies to `items`, and
 * writes the ResourceList with `results` to stdout.
 */
export async function runFn(): Promise<number> {
  const fail = (message: string) => {
    process.stdout.write(stringify({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items: [], results: [{ message, severity: 'error' }] }));
    process.stderr.write(`cuirass: ${message}\n`);
    // An input or usage error, as for every command (SPEC section 1).
    return 2;
  };
  let stdin;
  try {
    stdin = await readStdin(process.stdin, decodeUtf8);
  } catch (e) {
    if (!(e instanceof UnsafeFileError)) throw e;
    return fail(`<stdin>:${e.line}:${e.col}: ${e.message}`);
  }
  if ('error' in stdin) return fail(`<stdin>: ${stdin.error}`);
  const input = stdin.text;
  const lines = new LineCounter();
  const doc = parseDocument(input, { prettyErrors: false, lineCounter: lines });
  if (doc.errors.length) {
    const { line, col } = lines.linePos(doc.errors[0].pos[0]);
    return fail(`<stdin>:${line}:${col}: the ResourceList does not parse: ${doc.errors[0].message.split('\n')[0]}`);
  }
  let list: { kind?: string; items?: unknown[]; functionConfig?: unknown } | null;
  try {
    list = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as typeof list;
  } catch (e) {
    if (e instanceof ReferenceError) return fail(`<stdin>:1:1: the ResourceList expands too many aliases (${e.message})`);
    throw e;
  }
  if (!list || list.kind !== 'ResourceList' || !Array.isArray(list.items)) return fail('stdin is not a ResourceList with items');
  let options: RunOptions;
  try {
    options = functionOptions(list.functionConfig);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) return fail(e.message);
    throw e;
  }
  const outcome = processText('<ResourceList>', input, options);
  releaseVerifier();
  if (outcome.status === 'error') return fail(`${outcome.message} at ${outcome.line}:${outcome.col}`);
  const project = runProject([{ o: outcome, dir: '' }], options);
  const generated = [...outcome.documents, ...(project.documents.get('') ?? [])];
  let text = outcome.output;
  const items = list.items;
  const results: Result[] = [
    ...outcome.changes.map((f) => toResult(f, items, 'fixed')),
    ...outcome.remaining.map((f) => toResult(f, items, 'unfixed')),
    ...outcome.suppressed.map((f) => toResult(f, items, 'suppressed')),
    ...[...project.findings.values()].flat().map((f) => toResult(f, items, 'unfixed')),
  ];
  // Generated documents become new items (appended: input items keep their order), and the
  // results replace any the list carried; both through the edit engine.
  const src = parseSource(text);
  const root = src.docs[0].contents as YAMLMap;
  const fix = new Fix();
  for (const d of generated) fix.appendTo(root, ['items'], d.object);
  const results0 = root.get('results', true);
  if (results0 !== undefined) fix.remove(root, 'results');
  text = applyEdits(text, renderOps(src, fix.ops)).text;
  const src2 = parseSource(text);
  const root2 = src2.docs[0].contents;
  if (isMap(root2) && results.length) {
    const fix2 = new Fix();
    fix2.ensure(root2 as YAMLMap, ['results'], JSON.parse(JSON.stringify(results)) as unknown[]);
    text = applyEdits(text, renderOps(src2, fix2.ops)).text;
  }
  process.stdout.write(text);
  return results.some((r) => r.severity === 'error') ? 1 : 0;
}
