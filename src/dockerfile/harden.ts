import { applyEdits } from '../engine/index.js';
import type { TextEdit } from '../engine/index.js';
import { exemptionFor, fileExemptions } from '../exemptions.js';
import type { Outcome, RunOptions } from '../run.js';
import type { DockerfileContext, DockerfileReport, Finding } from '../types.js';
import { readDockerfile } from './model.js';

/** `Dockerfile`, `Containerfile`, `<name>.Dockerfile` (SPEC section 2). */
export function isDockerfileName(path: string): boolean {
  return /(^|[/\\])(Dockerfile|Containerfile|[^/\\]+\.Dockerfile)$/.test(path);
}

/** Reads the start of a file of the build context (the Dockerfile's folder), when it is there. */
export type ContextPeek = (path: string) => Buffer | undefined;

const NONE: never[] = Object.freeze([]) as unknown as never[];

/** Runs every transform's `dockerfile` hook over a text; fixes are text edits. */
function plan(display: string, text: string, options: RunOptions, peek?: ContextPeek): Finding[] {
  const df = readDockerfile(text);
  const active = fileExemptions(options.exemptions ?? [], display);
  const findings: Finding[] = [];
  for (const t of options.transforms) {
    if (!t.dockerfile) continue;
    const ctx: DockerfileContext = {
      level: options.level,
      settings: options.settings,
      flags: options.flags ?? {},
      file: display,
      peek: (path) => peek?.(path),
      report(r: DockerfileReport) {
        const { line, col } = df.source.position(r.at);
        const behaviorChanging = r.behaviorChanging ?? false;
        const exempt = exemptionFor(active, t.id);
        let reason: string | undefined;
        if (exempt) reason = `exempted: ${exempt.reason}`;
        else if (!r.edits?.length) reason = r.refusal ?? 'report only: a person has to decide';
        else if (options.level === 'baseline') reason = 'the baseline level never rewrites what the file says';
        findings.push({
          transform: t.id, owasp: t.owasp, severity: r.severity ?? t.severity, message: r.message, field: r.field,
          object: { kind: 'Dockerfile' }, line, col, behaviorChanging, fixable: reason === undefined, reason,
          ops: NONE, files: NONE, documents: NONE, secrets: NONE,
          ...(reason === undefined ? { edits: r.edits } : {}),
          ...(exempt ? { suppressed: `${exempt.reason} (${exempt.source})` } : {}),
        });
      },
    };
    t.dockerfile(df, ctx);
  }
  return findings;
}

/**
 * Hardens a Dockerfile: findings with their positions, and the fixes applied as minimal text
 * edits. The result is read again: a second pass must plan no fix (idempotency).
 */
export function hardenDockerfile(display: string, text: string, options: RunOptions, peek?: ContextPeek): Outcome {
  const base = { display, input: text, output: text, files: [], documents: [], secrets: [], manifest: true, kind: 'dockerfile' as const };
  const findings = plan(display, text, options, peek);
  const fixes = findings.filter((f) => f.fixable);
  const edits: TextEdit[] = fixes.flatMap((f) => f.edits ?? []);
  const output = applyEdits(text, edits).text;
  if (output !== text && plan(display, output, options, peek).some((f) => f.fixable)) {
    return { ...base, status: 'error', line: 1, col: 1, message: 'left untouched: hardening did not settle (a second pass still plans fixes)', changes: [], remaining: [], suppressed: [] };
  }
  if (!options.withEdits) for (const f of fixes) delete f.edits;
  return {
    ...base,
    status: output === text ? 'unchanged' : 'changed',
    output,
    changes: fixes,
    remaining: findings.filter((f) => !f.fixable && !f.suppressed),
    suppressed: findings.filter((f) => f.suppressed),
  };
}
