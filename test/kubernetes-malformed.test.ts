import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processText, selectTransforms } from '../src/run.js';
import type { RunOptions } from '../src/run.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { cli } from './support/run-cli.js';

const RUN: RunOptions = { level: 'restricted', settings: DEFAULT_SETTINGS, transforms: selectTransforms() };
const TAIL = 'there and rejects the object, so cuirass leaves this file untouched';

const deployment = (spec: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
${spec}`;

describe('a pod spec the API server rejects for its shape is an input error, never hardened around', () => {
  it.each([
    ['Pod containers: [null]', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [null]}\n', 4, 21, 'spec.containers[0] is null; Kubernetes wants a container (a mapping)'],
    ['Deployment containers: [5]', deployment('      containers: [5]\n'), 9, 20, 'spec.template.spec.containers[0] is a number; Kubernetes wants a container (a mapping)'],
    ['Deployment containers: [null] (block)', deployment('      containers:\n      - name: a\n        image: a:1\n      -\n'), 12, 8, 'spec.template.spec.containers[1] is null; Kubernetes wants a container (a mapping)'],
    ['containers as a mapping', deployment('      containers: {name: a, image: a:1}\n'), 9, 19, 'spec.template.spec.containers is a mapping; Kubernetes wants a list of containers'],
    ['initContainers: [null]', deployment('      initContainers: [null]\n      containers: [{name: a, image: a:1}]\n'), 9, 24, 'spec.template.spec.initContainers[0] is null; Kubernetes wants a container (a mapping)'],
    ['ephemeralContainers: [x]', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: a:1}]\n  ephemeralContainers: [x]\n', 6, 25, 'spec.ephemeralContainers[0] is a string; Kubernetes wants a container (a mapping)'],
    ['volumes: [null]', deployment('      containers: [{name: a, image: a:1}]\n      volumes: [null]\n'), 10, 17, 'spec.template.spec.volumes[0] is null; Kubernetes wants a volume (a mapping)'],
    ['volumes: 5', deployment('      containers: [{name: a, image: a:1}]\n      volumes: 5\n'), 10, 16, 'spec.template.spec.volumes is a number; Kubernetes wants a list of volumes'],
    ['env: [5]', deployment('      containers:\n      - name: a\n        image: a:1\n        env: [5]\n'), 12, 15, 'spec.template.spec.containers[0].env[0] is a number; Kubernetes wants an env variable (a mapping)'],
    ['env as a mapping', deployment('      containers:\n      - name: a\n        image: a:1\n        env: {DB_PASSWORD: x}\n'), 12, 14, 'spec.template.spec.containers[0].env is a mapping; Kubernetes wants a list of env variables'],
    ['volumeMounts: [null]', deployment('      containers:\n      - name: a\n        image: a:1\n        volumeMounts: [null]\n'), 12, 24, 'spec.template.spec.containers[0].volumeMounts[0] is null; Kubernetes wants a volume mount (a mapping)'],
    ['container securityContext: 5', deployment('      containers:\n      - name: a\n        image: a:1\n        securityContext: 5\n'), 12, 26, 'spec.template.spec.containers[0].securityContext is a number; Kubernetes wants a mapping'],
    ['pod securityContext: []', deployment('      securityContext: []\n      containers: [{name: a, image: a:1}]\n'), 9, 24, 'spec.template.spec.securityContext is a list; Kubernetes wants a mapping'],
  ])('%s', (_name, text, line, col, message) => {
    const o = processText('app.yaml', text, RUN, true);
    expect({ status: o.status, line: o.line, col: o.col, message: o.message, output: o.output, files: o.files }).toEqual({ status: 'error', line, col, message: `${message} ${TAIL}`, output: text, files: [] });
  });

  it('absent or null lists (partial manifests, patches) and aliased containers are still hardened', () => {
    for (const spec of ['      containers: [{name: a, image: a:1}]\n      volumes: null\n', '      containers:\n      - &c {name: a, image: a:1, env: ~}\n']) {
      expect(processText('app.yaml', deployment(spec), RUN, true).status).toBe('changed');
    }
  });

  it('the CLI: file:line:col, exit 2, that file untouched, the other file hardened; stdin exits 2 with nothing on stdout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-malformed-'));
    const bad = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [null]}\n';
    writeFileSync(join(dir, 'bad.yaml'), bad);
    writeFileSync(join(dir, 'good.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec: {containers: [{name: a, image: a:1}]}\n');
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`cuirass: bad.yaml:4:21: spec.containers[0] is null; Kubernetes wants a container (a mapping) ${TAIL}\n`);
    expect(readFileSync(join(dir, 'bad.yaml'), 'utf8')).toBe(bad);
    expect(readFileSync(join(dir, 'good.yaml'), 'utf8')).toContain('runAsNonRoot: true');
    const s = cli(['-'], { input: bad });
    expect(s.status).toBe(2);
    expect(s.stdout).toBe('');
    expect(s.stderr).toContain('<stdin>:4:21: spec.containers[0] is null');
  });
});
