import { existsSync, statSync } from 'node:fs';
import { writeAtomic } from '../write.js';
import { UnsafeFileError } from '../safe-fs.js';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { stringify } from 'yaml';
import { DEFAULT_SETTINGS } from '../settings.js';
import { discover, readInput } from '../load.js';
import { processText, selectTransforms } from '../run.js';
import type { Finding } from '../types.js';

/**
 * `cuirass init [PATH]`: writes a starter cuirass.config.yaml next to the inputs, with the
 * defaults spelled out and, commented out, an exemption for every object that keeps findings
 * cuirass cannot fix, so a person only has to fill in the reasons.
 */
export function runInit(paths: string[], opts: { force?: boolean }): number {
  const first = resolve(paths[0] ?? '.');
  const folder = existsSync(first) && statSync(first).isDirectory() ? first : dirname(first);
  const target = join(folder, 'cuirass.config.yaml');
  if (existsSync(target) && !opts.force) {
    process.stderr.write(`cuirass: ${target} exists; use --force to replace it\n`);
    return 2;
  }
  const options = { level: 'restricted' as const, settings: DEFAULT_SETTINGS, transforms: selectTransforms() };
  const groups = new Map<string, { match: Record<string, string>; ids: Set<string>; why: string[] }>();
  for (const file of discover(paths.length ? paths : ['.']).files) {
    const read = readInput(file.path);
    if ('error' in read) continue;
    const o = processText(file.display, read.text, options, dirname(file.path));
    for (const f of o.remaining as Finding[]) {
      if (f.transform === 'exemptions' || !f.object) continue;
      const match: Record<string, string> =
        f.object.kind === 'service'
          ? { file: relative(folder, file.path).split(sep).join('/'), service: f.object.name ?? '' }
          : f.object.kind === 'Dockerfile' || f.object.kind === 'daemon.json'
            ? { file: relative(folder, file.path).split(sep).join('/') }
          : { kind: f.object.kind, ...(f.object.namespace ? { namespace: f.object.namespace } : {}), ...(f.object.name ? { name: f.object.name } : {}) };
      const key = JSON.stringify(match);
      const g = groups.get(key) ?? { match, ids: new Set<string>(), why: [] };
      g.ids.add(f.transform);
      g.why.push(`${f.transform}: ${f.message}`);
      groups.set(key, g);
    }
  }
  const d = DEFAULT_SETTINGS;
  const body = stringify(
    {
      level: 'restricted',
      skip: [],
      defaults: { uid: d.uid, gid: d.gid, limits: d.limits, requests: d.requests, tmpfs: d.tmpfs },
      secrets: { patterns: d.secretPatterns },
      exemptions: [],
    },
    { lineWidth: 0, flowCollectionPadding: false },
  );
  const lines = [
    '# cuirass configuration (cuirass init). Every key is optional; these are the defaults.',
    '# Transform ids: `cuirass rules`. Levels: restricted (everything) or baseline (only additions).',
    // With suggestions below, `exemptions:` stays open for them: an uncommented one is an item.
    groups.size ? body.trimEnd().replace(/^exemptions: \[\]$/m, 'exemptions:') : body.trimEnd(),
  ];
  if (groups.size) {
    lines.push('# Findings cuirass cannot fix. Fix them, or uncomment an exemption and say why:');
    for (const g of groups.values()) {
      for (const why of g.why) lines.push(`#   ${why}`);
      lines.push(`#  - match: ${stringify(g.match, { collectionStyle: 'flow', lineWidth: 0 }).trim()}`);
      lines.push(`#    skip: [${[...g.ids].join(', ')}]`);
      lines.push('#    reason: "why this is acceptable"');
    }
  }
  try {
    // Complete or not at all (a full disk leaves the old config whole); never through a symlink.
    writeAtomic(target, (current) => {
      if (current !== undefined && !opts.force) throw new UnsafeFileError(`${target} exists; use --force to replace it`);
      return lines.join('\n') + '\n';
    }, { follow: false });
  } catch (e) {
    process.stderr.write(`cuirass: ${target}: not written: ${(e as Error).message}\n`);
    return 2;
  }
  process.stderr.write(`cuirass: wrote ${target}${groups.size ? ` with ${groups.size} suggested exemption${groups.size === 1 ? '' : 's'}` : ''}\n`);
  return 0;
}
