/**
 * SPEC §7 "Nothing is lost": writes with an injected file system. A write(2) may write fewer
 * bytes than asked (a full disk, a signal); the writer must go on or fail, never keep a
 * truncated file. The concurrent merge re-reads what another writer renamed in meanwhile.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const inject = vi.hoisted(() => ({ limit: Infinity, failAfter: Infinity, written: 0, failOpen: undefined as RegExp | undefined }));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((fd: number, data: Buffer | string, ...rest: unknown[]) => {
    if (typeof data === 'string' || inject.limit === Infinity) return (real.writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
    const [offset = 0, length = data.length - (offset as number)] = rest as [number?, number?];
    if (inject.written >= inject.failAfter) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const n = Math.min(length, inject.limit, inject.failAfter - inject.written);
    inject.written += n;
    return real.writeSync(fd, data, offset, n);
  }) as typeof real.writeSync;
  const openSync = ((path: string, ...rest: unknown[]) => {
    if (inject.failOpen?.test(String(path))) throw Object.assign(new Error(`ENOSPC: no space left on device, open '${path}'`), { code: 'ENOSPC' });
    return (real.openSync as (...a: unknown[]) => number)(path, ...rest);
  }) as typeof real.openSync;
  return { ...real, default: { ...real, writeSync, openSync }, writeSync, openSync };
});

const { writeAtomic } = await import('../src/write.js');
const { writeGenerated } = await import('../src/emit.js');

afterEach(() => {
  inject.limit = Infinity;
  inject.failAfter = Infinity;
  inject.written = 0;
  inject.failOpen = undefined;
});

const TEXT = Array.from({ length: 2000 }, (_, i) => `line ${i}: ${'x'.repeat(20)}\n`).join('');

describe('short writes', () => {
  it('a write(2) that writes only part of the text is continued: the file is complete', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-short-'));
    const target = join(dir, 'deploy.yaml');
    writeFileSync(target, 'old\n');
    inject.limit = 4096;
    writeAtomic(target, TEXT);
    expect(readFileSync(target, 'utf8')).toBe(TEXT);
    // Every byte went through write(2): the text, and the pid recorded in the file's lock.
    expect(inject.written).toBe(Buffer.byteLength(TEXT) + String(process.pid).length);
  });

  it('a write that runs out of space fails, the target keeps its old content, no temporary file stays', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-short-'));
    const target = join(dir, 'deploy.yaml');
    writeFileSync(target, 'old\n');
    inject.limit = 4096;
    inject.failAfter = 32_768;
    expect(() => writeAtomic(target, TEXT)).toThrow(/ENOSPC/);
    expect(readFileSync(target, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['deploy.yaml']);
  });

  it('a write(2) that makes no progress is an error, not an endless loop or a short file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-short-'));
    const target = join(dir, 'deploy.yaml');
    writeFileSync(target, 'old\n');
    inject.limit = 0;
    expect(() => writeAtomic(target, TEXT)).toThrow(/ENOSPC/);
    expect(readFileSync(target, 'utf8')).toBe('old\n');
  });

  it('a merge re-reads the file when another writer replaced it before the rename: both additions are kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-short-'));
    const target = join(dir, '.gitignore');
    writeFileSync(target, '/a\n');
    let calls = 0;
    writeAtomic(target, (current) => {
      calls++;
      // Another writer (not cuirass, so without the lock) adds a line meanwhile, once.
      if (calls === 1) fs.writeFileSync(target, '/a\n/other\n');
      return `${current ?? ''}/mine\n`;
    });
    expect(readFileSync(target, 'utf8')).toBe('/a\n/other\n/mine\n');
    expect(calls).toBe(2);
  });

  it('the .gitignore rule is written before the secret files: when it cannot be written, no secret file is', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-order-'));
    inject.failOpen = /\.gitignore\.\d+\.[0-9a-f]+\.cuirass-tmp$/;
    // The order secrets-from-env plans them in: the secret file first, its rule after.
    const files = [
      { path: 'secrets/db_password', content: 'value', mode: 0o444, dirMode: 0o700, merge: 'replace' as const, secret: true },
      { path: '.gitignore', content: '/secrets/\n', mode: 0o644, merge: 'lines' as const, secret: false },
    ];
    expect(() => writeGenerated(dir, files, [])).toThrow(/ENOSPC/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
