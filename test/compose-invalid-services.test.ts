import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processText, selectTransforms } from '../src/run.js';
import type { RunOptions } from '../src/run.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { cli } from './support/run-cli.js';

const RUN: RunOptions = { level: 'restricted', settings: DEFAULT_SETTINGS, transforms: selectTransforms() };
const MESSAGE = 'Compose wants a mapping of service names to services and rejects this file, so cuirass leaves it untouched';

describe('a Compose file whose services is not a mapping is an input error (SPEC 7)', () => {
  it.each([
    ['compose.yaml', 'services: []\nvolumes:\n  data: {}\n', 1, 11, 'a list'],
    ['docker-compose.yml', 'services: 5\n', 1, 11, 'a number'],
    ['compose.prod.yaml', 'name: x\nservices: null\nvolumes: {}\n', 2, 11, 'empty'],
    ['docker-compose.yaml', 'name: x\nservices:\nvolumes: {}\n', 2, 10, 'empty'],
    ['compose.yml', 'services: "web"\n', 1, 11, 'a string'],
    ['compose.yaml', 'services:\n  - web\n', 2, 3, 'a list'],
  ])('%s: %j', (file, text, line, col, what) => {
    const o = processText(file, text, RUN, true);
    expect({ status: o.status, line: o.line, col: o.col, message: o.message, output: o.output }).toEqual({ status: 'error', line, col, message: `services is ${what}; ${MESSAGE}`, output: text });
  });

  it('other YAML files, and Compose files without services, are still skipped, not errors', () => {
    expect(processText('app.yaml', 'services: []\n', RUN, true).status).toBe('skipped');
    expect(processText('values.yaml', 'services: 5\nother: 1\n', RUN, true).status).toBe('skipped');
    expect(processText('compose.yaml', 'volumes:\n  data: {}\n', RUN, true).status).toBe('skipped');
    expect(processText('compose.yaml', 'services: {}\n', RUN, true).status).not.toBe('error');
  });

  it('the CLI reports file:line:col, exits 2, leaves that file untouched and hardens the others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-services-'));
    mkdirSync(join(dir, 'bad'));
    mkdirSync(join(dir, 'good'));
    const bad = 'services: []\nvolumes:\n  data: {}\n';
    writeFileSync(join(dir, 'bad', 'compose.yaml'), bad);
    writeFileSync(join(dir, 'good', 'compose.yaml'), 'services:\n  web:\n    image: nginx:1.25\n');
    const r = cli(['.', '--write'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`cuirass: bad/compose.yaml:1:11: services is a list; ${MESSAGE}\n`);
    expect(readFileSync(join(dir, 'bad', 'compose.yaml'), 'utf8')).toBe(bad);
    expect(readFileSync(join(dir, 'good', 'compose.yaml'), 'utf8')).toContain('read_only: true');
  });
});
