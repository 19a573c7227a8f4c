/**
 * The Compose part of the shared corpus (real files nobody here wrote), hardened in one run of
 * the BUILT CLI: `cuirass TMP/compose --write`, then `--check` for idempotency.
 *
 * The corpus is read-only and is never copied into the project: it is copied to a temp dir.
 */
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import Ajv2020Module from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli } from './support/cli.js';
import { builtImage } from '../src/compose/build.js';
import { baseServiceNames } from '../src/compose/model.js';
import { readTextInTree } from '../src/dockerfile/read.js';
import type { CliResult } from './support/cli.js';

/** Under `nodenext` TypeScript types the CommonJS default import as the module; at run time it is the class. */
const Ajv2020 = Ajv2020Module as unknown as typeof Ajv2020Module.default;

const CORPUS = fileURLToPath(new URL('../../shared/corpus/', import.meta.url));
const SOURCE = join(CORPUS, 'compose');
const SCHEMA = join(CORPUS, 'schemas/compose-go/compose-spec.json');

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = join(dir, e.name);
      return e.isDirectory() ? walk(p) : /\.ya?ml$/i.test(e.name) ? [p] : [];
    })
    .sort();
}

/** Makes a copied tree writable (the corpus itself may be read-only). */
function makeWritable(path: string): void {
  const st = statSync(path);
  chmodSync(path, st.isDirectory() ? 0o755 : 0o644);
  if (st.isDirectory()) for (const e of readdirSync(path)) makeWritable(join(path, e));
}

/** The documents of a YAML file as plain values, merge keys resolved. */
function load(text: string): unknown[] {
  return parseAllDocuments(text, { merge: true }).map((d) => d.toJS({ maxAliasCount: 1000 }) as unknown);
}

/** Trimmed comment lines with how often each occurs. */
function comments(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t.startsWith('#')) m.set(t, (m.get(t) ?? 0) + 1);
  }
  return m;
}

/** Keys of a service that hardening may add, change or remove. */
const OWNED = new Set(['user', 'cap_drop', 'cap_add', 'security_opt', 'read_only', 'tmpfs', 'deploy', 'mem_limit', 'cpus', 'pids_limit', 'privileged', 'pid', 'ipc', 'uts', 'volumes']);
/**
 * Keys that the SPEC gives to `network-segmentation` (networks) and `secrets-from-env`
 * (environment, env_file, secrets). They are not compared for equality but checked for what
 * those transforms promise: nothing is ever dropped (see `movedOk`).
 */
const MOVED = new Set(['networks', 'environment', 'env_file', 'secrets']);

/** Sequences that Compose's `extends` merges (union) rather than overrides. */
const UNION = new Set(['cap_add', 'cap_drop', 'configs', 'device_cgroup_rules', 'expose', 'external_links', 'ports', 'secrets', 'security_opt', 'dns', 'dns_opt', 'dns_search', 'env_file', 'tmpfs', 'volumes', 'devices']);

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v == null ? [] : [v];
}

/** Compose's `extends` merge: mappings merge, mergeable sequences are united, the rest is overridden. */
function extendWith(base: Obj, own: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(own)) {
    const b = out[k];
    if (isObj(b) && isObj(v)) out[k] = extendWith(b, v);
    else if (UNION.has(k) && b !== undefined && v !== undefined && !isObj(b) && !isObj(v)) {
      const all = [...asList(b), ...asList(v)];
      out[k] = all.filter((x, i) => all.findIndex((y) => isDeepStrictEqual(x, y)) === i);
    } else out[k] = v;
  }
  return out;
}

/** Loads and caches the documents of files (after hardening, from the temp dir). */
class Files {
  private cache = new Map<string, unknown[]>();
  docs(path: string): unknown[] {
    let d = this.cache.get(path);
    if (!d) {
      d = existsSync(path) ? load(readFileSync(path, 'utf8')) : [];
      this.cache.set(path, d);
    }
    return d;
  }
  /** The service as Compose sees it: merge keys and `extends` (within the file, or another file when present) resolved. */
  effective(path: string, doc: unknown, name: string, seen = new Set<string>()): Obj {
    const services = isObj(doc) && isObj(doc.services) ? doc.services : {};
    const own = isObj(services[name]) ? services[name] : {};
    const key = `${path}#${name}`;
    if (seen.has(key) || own.extends === undefined) return own;
    seen.add(key);
    const { extends: ext, ...rest } = own;
    let base: Obj | undefined;
    if (typeof ext === 'string') {
      if (ext in services) base = this.effective(path, doc, ext, seen);
    } else if (isObj(ext) && typeof ext.service === 'string') {
      if (typeof ext.file === 'string') {
        const other = resolve(dirname(path), ext.file);
        const target = this.docs(other).find((d) => isObj(d) && isObj(d.services) && (ext.service as string) in d.services);
        if (target) base = this.effective(other, target, ext.service, seen);
      } else if (ext.service in services) base = this.effective(path, doc, ext.service, seen);
    }
    return base ? extendWith(base, rest) : own;
  }
}

/** The service mappings of every Compose document of a file, by document index. */
function composeDocs(docs: unknown[]): Array<{ index: number; doc: Obj; services: Obj }> {
  return docs.flatMap((doc, index) => (isObj(doc) && isObj(doc.services) ? [{ index, doc, services: doc.services }] : []));
}

/** `environment` as a map (list form `K=V` / `K`). */
function envMap(v: unknown): Map<string, unknown> {
  const m = new Map<string, unknown>();
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = String(item);
      const i = s.indexOf('=');
      m.set(i < 0 ? s : s.slice(0, i), i < 0 ? null : s.slice(i + 1));
    }
  } else if (isObj(v)) for (const [k, x] of Object.entries(v)) m.set(k, x);
  return m;
}

/** Names in a list-or-map field (`networks`, `secrets`, `env_file`). */
function names(v: unknown): string[] {
  if (isObj(v)) return Object.keys(v);
  return asList(v).map((x) => (isObj(x) ? String(x.source ?? x.path ?? JSON.stringify(x)) : String(x)));
}

/**
 * What `network-segmentation` and `secrets-from-env` may do to a service: attach it to more
 * networks, add secrets and env files, and move a literal variable to a secret (`NAME_FILE`)
 * or to a new env file that holds `NAME=`. Nothing that was there may disappear.
 */
/** NAME -> value of a project `.env` written as NAME='value' or NAME="value" lines. */
function dotenv(dir: string): Map<string, string> {
  const p = join(dir, '.env');
  const vars = new Map<string, string>();
  if (!existsSync(p)) return vars;
  for (const line of readFileSync(p, 'utf8').split(/\r?\n/)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(?:'([^']*)'|"((?:[^"\\]|\\.)*)")$/.exec(line);
    if (m) vars.set(m[1], m[2] ?? m[3].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)).replace(/\$\$/g, '$'));
  }
  return vars;
}

/** `${NAME:?msg}` replaced from `vars`, as written in the file (other `$` left alone). */
function interpolate(value: string, vars: Map<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*):\?[^}]*\}/g, (m, name: string) => vars.get(name)?.replace(/\$/g, '$$$$') ?? m);
}

function movedProblems(file: string, name: string, before: Obj, after: Obj): string[] {
  const problems: string[] = [];
  const where = `${file} service "${name}"`;
  for (const field of ['networks', 'secrets', 'env_file']) {
    const a = names(after[field]);
    const lost = names(before[field]).filter((n) => !a.includes(n));
    if (lost.length) problems.push(`${where}: ${field} lost ${lost.join(', ')}`);
  }
  // Values of the networks a service was already attached to (aliases, ipv4_address…) stay.
  if (isObj(before.networks)) {
    for (const [n, v] of Object.entries(before.networks)) {
      if (isObj(after.networks) && !isDeepStrictEqual(after.networks[n], v)) problems.push(`${where}: networks.${n} changed`);
    }
  }
  const envBefore = envMap(before.environment);
  const envAfter = envMap(after.environment);
  const addedEnvFiles = names(after.env_file).filter((n) => !names(before.env_file).includes(n));
  const envFileText = addedEnvFiles.map((f) => {
    const p = resolve(dirname(file), f);
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  });
  for (const [k, v] of envBefore) {
    if (envAfter.has(k) && isDeepStrictEqual(envAfter.get(k), v)) continue;
    const toFile = envAfter.has(`${k}_FILE`) && !envBefore.has(`${k}_FILE`);
    const toEnvFile = !envAfter.has(k) && envFileText.some((t) => t.split(/\r?\n/).some((l) => l.startsWith(`${k}=`)));
    // A connection string keeps its shape and reads its password from the project's .env.
    const interpolated = envAfter.has(k) && typeof v === 'string' && interpolate(String(envAfter.get(k)), dotenv(dirname(file))) === v;
    if (!toFile && !toEnvFile && !interpolated) problems.push(`${where}: environment ${k} changed or dropped`);
  }
  for (const k of envAfter.keys()) {
    if (!envBefore.has(k) && !(k.endsWith('_FILE') && envBefore.has(k.slice(0, -5)))) problems.push(`${where}: environment ${k} appeared`);
  }
  return problems;
}

function isRoot(user: unknown): boolean {
  return user == null || /^(root|0)(:|$)/.test(String(user).trim());
}

describe('Compose corpus: cuirass TMP/compose --write (built CLI)', () => {
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as object;
  const validate = new Ajv2020({ strict: false, validateFormats: false }).compile(schema);
  const files = walk(SOURCE).map((f) => relative(SOURCE, f));
  let tmp: string;
  let dir: string;
  let first: CliResult;
  /** `file|transform|service` for every unfixed finding the stderr summary names. */
  let reported: Set<string>;

  const before = (f: string) => readFileSync(join(SOURCE, f), 'utf8');
  const after = (f: string) => readFileSync(join(dir, f), 'utf8');
  const invalidFiles = (read: (f: string) => string) =>
    files.filter((f) => load(read(f)).some((doc) => doc != null && typeof doc === 'object' && !validate(doc)));

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'cuirass-corpus-compose-'));
    dir = join(tmp, 'compose');
    cpSync(SOURCE, dir, { recursive: true });
    makeWritable(dir);
    first = runCli([dir, '--write'], { cwd: tmp });
    reported = new Set();
    for (const m of first.stderr.matchAll(/^ {2}(\S.*?):(\d+):(\d+) +(low|medium|high|critical) +([\w-]+): service "([^"]+)"/gm)) {
      reported.add(`${relative(dir, resolve(tmp, m[1]))}|${m[5]}|${m[6]}`);
    }
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the corpus has the expected shape (sanity)', () => {
    expect(files.length).toBeGreaterThan(250);
    expect(reported.size).toBeGreaterThan(0);
    // The summary's paths resolve to corpus files (else no finding would ever excuse a service).
    const unknown = [...reported].map((r) => r.split('|')[0]).filter((f) => !files.includes(f));
    expect(unknown).toEqual([]);
  });

  it('exits 0', () => {
    expect(first.status, first.stderr.slice(-2000)).toBe(0);
  });

  it('every output validates against the compose-go schema, except the one fixture that was invalid before', () => {
    const invalidBefore = invalidFiles(before);
    expect(invalidBefore).toHaveLength(1);
    expect(invalidFiles(after)).toEqual(invalidBefore);
  });

  it('every comment line of every input is still in its output, at least as often', () => {
    const lost: string[] = [];
    for (const f of files) {
      const a = comments(after(f));
      for (const [line, n] of comments(before(f))) {
        if ((a.get(line) ?? 0) < n) lost.push(`${f}: ${line} (${a.get(line) ?? 0} of ${n})`);
      }
    }
    expect(lost, lost.join('\n')).toEqual([]);
  });

  it('a second run with --check exits 0 and prints nothing on stdout', () => {
    const second = runCli([dir, '--check'], { cwd: tmp });
    expect(second.stdout).toBe('');
    expect(second.status, second.stderr.slice(-2000)).toBe(0);
  });

  it('every service ends up hardened in its effective view, or is reported', () => {
    const cache = new Files();
    const violations: string[] = [];
    let checked = 0;
    for (const f of files) {
      if (/\.override\./.test(f)) continue;
      const path = join(dir, f);
      // A `compose.<x>.yaml` service that patches one of the base file next to it: the base carries the hardening.
      const base = baseServiceNames(f, (p) => (existsSync(join(dirname(path), p)) ? readFileSync(join(dirname(path), p), 'utf8') : undefined));
      for (const { doc, services } of composeDocs(cache.docs(path))) {
        for (const name of Object.keys(services)) {
          if (base?.has(name)) continue;
          const svc = cache.effective(path, doc, name);
          if (svc['x-cuirass'] !== undefined) continue;
          checked++;
          const bad = (what: string) => violations.push(`${f} service "${name}": ${what}`);
          const isReported = (id: string) => reported.has(`${f}|${id}|${name}`);
          const opts = asList(svc.security_opt).map((o) => String(o).trim());
          if (!opts.some((o) => o === 'no-new-privileges:true' || o === 'no-new-privileges')) bad(`security_opt lacks no-new-privileges:true (${JSON.stringify(svc.security_opt)})`);
          if (!asList(svc.cap_drop).map(String).includes('ALL')) bad(`cap_drop lacks ALL (${JSON.stringify(svc.cap_drop)})`);
          if (svc.read_only !== true && !isReported('read-only-root')) bad(`read_only is ${JSON.stringify(svc.read_only)} and no read-only-root finding`);
          // A service built from a Dockerfile whose final USER is non-root needs no user: (SPEC 2).
          const built = builtImage(svc.build, (p) => readTextInTree(dirname(path), p));
          const nonRootImage = built?.user !== undefined && !built.user.root;
          if (isRoot(svc.user) && !nonRootImage && !isReported('run-as-non-root')) bad(`user is ${JSON.stringify(svc.user)} and no run-as-non-root finding`);
          const deploy = isObj(svc.deploy) ? svc.deploy : {};
          const resources = isObj(deploy.resources) ? deploy.resources : {};
          const limits = isObj(resources.limits) ? resources.limits : {};
          if ((limits.memory ?? svc.mem_limit) == null) bad('no memory limit');
          if ((limits.cpus ?? svc.cpus) == null) bad('no cpus limit');
          if ((limits.pids ?? svc.pids_limit) == null) bad('no pids limit');
          if (svc.privileged === true) bad('privileged: true');
          const unconfined = opts.filter((o) => /^(seccomp|apparmor)[:=]unconfined$/i.test(o));
          if (unconfined.length) bad(`security_opt keeps ${unconfined.join(', ')}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
    expect(violations, violations.join('\n')).toEqual([]);
  });

  it('no service appears or disappears, and every key cuirass does not own is unchanged', () => {
    const cacheBefore = new Files();
    const cacheAfter = new Files();
    const problems: string[] = [];
    for (const f of files) {
      const a = composeDocs(cacheBefore.docs(join(SOURCE, f)));
      const b = composeDocs(cacheAfter.docs(join(dir, f)));
      if (a.map((d) => d.index).join() !== b.map((d) => d.index).join()) {
        problems.push(`${f}: Compose documents ${JSON.stringify(a.map((d) => d.index))} became ${JSON.stringify(b.map((d) => d.index))}`);
        continue;
      }
      a.forEach((da, i) => {
        const db = b[i];
        const namesA = Object.keys(da.services);
        const namesB = Object.keys(db.services);
        for (const n of namesB) if (!namesA.includes(n)) problems.push(`${f}: service "${n}" appeared`);
        for (const n of namesA) if (!namesB.includes(n)) problems.push(`${f}: service "${n}" disappeared`);
        for (const n of namesA.filter((x) => namesB.includes(x))) {
          // As written (merge keys resolved), and as Compose sees it (extends resolved).
          const views: Array<[string, Obj, Obj]> = [
            ['', isObj(da.services[n]) ? da.services[n] : {}, isObj(db.services[n]) ? db.services[n] : {}],
            [' (effective)', cacheBefore.effective(join(SOURCE, f), da.doc, n), cacheAfter.effective(join(dir, f), db.doc, n)],
          ];
          for (const [label, sa, sb] of views) {
            for (const k of new Set([...Object.keys(sa), ...Object.keys(sb)])) {
              if (OWNED.has(k) || MOVED.has(k)) continue;
              if (!isDeepStrictEqual(sa[k], sb[k])) problems.push(`${f} service "${n}"${label}: ${k} ${JSON.stringify(sa[k])} -> ${JSON.stringify(sb[k])}`);
            }
          }
          problems.push(...movedProblems(join(dir, f), n, views[0][1], views[0][2]).map((p) => p.replace(`${join(dir, f)} `, `${f} `)));
        }
      });
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('top-level keys other than networks and secrets are unchanged; existing networks and secrets are kept as they were', () => {
    const problems: string[] = [];
    for (const f of files) {
      const a = load(before(f));
      const b = load(after(f));
      a.forEach((da, i) => {
        const db = b[i];
        if (!isObj(da) || !isObj(da.services)) return;
        if (!isObj(db)) {
          problems.push(`${f}#${i}: not a mapping any more`);
          return;
        }
        for (const k of new Set([...Object.keys(da), ...Object.keys(db)])) {
          if (k === 'services') continue;
          if (k === 'networks' || k === 'secrets') {
            const na = isObj(da[k]) ? da[k] : {};
            const nb = isObj(db[k]) ? db[k] : {};
            for (const [n, v] of Object.entries(na)) if (!isDeepStrictEqual(nb[n], v)) problems.push(`${f}: ${k}.${n} ${JSON.stringify(v)} -> ${JSON.stringify(nb[n])}`);
          } else if (!isDeepStrictEqual(da[k], db[k])) problems.push(`${f}: top-level ${k} changed`);
        }
      });
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });
});
