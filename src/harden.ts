import { Composer, LineCounter, Parser } from 'yaml';
import type { Document, Node } from 'yaml';
import { Fix, applyEdits, mergeDocs, mergeFiles, parseSource, renderOps } from './engine/index.js';
import { combine } from './engine/side-effects.js';
import { posix } from 'node:path';
import type { GeneratedDoc, Op, ParsedSource, SideFile, SourceError, SourceStyle } from './engine/index.js';
import { FAST_PARSE_OPTIONS, MAX_ALIAS_COUNT, hasDuplicateKeys, isJsonLike, parseDocuments, rawStyleOf } from './engine/source.js';
import type { RawStyle } from './engine/source.js';
import { addObjectPositions } from './object-positions.js';
import type { Position } from './object-positions.js';
import { isKubernetesDoc, listItems, malformedPod, objectsOf, podTemplateOf } from './kubernetes/model.js';
import type { K8sObject } from './kubernetes/model.js';
import { baseServiceNames, isComposeDoc, servicesOf } from './compose/model.js';
import { dotenvBeside } from './compose/interpolate.js';
import type { BuildFileReader } from './compose/build.js';
import { composeExemptions, exemptionFor, fileExemptions, kubernetesExemptions } from './exemptions.js';
import { daemonConfigOf, isDaemonFile } from './daemon/model.js';
import type { ActiveExemption, InvalidExemption } from './exemptions.js';
import type { ConfigExemption } from './config.js';
import type { Flags, Level, Settings } from './settings.js';
import { InputError } from './types.js';
import type { Finding, ObjectRef, Report, SiblingFile, Transform, TransformContext } from './types.js';
import { verifierFor } from './verify.js';
import type { Verifier, VerifyOutcome } from './verify.js';
import type { TreeFile } from './tree-files.js';

/** Everything that decides what a run changes. */
export interface HardenOptions {
  transforms: readonly Transform[];
  level: Level;
  settings: Settings;
  /** Opt-in rewrites (`--fix-docker-socket`). */
  flags?: Flags;
  /** The input is a file whose folder can take generated files. */
  hasFolder?: boolean;
  /** Reads files next to the input (see TransformContext.sibling). */
  sibling?: (path: string) => SiblingFile | undefined;
  /** Reads a Compose service's Dockerfile, only inside the input's folder (see compose/build.ts). */
  readBuildFile?: BuildFileReader;
  /** Reads mounted config files inside the input's folder (see TransformContext.configFiles). */
  configFiles?: (path: string) => TreeFile[];
  /** Exemptions from the config file. */
  exemptions?: ConfigExemption[];
  /** Keep each first-pass fix as text edits of the input (for SARIF). */
  withEdits?: boolean;
  /**
   * Files the earlier passes over this text will create (a secret env file): a later pass reads
   * them as the next run will find them on disk, not as missing (see `pendingFile`).
   */
  pendingFiles?: readonly SideFile[];
  /** What each transform's survey read of the input, by transform id (set by hardenText). */
  surveys?: ReadonlyMap<string, unknown>;
}

/** The outcome of hardening one text. */
export interface HardenResult {
  output: string;
  /** Fixes applied (located in the input). */
  changes: Finding[];
  /** Findings still standing in the output: report-only, refused, or not allowed by the level. */
  remaining: Finding[];
  /** Parse errors of the input; when present the output is the input. */
  errors: SourceError[];
  /** Set when the hardened text failed its own re-check; the output is then the input. */
  failure?: string;
  /** The text held Kubernetes objects. */
  kubernetes: boolean;
  /** The text is a Compose file. */
  compose: boolean;
  /** The text is a Docker daemon configuration (`daemon.json`). */
  daemon?: boolean;
  /** Files to create next to the input (secret files, env files, .gitignore lines). */
  files: SideFile[];
  /** Documents to append to the stream or write to sidecar files. */
  documents: GeneratedDoc[];
  /** Secret values found in the input: never printed, redacted in diffs. */
  secrets: string[];
  /** Findings an exemption suppressed, with its reason. */
  suppressed: Finding[];
}

/** What is known of the text's origin. */
export interface TextInfo {
  /** The text is JSON (by file name or content): new content must be JSON. */
  json?: boolean;
  /** File name, for Compose override detection. */
  file?: string;
}

/** Passes before giving up on reaching a fixed point (two are normal: fix, then verify). */
const MAX_PASSES = 6;

/**
 * Hardens one YAML/JSON text. Each pass parses, lets every transform plan its findings, and
 * applies the permitted fixes as minimal edits; the run ends on a pass that plans nothing,
 * so the output is verified to be a fixed point (hardening it again changes nothing).
 *
 * A multi-document stream is hardened one document at a time (see `hardenStream`): the same
 * passes, results and bytes as passes over the whole text, with only the documents that
 * changed parsed again, and only one document's tree in memory at a time.
 */
export function hardenText(input: string, options: HardenOptions, textInfo: TextInfo | boolean = {}): HardenResult {
  const info: TextInfo = typeof textInfo === 'boolean' ? { json: textInfo } : textInfo;
  // A daemon.json is one small JSON object: the passes over the whole text.
  if (info.file && isDaemonFile(info.file)) return hardenWhole(input, options, info);
  const surveys = surveysOf(input, options, info.json ?? false);
  // A survey ties documents together: the passes run over the whole text.
  if (surveys) return hardenWhole(input, { ...options, surveys }, info);
  return hardenStream(input, options, info) ?? hardenWhole(input, options, info);
}

/** The surveys of the transforms whose `when` matches `input` (undefined when none does). */
function surveysOf(input: string, options: HardenOptions, json: boolean): Map<string, unknown> | undefined {
  const wanted = options.transforms.filter((t) => t.survey?.when.test(input));
  if (wanted.length === 0) return undefined;
  const src = parseSource(input, json);
  if (src.errors.length) return undefined;
  const objects = src.docs.filter(isKubernetesDoc).flatMap(objectsOf);
  const ctx = { level: options.level, flags: options.flags ?? {}, transforms: new Set(options.transforms.map((t) => t.id)) };
  return new Map(wanted.map((t) => [t.id, t.survey!.read(objects, ctx)]));
}

/** `options` with the files that the fixes of earlier passes create (unchanged when there are none). */
function withPending(options: HardenOptions, fixes: readonly Finding[]): HardenOptions {
  const files = fixes.flatMap((f) => f.files);
  return files.length ? { ...options, pendingFiles: mergeFiles(files) } : options;
}

/**
 * A file an earlier pass creates or extends, as the folder will hold it once written: a later
 * pass must read it as the next run will, or it takes the service whose literal secrets moved to
 * `secrets/<svc>.env` for one whose env file cannot be read (network segmentation then lets it
 * reach every backend).
 */
function pendingFile(options: HardenOptions, path: string): TreeFile[] | undefined {
  if (!options.pendingFiles?.length) return undefined;
  const want = posix.normalize(path.replace(/\\/g, '/')).replace(/^\.\//, '');
  const f = options.pendingFiles.find((p) => p.path === want);
  if (!f) return undefined;
  const existing = f.merge === 'replace' ? undefined : options.configFiles?.(path)[0]?.text;
  return [{ path, text: existing !== undefined && f.merge !== 'replace' ? combine(existing, f.content, f.merge) : f.content }];
}

/** The passes over the whole text at once: for what `hardenStream` leaves to it. */
function hardenWhole(input: string, options: HardenOptions, info: TextInfo): HardenResult {
  const json = info.json ?? false;
  let text = input;
  let shape: string[] = [];
  const changes = new Map<string, Finding>();
  const secrets = new Set<string>();
  const firstSeen = new Map<string, Finding>();
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const src = parseSource(text, json);
    if (src.errors.length) {
      if (pass === 0) return { ...EMPTY, output: input, errors: src.errors };
      const e = src.errors[0];
      return failed(input, `hardened output does not parse (${e.line}:${e.col} ${e.message})`);
    }
    const findings = planFindings(src, pass > 0 ? withPending(options, [...changes.values()]) : options, info.file ?? '');
    for (const f of findings) for (const s of f.secrets) secrets.add(s);
    if (pass === 0) for (const f of findings) firstSeen.set(place(f), f);
    const kubernetes = src.docs.some(isKubernetesDoc);
    const compose = !kubernetes && src.docs.some(isComposeDoc);
    const fixes = findings.filter((f) => f.fixable);
    for (const f of fixes) if (!changes.has(identity(f))) changes.set(identity(f), f);
    if (pass === 0) shape = shapeOf(src);
    const editing = fixes.filter((f) => f.ops.length > 0);
    // Each first-pass fix on its own, as text edits of the input (SARIF fixes, json-patch).
    if (pass === 0 && options.withEdits) for (const f of editing) f.edits = renderOps(src, f.ops);
    if (editing.length === 0) {
      const broken = pass > 0 ? validate(text, src, shape, json) : undefined;
      if (broken) return failed(input, broken);
      const applied = [...changes.values()];
      // Findings of the last pass sit in the hardened text: report them where the input has them.
      const located = findings.map((f) => {
        const first = firstSeen.get(place(f));
        return first && pass > 0 ? { ...f, line: first.line, col: first.col } : f;
      });
      return {
        output: text,
        changes: applied,
        remaining: located.filter((f) => !f.fixable && !f.suppressed),
        suppressed: located.filter((f) => f.suppressed),
        errors: [],
        kubernetes,
        compose,
        daemon: isDaemonFile(info.file ?? '') && src.docs.some((d) => daemonConfigOf(d) !== undefined),
        files: mergeFiles(applied.flatMap((f) => f.files)),
        documents: mergeDocs(applied.flatMap((f) => f.documents)),
        secrets: [...secrets].filter(Boolean).sort((a, b) => b.length - a.length),
      };
    }
    const next = applyEdits(text, renderOps(src, editing.flatMap((f) => f.ops))).text;
    if (next === text) return failed(input, 'a planned fix produced no change');
    text = next;
  }
  return failed(input, `hardening did not settle after ${MAX_PASSES} passes`);
}

/** Thrown inside `hardenStream` when a text needs the passes over the whole text. */
const WHOLE = Symbol('whole-text passes');

/** One document's text at one pass, parsed. */
interface Version {
  /** The document's part of the whole text: from its start (0 for the first) to the next one's. */
  text: string;
  /** Parsed, for planning and rendering; dropped once the next version exists. */
  src?: ParsedSource;
  doc?: Document.Parsed;
  /** Style facts, walked with the stream's JSON flag (they decide the stream's style). */
  raw: RawStyle;
  /** The document is JSON (a flow collection opening it). */
  jsonLike: boolean;
  /** Line breaks in `text`. */
  lines: number;
  /** Planned findings; lines are in the whole text of the first pass, local to `text` after it. */
  findings?: Finding[];
}

/** A document of the stream and its versions, pass by pass. */
interface StreamDoc {
  index: number;
  /** Where its text starts in the input. */
  start: number;
  versions: Version[];
  /** The pass that planned no edit (-1 until then): later passes would see the same text. */
  settled: number;
  /** Kind, API version and name of its objects in the input. */
  shape: string[];
  /** What its last version holds (set when it settles; the tree itself is dropped). */
  final?: Final;
  /** Its hardened text, handed to the worker thread for the re-check (src/verify.ts). */
  pending?: string;
}

/** What a settled document's last version holds. */
export interface Final {
  shape: string[];
  kubernetes: boolean;
  compose: boolean;
  /** The packed view of its plain value, for the run-wide transforms. */
  value?: unknown;
  /** Converting it to a plain value failed (alias limit): the run-wide step parses the text. */
  valueFailed?: boolean;
}

export type StyleFact = 'indent' | 'seq' | 'flowPadding';

/** What a document's style facts say of `fact` (undefined: it does not state it). */
export function factOf(raw: RawStyle, fact: StyleFact): unknown {
  return fact === 'indent' ? raw.indent || undefined : raw[fact];
}

/** A stream's style from its facts (each read when first needed), with the defaults. */
function streamStyleOf(json: boolean, fact: (fact: StyleFact) => unknown): SourceStyle {
  const seq = () => fact('seq') as RawStyle['seq'];
  return lazyStyle(json, {
    indent: () => (fact('indent') as number | undefined) ?? 2,
    indentlessSeq: () => seq()?.indentless ?? false,
    flowPadding: () => (fact('flowPadding') as boolean | undefined) ?? true,
    seqGap: () => seq()?.gap ?? 2,
  });
}

/**
 * The passes of `hardenWhole`, document by document. Documents do not see each other: the
 * findings, fixes and edits of one depend on its own text, except for style facts it does not
 * state itself, which the first document of the stream (at the same pass) that states them
 * decides. Each document is therefore taken through its passes on its own, looking ahead at
 * later documents (parsed on demand, to the same pass) only when one of those facts is missing
 * before it. Lines, the order of changes and secrets, and the findings of the last pass are put
 * together as the whole-text passes have them; the output is the documents' texts in order.
 *
 * Returns undefined for what it does not handle exactly (parse errors, CRLF, directives, `...`
 * ends, a document that does not settle or whose text an edit would leave unchanged, an edit
 * outside its document): `hardenWhole` then runs from the start.
 */
function hardenStream(input: string, options: HardenOptions, info: TextInfo): HardenResult | undefined {
  if (input.includes('\r') || /^%/m.test(input)) return undefined;
  const run = new StreamRun(input, options, info);
  try {
    return run.run();
  } catch (e) {
    if (e === WHOLE) return undefined;
    throw e;
  } finally {
    run.close();
  }
}

/** A settled document of a streamed run (`hardenTextStreamed`), handed out in stream order. */
export interface SettledDocument {
  index: number;
  /** Where its text starts and ends in the input. */
  start: number;
  end: number;
  /** Pass by pass: text, line breaks, findings (lines of pass 0 in the input, of later passes in the version's own text). */
  versions: readonly { text: string; lines: number; findings: readonly Finding[] }[];
  /** The pass it settled at: `versions[settled].text` is its hardened text. */
  settled: number;
  /** Kind, API version and name of its objects in the input. */
  shape: readonly string[];
  /** What its last version holds; `value` its packed plain value (`unpackValue`) when the run keeps values. */
  final: Final;
}

/**
 * Thrown by `hardenTextStreamed` where `hardenText` would give the text to the whole-text passes
 * (or fails the run): `start`..`end` is the document being hardened or read when it happened.
 */
export class StreamFallback extends Error {
  constructor(
    readonly start: number,
    readonly end: number,
    /** Why, when it is a failure of the hardened document rather than a case for the whole-text passes. */
    readonly failure?: string,
  ) {
    super(failure ?? 'the stream needs the whole-text passes');
  }
}

/**
 * `hardenText`'s document-by-document passes with each document handed to `take` as soon as it
 * and every document before it have settled; what `take` got is then dropped (ADR 007). The
 * caller puts the run's results together (src/stream.ts). Throws `StreamFallback` where
 * `hardenText` would not use those passes (surveys, CRLF, directives, parse errors, …), possibly
 * after some documents were handed out. Returns where the input's objects start.
 */
export function hardenTextStreamed(input: string, options: HardenOptions, info: TextInfo, take: (d: SettledDocument) => void): Map<string, Position> {
  if (info.file && isDaemonFile(info.file)) throw new StreamFallback(0, 0);
  if (input.includes('\r') || /^%/m.test(input)) throw new StreamFallback(0, 0);
  const surveys = surveysStreamed(input, options);
  const run = new StreamRun(input, surveys ? { ...options, surveys } : options, info, true);
  try {
    return run.runStreamed(take);
  } catch (e) {
    if (e === WHOLE) throw new StreamFallback(run.where.start, run.where.end);
    throw e;
  } finally {
    run.close();
  }
}

/** The largest hardened document handed to the worker thread (its heap is capped, src/verify.ts). */
const WORKER_MAX_TEXT = 512 * 1024;

/**
 * `surveysOf` read document by document, one tree at a time, for a streamed run: each survey's
 * reads of the documents combined with its `merge`. Throws `StreamFallback` where that cannot
 * give the same (a survey without `merge`, a document that does not parse: `hardenText` then
 * runs without surveys or the whole-text passes).
 */
function surveysStreamed(input: string, options: HardenOptions): Map<string, unknown> | undefined {
  const wanted = options.transforms.filter((t) => t.survey?.when.test(input));
  if (wanted.length === 0) return undefined;
  if (wanted.some((t) => !t.survey!.merge)) throw new StreamFallback(0, 0);
  const ctx = { level: options.level, flags: options.flags ?? {}, transforms: new Set(options.transforms.map((t) => t.id)) };
  const surveys = new Map(wanted.map((t) => [t.id, t.survey!.read([], ctx)]));
  for (const doc of new Composer(FAST_PARSE_OPTIONS).compose(new Parser().parse(input))) {
    if (doc.errors.length || hasDuplicateKeys(doc)) throw new StreamFallback(0, 0);
    if (!isKubernetesDoc(doc)) continue;
    const objects = objectsOf(doc);
    for (const t of wanted) surveys.set(t.id, t.survey!.merge!(surveys.get(t.id), t.survey!.read(objects, ctx)));
  }
  return surveys;
}

/** How many documents may wait (on the worker's re-check) behind the first unsettled one. */
const WINDOW = 64;

/** What is left of a document once a streamed run handed it out. */
const DROPPED: StreamDoc = Object.freeze({ index: -1, start: 0, versions: [], settled: 0, shape: [] }) as unknown as StreamDoc;

const FACTS: readonly StyleFact[] = ['indent', 'seq', 'flowPadding'];

class StreamRun {
  private readonly docs: StreamDoc[] = [];
  private readonly parsed: Iterator<Document.Parsed>;
  private readonly lines = new LineCounter();
  /** The next document of the input, already parsed (its start ends the previous one's text). */
  private ahead: Document.Parsed | undefined;
  private ended = false;
  private readonly json: boolean;
  private readonly file: string;
  /** Per pass and fact: the first document stating it, searched from `scan` on. */
  private readonly facts: Record<StyleFact, { scan: number; done: boolean; value: unknown }>[] = [];
  private readonly streamStyles: SourceStyle[] = [];
  /** Keep each document's plain value for the run-wide transforms (false after one failed). */
  private values: boolean;
  /** Where the input's objects start, for the run-wide transforms' findings. */
  private readonly positions = new Map<string, Position>();
  /** What of a document's value the run-wide transforms read. */
  private readonly view: (value: unknown) => unknown;
  /** Re-checks hardened Kubernetes documents on a worker thread, for large streams. */
  private readonly verifier: Verifier | undefined;
  /** The document being read or hardened (for `StreamFallback`). */
  where = { start: 0, end: 0 };

  constructor(
    private readonly input: string,
    private readonly options: HardenOptions,
    info: TextInfo,
    /** Documents are handed out as they settle (`runStreamed`): values are kept per document. */
    private readonly streamed = false,
  ) {
    this.json = info.json ?? false;
    this.file = info.file ?? '';
    this.values = options.transforms.some((t) => t.project);
    this.view = projectView(options.transforms);
    this.verifier = verifierFor(input, options, this.json, this.file);
    const parser = new Parser(this.lines.addNewLine);
    this.parsed = new Composer(FAST_PARSE_OPTIONS).compose(parser.parse(input))[Symbol.iterator]() as Iterator<Document.Parsed>;
  }

  run(): HardenResult {
    const { docs } = this;
    for (let i = 0; this.has(i); i++) {
      const d = docs[i];
      while (d.settled < 0 && d.pending === undefined) this.advance(d);
      // The worker's answers, taken as they come: unread, they pile up in its message queue.
      if (this.verifier && i % 16 === 15) for (const id of this.verifier.answered()) if (docs[id]?.pending !== undefined) this.advance(docs[id]);
    }
    // Documents handed to the worker: from the back, the main thread re-checks those it has not
    // reached yet, then takes its answers for the others.
    for (let i = docs.length - 1; i >= 0; i--) while (docs[i].settled < 0) this.advance(docs[i]);
    // Every document has settled: the worker is not needed for what follows.
    this.close();
    if (docs.length === 0) throw WHOLE;
    // A loop, not Math.max(...): one argument per document overflows the stack past ~120,000.
    let last = 0;
    for (const d of docs) if (d.settled > last) last = d.settled;
    // Line breaks before each document, at each pass.
    const before: number[][] = [];
    for (let k = 0; k <= last; k++) {
      let sum = 0;
      before.push(docs.map((d) => {
        const at = sum;
        sum += d.versions[Math.min(k, d.settled)].lines;
        return at;
      }));
    }
    for (const d of docs) {
      for (let k = 1; k <= d.settled; k++) for (const f of d.versions[k].findings!) f.line += before[k][d.index];
    }
    const finals = docs.map((d) => d.versions[d.settled]);
    const output = finals.map((v) => v.text).join('');
    const changes = new Map<string, Finding>();
    const secrets = new Set<string>();
    const firstSeen = new Map<string, Finding>();
    for (let k = 0; k <= last; k++) {
      for (const d of docs) {
        if (k > d.settled) continue;
        for (const f of d.versions[k].findings!) {
          for (const s of f.secrets) secrets.add(s);
          if (k === 0) firstSeen.set(place(f), f);
          if (f.fixable && !changes.has(identity(f))) changes.set(identity(f), f);
        }
      }
    }
    if (last > 0) {
      const after = docs.flatMap((d) => d.final!.shape);
      if (after.join('\n') !== docs.flatMap((d) => d.shape).join('\n')) return failed(this.input, 'hardening changed the documents or objects of the file');
      if (this.json) {
        try {
          JSON.parse(output.replace(/^\uFEFF/, ''));
        } catch (e) {
          return failed(this.input, `hardened output is not valid JSON (${(e as Error).message})`);
        }
      }
    }
    const kubernetes = docs.some((d) => d.final!.kubernetes);
    const compose = !kubernetes && docs.some((d) => d.final!.compose);
    // Findings of the last pass sit in the hardened text: report them where the input has them.
    const located = docs.flatMap((d) =>
      d.versions[d.settled].findings!.map((f) => {
        if (last === 0) return f;
        const first = firstSeen.get(place(f));
        if (first) return { ...f, line: first.line, col: first.col };
        return d.settled < last ? { ...f, line: f.line - before[d.settled][d.index] + before[last][d.index] } : f;
      }),
    );
    const applied = [...changes.values()];
    if (this.values && kubernetes) {
      VALUES.keep(output, docs.map((d) => d.final!.value), docs.length);
      POSITIONS.keep(this.input, this.positions, this.positions.size);
    }
    return {
      output,
      changes: applied,
      remaining: located.filter((f) => !f.fixable && !f.suppressed),
      suppressed: located.filter((f) => f.suppressed),
      errors: [],
      kubernetes,
      compose,
      files: mergeFiles(applied.flatMap((f) => f.files)),
      documents: mergeDocs(applied.flatMap((f) => f.documents)),
      secrets: [...secrets].filter(Boolean).sort((a, b) => b.length - a.length),
    };
  }

  /**
   * The passes of `run`, each document handed to `take` once it and every one before it have
   * settled, then dropped. Documents re-checked on the worker wait for it at most `WINDOW` deep.
   */
  runStreamed(take: (d: SettledDocument) => void): Map<string, Position> {
    const { docs } = this;
    let next = 0;
    const handOut = () => {
      while (next < docs.length && docs[next].settled >= 0) {
        const d = docs[next++];
        const text = d.versions[0].text;
        take({ index: d.index, start: d.start, end: d.start + text.length, versions: d.versions as SettledDocument['versions'], settled: d.settled, shape: d.shape, final: d.final! });
        this.drop(d);
        // The findings that share these copies are mostly dropped: messages that name their
        // objects (one per object) would otherwise be kept to the table's limit (~25 MB).
        if (MESSAGES.size > 20_000) MESSAGES.clear();
      }
    };
    for (let i = 0; this.has(i); i++) {
      const d = docs[i];
      while (d.settled < 0 && d.pending === undefined) this.advance(d);
      if (this.verifier && i % 16 === 15) for (const id of this.verifier.answered()) if (docs[id]?.pending !== undefined) this.advance(docs[id]);
      handOut();
      while (next < docs.length && i - next >= WINDOW) {
        while (docs[next].settled < 0) this.advance(docs[next]);
        handOut();
      }
    }
    for (let i = next; i < docs.length; i++) while (docs[i].settled < 0) this.advance(docs[i]);
    if (docs.length === 0) throw WHOLE;
    handOut();
    this.close();
    return this.positions;
  }

  /**
   * Forgets a document that was handed out. The style facts of every pass are first moved past
   * it (a later document looks them up from the first document on).
   */
  private drop(d: StreamDoc): void {
    for (let k = 0; k < MAX_PASSES; k++) {
      const facts = this.factsAt(k);
      for (const name of FACTS) {
        const f = facts[name];
        if (f.done || f.scan !== d.index) continue;
        const value = factOf(d.versions[Math.min(k, d.settled)].raw, name);
        if (value !== undefined) {
          f.done = true;
          f.value = value;
        } else f.scan++;
      }
    }
    this.docs[d.index] = DROPPED;
  }

  /** Makes document `i` available, parsing the input up to the start of the one after it. */
  private has(i: number): boolean {
    while (this.docs.length <= i) {
      if (this.ended && !this.ahead) return false;
      const doc = this.ahead ?? this.pull();
      if (!doc) return false;
      this.ahead = this.pull();
      const index = this.docs.length;
      const start = index === 0 ? 0 : doc.range[0];
      const end = this.ahead ? this.ahead.range[0] : this.input.length;
      this.where = { start, end };
      // Every document after the first starts with its own `---` line.
      if (index > 0 && (this.input[start - 1] !== '\n' || !this.input.startsWith('---', start))) throw WHOLE;
      const text = this.input.slice(start, end);
      if (this.values) addObjectPositions(this.positions, doc.contents as Node, this.lines);
      const d: StreamDoc = { index, start, versions: [], settled: -1, shape: isKubernetesDoc(doc) ? objectsOf(doc).map(shapeKey) : ['-'] };
      this.docs.push(d);
      d.versions.push(this.version(d, 0, text, doc, this.lines, this.input));
    }
    return true;
  }

  private pull(): Document.Parsed | undefined {
    if (this.ended) return undefined;
    const next = this.parsed.next();
    if (next.done) {
      this.ended = true;
      return undefined;
    }
    // Errors, and duplicate keys (not checked by this parse), are for the whole-text passes.
    if (next.value.errors.length || hasDuplicateKeys(next.value)) {
      this.where = { start: next.value.range[0], end: next.value.range[2] };
      throw WHOLE;
    }
    return next.value;
  }

  /** A version of document `d` at pass `k`; `whole` is the text its node ranges refer to. */
  private version(d: StreamDoc, k: number, text: string, doc: Document.Parsed, lines: LineCounter, whole: string): Version {
    return versionOf(d.index, text, doc, lines, whole, this.json, () => this.streamStyle(k));
  }

  /** Ends the worker's session (once every document has settled, or when the run gives up). */
  close(): void {
    this.verifier?.close();
  }

  /** Plans document `d` at its current pass; applies the edits and parses the result. */
  private advance(d: StreamDoc): void {
    // Left set when it throws: the document that needs the whole-text passes.
    const outer = this.where;
    this.where = { start: d.start, end: d.start + d.versions[0].text.length };
    this.step(d);
    this.where = outer;
  }

  private step(d: StreamDoc): void {
    if (d.pending !== undefined) return this.resolve(d);
    const k = d.versions.length - 1;
    const v = d.versions[k];
    const src = v.src!;
    const findings = (v.findings = planFindings(src, k > 0 ? withPending(this.options, d.versions.slice(0, k).flatMap((e) => e.findings!.filter((f) => f.fixable))) : this.options, this.file));
    const editing = findings.filter((f) => f.fixable && f.ops.length > 0);
    if (editing.length === 0) {
      // The worker reads the style facts of the documents before the ones it takes.
      if (k === 0) this.verifier?.note(d.index, v.raw);
      this.settle(d, k, finalOf(v.doc!, this.values, this.view));
      v.src = undefined;
      v.doc = undefined;
      return;
    }
    if (k + 1 >= MAX_PASSES) throw WHOLE;
    if (k === 0 && this.options.withEdits) for (const f of editing) f.edits = renderOps(src, f.ops);
    const next = nextText(d.index, v, src, editing, k === 0 ? d.start : 0);
    const kubernetes = isKubernetesDoc(v.doc!);
    v.src = undefined;
    v.doc = undefined;
    // The re-check of a hardened Kubernetes document can run on the worker meanwhile.
    // Not a large one: the worker's heap is kept small (src/verify.ts), and holds one document.
    if (k === 0 && kubernetes && next.length <= WORKER_MAX_TEXT && this.verifier?.post(d.index, v.raw, next, this.values)) {
      d.pending = next;
      return;
    }
    if (k === 0) this.verifier?.note(d.index, null);
    this.reparse(d, k + 1, next);
  }

  /** Parses document `d`'s text for pass `k`. */
  private reparse(d: StreamDoc, k: number, text: string): void {
    const lines = new LineCounter();
    const parsed = parseDocuments(text, lines);
    if (parsed.length !== 1 || parsed[0].errors.length) throw WHOLE;
    d.versions.push(this.version(d, k, text, parsed[0], lines, text));
  }

  /** A settled document: what its last version holds, and whether the run still keeps values. */
  private settle(d: StreamDoc, k: number, final: Final): void {
    // Kubernetes texts go to the run-wide transforms; a Compose document makes a text Compose
    // unless another is Kubernetes (then the run-wide step parses the text itself).
    // A streamed run keeps them per document (the caller skips a failed one).
    if (!this.streamed) {
      if (this.values && !final.kubernetes && final.compose) this.values = false;
      if (final.valueFailed) this.values = false;
      delete final.valueFailed;
    }
    d.final = final;
    d.settled = k;
  }

  /** Document `d`'s passes after the first: the worker's, or the main thread's own. */
  private resolve(d: StreamDoc): void {
    const text = d.pending!;
    d.pending = undefined;
    const answer: VerifyOutcome = this.verifier!.take(d.index);
    if (answer.status === 'whole') throw WHOLE;
    if (answer.status === 'main') return this.reparse(d, 1, text);
    const exemptions = this.options.exemptions ?? [];
    for (const i of answer.used) exemptions[i].used = true;
    const refs = new Set<ObjectRef>();
    for (const v of answer.versions) {
      for (const f of v.findings) adopt(f, refs);
      d.versions.push({ text: v.text ?? text, raw: v.raw, jsonLike: v.jsonLike, lines: v.lines, findings: v.findings });
    }
    this.settle(d, d.versions.length - 1, answer.final);
  }

  /** Document `i` taken to pass `k` (or to the pass it settled at). */
  private at(i: number, k: number): Version {
    const d = this.docs[i];
    while (d.settled < 0 && d.versions.length - 1 < k) this.advance(d);
    return d.versions[d.settled < 0 ? k : Math.min(k, d.settled)];
  }

  /** The value of a style fact at pass `k`: stated by the first document that states it. */
  private fact(k: number, fact: StyleFact): unknown {
    const f = this.factsAt(k)[fact];
    while (!f.done) {
      if (!this.has(f.scan)) {
        f.done = true;
        break;
      }
      const value = factOf(this.at(f.scan, k).raw, fact);
      if (value !== undefined) {
        f.done = true;
        f.value = value;
      } else f.scan++;
    }
    return f.value;
  }

  private factsAt(k: number): Record<StyleFact, { scan: number; done: boolean; value: unknown }> {
    return (this.facts[k] ??= {
      indent: { scan: 0, done: false, value: undefined },
      seq: { scan: 0, done: false, value: undefined },
      flowPadding: { scan: 0, done: false, value: undefined },
    });
  }

  /** The stream's style at pass `k`, each fact looked up when first read. */
  streamStyle(k: number): SourceStyle {
    return (this.streamStyles[k] ??= streamStyleOf(this.json, (fact) => this.fact(k, fact)));
  }

}

/**
 * Version `text` of the stream's document `index` (`doc` parsed from `whole`, the text its node
 * ranges refer to), with the stream's style at its pass for the facts it does not state itself.
 */
function versionOf(index: number, text: string, doc: Document.Parsed, lines: LineCounter, whole: string, json: boolean, streamStyle: () => SourceStyle): Version {
  const jsonLike = isJsonLike(whole, doc);
  // Outside a JSON file, the first document decides that the stream is not JSON.
  if (!json && index === 0 && jsonLike) throw WHOLE;
  const raw = rawStyleOf(whole, doc, json);
  const v: Version = { text, doc, raw, jsonLike, lines: countLines(text) };
  const own = jsonLike && !json ? rawStyleOf(whole, doc, true) : raw;
  let docStyle: SourceStyle | undefined;
  const style = () => (docStyle ??= ownStyle(own, json || jsonLike, streamStyle));
  v.src = {
    text: whole,
    docs: [doc],
    lines,
    get style() {
      return streamStyle();
    },
    errors: [],
    styleAt: (offset) => (offset >= doc.range[0] && offset <= doc.range[2] ? style() : streamStyle()),
  };
  return v;
}

/** A document's style: its own facts, the stream's for those it does not state. */
function ownStyle(own: RawStyle, json: boolean, stream: () => SourceStyle): SourceStyle {
  return lazyStyle(json, {
    indent: () => own.indent || stream().indent,
    indentlessSeq: () => (own.seq ? own.seq.indentless : stream().indentlessSeq),
    flowPadding: () => own.flowPadding ?? stream().flowPadding,
    seqGap: () => own.seq?.gap ?? stream().seqGap,
  });
}

/**
 * The text of version `v` of the stream's document `index` with the edits of `editing`
 * applied (`base`: where `v`'s text starts in the text `src`'s ranges refer to). Spends the plan.
 */
function nextText(index: number, v: Version, src: ParsedSource, editing: Finding[], base: number): string {
  const edits = renderOps(src, editing.flatMap((f) => f.ops)).map((e) => {
    if (e.start < base || e.end > base + v.text.length) throw WHOLE;
    return base ? { ...e, start: e.start - base, end: e.end - base } : e;
  });
  const next = applyEdits(v.text, edits).text;
  if (next === v.text || next.includes('\r')) throw WHOLE;
  if (index > 0 && !next.startsWith('---')) throw WHOLE;
  // The plan is spent: its nodes (and the tree they hold) can go.
  for (const f of editing) f.ops = NONE;
  return next;
}

/**
 * What the run-wide transforms need of a hardened text, kept from its hardening until they take
 * it: the plain values of the output's documents (converting the trees at hand is cheaper than
 * parsing the output again) and where the input's objects start (for their findings). By text;
 * bounded: what falls out is parsed again when asked for.
 */
class Handoff<T> {
  private readonly kept = new Map<string, { value: T; size: number }>();
  private held = 0;
  constructor(private readonly limit: number) {}

  keep(text: string, value: T, size: number): void {
    this.take(text);
    this.kept.set(text, { value, size });
    this.held += size;
    for (const [key, entry] of this.kept) {
      if (this.held <= this.limit) break;
      this.kept.delete(key);
      this.held -= entry.size;
    }
  }

  take(text: string): T | undefined {
    const entry = this.kept.get(text);
    if (!entry) return undefined;
    this.kept.delete(text);
    this.held -= entry.size;
    return entry.value;
  }
}

const VALUES = new Handoff<unknown[]>(200_000);
const POSITIONS = new Handoff<Map<string, Position>>(200_000);

/** Thrown where a document's passes need a stream style fact that only the main thread knows. */
export const STREAM_STYLE = Symbol('stream style');

/**
 * The passes after the first of the stream's document `index`, from its hardened text on, as
 * `StreamRun` takes it through them, for the worker thread of src/verify.ts: `settled` with
 * every version when a pass plans no edit; `whole` where `StreamRun` gives the text to the
 * whole-text passes; `main` where the stream's style is needed (the main thread knows it).
 */
export function verifyDocument(
  text: string,
  index: number,
  options: HardenOptions,
  json: boolean,
  file: string,
  values: boolean,
  /** The value of a stream style fact at pass `k` (`own`: the document's facts at that pass), or throws STREAM_STYLE. */
  streamFact: (k: number, fact: StyleFact, own: RawStyle) => unknown,
): Checked {
  const versions: Extract<Checked, { status: 'settled' }>['versions'] = [];
  try {
    for (let k = 1; ; k++) {
      const lines = new LineCounter();
      const parsed = parseDocuments(text, lines);
      if (parsed.length !== 1 || parsed[0].errors.length) return { status: 'whole' };
      const doc = parsed[0];
      let style: SourceStyle | undefined;
      const v: Version = versionOf(index, text, doc, lines, text, json, () => (style ??= streamStyleOf(json, (fact) => streamFact(k, fact, v.raw))));
      const findings = planFindings(v.src!, options, file);
      versions.push({ text: k === 1 ? undefined : text, raw: v.raw, jsonLike: v.jsonLike, lines: v.lines, findings });
      const editing = findings.filter((f) => f.fixable && f.ops.length > 0);
      if (editing.length === 0) return { status: 'settled', versions, final: finalOf(doc, values, projectView(options.transforms)) };
      if (k + 1 >= MAX_PASSES) return { status: 'whole' };
      text = nextText(index, v, v.src!, editing, 0);
    }
  } catch (e) {
    if (e === WHOLE) return { status: 'whole' };
    if (e === STREAM_STYLE) return { status: 'main' };
    throw e;
  }
}

type Checked = Exclude<VerifyOutcome, { status: 'settled' }> | Omit<Extract<VerifyOutcome, { status: 'settled' }>, 'used'>;

/** What a settled document holds; its packed value when the run keeps values. */
function finalOf(doc: Document.Parsed, values: boolean, view: (value: unknown) => unknown): Final {
  const kubernetes = isKubernetesDoc(doc);
  const final: Final = { shape: kubernetes ? objectsOf(doc).map(shapeKey) : ['-'], kubernetes, compose: isComposeDoc(doc) };
  if (values && (kubernetes || !final.compose)) {
    try {
      final.value = packValue(view(doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })));
    } catch {
      final.valueFailed = true;
    }
  }
  return final;
}

/**
 * A finding that came from the worker thread: shared empty lists and one copy of each repeated
 * text, as findings made here have (a copy per finding would cost ~10 MB at 10,000 documents).
 */
function adopt(f: Finding, refs: Set<ObjectRef>): void {
  f.message = intern(MESSAGES, f.message, 200_000);
  f.field = intern(FIELDS, f.field);
  f.transform = intern(WORDS, f.transform);
  f.owasp = intern(WORDS, f.owasp);
  f.severity = intern(WORDS, f.severity) as Finding['severity'];
  if (f.reason !== undefined) f.reason = intern(MESSAGES, f.reason, 200_000);
  if (f.object && !refs.has(f.object)) {
    const o = f.object;
    o.kind = intern(WORDS, o.kind);
    if (o.apiVersion !== undefined) o.apiVersion = intern(WORDS, o.apiVersion);
    if (o.namespace !== undefined) o.namespace = intern(WORDS, o.namespace);
    refs.add(o);
  }
  if (f.ops.length === 0) f.ops = NONE;
  if (f.files.length === 0) f.files = NONE;
  if (f.documents.length === 0) f.documents = NONE;
  if (f.secrets.length === 0) f.secrets = NONE;
}

/**
 * The plain value (`doc.toJS({maxAliasCount})`) of every document of `text`, when `text` is
 * the output of a recent `hardenText` that kept them; undefined otherwise. Given out once.
 */
export function takeDocumentValues(text: string): unknown[] | undefined {
  return VALUES.take(text)?.map(unpackValue);
}

/**
 * What the run keeps of a document's plain value for the run-wide step: the `view` of its one
 * run-wide transform, per object (and per item of a `List`); the whole value otherwise.
 */
function projectView(transforms: readonly Transform[]): (value: unknown) => unknown {
  const project = transforms.filter((t) => t.project);
  const view = project.length === 1 ? project[0].view : undefined;
  if (!view) return (value) => value;
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  const one = (v: unknown) => (isObject(v) && 'kind' in v ? view(v) : v);
  return (value) => {
    const items = isObject(value) ? listItems(value) : undefined;
    if (items) {
      const list = value as Record<string, unknown>;
      return { ...(list.apiVersion !== undefined ? { apiVersion: list.apiVersion } : {}), kind: list.kind, items: items.map(one) };
    }
    return one(value);
  };
}

/** A plain value kept as it is, because JSON would not give it back the same. */
class Unpacked {
  constructor(readonly value: unknown) {}
}

/**
 * A document's plain value in a quarter of the memory, as JSON text, when JSON gives back an
 * equal value: only strings, finite numbers (not -0), booleans, null, arrays and plain objects,
 * no `__proto__` key, and no object reached twice (aliases share objects; JSON would copy them).
 */
function packValue(value: unknown): string | Unpacked {
  const seen = new Set<object>();
  const safe = (v: unknown): boolean => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
    if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
    if (typeof v !== 'object' || seen.has(v)) return false;
    seen.add(v);
    if (Array.isArray(v)) return v.every(safe);
    if (Object.getPrototypeOf(v) !== Object.prototype) return false;
    for (const key of Object.keys(v)) if (key === '__proto__' || !safe((v as Record<string, unknown>)[key])) return false;
    return Object.getOwnPropertySymbols(v).length === 0;
  };
  return safe(value) ? JSON.stringify(value) : new Unpacked(value);
}

export function unpackValue(packed: unknown): unknown {
  return packed instanceof Unpacked ? packed.value : JSON.parse(packed as string);
}

/**
 * Where each object of `text` starts (`addObjectPositions` over its documents), when `text` is
 * the input of a recent `hardenText` that kept it; undefined otherwise. Given out once.
 */
export function takeInputPositions(text: string): Map<string, Position> | undefined {
  return POSITIONS.take(text);
}

/** A style whose facts are computed when first read (a fact may need documents further on). */
function lazyStyle(json: boolean, facts: { [K in 'indent' | 'indentlessSeq' | 'flowPadding' | 'seqGap']: () => SourceStyle[K] }): SourceStyle {
  const style = { eol: '\n', json } as SourceStyle;
  for (const [name, get] of Object.entries(facts)) {
    Object.defineProperty(style, name, {
      configurable: true,
      enumerable: true,
      get() {
        const value = get();
        Object.defineProperty(style, name, { value, enumerable: true, writable: false });
        return value;
      },
    });
  }
  return style;
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function shapeKey(o: K8sObject): string {
  return `${o.apiVersion}/${o.kind}/${o.namespace ?? ''}/${o.name ?? ''}`;
}

/** Kind, API version and name of every object, in order: hardening must not change them. */
function shapeOf(src: ParsedSource): string[] {
  return src.docs.flatMap((doc) => (isKubernetesDoc(doc) ? objectsOf(doc).map(shapeKey) : ['-']));
}

/** Why a hardened text is unfit to write, or undefined when it is fine. */
function validate(text: string, src: ParsedSource, before: string[], json: boolean): string | undefined {
  const after = shapeOf(src);
  if (after.join('\n') !== before.join('\n')) return 'hardening changed the documents or objects of the file';
  if (json) {
    try {
      JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (e) {
      return `hardened output is not valid JSON (${(e as Error).message})`;
    }
  }
  return undefined;
}

const EMPTY: HardenResult = { output: '', changes: [], remaining: [], errors: [], kubernetes: false, compose: false, files: [], documents: [], secrets: [], suppressed: [] };

function failed(input: string, failure: string): HardenResult {
  return { ...EMPTY, output: input, failure, kubernetes: true };
}

/** Where a finding is, independent of its wording: transform, object and field. */
export function place(f: Finding): string {
  return `${f.transform}\u0000${f.object?.kind}/${f.object?.namespace}/${f.object?.name}\u0000${f.field}`;
}

export function identity(f: Finding): string {
  return `${f.transform}\u0000${f.object?.kind}/${f.object?.namespace}/${f.object?.name}\u0000${f.field}\u0000${f.message}`;
}

/** Runs every transform over every object of a parsed text and collects its findings. */
export function planFindings(src: ParsedSource, options: HardenOptions, file = ''): Finding[] {
  const findings: Finding[] = [];
  for (const doc of src.docs) {
    const daemon = isDaemonFile(file) ? daemonConfigOf(doc) : undefined;
    if (daemon) {
      const active = fileExemptions(options.exemptions ?? [], file);
      const ref = { kind: 'daemon.json' };
      const from = findings.length;
      for (const t of options.transforms) if (t.daemon) t.daemon(daemon, contextFor(src, options, t, ref, daemon.node, findings, file, active, from));
      continue;
    }
    if (isComposeDoc(doc) && !isKubernetesDoc(doc)) {
      const base = baseServiceNames(file, (name) => options.sibling?.(name)?.text);
      const services = servicesOf(doc, file, options.readBuildFile, options.settings.images, base, () => dotenvBeside(options.sibling));
      for (const transform of options.transforms) {
        if (!transform.composeFile || services.length === 0) continue;
        const ctx = contextFor(src, options, transform, { kind: 'compose-file' }, doc.contents as Node, findings, file);
        transform.composeFile(services, ctx);
      }
      for (const svc of services) {
        const { active, invalid } = composeExemptions(svc, options.exemptions ?? [], file);
        const ref = { kind: 'service', name: svc.name };
        const own: Finding[] = [];
        for (const transform of options.transforms) {
          if (!transform.service) continue;
          const ctx = contextFor(src, options, transform, ref, svc.node, own, file, active, 0);
          transform.service(svc, ctx);
        }
        for (const t of options.transforms) if (t.composeFile) exemptionFor(active, t.id);
        own.push(...exemptionFindings(src, active, invalid, ref, svc.node));
        // An override file only adds to its base file, which carries the additions: here
        // only what weakens the base (privileged, root, unconfined…) is reported and fixed.
        findings.push(...(svc.override ? own.filter((f) => f.behaviorChanging || f.ops.length === 0) : own));
      }
      continue;
    }
    if (!isKubernetesDoc(doc)) continue;
    for (const object of objectsOf(doc)) {
      const pod = podTemplateOf(object);
      const malformed = pod && malformedPod(pod);
      if (malformed) throw new InputError(malformed.message, src.lines.linePos(malformed.offset).line, src.lines.linePos(malformed.offset).col);
      const { active, invalid } = kubernetesExemptions(object, pod, options.exemptions ?? [], file);
      // One reference for all the object's findings (a large run holds ~100,000 of them).
      const ref = refOf(object);
      const from = findings.length;
      for (const transform of options.transforms) {
        const ctx = contextFor(src, options, transform, ref, object.node, findings, file, active, from);
        transform.object?.(object, ctx);
        if (pod && transform.pod) transform.pod(pod, ctx);
      }
      for (const t of options.transforms) if (t.project && pod) exemptionFor(active, t.id);
      findings.push(...exemptionFindings(src, active, invalid, ref, object.node));
    }
  }
  return findings;
}

/** Findings about exemptions themselves: written without a reason, or exempting nothing. */
function exemptionFindings(src: ParsedSource, active: ActiveExemption[], invalid: InvalidExemption[], object: ObjectRef, fallback: Node): Finding[] {
  const make = (at: Node | undefined, message: string, severity: Finding['severity']): Finding => {
    const { line, col } = src.lines.linePos(at?.range?.[0] ?? fallback.range?.[0] ?? 0);
    return {
      transform: 'exemptions', owasp: '—', severity, message, field: '', object, line, col,
      behaviorChanging: false, fixable: false, reason: 'report only: a person has to decide',
      ops: NONE, files: NONE, documents: NONE, secrets: NONE,
    };
  };
  return [
    ...invalid.map((i) => make(i.at, i.message, 'medium')),
    ...active.filter((e) => !e.used && !e.origin).map((e) => make(e.at, `exemption (${e.source}) of ${[...e.skip].join(', ')} exempts nothing: ${e.reason}`, 'low')),
  ];
}

/**
 * The empty list of every finding without ops, files, documents or secrets: one shared, frozen
 * array instead of four new ones per finding.
 */
const NONE: never[] = Object.freeze([]) as unknown as never[];

/**
 * Field paths and messages repeat from object to object (`the pod sets no seccomp profile`):
 * findings share one copy of each. A message built from pieces is a chain of V8 cons strings
 * (~5 per message, ~20 MB at 10,000 documents); the table keeps a flat copy.
 */
const FIELDS = new Map<string, string>();
/** Transform ids, OWASP rules, severities, kinds, API versions and namespaces. */
const WORDS = new Map<string, string>();
const MESSAGES = new Map<string, string>();

function intern(table: Map<string, string>, text: string, limit = 50_000): string {
  const known = table.get(text);
  if (known !== undefined) return known;
  if (table.size >= limit) return text;
  // A flat copy: V8 keeps a cons string a chain even once hashed (JSON gives a sequential string).
  const flat = JSON.parse(JSON.stringify(text)) as string;
  table.set(flat, flat);
  return flat;
}

function refOf(object: K8sObject): ObjectRef {
  return { kind: object.kind, name: object.name, namespace: object.namespace, apiVersion: object.apiVersion };
}

function contextFor(
  src: ParsedSource,
  options: HardenOptions,
  transform: Transform,
  object: ObjectRef,
  fallback: Node,
  sink: Finding[],
  file: string,
  exemptions: readonly ActiveExemption[] = [],
  /** Where the findings of the same object or service start in `sink`. */
  from = sink.length,
): TransformContext {
  return {
    level: options.level,
    settings: options.settings,
    flags: options.flags ?? {},
    hasFolder: options.hasFolder ?? false,
    sibling: (path) => options.sibling?.(path),
    configFiles: (path) => pendingFile(options, path) ?? options.configFiles?.(path) ?? [],
    file,
    fixes(field: string): boolean {
      for (let i = sink.length - 1; i >= from; i--) if (sink[i].field === field && sink[i].ops.length > 0) return true;
      return false;
    },
    survey: options.surveys?.get(transform.id),
    report(report: Report) {
      const offset = report.at?.range?.[0] ?? fallback.range?.[0] ?? 0;
      const { line, col } = src.lines.linePos(offset);
      let ops: Op[] = [];
      let files: SideFile[] = [];
      let documents: GeneratedDoc[] = [];
      let reason: string | undefined;
      const behaviorChanging = report.behaviorChanging ?? false;
      const exempt = exemptionFor(exemptions, transform.id);
      if (exempt) {
        reason = `exempted: ${exempt.reason}`;
      } else if (report.fix) {
        const fix = new Fix({ guardMergeKeys: object.kind !== 'service' && object.kind !== 'compose-file' });
        report.fix(fix);
        ops = fix.ops;
        files = fix.files;
        documents = fix.documents;
        if (fix.refusals.length) reason = fix.refusals.join('; ');
        else if (behaviorChanging && options.level === 'baseline')
          reason = 'the baseline level never overrides or removes what the file says';
        else if (ops.length === 0 && documents.length === 0) reason = 'nothing to edit';
      } else {
        reason = 'report only: a person has to decide';
      }
      sink.push({
        transform: transform.id,
        owasp: transform.owasp,
        severity: report.severity ?? transform.severity,
        message: intern(MESSAGES, report.message, 200_000),
        field: intern(FIELDS, report.field),
        object: report.object ?? object,
        line,
        col,
        behaviorChanging,
        fixable: reason === undefined,
        reason,
        ops: reason === undefined && ops.length ? ops : NONE,
        files: reason === undefined && files.length ? files : NONE,
        documents: reason === undefined && documents.length ? documents : NONE,
        secrets: report.secrets?.length ? report.secrets : NONE,
        ...(exempt ? { suppressed: `${exempt.reason} (${exempt.source})` } : {}),
      });
    },
  };
}
