import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { TRANSFORMS } from '../transforms/index.js';
import { STREAM_STYLE, factOf, verifyDocument } from './harden.js';
import type { HardenOptions, StyleFact } from './harden.js';
import type { RawStyle } from './engine/source.js';
import { BY_WORKER, CURRENT, FREE, SIGNAL } from './verify.js';
import type { VerifyJob, VerifyMessage, VerifyNote, VerifyOutcome, VerifySession } from './verify.js';

/** The worker thread of src/verify.ts: takes the documents the main thread hands it through their passes after the first. */

const { port, control } = workerData as { port: MessagePort; control: Int32Array };

/** Thrown when a transform asks for a file next to the input: the main thread reads those. */
class SiblingRead extends Error {}

/**
 * The style facts of a session's documents, pass by pass, as far as the worker knows them: a
 * stream style fact is the first document's (in stream order) that states it at that pass, so
 * the worker can answer for a document only when every document before the first that states
 * it is known here.
 */
class KnownFacts {
  /** Per document: its facts at pass 0, 1, … (the last holds from then on); null: not known here. */
  private readonly raws: (RawStyle[] | null | undefined)[] = [];
  /** Per pass and fact: how far the documents have been looked at, and the value once found. */
  private readonly found = new Map<string, { scan: number; value: unknown }>();

  set(id: number, raws: RawStyle[] | null): void {
    this.raws[id] = raws;
  }

  /** The stream's `fact` at pass `k`, asked for by document `index` (its own facts `own`). */
  value(k: number, fact: StyleFact, index: number, own: RawStyle): unknown {
    const key = `${k}:${fact}`;
    let f = this.found.get(key);
    if (!f) this.found.set(key, (f = { scan: 0, value: undefined }));
    while (f.value === undefined && f.scan < index) {
      const raws = this.raws[f.scan];
      if (!raws) throw STREAM_STYLE;
      const value = factOf(raws[Math.min(k, raws.length - 1)], fact);
      if (value !== undefined) f.value = value;
      else f.scan++;
    }
    if (f.value !== undefined) return f.value;
    // No document before states it: the asking one may, else one after it (only the main thread sees those).
    const value = factOf(own, fact);
    if (value === undefined) throw STREAM_STYLE;
    return value;
  }
}

let session: VerifySession | undefined;
let options: HardenOptions | undefined;
let claims: Int32Array | undefined;
let facts = new KnownFacts();

parentPort!.on('message', (message: VerifySession | VerifyJob | VerifyNote) => {
  if (message.type === 'session') {
    session = message;
    claims = new Int32Array(message.claims);
    facts = new KnownFacts();
    const byId = new Map(TRANSFORMS.map((t) => [t.id, t]));
    options = {
      transforms: message.transforms.map((id) => byId.get(id)!),
      level: message.level,
      settings: message.settings,
      flags: message.flags,
      hasFolder: message.hasFolder,
      exemptions: message.exemptions,
      surveys: message.surveys,
      sibling: () => {
        throw new SiblingRead();
      },
    };
    return;
  }
  if (!session || message.sid !== session.sid) return;
  if (message.type === 'note') {
    facts.set(message.id, message.raw && [message.raw]);
    return;
  }
  const job = message;
  // A job of an ended session, or one the main thread took: nothing to answer.
  if (Atomics.load(control, CURRENT) !== job.sid || Atomics.compareExchange(claims!, job.id, FREE, BY_WORKER) !== FREE) {
    facts.set(job.id, null);
    return;
  }
  let outcome: VerifyOutcome;
  try {
    const checked = verifyDocument(job.text, job.id, options!, session.json, session.file, job.values, (k, fact, own) => facts.value(k, fact, job.id, own));
    const used = (options!.exemptions ?? []).flatMap((e, i) => (e.used ? [i] : []));
    outcome = checked.status === 'settled' ? { ...checked, used } : checked;
  } catch {
    outcome = { status: 'main' };
  }
  facts.set(job.id, outcome.status === 'settled' ? [job.raw, ...outcome.versions.map((v) => v.raw)] : null);
  try {
    port.postMessage({ ...outcome, sid: job.sid, id: job.id } satisfies VerifyMessage);
  } catch {
    // Something in the answer does not clone: the main thread does the document itself.
    port.postMessage({ status: 'main', sid: job.sid, id: job.id } satisfies VerifyMessage);
  }
  Atomics.add(control, SIGNAL, 1);
  Atomics.notify(control, SIGNAL);
});

// Loaded: whoever waits for the worker to be ready may go on.
parentPort!.postMessage('ready');
