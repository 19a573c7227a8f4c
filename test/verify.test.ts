import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardenText } from '../src/harden.js';
import type { HardenOptions, TextInfo } from '../src/harden.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import type { ConfigExemption } from '../src/config.js';
import { configureVerifier, releaseVerifier, verifierReady, verifierStats } from '../src/verify.js';
import { TRANSFORMS } from '../transforms/index.js';
// @ts-expect-error the benchmark's generator is plain JavaScript
import { generateK8sDocs, k8sStream } from '../bench/generate.mjs';
import { CORPUS } from './support/run-cli.js';

/**
 * The worker thread that re-checks hardened documents (src/verify.ts) must not change a single
 * byte or finding: every case runs once on the main thread alone and once with the worker, and
 * the results must be equal, exemption use included. The counters show the worker did the work.
 */

const BASE: HardenOptions = { transforms: TRANSFORMS, level: 'restricted', settings: DEFAULT_SETTINGS };

type Stats = typeof verifierStats;

function delta(before: Stats): Stats {
  return Object.fromEntries(Object.entries(verifierStats).map(([k, v]) => [k, v - before[k as keyof Stats]])) as Stats;
}

/**
 * Hardens `input` without and with the worker (fresh copies of the exemptions for each). With
 * `steal` off the main thread waits for the worker's answers instead of re-checking what the
 * worker has not reached yet, so the counts do not depend on how busy the machine is.
 */
function both(input: string, options: Partial<HardenOptions> = {}, info: TextInfo = {}, steal = false) {
  const exemptions = options.exemptions ?? [];
  const alone = { ...BASE, ...options, exemptions: structuredClone(exemptions) };
  const shared = { ...BASE, ...options, exemptions: structuredClone(exemptions) };
  configureVerifier({ enabled: false });
  const expected = hardenText(input, alone, info);
  configureVerifier({ enabled: true, minBytes: 0, minDocs: 2, minRunBytes: 0, steal });
  const before = { ...verifierStats };
  const actual = hardenText(input, shared, info);
  return { expected, actual, stats: delta(before), used: [alone.exemptions.map((e) => e.used), shared.exemptions.map((e) => e.used)] };
}

const stream = (count: number, seed?: number) => k8sStream(generateK8sDocs(count, seed)) as string;

beforeAll(async () => {
  await verifierReady();
}, 60_000);

afterAll(() => {
  configureVerifier({ enabled: true, minBytes: 64 * 1024, minDocs: 16, minRunBytes: 2 * 1024 * 1024, stallMs: 60_000, steal: true });
  releaseVerifier();
});

describe('re-checking on a worker thread', () => {
  it('gives the same output and findings as the main thread alone, and does the re-checks', () => {
    const input = stream(400);
    const { expected, actual, stats } = both(input);
    expect(actual).toEqual(expected);
    expect(expected.output).not.toBe(input);
    expect(stats.sessions).toBe(1);
    // The worker re-checks the hardened documents, with the stream's style facts; in table
    // order every document settles in the pass after its edits.
    expect(stats.byWorker).toBeGreaterThan(250);
    expect(stats.laterPasses).toBe(0);
    expect(stats.byMain).toBe(0);
  });

  it('takes documents through later passes on the worker', () => {
    // no-new-privileges before no-privileged and drop-capabilities cannot know that they remove
    // privileged / SYS_ADMIN: it waits for the pass after their edits, a third pass.
    const late = ['no-new-privileges', 'no-privileged', 'drop-capabilities'];
    const transforms = [...late.map((id) => TRANSFORMS.find((t) => t.id === id)!), ...TRANSFORMS.filter((t) => !late.includes(t.id))];
    expect(transforms.map((t) => t.id).slice(0, 3)).toEqual(late);
    const input = stream(400);
    const { expected, actual, stats } = both(input, { transforms });
    expect(actual).toEqual(expected);
    expect(stats.byWorker).toBeGreaterThan(250);
    expect(stats.laterPasses).toBeGreaterThan(20);
    expect(stats.byMain).toBe(0);
  });

  it('is equal when the main thread re-checks what the worker has not reached yet', () => {
    const { expected, actual, stats } = both(stream(400), {}, {}, true);
    expect(actual).toEqual(expected);
    // Every hardened document is answered once, by one side.
    expect(stats.byWorker + stats.byMain + stats.handedBack).toBeGreaterThan(250);
  });

  it('is equal at the baseline level, with SARIF edits, with --egress, and for another seed', () => {
    for (const [input, options] of [
      [stream(150), { level: 'baseline' as const }],
      [stream(150), { withEdits: true }],
      [stream(150, 7), { flags: { egress: true } }],
    ] as const) {
      const { expected, actual, stats } = both(input, options);
      expect(actual).toEqual(expected);
      expect(stats.byWorker).toBeGreaterThan(0);
    }
  });

  it('reports the use of config exemptions as the main thread does', () => {
    const input = stream(120);
    const name = /name: "?(deploy-\d+)"?/.exec(input)![1];
    const exemptions: ConfigExemption[] = [
      { match: { kind: 'Deployment', name }, skip: ['read-only-root'], reason: 'writes its cache', source: 'cuirass.config.yaml:3' },
      { match: { kind: 'Deployment', name: 'no-such-thing' }, skip: ['seccomp'], reason: 'never matches', source: 'cuirass.config.yaml:6' },
    ];
    const { expected, actual, used } = both(input, { exemptions });
    expect(actual).toEqual(expected);
    expect(used[0].map(Boolean)).toEqual([true, false]);
    expect(used[1].map(Boolean)).toEqual([true, false]);
    expect(actual.suppressed.length).toBeGreaterThan(0);
  });

  it('is equal on JSON documents inside a YAML stream and on documents that stay as they are', () => {
    const pod = (name: string) => `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "${name}"}, "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}\n`;
    const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: "1"\n`;
    const input = ['# leading comment\n' + cm('first'), pod('p1'), cm('second'), pod('p2'), stream(20)].join('---\n');
    const { expected, actual, stats } = both(input);
    expect(actual).toEqual(expected);
    expect(stats.byWorker).toBeGreaterThan(0);
  });

  it('is equal on every multi-document Kubernetes file of the corpus', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.ya?ml$/.test(name)) files.push(path);
      }
    };
    walk(CORPUS);
    let compared = 0;
    let byWorker = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      if ((text.match(/^---/gm) ?? []).length < 1 || !/^kind:/m.test(text)) continue;
      const { expected, actual, stats } = both(text, {}, { file });
      expect(actual, file).toEqual(expected);
      compared++;
      byWorker += stats.byWorker;
    }
    console.log(`verify.test: ${compared} corpus files compared, ${byWorker} documents re-checked by the worker`);
    expect(compared).toBeGreaterThan(20);
    expect(byWorker).toBeGreaterThan(20);
  });

  it('falls back to the main thread when the worker does not answer in time, with the same result', async () => {
    const input = stream(300);
    configureVerifier({ stallMs: 0 });
    try {
      const { expected, actual } = both(input, {}, {}, true);
      expect(actual).toEqual(expected);
    } finally {
      configureVerifier({ stallMs: 60_000 });
    }
    // A worker given up on is replaced once released (as each command does at its end).
    releaseVerifier();
    await verifierReady();
    const { expected, actual, stats } = both(stream(100));
    expect(actual).toEqual(expected);
    expect(stats.byWorker).toBeGreaterThan(0);
  });
});
