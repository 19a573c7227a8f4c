import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { discover, typedPath } from '../src/load.js';
import { cli } from './support/run-cli.js';

describe('paths the user typed are shown as typed', () => {
  it('a missing absolute path is named as typed, in words, and exits 2', () => {
    const r = cli(['/definitely/not/here']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cuirass: /definitely/not/here: no such file or directory (ENOENT)\n');
    expect(r.stderr).not.toContain('../');
  });

  it('a missing relative path is named relative to the working directory', () => {
    const r = cli(['./nope/../not-here.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cuirass: not-here.yaml: no such file or directory (ENOENT)\n');
  });

  it('files under an absolute folder keep the typed prefix, never ../../', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-paths-'));
    mkdirSync(join(dir, 'k8s'));
    writeFileSync(join(dir, 'k8s', 'pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x:1}]}\n');
    const cwd = join(dir, 'k8s');
    const deep = mkdtempSync(join(tmpdir(), 'cuirass-cwd-'));
    const far = join(deep, 'a', 'b');
    mkdirSync(far, { recursive: true });
    expect(discover([dir], far).files.map((f) => f.display)).toEqual([`${dir}/k8s/pod.yaml`]);
    expect(discover([dir], cwd).files.map((f) => f.display)).toEqual(['pod.yaml']);
    expect(discover(['../k8s/pod.yaml'], cwd).files.map((f) => f.display)).toEqual(['pod.yaml']);
    expect(discover([join(dir, 'missing')], far).errors).toEqual([{ display: `${dir}/missing`, message: 'no such file or directory (ENOENT)' }]);
  });

  it('typedPath: as typed, or relative when shorter and not climbing two folders', () => {
    expect(typedPath('/srv/app', '/srv/app', '/srv/app/compose.yaml', '/home/me/work')).toBe('/srv/app/compose.yaml');
    expect(typedPath('/home/me/work/app', '/home/me/work/app', '/home/me/work/app/x.yaml', '/home/me/work')).toBe('app/x.yaml');
    expect(typedPath('/home/me/app', '/home/me/app', '/home/me/app/x.yaml', '/home/me/work')).toBe('../app/x.yaml');
    expect(typedPath('../../app', '/home/app', '/home/app/x.yaml', '/home/me/work')).toBe('../../app/x.yaml');
    expect(typedPath('.', '/home/me/work', '/home/me/work', '/home/me/work')).toBe('.');
  });
});
