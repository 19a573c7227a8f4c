/**
 * SPEC §7: files are read and written only inside the input tree; FIFOs and devices are
 * refused; bytes that are not UTF-8 are refused with file:line:col; a target that cannot be
 * written (a folder, a name too long) is found before anything is written; owner, group and
 * mode are kept; a full disk leaves every file as it was and exits 2. The built CLI.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cli } from './support/run-cli.js';
import { composeFile, deployment, listing, tree } from './support/tree.js';

const SECRET = 's3cr3t-Value-42';
const TOKEN = 'ghp_0utside0token0never0printed';

function outside(content: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cuirass-outside-'));
  const file = join(dir, 'target');
  writeFileSync(file, content);
  return { dir, file };
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** Runs the CLI; a run that hangs (a FIFO read) would show as a null status, not a test timeout. */
function run(args: string[], cwd: string, input?: Buffer) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, input, encoding: 'utf8', timeout: 300_000, env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('symlinks that leave the input tree', () => {
  it('a secrets/ folder linked outside gets nothing written into it and keeps its mode', () => {
    const out = mkdtempSync(join(tmpdir(), 'cuirass-outside-'));
    chmodSync(out, 0o1777);
    const dir = tree({ 'compose.yaml': composeFile() });
    symlinkSync(out, join(dir, 'secrets'));
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/compose\.yaml.*secrets is a symlink/);
    expect(listing(out)).toEqual([]);
    expect(statSync(out).mode & 0o7777).toBe(0o1777);
    expect(readFileSync(join(dir, 'compose.yaml'), 'utf8')).toBe(composeFile());
    expect(existsSync(join(dir, '.gitignore'))).toBe(false);
  });

  it('a .env linked outside is neither printed by a plain run nor written by --write', () => {
    const target = outside(`https://user:${TOKEN}@github.com\n`);
    const compose = `services:\n  app:\n    image: example/app:1\n    environment:\n      DATABASE_URL: postgres://u:${SECRET}@db/app\n`;
    // git-ignored, as a .env should be: before, the password was merged into it through the link.
    const dir = tree({ 'compose.yaml': compose, '.gitignore': '/.env\n' });
    symlinkSync(target.file, join(dir, '.env'));
    const plain = cli(['.'], { cwd: dir });
    expect(plain.stdout + plain.stderr).not.toContain(TOKEN);
    expect(plain.stdout + plain.stderr).not.toContain(SECRET);
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    expect(readFileSync(target.file, 'utf8')).toBe(`https://user:${TOKEN}@github.com\n`);
    // The password went to the service's own env file instead (git-ignored, 0600).
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'secrets/app.env'), 'utf8')).toContain(SECRET);
  });

  it('an app.secrets.yaml linked outside is neither printed nor written', () => {
    const kubeconfig = `apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user: {token: ${TOKEN}}\n`;
    const target = outside(kubeconfig);
    const dir = tree({ 'app.yaml': deployment('app') });
    symlinkSync(target.file, join(dir, 'app.secrets.yaml'));
    const plain = cli(['.'], { cwd: dir });
    expect(plain.stdout + plain.stderr).not.toContain(TOKEN);
    expect(plain.stdout).not.toContain(SECRET);
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    expect(readFileSync(target.file, 'utf8')).toBe(kubeconfig);
    expect(r.stderr).toMatch(/app\.secrets\.yaml is a symlink/);
  });

  it('a .gitignore linked outside is not written, and no secret file is written without its rule', () => {
    const target = outside('node_modules/\n');
    const dir = tree({ 'app.yaml': deployment('app') });
    symlinkSync(target.file, join(dir, '.gitignore'));
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/app\.yaml.*\.gitignore is a symlink/);
    expect(readFileSync(target.file, 'utf8')).toBe('node_modules/\n');
    expect(existsSync(join(dir, 'app.secrets.yaml'))).toBe(false);
    expect(readFileSync(join(dir, 'app.yaml'), 'utf8')).toBe(deployment('app'));
  });

  it('init --force does not write cuirass.config.yaml through a symlink out of the tree', () => {
    const target = outside('# someone else\'s file\n');
    const dir = tree({ 'app.yaml': deployment('app') });
    symlinkSync(target.file, join(dir, 'cuirass.config.yaml'));
    const r = cli(['init', '.', '--force'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cuirass\.config\.yaml: not written: cuirass\.config\.yaml is a symlink/);
    expect(readFileSync(target.file, 'utf8')).toBe('# someone else\'s file\n');
  });

  it('a generated file named like a link to /dev/zero, or that is a FIFO, is refused at once', () => {
    const dir = tree({ 'app.yaml': deployment('app') });
    symlinkSync('/dev/zero', join(dir, 'app.secrets.yaml'));
    const zero = run(['.'], dir);
    expect(zero.status).not.toBeNull();
    expect(zero.stderr).toMatch(/app\.secrets\.yaml is a symlink/);
    rmSync(join(dir, 'app.secrets.yaml'));
    mkfifo(join(dir, 'app.secrets.yaml'));
    for (const args of [['.'], ['.', '--write']]) {
      const fifo = run(args, dir);
      expect(fifo.status).toBe(2);
      expect(fifo.stderr).toMatch(/app\.secrets\.yaml is a FIFO, not a regular file/);
    }
    expect(readFileSync(join(dir, 'app.yaml'), 'utf8')).toBe(deployment('app'));
  });

  it('a device node in the tree named like a generated file is refused', () => {
    const dir = tree({ 'app.yaml': deployment('app') });
    try {
      execFileSync('mknod', [join(dir, 'app.secrets.yaml'), 'c', '1', '5'], { stdio: 'ignore' });
    } catch {
      return; // not allowed here (not root, or a container without mknod)
    }
    const r = run(['.', '--write'], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/app\.secrets\.yaml is a device, not a regular file/);
  });

  it('an explicit FIFO argument is "not a regular file", not ENOTDIR, and does not hang', () => {
    const dir = tree({});
    mkfifo(join(dir, 'fifo.yaml'));
    const r = run(['fifo.yaml'], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/fifo\.yaml: not a regular file \(a FIFO\)/);
    expect(r.stderr).not.toMatch(/ENOTDIR/);
  });
});

describe('bytes that are not UTF-8', () => {
  it('are refused with file:line:col and the file keeps every byte, never U+FFFD', () => {
    const bytes = Buffer.concat([Buffer.from(deployment('app')), Buffer.from('# Gr'), Buffer.from([0xfc, 0xdf]), Buffer.from('e\n')]);
    const dir = tree({ 'app.yaml': bytes });
    const line = deployment('app').split('\n').length;
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`app.yaml:${line}:5: bytes that are not UTF-8`);
    expect(readFileSync(join(dir, 'app.yaml')).equals(bytes)).toBe(true);
    const stdin = run(['-'], dir, bytes);
    expect(stdin.status).toBe(2);
    expect(stdin.stderr).toContain(`<stdin>:${line}:5: bytes that are not UTF-8`);
    const check = run(['check', '-'], dir, bytes);
    expect(check.status).toBe(2);
    expect(check.stderr).toContain(`<stdin>:${line}:5: bytes that are not UTF-8`);
    const list = Buffer.concat([Buffer.from('apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n# Gr'), Buffer.from([0xfc]), Buffer.from('\n')]);
    const fn = run(['fn'], dir, list);
    expect(fn.status).toBe(2);
    expect(fn.stderr).toContain('<stdin>:4:5: bytes that are not UTF-8');
  });
});

describe('bytes that are not UTF-8 in files cuirass merges into', () => {
  it('a .gitignore with them is refused (exit 2, no stack), kept byte for byte, and no secret file is written', () => {
    const ignore = Buffer.concat([Buffer.from('# Gr'), Buffer.from([0xfc, 0xdf]), Buffer.from('e\nnode_modules/\n')]);
    const dir = tree({ 'app.yaml': deployment('app'), '.gitignore': ignore });
    for (const args of [['.'], ['.', '--write']]) {
      const r = cli(args, { cwd: dir });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/app\.yaml:1:1: (refused|not written): \.gitignore: bytes that are not UTF-8.*\(line 1, column 5\)/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(readFileSync(join(dir, '.gitignore')).equals(ignore)).toBe(true);
    expect(existsSync(join(dir, 'app.secrets.yaml'))).toBe(false);
  });

  it('a git-ignored .env with them is left alone: the password goes to the service\'s env file', () => {
    const env = Buffer.concat([Buffer.from('GREETING=Gr'), Buffer.from([0xfc, 0xdf]), Buffer.from('e\n')]);
    const compose = `services:\n  app:\n    image: example/app:1\n    environment:\n      DATABASE_URL: postgres://u:s3cr3t-Value-42@db/app\n`;
    const dir = tree({ 'compose.yaml': compose, '.env': env, '.gitignore': '/.env\n' });
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, '.env')).equals(env)).toBe(true);
    expect(readFileSync(join(dir, 'secrets/app.env'), 'utf8')).toContain('s3cr3t-Value-42');
  });
});

describe('targets that cannot be written are found before anything is written', () => {
  it('a .gitignore that is a folder: a clear error, exit 2, nothing written, no EISDIR stack', () => {
    const dir = tree({ 'compose.yaml': composeFile(), '.gitignore/keep': '' });
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/compose\.yaml:1:1: not written: \.gitignore is a directory, not a regular file/);
    expect(r.stderr).not.toMatch(/EISDIR|\n\s+at /);
    expect(existsSync(join(dir, 'secrets'))).toBe(false);
    expect(readFileSync(join(dir, 'compose.yaml'), 'utf8')).toBe(composeFile());
  });

  it('an app.secrets.yaml that is a folder: a clear error, exit 2, nothing written', () => {
    const dir = tree({ 'app.yaml': deployment('app'), 'app.secrets.yaml/keep': '' });
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/app\.secrets\.yaml is a directory, not a regular file/);
    expect(r.stderr).not.toMatch(/EISDIR|\n\s+at /);
    expect(existsSync(join(dir, '.gitignore'))).toBe(false);
  });

  it('a generated name longer than the file system takes: exit 2 before the .gitignore is written', () => {
    const name = `${'a'.repeat(245)}.yaml`;
    const dir = tree({ [name]: deployment('app') });
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/longer than 255 bytes \(ENAMETOOLONG\)/);
    expect(existsSync(join(dir, '.gitignore'))).toBe(false);
    expect(listing(dir)).toEqual([name]);
  });
});

describe('ownership and mode', () => {
  it('a root --write keeps owner, group and mode of the files it rewrites; new files get their folder\'s owner', () => {
    if (process.getuid?.() !== 0) return; // chown needs root
    const dir = tree({ 'compose.yaml': composeFile(), '.gitignore': 'node_modules/\n' });
    for (const f of ['compose.yaml', '.gitignore']) chownSync(join(dir, f), 1234, 5678);
    chmodSync(join(dir, 'compose.yaml'), 0o640);
    chownSync(dir, 4321, 8765);
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(0);
    for (const f of ['compose.yaml', '.gitignore']) {
      const st = statSync(join(dir, f));
      expect([st.uid, st.gid]).toEqual([1234, 5678]);
    }
    expect(statSync(join(dir, 'compose.yaml')).mode & 0o7777).toBe(0o640);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('node_modules/\n/secrets/\n.*.cuirass-tmp\n');
    for (const f of ['secrets', 'secrets/db_postgres_password']) {
      const st = statSync(join(dir, f));
      expect([f, st.uid, st.gid]).toEqual([f, 4321, 8765]);
    }
  });
});

/** Mounts a 64 KiB tmpfs on a fresh folder; undefined where mounting is not allowed. */
function smallDisk(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'cuirass-full-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
  if (r.status !== 0) return undefined;
  return dir;
}

function unmount(dir: string): void {
  spawnSync('umount', [dir], { stdio: 'ignore' });
}

const canMount = (() => {
  const d = smallDisk();
  if (d) unmount(d);
  return d !== undefined;
})();

describe.skipIf(!canMount)('a full disk (a real 64 KiB tmpfs)', () => {
  it('a 33 KB multi-document file whose hardened copy does not fit is left whole, exit 2, no temporary file', () => {
    const disk = smallDisk()!;
    try {
      const docs = Array.from({ length: 110 }, (_, i) => deployment(`app${i}`, 'plain').replace('DB_PASSWORD', 'LOG_LEVEL')).join('---\n');
      expect(docs.length).toBeGreaterThan(30_000);
      writeFileSync(join(disk, 'app.yaml'), docs);
      const r = cli(['.', '--write'], { cwd: disk });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/app\.yaml: not written: .*ENOSPC/);
      expect(r.stderr).not.toMatch(/\b1 written/);
      expect(readFileSync(join(disk, 'app.yaml'), 'utf8')).toBe(docs);
      expect(listing(disk)).toEqual(['app.yaml']);
    } finally {
      unmount(disk);
    }
  });

  it('Compose: a git-ignored .env that cannot be rewritten stays whole and compose.yaml does not refer to the value', () => {
    const disk = smallDisk()!;
    try {
      const env = Array.from({ length: 44 }, (_, i) => `VAR_${i}=${'v'.repeat(700)}\n`).join('');
      const compose = `services:\n  app:\n    image: example/app:1\n    environment:\n      DATABASE_URL: postgres://u:${SECRET}@db/app\n`;
      writeFileSync(join(disk, '.env'), env);
      writeFileSync(join(disk, '.gitignore'), '/.env\n');
      writeFileSync(join(disk, 'compose.yaml'), compose);
      const r = cli(['.', '--write'], { cwd: disk });
      expect(r.status).toBe(2);
      expect(readFileSync(join(disk, '.env'), 'utf8')).toBe(env);
      expect(readFileSync(join(disk, 'compose.yaml'), 'utf8')).toBe(compose);
      expect(listing(disk).filter((n) => n.includes('cuirass-tmp'))).toEqual([]);
    } finally {
      unmount(disk);
    }
  });
});

describe('folders of generated files', () => {
  it('a secrets path whose parent is a regular file is refused before anything is written', () => {
    const dir = tree({ 'compose.yaml': composeFile(), secrets: 'not a folder\n' });
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/secrets is a regular file, not a folder/);
    expect(existsSync(join(dir, '.gitignore'))).toBe(false);
  });
});
