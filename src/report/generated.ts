import { join } from 'node:path';
import type { GeneratedDoc, SideFile } from '../engine/index.js';
import { mergedContent, sidecarContent } from '../emit.js';
import { readGenerated } from '../safe-fs.js';
import type { Outcome } from '../run.js';

/** One file a run creates or changes besides its inputs, as all of the run's inputs leave it. */
export interface PlannedFile {
  /** Path as printed (relative to the working directory, like the input it belongs to). */
  display: string;
  /** Its content before the run; undefined when the run creates it. */
  before: string | undefined;
  /** Its content after every input of the run has added to it. */
  after: string;
  /** Holds secret values (a secret or env file; a sidecar holding a generated Secret). */
  secret: boolean;
  /** How a side file merges (`env` lines are shown by name); absent for sidecar documents. */
  merge?: SideFile['merge'];
}

/**
 * The files a run generates, one entry per path however many inputs add to it (several Compose
 * files of a folder add to one `.gitignore`, `.env` and `secrets/`): what `--write` leaves on
 * disk, for one diff per file and a count that matches the files written. Add each outcome
 * after `generatedProblem` has cleared its paths and before its files are written.
 */
export class GeneratedFiles {
  private readonly files = new Map<string, PlannedFile>();

  /** Adds what outcome `o` (whose input is in `folder`, or stdin) creates. */
  add(o: Outcome, folder: string | undefined): void {
    if (o.status !== 'changed' && o.status !== 'unchanged') return;
    const shown = (rel: string) => (o.display.includes('/') ? `${o.display.slice(0, o.display.lastIndexOf('/') + 1)}${rel}` : rel);
    const entry = (rel: string, secret: boolean, merge?: SideFile['merge']): PlannedFile => {
      const path = folder !== undefined ? join(folder, rel) : rel;
      let f = this.files.get(path);
      if (!f) {
        // Checked by generatedProblem before: no symlink, FIFO or device is read here.
        const before = folder !== undefined ? readGenerated(folder, rel) : undefined;
        f = { display: shown(rel), before, after: before ?? '', secret, merge };
        this.files.set(path, f);
      }
      f.secret ||= secret;
      return f;
    };
    for (const side of o.files) {
      const f = entry(side.path, side.secret, side.merge);
      f.after = mergedContent(f.before !== undefined || f.after !== '' ? f.after : undefined, side);
    }
    const sidecars = new Map<string, GeneratedDoc[]>();
    for (const d of o.documents) sidecars.set(d.file, [...(sidecars.get(d.file) ?? []), d]);
    for (const [name, group] of sidecars) {
      const f = entry(name, group.some((d) => d.secret));
      f.after = sidecarContent(f.after || undefined, group);
    }
  }

  /** The files whose content the run changes, in the order first added. */
  changed(): PlannedFile[] {
    return [...this.files.values()].filter((f) => f.after !== f.before);
  }
}
