import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A fresh folder holding `files` (relative path → text or bytes). */
export function tree(files: Record<string, string | Buffer>, prefix = 'cuirass-safety-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

/** Runs git in `dir` (a test fixture repository); returns stdout. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { encoding: 'utf8' });
}

/** Makes `dir` a git repository. */
export function gitInit(dir: string): void {
  git(dir, 'init', '-q', '.');
}

/** Every name below `dir`, recursively, '/'-separated and sorted. */
export function listing(dir: string, base = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${entry.name}` : entry.name;
    if (entry.name === '.git') continue;
    out.push(rel);
    if (entry.isDirectory()) out.push(...listing(dir, rel));
  }
  return out.sort();
}

/** A Deployment with a literal password (its value: `value`). */
export function deployment(name: string, value = 's3cr3t-Value-42', extra = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: app
        image: example/app:1.0
        env:
        - name: DB_PASSWORD
          value: ${value}
${extra}`;
}

/** A Compose file whose postgres service has a literal password (moved to secrets/). */
export function composeFile(value = 's3cr3t-Value-42'): string {
  return `services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${value}
`;
}
