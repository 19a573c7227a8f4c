import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import type { Node, Pair } from 'yaml';
import type { Level, Settings } from './settings.js';
import { DEFAULT_SETTINGS } from './settings.js';
import { readFailure } from './load.js';

/** Names the config file may have, looked up from the inputs towards the root. */
export const CONFIG_NAMES = ['cuirass.config.yaml', 'cuirass.config.yml'];

/** Which objects an exemption covers: Kubernetes by kind/namespace/name, Compose by file/service. */
export interface ExemptionMatch {
  kind?: string;
  namespace?: string;
  name?: string;
  file?: string;
  service?: string;
}

/** A configured exemption: transforms skipped for matching objects, and why. */
export interface ConfigExemption {
  match: ExemptionMatch;
  skip: string[];
  reason: string;
  /** Where it was written, for reports: `cuirass.config.yaml:14`. */
  source: string;
  /** Set once it suppresses a finding anywhere in the run. */
  used?: boolean;
}

/** The validated configuration. */
export interface Config {
  path?: string;
  level?: Level;
  skip: string[];
  settings: Settings;
  exemptions: ConfigExemption[];
}

/** A config file that is not valid: the CLI prints it with its position and exits 2. */
export class ConfigError extends Error {}

/** The config file for a run: `--config`, else the nearest one above the first input. */
export function findConfig(explicit: string | undefined, start: string): string | undefined {
  if (explicit) return resolve(explicit);
  let dir = resolve(start);
  try {
    if (!statSync(dir).isDirectory()) dir = dirname(dir);
  } catch {
    dir = process.cwd();
  }
  for (;;) {
    for (const name of CONFIG_NAMES) if (existsSync(join(dir, name))) return join(dir, name);
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

const TOP_KEYS = ['level', 'skip', 'defaults', 'secrets', 'exemptions'];
const DEFAULT_KEYS = ['uid', 'gid', 'limits', 'requests', 'tmpfs'];
const MATCH_KEYS = ['kind', 'namespace', 'name', 'file', 'service'];

/**
 * Reads and validates a config file. Unknown keys and values of the wrong type are errors
 * naming the key and its line; transform ids are checked against `knownIds`.
 */
export function loadConfig(path: string | undefined, knownIds: readonly string[]): Config {
  if (!path) return { skip: [], settings: structuredClone(DEFAULT_SETTINGS), exemptions: [] };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: ${readFailure(e)}`);
  }
  return configFromText(text, path, knownIds);
}

/**
 * Validates config text. A KRM-style object (`apiVersion: cuirass.dev/v1`, `kind: Config`, or a
 * kustomize plugin config) carries the settings in `spec`, or beside apiVersion/kind/metadata.
 */
export function configFromText(text: string, path: string, knownIds: readonly string[]): Config {
  const config: Config = { skip: [], settings: structuredClone(DEFAULT_SETTINGS), exemptions: [], path };
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length) {
    const { line, col } = lines.linePos(doc.errors[0].pos[0]);
    throw new ConfigError(`${path}:${line}:${col}: ${doc.errors[0].message.split('\n')[0]}`);
  }
  let base: (string | number)[] = [];
  const where = (keyPath: (string | number)[]) => {
    // Point at the key of a mapping entry (`skipp:`), else at the node itself.
    const full = [...base, ...keyPath];
    const parent = full.length ? doc.getIn(full.slice(0, -1), true) : undefined;
    const last = full[full.length - 1];
    const pair = isMap(parent) ? (parent.items as Pair[]).find((p) => isScalar(p.key) && p.key.value === last) : undefined;
    const node = ((pair?.key as Node | undefined) ?? doc.getIn(full, true)) as { range?: [number, number, number] } | undefined;
    const { line, col } = lines.linePos(node?.range?.[0] ?? 0);
    return `${path}:${line}:${col}`;
  };
  const fail = (keyPath: (string | number)[], message: string): never => {
    throw new ConfigError(`${where(keyPath)}: ${keyPath.join('.')}: ${message}`);
  };
  let raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || Array.isArray(raw)) fail([], 'the config must be a mapping');
  if (typeof raw.apiVersion === 'string' && typeof raw.kind === 'string') {
    if (raw.spec && typeof raw.spec === 'object') {
      base = ['spec'];
      raw = raw.spec as Record<string, unknown>;
    } else {
      const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = raw;
      void _a, _k, _m;
      raw = rest;
    }
  }
  const known = (obj: Record<string, unknown>, keys: string[], at: (string | number)[]) => {
    for (const k of Object.keys(obj)) if (!keys.includes(k)) fail([...at, k], `unknown key (expected one of ${keys.join(', ')})`);
  };
  const ids = (value: unknown, at: (string | number)[], allowAll: boolean): string[] => {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return fail(at, 'must be a list of transform ids');
    for (const id of value as string[]) if (!knownIds.includes(id) && !(allowAll && id === 'all')) fail(at, `unknown transform "${id}"`);
    return value as string[];
  };
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  known(raw, TOP_KEYS, []);
  if (raw.level !== undefined) {
    if (raw.level !== 'restricted' && raw.level !== 'baseline') fail(['level'], 'must be restricted or baseline');
    config.level = raw.level as Level;
  }
  if (raw.skip !== undefined) config.skip = ids(raw.skip, ['skip'], false);
  if (raw.defaults !== undefined) {
    const d = raw.defaults;
    if (!isMap(d)) return fail(['defaults'], 'must be a mapping');
    known(d, DEFAULT_KEYS, ['defaults']);
    for (const k of ['uid', 'gid'] as const) {
      if (d[k] === undefined) continue;
      if (!Number.isInteger(d[k]) || (d[k] as number) < 0) fail(['defaults', k], 'must be a whole number ≥ 0');
      if (k === 'uid' && d[k] === 0) fail(['defaults', k], 'must not be 0 (root)');
      config.settings[k] = d[k] as number;
    }
    for (const group of ['limits', 'requests'] as const) {
      const g = d[group];
      if (g === undefined) continue;
      if (!isMap(g)) return fail(['defaults', group], 'must be a mapping');
      known(g, group === 'limits' ? ['memory', 'cpu', 'pids'] : ['memory', 'cpu'], ['defaults', group]);
      for (const k of ['memory', 'cpu'] as const) {
        if (g[k] === undefined) continue;
        if (typeof g[k] !== 'string' && typeof g[k] !== 'number') fail(['defaults', group, k], 'must be a quantity like 512Mi or 500m');
        if (!/^[0-9.]+([eE][0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.test(String(g[k]))) fail(['defaults', group, k], `"${String(g[k])}" is not a Kubernetes quantity`);
        (config.settings[group] as Record<string, unknown>)[k] = String(g[k]);
      }
      if (group === 'limits' && g.pids !== undefined) {
        if (!Number.isInteger(g.pids) || (g.pids as number) < 1) fail(['defaults', 'limits', 'pids'], 'must be a whole number ≥ 1');
        config.settings.limits.pids = g.pids as number;
      }
    }
    if (d.tmpfs !== undefined) {
      if (!Array.isArray(d.tmpfs) || !d.tmpfs.every((p) => typeof p === 'string' && p.startsWith('/'))) fail(['defaults', 'tmpfs'], 'must be a list of absolute paths');
      config.settings.tmpfs = d.tmpfs as string[];
    }
  }
  if (raw.secrets !== undefined) {
    const s = raw.secrets;
    if (!isMap(s)) return fail(['secrets'], 'must be a mapping');
    known(s, ['patterns'], ['secrets']);
    if (s.patterns !== undefined) {
      if (!Array.isArray(s.patterns) || !s.patterns.every((p) => typeof p === 'string' && p.length > 0)) fail(['secrets', 'patterns'], 'must be a list of name fragments');
      config.settings.secretPatterns = s.patterns as string[];
    }
  }
  // `exemptions:` with nothing under it (cuirass init's suggestions all commented out) is none.
  if (raw.exemptions != null) {
    if (!Array.isArray(raw.exemptions)) return fail(['exemptions'], 'must be a list');
    raw.exemptions.forEach((e, i) => {
      const at = ['exemptions', i];
      if (!isMap(e)) return fail(at, 'must be a mapping with match, skip and reason');
      known(e, ['match', 'skip', 'reason'], at);
      if (!isMap(e.match) || Object.keys(e.match).length === 0) fail([...at, 'match'], 'must be a mapping with kind, namespace, name, file or service');
      known(e.match as Record<string, unknown>, MATCH_KEYS, [...at, 'match']);
      for (const [k, v] of Object.entries(e.match as Record<string, unknown>)) if (typeof v !== 'string') fail([...at, 'match', k], 'must be a string');
      if (typeof e.reason !== 'string' || !e.reason.trim()) fail([...at, 'reason'], 'a reason is required');
      config.exemptions.push({ match: e.match as ExemptionMatch, skip: ids(e.skip, [...at, 'skip'], true), reason: e.reason as string, source: where(at) });
    });
  }
  return config;
}
