import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hardenText } from '../../src/harden.js';
import type { HardenOptions, HardenResult } from '../../src/harden.js';
import { DEFAULT_SETTINGS } from '../../src/settings.js';
import { TRANSFORMS } from '../../transforms/index.js';

/** The project's `fixtures/` folder. */
export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** One before/after pair: `fixtures/<transform>/<scenario>.in.<ext>` and `.out.<ext>`. */
export interface FixturePair {
  transform: string;
  scenario: string;
  ext: string;
  input: string;
  expected: string;
  /** Optional `<scenario>.expect.json`: the changes it must report. */
  expect?: { transform: string; line: number; behaviorChanging?: boolean; status?: 'pending' | 'unfixed' }[];
}

/** Every fixture pair under `fixtures/` except the demo. */
export function fixturePairs(): FixturePair[] {
  const pairs: FixturePair[] = [];
  for (const transform of readdirSync(FIXTURES).sort()) {
    if (transform === 'demo') continue;
    const dir = join(FIXTURES, transform);
    for (const name of readdirSync(dir).sort()) {
      const m = /^(.*)\.in\.(ya?ml|json)$/.exec(name);
      if (!m) continue;
      const [, scenario, ext] = m;
      const out = join(dir, `${scenario}.out.${ext}`);
      const expectFile = join(dir, `${scenario}.expect.json`);
      pairs.push({
        transform,
        scenario,
        ext,
        input: readFileSync(join(dir, name), 'utf8'),
        expected: readFileSync(out, 'utf8'),
        expect: existsSync(expectFile) ? JSON.parse(readFileSync(expectFile, 'utf8')) : undefined,
      });
    }
  }
  return pairs;
}

/** Options a fixture runs with: only its transform (all of them for `all`), `baseline-` scenarios at baseline. */
export function fixtureOptions(pair: Pick<FixturePair, 'transform' | 'scenario'>): HardenOptions {
  return {
    transforms: pair.transform === 'all' ? TRANSFORMS : TRANSFORMS.filter((t) => t.id === pair.transform),
    level: pair.scenario.startsWith('baseline-') ? 'baseline' : 'restricted',
    settings: DEFAULT_SETTINGS,
    hasFolder: true,
  };
}

/** Hardens a fixture input the way the CLI does for a file of that name. */
export function runFixture(pair: FixturePair, text = pair.input): HardenResult {
  const file = /^compose|compose-/.test(pair.scenario) ? 'compose.yaml' : `${pair.scenario}.${pair.ext}`;
  return hardenText(text, fixtureOptions(pair), { json: pair.ext === 'json', file: pair.scenario.includes('override') ? 'compose.override.yaml' : file });
}
