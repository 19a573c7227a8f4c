/**
 * no-docker-socket (SPEC §3, OWASP rule 1): a Compose bind mount whose host side is a variable
 * (`${DOCKER_SOCK}:/var/run/docker.sock:ro`, as the OpenTelemetry demo's collector has it) still
 * hands the container the runtime socket; it is judged by its target.
 */
import { describe, expect, it } from 'vitest';
import { hardenText } from '../src/harden.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { TRANSFORMS } from '../transforms/index.js';

const OPTIONS = { transforms: TRANSFORMS, level: 'restricted' as const, settings: DEFAULT_SETTINGS };

function socketFindings(text: string) {
  const r = hardenText(text, OPTIONS, { file: 'compose.yaml' });
  return [...r.changes, ...r.remaining].filter((f) => f.transform === 'no-docker-socket');
}

describe('no-docker-socket with an interpolated host path', () => {
  it('reports ${DOCKER_SOCK}:/var/run/docker.sock:ro as critical, at the mount', () => {
    const text = 'services:\n  collector:\n    image: otel/collector:0.1\n    volumes:\n      - ${DOCKER_SOCK}:/var/run/docker.sock:ro\n';
    const found = socketFindings(text);
    expect(found).toHaveLength(1);
    expect(found[0].severity).toBe('critical');
    expect(found[0].line).toBe(5);
    expect(found[0].message).toContain('${DOCKER_SOCK} at /var/run/docker.sock');
  });

  it('does not report a variable mounted at another path (a data folder under /var/run)', () => {
    const text = 'services:\n  app:\n    image: example/app:1.0\n    volumes:\n      - ${RUN_DIR}:/var/run\n      - ${DATA}:/data\n';
    expect(socketFindings(text)).toHaveLength(0);
  });
});
