import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/run-cli.js';

describe('corpus soak (npm run soak)', () => {
  it('runs over all of ../shared/corpus without a crash, unparsable output, lost comment, non-idempotent file or printed secret', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/soak.mjs')], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 600_000 });
    expect(r.stdout).toMatch(/^problems\s+0$/m);
    expect(r.stdout).toMatch(/^manifest files\s+\d{4}$/m);
    expect(r.status, r.stdout.split('\n').filter((l) => l.startsWith('PROBLEM')).join('\n')).toBe(0);
  }, 600_000);
});
