import { TRANSFORMS } from '../../transforms/index.js';
import type { Transform } from '../types.js';

/** Where a transform applies: the inputs its hooks read. */
export function whereOf(t: Transform): string[] {
  return [
    ...(t.service || t.composeFile ? ['Compose'] : []),
    ...(t.pod || t.object || t.project ? ['Kubernetes'] : []),
    ...(t.daemon ? ['daemon.json'] : []),
    ...(t.dockerfile ? ['Dockerfile'] : []),
  ];
}

/** The OWASP rules a transform's `owasp` names: `3, 5` → [3, 5], `2–4` → [2, 3, 4]. */
function rulesOf(owasp: string): number[] {
  return owasp.split(',').flatMap((part) => {
    const m = /^\s*(\d+)(?:\s*[–-]\s*(\d+))?\s*$/.exec(part);
    if (!m) return [];
    const from = Number(m[1]);
    const to = m[2] ? Number(m[2]) : from;
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** The cheat sheet's rules, and what cuirass cannot check in a file (host concerns). */
const CHEAT_SHEET: { rule: number; title: string; host?: string }[] = [
  { rule: 0, title: 'Keep the host and Docker up to date', host: 'patch the kernel and Docker Engine (docker version; runc and containerd too: container escapes are fixed there)' },
  { rule: 1, title: 'Do not expose the Docker daemon socket' },
  { rule: 2, title: 'Set a user' },
  { rule: 3, title: 'Limit capabilities' },
  { rule: 4, title: 'Prevent in-container privilege escalation' },
  { rule: 5, title: 'Be mindful of inter-container connectivity' },
  { rule: 6, title: 'Use Linux security modules (seccomp, AppArmor, SELinux)' },
  { rule: 7, title: 'Limit resources' },
  { rule: 8, title: 'Set filesystem and volumes to read-only' },
  { rule: 9, title: 'Integrate container scanning tools into your CI/CD pipeline' },
  { rule: 10, title: 'Keep the Docker daemon logging level at info' },
  { rule: 11, title: 'Run Docker in rootless mode', host: 'install dockerd rootless (dockerd-rootless-setuptool.sh install); docker info lists name=rootless' },
  { rule: 12, title: 'Utilize Docker secrets for sensitive data management' },
  { rule: 13, title: 'Enhance supply chain security' },
];

/**
 * `cuirass rules`: one line per transform (id, OWASP rule, severity, title, where it applies),
 * then, after a blank line, every cheat sheet rule 0–13 with the transforms and inputs that cover it.
 */
export function runRules(): number {
  process.stdout.write(rulesText());
  return 0;
}

/** The text `cuirass rules` prints. */
export function rulesText(): string {
  const width = Math.max(...TRANSFORMS.map((t) => t.id.length));
  const lines = TRANSFORMS.map((t) => `${t.id.padEnd(width)}  OWASP ${t.owasp.padEnd(5)} ${t.severity.padEnd(8)} ${t.title} [${whereOf(t).join(', ')}]`);
  const coverage = CHEAT_SHEET.map(({ rule, title, host }) => {
    const by = TRANSFORMS.filter((t) => rulesOf(t.owasp).includes(rule)).map((t) => `${t.id} (${whereOf(t).join(', ')})`);
    return `${String(rule).padStart(2)}  ${title}: ${[...by, ...(host ? [`host: ${host}`] : [])].join('; ')}`;
  });
  return [...lines, '', 'OWASP Docker Security Cheat Sheet rules:', ...coverage].join('\n') + '\n';
}

const OWASP = 'https://cheatsheetseries.owasp.org/cheatsheets/Docker_Security_Cheat_Sheet.html';

/** `cuirass explain ID`: what the transform does, why, what it may break, and how to exempt. */
export function runExplain(id: string): number {
  const text = explainText(id);
  if (text === undefined) {
    process.stderr.write(`cuirass: unknown transform "${id}"; \`cuirass rules\` lists them\n`);
    return 2;
  }
  process.stdout.write(text);
  return 0;
}

/** The text `cuirass explain ID` prints; undefined for an unknown id. */
export function explainText(id: string): string | undefined {
  const t = TRANSFORMS.find((x) => x.id === id);
  if (!t) return undefined;
  const rule = t.owasp === '—' ? 'Kubernetes Pod Security Standards (no OWASP Docker rule)' : `OWASP Docker Security Cheat Sheet rule ${t.owasp}, ${OWASP}`;
  const lines = [
    `${t.id}: ${t.title}`,
    '',
    `Why:         ${t.why}`,
    `Rule:        ${rule}`,
    `Kubernetes:  ${t.changes.kubernetes ?? 'nothing to change'}`,
    `Compose:     ${t.changes.compose ?? 'nothing to change'}`,
    ...(t.changes.daemon ? [`daemon.json: ${t.changes.daemon}`] : []),
    ...(t.changes.dockerfile ? [`Dockerfile:  ${t.changes.dockerfile}`] : []),
    `May break:   ${t.breaks}`,
    `Unfixed:     reported as ${t.severity}`,
    '',
    'Exempt (a reason is required; an exemption that exempts nothing is reported):',
    `  everywhere       --skip ${t.id}, or in cuirass.config.yaml: skip: [${t.id}]`,
    `  one workload     metadata.annotations (object or pod template):`,
    `                     cuirass.dev/skip: "${t.id}"`,
    `                     cuirass.dev/skip-reason: "why"`,
    `  one service      x-cuirass: {skip: [${t.id}], reason: "why"}`,
    `  from the config  exemptions: [{match: {kind: Deployment, namespace: ns, name: app}, skip: [${t.id}], reason: "why"}]`,
    `                   (or match: {file: compose.yaml, service: web}; a daemon.json or Dockerfile: match: {file: etc/docker/daemon.json})`,
  ];
  return lines.join('\n') + '\n';
}
