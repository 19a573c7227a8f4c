#!/usr/bin/env node
// cuirass benchmark: whole-process timings against SPEC section 8 (budgets). See bench/README.md.
//
//   node bench/run.mjs [--runs N] [--quick] [--sizes 1000,10000,50000] [--json FILE] [--strict]
//                      [--cold-runs N] [--timeout SEC] [--seed N] [--no-kustomize] [--peer-max-docs N]
//                      [--one-thread-max-docs N]
//
// A report, not a test: exits 0 whatever the verdicts, unless --strict is given (then 1 when a
// budget fails or a measured process failed). Only Node built-ins and the installed `yaml`.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_ROOT, DEFAULT_SEED, DEFAULT_SIZES, writeBenchInputs } from './generate.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'dist', 'src', 'cli.js');

// SPEC section 8 (restated 2026-12-04): within 1.25x of parsing the input and the hardened output
// (the `verify` reference row), aiming at 1.0x; RSS under 300 MB whatever the stream's length.
const BUDGET = { refRatio: 1.25, refAim: 1.0, coldStartMs: 150, rssMB: 300, growthRatio: 1.25 };

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const o = { runs: 5, quick: false, strict: false, json: join(BENCH_ROOT, 'results.json'), sizes: DEFAULT_SIZES, coldRuns: 20, timeoutSec: 900, seed: DEFAULT_SEED, kustomize: true, peerMaxDocs: 1000, oneThreadMaxDocs: 10000 };
  let runsGiven = false;
  let sizesGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    const num = (v, zero = false) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0 || (n === 0 && !zero)) usage(`${a}: not a positive number: ${v}`);
      return n;
    };
    if (a === '--runs') (o.runs = Math.round(num(next()))), (runsGiven = true);
    else if (a === '--quick') o.quick = true;
    else if (a === '--strict') o.strict = true;
    else if (a === '--json') o.json = next();
    else if (a === '--sizes') (o.sizes = next().split(',').map((s) => Math.round(num(s)))), (sizesGiven = true);
    else if (a === '--cold-runs') o.coldRuns = Math.round(num(next()));
    else if (a === '--timeout') o.timeoutSec = num(next());
    else if (a === '--seed') o.seed = Math.round(num(next()));
    else if (a === '--no-kustomize') o.kustomize = false;
    else if (a === '--peer-max-docs') o.peerMaxDocs = Math.round(num(next(), true));
    else if (a === '--one-thread-max-docs') o.oneThreadMaxDocs = Math.round(num(next(), true));
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument: ${a}`);
  }
  if (o.quick) {
    if (!sizesGiven) o.sizes = [1000];
    if (!runsGiven) o.runs = 3;
  }
  return o;
}

function usage(error) {
  const text = `usage: node bench/run.mjs [options]
  --runs N        runs per measurement (default 5; 3 with --quick)
  --quick         1k documents only, 3 runs
  --sizes LIST    document counts, comma separated (default ${DEFAULT_SIZES.join(',')})
  --json FILE     where the JSON results go (default ${join(BENCH_ROOT, 'results.json')})
  --strict        exit 1 when a budget fails or a measured process fails
  --cold-runs N   runs of each cold-start measurement (default 20)
  --timeout SEC   kill a measured process after SEC seconds (default 900)
  --seed N        generator seed (default ${DEFAULT_SEED})
  --no-kustomize  skip the kubectl kustomize peer measurement
  --peer-max-docs N  measure kubectl kustomize only up to N documents (default 1000: it takes
                  ~450 s at 10k documents and grows quadratically)
  --one-thread-max-docs N  also measure \`cuirass -\` with CUIRASS_THREADS=1 (no worker thread)
                  on inputs of up to N documents (default 10000)
`;
  if (error) {
    process.stderr.write(`bench: ${error}\n${text}`);
    process.exit(2);
  }
  process.stdout.write(text);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Measuring one process

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** GNU time, if it works here: it reports the peak RSS (%M, KiB) and CPU time of its child. */
function findTimeTool() {
  if (!existsSync('/usr/bin/time')) return null;
  const probe = join(tmpdir(), `cuirass-bench-time-probe-${process.pid}`);
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', '-o', probe, 'true']);
  const ok = r.status === 0 && existsSync(probe) && /^\d+ [\d.]+ [\d.]+$/m.test(readFileSync(probe, 'utf8'));
  rmSync(probe, { force: true });
  return ok ? '/usr/bin/time' : null;
}

const TIME = process.env.CUIRASS_BENCH_NO_TIME ? null : findTimeTool();
const TIMEOUT_BIN = which('timeout');

function tail(file, bytes = 600) {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, buf, 0, buf.length, Math.max(0, size - buf.length));
    closeSync(fd);
    return buf.toString('utf8').trim();
  } catch {
    return '';
  }
}

/**
 * Runs `cmd args` once as a whole process: stdin from a file (or nothing), stdout and stderr
 * to files. Wall time from process.hrtime.bigint() around spawnSync. With GNU time, the child
 * also gets its peak RSS and CPU time; without it, the process is spawned asynchronously and
 * /proc/<pid>/status VmHWM is polled (peak RSS only), else RSS is n/a.
 */
async function runOnce({ cmd, args, stdin = null, cwd, scratch, timeoutSec, noTimeout = false, okStatus = [0], env: extraEnv = {} }) {
  const outFile = join(scratch, 'stdout');
  const errFile = join(scratch, 'stderr');
  const rssFile = join(scratch, 'time');
  rmSync(rssFile, { force: true });
  const inFd = stdin ? openSync(stdin, 'r') : 'ignore';
  const outFd = openSync(outFile, 'w');
  const errFd = openSync(errFile, 'w');
  const env = { ...process.env, NO_COLOR: '1', ...extraEnv };
  let result;
  try {
    if (TIME) {
      // timeout(1) inside time(1): on timeout the measured process is killed, not orphaned.
      // Short runs (cold start) skip timeout(1): one exec less inside the measurement.
      const inner = TIMEOUT_BIN && !noTimeout ? [TIMEOUT_BIN, '-s', 'KILL', String(Math.ceil(timeoutSec)), cmd, ...args] : [cmd, ...args];
      const t0 = process.hrtime.bigint();
      const r = spawnSync(TIME, ['-f', '%M %U %S', '-o', rssFile, ...inner], { cwd, env, stdio: [inFd, outFd, errFd], timeout: (timeoutSec + 30) * 1000, killSignal: 'SIGKILL' });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      result = { ms, status: r.status, signal: r.signal, error: r.error?.message };
      const m = /^(\d+) ([\d.]+) ([\d.]+)$/m.exec(existsSync(rssFile) ? readFileSync(rssFile, 'utf8') : '');
      if (m) Object.assign(result, { rssKB: Number(m[1]), cpuMs: (Number(m[2]) + Number(m[3])) * 1000 });
    } else {
      result = await runPolling(cmd, args, { cwd, env, stdio: [inFd, outFd, errFd], timeoutSec });
    }
  } finally {
    if (typeof inFd === 'number') closeSync(inFd);
    closeSync(outFd);
    closeSync(errFd);
  }
  result.ok = okStatus.includes(result.status) && !result.signal && !result.error;
  if (!result.ok && !result.error) result.error = result.status === 137 || result.signal === 'SIGKILL' || result.status === 124 ? `killed (timeout ${timeoutSec}s?)` : `exit ${result.status ?? result.signal}`;
  if (!result.ok) result.stderr = tail(errFile);
  result.outBytes = statSync(outFile).size;
  return result;
}

/** Fallback without GNU time: async spawn, VmHWM polled from /proc every 10 ms. */
function runPolling(cmd, args, { cwd, env, stdio, timeoutSec }) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd, env, stdio });
    let hwm = null;
    const poll = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm ?? 0, Number(m[1]));
      } catch {
        // not on Linux, or the process is gone
      }
    };
    const timer = setInterval(poll, 10);
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutSec * 1000);
    child.on('error', (e) => {
      clearInterval(timer);
      clearTimeout(killer);
      resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: null, error: e.message });
    });
    child.on('exit', (status, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearInterval(timer);
      clearTimeout(killer);
      resolve({ ms, status, signal, rssKB: hwm ?? undefined });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting

const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function summarize(runs) {
  const ok = runs.filter((r) => r.ok);
  const ms = ok.map((r) => r.ms);
  const cpu = ok.filter((r) => r.cpuMs != null).map((r) => r.cpuMs);
  const rss = ok.filter((r) => r.rssKB != null).map((r) => r.rssKB);
  return {
    runs: runs.length,
    okRuns: ok.length,
    runsMs: runs.map((r) => (r.ok ? round(r.ms) : null)),
    medianMs: ms.length ? round(median(ms)) : null,
    minMs: ms.length ? round(Math.min(...ms)) : null,
    maxMs: ms.length ? round(Math.max(...ms)) : null,
    cpuMedianMs: cpu.length ? round(median(cpu)) : null,
    rssMaxKB: rss.length ? Math.max(...rss) : null,
    rssMedianKB: rss.length ? median(rss) : null,
    outBytes: ok.length ? ok[0].outBytes : null,
    errors: runs.filter((r) => !r.ok).map((r) => ({ error: r.error, stderr: r.stderr })),
  };
}

const round = (x, d = 1) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);
const fmtMs = (ms) => (ms == null ? 'n/a' : ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`);
const fmtSpread = (s) => (s.minMs == null ? '' : `${fmtMs(s.minMs)} – ${fmtMs(s.maxMs)}`);
const fmtMB = (kb) => (kb == null ? 'n/a' : `${(kb / 1024).toFixed(0)} MB`);
const fmtX = (x) => (x == null ? '' : `${x.toFixed(2)}x`);
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);

function table(headers, rows, align) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c ?? '')));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => ((align?.[i] ?? 'l') === 'r' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const log = (s) => process.stderr.write(s);

// ---------------------------------------------------------------------------------------------
// Main

const opts = parseArgs(process.argv.slice(2));
if (!existsSync(CLI)) {
  process.stderr.write(`bench: ${CLI} not found; run \`npm run build\` first\n`);
  process.exit(2);
}

const started = new Date();
const load0 = loadavg();
const cliMtime0 = statSync(CLI).mtimeMs;
log(`bench: generating inputs under ${BENCH_ROOT} (seed ${opts.seed}, sizes ${opts.sizes.join(', ')})\n`);
const inputs = writeBenchInputs({ root: BENCH_ROOT, sizes: opts.sizes, seed: opts.seed });
const scratch = join(BENCH_ROOT, 'scratch');
const work = join(BENCH_ROOT, 'work');
mkdirSync(scratch, { recursive: true });
const yamlUrl = import.meta.resolve('yaml');
const floorScript = join(BENCH_ROOT, 'floor.mjs');
writeFileSync(
  floorScript,
  `// The floor: what the yaml library needs just to parse and re-serialize the input.
import { parseAllDocuments } from ${JSON.stringify(yamlUrl)};
import { readFileSync, writeSync } from 'node:fs';
const text = readFileSync(0, 'utf8');
const out = parseAllDocuments(text).map((doc) => String(doc)).join('');
writeSync(1, out);
`,
);

// The floor for a folder: the same, for every YAML and JSON file under argv[2].
const floorDirScript = join(BENCH_ROOT, 'floor-dir.mjs');
writeFileSync(
  floorDirScript,
  `// The floor of a folder: parse and re-serialize every .yaml, .yml and .json file under argv[2].
import { parseAllDocuments } from ${JSON.stringify(yamlUrl)};
import { readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
let bytes = 0;
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) walk(path);
    else if (/\\.(ya?ml|json)$/i.test(e.name)) {
      // A document with errors cannot be serialized: it still counts for its parse.
      for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) bytes += doc.errors.length ? 0 : String(doc).length;
    }
  }
};
walk(process.argv[2]);
writeSync(1, String(bytes) + '\\n');
`,
);

// The least a tool that re-parses its output before writing it (SPEC section 4) needs: the same
// library parsing the input and then cuirass's output for it (made once, before the runs).
const verifyScript = join(BENCH_ROOT, 'verify-floor.mjs');
writeFileSync(
  verifyScript,
  `// Reference: parse the input, then parse the hardened output (argv[2]) and write it.
import { parseAllDocuments } from ${JSON.stringify(yamlUrl)};
import { readFileSync, writeSync } from 'node:fs';
const text = readFileSync(0, 'utf8');
parseAllDocuments(text);
const out = readFileSync(process.argv[2], 'utf8');
parseAllDocuments(out);
writeSync(1, out);
`,
);

/** cuirass's output for `stdinFile`, made once, for the parse-input-and-output reference. */
function hardenedOnce(stdinFile, name) {
  const out = join(scratch, `${name}.hardened.yaml`);
  const r = spawnSync(process.execPath, [CLI, '-'], { cwd: scratch, input: readFileSync(stdinFile), maxBuffer: 1 << 30, env: { ...process.env, NO_COLOR: '1' } });
  writeFileSync(out, r.stdout);
  return out;
}

let kubectl = null;
let kubectlVersion = null;
let kustomizeNote = null;
if (!opts.kustomize) kustomizeNote = 'skipped (--no-kustomize)';
else {
  kubectl = which('kubectl');
  if (!kubectl) kustomizeNote = 'skipped: kubectl is not on the PATH';
  else {
    const v = spawnSync(kubectl, ['version', '--client'], { encoding: 'utf8' });
    kubectlVersion = (v.stdout || '').trim().replace(/\n/g, '; ');
  }
}

const cuirassVersion = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' }).stdout.trim();
const node = process.execPath;
const timeoutSec = opts.timeoutSec;
const results = [];

/** Runs the given measurements `runs` times, interleaved (run 1 of each, then run 2…). */
async function measureSet(input, specs, runs) {
  const acc = specs.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (const [i, spec] of specs.entries()) {
      if (acc[i].some((x) => !x.ok && /timeout/.test(x.error ?? ''))) continue; // one timeout is enough
      spec.prepare?.();
      log(`  ${input.label}: ${spec.label} (run ${r + 1}/${runs}) … `);
      const res = await runOnce({ ...spec, scratch, timeoutSec });
      spec.cleanup?.();
      log(res.ok ? `${fmtMs(res.ms)}${res.rssKB ? `, ${fmtMB(res.rssKB)}` : ''}\n` : `FAILED: ${res.error}\n${res.stderr ? res.stderr.split('\n').map((l) => `      ${l}`).join('\n') + '\n' : ''}`);
      acc[i].push(res);
    }
  }
  const floor = summarize(acc[specs.findIndex((s) => s.id === 'floor')]);
  const refAt = specs.findIndex((s) => s.id === 'verify');
  const ref = refAt >= 0 ? summarize(acc[refAt]) : undefined;
  for (const [i, spec] of specs.entries()) {
    const s = spec.id === 'floor' ? floor : summarize(acc[i]);
    results.push({
      input: input.label,
      kind: input.kind,
      docs: input.docs,
      bytes: input.bytes,
      id: spec.id,
      command: spec.label,
      ...s,
      perDocUs: s.medianMs == null ? null : round((s.medianMs * 1000) / input.docs),
      ratioToFloor: spec.id === 'floor' ? 1 : round(ratio(s.medianMs, floor.medianMs), 3),
      cpuRatioToFloor: spec.id === 'floor' ? 1 : round(ratio(s.cpuMedianMs, floor.cpuMedianMs), 3),
      // The budget's reference: parsing the input and the hardened output once.
      ratioToRef: ref ? round(ratio(s.medianMs, ref.medianMs), 3) : null,
      cpuRatioToRef: ref ? round(ratio(s.cpuMedianMs, ref.cpuMedianMs), 3) : null,
    });
  }
}

function freshCopy(from, to) {
  return () => {
    rmSync(to, { recursive: true, force: true });
    mkdirSync(dirname(to), { recursive: true });
    cpSync(from, to, { recursive: true });
  };
}

for (const k of inputs.k8s) {
  const input = { label: `k8s-${k.label}`, kind: 'kubernetes', docs: k.docs, bytes: k.bytes };
  log(`bench: ${input.label} (${k.docs} documents, ${(k.bytes / 1048576).toFixed(1)} MiB, ${k.fileCount} files of 100)\n`);
  const dirCopy = join(work, input.label);
  const specs = [
    { id: 'floor', label: 'floor: yaml parse + String(doc)', cmd: node, args: [floorScript], stdin: k.stream, cwd: scratch },
    { id: 'verify', label: 'reference: parse input + output', cmd: node, args: [verifyScript, hardenedOnce(k.stream, input.label)], stdin: k.stream, cwd: scratch },
    { id: 'stdin', label: 'cuirass - (stdin → stdout)', cmd: node, args: [CLI, '-'], stdin: k.stream, cwd: scratch },
    { id: 'dir', label: 'cuirass DIR --write', cmd: node, args: [CLI, dirCopy, '--write'], cwd: scratch, prepare: freshCopy(k.filesDir, dirCopy) },
    // The default output: the unified diff of the stream (src/report/diff.ts), not a budget row.
    { id: 'diff', label: 'cuirass - --format diff', cmd: node, args: [CLI, '-', '--format', 'diff'], stdin: k.stream, cwd: scratch },
  ];
  // The same stream on the main thread alone: what the worker thread's re-checks save (src/verify.ts).
  if (k.docs <= opts.oneThreadMaxDocs) specs.push({ id: 'stdin1', label: 'cuirass - on one thread (CUIRASS_THREADS=1)', cmd: node, args: [CLI, '-'], stdin: k.stream, cwd: scratch, env: { CUIRASS_THREADS: '1' } });
  if (kubectl && k.docs <= opts.peerMaxDocs) specs.push({ id: 'kustomize', label: 'kubectl kustomize (peer)', cmd: kubectl, args: ['kustomize', k.kustomizeDir], cwd: scratch });
  await measureSet(input, specs, opts.runs);
  rmSync(dirCopy, { recursive: true, force: true });
}

{
  const c = inputs.compose;
  const input = { label: c.label, kind: 'compose', docs: c.services, bytes: c.bytes };
  log(`bench: ${input.label} (${c.services} services, ${(c.bytes / 1024).toFixed(0)} KiB)\n`);
  const dirCopy = join(work, input.label);
  await measureSet(
    input,
    [
      { id: 'floor', label: 'floor: yaml parse + String(doc)', cmd: node, args: [floorScript], stdin: c.file, cwd: scratch },
      { id: 'verify', label: 'reference: parse input + output', cmd: node, args: [verifyScript, hardenedOnce(c.file, input.label)], stdin: c.file, cwd: scratch },
      { id: 'stdin', label: 'cuirass - (stdin → stdout)', cmd: node, args: [CLI, '-'], stdin: c.file, cwd: scratch },
      { id: 'dir', label: 'cuirass DIR --write', cmd: node, args: [CLI, dirCopy, '--write'], cwd: scratch, prepare: freshCopy(c.filesDir, dirCopy) },
    ],
    opts.runs,
  );
  rmSync(dirCopy, { recursive: true, force: true });
}

// The real corpus (SPEC section 9), when it is next to the repository: every folder but the
// JSON schemas, hardened in place on a fresh copy. cuirass exits 2 there (a few corpus files are
// invalid on purpose: duplicate keys), which counts as a successful run.
const CORPUS = join(REPO, '..', 'shared', 'corpus');
let corpusNote = null;
if (!existsSync(CORPUS)) corpusNote = `skipped: ${CORPUS} not found`;
else {
  const corpusSrc = join(work, 'corpus-src');
  rmSync(corpusSrc, { recursive: true, force: true });
  mkdirSync(corpusSrc, { recursive: true });
  for (const e of readdirSync(CORPUS, { withFileTypes: true })) if (e.isDirectory() && e.name !== 'schemas') cpSync(join(CORPUS, e.name), join(corpusSrc, e.name), { recursive: true });
  let files = 0;
  let bytes = 0;
  const count = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) count(path);
      else if (/\.(ya?ml|json)$/i.test(e.name)) {
        files++;
        bytes += statSync(path).size;
      }
    }
  };
  count(corpusSrc);
  const input = { label: 'corpus', kind: 'corpus', docs: files, bytes };
  log(`bench: corpus (${files} YAML/JSON files, ${(bytes / 1048576).toFixed(1)} MiB)\n`);
  const dirCopy = join(work, 'corpus');
  await measureSet(
    input,
    [
      { id: 'floor', label: 'floor: yaml parse + String(doc)', cmd: node, args: [floorDirScript, corpusSrc], cwd: scratch },
      { id: 'dir', label: 'cuirass DIR --write', cmd: node, args: [CLI, dirCopy, '--write'], cwd: scratch, okStatus: [0, 2], prepare: freshCopy(corpusSrc, dirCopy) },
    ],
    opts.runs,
  );
  rmSync(dirCopy, { recursive: true, force: true });
  rmSync(corpusSrc, { recursive: true, force: true });
}

// Cold start: interleaved, without the timeout(1) wrapper.
log(`bench: cold start (${opts.coldRuns} runs each)\n`);
const smallCopy = join(work, 'small');
const cold = [
  { id: 'node', label: 'node -e 0 (reference)', cmd: node, args: ['-e', '0'], cwd: scratch },
  { id: 'version', label: 'cuirass --version', cmd: node, args: [CLI, '--version'], cwd: scratch },
  { id: 'small', label: 'cuirass FILE --write (1 Deployment)', cmd: node, args: [CLI, join(smallCopy, 'deployment.yaml'), '--write'], cwd: scratch, prepare: freshCopy(inputs.small.filesDir, smallCopy) },
];
const coldRuns = cold.map(() => []);
for (let r = 0; r < opts.coldRuns; r++) {
  for (const [i, spec] of cold.entries()) {
    spec.prepare?.();
    coldRuns[i].push(await runOnce({ ...spec, scratch, timeoutSec: 60, noTimeout: true }));
  }
}
rmSync(smallCopy, { recursive: true, force: true });
const coldStart = cold.map((spec, i) => ({ id: spec.id, command: spec.label, ...summarize(coldRuns[i]) }));

// Growth: time per document across sizes, raw and net of the `--version` cold start.
const startupMs = coldStart.find((c) => c.id === 'version').medianMs ?? 0;
const growth = [];
const k8sInputs = inputs.k8s.map((k) => `k8s-${k.label}`);
for (const id of ['stdin', 'dir', 'diff', 'floor', 'kustomize']) {
  const rows = k8sInputs.map((input) => results.find((r) => r.input === input && r.id === id));
  if (!rows.some(Boolean)) continue;
  const points = rows.map((r, i) =>
    r?.medianMs != null
      ? { input: r.input, docs: r.docs, perDocUs: r.perDocUs, netPerDocUs: round((Math.max(0, r.medianMs - startupMs) * 1000) / r.docs) }
      : { input: k8sInputs[i], docs: inputs.k8s[i].docs, perDocUs: null, netPerDocUs: null },
  );
  const measured = points.filter((p) => p.netPerDocUs != null);
  const steps = [];
  for (let i = 1; i < measured.length; i++) {
    const a = measured[i - 1];
    const b = measured[i];
    const rr = ratio(b.netPerDocUs, a.netPerDocUs);
    steps.push({ from: a.input, to: b.input, perDocRatio: round(rr, 3), exponent: rr ? round(1 + Math.log(rr) / Math.log(b.docs / a.docs), 3) : null });
  }
  growth.push({ id, command: rows.find(Boolean).command, points, steps });
}

// ---------------------------------------------------------------------------------------------
// Verdicts

const verdicts = [];
const verdict = (budget, status, detail) => verdicts.push({ budget, status, detail });
const k8sRows = (id) => results.filter((r) => r.kind === 'kubernetes' && r.id === id);
const failedRows = results.filter((r) => r.errors.length);

for (const [id, what] of [
  ['stdin', 'cuirass -'],
  ['dir', 'cuirass DIR --write'],
]) {
  // Inputs with a reference row (the corpus has none: its outputs are many files).
  const rows = results.filter((r) => r.id === id && results.some((x) => x.input === r.input && x.id === 'verify'));
  const measured = rows.filter((r) => r.ratioToRef != null);
  const detail =
    rows.map((r) => `${r.input} ${r.ratioToRef != null ? fmtX(r.ratioToRef) : r.errors[0]?.error ?? 'n/a'}${r.cpuRatioToRef != null ? ` (cpu ${fmtX(r.cpuRatioToRef)})` : ''}`).join(', ') +
    (measured.length && measured.every((r) => r.ratioToRef <= BUDGET.refAim) ? ' (at the aim)' : ` (aim ${BUDGET.refAim.toFixed(2)}x)`);
  verdict(`throughput: ${what} within ${BUDGET.refRatio}x of parsing the input + the hardened output`, !rows.length ? 'N/A' : measured.length === rows.length && measured.every((r) => r.ratioToRef <= BUDGET.refRatio) ? 'PASS' : 'FAIL', detail);
}

{
  const peers = k8sRows('kustomize');
  if (!peers.length) verdict('throughput: faster than kubectl kustomize with an equivalent patch', 'N/A', kustomizeNote ?? 'not measured');
  else {
    const parts = [];
    let pass = true;
    for (const p of peers) {
      const mine = ['stdin', 'dir'].map((id) => results.find((r) => r.input === p.input && r.id === id));
      const rs = mine.map((m) => ratio(m?.medianMs, p.medianMs));
      if (p.medianMs == null || rs.some((x) => x == null || x >= 1)) pass = false;
      parts.push(`${p.input} cuirass -/kustomize ${rs[0] != null ? fmtX(rs[0]) : 'n/a'}, DIR/kustomize ${rs[1] != null ? fmtX(rs[1]) : 'n/a'}`);
    }
    const above = inputs.k8s.filter((k) => k.docs > opts.peerMaxDocs).map((k) => `k8s-${k.label}`);
    verdict('throughput: faster than kubectl kustomize with an equivalent patch', pass ? 'PASS' : 'FAIL', parts.join('; ') + (above.length ? `; not measured on ${above.join(', ')} (--peer-max-docs ${opts.peerMaxDocs})` : ''));
  }
}

{
  const v = coldStart.find((c) => c.id === 'version');
  const small = coldStart.find((c) => c.id === 'small');
  verdict(
    `cold start: cuirass --version under ${BUDGET.coldStartMs} ms`,
    v.medianMs == null ? 'N/A' : v.medianMs < BUDGET.coldStartMs ? 'PASS' : 'FAIL',
    `median ${fmtMs(v.medianMs)} (${fmtSpread(v)}, cpu ${fmtMs(v.cpuMedianMs)}); bare node ${fmtMs(coldStart[0].medianMs)}; one small file ${fmtMs(small.medianMs)}`,
  );
}

{
  // Every size: the budget holds for a stream of any length.
  const rows = results.filter((r) => r.kind === 'kubernetes' && (r.id === 'stdin' || r.id === 'dir'));
  const peak = rows.filter((r) => r.rssMaxKB != null);
  const budget = `memory: RSS under ${BUDGET.rssMB} MB at every stream length`;
  if (!rows.length) verdict(budget, 'N/A', 'no Kubernetes input measured');
  else if (!peak.length) verdict(budget, 'N/A', 'peak RSS not available here');
  else {
    verdict(
      budget,
      peak.every((r) => r.rssMaxKB / 1024 < BUDGET.rssMB) ? 'PASS' : 'FAIL',
      peak.map((r) => `${r.command.split(' (')[0]} at ${r.docs} ${fmtMB(r.rssMaxKB)}`).join(', '),
    );
  }
}

{
  const mine = growth.filter((g) => g.id === 'stdin' || g.id === 'dir');
  const steps = mine.flatMap((g) => g.steps.map((s) => ({ ...s, id: g.id })));
  const missing = results.filter((r) => r.kind === 'kubernetes' && (r.id === 'stdin' || r.id === 'dir') && r.okRuns === 0);
  if (!steps.length && !missing.length) verdict('growth: cost linear in input size', 'N/A', 'needs at least two sizes');
  else {
    const pass = !missing.length && steps.every((s) => s.perDocRatio != null && s.perDocRatio <= BUDGET.growthRatio);
    verdict(
      'growth: cost linear in input size',
      pass ? 'PASS' : 'FAIL',
      `per-document time ratio (net of startup; linear = 1.00, limit ${BUDGET.growthRatio}): ` +
        [
          ...steps.map((s) => `${s.id === 'stdin' ? 'cuirass -' : 'DIR'} ${s.from.replace('k8s-', '')}→${s.to.replace('k8s-', '')} ${fmtX(s.perDocRatio)} (n^${s.exponent})`),
          ...missing.map((r) => `${r.command.split(' (')[0]} at ${r.input}: ${r.errors[0]?.error}`),
        ].join(', '),
    );
  }
}
if (failedRows.length) verdict('all measured processes succeeded', 'FAIL', failedRows.map((r) => `${r.input} ${r.command}: ${r.errors[0].error}`).join('; '));

// ---------------------------------------------------------------------------------------------
// Report

const load1 = loadavg();
const cliRebuilt = statSync(CLI).mtimeMs !== cliMtime0;
const out = [];
out.push(`cuirass ${cuirassVersion} benchmark — ${started.toISOString()}`);
out.push(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; runs: ${opts.runs}; seed ${opts.seed}; inputs in ${BENCH_ROOT}`);
out.push(`peak RSS: ${TIME ? 'GNU time %M' : existsSync('/proc/self/status') ? '/proc/<pid>/status VmHWM (polled)' : 'n/a'}; peer: ${kubectl ? kubectlVersion : kustomizeNote}`);
out.push(`load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}, at end ${load1.map((l) => l.toFixed(2)).join(' ')}`);
if (Math.max(load0[0], load1[0]) > cpus().length * 0.75) out.push(`WARNING: the machine was busy (load ≥ ${(cpus().length * 0.75).toFixed(1)} on ${cpus().length} CPUs); wall times are inflated and noisy, the cpu columns are steadier.`);
if (cliRebuilt) out.push(`WARNING: ${CLI} was rebuilt during the benchmark; the runs may mix two builds.`);
out.push('');
// The headline: each input's cuirass runs against the budget's reference (parse input + output).
out.push(`Headline: × ref = wall time over parsing the input and the hardened output once (budget ${BUDGET.refRatio}x, aim ${BUDGET.refAim.toFixed(2)}x)`);
out.push(
  table(
    ['input', 'docs', 'reference', 'cuirass -', '× ref (cpu)', 'DIR --write', '× ref (cpu)', 'peak RSS -', 'kubectl kustomize'],
    [...new Set(results.map((r) => r.input))].flatMap((name) => {
      const row = (id) => results.find((r) => r.input === name && r.id === id);
      const ref = row('verify');
      if (!ref) return [];
      const [stdin, dir, peer] = [row('stdin'), row('dir'), row('kustomize')];
      const x = (r) => (r?.ratioToRef != null ? `${fmtX(r.ratioToRef)} (${fmtX(r.cpuRatioToRef)})` : 'n/a');
      return [[name, ref.docs, fmtMs(ref.medianMs), fmtMs(stdin?.medianMs), x(stdin), fmtMs(dir?.medianMs), x(dir), fmtMB(stdin?.rssMaxKB), peer ? `${fmtMs(peer.medianMs)} (${fmtX(ratio(peer.medianMs, stdin?.medianMs))} cuirass -)` : 'not measured']];
    }),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  ),
);
out.push('');
out.push('Throughput (whole processes; wall time median and min – max over the runs)');
out.push(
  table(
    ['input', 'docs', 'command', 'ok', 'median', 'min – max', 'µs/doc', 'cpu', 'peak RSS', '× ref', '× ref cpu', '× floor'],
    results.map((r) => [r.input, r.docs, r.command, `${r.okRuns}/${r.runs}`, r.okRuns ? fmtMs(r.medianMs) : r.errors[0]?.error ?? 'n/a', fmtSpread(r), r.perDocUs ?? 'n/a', fmtMs(r.cpuMedianMs), fmtMB(r.rssMaxKB), r.ratioToRef != null ? fmtX(r.ratioToRef) : '', r.cpuRatioToRef != null ? fmtX(r.cpuRatioToRef) : '', r.id === 'floor' ? '1.00x' : fmtX(r.ratioToFloor)]),
    ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  ),
);
if (kustomizeNote) out.push(`kubectl kustomize: ${kustomizeNote}`);
out.push('');
out.push(`Cold start (${opts.coldRuns} runs each)`);
const nodeCold = coldStart.find((c) => c.id === 'node');
out.push(
  table(
    ['command', 'median', 'min – max', 'cpu', 'peak RSS', 'over bare node'],
    coldStart.map((c) => [c.command, fmtMs(c.medianMs), fmtSpread(c), fmtMs(c.cpuMedianMs), fmtMB(c.rssMaxKB), c.id === 'node' ? '' : `+${fmtMs(c.medianMs - nodeCold.medianMs)}`]),
    ['l', 'r', 'r', 'r', 'r', 'r'],
  ),
);
out.push('');
out.push(`Growth (µs per document; net = minus the cuirass --version median, ${fmtMs(startupMs)})`);
out.push(
  table(
    ['command', ...k8sInputs, 'per-doc ratio, net (size exponent)'],
    growth.map((g) => [g.command, ...g.points.map((p) => (p.perDocUs == null ? 'n/a' : `${p.perDocUs} (net ${p.netPerDocUs})`)), g.steps.map((s) => `${s.from.replace('k8s-', '')}→${s.to.replace('k8s-', '')} ${fmtX(s.perDocRatio)} (n^${s.exponent})`).join(', ') || 'n/a']),
    ['l', ...k8sInputs.map(() => 'r'), 'l'],
  ),
);
out.push('');
out.push('Budgets (SPEC section 8)');
for (const v of verdicts) out.push(`${v.status.padEnd(4)}  ${v.budget} — ${v.detail}`);
for (const r of failedRows) {
  out.push('');
  out.push(`${r.input} ${r.command}: ${r.errors.length} failed run(s): ${r.errors[0].error}`);
  if (r.errors[0].stderr) out.push(r.errors[0].stderr.split('\n').map((l) => `    ${l}`).join('\n'));
}
process.stdout.write(out.join('\n') + '\n');

const json = {
  meta: {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    cuirass: cuirassVersion,
    cli: CLI,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    totalMemMB: Math.round(totalmem() / 2 ** 20),
    loadavgStart: load0,
    loadavgEnd: load1,
    cliRebuiltDuringRun: cliRebuilt,
    runs: opts.runs,
    coldRuns: opts.coldRuns,
    quick: opts.quick,
    seed: opts.seed,
    sizes: opts.sizes,
    rssTool: TIME ? 'gnu-time' : existsSync('/proc/self/status') ? 'proc-vmhwm' : null,
    kubectl: kubectlVersion,
    kustomizeNote,
    budgets: BUDGET,
  },
  inputs,
  results,
  coldStart,
  growth,
  verdicts,
};
mkdirSync(dirname(opts.json), { recursive: true });
writeFileSync(opts.json, JSON.stringify(json, null, 2) + '\n');
process.stdout.write(`\nJSON: ${opts.json}\n`);

const failed = verdicts.some((v) => v.status === 'FAIL');
process.exitCode = opts.strict && failed ? 1 : 0;
