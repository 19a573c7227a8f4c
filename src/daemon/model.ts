import { isMap } from 'yaml';
import type { Document, YAMLMap } from 'yaml';
import { MAX_ALIAS_COUNT } from '../engine/index.js';

/** A Docker daemon configuration file (`/etc/docker/daemon.json`). */
export interface DaemonConfig {
  /** The top-level object: edits go here. */
  node: YAMLMap;
  doc: Document.Parsed;
  /** Its plain value. */
  value: Record<string, unknown>;
}

/** True for files named `daemon.json`, the only name dockerd reads its configuration from. */
export function isDaemonFile(file: string): boolean {
  return /(^|[/\\])daemon\.json$/i.test(file);
}

/** The daemon configuration a document holds, when its top level is an object. */
export function daemonConfigOf(doc: Document.Parsed): DaemonConfig | undefined {
  if (!isMap(doc.contents)) return undefined;
  const value = doc.contents.toJS(doc, { maxAliasCount: MAX_ALIAS_COUNT }) as Record<string, unknown>;
  return { node: doc.contents as YAMLMap, doc, value };
}
