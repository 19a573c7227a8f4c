/**
 * SPEC section 8: any number of documents works (no per-document argument lists, no recursion)
 * and section 7: huge inputs are bounded, stdin too. Sizes, not times: nothing here depends on
 * how fast the machine is (memory is measured by the benchmark, `bench/run.mjs`).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { MAX_STDIN_BYTES, STDIN_TOO_LARGE, readStdin } from '../src/load.js';
import { CLI_PATH, ROOT, runCli } from './support/cli.js';

const POD = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: example/a:1.0\n';
/** More documents than a spread's argument list holds (it overflowed past ~120,000). */
const MANY = 150_000;
/** 150,000 documents are real work (~20 s on a loaded 2-core machine): not a time limit. */
const LONG = 600_000;

describe('a stream of 150,000 documents', () => {
  // One run of the built CLI: the passes (hardenText), the run-wide steps and the printing.
  it('`cuirass - --format yaml` hardens the Pods and prints every document', () => {
    const pods = Array.from({ length: 3 }, (_, i) => POD.replace('name: p', `name: p${i}`)).join('---\n');
    const r = runCli(['-', '--format', 'yaml', '--quiet'], { input: pods + '---\n'.repeat(MANY) });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    // The hardened Pods, every empty document after them, then the generated network policies.
    const empties = r.stdout.indexOf('\n' + '---\n'.repeat(MANY));
    expect(empties).toBeGreaterThan(0);
    const head = parseAllDocuments(r.stdout.slice(0, empties + 1));
    expect(head.map((d) => d.toJS().spec.containers[0].securityContext.allowPrivilegeEscalation)).toEqual([false, false, false]);
    const tail = parseAllDocuments(r.stdout.slice(empties + 1 + 4 * MANY));
    expect(tail.length).toBeGreaterThan(0);
    expect(tail.every((d) => d.toJS()?.kind === 'NetworkPolicy')).toBe(true);
  }, LONG);
});

describe('stdin has a size limit', () => {
  it('readStdin stops at the first byte over the limit and says why', async () => {
    let served = 0;
    const endless = new Readable({
      read() {
        served += 1 << 20;
        this.push(Buffer.alloc(1 << 20, 0x61));
      },
    });
    expect(await readStdin(endless)).toEqual({ error: STDIN_TOO_LARGE });
    // It read no more than the limit and one chunk past it (plus what the stream buffered).
    expect(served).toBeLessThanOrEqual(MAX_STDIN_BYTES + 4 * (1 << 20));
    expect(await readStdin(Readable.from([Buffer.from('a: 1\n')]))).toEqual({ text: 'a: 1\n' });
  });

  it('`cuirass - < /dev/zero`, `check -` and `fn` exit 2 with the message, reading only up to the limit', () => {
    for (const args of [['-'], ['check', '-'], ['fn']]) {
      const zero = openSync('/dev/zero', 'r');
      try {
        const r = spawnSync(process.execPath, [CLI_PATH, ...args], { cwd: ROOT, stdio: [zero, 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toBe(`cuirass: <stdin>: ${STDIN_TOO_LARGE}\n`);
      } finally {
        closeSync(zero);
      }
    }
  });
});
