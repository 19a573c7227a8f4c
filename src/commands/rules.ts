import { TRANSFORMS } from '../../transforms/index.js';

/** `cuirass rules`: one line per transform. */
export function runRules(): number {
  const width = Math.max(...TRANSFORMS.map((t) => t.id.length));
  const lines = TRANSFORMS.map((t) => `${t.id.padEnd(width)}  OWASP ${t.owasp.padEnd(5)} ${t.severity.padEnd(8)} ${t.title}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/** `cuirass explain ID`: what the transform does, why, and what it may break. */
export function runExplain(id: string): number {
  const t = TRANSFORMS.find((x) => x.id === id);
  if (!t) {
    process.stderr.write(`cuirass: unknown transform "${id}"; \`cuirass rules\` lists them\n`);
    return 2;
  }
  process.stdout.write(
    [
      `${t.id}: ${t.title}`,
      `OWASP Docker Security Cheat Sheet rule: ${t.owasp}`,
      `Severity of unfixed findings: ${t.severity}`,
      `May break: ${t.breaks}`,
      `Turn it off: --skip ${t.id}`,
    ].join('\n') + '\n',
  );
  return 0;
}
