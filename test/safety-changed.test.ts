/**
 * SPEC §7 "Nothing is lost": a line appended to a manifest while a long `--write` hardened it
 * is not overwritten: the file changed since it was read is refused (exit 2) and keeps what
 * its author wrote. The default command in-process, with the append injected between the read
 * and the write.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { deployment, tree } from './support/tree.js';

const hook = vi.hoisted(() => ({ during: undefined as undefined | ((display: string) => void) }));

vi.mock('../src/run.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/run.js')>();
  return {
    ...real,
    processText: (...args: Parameters<typeof real.processText>) => {
      const out = real.processText(...args);
      hook.during?.(args[0]);
      return out;
    },
  };
});

const { runHarden } = await import('../src/commands/harden.js');

describe('a manifest changed while it was hardened', () => {
  it('is refused, keeps the appended line, and the run exits 2; the other file is written', async () => {
    const dir = tree({ 'a.yaml': deployment('a', 'plain'), 'b.yaml': deployment('b', 'plain') });
    const appended = '# added while cuirass ran\n';
    hook.during = (display) => {
      if (display.endsWith('a.yaml')) appendFileSync(join(dir, 'a.yaml'), appended);
    };
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code: number;
    try {
      code = await runHarden([join(dir, 'a.yaml'), join(dir, 'b.yaml')], { write: true, color: false, skip: ['network-segmentation'] });
    } finally {
      hook.during = undefined;
    }
    const messages = stderr.mock.calls.map((c) => String(c[0])).join('');
    stderr.mockRestore();
    expect(code).toBe(2);
    expect(messages).toMatch(/a\.yaml: not written: a\.yaml changed since cuirass read it/);
    expect(readFileSync(join(dir, 'a.yaml'), 'utf8')).toBe(deployment('a', 'plain') + appended);
    expect(readFileSync(join(dir, 'b.yaml'), 'utf8')).toContain('runAsNonRoot: true');
  });
});
