import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { TRANSFORMS } from '../transforms/index.js';
import { FIXTURES, fixturePairs, runFixture } from './support/harness.js';

const pairs = fixturePairs();

describe.each(pairs.map((p) => [`${p.transform}/${p.scenario}`, p] as const))('%s', (_name, pair) => {
  const result = runFixture(pair);
  it('produces the expected output byte for byte', () => {
    expect(result.errors).toEqual([]);
    expect(result.failure).toBeUndefined();
    expect(result.output).toBe(pair.expected);
  });
  it('output parses', () => {
    if (pair.ext === 'json') expect(() => JSON.parse(result.output)).not.toThrow();
    for (const doc of parseAllDocuments(result.output)) expect(doc.errors).toEqual([]);
  });
  it('is idempotent: hardening the output changes nothing and plans no fix', () => {
    const again = runFixture(pair, result.output);
    expect(again.output).toBe(result.output);
    expect(again.changes).toEqual([]);
  });
  if (pair.scenario.startsWith('already-hardened') || pair.input === pair.expected) {
    it('no-op input: no change at all', () => {
      expect(pair.expected).toBe(pair.input);
      expect(result.changes).toEqual([]);
    });
  }
  if (pair.expect) {
    it('reports the expected changes and unfixed findings at their lines', () => {
      const got = [
        ...result.changes.map((c) => ({ transform: c.transform, line: c.line, behaviorChanging: c.behaviorChanging, status: 'pending' })),
        ...result.remaining.map((c) => ({ transform: c.transform, line: c.line, behaviorChanging: c.behaviorChanging, status: 'unfixed' })),
      ];
      expect(got).toEqual(pair.expect!.map((e) => ({ behaviorChanging: false, status: 'pending', ...e })));
    });
  }
});

describe('transform registry', () => {
  const files = readdirSync(fileURLToPath(new URL('../transforms/', import.meta.url)))
    .filter((f) => f.endsWith('.ts') && !['index.ts', 'support.ts', 'volumes.ts', 'compose.ts', 'secrets.ts', 'network-policies.ts'].includes(f))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
  it('lists exactly the transform modules, each named after its id', () => {
    expect(TRANSFORMS.map((t) => t.id).sort()).toEqual(files);
  });
  it('every transform describes itself', () => {
    for (const t of TRANSFORMS) {
      expect(t.title.length, t.id).toBeGreaterThan(5);
      expect(t.breaks.length, t.id).toBeGreaterThan(5);
      expect(t.owasp, t.id).toMatch(/^(\d+(, \d+)*|\d+–\d+|—)$/);
      expect(['low', 'medium', 'high', 'critical']).toContain(t.severity);
    }
  });
  it('every transform has fixtures, including an already-hardened no-op', () => {
    const dirs = new Set(readdirSync(FIXTURES));
    for (const t of TRANSFORMS) {
      expect(dirs.has(t.id), t.id).toBe(true);
      expect(pairs.filter((p) => p.transform === t.id).length, t.id).toBeGreaterThanOrEqual(3);
      expect(pairs.some((p) => p.transform === t.id && p.input === p.expected), `${t.id} no-op`).toBe(true);
    }
  });
});
