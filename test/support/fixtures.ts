import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hardenText } from '../../src/harden.js';
import type { HardenOptions, HardenResult } from '../../src/harden.js';
import { DEFAULT_SETTINGS } from '../../src/settings.js';
import { TRANSFORMS } from '../../transforms/index.js';

/** The project's `fixtures/` folder. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** Folders of `fixtures/` that hold no fixture pairs. */
const NOT_FIXTURES = new Set(['demo', 'project']);

/** One expected finding of `<scenario>.expect.json`: changes first, then unfixed findings. */
export interface ExpectedFinding {
  transform: string;
  line: number;
  behaviorChanging?: boolean;
  /** `pending` (a change, the default) or `unfixed` (still standing in the output). */
  status?: 'pending' | 'unfixed';
}

/**
 * A byte-exact fixture: `fixtures/<transform>/<scenario>.in.<ext>` hardened with only that
 * transform (every transform for `all/`) must give `<scenario>.out.<ext>`.
 */
export interface Fixture {
  /** Transform id, or `all`. */
  transform: string;
  scenario: string;
  ext: 'yaml' | 'yml' | 'json';
  input: string;
  expected: string;
  /** `<scenario>.expect.json`, when present. */
  findings?: ExpectedFinding[];
  /**
   * `<scenario>.known-bug.md`, when present: the `.out` holds what a person would write and
   * the tool does not produce it yet. The exact-output check is expected to fail.
   */
  knownBug?: string;
}

const IN_FILE = /^(.+)\.in\.(ya?ml|json)$/;
const COMPANION = /^(.+)\.(out\.(?:ya?ml|json|Dockerfile)|expect\.json|known-bug\.md)$/;
/** A Dockerfile fixture's input (see `discoverDockerfileFixtures`). */
const DOCKERFILE_IN = /^(.+)\.in\.Dockerfile$/;

/** Every fixture below `fixtures/`, sorted by transform and scenario. Throws on a half pair. */
export function discoverFixtures(): Fixture[] {
  const fixtures: Fixture[] = [];
  for (const transform of readdirSync(FIXTURES_DIR).sort()) {
    const dir = join(FIXTURES_DIR, transform);
    if (NOT_FIXTURES.has(transform) || !statSync(dir).isDirectory()) continue;
    for (const name of readdirSync(dir).sort()) {
      const m = IN_FILE.exec(name);
      if (!m) continue;
      const [, scenario, ext] = m;
      const read = (file: string) => readFileSync(join(dir, file), 'utf8');
      const out = `${scenario}.out.${ext}`;
      if (!existsSync(join(dir, out))) throw new Error(`fixtures/${transform}/${name} has no ${out}`);
      const expectFile = `${scenario}.expect.json`;
      const bugFile = `${scenario}.known-bug.md`;
      fixtures.push({
        transform,
        scenario,
        ext: ext as Fixture['ext'],
        input: read(name),
        expected: read(out),
        findings: existsSync(join(dir, expectFile)) ? (JSON.parse(read(expectFile)) as ExpectedFinding[]) : undefined,
        knownBug: existsSync(join(dir, bugFile)) ? read(bugFile).trim() : undefined,
      });
    }
  }
  return fixtures;
}

/** Files of a fixture folder that belong to no `.in` file (a renamed or deleted scenario). */
export function orphanFiles(transform: string): string[] {
  const names = readdirSync(join(FIXTURES_DIR, transform));
  const input = (n: string) => IN_FILE.exec(n) ?? DOCKERFILE_IN.exec(n);
  const scenarios = new Set(names.flatMap((n) => (input(n) ? [input(n)![1]] : [])));
  return names.filter((n) => !input(n) && !scenarios.has(COMPANION.exec(n)?.[1] ?? '\u0000'));
}

/** The level of a scenario: `baseline-…` scenarios run at baseline, all others at restricted. */
export function levelOf(scenario: string): HardenOptions['level'] {
  return scenario.startsWith('baseline-') ? 'baseline' : 'restricted';
}

/** Options a fixture runs with: only its own transform (all of them for `all/`). */
export function optionsFor(fixture: Pick<Fixture, 'transform' | 'scenario'>): HardenOptions {
  return {
    transforms: fixture.transform === 'all' ? TRANSFORMS : TRANSFORMS.filter((t) => t.id === fixture.transform),
    level: levelOf(fixture.scenario),
    settings: DEFAULT_SETTINGS,
    hasFolder: true,
    // `…fix-userns-remap…` scenarios run with --fix-userns-remap.
    ...(/fix-userns-remap/.test(fixture.scenario) ? { flags: { fixUsernsRemap: true } } : {}),
  };
}

/**
 * File name a fixture is hardened as: Compose scenarios (`compose…`) as `compose.yaml`
 * (`compose.override.yaml` when the name says override), daemon scenarios (`daemon…`) as
 * `daemon.json`, the others as `<scenario>.<ext>`.
 */
export function fileNameOf(fixture: Pick<Fixture, 'scenario' | 'ext'>): string {
  if (/^(baseline-)?daemon/.test(fixture.scenario)) return 'daemon.json';
  if (!/^compose/.test(fixture.scenario)) return `${fixture.scenario}.${fixture.ext}`;
  return fixture.scenario.includes('override') ? 'compose.override.yaml' : 'compose.yaml';
}

/** Hardens `text` (the fixture's input by default) the way the CLI hardens that file. */
export function hardenFixture(fixture: Fixture, text = fixture.input): HardenResult {
  return hardenText(text, optionsFor(fixture), { json: fixture.ext === 'json', file: fileNameOf(fixture) });
}

/** A no-op scenario: `already-…` by name, or a `.out` equal to its `.in`. */
export function isNoOp(fixture: Fixture): boolean {
  return fixture.scenario.startsWith('already-') || fixture.input === fixture.expected;
}

/** The findings of a run in the shape of `<scenario>.expect.json`, every field spelled out. */
export function findingsOf(result: HardenResult): Required<ExpectedFinding>[] {
  return [
    ...result.changes.map((c) => ({ transform: c.transform, line: c.line, behaviorChanging: c.behaviorChanging, status: 'pending' as const })),
    ...result.remaining.map((c) => ({ transform: c.transform, line: c.line, behaviorChanging: c.behaviorChanging, status: 'unfixed' as const })),
  ];
}

/** `<scenario>.expect.json` with its defaults filled in (not behavior-changing, pending). */
export function expectedFindings(fixture: Fixture): Required<ExpectedFinding>[] | undefined {
  return fixture.findings?.map((f) => ({ behaviorChanging: false, status: 'pending' as const, ...f }));
}

/** A Dockerfile fixture: `fixtures/<transform>/<scenario>.in.Dockerfile` and `.out.Dockerfile`. */
export interface DockerfileFixture {
  transform: string;
  scenario: string;
  input: string;
  expected: string;
  findings?: ExpectedFinding[];
}

/** Every Dockerfile fixture below `fixtures/`, sorted by transform and scenario. Throws on a half pair. */
export function discoverDockerfileFixtures(): DockerfileFixture[] {
  const out: DockerfileFixture[] = [];
  for (const transform of readdirSync(FIXTURES_DIR).sort()) {
    const dir = join(FIXTURES_DIR, transform);
    if (NOT_FIXTURES.has(transform) || !statSync(dir).isDirectory()) continue;
    for (const name of readdirSync(dir).sort()) {
      const m = DOCKERFILE_IN.exec(name);
      if (!m) continue;
      const read = (file: string) => readFileSync(join(dir, file), 'utf8');
      const outFile = `${m[1]}.out.Dockerfile`;
      if (!existsSync(join(dir, outFile))) throw new Error(`fixtures/${transform}/${name} has no ${outFile}`);
      const expectFile = `${m[1]}.expect.json`;
      out.push({
        transform,
        scenario: m[1],
        input: read(name),
        expected: read(outFile),
        findings: existsSync(join(dir, expectFile)) ? (JSON.parse(read(expectFile)) as ExpectedFinding[]) : undefined,
      });
    }
  }
  return out;
}
