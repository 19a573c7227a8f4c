import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { TRANSFORMS } from '../transforms/index.js';
import { WORKLOAD_KINDS } from '../src/kubernetes/model.js';
import { checkPodSecurity } from './support/pss.js';
import {
  FIXTURES_DIR,
  discoverDockerfileFixtures,
  discoverFixtures,
  expectedFindings,
  findingsOf,
  hardenFixture,
  isNoOp,
  levelOf,
  orphanFiles,
} from './support/fixtures.js';
import type { Fixture } from './support/fixtures.js';
import { parseSource } from '../src/engine/source.js';
import { planFindings } from '../src/harden.js';
import type { HardenOptions } from '../src/harden.js';
import type { Finding } from '../src/types.js';
import type { ConfigExemption } from '../src/config.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';

const fixtures = discoverFixtures();

/** Kinds whose documents a transform may edit; every other document must stay byte-identical. */
const EDITABLE_KINDS = new Set([...WORKLOAD_KINDS, 'Namespace', 'List']);

function documentsOf(text: string) {
  return parseAllDocuments(text.replace(/^\uFEFF/, ''));
}

/** Full-line comments: hardening may remove a pair with the comment on its line, never these. */
function commentLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => /^\s*#/.test(l)).map((l) => l.trim());
}

function objectsOf(text: string): Record<string, unknown>[] {
  return documentsOf(text)
    .map((d) => d.toJS() as unknown)
    .filter((o): o is Record<string, unknown> => typeof o === 'object' && o !== null && 'kind' in o && 'apiVersion' in o);
}

describe.each(fixtures.map((f) => [`${f.transform}/${f.scenario}`, f] as const))('%s', (_name, fixture: Fixture) => {
  const result = hardenFixture(fixture);

  it('parses and passes its own re-check', () => {
    expect(result.errors).toEqual([]);
    expect(result.failure).toBeUndefined();
  });

  // A known bug keeps the output a person would write; the check fails until the tool is fixed
  // (then delete `<scenario>.known-bug.md`).
  (fixture.knownBug ? it.fails : it)(fixture.knownBug ? 'produces the expected output byte for byte (KNOWN BUG)' : 'produces the expected output byte for byte', () => {
    expect(result.output).toBe(fixture.expected);
  });

  it('output parses', () => {
    if (fixture.ext === 'json') expect(() => JSON.parse(result.output.replace(/^\uFEFF/, ''))).not.toThrow();
    for (const doc of documentsOf(result.output)) expect(doc.errors).toEqual([]);
  });

  it('is idempotent: hardening the output gives the same bytes and no fixable finding', () => {
    const again = hardenFixture(fixture, result.output);
    expect(again.output).toBe(result.output);
    expect(again.changes).toEqual([]);
    expect(again.remaining.filter((f) => f.fixable)).toEqual([]);
  });

  it('keeps every full-line comment and every Kubernetes object it does not harden', () => {
    for (const comment of commentLines(fixture.input)) expect(result.output).toContain(comment);
    if (fixture.ext === 'json') return;
    for (const doc of documentsOf(fixture.input)) {
      const kind = (doc.toJS() as { kind?: unknown } | null)?.kind;
      if (typeof kind !== 'string' || EDITABLE_KINDS.has(kind)) continue;
      const [start, , end] = doc.range;
      const offset = fixture.input.startsWith('\uFEFF') ? 1 : 0;
      expect(result.output).toContain(fixture.input.slice(start + offset, end + offset));
    }
  });

  if (isNoOp(fixture)) {
    (fixture.knownBug ? it.fails : it)(fixture.knownBug ? 'no-op scenario: nothing changes (KNOWN BUG)' : 'no-op scenario: nothing changes', () => {
      expect(fixture.expected).toBe(fixture.input);
      expect(result.changes).toEqual([]);
      expect(result.output).toBe(fixture.input);
    });
  }

  const findings = expectedFindings(fixture);
  if (findings) {
    it('reports the expected changes and unfixed findings, at their lines', () => {
      expect(findingsOf(result)).toEqual(findings);
    });
  }

  if (fixture.transform === 'secrets-from-env' || fixture.transform === 'all') {
    it('leaves no secret value in the output', () => {
      for (const secret of result.secrets) expect(result.output).not.toContain(secret);
    });
  }

  // Restricted output passes the restricted profile; baseline keeps what the file says, so no claim.
  if (fixture.transform === 'all' && result.kubernetes && levelOf(fixture.scenario) === 'restricted') {
    it('passes the restricted Pod Security Standard except for volumes a person must replace', () => {
      for (const object of objectsOf(result.output)) {
        const violations = checkPodSecurity(object, 'restricted').filter((v) => !v.volume);
        expect(violations, String(object.kind)).toEqual([]);
      }
    });
  }
});

describe('transform registry', () => {
  const folder = fileURLToPath(new URL('../transforms/', import.meta.url));
  /** Modules of `transforms/` that hold shared code, not a transform. */
  const HELPERS = ['compose-env.ts', 'compose-links.ts', 'index.ts', 'support.ts', 'volumes.ts', 'compose.ts', 'secrets.ts', 'network-policies.ts', 'daemon.ts', 'dockerfile.ts', 'pss-level.ts'];
  const files = readdirSync(folder).filter((f) => f.endsWith('.ts'));

  it('lists exactly the transform modules of transforms/, each id equal to its file name', () => {
    const modules = files.filter((f) => !HELPERS.includes(f)).map((f) => f.replace(/\.ts$/, '')).sort();
    expect(TRANSFORMS.map((t) => t.id).sort()).toEqual(modules);
    expect(new Set(TRANSFORMS.map((t) => t.id)).size).toBe(TRANSFORMS.length);
  });

  it('helper modules export no transform (so none hides in the helper list)', async () => {
    for (const helper of HELPERS.filter((h) => h !== 'index.ts' && files.includes(h))) {
      const mod = (await import(`../transforms/${helper.replace(/\.ts$/, '.js')}`)) as { default?: unknown };
      expect(mod.default, helper).toBeUndefined();
    }
  });

  it('every transform describes itself: id, OWASP rule, title, what it breaks', () => {
    for (const t of TRANSFORMS) {
      expect(t.id, t.id).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(t.owasp.trim(), t.id).not.toBe('');
      expect(t.title.trim(), t.id).not.toBe('');
      expect(t.breaks.trim(), t.id).not.toBe('');
      expect(typeof t.pod === 'function' || typeof t.object === 'function' || typeof t.service === 'function' || typeof t.composeFile === 'function' || typeof t.project === 'function' || typeof t.daemon === 'function' || typeof t.dockerfile === 'function', t.id).toBe(true);
    }
  });

  it('every transform has a fixtures folder with at least 3 scenarios, one of them a no-op', () => {
    const folders = new Set(readdirSync(FIXTURES_DIR));
    for (const t of TRANSFORMS) {
      expect(folders.has(t.id), `fixtures/${t.id}/`).toBe(true);
      const own = fixtures.filter((f) => f.transform === t.id);
      const dockerfiles = discoverDockerfileFixtures().filter((f) => f.transform === t.id);
      expect(own.length + dockerfiles.length, t.id).toBeGreaterThanOrEqual(3);
      expect(own.some(isNoOp) || dockerfiles.some((f) => f.input === f.expected), `${t.id} has a no-op scenario`).toBe(true);
    }
  });

  it('every fixtures folder is a transform id or all/, and holds no orphan files', () => {
    const ids = new Set([...TRANSFORMS.map((t) => t.id), 'all']);
    for (const folder of new Set([...fixtures, ...discoverDockerfileFixtures()].map((f) => f.transform))) {
      expect(ids.has(folder), folder).toBe(true);
      expect(orphanFiles(folder), folder).toEqual([]);
    }
  });

  it('every expect.json names only known transforms and positive lines', () => {
    const ids = new Set(TRANSFORMS.map((t) => t.id));
    for (const f of fixtures) {
      for (const e of f.findings ?? []) {
        expect(ids.has(e.transform), `${f.transform}/${f.scenario}: ${e.transform}`).toBe(true);
        expect(e.line, `${f.transform}/${f.scenario}`).toBeGreaterThan(0);
      }
    }
  });
});

describe('transforms that another one unblocks', () => {
  const text = `apiVersion: v1
kind: Pod
metadata:
  name: agent
spec:
  containers:
    - name: agent
      image: registry.example.com/agent:1.0.0
      securityContext:
        privileged: true
    - name: fuse
      image: registry.example.com/fuse:1.0.0
      securityContext:
        capabilities:
          add: [SYS_ADMIN]
`;
  const plan = (options: Partial<HardenOptions>) =>
    planFindings(parseSource(text), { transforms: TRANSFORMS, level: 'restricted', settings: DEFAULT_SETTINGS, ...options }).filter(
      (f) => f.transform === 'no-new-privileges',
    );

  it('no-new-privileges is planned in the pass that removes privileged and SYS_ADMIN', () => {
    const nnp = plan({});
    expect(nnp.map((f) => [f.field, f.fixable, f.ops.length > 0])).toEqual([
      ['spec.containers[0].securityContext.allowPrivilegeEscalation', true, true],
      ['spec.containers[1].securityContext.allowPrivilegeEscalation', true, true],
    ]);
  });

  it('stays blocked when the removal does not happen (level, skip or exemption)', () => {
    const reasons = (findings: Finding[]) => findings.map((f) => [f.fixable, /cannot be forbidden while the container is (privileged|given SYS_ADMIN)/.exec(f.message)?.[1]]);
    const blocked = [
      [false, 'privileged'],
      [false, 'given SYS_ADMIN'],
    ];
    expect(reasons(plan({ level: 'baseline' }))).toEqual(blocked);
    expect(reasons(plan({ transforms: TRANSFORMS.filter((t) => t.id !== 'no-privileged' && t.id !== 'drop-capabilities') }))).toEqual(blocked);
    const exemptions: ConfigExemption[] = [{ match: { kind: 'Pod', name: 'agent' }, skip: ['no-privileged', 'drop-capabilities'], reason: 'node agent', source: 'cuirass.config.yaml:3' }];
    expect(reasons(plan({ exemptions }))).toEqual(blocked);
  });
});
