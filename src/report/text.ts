import type { ReportedError, ReportedFinding } from './findings.js';

/** `cuirass check` text output: findings grouped by file, worst first within a line. */
export function textReport(findings: readonly ReportedFinding[], errors: readonly ReportedError[], color: boolean): string {
  const paint = (code: string, s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const sev = { critical: '35', high: '31', medium: '33', low: '36' } as const;
  const lines: string[] = [];
  let file = '';
  for (const f of findings) {
    if (f.file !== file) {
      if (file) lines.push('');
      lines.push(paint('1', f.file));
      file = f.file;
    }
    const status = f.status === 'pending' ? 'fixable' : f.status === 'suppressed' ? 'suppressed' : 'manual';
    const note = f.status === 'suppressed' ? ` (${f.reason})` : f.behaviorChanging && f.status === 'pending' ? ' (behavior-changing)' : '';
    lines.push(`  ${`${f.line}:${f.column}`.padEnd(8)} ${paint(sev[f.severity], f.severity.padEnd(8))} ${f.transform.padEnd(22)} ${status.padEnd(10)} ${f.message}${note}`);
  }
  for (const e of errors) lines.push(`${e.file}:${e.line}:${e.column}: error: ${e.message}`);
  return lines.length ? lines.join('\n') + '\n' : '';
}
