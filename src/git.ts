import { spawnSync } from 'node:child_process';

/** What git would do with a file: commit it (tracked, or not ignored) or leave it out. */
export interface GitState {
  tracked: boolean;
  /** A rule ignores it (git's own answer, which says false for a tracked file). */
  ignored: boolean;
}

/** Folders git could not answer for (not in a repository): asked once per run. */
const unanswered = new Set<string>();

function git(folder: string, args: string[]): number | null {
  const r = spawnSync('git', ['-c', 'core.fsmonitor=false', '-C', folder, ...args], {
    stdio: 'ignore',
    env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
  });
  return r.error ? null : r.status;
}

/**
 * Asks git about `rel` ('/'-separated, below `folder`): `git ls-files` and `git check-ignore`.
 * Undefined outside a repository, or where git cannot answer (not installed, a repository of
 * another owner): nothing there is committed by this user.
 */
export function gitState(folder: string, rel: string): GitState | undefined {
  if (unanswered.has(folder)) return undefined;
  const ignored = git(folder, ['check-ignore', '-q', '--', rel]);
  if (ignored !== 0 && ignored !== 1) {
    unanswered.add(folder);
    return undefined;
  }
  // check-ignore takes paths as they are; ls-files takes pathspecs (`[` is a glob there).
  const tracked = git(folder, ['--literal-pathspecs', 'ls-files', '--error-unmatch', '--', rel]);
  if (tracked !== 0 && tracked !== 1) return undefined;
  return { tracked: tracked === 0, ignored: ignored === 0 };
}
