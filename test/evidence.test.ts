import { describe, expect, it } from 'vitest';
import { hardenText } from '../src/harden.js';
import type { HardenResult } from '../src/harden.js';
import type { Level } from '../src/settings.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { TRANSFORMS } from '../transforms/index.js';

/** Hardens `text` as `file` with every transform (or the named ones) at `level`. */
function harden(text: string, file: string, level: Level = 'restricted', only?: string[]): HardenResult {
  const transforms = only ? TRANSFORMS.filter((t) => only.includes(t.id)) : TRANSFORMS;
  return hardenText(text, { transforms, level, settings: DEFAULT_SETTINGS, hasFolder: true }, { file });
}

function messages(result: HardenResult, transform: string): string[] {
  return [...result.changes, ...result.remaining].filter((f) => f.transform === transform).map((f) => f.message);
}

describe('--level baseline claims no uid it does not set', () => {
  it('Compose user: root', () => {
    const result = harden('services:\n  app:\n    image: example/app:1.0\n    user: root\n', 'compose.yaml', 'baseline', ['run-as-non-root']);
    expect(result.output).toContain('user: root');
    expect(messages(result, 'run-as-non-root')).toEqual(['service "app" runs as root (user: root); the baseline level keeps it']);
  });

  it('Kubernetes runAsUser: 0 on the pod and on a container', () => {
    const text = `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  securityContext:
    runAsUser: 0
  containers:
    - name: app
      image: example/app:1.0
      securityContext:
        runAsUser: 0
`;
    const result = harden(text, 'pod.yaml', 'baseline', ['run-as-non-root']);
    const said = messages(result, 'run-as-non-root').join('\n');
    expect(said).not.toMatch(/10001 is used/);
    expect(said).toContain('the pod runs as root (runAsUser: 0); the baseline level keeps it');
  });
});

describe('one note for the same restart policy across a stack', () => {
  it('53 services that restart always give one finding naming five of them', () => {
    const services = Array.from({ length: 53 }, (_, i) => `  s${i}:\n    image: example/s${i}:1.0\n    restart: always\n`).join('');
    const result = harden(`services:\n${services}`, 'compose.yaml', 'restricted', ['resource-limits']);
    const notes = messages(result, 'resource-limits').filter((m) => m.includes('restart'));
    expect(notes).toEqual(['53 services s0, s1, s2, s3, s4, and 48 more restart without bound (restart: always or unless-stopped); on-failure:5 limits crash loops']);
  });
});
