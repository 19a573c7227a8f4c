import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/run-cli.js';

describe('atomic writes', () => {
  it('a write killed half-way leaves the old file whole, never a partial one; the mode is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-write-'));
    const target = join(dir, 'deploy.yaml');
    const before = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n';
    writeFileSync(target, before);
    chmodSync(target, 0o640);
    const big = 'x'.repeat(64 * 1024 * 1024);
    for (let attempt = 0; attempt < 5; attempt++) {
      const child = spawn(process.execPath, [
        '--input-type=module',
        '-e',
        `import { writeAtomic } from ${JSON.stringify(join(ROOT, 'dist/src/write.js'))};
         const text = 'apiVersion: v1\\n# ' + ${JSON.stringify(big.slice(0, 16))}.repeat(${big.length / 16}) + '\\n';
         process.stdout.write('go\\n');
         for (;;) writeAtomic(${JSON.stringify(target)}, text);`,
      ]);
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, 30 + attempt * 40));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const after = readFileSync(target, 'utf8');
      expect(after === before || (after.startsWith('apiVersion: v1\n# ') && after.endsWith('\n') && after.length === big.length + 18)).toBe(true);
      expect(statSync(target).mode & 0o777).toBe(0o640);
    }
  }, 60_000);
});
