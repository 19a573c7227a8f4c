/**
 * The Dockerfile checks of the transforms whose OWASP rule also applies to how an image is
 * built (rules 2 and 13). Each is a transform's `dockerfile` hook.
 */
import type { Dockerfile } from '../src/dockerfile/model.js';
import type { DockerfileContext } from '../src/types.js';
import { imageTag } from './image-pinning.js';

/** Rule 2: the final stage sets a non-root USER (earlier stages do not reach the image). */
export function dockerfileUser(df: Dockerfile, ctx: DockerfileContext): void {
  const final = df.final;
  if (!final) return;
  const uid = ctx.settings.uid;
  const gid = ctx.settings.gid;
  const base = df.baseImage ?? final.image;
  // No shell or user tools in scratch/distroless: a numeric USER needs no /etc/passwd entry.
  const bare = base === 'scratch' || /distroless/.test(base);
  const suggestion = bare
    ? `add \`USER ${uid}:${gid}\` (a numeric user needs no /etc/passwd entry)`
    : `create a user and switch to it by number, e.g. \`RUN groupadd -g ${gid} app && useradd -u ${uid} -g app -M -s /usr/sbin/nologin app\` (Alpine: \`addgroup -g ${gid} app && adduser -D -u ${uid} -G app app\`) then \`USER ${uid}:${gid}\``;
  // Base images whose own USER is non-root (distroless :nonroot, nginx-unprivileged).
  if (!df.user && /[:-]nonroot\b|nginx-unprivileged/.test(base)) return;
  if (!df.user) {
    ctx.report({
      at: final.from.start,
      field: 'USER',
      message: `the final stage (FROM ${final.image}) sets no USER: the container runs as the base image's user, root unless ${base} sets another; ${suggestion}`,
      severity: 'high',
    });
  } else if (df.user.root) {
    ctx.report({
      at: df.user.instruction.start,
      field: 'USER',
      message: `the final stage runs as root (USER ${df.user.value}); ${suggestion}`,
      severity: 'high',
    });
  }
}

/** Rule 13: every base image pinned by digest (a tag can be moved; a digest cannot). */
export function dockerfileDigest(df: Dockerfile, ctx: DockerfileContext): void {
  const stageNames = new Set(df.stages.map((s) => s.name).filter(Boolean));
  for (const stage of df.stages) {
    const image = stage.image;
    if (!image || image === 'scratch' || stageNames.has(image.toLowerCase()) || image.startsWith('$')) continue;
    const { tag, digest } = imageTag(image);
    // Untagged and latest are dockerfile-hygiene's finding.
    if (digest || !tag || tag === 'latest') continue;
    ctx.report({
      at: stage.from.offsetOf(0),
      field: `FROM ${image}`,
      message: `FROM ${image} is not pinned by digest: whoever can push that tag decides what is built; use ${image}@sha256:… (Dependabot and Renovate keep digests current)`,
      severity: 'low',
    });
  }
}
