/**
 * `cuirass -` writes the hardened stream as it is hardened (SPEC section 8, ADR 007): the same
 * bytes, summary and exit code as the buffered run (the oracle, `hardenStdin(..., false)`),
 * memory bounded by the largest document, and a late failure that leaves a stream no YAML
 * reader accepts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { generateK8sDocs, k8sStream } from '../bench/generate.mjs';
import { hardenStdin, optionsFrom } from '../src/commands/harden.js';
import { streamStdin } from '../src/stream.js';
import { processText } from '../src/run.js';
import { formatError } from '../src/report/summary.js';
import { CLI_PATH, CORPUS, ROOT, runCli } from './support/cli.js';

/** The printed stdout, stderr and exit code of `cuirass -` on `input` in this process. */
async function capture(input: string, stream: boolean, args: Record<string, unknown> = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    const code = await hardenStdin(input, optionsFrom(['-'], args), args, '0.0.0', stream);
    return { stdout, stderr, code };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

function walk(dir: string): string[] {
  const files: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (/\.(ya?ml|json)$/i.test(e.name)) files.push(p);
    }
  };
  if (existsSync(dir)) visit(dir);
  return files.sort();
}

/** Every input: the Kubernetes corpus, the PSS corpus and the fixtures. */
const INPUTS = [...walk(join(CORPUS, 'k8s')), ...walk(join(CORPUS, 'pss')), ...walk(join(ROOT, 'fixtures')).filter((f) => f.endsWith('.in.yaml'))];

/** Hardened Kubernetes documents of the benchmark's generator (secrets, network policies, every style). */
const docs = (n: number): string[] => generateK8sDocs(n);

describe('streamed `cuirass -` equals the buffered run', () => {
  it('on every corpus file and fixture: stdout, stderr and exit code', async () => {
    expect(INPUTS.length).toBeGreaterThan(500);
    const differ: string[] = [];
    for (const file of INPUTS) {
      const input = readFileSync(file, 'utf8');
      const streamed = await capture(input, true);
      const buffered = await capture(input, false);
      if (JSON.stringify(streamed) !== JSON.stringify(buffered)) differ.push(relative(ROOT, file).split(sep).join('/'));
    }
    expect(differ).toEqual([]);
  }, 900_000);

  it('on generated streams, with the generated Secrets and NetworkPolicies at the end; --check and --level too', async () => {
    const input = k8sStream(docs(400));
    // Streamed for real: not handed to the buffered run.
    expect(streamStdin(input, optionsFrom(['-'], {}), () => {}).status).toBe('done');
    for (const args of [{}, { check: true }, { level: 'baseline' }, { quiet: true }]) {
      const streamed = await capture(input, true, args);
      const buffered = await capture(input, false, args);
      expect(streamed).toEqual(buffered);
    }
    const { stdout } = await capture(input, true);
    const kinds = parseAllDocuments(stdout).map((d) => (d.toJS() as { kind?: string }).kind);
    const firstGenerated = kinds.findIndex((k, i) => i >= 400);
    expect(firstGenerated).toBe(400);
    expect(kinds.slice(400).every((k) => k === 'Secret' || k === 'NetworkPolicy')).toBe(true);
    expect(kinds.slice(400)).toContain('Secret');
    expect(kinds.slice(400)).toContain('NetworkPolicy');
    // A document without a final line break, and a stream that is all empty documents.
    for (const text of [input.replace(/\n$/, ''), '---\n---\n', `${input}---\n# only a comment\n`]) {
      expect(await capture(text, true)).toEqual(await capture(text, false));
    }
  }, 300_000);

  it('a stream with a Namespace (the namespace-pss survey) is streamed too, read document by document', async () => {
    const namespace = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-03\n';
    const input = k8sStream([...docs(40), namespace, ...docs(40).map((d) => d.replace(/team-\d\d/g, 'team-03'))]);
    expect(streamStdin(input, optionsFrom(['-'], {}), () => {}).status).toBe('done');
    const streamed = await capture(input, true);
    expect(streamed).toEqual(await capture(input, false));
    expect(streamed.stdout).toContain('pod-security.kubernetes.io/enforce:');
  }, 120_000);

  it('a fallback before anything is written is the buffered run (a syntax error in the first documents)', async () => {
    const input = k8sStream([...docs(3), 'kind: [unclosed\n', ...docs(5)]);
    expect(streamStdin(input, optionsFrom(['-'], {}), () => {}).status).toBe('buffered');
    const streamed = await capture(input, true);
    expect(streamed).toEqual(await capture(input, false));
    expect(streamed.code).toBe(2);
    expect(streamed.stdout).toBe('');
  }, 120_000);
});

/** The input line of the first line of document `n` (0-based) of `k8sStream(list)` (its `---`). */
function lineOfDocument(list: string[], n: number): number {
  return k8sStream(list.slice(0, n)).split('\n').length;
}

describe('a late failure ends the stream with a document no YAML reader accepts', () => {
  const cases: [string, (doc: string) => string][] = [
    ['a syntax error', (doc) => `${doc}broken: [unclosed\n`],
    ['a duplicate key', (doc) => `${doc}metadata:\n  name: again\n`],
  ];
  for (const [what, spoil] of cases) {
    it(`${what} in document 60 of 80: earlier documents written hardened, then the stop, exit 2`, () => {
      const list = docs(80);
      // The spoiled line: after the document's own lines (its `---` line first).
      const at = lineOfDocument(list, 60) + list[60].split('\n').length;
      list[60] = spoil(list[60]);
      const input = k8sStream(list);
      const r = runCli(['-'], { input });
      expect(r.status, r.stderr).toBe(2);
      // The error the buffered run reports, where it reports it.
      const buffered = processText('<stdin>', input, optionsFrom(['-'], {}));
      expect(buffered.status).toBe('error');
      expect([at, at + 1]).toContain(buffered.line);
      expect(r.stderr).toBe(`${formatError(buffered)}\n`);
      expect(r.stdout.endsWith(`# cuirass: hardening stopped at ${r.stderr.match(/<stdin>:\d+:\d+/)![0]}; this stream is incomplete\n--- ]\n`)).toBe(true);
      // Whoever reads the whole stream gets an error: the yaml library, and kubectl before it applies anything.
      expect(parseAllDocuments(r.stdout).some((d) => d.errors.length > 0)).toBe(true);
      if (existsSync('/usr/bin/kubectl')) {
        const k = spawnSync('/usr/bin/kubectl', ['apply', '--dry-run=client', '--validate=false', '-o', 'name', '-f', '-'], { input: r.stdout, encoding: 'utf8', timeout: 120_000 });
        expect(k.status).not.toBe(0);
        expect(k.stderr).toContain('invalid Yaml document separator');
        expect(k.stdout).toBe('');
      }
      // What was written is hardened documents of the input, in order, and nothing after the stop.
      const written = parseAllDocuments(r.stdout.slice(0, r.stdout.lastIndexOf('# cuirass: hardening stopped'))).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
      expect(written.length).toBeGreaterThanOrEqual(16);
      expect(written.length).toBeLessThanOrEqual(60);
      const names = parseAllDocuments(k8sStream(list.slice(0, written.length))).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name);
      expect(written.map((o) => o.metadata.name)).toEqual(names);
      const pods = written.filter((o) => o.kind === 'Pod') as unknown as { spec: { securityContext?: { runAsNonRoot?: boolean } } }[];
      expect(pods.length).toBeGreaterThan(0);
      expect(pods.every((p) => p.spec.securityContext?.runAsNonRoot === true)).toBe(true);
      // The literal passwords moved out of the written documents went to Secrets that were never
      // written: no value of them is printed anywhere.
      const values = [...k8sStream(list).matchAll(/"(s3cr3t-\d+)"/g)].map((m) => m[1]);
      expect(values.length).toBeGreaterThan(0);
      for (const v of values) expect(r.stdout).not.toContain(v);
      expect(written.every((o) => o.kind !== 'Secret' && o.kind !== 'NetworkPolicy')).toBe(true);
    }, 300_000);
  }
});

/** Peak RSS (KB) of the built CLI hardening `input` from stdin, and its stdout's size. */
function peakRss(input: string): Promise<{ kb: number; status: number | null; bytes: number; stderr: string }> {
  const time = existsSync('/usr/bin/time');
  return new Promise((resolve, reject) => {
    const args = time ? ['-f', 'peak-rss-kb %M', process.execPath, CLI_PATH, '-', '--quiet'] : [CLI_PATH, '-', '--quiet'];
    const child = spawn(time ? '/usr/bin/time' : process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let bytes = 0;
    let stderr = '';
    let hwm = 0;
    child.stdout.on('data', (b: Buffer) => (bytes += b.length));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // Without /usr/bin/time: the high-water mark the kernel keeps for the process.
    const poll = time
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) hwm = Math.max(hwm, Number(m[1]));
          } catch {
            // ended
          }
        }, 200);
    child.on('error', reject);
    child.on('close', (status) => {
      if (poll) clearInterval(poll);
      const m = /peak-rss-kb (\d+)/.exec(stderr);
      resolve({ kb: m ? Number(m[1]) : hwm, status, bytes, stderr });
    });
    child.stdin.on('error', () => {
      // its status tells
    });
    child.stdin.end(input);
  });
}

// What the run keeps still grows with the stream (~1.8 KB a document: the input text, the values
// the network policies read): 219 MB at 10,000 documents, 283 MB at 30,000 (ADR 007). 20,000 keeps
// a margin a busy machine cannot eat, and fails the buffered run (302 MB at 10,000 already).
describe('a streamed stdin run stays under the 300 MB budget', () => {
  it('20,000 generated documents: peak RSS under 300 MB, every document written', async () => {
    const input = k8sStream(docs(20_000));
    const r = await peakRss(input);
    expect(r.status, r.stderr).toBe(0);
    // Every document and the generated ones: the output is larger than the input.
    expect(r.bytes).toBeGreaterThan(input.length);
    expect(r.kb).toBeGreaterThan(0);
    expect(r.kb, `peak RSS ${r.kb} KB`).toBeLessThan(300 * 1024);
  }, 1_800_000);
});

/** Deployments in block style only, as `kustomize build` writes them: no flow collection anywhere. */
function blockDocs(n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      `  name: block-${i}`,
      'spec:',
      '  selector:',
      '    matchLabels:',
      `      app: block-${i}`,
      '  template:',
      '    metadata:',
      '      labels:',
      `        app: block-${i}`,
      '    spec:',
      '      containers:',
      '      - name: app',
      `        image: example/block:1.${i}`,
      '        env:',
      '        - name: LOG_LEVEL',
      '          value: info',
      '',
    ].join('\n'),
  );
}

describe('a stream that never states a style fact (no flow collection, as kustomize writes)', () => {
  it('streams: each document is written before the later ones are read, so a late error stops after them', () => {
    const list = blockDocs(60);
    const input = k8sStream(list);
    expect(input).not.toMatch(/[[{]/);
    let written = 0;
    expect(streamStdin(input, optionsFrom(['-'], {}), () => written++).status).toBe('done');
    expect(written).toBe(60);
    // Rendering a scalar used to ask for the flow-padding fact, which such a stream never states:
    // every document waited for the whole stream to be parsed (its memory too), and a late error
    // sent it all to the buffered run with nothing written.
    list[50] = `${list[50]}broken: [unclosed\n`;
    written = 0;
    const stopped = streamStdin(k8sStream(list), optionsFrom(['-'], {}), () => written++);
    expect(stopped.status).toBe('stopped');
    expect(written).toBeGreaterThanOrEqual(49);
  }, 300_000);

  it('equals the buffered run', async () => {
    const input = k8sStream(blockDocs(40));
    const streamed = await capture(input, true);
    expect(streamed).toEqual(await capture(input, false));
    expect(streamed.code).toBe(0);
  }, 300_000);
});
