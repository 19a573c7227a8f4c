import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { TRANSFORMS } from '../transforms/index.js';
import type { ConfigExemption } from './config.js';
import type { RawStyle } from './engine/source.js';
import type { Flags, Level, Settings } from './settings.js';
import type { Finding, Transform } from './types.js';

/**
 * The re-check of a stream's hardened documents on a second core.
 *
 * SPEC section 4 has every hardened text parsed again and re-planned before it is written: the
 * pass that proves a second run changes nothing. On a multi-document stream that pass is
 * independent per document, and it costs more than the hardening itself (the output is ~1.7x
 * the input). While the main thread hardens document n, a worker thread re-checks documents
 * before it; at the end the main thread takes the documents the worker has not reached yet from
 * the back of the queue and re-checks them itself (a job is claimed once, by one side, through
 * a shared array), then collects the worker's results.
 *
 * The worker runs the same code as the main thread's passes (`verifyDocument` in harden.ts),
 * taking a document through every pass after the first, and only ever answers for a document
 * that settles; anything else — a style fact that only later documents state, an error, a file
 * the transforms want to read, a worker that died or stalls — comes back as "do it yourself",
 * and the main thread runs those passes itself. The output is therefore the same bytes,
 * findings and order as without the worker (test/verify.test.ts compares them).
 */

/** What a re-check session knows: everything `planFindings` reads, as plain data. */
export interface VerifySession {
  type: 'session';
  sid: number;
  transforms: string[];
  level: Level;
  settings: Settings;
  flags: Flags;
  hasFolder: boolean;
  exemptions: ConfigExemption[];
  /** What the transforms' surveys read of the stream (plain data: it is cloned to the worker). */
  surveys?: ReadonlyMap<string, unknown>;
  json: boolean;
  file: string;
  /** One slot per document: 0 free, 1 taken by the worker, 2 taken by the main thread. */
  claims: SharedArrayBuffer;
}

/** One document's hardened text to re-check. */
export interface VerifyJob {
  type: 'job';
  sid: number;
  /** The document's place in the stream (also its slot in `claims`). */
  id: number;
  text: string;
  /** Its style facts at the first pass. */
  raw: RawStyle;
  /** Keep the document's plain value (its view) for the run-wide transforms. */
  values: boolean;
}

/** What the re-check of one document found. */
export type VerifyOutcome =
  | {
      status: 'settled';
      /** Pass 1 on: the text (but pass 1's, which the main thread has), style facts, line breaks, findings. */
      versions: { text?: string; raw: RawStyle; jsonLike: boolean; lines: number; findings: Finding[] }[];
      final: { shape: string[]; kubernetes: boolean; compose: boolean; value?: unknown; valueFailed?: boolean };
      /** Config exemptions (by index) that suppressed something. */
      used: number[];
    }
  /** The text is not one document that parses: the whole-text passes take over. */
  | { status: 'whole' }
  /** Anything else: the main thread re-checks the document itself. */
  | { status: 'main' };

export type VerifyMessage = VerifyOutcome & { sid: number; id: number };

/**
 * What the main thread knows of a document it keeps: its style facts when it settled at the
 * first pass (they hold at every pass), null when its later passes happen on the main thread.
 */
export interface VerifyNote {
  type: 'note';
  sid: number;
  id: number;
  raw: RawStyle | null;
}

/** Slots of the control array shared with the worker. */
export const SIGNAL = 0;
export const CURRENT = 1;

/** Claims of a job's slot. */
export const FREE = 0;
export const BY_WORKER = 1;
export const BY_MAIN = 2;

const config = {
  /** Streams shorter than this, or of fewer documents, are re-checked on the main thread. */
  minBytes: 64 * 1024,
  minDocs: 16,
  /**
   * Runs with less input than this stay on one thread: below ~1 MB the worker's start and its
   * cold code cost what it saves (1,000 documents, 0.7 MiB: 5% slower with it).
   * `CUIRASS_THREADS=2` uses the worker whatever the size of the run.
   */
  minRunBytes: process.env.CUIRASS_THREADS === '2' ? 0 : 2 * 1024 * 1024,
  /** The input of the whole run (all files of a folder), when the command knows it. */
  runBytes: 0,
  /** After a stream at least this long, the worker is stopped (see `Verifier.close`). */
  releaseBytes: 4 * 1024 * 1024,
  /** Give up on the worker after this long without any answer. */
  stallMs: 60_000,
  /** The main thread re-checks the documents the worker has not reached (tests turn it off to check the worker's answers). */
  steal: true,
  enabled: process.env.CUIRASS_THREADS !== '1' && process.env.CUIRASS_THREADS !== '0',
};

/** For tests: the size from which a stream is re-checked on the worker, and whether at all. */
export function configureVerifier(options: { minBytes?: number; minDocs?: number; minRunBytes?: number; enabled?: boolean; stallMs?: number; steal?: boolean }): void {
  Object.assign(config, options);
}

/** How the re-checks went since the process started (for tests and the benchmark). */
export const verifierStats = { sessions: 0, byWorker: 0, laterPasses: 0, handedBack: 0, byMain: 0 };

let shared: Shared | undefined;
let broken = false;
let sessions = 0;

class Shared {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly control = new Int32Array(new SharedArrayBuffer(8));
  /** Answers of the current session received and not yet taken, by document. */
  readonly answers = new Map<number, VerifyMessage>();
  /** Settles once the worker has loaded its modules (it says so on its parent port). */
  readonly ready: Promise<void>;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    // Under the test runner the sources are TypeScript: tsx loads them in the worker.
    const ts = import.meta.url.endsWith('.ts');
    const url = new URL(ts ? './verify-worker.ts' : './verify-worker.js', import.meta.url);
    const script = ts ? `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })` : url;
    this.worker = new Worker(script, {
      eval: ts,
      workerData: { port: port2, control: this.control },
      transferList: [port2],
      // It holds one document at a time (none over 512 KiB, see harden.ts): a small young
      // generation and a capped old one keep the process's RSS down (a streamed `cuirass -` at
      // 10,000 documents: 222 MB instead of 302 MB; without the cap the worker's heap grows
      // with the garbage of the stream).
      resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 64 },
    });
    // A worker that fails (or exits) is not used again, until `releaseVerifier` replaces it.
    const failed = () => {
      if (shared === this) broken = true;
    };
    this.worker.on('error', failed).on('exit', failed);
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.once('message', () => resolve());
      this.worker.once('error', reject);
    });
    // Only tests wait for it; a worker that fails to start must not end the CLI as an unhandled rejection.
    this.ready.catch(() => {});
    this.worker.unref();
    this.port = port1;
    this.port.unref();
  }

  /** Moves every answer that has arrived into `answers`. */
  drain(): void {
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
      const message = m.message as VerifyMessage;
      // Answers of an ended session (the whole-text passes took over) are of no use.
      if (message.sid === Atomics.load(this.control, CURRENT)) this.answers.set(message.id, message);
    }
  }
}

/**
 * A re-check session for one stream, or undefined when the stream is re-checked on the main
 * thread: small, one core, `CUIRASS_THREADS=1`, transforms that are not the registry's (tests),
 * or a worker that failed before.
 */
export function verifierFor(
  input: string,
  options: { transforms: readonly Transform[]; level: Level; settings: Settings; flags?: Flags; hasFolder?: boolean; exemptions?: ConfigExemption[]; surveys?: ReadonlyMap<string, unknown> },
  json: boolean,
  file: string,
): Verifier | undefined {
  if (!config.enabled || broken || input.length < config.minBytes) return undefined;
  if (Math.max(config.runBytes, input.length) < config.minRunBytes) return undefined;
  // Every document after the first starts on a `---` line: an upper bound on the documents.
  let docs = 1;
  for (let i = input.indexOf('\n---'); i >= 0; i = input.indexOf('\n---', i + 4)) docs++;
  if (docs < config.minDocs || availableParallelism() < 2) return undefined;
  if (!options.transforms.every((t) => TRANSFORMS.includes(t))) return undefined;
  try {
    shared ??= new Shared();
  } catch {
    broken = true;
    return undefined;
  }
  const session: VerifySession = {
    type: 'session',
    sid: ++sessions,
    transforms: options.transforms.map((t) => t.id),
    level: options.level,
    settings: options.settings,
    flags: options.flags ?? {},
    hasFolder: options.hasFolder ?? false,
    exemptions: options.exemptions ?? [],
    ...(options.surveys ? { surveys: options.surveys } : {}),
    json,
    file,
    claims: new SharedArrayBuffer(4 * docs),
  };
  return new Verifier(shared, session, input.length);
}

/**
 * Tells how much input the whole run has (the sizes of all files found): a folder of many
 * mid-sized files uses the worker when all of them together are large enough.
 */
export function expectInput(bytes: number): void {
  config.runBytes = bytes;
}

/** Starts the worker now and settles when it is ready (for tests: a cold worker takes seconds under tsx). */
export async function verifierReady(): Promise<void> {
  broken = false;
  shared ??= new Shared();
  await shared.ready;
}

/**
 * Stops the worker once a command has hardened all its inputs: its heap would otherwise stay
 * mapped while the run-wide transforms and the output take the main thread's peak memory.
 */
export function releaseVerifier(): void {
  // A worker that failed is replaced by the next run that wants one.
  broken = false;
  if (!shared) return;
  // For tests of the built CLI and for the benchmark: who did the re-checks.
  if (process.env.CUIRASS_THREADS_REPORT) process.stderr.write(`cuirass: re-checks ${JSON.stringify(verifierStats)}\n`);
  const { worker, port } = shared;
  shared = undefined;
  void worker.terminate();
  port.close();
}

export class Verifier {
  private readonly claims: Int32Array;
  private closed = false;

  constructor(
    private readonly shared: Shared,
    private readonly session: VerifySession,
    /** Length of the stream. */
    private readonly size: number,
  ) {
    this.claims = new Int32Array(session.claims);
    verifierStats.sessions++;
    Atomics.store(shared.control, CURRENT, session.sid);
    shared.worker.postMessage(session);
  }

  /** Hands document `id`'s hardened text to the worker; false when it cannot take it. */
  post(id: number, raw: RawStyle, text: string, values: boolean): boolean {
    if (broken || id >= this.claims.length) return false;
    const job: VerifyJob = { type: 'job', sid: this.session.sid, id, raw, text, values };
    this.shared.worker.postMessage(job);
    return true;
  }

  /**
   * The worker's answer for document `id`, waiting for it when the worker has taken the job;
   * `main` when the main thread must (and now may) re-check the document itself.
   */
  take(id: number): VerifyOutcome {
    const { shared, claims } = this;
    if ((config.steal && Atomics.compareExchange(claims, id, FREE, BY_MAIN) === FREE) || Atomics.load(claims, id) === BY_MAIN) {
      verifierStats.byMain++;
      return { status: 'main' };
    }
    let waited = 0;
    for (;;) {
      const seen = Atomics.load(shared.control, SIGNAL);
      shared.drain();
      const answer = shared.answers.get(id);
      if (answer) {
        shared.answers.delete(id);
        if (answer.status === 'settled') {
          verifierStats.byWorker++;
          if (answer.versions.length > 1) verifierStats.laterPasses++;
        } else verifierStats.handedBack++;
        return answer;
      }
      if (broken || waited >= config.stallMs) {
        // The worker died or stalls: it will not answer; everything from now on stays here.
        broken = true;
        void shared.worker.terminate();
        verifierStats.handedBack++;
        return { status: 'main' };
      }
      const slice = 1000;
      if (Atomics.wait(shared.control, SIGNAL, seen, slice) === 'timed-out') waited += slice;
      else waited = 0;
    }
  }

  /** The documents whose answers have arrived (taking them early frees what they hold). */
  answered(): number[] {
    this.shared.drain();
    return [...this.shared.answers.keys()];
  }

  /** Tells the worker the style facts of document `id`, which it keeps (see VerifyNote). */
  note(id: number, raw: RawStyle | null): void {
    if (broken) return;
    const note: VerifyNote = { type: 'note', sid: this.session.sid, id, raw };
    this.shared.worker.postMessage(note);
  }

  /**
   * Ends the session: the worker skips what is left of it. After a large stream the worker goes
   * too (the next one starts in ~50 ms, against seconds of work): its heap would otherwise stay
   * mapped while the main thread puts the stream's results together, the run's peak memory.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.compareExchange(this.shared.control, CURRENT, this.session.sid, 0);
    this.shared.answers.clear();
    if (this.size >= config.releaseBytes && shared === this.shared) releaseVerifier();
  }
}
