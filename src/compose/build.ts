import { posix } from 'node:path';
import { readDockerfile } from '../dockerfile/model.js';
import type { StageUser } from '../dockerfile/model.js';

/** Reads a file relative to the Compose file's folder, only inside the input tree (`readTextInTree`). */
export type BuildFileReader = (path: string) => { text: string } | { refused: string };

/** The user an image runs as: from a Dockerfile's USER, or from the engine's image config. */
export type ImageUser = Pick<StageUser, 'value' | 'root' | 'uid' | 'gid'>;

/** The user of an image config (`Config.User`): '' and `root`/`0` are root. */
export function imageUser(value: string): ImageUser {
  const [u, g] = value.split(':');
  const uid = /^\d+$/.test(u) ? Number(u) : undefined;
  const gid = g !== undefined && /^\d+$/.test(g) ? Number(g) : undefined;
  return { value, root: value === '' || u === 'root' || uid === 0, ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) };
}

/**
 * What the engine says of a service's image (`--inspect-images`), in the shape a Dockerfile's
 * facts take: its user, exposed ports and declared volumes.
 */
export function inspectedImage(image: string, facts: { user: string; exposedPorts: string[]; volumes: string[] }): BuiltImage {
  return {
    dockerfile: `the config of image ${image} (local engine)`,
    from: image,
    source: 'engine',
    ...(facts.user ? { user: imageUser(facts.user) } : {}),
    expose: facts.exposedPorts.map((p) => Number(p.split('/')[0])).filter((n) => Number.isInteger(n)),
    volumes: facts.volumes.map((v) => v.replace(/\/+$/, '') || '/'),
  };
}

/** What a Compose service built from a Dockerfile gets from it (SPEC section 2). */
export interface BuiltImage {
  /** Where the facts come from: the service's Dockerfile (default), or the engine's image config. */
  source?: 'dockerfile' | 'engine';
  /** The Dockerfile, relative to the Compose file's folder (`inline` for `dockerfile_inline`). */
  dockerfile: string;
  /** The image its final stage starts from, as written (`nginx:1.27`, `node:${NODE_VERSION}`). */
  from?: string;
  /** The final stage's USER; undefined when no stage on its chain sets one. */
  user?: ImageUser;
  /** Ports the final stage exposes. */
  expose: number[];
  /** `VOLUME` paths of the final stage: Docker mounts an anonymous volume there, writable under a read-only root. */
  volumes: string[];
  /** Why the Dockerfile was not read (a remote context, interpolation, outside the tree…). */
  unread?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The Dockerfile facts of a service's `build:` (a context string, or `{context, dockerfile,
 * dockerfile_inline, target}`), read through `read`; undefined when the service builds nothing.
 */
export function builtImage(build: unknown, read: BuildFileReader | undefined): BuiltImage | undefined {
  if (build == null || build === false) return undefined;
  const spec = isRecord(build) ? build : { context: build };
  const context = typeof spec.context === 'string' ? spec.context : '.';
  const target = typeof spec.target === 'string' && !spec.target.includes('$') ? spec.target : undefined;
  const none = (dockerfile: string, unread: string): BuiltImage => ({ dockerfile, expose: [], volumes: [], unread });
  const facts = (dockerfile: string, text: string): BuiltImage => {
    const df = readDockerfile(text, target);
    return { dockerfile, from: df.baseImage, user: df.user, expose: df.expose, volumes: df.volumes };
  };
  if (typeof spec.dockerfile_inline === 'string') return facts('inline', spec.dockerfile_inline);
  const name = typeof spec.dockerfile === 'string' ? spec.dockerfile : 'Dockerfile';
  if (/^[a-z][a-z0-9+.-]*:\/\/|^git@|^github\.com\//i.test(context)) return none(name, 'a remote build context');
  if (context.includes('$') || name.includes('$')) return none(name, 'the build path is interpolated');
  const path = posix.normalize(posix.isAbsolute(name) ? name : posix.join(context.replace(/\\/g, '/'), name.replace(/\\/g, '/')));
  if (!read) return none(path, 'no folder to read it from');
  const got = read(path);
  if ('refused' in got) return none(path, got.refused);
  return facts(path, got.text);
}
