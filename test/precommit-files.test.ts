/**
 * The `files` pattern of each hook in .pre-commit-hooks.yaml: pre-commit passes cuirass every kind
 * of input it hardens or checks (SPEC section 2: Compose, Kubernetes YAML and JSON, daemon.json,
 * Dockerfiles), and nothing else. pre-commit matches it with Python's `re.search`; this pattern
 * uses only syntax that JavaScript reads the same way.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './support/run-cli.js';

const hooks = parse(readFileSync(join(ROOT, '.pre-commit-hooks.yaml'), 'utf8')) as { id: string; files: string; exclude: string }[];

describe.each(hooks.map((h) => [h.id, h] as const))('pre-commit hook %s', (_id, hook) => {
  const passes = (path: string) => new RegExp(hook.files).test(path) && !new RegExp(hook.exclude).test(path);
  it.each(['compose.yaml', 'deploy/app.yml', 'k8s/list.json', 'etc/docker/daemon.json', 'Dockerfile', 'api/Dockerfile', 'Containerfile', 'build/api.Dockerfile'])(
    'passes %s',
    (path) => expect(passes(path)).toBe(true),
  );
  it.each(['README.md', 'Dockerfile.md', 'MyDockerfile', 'api/Dockerfile.bak', 'charts/app/templates/deploy.yaml', 'src/index.ts'])('does not pass %s', (path) =>
    expect(passes(path)).toBe(false),
  );
});
