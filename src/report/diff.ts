import { createTwoFilesPatch } from 'diff';

/** ANSI colors for a unified diff; identity functions when color is off. */
function painter(color: boolean) {
  const wrap = (code: string) => (s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { add: wrap('32'), del: wrap('31'), hunk: wrap('36'), head: wrap('1') };
}

/**
 * A unified diff of one file with 3 lines of context and the display path in both headers
 * (`/dev/null` before a file the run creates).
 * Secret values never reach it: callers diff texts that no longer hold them.
 */
export function unifiedDiff(display: string, before: string, after: string, color: boolean, created = false): string {
  if (before === after && !created) return '';
  // A new file is diffed from /dev/null, so `git apply` and `patch` create it.
  const patch = createTwoFilesPatch(created ? '/dev/null' : display, display, before, after, undefined, undefined, { context: 3 });
  const lines = patch.split('\n');
  // createTwoFilesPatch starts with an "Index:"/"====" preamble; keep from the first header.
  const start = lines.findIndex((l) => l.startsWith('--- '));
  const p = painter(color);
  return (
    lines
      .slice(start)
      .filter((l, i, all) => !(i === all.length - 1 && l === ''))
      .map((l) => {
        if (l.startsWith('--- ') || l.startsWith('+++ ')) return p.head(l.replace(/\t$/, ''));
        if (l.startsWith('@@')) return p.hunk(l);
        if (l.startsWith('+')) return p.add(l);
        if (l.startsWith('-')) return p.del(l);
        return l;
      })
      .join('\n') + '\n'
  );
}
