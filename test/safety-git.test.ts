/**
 * SPEC §7: a secret goes only to a file git will not commit (asked of git itself); concurrent
 * runs lose no .gitignore line and a rerun restores a lost one; a killed run's temporary files
 * are git-ignored and removed by the next run. The built CLI, in real git repositories.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cli } from './support/run-cli.js';
import { composeFile, deployment, git, gitInit, listing, tree } from './support/tree.js';

const SECRET = 's3cr3t-Value-42';

/** Every file git would commit now (tracked, or untracked and not ignored). */
function committable(dir: string): string[] {
  return git(dir, 'ls-files', '-co', '--exclude-standard').split('\n').filter(Boolean).sort();
}

/** The committable files that hold `secret`, other than `except`. */
function leaks(dir: string, secret: string, except: string[] = []): string[] {
  return committable(dir).filter((f) => !except.includes(f) && existsSync(join(dir, f)) && readFileSync(join(dir, f), 'utf8').includes(secret));
}

const URL_COMPOSE = `services:\n  app:\n    image: example/app:1\n    environment:\n      DATABASE_URL: postgres://u:${SECRET}@db/app\n`;

describe('a secret goes only where git will not commit it', () => {
  it('a tracked .env, even one .gitignore lists, receives no secret', () => {
    const dir = tree({ 'compose.yaml': URL_COMPOSE, '.env': 'LOG_LEVEL=info\n' });
    gitInit(dir);
    git(dir, 'add', '.env');
    git(dir, 'commit', '-qm', 'env');
    writeFileSync(join(dir, '.gitignore'), '/.env\n');
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe('LOG_LEVEL=info\n');
    expect(leaks(dir, SECRET)).toEqual([]);
  });

  it('a tracked app.secrets.yaml, even one .gitignore lists, receives no secret; the value stays in the manifest', () => {
    const dir = tree({ 'app.yaml': deployment('app'), 'app.secrets.yaml': '# deployed by hand\n' });
    gitInit(dir);
    git(dir, 'add', 'app.secrets.yaml');
    git(dir, 'commit', '-qm', 'secrets');
    writeFileSync(join(dir, '.gitignore'), '/app.secrets.yaml\n');
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'app.secrets.yaml'), 'utf8')).toBe('# deployed by hand\n');
    expect(leaks(dir, SECRET, ['app.yaml'])).toEqual([]);
    expect(readFileSync(join(dir, 'app.yaml'), 'utf8')).toContain(SECRET);
    const check = cli(['check', '.', '--format', 'json'], { cwd: dir });
    expect(check.stdout).toContain('git tracks app.secrets.yaml');
  });

  it('glob characters in a file name are escaped in the rule, and git confirms it ignores exactly that file', () => {
    const dir = tree({ 'app[1].yaml': deployment('app'), 'app1.secrets.yaml': 'mine\n' });
    gitInit(dir);
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('/app\\[1\\].secrets.yaml\n.*.cuirass-tmp\n');
    expect(spawnSync('git', ['-C', dir, 'check-ignore', '-q', 'app[1].secrets.yaml']).status).toBe(0);
    expect(spawnSync('git', ['-C', dir, 'check-ignore', '-q', 'app1.secrets.yaml']).status).toBe(1);
    expect(leaks(dir, SECRET)).toEqual([]);
  });

  it('an in-tree .env -> shared.env symlink: the value goes to a git-ignored file, never to shared.env', () => {
    const dir = tree({ 'compose.yaml': URL_COMPOSE, 'shared.env': 'LOG_LEVEL=info\n', '.gitignore': '/.env\n' });
    symlinkSync('shared.env', join(dir, '.env'));
    gitInit(dir);
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'shared.env'), 'utf8')).toBe('LOG_LEVEL=info\n');
    expect(leaks(dir, SECRET)).toEqual([]);
    expect(readFileSync(join(dir, 'compose.yaml'), 'utf8')).not.toContain(SECRET);
  });
});

describe('.gitignore under concurrent runs and reruns', () => {
  it('runs at the same time on one tree keep every rule', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `app${i}`);
    const dir = tree(Object.fromEntries(names.map((n) => [`${n}.yaml`, deployment(n)])));
    gitInit(dir);
    writeFileSync(join(dir, '.gitignore'), Array.from({ length: 20 }, (_, i) => `/mine-${i}/\n`).join(''));
    const runs = names.map(
      (n) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, [CLI, `${n}.yaml`, '--write', '--skip', 'network-segmentation'], { cwd: dir, stdio: 'ignore' });
          child.on('exit', (code) => resolve(code));
        }),
    );
    expect(await Promise.all(runs)).toEqual(names.map(() => 0));
    const lines = readFileSync(join(dir, '.gitignore'), 'utf8').split('\n');
    for (let i = 0; i < 20; i++) expect(lines).toContain(`/mine-${i}/`);
    for (const n of names) expect(lines).toContain(`/${n}.secrets.yaml`);
    expect(leaks(dir, SECRET)).toEqual([]);
    expect(listing(dir).filter((f) => f.includes('cuirass-tmp'))).toEqual([]);
  });

  it('a rerun restores the rule of a secret file that lost it', () => {
    const dir = tree({ 'app.yaml': deployment('app'), 'compose.yaml': composeFile() });
    gitInit(dir);
    expect(cli(['.', '--write'], { cwd: dir }).status).toBe(0);
    writeFileSync(join(dir, '.gitignore'), 'node_modules/\n');
    expect(committable(dir)).toContain('app.secrets.yaml');
    const plain = cli(['.', '--check'], { cwd: dir });
    expect(plain.stdout).toContain('+/app.secrets.yaml');
    expect(cli(['.', '--write'], { cwd: dir }).status).toBe(0);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('node_modules/\n/app.secrets.yaml\n.*.cuirass-tmp\n/secrets/\n');
    expect(leaks(dir, SECRET)).toEqual([]);
  });
});

describe('a run killed while it writes', () => {
  it('leaves each file whole (old or new); its temporary file is git-ignored and the next run removes it', async () => {
    // A large manifest keeps the write (and its temporary file) on disk long enough to be seen.
    const padding = Array.from({ length: 200_000 }, (_, i) => `# padding line ${i} ${'x'.repeat(40)}\n`).join('');
    const input = deployment('app', SECRET, padding);
    const dir = tree({ 'app.yaml': input });
    gitInit(dir);
    let caught = 0;
    for (let attempt = 0; attempt < 4 && caught === 0; attempt++) {
      writeFileSync(join(dir, 'app.yaml'), input);
      rmSync(join(dir, 'app.secrets.yaml'), { force: true });
      const child = spawn(process.execPath, [CLI, 'app.yaml', '--write'], { cwd: dir, stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      let done = false;
      void exited.then(() => (done = true));
      // Watch for the manifest's temporary file, then kill at once.
      while (!done) {
        if (readdirSync(dir).some((n) => n.startsWith('.app.yaml.') && n.includes('cuirass') && !n.includes('.lock.'))) {
          child.kill('SIGKILL');
          caught++;
          break;
        }
        await new Promise((r) => setImmediate(r));
      }
      await exited;
      const now = readFileSync(join(dir, 'app.yaml'), 'utf8');
      expect(now === input || (now.includes('valueFrom') && now.endsWith(padding))).toBe(true);
    }
    if (caught === 0) return; // every run finished before its temporary file was seen (a fast machine)
    const temps = readdirSync(dir).filter((n) => n.includes('cuirass') && n.startsWith('.'));
    expect(temps.length).toBeGreaterThan(0);
    for (const t of temps) expect(spawnSync('git', ['-C', dir, 'check-ignore', '-q', t]).status).toBe(0);
    expect(cli(['app.yaml', '--write'], { cwd: dir }).status).toBe(0);
    expect(readdirSync(dir).filter((n) => n.includes('cuirass') && n.startsWith('.'))).toEqual([]);
    expect(leaks(dir, SECRET)).toEqual([]);
  }, 600_000);

  it('the next run removes temporary files of dead runs, also of cuirass 0.1, and leaves those of live runs', () => {
    const dir = tree({ 'app.yaml': deployment('app'), 'secrets/x': '' });
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const stale = [`.app.yaml.${dead}.0123456789ab.cuirass-tmp`, '.app.secrets.yaml.cuirass-0123456789ab.tmp', `.x.${dead}.0123456789ab.cuirass-tmp`];
    const live = `.app.yaml.${process.pid}.0123456789ab.cuirass-tmp`;
    writeFileSync(join(dir, stale[0]), 'partial');
    writeFileSync(join(dir, stale[1]), 'stringData: {DB_PASSWORD: leaked}');
    writeFileSync(join(dir, 'secrets', stale[2]), 'partial');
    writeFileSync(join(dir, live), 'in progress');
    expect(cli(['.', '--write'], { cwd: dir }).status).toBe(0);
    const left = listing(dir).filter((n) => n.includes('cuirass'));
    expect(left).toEqual([live, 'cuirass-network-policies.yaml']);
  });
});
