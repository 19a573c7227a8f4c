import { TRANSFORMS } from '../../transforms/index.js';

/** `cuirass rules`: one line per transform. */
export function runRules(): number {
  const width = Math.max(...TRANSFORMS.map((t) => t.id.length));
  const lines = TRANSFORMS.map((t) => `${t.id.padEnd(width)}  OWASP ${t.owasp.padEnd(5)} ${t.severity.padEnd(8)} ${t.title}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

const OWASP = 'https://cheatsheetseries.owasp.org/cheatsheets/Docker_Security_Cheat_Sheet.html';

/** `cuirass explain ID`: what the transform does, why, what it may break, and how to exempt. */
export function runExplain(id: string): number {
  const t = TRANSFORMS.find((x) => x.id === id);
  if (!t) {
    process.stderr.write(`cuirass: unknown transform "${id}"; \`cuirass rules\` lists them\n`);
    return 2;
  }
  const rule = t.owasp === '—' ? 'Kubernetes Pod Security Standards (no OWASP Docker rule)' : `OWASP Docker Security Cheat Sheet rule ${t.owasp}, ${OWASP}`;
  const lines = [
    `${t.id}: ${t.title}`,
    '',
    `Why:         ${t.why}`,
    `Rule:        ${rule}`,
    `Kubernetes:  ${t.changes.kubernetes ?? 'nothing to change'}`,
    `Compose:     ${t.changes.compose ?? 'nothing to change'}`,
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
    `                   (or match: {file: compose.yaml, service: web})`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
