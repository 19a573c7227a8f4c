import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { interpolate, readDotenv } from '../src/compose/interpolate.js';
import { processText, selectTransforms } from '../src/run.js';
import type { RunOptions } from '../src/run.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { CORPUS } from './support/run-cli.js';

const RUN: RunOptions = { level: 'restricted', settings: DEFAULT_SETTINGS, transforms: selectTransforms(['read-only-root', 'run-as-non-root']) };

describe('interpolate (compose-go template rules)', () => {
  const vars: Record<string, string> = { IMAGE_NAME: 'ghcr.io/open-telemetry/demo', DEMO_VERSION: '2.1.3', EMPTY: '' };
  const lookup = (n: string) => vars[n];
  it.each([
    ['${IMAGE_NAME}:${DEMO_VERSION}-grafana', 'ghcr.io/open-telemetry/demo:2.1.3-grafana'],
    ['$IMAGE_NAME:latest', 'ghcr.io/open-telemetry/demo:latest'],
    ['${MISSING:-grafana/grafana:12}', 'grafana/grafana:12'],
    ['${EMPTY:-postgres:17}', 'postgres:17'],
    ['${EMPTY-postgres:17}', ''],
    ['${MISSING-postgres:17}', 'postgres:17'],
    ['${MISSING:-${IMAGE_NAME}}:${MISSING2:-x}', 'ghcr.io/open-telemetry/demo:x'],
    ['${DEMO_VERSION:?set it}', '2.1.3'],
    ['${DEMO_VERSION:+v${DEMO_VERSION}}', 'v2.1.3'],
    ['${MISSING:+set}nginx', 'nginx'],
    ['cost$$5', 'cost$5'],
    ['nginx:1.27', 'nginx:1.27'],
  ])('%s → %s', (text, want) => {
    expect(interpolate(text, lookup)).toBe(want);
  });
  it.each(['${MISSING}', '$MISSING', '${MISSING:?set it}', '${EMPTY:?set it}', '${IMAGE_NAME', '${}', '${MISSING:-${ALSO_MISSING}}'])('%s cannot be resolved', (text) => {
    expect(interpolate(text, lookup)).toBeUndefined();
  });
});

describe('readDotenv (compose-go dotenv rules)', () => {
  it('reads plain, exported, quoted and commented lines, and expands earlier variables', () => {
    const text = [
      '# images',
      'IMAGE_NAME=ghcr.io/open-telemetry/demo',
      'export DEMO_VERSION=2.1.3  # pinned',
      "GRAFANA_IMAGE='grafana/grafana:12.2.0'",
      'PROMETHEUS_IMAGE="quay.io/prometheus/prometheus:v3.6.0"',
      'FRONTEND=${IMAGE_NAME}:${DEMO_VERSION}-frontend',
      "LITERAL='${IMAGE_NAME}'",
      'UNKNOWN=${NOT_DEFINED}',
      'MULTI="a',
      'b"',
      '',
      'COLON: yes',
    ].join('\r\n');
    expect(Object.fromEntries(readDotenv(text))).toEqual({
      IMAGE_NAME: 'ghcr.io/open-telemetry/demo',
      DEMO_VERSION: '2.1.3',
      GRAFANA_IMAGE: 'grafana/grafana:12.2.0',
      PROMETHEUS_IMAGE: 'quay.io/prometheus/prometheus:v3.6.0',
      FRONTEND: 'ghcr.io/open-telemetry/demo:2.1.3-frontend',
      LITERAL: '${IMAGE_NAME}',
      MULTI: 'a\nb',
      COLON: 'yes',
    });
  });
});

/** A Compose project folder with `files`; returns its path. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cuirass-interp-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const OBSERVABILITY = readFileSync(join(CORPUS, 'compose/opentelemetry-demo/compose.observability.yaml'), 'utf8');
const DOTENV = 'IMAGE_NAME=ghcr.io/open-telemetry/demo\nDEMO_VERSION=latest\nGRAFANA_IMAGE=grafana/grafana:12.2.0\nPROMETHEUS_IMAGE=quay.io/prometheus/prometheus:v3.6.0\n';

describe('Compose images named through variables get their profile from .env (opentelemetry-demo)', () => {
  it('the .env beside the file names grafana and prometheus: their profiles apply, the image text stays', () => {
    const dir = project({ 'compose.observability.yaml': OBSERVABILITY, '.env': DOTENV });
    const o = processText('compose.observability.yaml', OBSERVABILITY, RUN, dir);
    const out = parse(o.output).services;
    expect(out.grafana.image).toBe('${GRAFANA_IMAGE}');
    // grafana's profile applies: its uid, and its root stays writable because it keeps its database
    // in /var/lib/grafana, which its image declares no volume for and this file does not mount.
    expect([out.grafana.user, out.grafana.read_only]).toEqual(['472:0', undefined]);
    expect(o.remaining.map((f) => f.message)).toContain(
      'service "grafana" keeps a writable root filesystem: grafana keeps its data in /var/lib/grafana, which its image declares no volume for and nothing mounts; mount a volume there, then set read_only: true',
    );
    expect(out.prometheus.image).toBe('${PROMETHEUS_IMAGE}');
    expect([out.prometheus.user, out.prometheus.read_only]).toEqual(['65534:65534', true]);
    expect(o.remaining.filter((f) => /"(grafana|prometheus)".*cannot be determined/.test(f.message))).toEqual([]);
  });

  it('without a .env (or with one that leaves the folder) the profile is unknown: read_only is not applied, and the finding says why', () => {
    const outside = project({ '.env': DOTENV });
    const linked = project({ 'compose.observability.yaml': OBSERVABILITY });
    symlinkSync(join(outside, '.env'), join(linked, '.env'));
    const bare = project({ 'compose.observability.yaml': OBSERVABILITY });
    for (const dir of [bare, linked]) {
      const o = processText('compose.observability.yaml', OBSERVABILITY, RUN, dir);
      const out = parse(o.output).services;
      expect([out.grafana.user, out.grafana.read_only]).toEqual(['10001:10001', undefined]);
      expect(out.prometheus.read_only).toBeUndefined();
      const why = o.remaining.filter((f) => f.transform === 'read-only-root' && /cannot be determined/.test(f.message)).map((f) => f.message);
      expect(why).toContain(
        'service "grafana" keeps a writable root filesystem: its image ${GRAFANA_IMAGE} names variables that neither .env beside the file nor a default resolves, so its profile (where it writes) cannot be determined; define them in .env, or set read_only: true with a tmpfs at each path it writes',
      );
      expect(why.some((m) => m.startsWith('service "prometheus" keeps a writable root filesystem'))).toBe(true);
    }
  });

  it('a built service keeps the profile of its Dockerfile FROM, whatever its image variable', () => {
    const dir = project({ 'compose.yaml': 'services:\n  web:\n    image: ${WEB_IMAGE}\n    build: .\n', Dockerfile: 'FROM nginx:1.27\n' });
    const o = processText('compose.yaml', readFileSync(join(dir, 'compose.yaml'), 'utf8'), RUN, dir, dir);
    expect(parse(o.output).services.web.read_only).toBe(true);
    expect(o.remaining.filter((f) => /cannot be determined/.test(f.message))).toEqual([]);
  });
});
