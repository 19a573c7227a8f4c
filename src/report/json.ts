import type { ReportedError, ReportedFinding } from './findings.js';

/** The `--format json` document: version 1 of a stable shape. */
export function jsonReport(findings: readonly ReportedFinding[], errors: readonly ReportedError[], version: string): string {
  const bySeverity = { critical: 0, high: 0, medium: 0, low: 0 };
  for (const f of findings) if (f.status !== 'suppressed') bySeverity[f.severity]++;
  const doc = {
    version: 1,
    tool: { name: 'cuirass', version },
    summary: {
      findings: findings.length,
      pending: findings.filter((f) => f.status === 'pending').length,
      unfixed: findings.filter((f) => f.status === 'unfixed').length,
      suppressed: findings.filter((f) => f.status === 'suppressed').length,
      bySeverity,
      errors: errors.length,
    },
    findings: findings.map(({ edits: _edits, ...f }) => f),
    errors,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
