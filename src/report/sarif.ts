import { createHash } from 'node:crypto';
import type { Transform } from '../types.js';
import type { ReportedError, ReportedFinding } from './findings.js';

const LEVEL = { critical: 'error', high: 'error', medium: 'warning', low: 'note' } as const;
const SECURITY_SEVERITY = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0' } as const;
const OWASP = 'https://cheatsheetseries.owasp.org/cheatsheets/Docker_Security_Cheat_Sheet.html';

/** 1-based line and column of every offset of `text`, computed once. */
function positions(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo] + 1 };
  };
}

/** A rule's readable name from its title: "Drop all capabilities" → DropAllCapabilities. */
function pascal(title: string): string {
  return title
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .slice(0, 6)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}

function fingerprint(f: ReportedFinding): string {
  const o = f.object ? `${f.object.kind}/${f.object.namespace ?? ''}/${f.object.name ?? ''}` : '';
  return createHash('sha256').update([f.transform, f.file, o, f.field, f.message].join('\u0000')).digest('hex').slice(0, 32);
}

/**
 * SARIF 2.1.0: one rule per transform, a result per finding with its region, the fix as
 * replacements built from the same text edits the diff uses, and exemptions as suppressions.
 */
export function sarifReport(
  findings: readonly ReportedFinding[],
  errors: readonly ReportedError[],
  transforms: readonly Transform[],
  sources: ReadonlyMap<string, string>,
  version: string,
): string {
  const rules = [
    ...transforms.map((t) => ({
      id: t.id,
      name: pascal(t.title),
      shortDescription: { text: t.title },
      fullDescription: { text: `${t.title}. ${t.why}` },
      helpUri: OWASP,
      help: {
        text: `${t.title} (OWASP Docker Security Cheat Sheet rule ${t.owasp}). ${t.why} Kubernetes: ${t.changes.kubernetes ?? 'nothing to change'}. Compose: ${t.changes.compose ?? 'nothing to change'}. May break: ${t.breaks} Exempt with cuirass.dev/skip: "${t.id}" and cuirass.dev/skip-reason, x-cuirass, or the config file.`,
        markdown: `**${t.title}** — [OWASP Docker Security Cheat Sheet](${OWASP}) rule ${t.owasp}.\n\n${t.why}\n\n- Kubernetes: ${t.changes.kubernetes ?? 'nothing to change'}\n- Compose: ${t.changes.compose ?? 'nothing to change'}\n\nMay break: ${t.breaks}\n\nExempt with the annotation \`cuirass.dev/skip: "${t.id}"\` plus \`cuirass.dev/skip-reason\`, \`x-cuirass\` in Compose, or \`exemptions\` in cuirass.config.yaml.`,
      },
      defaultConfiguration: { level: LEVEL[t.severity] },
      properties: { tags: ['security', `owasp-docker-${t.owasp}`], 'security-severity': SECURITY_SEVERITY[t.severity] },
    })),
    {
      id: 'exemptions',
      name: 'ExemptionsNeedReasonsAndTargets',
      shortDescription: { text: 'Exemptions must have a reason and exempt something' },
      fullDescription: { text: 'An exemption without a reason is ignored; one that exempts nothing is stale.' },
      defaultConfiguration: { level: 'note' },
      properties: { tags: ['maintainability'] },
    },
  ];
  const ruleIndex = new Map(rules.map((r, i) => [r.id, i]));
  const pos = new Map<string, (offset: number) => { line: number; column: number }>();
  const at = (file: string) => {
    if (!pos.has(file)) pos.set(file, positions(sources.get(file) ?? ''));
    return pos.get(file)!;
  };
  const results = findings.map((f) => {
    const location = {
      physicalLocation: {
        artifactLocation: { uri: f.file, uriBaseId: '%SRCROOT%' },
        region: { startLine: f.line, startColumn: f.column },
      },
    };
    const result: Record<string, unknown> = {
      ruleId: f.transform,
      ...(ruleIndex.has(f.transform) ? { ruleIndex: ruleIndex.get(f.transform) } : {}),
      level: LEVEL[f.severity],
      message: { text: f.message },
      locations: [location],
      partialFingerprints: { 'cuirassFinding/v1': fingerprint(f) },
      properties: { severity: f.severity, owasp: f.owasp, status: f.status, behaviorChanging: f.behaviorChanging, field: f.field },
    };
    if (f.status === 'pending' && f.edits?.length) {
      const p = at(f.file);
      result.fixes = [
        {
          description: { text: `cuirass: ${f.message}${f.behaviorChanging ? ' (behavior-changing)' : ''}` },
          artifactChanges: [
            {
              artifactLocation: { uri: f.file, uriBaseId: '%SRCROOT%' },
              replacements: f.edits.map((e) => {
                const start = p(e.start);
                const end = p(e.end);
                return {
                  deletedRegion: { startLine: start.line, startColumn: start.column, endLine: end.line, endColumn: end.column, charOffset: e.start, charLength: e.end - e.start },
                  ...(e.text ? { insertedContent: { text: e.text } } : {}),
                };
              }),
            },
          ],
        },
      ];
    }
    if (f.status === 'suppressed') {
      result.suppressions = [{ kind: f.reason?.includes('cuirass.config') ? 'external' : 'inSource', justification: f.reason ?? '' }];
    }
    return result;
  });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'cuirass', version, semanticVersion: version, rules } },
        originalUriBaseIds: { '%SRCROOT%': { uri: `file://${process.cwd().replace(/\/?$/, '/')}` } },
        results,
        invocations: [
          {
            executionSuccessful: errors.length === 0,
            toolExecutionNotifications: errors.map((e) => ({
              level: 'error',
              message: { text: e.message },
              locations: [{ physicalLocation: { artifactLocation: { uri: e.file, uriBaseId: '%SRCROOT%' }, region: { startLine: e.line, startColumn: e.column } } }],
            })),
          },
        ],
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}
