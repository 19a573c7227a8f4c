/**
 * `cuirass verify`: the user's Compose stack, brought up as it is and hardened, on their own
 * engine; which services run (and pass their healthchecks) before and after; and, for a service
 * that only the hardened stack breaks, the transforms whose exemption makes it work again.
 *
 * Everything runs on temporary copies of the project folder, under project names of its own, and
 * every project it started is taken down (`down -v`) before it returns, also when it fails or is
 * interrupted. The engine-facing part is a `StackDriver`, so the decisions are tested without one.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isMap, isSeq, parseDocument } from 'yaml';

/** How one service ended up. */
export type ServiceState = 'healthy' | 'running' | 'completed' | 'unhealthy' | 'exited' | 'restarting' | 'starting' | 'missing';

/** The result for one service of one run. */
export interface ServiceResult {
  service: string;
  state: ServiceState;
  /** One line for a person: `exited with code 1`, `healthcheck failing`, … */
  detail: string;
}

/** A state that counts as working. */
export function works(state: ServiceState): boolean {
  return state === 'healthy' || state === 'running' || state === 'completed';
}

/** A stack brought up: the services' results, or why Compose could not start it. */
export type StackRun = { ok: true; services: ServiceResult[] } | { ok: false; message: string; services: ServiceResult[] };

/** What verify needs from an engine; `ComposeDriver` is the real one. */
export interface StackDriver {
  /** Brings up the project in `dir` (Compose `files` relative to it) as `project`, waits, and reports every service. */
  up(project: string, dir: string, files: string[], progress: (line: string) => void): Promise<StackRun>;
  /** The last log lines of a service. */
  logs(project: string, service: string): Promise<string>;
  /** Takes the project down with its volumes; never throws. */
  down(project: string): Promise<void>;
  /** Hardens `dir` in place (`cuirass DIR --write` with `args`); a non-zero code fails the run. */
  harden(dir: string, args: string[]): Promise<{ code: number; stderr: string }>;
  /** `cuirass DIR --format json` findings of `dir`: which transform changes which service. */
  findings(dir: string, args: string[]): Promise<{ transform: string; service?: string; status: string; file: string }[]>;
}

/** The verdict for one service. */
export interface ServiceVerdict {
  service: string;
  before: ServiceResult;
  after: ServiceResult;
  /** `ok`: works in both; `broken`: works before only; `broken-before`: does not work unhardened; `fixed`: works after only. */
  verdict: 'ok' | 'broken' | 'broken-before' | 'fixed';
  /** For a broken service: the exemption that makes it work, when one was found. */
  exemption?: Exemption;
  /** For a broken service: its last log lines after hardening (secret values masked). */
  logs?: string;
  /** Trials run for this service: which transforms were exempted, and whether it then worked. */
  trials?: { skip: string[]; scope: 'service' | 'file'; works: boolean }[];
}

/** An exemption to add: on one service (`x-cuirass`) or for every service of the file (config). */
export interface Exemption {
  file: string;
  service: string;
  scope: 'service' | 'file';
  skip: string[];
}

/** The whole report. */
export interface VerifyReport {
  /** `0` all good, `1` hardening breaks a service, `2` the stack does not run unhardened. */
  exitCode: 0 | 1 | 2;
  message?: string;
  files: string[];
  services: ServiceVerdict[];
}

export interface VerifyOptions {
  /** Extra arguments for the hardening runs (`--level`, `--skip`, `--config`, …). */
  hardenArgs: string[];
  /** Find exemptions for broken services (default true). */
  bisect: boolean;
  /** At most this many trial stacks per broken service. */
  maxTrials: number;
  progress: (line: string) => void;
  /** Values to mask in printed log lines. */
  secrets?: string[];
}

/** Names of the temporary Compose projects start with this. */
export const PROJECT_PREFIX = 'cuirass-verify-';

const COMPOSE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
const OVERRIDE_NAMES = ['compose.override.yaml', 'compose.override.yml', 'docker-compose.override.yaml', 'docker-compose.override.yml'];

/**
 * The project folder and Compose files of `path`: a folder holds the files Compose itself would
 * read there (the first of compose.yaml … docker-compose.yml, then its override); a file is used
 * alone. Undefined when there is none.
 */
export function composeFilesOf(path: string): { dir: string; files: string[] } | undefined {
  const abs = resolve(path);
  if (!existsSync(abs)) return undefined;
  if (statSync(abs).isFile()) return { dir: dirname(abs), files: [basename(abs)] };
  const main = COMPOSE_NAMES.find((n) => existsSync(join(abs, n)));
  if (!main) return undefined;
  const files = [main];
  const override = OVERRIDE_NAMES.find((n) => existsSync(join(abs, n)));
  if (override) files.push(override);
  return { dir: abs, files };
}

/** Folders never copied into a trial: they are large and no Compose file reads them. */
const NOT_COPIED = new Set(['.git', 'node_modules']);

/** A copy of the project folder in a new private temporary folder. */
function copyProject(dir: string, root: string, label: string): string {
  const target = join(root, label);
  cpSync(dir, target, {
    recursive: true,
    dereference: false,
    verbatimSymlinks: true,
    filter: (src) => !NOT_COPIED.has(basename(src)) || src === dir,
  });
  return target;
}

/** Adds `x-cuirass: {skip, reason}` to the named services of a copied Compose file (merging an existing skip list). */
export function exemptInCopy(file: string, services: readonly string[], skip: readonly string[]): boolean {
  const doc = parseDocument(readFileSync(file, 'utf8'), { merge: true });
  const all = doc.get('services');
  if (!isMap(all)) return false;
  let changed = false;
  for (const name of services) {
    const svc = all.get(name, true);
    if (!isMap(svc)) continue;
    const prior = svc.getIn(['x-cuirass', 'skip'], true);
    const ids = new Set<string>(isSeq(prior) ? prior.items.map((i) => String((i as { value?: unknown }).value ?? i)) : []);
    for (const id of skip) ids.add(id);
    svc.set('x-cuirass', doc.createNode({ skip: [...ids], reason: 'cuirass verify trial' }));
    changed = true;
  }
  if (changed) writeFileSync(file, doc.toString());
  return changed;
}

/** The services each Compose file of the copy defines. */
function servicesByFile(dir: string, files: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of files) {
    try {
      const doc = parseDocument(readFileSync(join(dir, f), 'utf8'), { merge: true });
      const all = doc.get('services');
      out.set(f, isMap(all) ? all.items.map((p) => String((p.key as { value?: unknown }).value ?? p.key)) : []);
    } catch {
      out.set(f, []);
    }
  }
  return out;
}

/** Masks every occurrence of each secret value in log text (logs are not YAML: any occurrence may be the value). */
export function maskLogs(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length)) out = out.split(s).join('<redacted>');
  return out;
}

/** Runs verify. Every project it starts is down again when it returns or throws. */
export async function verifyStack(path: string, driver: StackDriver, options: VerifyOptions): Promise<VerifyReport> {
  const found = composeFilesOf(path);
  if (!found) return { exitCode: 2, message: `${path}: no Compose file (compose.yaml, docker-compose.yml, …) to verify`, files: [], services: [] };
  const { dir, files } = found;
  const root = mkdtempSync(join(tmpdir(), 'cuirass-verify-'));
  const id = randomBytes(4).toString('hex');
  const run: LiveRun = { root, started: new Set(), driver };
  LIVE_RUNS.add(run);
  const started = run.started;
  const project = (label: string) => {
    const name = `${PROJECT_PREFIX}${id}-${label}`;
    started.add(name);
    return name;
  };
  const stop = async (name: string) => {
    await driver.down(name);
    started.delete(name);
  };
  const p = options.progress;
  try {
    // Unhardened.
    const beforeDir = copyProject(dir, root, 'before');
    p('bringing up the stack as it is');
    const beforeName = project('before');
    const before = await driver.up(beforeName, beforeDir, files, p);
    await stop(beforeName);
    if (!before.ok) return { exitCode: 2, message: `the stack does not start unhardened: ${before.message}`, files, services: [] };
    if (!before.services.some((s) => works(s.state))) {
      return { exitCode: 2, message: 'no service of the stack works unhardened', files, services: before.services.map((s) => verdictOf(s, s)) };
    }

    // Hardened.
    const pristine = copyProject(dir, root, 'pristine');
    const findings = await driver.findings(pristine, options.hardenArgs);
    const afterDir = copyProject(dir, root, 'after');
    p('hardening a copy');
    const hardened = await driver.harden(afterDir, options.hardenArgs);
    if (hardened.code !== 0) return { exitCode: 2, message: `cuirass could not harden the copy: ${hardened.stderr.trim()}`, files, services: [] };
    p('bringing up the hardened stack');
    const afterName = project('after');
    const after = await driver.up(afterName, afterDir, files, p);
    const afterByName = new Map(after.services.map((s) => [s.service, s]));
    const verdicts = before.services.map((b) => verdictOf(b, afterByName.get(b.service) ?? { service: b.service, state: 'missing', detail: after.ok ? 'not created' : `not started: ${after.message}` }));
    for (const v of verdicts) if (v.verdict === 'broken') v.logs = maskLogs(await driver.logs(afterName, v.service), options.secrets);
    await stop(afterName);

    // Which exemption brings a broken service back.
    const byFile = servicesByFile(dir, files);
    const fileOf = (service: string) => [...byFile].find(([, names]) => names.includes(service))?.[0] ?? files[0];
    if (options.bisect) {
      for (const v of verdicts.filter((x) => x.verdict === 'broken')) {
        const changed = (f: { service?: string; status: string }) => f.status === 'pending';
        const own = unique(findings.filter((f) => changed(f) && f.service === v.service).map((f) => f.transform));
        const others = unique(findings.filter((f) => changed(f) && f.service !== v.service).map((f) => f.transform)).filter((t) => !own.includes(t));
        v.trials = [];
        const trial = async (skip: string[], scope: 'service' | 'file'): Promise<boolean> => {
          if (v.trials!.length >= options.maxTrials) return false;
          const n = v.trials!.length + 1;
          p(`${v.service}: trial ${n}, exempting ${scope === 'service' ? 'the service' : 'every service'} from ${skip.join(', ')}`);
          const tryDir = copyProject(dir, root, `try-${v.service}-${n}`.replace(/[^A-Za-z0-9_.-]/g, '_'));
          const file = fileOf(v.service);
          const targets = scope === 'service' ? [v.service] : (byFile.get(file) ?? [v.service]);
          exemptInCopy(join(tryDir, file), targets, skip);
          const h = await driver.harden(tryDir, options.hardenArgs);
          let ok = false;
          if (h.code === 0) {
            const name = project(`try${n}`);
            const r = await driver.up(name, tryDir, files, p);
            await stop(name);
            const s = r.services.find((x) => x.service === v.service);
            ok = Boolean(s && works(s.state));
          }
          v.trials!.push({ skip, scope, works: ok });
          rmSync(tryDir, { recursive: true, force: true });
          return ok;
        };
        let found: Exemption | undefined;
        const exempt = (skip: string[]): Exemption => ({ file: fileOf(v.service), service: v.service, scope: 'service', skip });
        // All of the service's own transforms first: when even that does not help, no subset will.
        if (own.length && (await trial(own, 'service'))) {
          if (own.length === 1) found = exempt(own);
          else {
            // The likeliest single culprits first; else drop each one that is not needed.
            for (const t of [...own].sort((a, b) => likelihood(a) - likelihood(b))) {
              if (await trial([t], 'service')) {
                found = exempt([t]);
                break;
              }
            }
            if (!found) {
              let needed = [...own];
              for (const t of own) {
                const rest = needed.filter((x) => x !== t);
                if (rest.length && (await trial(rest, 'service'))) needed = rest;
              }
              found = exempt(needed);
            }
          }
        }
        if (!found) {
          // A run-wide transform (networks) may break a service through what it does to others.
          // Transforms that act across services first: network-segmentation moves the service's peers.
          const runWide = (t: string) => (t === 'network-segmentation' ? -1 : likelihood(t));
          for (const t of unique([...own, ...others]).sort((a, b) => runWide(a) - runWide(b))) {
            if (await trial([t], 'file')) {
              found = { file: fileOf(v.service), service: v.service, scope: 'file', skip: [t] };
              break;
            }
          }
        }
        v.exemption = found;
      }
    }
    const broken = verdicts.some((v) => v.verdict === 'broken');
    return { exitCode: broken ? 1 : 0, files, services: verdicts };
  } finally {
    await cleanUp(run);
  }
}

/** A verify run in progress: what must go when it ends or is interrupted. */
interface LiveRun {
  root: string;
  started: Set<string>;
  driver: StackDriver;
}

const LIVE_RUNS = new Set<LiveRun>();

async function cleanUp(run: LiveRun): Promise<void> {
  for (const name of [...run.started]) {
    await run.driver.down(name);
    run.started.delete(name);
  }
  rmSync(run.root, { recursive: true, force: true });
  LIVE_RUNS.delete(run);
}

/** Takes down every project of the runs in progress and removes their copies (Ctrl-C). */
export async function interruptRuns(): Promise<void> {
  for (const run of [...LIVE_RUNS]) await cleanUp(run);
}

/** Transforms that most often break an app, first: the order single trials take. */
const LIKELY = ['read-only-root', 'run-as-non-root', 'drop-capabilities', 'network-segmentation', 'resource-limits', 'secrets-from-env', 'no-new-privileges', 'seccomp'];
function likelihood(id: string): number {
  const i = LIKELY.indexOf(id);
  return i < 0 ? LIKELY.length : i;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function verdictOf(before: ServiceResult, after: ServiceResult): ServiceVerdict {
  const b = works(before.state);
  const a = works(after.state);
  return { service: before.service, before, after, verdict: b && a ? 'ok' : b ? 'broken' : a ? 'fixed' : 'broken-before' };
}

/** The exemption as the text a person adds: `x-cuirass` on the service, or a config entry for the file. */
export function exemptionText(e: Exemption, logs: string | undefined): string {
  const review = (logs ?? '').split('\n').filter(Boolean).slice(-5).map((l) => `#   ${l}`);
  const head = review.length ? ['# the service failed hardened with these last log lines (review them, then write the reason):', ...review] : [];
  if (e.scope === 'service') {
    return [
      `# in ${e.file}:`,
      ...head,
      'services:',
      `  ${e.service}:`,
      '    x-cuirass:',
      `      skip: [${e.skip.join(', ')}]`,
      `      reason: "fails hardened (cuirass verify): ${e.skip.join(', ')}"`,
    ].join('\n');
  }
  return [
    '# in cuirass.config.yaml (the transform changes other services too; exempting the service alone did not help):',
    ...head,
    'exemptions:',
    `  - match: {file: ${e.file}}`,
    `    skip: [${e.skip.join(', ')}]`,
    `    reason: "${e.service} fails hardened (cuirass verify)"`,
  ].join('\n');
}

/** The text report. */
export function textReport(r: VerifyReport): string {
  const lines: string[] = [];
  if (r.message) lines.push(`cuirass verify: ${r.message}`);
  if (r.services.length) {
    const w = Math.max(7, ...r.services.map((s) => s.service.length));
    lines.push(`${'service'.padEnd(w)}  ${'unhardened'.padEnd(22)}  ${'hardened'.padEnd(22)}  verdict`);
    for (const s of r.services) {
      lines.push(`${s.service.padEnd(w)}  ${describe(s.before).padEnd(22)}  ${describe(s.after).padEnd(22)}  ${s.verdict}`);
    }
  }
  for (const s of r.services.filter((x) => x.verdict === 'broken')) {
    lines.push('');
    lines.push(`${s.service}: works unhardened, fails hardened (${s.after.detail}).`);
    if (s.exemption) {
      lines.push(`Exempting it from ${s.exemption.skip.join(', ')} makes it work again. Add:`);
      lines.push(exemptionText(s.exemption, s.logs));
    } else {
      if (s.trials?.length) lines.push(`No exemption tried (${s.trials.map((t) => t.skip.join('+')).join(', ')}) made it work; compare the diff of \`cuirass\` for it.`);
      if (s.logs) lines.push('Last log lines:', ...s.logs.split('\n').slice(-10).map((l) => `  ${l}`));
    }
  }
  if (!r.message && r.exitCode === 0) lines.push('', 'every service that works unhardened still works hardened');
  return lines.join('\n') + '\n';
}

function describe(s: ServiceResult): string {
  return s.state === 'exited' || s.state === 'missing' ? s.detail : s.state;
}

