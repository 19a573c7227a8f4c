#!/usr/bin/env node
// npm run e2e: every stack under e2e/stacks comes up before hardening and passes its checks,
// is hardened with the built CLI (`cuirass --write`), comes up again and passes the same checks
// plus `docker inspect` checks of every hardening setting; then the ablations remove one
// compensation each and must make a check fail. Prints one line per check and a final
// "e2e: N passed, N failed" line; exits 1 when anything failed.
//
//   node e2e/run.mjs [STACK...|verify] [--no-ablations] [--keep]   (verify: the `cuirass verify` cases, verify-checks.mjs)
//
// Needs root, apt (or docker.io, docker-compose, mmdebstrap already installed) and the apt mirror
// for the first image build. Starts dockerd when none answers and stops it at the end.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseDocument, isMap } from 'yaml';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
/** The Compose corpus nobody here wrote; e2e/foreign stacks take their Compose file from it at run time. */
const CORPUS = resolve(process.env.E2E_CORPUS ?? join(ROOT, '../shared/corpus'));
const CLI = join(ROOT, 'dist/src/cli.js');
const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));
const ablate = !args.includes('--no-ablations');
const keep = args.includes('--keep');
const WAIT_S = Number(process.env.E2E_WAIT_S ?? 240);

let passed = 0;
let failed = 0;
let known = 0;
const failures = [];
/** `knownFailures` of the current stack: checks that fail because of a described cuirass bug. */
let knownFailures = [];
function record(ok, label, detail = '') {
  const k = knownFailures.find((f) => label.includes(f.label));
  if (k && !ok) {
    known++;
    console.log(`KNOWN ${label} (${k.why})`);
    return;
  }
  if (k && ok) console.log(`note: known failure "${k.label}" passes now: remove it from checks.json`);
  if (ok) passed++;
  else {
    failed++;
    failures.push(`${label}${detail ? `: ${detail}` : ''}`);
  }
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}${detail && !ok ? `\n       ${detail.split('\n').join('\n       ')}` : ''}`);
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  return { code: r.status ?? 1, out: r.stdout ?? '', err: r.stderr ?? '' };
}
function must(cmd, argv, opts = {}) {
  const r = run(cmd, argv, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.code}\n${r.err.slice(-3000)}${r.out.slice(-1000)}`);
  return r.out;
}
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// ---------------------------------------------------------------------------------------------
// docker-compose 1.29 rejects deploy.resources.limits.pids and a top-level name; the same limit
// as pids_limit is honoured. The step is cuirass verify's own (src/stack/compose.ts, built), so
// the e2e runs stacks the way verify does.
const { compat129 } = await import('../dist/src/stack/compose.js');
export const for129 = compat129;

function composeFile(dir) {
  return ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'].find((f) => existsSync(join(dir, f)));
}

class Stack {
  constructor(name, dir, phase) {
    this.name = name;
    this.dir = dir;
    this.phase = phase;
    this.project = `cuirass-e2e-${name}`.replace(/[^a-z0-9-]/g, '');
    this.file = composeFile(dir);
  }
  compose(...argv) {
    return run('docker-compose', ['--ansi', 'never', '-p', this.project, '-f', join(this.dir, this.runFile ?? this.file), '--project-directory', this.dir, ...argv], { cwd: this.dir });
  }
  prepare() {
    const text = readFileSync(join(this.dir, this.file), 'utf8');
    this.runFile = '.e2e-compose.yaml';
    writeFileSync(join(this.dir, this.runFile), for129(text));
    this.config = parse(readFileSync(join(this.dir, this.runFile), 'utf8'), { merge: true });
  }
  up() {
    this.prepare();
    const r = this.compose('up', '-d');
    return r;
  }
  down() {
    this.compose('down', '-v', '--remove-orphans', '-t', '3');
  }
  container(service) {
    // docker's own filter on Compose's labels: a docker-compose call costs seconds on a busy machine.
    const r = run('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${this.project}`, '--filter', `label=com.docker.compose.service=${service}`]);
    return r.out.trim().split('\n')[0] || undefined;
  }
  inspect(service) {
    const id = this.container(service);
    if (!id) return undefined;
    return JSON.parse(must('docker', ['inspect', id]))[0];
  }
  logs(service) {
    const id = this.container(service);
    return id ? run('docker', ['logs', '--tail', '15', id]).err.trim() + '\n' + run('docker', ['logs', '--tail', '5', id]).out.trim() : '(no container)';
  }
  /** A service whose container exited or restarted: it will not come back by waiting. */
  broken() {
    for (const svc of Object.keys(this.config.services ?? {})) {
      const c = this.inspect(svc);
      if (!c) return `${svc}: no container`;
      if (c.State.Status === 'exited' || c.State.Status === 'dead' || c.RestartCount > 0) return `${svc}: ${c.State.Status} (exit ${c.State.ExitCode})\n${this.logs(svc)}`;
    }
    return undefined;
  }
  /** After a failed `up`: each container that exited, restarts or is unhealthy, with its last log lines. */
  failing() {
    const out = [];
    for (const svc of Object.keys(this.config.services ?? {})) {
      const c = this.inspect(svc);
      if (!c) continue;
      const health = c.State.Health?.Status;
      if (c.State.Status === 'exited' || c.State.Status === 'dead' || c.RestartCount > 0 || health === 'unhealthy' || health === 'starting')
        out.push(`${svc}: ${c.State.Status}${health ? ` (${health})` : ''}, exit ${c.State.ExitCode}, restarts ${c.RestartCount}\n${this.logs(svc)}`);
    }
    return out.join('\n');
  }
}

// ---------------------------------------------------------------------------------------------
// Checks. Each returns undefined when it passes, or what went wrong.

async function httpCheck(stack, c) {
  let url;
  if (c.hostPort) url = `http://127.0.0.1:${c.hostPort}${c.path ?? '/'}`;
  else {
    const ports = stack.inspect(c.service)?.NetworkSettings?.Ports?.[`${c.port}/tcp`] ?? [];
    const hostPort = ports.find((p) => p.HostPort)?.HostPort;
    if (!hostPort) return `no published port for ${c.service}:${c.port}`;
    url = `http://127.0.0.1:${hostPort}${c.path ?? '/'}`;
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
    const body = await res.text();
    if (res.status !== (c.status ?? 200)) return `${url} answered ${res.status}: ${body.slice(0, 300)}`;
    for (const e of [c.expect ?? []].flat()) if (!body.includes(e)) return `${url} lacks ${e}: ${body.slice(0, 300)}`;
    return undefined;
  } catch (e) {
    return `${url}: ${e.cause?.code ?? e.message}`;
  }
}

function execIn(stack, service, script) {
  const id = stack.container(service);
  if (!id) return { code: 1, out: '', err: `no container for ${service}` };
  return run('docker', ['exec', id, 'sh', '-c', script]);
}
const sq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

function postgresCheck(stack, c) {
  // Over TCP to the container's own address: pg_hba's "host all all all scram-sha-256" line.
  const q = (pw) => `PGPASSWORD=${sq(pw)} PGCONNECT_TIMEOUT=5 psql -h "$(hostname -i | cut -d' ' -f1)" -U ${sq(c.user)} -d ${sq(c.database)} -tAc 'select current_user'`;
  const good = execIn(stack, c.service, q(c.password));
  if (good.code !== 0 || good.out.trim() !== c.user) return `login as ${c.user} failed: ${good.err.trim() || good.out.trim()}`;
  const bad = execIn(stack, c.service, q(`${c.password}-wrong`));
  if (bad.code === 0) return 'a wrong password logged in too: the check proves nothing';
  return undefined;
}

function mysqlCheck(stack, c) {
  // Over TCP to the container's own address (users at '%'); `local` users over the socket.
  const host = c.local ? 'localhost' : `"$(hostname -i | cut -d' ' -f1)"`;
  const q = (pw) => `mariadb --connect-timeout=5 -h ${host} -u ${sq(c.user)} -p${sq(pw)} ${sq(c.database)} -N -e 'select current_user()'`;
  const good = execIn(stack, c.service, q(c.password));
  if (good.code !== 0 || !good.out.startsWith(`${c.user}@`)) return `login as ${c.user} failed: ${good.err.trim() || good.out.trim()}`;
  const bad = execIn(stack, c.service, q(`${c.password}-wrong`));
  if (bad.code === 0) return 'a wrong password logged in too: the check proves nothing';
  return undefined;
}

function redisCheck(stack, c) {
  const auth = c.password ? `-a ${sq(c.password)} --no-auth-warning` : '';
  const value = `v${Date.now()}`;
  const r = execIn(stack, c.service, `redis-cli -h "$(hostname -i | cut -d' ' -f1)" ${auth} set e2e:check ${value} && redis-cli -h "$(hostname -i | cut -d' ' -f1)" ${auth} get e2e:check`);
  if (r.code !== 0 || !r.out.includes(value) || !r.out.startsWith('OK')) return `cache write failed: ${(r.out + r.err).trim()}`;
  if (c.password) {
    const anon = execIn(stack, c.service, `redis-cli -h "$(hostname -i | cut -d' ' -f1)" set e2e:anon x`);
    if (anon.out.includes('OK')) return 'the cache accepted a write without its password';
  }
  return undefined;
}

/** The container's own healthcheck (the Compose file's `healthcheck:`) reports healthy. */
function healthCheck(stack, c) {
  const c0 = stack.inspect(c.service);
  if (!c0) return `no container for ${c.service}`;
  const h = c0.State.Health;
  if (!h) return `${c.service} has no healthcheck`;
  if (h.Status === 'healthy') return undefined;
  const last = h.Log?.[h.Log.length - 1];
  return `${c.service} is ${h.Status}${last ? ` (last probe exit ${last.ExitCode}: ${String(last.Output).trim().slice(0, 300)})` : ''}`;
}

const CHECKS = { http: httpCheck, health: healthCheck, postgres: postgresCheck, mysql: mysqlCheck, redis: redisCheck };

/** Runs every check of a stack until all pass or WAIT_S runs out (or a container died). */
async function settle(stack, checks, waitS = WAIT_S) {
  const list = Object.entries(CHECKS).flatMap(([kind, fn]) => (checks[kind] ?? []).map((c) => ({ kind, fn, c })));
  const deadline = Date.now() + waitS * 1000;
  const results = new Map();
  for (;;) {
    for (const item of list) {
      if (results.get(item) === undefined && results.has(item)) continue;
      results.set(item, await item.fn(stack, item.c));
    }
    const pending = list.filter((i) => results.get(i) !== undefined);
    if (pending.length === 0) break;
    const broken = stack.broken();
    if (broken || Date.now() > deadline) {
      for (const i of pending) results.set(i, `${results.get(i)}${broken ? `\n${broken}` : ''}`);
      break;
    }
    await sleep(2000);
  }
  return list.map((i) => ({ label: `${i.kind === 'health' ? 'healthy' : i.kind} ${i.c.service}${i.c.path ?? ''}${i.c.user ? ` as ${i.c.user}` : ''}`, error: results.get(i) }));
}

// ---------------------------------------------------------------------------------------------
// docker inspect: every hardening setting the hardened file asks for is in effect.

const asList = (v) => (v == null ? [] : Array.isArray(v) ? v : [v]);
const capName = (c) => String(c).replace(/^CAP_/, '');

function inspectChecks(stack) {
  const out = [];
  const services = stack.config.services ?? {};
  for (const [name, svc] of Object.entries(services)) {
    const c = stack.inspect(name);
    const label = (what) => `inspect ${name} ${what}`;
    if (!c) {
      out.push({ label: label('container'), error: 'no container' });
      continue;
    }
    const hc = c.HostConfig;
    const hostNet = svc.network_mode === 'host';
    out.push({ label: label('ReadonlyRootfs'), error: svc.read_only === true && hc.ReadonlyRootfs === true ? undefined : `read_only ${svc.read_only}, ReadonlyRootfs ${hc.ReadonlyRootfs}` });
    const drops = (hc.CapDrop ?? []).map(capName);
    out.push({ label: label('CapDrop'), error: asList(svc.cap_drop).includes('ALL') && drops.includes('ALL') ? undefined : `cap_drop ${JSON.stringify(svc.cap_drop)}, CapDrop ${JSON.stringify(hc.CapDrop)}` });
    const adds = (hc.CapAdd ?? []).map(capName).sort().join(',');
    const wantAdds = asList(svc.cap_add).map(capName).sort().join(',');
    out.push({ label: label(`CapAdd [${wantAdds}]`), error: adds === wantAdds ? undefined : `CapAdd ${adds}` });
    const user = c.Config.User;
    const wantUser = svc.user == null ? '' : String(svc.user);
    const nonRoot = wantUser !== '' && !/^(root|0)(:|$)/.test(wantUser);
    out.push({ label: label(`User ${wantUser || '(image: root)'}`), error: user === wantUser && (nonRoot || hostNet) ? undefined : `User "${user}" (file: "${wantUser}")` });
    const pids = svc.pids_limit;
    out.push({ label: label(`PidsLimit ${pids}`), error: pids && hc.PidsLimit === Number(pids) ? undefined : `PidsLimit ${hc.PidsLimit}` });
    const limits = svc.deploy?.resources?.limits ?? {};
    out.push({ label: label('Memory/NanoCpus'), error: (!limits.memory || hc.Memory > 0) && (!limits.cpus || hc.NanoCpus > 0) && (limits.memory || svc.mem_limit) ? undefined : `Memory ${hc.Memory}, NanoCpus ${hc.NanoCpus}` });
    const so = hc.SecurityOpt ?? [];
    out.push({ label: label('SecurityOpt no-new-privileges'), error: so.some((o) => /^no-new-privileges(:true|=true)?$/.test(o)) ? undefined : `SecurityOpt ${JSON.stringify(so)}` });
    const tmpfs = Object.keys(hc.Tmpfs ?? {});
    const wantTmpfs = asList(svc.tmpfs).map((t) => String(t).split(':')[0]);
    out.push({ label: label(`Tmpfs ${wantTmpfs.join(',')}`), error: wantTmpfs.every((t) => tmpfs.includes(t)) && wantTmpfs.includes('/tmp') ? undefined : `Tmpfs ${tmpfs.join(',')}` });
    if (!hostNet) {
      const nets = Object.keys(c.NetworkSettings.Networks ?? {}).sort();
      const declared = Array.isArray(svc.networks) ? svc.networks : Object.keys(svc.networks ?? { default: null });
      const want = declared.map((n) => stack.config.networks?.[n]?.name ?? `${stack.project}_${n}`).sort();
      let err = nets.join(',') === want.join(',') ? undefined : `networks ${nets.join(',')} (file: ${want.join(',')})`;
      for (const n of declared) {
        const internal = stack.config.networks?.[n]?.internal === true;
        const net = JSON.parse(must('docker', ['network', 'inspect', stack.config.networks?.[n]?.name ?? `${stack.project}_${n}`]))[0];
        if (net.Internal !== internal) err = `${err ? `${err}; ` : ''}network ${n} Internal ${net.Internal} (file: ${internal})`;
      }
      out.push({ label: label(`networks ${declared.join(',')}`), error: err });
    }
  }
  return out;
}

/** Generated secret files: readable by the container (the checks prove it), closed to other host users.
 * A secret file the stack shipped itself (in `ownFiles`, e.g. a foreign stack's db/password.txt) is
 * the user's: cuirass edits no file mode of it, so it is only noted. */
function secretFileChecks(stack, ownFiles = new Set()) {
  const out = [];
  const secrets = stack.config.secrets ?? {};
  const files = Object.values(secrets).map((s) => s?.file).filter(Boolean);
  for (const f of readdirSync(stack.dir)) if (f === '.env') files.push(f);
  if (existsSync(join(stack.dir, 'secrets'))) for (const f of readdirSync(join(stack.dir, 'secrets'))) files.push(`secrets/${f}`);
  for (const f of [...new Set(files.map((f) => f.replace(/^\.\//, '')))]) {
    const path = join(stack.dir, f);
    if (ownFiles.has(f)) {
      console.log(`note: secret file ${f} (${(statSync(path).mode & 0o777).toString(8)}) is the stack's own, not generated: left as it is`);
      continue;
    }
    const r = run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', path]);
    out.push({ label: `secret file ${f} (${(statSync(path).mode & 0o777).toString(8)}) closed to other host users`, error: r.code !== 0 ? undefined : 'uid 65534 read it' });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ablations: one compensation removed from the hardened file; a check must fail.

function ablated(stack, a) {
  const path = join(stack.dir, stack.file);
  const doc = parseDocument(readFileSync(path, 'utf8'), { merge: true });
  const svc = doc.getIn(['services', a.service], true);
  if (!isMap(svc)) throw new Error(`ablation ${a.name}: no service ${a.service}`);
  if (a.op === 'remove-tmpfs') {
    const list = svc.get('tmpfs', true);
    const i = list.items.findIndex((n) => String(n.value ?? n).split(':')[0] === a.path);
    if (i < 0) throw new Error(`ablation ${a.name}: no tmpfs ${a.path}`);
    list.items.splice(i, 1);
  } else if (a.op === 'remove-cap') {
    const list = svc.get('cap_add', true);
    const i = list.items.findIndex((n) => String(n.value ?? n) === a.cap);
    if (i < 0) throw new Error(`ablation ${a.name}: no cap_add ${a.cap}`);
    list.items.splice(i, 1);
  } else if (a.op === 'set-tmpfs') {
    const list = svc.get('tmpfs', true);
    const i = list.items.findIndex((n) => String(n.value ?? n).split(':')[0] === a.path);
    if (i < 0) throw new Error(`ablation ${a.name}: no tmpfs ${a.path}`);
    list.items[i] = doc.createNode(a.entry);
  } else if (a.op === 'set-user') {
    svc.set('user', a.user);
  } else if (a.op === 'remove-user') {
    if (!svc.has('user')) throw new Error(`ablation ${a.name}: no user`);
    svc.delete('user');
  } else if (a.op === 'secret-mode') {
    chmodSync(join(stack.dir, a.file), parseInt(a.mode, 8));
    return;
  } else throw new Error(`ablation ${a.name}: unknown op ${a.op}`);
  writeFileSync(path, doc.toString());
}

// ---------------------------------------------------------------------------------------------

async function phase(stack, checks, title) {
  const start = Date.now();
  const up = stack.up();
  if (up.code !== 0) {
    record(false, `${title} docker-compose up`, up.err.slice(-2000));
    return false;
  }
  const results = await settle(stack, checks);
  for (const r of results) record(r.error === undefined, `${title} ${r.label}`, r.error);
  stack.took = (Date.now() - start) / 1000;
  return results.every((r) => r.error === undefined);
}

/** A file list of a folder, relative paths. */
function filesOf(dir, sub = '') {
  return readdirSync(join(dir, sub), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesOf(dir, join(sub, e.name)) : [join(sub, e.name)]));
}

/** Stacks by name: e2e/stacks (written here) and e2e/foreign (a corpus Compose file plus what it needs). */
function stackDirs() {
  const dirs = new Map();
  for (const kind of ['stacks', 'foreign']) {
    if (!existsSync(join(HERE, kind))) continue;
    for (const s of readdirSync(join(HERE, kind))) dirs.set(s, join(HERE, kind, s));
  }
  return dirs;
}

/**
 * A foreign stack's Compose file, byte for byte from the corpus, into the temporary copy. The one
 * run-time substitution: E2E_HOST_PORT_80=N publishes the proxy on host port N instead of 80 (a
 * `- 80:80` line becomes `- N:80`) on a machine where 80 is taken; the run prints it.
 */
function copyCorpusFile(checks, to) {
  const from = join(CORPUS, checks.corpus);
  if (!existsSync(from)) throw new Error(`corpus file ${from} not found (set E2E_CORPUS to the corpus folder)`);
  const target = join(to, checks.corpus.split('/').pop());
  let text = readFileSync(from, 'utf8');
  const port = process.env.E2E_HOST_PORT_80;
  if (port) {
    const next = text.replace(/^(\s*-\s*)(["']?)80:80\2[ \t]*$/m, `$1$2${port}:80$2`);
    if (next === text) throw new Error(`E2E_HOST_PORT_80: no "- 80:80" line in ${from}`);
    console.log(`note: ${checks.corpus}: host port 80 -> ${port} in the temporary copy (E2E_HOST_PORT_80)`);
    text = next;
  }
  writeFileSync(target, text, { mode: 0o644 });
}

async function runStack(name, src) {
  const checks = JSON.parse(readFileSync(join(src, 'checks.json'), 'utf8'));
  knownFailures = checks.knownFailures ?? [];
  const work = mkdtempSync(join(tmpdir(), `cuirass-e2e-${name}-`));
  // mkdtemp makes 0700: open it like an ordinary project folder, or no host user could read any
  // file in it and the secret-file checks could not fail.
  chmodSync(work, 0o755);
  const copy = (to) => {
    cpSync(src, to, { recursive: true, filter: (p) => !p.endsWith('checks.json') });
    if (checks.app) cpSync(join(HERE, 'app'), join(to, checks.app), { recursive: true });
    if (checks.corpus) copyCorpusFile(checks, to);
  };
  const dir = join(work, name);
  let stack;
  try {
    copy(dir);
    stack = new Stack(name, dir);
    const ownFiles = new Set(filesOf(dir));
    // `up` builds a `build:` service's image only when it is missing: rebuild (layer cache) so an
    // edited app is the one that runs.
    stack.prepare();
    const b = stack.compose('build', '-q');
    if (b.code !== 0) throw new Error(`docker-compose build: ${b.err.slice(-2000)}`);
    await phase(stack, checks, `${name} before:`);
    stack.down();
    // the run file is the harness's, not the stack's: cuirass must not see (and harden) it
    rmSync(join(dir, stack.runFile ?? '.e2e-compose.yaml'), { force: true });
    const h = run('node', [CLI, '--write', '--no-color', '.'], { cwd: dir });
    record(h.code === 0, `${name} cuirass --write`, h.err.slice(-2000));
    writeFileSync(join(work, `${name}.cuirass.txt`), h.err);
    const hardened = readFileSync(join(dir, stack.file), 'utf8');
    const ok = await phase(stack, checks, `${name} hardened:`);
    for (const r of inspectChecks(stack)) record(r.error === undefined, `${name} hardened: ${r.label}`, r.error);
    for (const r of secretFileChecks(stack, ownFiles)) record(r.error === undefined, `${name} hardened: ${r.label}`, r.error);
    stack.down();
    if (ablate) {
      for (const a of checks.ablations ?? []) {
        writeFileSync(join(dir, stack.file), hardened);
        ablated(stack, a);
        const up = stack.up();
        // An ablated stack gets twice what the hardened one needed (plus 30 s), not the full wait.
        const waitS = Math.min(WAIT_S, Math.max(60, 2 * (stack.took ?? WAIT_S) + 30));
        // up fails by itself when a service another one waits for (depends_on: service_healthy) fails.
        const results = up.code === 0 ? await settle(stack, checks, waitS) : [{ label: 'up', error: `${stack.failing()}\n${up.err.trim().split('\n').filter((l) => !/^(Creating|Starting|Recreating)\b/.test(l)).slice(-2).join('\n')}` }];
        const caught = results.filter((r) => r.error !== undefined);
        record(ok && caught.length > 0, `${name} ablation ${a.name}: caught by ${caught.map((r) => r.label).join(', ') || 'nothing'}`, ok ? (caught.length ? '' : 'every check still passed without the compensation') : 'the hardened stack failed already');
        if (ok && caught.length) {
          // what broke: the error lines of the failing containers' logs first
          const lines = caught[0].error.trim().split('\n').filter(Boolean);
          const why = lines.filter((l) => /error|emerg|fatal|denied|fail|could not|read-only|not permitted/i.test(l));
          console.log(`       ${(why.length ? why : lines).slice(0, 4).join('\n       ')}`);
        }
        stack.down();
        if (a.op === 'secret-mode') chmodSync(join(dir, a.file), 0o444);
      }
      writeFileSync(join(dir, stack.file), hardened);
    }
  } catch (e) {
    record(false, `${name} run`, String(e.stack ?? e));
  } finally {
    stack?.down();
    if (!keep) rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

async function main() {
  const started = Date.now();
  const engine = join(HERE, 'engine.sh');
  must('bash', [engine, 'install'], { stdio: 'inherit' });
  const wasRunning = run('bash', [engine, 'status']).code === 0;
  must('bash', [engine, 'start'], { stdio: 'inherit' });
  try {
    must('bash', [join(HERE, 'images.sh')], { stdio: 'inherit' });
    const stale = !existsSync(CLI);
    if (stale || process.env.E2E_BUILD !== '0') must('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
    const dirs = stackDirs();
    const stacks = [...dirs.keys()].filter((s) => only.length === 0 || only.includes(s)).sort();
    for (const s of stacks) await runStack(s, dirs.get(s));
    if (only.length === 0 || only.includes('verify')) {
      const { verifyChecks } = await import('./verify-checks.mjs');
      await verifyChecks({ record, cli: CLI });
    }
  } finally {
    if (!wasRunning) run('bash', [engine, 'stop'], { stdio: 'inherit' });
  }
  if (failures.length) console.log(`\nfailed:\n  ${failures.join('\n  ').slice(0, 20000)}`);
  console.log(`e2e: ${passed} passed, ${failed} failed${known ? `, ${known} known failures` : ''} (${Math.round((Date.now() - started) / 1000)} s)`);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
