import type { TextEdit } from '../engine/index.js';
import type { Outcome } from '../run.js';
import type { Finding, ObjectRef, Severity } from '../types.js';
import { SEVERITIES } from '../types.js';
import type { ConfigExemption } from '../config.js';
import { displayPath } from '../load.js';

/** One finding as every report format shows it. Field names are stable (documented in the README). */
export interface ReportedFinding {
  transform: string;
  owasp: string;
  severity: Severity;
  file: string;
  line: number;
  column: number;
  message: string;
  field: string;
  object?: ObjectRef;
  /** `pending`: cuirass fixes it (run with --write); `unfixed`: a person must; `suppressed`: exempted. */
  status: 'pending' | 'unfixed' | 'suppressed';
  fixable: boolean;
  behaviorChanging: boolean;
  /** Why it is not fixed, or the exemption's reason. */
  reason?: string;
  /** The fix as edits of the file (SARIF fixes). */
  edits?: TextEdit[];
}

/** An input that could not be processed. */
export interface ReportedError {
  file: string;
  line: number;
  column: number;
  message: string;
}

function toReported(o: Outcome, f: Finding, status: ReportedFinding['status']): ReportedFinding {
  return {
    transform: f.transform,
    owasp: f.owasp,
    severity: f.severity,
    file: o.display,
    line: f.line,
    column: f.col,
    // Messages name services, fields and files, never a value: nothing in them is redacted
    // (replacing a secret's text there turned a service "api" into "<redacted>").
    message: f.message,
    field: f.field,
    object: f.object,
    status,
    fixable: status === 'pending',
    behaviorChanging: f.behaviorChanging,
    ...(status === 'suppressed' ? { reason: f.suppressed } : status === 'unfixed' && f.reason ? { reason: f.reason } : {}),
    ...(f.edits ? { edits: f.edits } : {}),
  };
}

/** Every finding of a run, ordered by file, line and column. */
export function collectFindings(outcomes: readonly Outcome[]): ReportedFinding[] {
  const out: ReportedFinding[] = [];
  for (const o of outcomes) {
    if (o.status !== 'changed' && o.status !== 'unchanged') continue;
    for (const f of o.changes) out.push(toReported(o, f, 'pending'));
    for (const f of o.remaining) out.push(toReported(o, f, 'unfixed'));
    for (const f of o.suppressed) out.push(toReported(o, f, 'suppressed'));
  }
  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
}

/** Errors of a run. */
export function collectErrors(outcomes: readonly Outcome[]): ReportedError[] {
  return outcomes.filter((o) => o.status === 'error').map((o) => ({ file: o.display, line: o.line ?? 1, column: o.col ?? 1, message: o.message ?? 'error' }));
}

/** True when a finding counts against `--fail-on`. */
export function reaches(f: ReportedFinding, failOn: Severity): boolean {
  return f.status !== 'suppressed' && SEVERITIES.indexOf(f.severity) >= SEVERITIES.indexOf(failOn);
}

/**
 * Config exemptions that exempted nothing in the whole run (SPEC section 5: reported), as
 * findings at the config entry (`source`: `path:line[:col]`).
 */
export function staleExemptions(exemptions: readonly ConfigExemption[]): ReportedFinding[] {
  return exemptions
    .filter((e) => !e.used)
    .map((e) => {
      const m = /^(.*?):(\d+)(?::(\d+))?$/.exec(e.source);
      return {
        transform: 'exemptions',
        owasp: '—',
        severity: 'low' as Severity,
        file: displayPath(m ? m[1] : e.source),
        line: m ? Number(m[2]) : 1,
        column: m?.[3] ? Number(m[3]) : 1,
        message: `exemption of ${e.skip.join(', ')} exempts nothing: ${e.reason}`,
        field: '',
        status: 'unfixed' as const,
        fixable: false,
        behaviorChanging: false,
        reason: 'report only: a person has to decide',
      };
    });
}
