/**
 * The upstream Pod Security Admission fixtures (`../shared/corpus/pss`, policy
 * version v1.37) piped one by one through `cuirass -`, the way a Helm
 * post-renderer or a kustomize pipe runs it (SPEC §1, §3 levels). Every fixture
 * runs in-process through the CLI's stdin path (test/support/in-process.ts); a
 * sample of them also runs through the BUILT CLI, which must print the same
 * bytes (a process per fixture took minutes on a loaded 2-core machine).
 *
 * restricted: whatever the fixture, the output passes the restricted profile
 * except for volumes, and every volume left is named as an unfixed finding.
 * baseline: `--level baseline` never removes or overrides what the file says,
 * so what it cannot fix must be reported.
 */
import { availableParallelism } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { LineCounter, parseAllDocuments, parseDocument, isMap, isSeq, type Node } from 'yaml';
import { checkPodSecurity, type PssViolation } from './support/pss.js';
import { mapLimit, runCliAsync, type CliResult } from './support/cli.js';
import { hardenStdin } from './support/in-process.js';

const PSS = fileURLToPath(new URL('../../shared/corpus/pss/', import.meta.url));
const PARALLEL = Math.max(2, Math.min(8, availableParallelism()));

interface Fixture {
  /** e.g. `fail/hostpathvolumes0.yaml` */
  name: string;
  input: string;
}

interface Run extends Fixture {
  result: CliResult;
  /** Parsed output documents. */
  objects: any[];
  parseErrors: string[];
}

function fixtures(level: 'restricted' | 'baseline'): Fixture[] {
  return ['pass', 'fail'].flatMap((kind) => {
    const dir = join(PSS, level, 'v1.37', kind);
    return readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()
      .map((f) => ({ name: `${kind}/${f}`, input: readFileSync(join(dir, f), 'utf8') }));
  });
}

/** Every how many fixtures one also runs through the built CLI. */
const SAMPLE_EVERY = 10;

async function runAll(list: Fixture[], args: string[]): Promise<Run[]> {
  const level = args.includes('baseline') ? 'baseline' : 'restricted';
  const runs = list.map((fixture) => {
    const r = hardenStdin(fixture.input, { level });
    const result: CliResult = { status: r.status === 'error' ? 2 : 0, stdout: r.stdout, stderr: r.stderr };
    const docs = parseAllDocuments(result.stdout, { uniqueKeys: true });
    return {
      ...fixture,
      result,
      objects: docs.map((d) => d.toJS()),
      parseErrors: docs.flatMap((d) => d.errors.map((e) => e.message)),
    };
  });
  // The built CLI prints the same bytes and exits 0 on a sample of them.
  const sample = runs.filter((_, i) => i % SAMPLE_EVERY === 0);
  const built = await mapLimit(sample, PARALLEL, (r) => runCliAsync(['-', '--format', 'yaml', ...args], { input: r.input }));
  sample.forEach((r, i) => {
    expect(built[i], r.name).toEqual(r.result);
  });
  return runs;
}

/** `  <stdin>:L:C  severity transform: message` lines of the summary. */
function findings(stderr: string): { line: number; col: number; severity: string; transform: string; message: string }[] {
  return [...stderr.matchAll(/^ {2}<stdin>:(\d+):(\d+) +(\w+) +([\w-]+): (.*)$/gm)].map((m) => ({
    line: Number(m[1]), col: Number(m[2]), severity: m[3], transform: m[4], message: m[5],
  }));
}

/** The pod volume named `name` of the first document: its text range as [startLine, endLine] (1-based). */
function volumeLines(text: string, name: string): [number, number] | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const volumes = doc.getIn(['spec', 'volumes'], true);
  if (!isSeq(volumes)) return undefined;
  const item = volumes.items.find((v) => isMap(v) && v.get('name') === name) as Node | undefined;
  if (!item?.range) return undefined;
  return [lineCounter.linePos(item.range[0]).line, lineCounter.linePos(Math.max(item.range[0], item.range[1] - 1)).line];
}

/** `volume "NAME"` as the PSS checker names it. */
const volumeName = (v: PssViolation) => /volume "([^"]*)"/.exec(v.message)?.[1] ?? '';

const describeViolations = (vs: PssViolation[]) => vs.map((v) => `${v.check} at ${v.path}`).join('; ');

describe('restricted fixtures through `cuirass -`', () => {
  const list = fixtures('restricted');
  let runs: Run[];
  beforeAll(async () => {
    runs = await runAll(list, []);
  }, 300_000);

  it('there are pass and fail fixtures to run', () => {
    expect(list.filter((f) => f.name.startsWith('pass/')).length).toBeGreaterThan(10);
    expect(list.filter((f) => f.name.startsWith('fail/')).length).toBeGreaterThan(50);
  });

  it('every fixture exits 0 with a parseable stream whose first document is the pod', () => {
    const problems = runs.flatMap((r) => {
      const out: string[] = [];
      if (r.result.status !== 0) out.push(`${r.name}: exit ${r.result.status}: ${r.result.stderr}`);
      if (r.parseErrors.length) out.push(`${r.name}: output does not parse: ${r.parseErrors[0]}`);
      const before = parseAllDocuments(r.input).map((d) => d.toJS());
      if (r.objects[0]?.kind !== before[0]?.kind || r.objects[0]?.metadata?.name !== before[0]?.metadata?.name) {
        out.push(`${r.name}: first document is ${r.objects[0]?.kind}/${r.objects[0]?.metadata?.name}`);
      }
      return out;
    });
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('every output passes the restricted Pod Security Standard, volumes aside', () => {
    const failing = runs.flatMap((r) => {
      const vs = r.objects.flatMap((o) => checkPodSecurity(o, 'restricted')).filter((v) => !v.volume);
      return vs.length ? [`${r.name}: ${describeViolations(vs)}`] : [];
    });
    expect(failing, failing.join('\n')).toEqual([]);
  });

  it('every volume left in violation is named as an unfixed host-volumes finding that points at it', () => {
    const problems: string[] = [];
    let withVolumes = 0;
    for (const r of runs) {
      const vs = r.objects.flatMap((o) => checkPodSecurity(o, 'restricted')).filter((v) => v.volume);
      if (vs.length === 0) continue;
      withVolumes++;
      const reported = findings(r.result.stderr).filter((f) => f.transform === 'host-volumes');
      if (!/^cuirass: not fixed:$/m.test(r.result.stderr)) problems.push(`${r.name}: no "not fixed" section`);
      for (const name of new Set(vs.map(volumeName))) {
        const f = reported.find((x) => x.message.includes(`volume "${name}"`));
        if (!f) {
          problems.push(`${r.name}: volume "${name}" (${describeViolations(vs)}) not reported:\n${r.result.stderr}`);
          continue;
        }
        // The position points at that volume, in the stream read or in the stream printed.
        const inInput = volumeLines(r.input, name);
        const inOutput = volumeLines(r.result.stdout, name);
        const within = (span?: [number, number]) => span !== undefined && f.line >= span[0] && f.line <= span[1];
        if (!within(inInput) && !within(inOutput)) {
          problems.push(`${r.name}: volume "${name}" reported at ${f.line}:${f.col}, but it spans input lines ${inInput} / output lines ${inOutput}`);
        }
      }
    }
    expect(withVolumes).toBeGreaterThanOrEqual(20);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('a fixture without a volume problem gets no host-volumes finding', () => {
    const noisy = runs.filter((r) =>
      r.objects.flatMap((o) => checkPodSecurity(o, 'restricted')).every((v) => !v.volume) &&
      findings(r.result.stderr).some((f) => f.transform === 'host-volumes'));
    expect(noisy.map((r) => r.name)).toEqual([]);
  });
});

/** Which transforms speak for each baseline check. */
const BASELINE_REPORTERS: Record<string, string[]> = {
  hostNamespaces: ['no-host-namespaces'],
  privileged: ['no-privileged'],
  capabilities_baseline: ['drop-capabilities'],
  hostPathVolumes: ['host-volumes'],
  hostPorts: ['no-host-namespaces'],
  appArmorProfile: ['seccomp'],
  seLinuxOptions: ['no-privileged'],
  procMount: ['no-privileged'],
  seccompProfile_baseline: ['seccomp'],
  sysctls: ['no-privileged'],
  windowsHostProcess: ['no-privileged'],
  hostProbesAndHostLifecycle: ['no-host-namespaces'],
};

/** Every path and value of `a` is in `b` (arrays: index by index, `b` may be longer). */
function missingFrom(a: unknown, b: unknown, path = ''): string[] {
  if (Array.isArray(a)) {
    if (!Array.isArray(b)) return [`${path}: ${JSON.stringify(a)} became ${JSON.stringify(b)}`];
    return a.flatMap((item, i) => missingFrom(item, b[i], `${path}[${i}]`));
  }
  if (a !== null && typeof a === 'object') {
    if (b === null || typeof b !== 'object' || Array.isArray(b)) return [`${path}: ${JSON.stringify(a)} became ${JSON.stringify(b)}`];
    return Object.entries(a).flatMap(([k, v]) => missingFrom(v, (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return Object.is(a, b) ? [] : [`${path}: ${JSON.stringify(a)} became ${JSON.stringify(b)}`];
}

describe('baseline fixtures through `cuirass - --level baseline`', () => {
  const list = fixtures('baseline');
  let runs: Run[];
  beforeAll(async () => {
    runs = await runAll(list, ['--level', 'baseline']);
  }, 300_000);

  it('every fixture exits 0 with a parseable stream', () => {
    expect(list.filter((f) => f.name.startsWith('fail/')).length).toBeGreaterThan(20);
    const problems = runs.flatMap((r) => [
      ...(r.result.status !== 0 ? [`${r.name}: exit ${r.result.status}: ${r.result.stderr}`] : []),
      ...(r.parseErrors.length ? [`${r.name}: ${r.parseErrors[0]}`] : []),
    ]);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('baseline never removes or overrides what the file says', () => {
    const problems = runs.flatMap((r) => {
      const before = parseAllDocuments(r.input).map((d) => d.toJS());
      return before.flatMap((obj, i) => missingFrom(obj, r.objects[i]).map((m) => `${r.name}: ${m}`));
    });
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('every fail fixture is fixed to pass baseline or has a finding on stderr', () => {
    const problems: string[] = [];
    for (const r of runs.filter((x) => x.name.startsWith('fail/'))) {
      const vs = r.objects.flatMap((o) => checkPodSecurity(o, 'baseline'));
      if (vs.length === 0) continue;
      if (findings(r.result.stderr).length === 0) problems.push(`${r.name}: ${describeViolations(vs)} with no finding on stderr`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('every baseline violation left is reported by the transform responsible for it', () => {
    const problems: string[] = [];
    for (const r of runs) {
      const reported = new Set(findings(r.result.stderr).map((f) => f.transform));
      for (const v of r.objects.flatMap((o) => checkPodSecurity(o, 'baseline'))) {
        const by = BASELINE_REPORTERS[v.check] ?? [];
        if (!by.some((t) => reported.has(t))) {
          problems.push(`${r.name}: ${v.check} at ${v.path} not reported by ${by.join('/')}; stderr:\n${r.result.stderr}`);
        }
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('pass fixtures still pass baseline', () => {
    const failing = runs.filter((r) => r.name.startsWith('pass/')).flatMap((r) => {
      const vs = r.objects.flatMap((o) => checkPodSecurity(o, 'baseline'));
      return vs.length ? [`${r.name}: ${describeViolations(vs)}`] : [];
    });
    expect(failing, failing.join('\n')).toEqual([]);
  });
});
