import type { Outcome } from '../run.js';
import { SEVERITIES } from '../types.js';

/** `file:line:col: message` for an input that could not be processed. */
export function formatError(o: Outcome): string {
  return `cuirass: ${o.display}:${o.line ?? 1}:${o.col ?? 1}: ${o.message ?? 'error'}`;
}

/** The stderr summary: counts, then every finding left unfixed with its position. */
export function summarize(outcomes: readonly Outcome[], info: { wrote: boolean; notices?: number; otherFiles?: number; generated?: number }): string {
  const manifests = outcomes.filter((o) => o.status === 'changed' || o.status === 'unchanged');
  const changed = manifests.filter((o) => o.status === 'changed');
  const changes = manifests.flatMap((o) => o.changes);
  // Files several inputs add to (one .gitignore for a folder) count once: the caller knows them.
  const generated = info.generated ?? manifests.reduce((n, o) => n + o.files.length + new Set(o.documents.map((d) => d.file)).size, 0);
  const bc = changes.filter((c) => c.behaviorChanging).length;
  const remaining = manifests.flatMap((o) => o.remaining.map((f) => ({ o, f })));
  const errors = outcomes.filter((o) => o.status === 'error').length;
  const suppressed = manifests.flatMap((o) => o.suppressed).length;
  const skipped = outcomes.filter((o) => o.status === 'skipped').length;
  const lines: string[] = [];
  for (const { o, f } of remaining.sort((a, b) => SEVERITIES.indexOf(b.f.severity) - SEVERITIES.indexOf(a.f.severity))) {
    const why = f.reason && !f.reason.startsWith('report only') ? ` (${f.reason})` : '';
    lines.push(`  ${o.display}:${f.line}:${f.col}  ${f.severity.padEnd(8)} ${f.transform}: ${f.message}${why}`);
  }
  const parts = [
    `${manifests.length} manifest file${manifests.length === 1 ? '' : 's'}`,
    `${changed.length} ${info.wrote ? 'written' : 'to change'}`,
    `${changes.length} change${changes.length === 1 ? '' : 's'}${bc ? ` (${bc} behavior-changing)` : ''}`,
    `${remaining.length} finding${remaining.length === 1 ? '' : 's'} not fixed`,
  ];
  if (generated) parts.splice(2, 0, `${generated} generated file${generated === 1 ? '' : 's'}`);
  if (suppressed) parts.push(`${suppressed} suppressed by exemptions`);
  if (skipped) parts.push(`${skipped} skipped`);
  if (errors) parts.push(`${errors} error${errors === 1 ? '' : 's'}`);
  const head = `cuirass: ${parts.join(', ')}`;
  return [...(lines.length ? ['cuirass: not fixed:', ...lines] : []), head].join('\n') + '\n';
}
