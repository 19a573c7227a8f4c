/**
 * Dockerfiles (SPEC section 2): the reader, and the byte-exact fixture pairs
 * `fixtures/<transform>/<scenario>.in.Dockerfile` → `.out.Dockerfile` with their findings.
 */
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../src/dockerfile/parse.js';
import { readDockerfile } from '../src/dockerfile/model.js';
import { hardenDockerfile, isDockerfileName } from '../src/dockerfile/harden.js';
import { processText } from '../src/run.js';
import type { RunOptions } from '../src/run.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { TRANSFORMS } from '../transforms/index.js';
import { discoverDockerfileFixtures } from './support/fixtures.js';
import type { ConfigExemption } from '../src/config.js';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runInit } from '../src/commands/init.js';

function options(transform?: string, extra: Partial<RunOptions> = {}): RunOptions {
  return { level: 'restricted', settings: DEFAULT_SETTINGS, transforms: transform ? TRANSFORMS.filter((t) => t.id === transform) : TRANSFORMS, ...extra };
}

describe('Dockerfile reader', () => {
  it('joins continuations, drops comment and blank lines inside them, and keeps offsets', () => {
    const text = 'FROM alpine:3.20\nRUN apk add \\\n# a comment\n\n    curl \\  \n    git\nCMD ["sh", "-c", "echo hi"]\n';
    const src = parseDockerfile(text);
    expect(src.instructions.map((i) => [i.keyword, i.line, i.col, i.args])).toEqual([
      ['FROM', 1, 1, 'alpine:3.20'],
      ['RUN', 2, 1, 'apk add     curl     git'],
      ['CMD', 7, 1, '["sh", "-c", "echo hi"]'],
    ]);
    expect(src.instructions[2].json).toEqual(['sh', '-c', 'echo hi']);
    const run = src.instructions[1];
    expect(text.slice(run.offsetOf(run.args.indexOf('git')), run.offsetOf(run.args.indexOf('git')) + 3)).toBe('git');
  });

  it('reads parser directives only at the top, and the escape character they set', () => {
    const src = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir `\n  c:\\\\\n# escape=\\\n');
    expect(src.escape).toBe('`');
    expect(src.directives.get('syntax')).toBe('docker/dockerfile:1');
    expect(src.instructions.map((i) => i.keyword)).toEqual(['FROM', 'RUN']);
    expect(src.instructions[1].args).toBe('dir   c:\\\\');
  });

  it('takes heredoc bodies with the instruction (<<EOF, <<-EOF, quoted, several)', () => {
    const text = 'FROM alpine:3.20\nRUN <<EOF\nFROM not-an-instruction\nEOF\nCOPY <<-"A" <<B /dst/\n\tone\n\tA\ntwo\nB\nUSER 1\n';
    const src = parseDockerfile(text);
    expect(src.instructions.map((i) => i.keyword)).toEqual(['FROM', 'RUN', 'COPY', 'USER']);
    expect(src.instructions[1].heredocs).toEqual([{ name: 'EOF', body: 'FROM not-an-instruction\n' }]);
    expect(src.instructions[2].heredocs).toEqual([{ name: 'A', body: 'one\n' }, { name: 'B', body: 'two\n' }]);
    expect(src.instructions[3].line).toBe(10);
  });

  it('reads leading flags, CRLF and a BOM', () => {
    const src = parseDockerfile('\uFEFFfrom --platform=$BUILDPLATFORM golang:1.22 AS build\r\nCOPY --from=build --chown=1:1 /a /b\r\n');
    expect(src.instructions.map((i) => [i.keyword, i.flags, i.args, i.col])).toEqual([
      ['FROM', [{ name: 'platform', value: '$BUILDPLATFORM' }], 'golang:1.22 AS build', 2],
      ['COPY', [{ name: 'from', value: 'build' }, { name: 'chown', value: '1:1' }], '/a /b', 1],
    ]);
  });

  it('final stage: the build target or the last; USER inherited from the stage it starts from; uid of a created user', () => {
    const text = [
      'FROM nginx:1.27 AS web',
      'RUN useradd --system -u 8080 web',
      'USER web',
      'EXPOSE 80 443/tcp',
      'VOLUME ["/var/cache/nginx"]',
      'FROM web AS final',
      'VOLUME /data /logs/',
      'FROM postgres:16 AS db',
      'USER root',
      '',
    ].join('\n');
    const last = readDockerfile(text);
    expect([last.baseImage, last.user?.value, last.user?.root]).toEqual(['postgres:16', 'root', true]);
    const final = readDockerfile(text, 'final');
    expect(final.baseImage).toBe('nginx:1.27');
    expect(final.user).toMatchObject({ value: 'web', root: false, uid: 8080 });
    expect(final.expose).toEqual([80, 443]);
    expect(final.volumes).toEqual(['/var/cache/nginx', '/data', '/logs']);
    expect(readDockerfile('FROM alpine:3\nRUN adduser -D -u 1001 app\nUSER app:app\n').user).toMatchObject({ uid: 1001, root: false });
    expect(readDockerfile('FROM alpine:3\nUSER 1001:1002\n').user).toMatchObject({ uid: 1001, gid: 1002 });
  });

  it('knows the file names', () => {
    expect(['Dockerfile', 'a/Containerfile', 'api.Dockerfile'].map(isDockerfileName)).toEqual([true, true, true]);
    expect(['Dockerfile.yaml', 'dockerfile.md', 'compose.yaml'].map(isDockerfileName)).toEqual([false, false, false]);
  });
});

describe.each(discoverDockerfileFixtures().map((f) => [`${f.transform}/${f.scenario}`, f] as const))('%s', (_name, fixture) => {
  const outcome = hardenDockerfile('Dockerfile', fixture.input, options(fixture.transform));

  it('produces the expected output byte for byte', () => {
    expect(outcome.status).not.toBe('error');
    expect(outcome.output).toBe(fixture.expected);
  });

  it('is idempotent', () => {
    const again = hardenDockerfile('Dockerfile', outcome.output, options(fixture.transform));
    expect(again.output).toBe(outcome.output);
    expect(again.changes).toEqual([]);
  });

  it('reports the expected findings', () => {
    if (!fixture.findings) return;
    const got = [
      ...outcome.changes.map((f) => ({ transform: f.transform, line: f.line, status: 'pending' })),
      ...outcome.remaining.map((f) => ({ transform: f.transform, line: f.line, status: 'unfixed' })),
    ];
    expect(got).toEqual(fixture.findings.map((e) => ({ transform: e.transform, line: e.line, status: e.status ?? 'pending' })));
  });
});

describe('Dockerfile runs', () => {
  it('ADD of a local file whose bytes are a tar archive stays ADD (ADD unpacks it)', () => {
    const tar = Buffer.alloc(512);
    tar.write('ustar', 257, 'latin1');
    const o = hardenDockerfile('Dockerfile', 'FROM alpine:3.20\nADD rootfs.img /\nADD app.conf /etc/\nUSER 1\n', options('dockerfile-hygiene'), (p) => (p === 'rootfs.img' ? tar : undefined));
    expect(o.output).toBe('FROM alpine:3.20\nADD rootfs.img /\nCOPY app.conf /etc/\nUSER 1\n');
  });

  it('at baseline the ADD is reported, not rewritten', () => {
    const o = hardenDockerfile('Dockerfile', 'FROM alpine:3.20\nADD a /a\n', options('dockerfile-hygiene', { level: 'baseline' }));
    expect(o.status).toBe('unchanged');
    expect(o.remaining[0].reason).toContain('baseline');
  });

  it('a config exemption matching the file suppresses with its reason', () => {
    const exemption: ConfigExemption = { match: { file: 'images/api.Dockerfile' }, skip: ['run-as-non-root'], reason: 'the entrypoint drops to app itself', source: 'cuirass.config.yaml:2' };
    const o = processText('images/api.Dockerfile', 'FROM alpine:3.20\n', options(undefined, { exemptions: [exemption] }), true);
    expect(o.kind).toBe('dockerfile');
    expect(o.suppressed.map((f) => f.transform)).toEqual(['run-as-non-root']);
    expect(exemption.used).toBe(true);
  });

  it('SARIF fixes: the ADD fix is a text edit of the file', () => {
    const o = hardenDockerfile('Dockerfile', 'FROM alpine:3.20\nADD a /a\nUSER 1\n', options('dockerfile-hygiene', { withEdits: true }));
    expect(o.changes[0].edits).toEqual([{ start: 17, end: 20, text: 'COPY' }]);
  });
});

describe('cuirass init', () => {
  it('suggests exemptions of a Dockerfile and a daemon.json by file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-init-'));
    mkdirSync(join(dir, 'etc/docker'), { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM alpine:3.20\n');
    writeFileSync(join(dir, 'etc/docker/daemon.json'), '{"icc": false, "no-new-privileges": true}\n');
    expect(runInit([dir], {})).toBe(0);
    const text = readFileSync(join(dir, 'cuirass.config.yaml'), 'utf8');
    const matches = text.split('\n').filter((l) => l.startsWith('#  - match:')).map((l) => parse(l.slice('#  - match:'.length)) as unknown);
    expect(matches).toEqual([{ file: 'Dockerfile' }, { file: 'etc/docker/daemon.json' }]);
  });
});
