// `cuirass verify` under the real engine (issue: runtime proof, section 3): two stacks under
// e2e/verify-stacks, each broken by one transform that nothing in the files reveals. verify must
// exit 1, name that transform, and leave no project, container or temporary folder behind.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

const CASES = [
  { stack: 'hidden-link', service: 'app', transform: 'network-segmentation' },
  { stack: 'writer', service: 'app', transform: 'read-only-root' },
];

const leftovers = () => ({
  containers: spawnSync('docker', ['ps', '-aq', '--filter', 'label=com.docker.compose.project'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .filter((id) => spawnSync('docker', ['inspect', '-f', '{{index .Config.Labels "com.docker.compose.project"}}', id], { encoding: 'utf8' }).stdout.startsWith('cuirass-verify-')),
  folders: readdirSync(tmpdir()).filter((n) => n.startsWith('cuirass-verify-')),
});

/** Runs the cases; `record(ok, label, detail)` counts each check. */
export async function verifyChecks({ record, cli }) {
  for (const c of CASES) {
    const dir = join(HERE, 'verify-stacks', c.stack);
    const r = spawnSync(process.execPath, [cli, 'verify', dir, '--format', 'json', '--settle', '8', '--timeout', '120', '--quiet'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    let report;
    try {
      report = JSON.parse(r.stdout);
    } catch {
      record(false, `verify ${c.stack}: a JSON report`, `exit ${r.status}\n${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
      continue;
    }
    const svc = report.services.find((s) => s.service === c.service);
    record(r.status === 1, `verify ${c.stack}: exit 1 (hardening breaks a service)`, `exit ${r.status}: ${r.stderr.slice(-1000)}`);
    record(svc?.verdict === 'broken', `verify ${c.stack}: ${c.service} works unhardened and fails hardened`, JSON.stringify(svc));
    record(
      JSON.stringify(svc?.exemption?.skip) === JSON.stringify([c.transform]),
      `verify ${c.stack}: names ${c.transform} as the exemption`,
      JSON.stringify(svc?.exemption ?? svc?.trials),
    );
    const others = report.services.filter((s) => s.service !== c.service);
    record(others.every((s) => s.verdict === 'ok'), `verify ${c.stack}: every other service works in both`, JSON.stringify(others));
    const left = leftovers();
    record(left.containers.length === 0 && left.folders.length === 0, `verify ${c.stack}: no project or temporary copy left`, JSON.stringify(left));
  }
}
