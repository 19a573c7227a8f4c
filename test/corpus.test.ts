import { cpSync, chmodSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { existsSync } from 'node:fs';
import { readDockerfile } from '../src/dockerfile/model.js';
import { baseServiceNames } from '../src/compose/model.js';
import { typedPath } from '../src/load.js';
import Ajv2020 from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { checkPodSecurity, podSpecsOf } from './support/pss.js';
import { cli, CORPUS } from './support/run-cli.js';
import { hardenStdin } from './support/in-process.js';

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p) : /\.(ya?ml|json)$/i.test(e.name) ? [p] : [];
  });
}

function copyCorpus(part: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cuirass-corpus-${part}-`));
  cpSync(join(CORPUS, part), dir, { recursive: true });
  const chmod = (d: string) => {
    chmodSync(d, 0o755);
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? chmod(join(d, e.name)) : chmodSync(join(d, e.name), 0o644);
  };
  chmod(dir);
  return dir;
}

/** Lines that are comments, with how often each occurs. */
function commentLines(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of text.split(/\r?\n/)) {
    const t = l.trim();
    if (t.startsWith('#')) m.set(t, (m.get(t) ?? 0) + 1);
  }
  return m;
}

function lostComments(before: string, after: string): string[] {
  const a = commentLines(after);
  return [...commentLines(before)].filter(([l, n]) => (a.get(l) ?? 0) < n).map(([l]) => l);
}

function parseErrors(text: string): string[] {
  return parseAllDocuments(text, { merge: true, uniqueKeys: true }).flatMap((d) => d.errors.map((e) => e.message));
}

const WORKLOADS = new Set(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'ReplicationController', 'PodTemplate', 'Namespace', 'List']);

describe('Kubernetes corpus: cuirass DIR --write', () => {
  const source = join(CORPUS, 'k8s');
  let dir: string;
  let first: ReturnType<typeof cli>;
  const files = walk(source).map((f) => relative(source, f));
  const invalid = files.filter((f) => parseErrors(readFileSync(join(source, f), 'utf8')).length > 0);
  beforeAll(() => {
    dir = copyCorpus('k8s');
    first = cli([dir, '--write', '--quiet']);
  });
  it('exits 2 naming exactly the files that do not parse (the 5 with duplicate keys), which stay untouched', () => {
    expect(invalid).toHaveLength(5);
    expect(first.status).toBe(2);
    const named = [...first.stderr.matchAll(/^cuirass: (.*?):\d+:\d+: /gm)].map((m) => relative(dir, m[1].startsWith('/') ? m[1] : join(process.cwd(), m[1])));
    expect(named.sort()).toEqual([...invalid].sort());
    for (const f of invalid) expect(readFileSync(join(dir, f), 'utf8')).toBe(readFileSync(join(source, f), 'utf8'));
  });
  it('every output parses and keeps every comment line', () => {
    const problems: string[] = [];
    for (const f of files) {
      if (invalid.includes(f)) continue;
      const before = readFileSync(join(source, f), 'utf8');
      const after = readFileSync(join(dir, f), 'utf8');
      if (f.endsWith('.json')) {
        try {
          JSON.parse(after);
        } catch {
          if (after !== before) problems.push(`${f}: not JSON any more`);
        }
      } else if (parseErrors(after).length) problems.push(`${f}: ${parseErrors(after)[0]}`);
      const lost = lostComments(before, after);
      if (lost.length) problems.push(`${f}: lost ${lost.join(' | ')}`);
    }
    expect(problems).toEqual([]);
  });
  it('objects that are not workloads stay byte-identical', () => {
    const changed: string[] = [];
    for (const f of files) {
      if (invalid.includes(f) || f.endsWith('.json')) continue;
      const before = readFileSync(join(source, f), 'utf8');
      const after = readFileSync(join(dir, f), 'utf8');
      const slices = (text: string) => parseAllDocuments(text).map((d) => ({ kind: (d.toJS() as { kind?: string } | null)?.kind, text: text.slice(d.range[0], d.range[1]) }));
      const a = slices(before);
      const b = slices(after);
      a.forEach((doc, i) => {
        if (doc.kind && WORKLOADS.has(doc.kind)) return;
        if (b[i]?.text.trimEnd() !== doc.text.trimEnd()) changed.push(`${f}#${i} (${doc.kind})`);
      });
    }
    expect(changed).toEqual([]);
  });
  it('a second run changes nothing', () => {
    const second = cli([dir, '--check', '--quiet']);
    expect(second.stdout).toBe('');
    expect(second.status).toBe(2); // only because of the invalid files
  });
  it('at least 98% of pod templates pass the restricted Pod Security Standard, volumes aside', () => {
    let total = 0;
    const failing: string[] = [];
    for (const f of files) {
      if (invalid.includes(f) || f.endsWith('.json')) continue;
      for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
        const obj = doc.toJS({ maxAliasCount: 1000 });
        const pods = podSpecsOf(obj);
        if (pods.length === 0) continue;
        total += pods.length;
        const v = checkPodSecurity(obj, 'restricted').filter((x) => !x.volume);
        if (v.length) failing.push(`${f}: ${v.map((x) => `${x.check} ${x.path}`).join(', ')}`);
      }
    }
    expect(total).toBeGreaterThan(500);
    expect(failing.length / total, failing.join('\n')).toBeLessThanOrEqual(0.02);
  });
});

// In-process (the stdin path of the CLI, test/support/in-process.ts): 151 processes one after the
// other took 93 s on a loaded 2-core machine. test/pss-corpus.test.ts pipes the same fixtures
// through the built CLI.
describe('Pod Security Admission fixtures through `cuirass -` (in-process)', () => {
  const base = join(CORPUS, 'pss');
  it('every restricted fixture passes restricted afterwards, or only volumes remain and are named', () => {
    const problems: string[] = [];
    for (const kind of ['pass', 'fail']) {
      for (const name of readdirSync(join(base, 'restricted/v1.37', kind))) {
        const input = readFileSync(join(base, 'restricted/v1.37', kind, name), 'utf8');
        const r = hardenStdin(input, { skip: ['network-segmentation'] });
        const obj = parseAllDocuments(r.stdout)[0].toJS();
        const v = checkPodSecurity(obj, 'restricted');
        if (v.some((x) => !x.volume)) problems.push(`${kind}/${name}: ${v.map((x) => x.check).join(', ')}`);
        if (v.some((x) => x.volume) && !/host-volumes: volume "/.test(r.stderr)) problems.push(`${kind}/${name}: volume not reported`);
      }
    }
    expect(problems).toEqual([]);
  });
  it('at the baseline level every baseline fixture passes baseline afterwards or is reported', () => {
    const problems: string[] = [];
    for (const kind of ['pass', 'fail']) {
      for (const name of readdirSync(join(base, 'baseline/v1.37', kind))) {
        const input = readFileSync(join(base, 'baseline/v1.37', kind, name), 'utf8');
        const r = hardenStdin(input, { level: 'baseline', skip: ['network-segmentation'] });
        const v = checkPodSecurity(parseAllDocuments(r.stdout)[0].toJS(), 'baseline');
        if (v.length && !/not fixed:/.test(r.stderr)) problems.push(`${kind}/${name}: ${v.map((x) => x.check).join(', ')} not reported`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('Compose corpus: cuirass DIR --write', () => {
  const source = join(CORPUS, 'compose');
  const schema = JSON.parse(readFileSync(join(CORPUS, 'schemas/compose-go/compose-spec.json'), 'utf8'));
  const validate = new Ajv2020({ strict: false, validateFormats: false }).compile(schema);
  const files = walk(source).map((f) => relative(source, f)).filter((f) => /\.ya?ml$/.test(f));
  const invalidBy = (root: string) =>
    files.filter((f) =>
      parseAllDocuments(readFileSync(join(root, f), 'utf8'), { merge: true }).some((d) => {
        const v = d.toJS({ maxAliasCount: 1000 });
        return v && typeof v === 'object' && !validate(v);
      }),
    );
  let dir: string;
  let first: ReturnType<typeof cli>;
  beforeAll(() => {
    dir = copyCorpus('compose');
    first = cli([dir, '--write']);
  });
  it('exits 0 and every output validates against the Compose schema (the one invalid fixture aside)', () => {
    expect(first.status).toBe(0);
    const before = invalidBy(source);
    expect(before).toHaveLength(1);
    expect(invalidBy(dir)).toEqual(before);
  });
  it('keeps every comment line and a second run changes nothing', () => {
    const lost = files.flatMap((f) => lostComments(readFileSync(join(source, f), 'utf8'), readFileSync(join(dir, f), 'utf8')).map((l) => `${f}: ${l}`));
    expect(lost).toEqual([]);
    const second = cli([dir, '--check', '--quiet']);
    expect(second.stdout).toBe('');
    expect(second.status).toBe(0);
  });
  /** A built service whose Dockerfile's final USER is non-root needs no `user:` (SPEC 2). */
  const dockerfileNonRoot = (folder: string, build: unknown): boolean => {
    if (build == null) return false;
    const spec = (typeof build === 'object' ? build : { context: build }) as { context?: string; dockerfile?: string; target?: string };
    const path = join(folder, spec.context ?? '.', spec.dockerfile ?? 'Dockerfile');
    if (!existsSync(path)) return false;
    const user = readDockerfile(readFileSync(path, 'utf8'), spec.target).user;
    return Boolean(user && !user.root);
  };
  it('every service ends up hardened, or is reported with a reason', () => {
    const reported = new Set([...first.stderr.matchAll(/^ {2}(.*?):\d+:\d+ +\w+ +([\w-]+): service "([^"]+)"/gm)].map((m) => `${m[1]}|${m[2]}|${m[3]}`));
    const problems: string[] = [];
    for (const f of files) {
      if (/override/.test(f)) continue;
      for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'), { merge: true })) {
        const root = doc.toJS({ maxAliasCount: 1000 }) as { services?: Record<string, Record<string, any>> } | null;
        if (!root?.services || typeof root.services !== 'object') continue;
        // A patch of a base file's service (compose.<x>.yaml, no image or build of its own): its
        // hardening is in the base file, which Compose merges it over.
        const base = baseServiceNames(f, (n) => {
          const p = join(dir, dirname(f), n);
          return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
        });
        for (const [name, raw] of Object.entries(root.services)) {
          const svc = raw ?? {};
          if (svc['x-cuirass']) continue;
          if (base?.has(name) && svc.image === undefined && svc.build === undefined) continue;
          const shown = typedPath(dir, dir, join(dir, f));
          const isReported = (id: string) => reported.has(`${shown}|${id}|${name}`);
          const opts = (svc.security_opt ?? []).map(String);
          const lim = svc.deploy?.resources?.limits ?? {};
          if (!opts.some((o: string) => /^no-new-privileges(:true)?$/.test(o))) problems.push(`${f} ${name}: no-new-privileges`);
          if (!(svc.cap_drop ?? []).includes('ALL')) problems.push(`${f} ${name}: cap_drop`);
          if (svc.read_only !== true && !isReported('read-only-root')) problems.push(`${f} ${name}: read_only`);
          if ((svc.user == null || /^(root|0)(:|$)/.test(String(svc.user))) && !isReported('run-as-non-root') && !(svc.user == null && dockerfileNonRoot(join(dir, dirname(f)), svc.build))) problems.push(`${f} ${name}: user`);
          if ((lim.memory ?? svc.mem_limit) == null || (lim.cpus ?? svc.cpus) == null || (lim.pids ?? svc.pids_limit) == null) problems.push(`${f} ${name}: limits`);
          if (svc.privileged === true) problems.push(`${f} ${name}: privileged`);
          if (opts.some((o: string) => /unconfined/.test(o))) problems.push(`${f} ${name}: unconfined`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
