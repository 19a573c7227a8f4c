import type { Node } from 'yaml';
import type { Fix, GeneratedDoc, Op, SideFile, TextEdit } from './engine/index.js';
import type { PodTemplate, K8sObject } from './kubernetes/model.js';
import type { ComposeService } from './compose/model.js';
import type { Flags, Level, Settings } from './settings.js';
import type { Dockerfile } from './dockerfile/model.js';
import type { DaemonConfig } from './daemon/model.js';
import type { TreeFile } from './tree-files.js';

/** Input that cuirass must not harden (the consumer rejects it): reported at its position, the file untouched. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(message);
  }
}

/** How bad an unfixed finding is. */
export type Severity = 'low' | 'medium' | 'high' | 'critical';

export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

/** What a transform tells the pipeline about one place in a document. */
export interface Report {
  /** The node the finding is about; its position is reported. */
  at: Node | null | undefined;
  /** Dotted path of the field, stable across runs (`spec.containers[0].securityContext`). */
  field: string;
  message: string;
  severity?: Severity;
  /** The fix overrides or removes something the file says explicitly. */
  behaviorChanging?: boolean;
  /** Plans the fix; omit for report-only findings. */
  fix?: (fix: Fix) => void;
  /** Secret values this finding is about: they are redacted wherever output could show them. */
  secrets?: string[];
  /**
   * The scalars that hold those values: diffs and patches show `<redacted>` at their positions
   * (after `prefix`, the `NAME=` of a list entry), and nowhere else.
   */
  redact?: SecretScalar[];
  /** The object the finding is about, when the hook covers several (a whole Compose file). */
  object?: ObjectRef;
}

/** A scalar whose source text is a secret value, after `prefix` when it starts with it. */
export interface SecretScalar {
  node: Node;
  prefix?: string;
}

/** A finding as the pipeline records it. */
export interface Finding {
  transform: string;
  owasp: string;
  severity: Severity;
  message: string;
  field: string;
  object?: ObjectRef;
  line: number;
  col: number;
  behaviorChanging: boolean;
  /** A fix exists and the level and options allow it. */
  fixable: boolean;
  /** Why no fix is applied, when one is not. */
  reason?: string;
  ops: Op[];
  /** Files the fix creates next to the input. */
  files: SideFile[];
  /** Documents the fix adds. */
  documents: GeneratedDoc[];
  /** Secret values to redact. */
  secrets: string[];
  /** Set when an exemption suppresses the finding: its reason and where it is written. */
  suppressed?: string;
  /** The fix alone as text edits of the input (only when asked for). */
  edits?: TextEdit[];
}

/** Identifies a Kubernetes object (or Compose service) in reports. */
export interface ObjectRef {
  kind: string;
  name?: string;
  namespace?: string;
  apiVersion?: string;
}

/** A file that already exists next to an input. */
export interface SiblingFile {
  text: string;
  /** git ignores it (git's answer: false for a tracked file), or outside a repository a .gitignore does. */
  ignored: boolean;
  /** git tracks it (it is committed): no secret may go there. */
  tracked?: boolean;
  /** Why cuirass will not read or write it (a symlink, a FIFO, bytes that are not UTF-8); `text` is then ''. */
  refused?: string;
}

/** What a transform receives besides the model. */
export interface TransformContext {
  level: Level;
  settings: Settings;
  flags: Flags;
  /** The input has a folder to put generated files in (not stdin). */
  hasFolder: boolean;
  /**
   * A file next to the input (path relative to its folder): its text and whether git ignores
   * it, or undefined when it does not exist (always for stdin). Read-only.
   */
  sibling(path: string): SiblingFile | undefined;
  /**
   * Config files a service bind-mounts (`./nginx.conf`, the files of `./conf.d`), read only
   * inside the input's folder (see src/tree-files.ts); none for stdin. Read-only.
   */
  configFiles(path: string): TreeFile[];
  /** File name of the input ('' for stdin), for naming generated files. */
  file: string;
  /**
   * True when a transform before this one (table order) has planned, in this pass, an edit of
   * `field` of the same object or service: fixable, not exempted, allowed at the level. A
   * transform that a setting blocks can then plan its edit in the same pass as the removal.
   */
  fixes(field: string): boolean;
  /** What this transform's `survey` read of the whole text (undefined without one). */
  survey?: unknown;
  report(report: Report): void;
}

/** What a survey receives: the run's level and flags, and the ids of the transforms that run. */
export interface SurveyContext {
  level: Level;
  flags: Flags;
  transforms: ReadonlySet<string>;
}

/**
 * A hardening transform: one module in `transforms/`, identity first, then the checks.
 * A transform plans findings and fixes through `report`; it never edits text itself.
 */
export interface Transform {
  id: string;
  /** OWASP Docker Security Cheat Sheet rule(s), e.g. "3" or "3, 5"; "—" for none. */
  owasp: string;
  title: string;
  /** Why it matters: the risk the transform removes, shown by `explain` and in SARIF help. */
  why: string;
  /** What it changes in each format (absent: the format has nothing to change). */
  changes: { kubernetes?: string; compose?: string; daemon?: string; dockerfile?: string };
  /** What the change may break, shown by `explain` and in reports. */
  breaks: string;
  /** Severity of its findings unless a report says otherwise. */
  severity: Severity;
  /** Runs once per pod template of a Kubernetes workload. */
  pod?(pod: PodTemplate, ctx: TransformContext): void;
  /** Runs once per Kubernetes object (workload or not). */
  object?(object: K8sObject, ctx: TransformContext): void;
  /** Runs once per Compose service. */
  service?(service: ComposeService, ctx: TransformContext): void;
  /** Runs once per Compose file, over all its services. */
  composeFile?(services: ComposeService[], ctx: TransformContext): void;
  /** Runs once per Docker daemon configuration (`daemon.json`). */
  daemon?(config: DaemonConfig, ctx: TransformContext): void;
  /** Runs once per Dockerfile. */
  dockerfile?(file: Dockerfile, ctx: DockerfileContext): void;
  /**
   * Reads the Kubernetes objects of a whole text once, before its passes, when the text matches
   * `when`: facts an `object` hook needs from other documents of the same file or stream (which
   * level the pods of each namespace meet). Its result is the context's `survey`. `merge` (when
   * given) combines the reads of two consecutive parts of a stream into the read of both, so a
   * streamed `cuirass -` reads document by document without keeping every tree (ADR 007).
   */
  survey?: { when: RegExp; read(objects: readonly K8sObject[], ctx: SurveyContext): unknown; merge?(first: unknown, then: unknown): unknown };
  /** Runs once over every Kubernetes object of the run (all files, or the stdin stream). */
  project?(objects: readonly ProjectObject[], ctx: ProjectContext): ProjectResult;
  /**
   * The part of an object `project` reads (same paths, fewer fields): what the run keeps of each
   * hardened object until the run-wide step, instead of the whole object. `project` must accept
   * whole objects too.
   */
  view?(object: Record<string, unknown>): Record<string, unknown>;
}

/** A Kubernetes object as a plain value, with the file and folder it came from. */
export interface ProjectObject {
  object: Record<string, unknown>;
  /** Display path of its file ('<stdin>' for the stream). */
  file: string;
  /** Folder generated documents for it go to ('' for the stream). */
  dir: string;
}

/** What a project-level transform receives. */
export interface ProjectContext {
  level: Level;
  settings: Settings;
  flags: Flags;
}

/** Documents a project-level transform generates, and what it reports. */
export interface ProjectResult {
  documents: { dir: string; object: Record<string, unknown> }[];
  findings: { file: string; object: ObjectRef; message: string; severity: Severity }[];
}

/** A finding about a Dockerfile: an offset of its text, and its fix as text edits. */
export interface DockerfileReport {
  /** Offset of the text the finding is about. */
  at: number;
  field: string;
  message: string;
  severity?: Severity;
  behaviorChanging?: boolean;
  /** The fix; omit for report-only findings. */
  edits?: TextEdit[];
  /** Why there is no fix, when one was considered and refused. */
  refusal?: string;
}

/** What a transform's `dockerfile` hook receives besides the file. */
export interface DockerfileContext {
  level: Level;
  settings: Settings;
  flags: Flags;
  /** Display path of the Dockerfile. */
  file: string;
  /** The first bytes of a file of the build context (the Dockerfile's folder), when it is there. */
  peek(path: string): Buffer | undefined;
  report(report: DockerfileReport): void;
}
