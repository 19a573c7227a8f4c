import type { Transform } from '../src/types.js';
import type { Instruction } from '../src/dockerfile/parse.js';
import { wordsOf } from '../src/dockerfile/parse.js';
import type { Dockerfile } from '../src/dockerfile/model.js';
import { imageTag } from './image-pinning.js';

/** Names ADD unpacks when the source is a local tar archive (plain or compressed). */
const ARCHIVE = /\.(tar|tgz|tbz2?|txz|tzst|taz|tz|gz|bz2|xz|zst|lz4|lzma|z)$/i;
const REMOTE = /^([a-z][a-z0-9+.-]*:\/\/|git@)/i;
/** Flags ADD has and COPY has not. */
const ADD_ONLY_FLAGS = new Set(['checksum', 'keep-git-dir', 'unpack']);

/** True when the first bytes are a tar archive, or gzip/bzip2/xz/zstd data ADD would try to unpack. */
function archiveBytes(head: Buffer): boolean {
  const hex = head.subarray(0, 6).toString('hex');
  return hex.startsWith('1f8b') || hex.startsWith('425a68') || hex.startsWith('fd377a585a00') || hex.startsWith('28b52ffd') ||
    head.subarray(257, 262).toString('latin1') === 'ustar';
}

/**
 * What ADD does here that COPY would not: `legit` when it downloads or unpacks (ADD's own job,
 * no finding), `unsure` when that cannot be told from the file, undefined when COPY is the same.
 */
function addDiffers(ins: Instruction, df: Dockerfile, peek: (p: string) => Buffer | undefined): { legit: boolean; why: string } | undefined {
  const flag = ins.flags.find((f) => ADD_ONLY_FLAGS.has(f.name));
  if (flag) return { legit: true, why: `--${flag.name} has no COPY equivalent` };
  const words = ins.json ?? wordsOf(ins.args, df.source.escape).map((w) => w.value);
  const sources = words.slice(0, -1);
  if (sources.length === 0) return { legit: false, why: 'no source to copy' };
  for (const src of sources) {
    if (REMOTE.test(src)) return { legit: true, why: `${src} is downloaded` };
    if (ARCHIVE.test(src)) return { legit: true, why: `${src} is unpacked if it is a tar archive` };
    const head = src.startsWith('<<') || src.includes('$') || /[*?[]/.test(src) ? undefined : peek(src);
    if (head && archiveBytes(head)) return { legit: true, why: `${src} is an archive ADD unpacks` };
  }
  for (const src of sources) {
    if (src.includes('$')) return { legit: false, why: `${src} is only known at build time (a URL or an archive would behave differently under COPY)` };
    if (/[*?[]/.test(src)) return { legit: false, why: `${src} may match archives that ADD unpacks` };
  }
  return undefined;
}

/** Shell text of a RUN: shell form, exec form joined, and heredoc bodies. */
function scriptOf(ins: Instruction): string {
  return [ins.json ? ins.json.join(' ') : ins.args, ...ins.heredocs.map((h) => h.body)].join('\n');
}

const PIPE_TO_SHELL = /\b(curl|wget)\b[^|;&\n]*\|\s*(sudo\s+(-\S+\s+)*)?(\/\S*\/)?(ba|z|da|k|a)?sh\b|\b(ba|z|da|k|a)?sh\s+(-c\s+)?["']?(\$\(|<\()\s*(curl|wget)\b/;

/** OWASP rule 9: what a Dockerfile linter flags in the build. */
export default {
  id: 'dockerfile-hygiene',
  owasp: '9',
  title: 'Build images the way scanners and reviewers expect',
  why: 'The build decides what runs: a floating base image, a script piped from the network into a shell, an ADD that downloads or unpacks, or recommended packages nobody asked for put unreviewed code in the image. Scan the built image in CI too (Trivy, Grype, Docker Scout).',
  changes: {
    dockerfile: 'ADD of a local file or folder becomes COPY (same result; not for URLs, archives ADD unpacks, wildcards, variables or ADD-only flags); reports FROM without a tag or with latest, curl/wget piped into a shell, apt-get install without --no-install-recommends or pinned versions',
  },
  breaks: 'Nothing: COPY of a local path gives the same layer as ADD; the rest is report only.',
  severity: 'medium',
  dockerfile(df, ctx) {
    const stageNames = new Set(df.stages.map((s) => s.name).filter(Boolean));
    for (const stage of df.stages) {
      const image = stage.image;
      if (!image || image === 'scratch' || stageNames.has(image.toLowerCase()) || image.startsWith('$')) continue;
      const { tag, digest } = imageTag(image);
      if (digest || (tag && tag !== 'latest')) continue;
      ctx.report({
        at: stage.from.offsetOf(0),
        field: `FROM ${image}`,
        message: `FROM ${image} ${tag ? 'uses the latest tag' : 'has no tag'}: every build may start from a different image; name a version`,
        severity: 'medium',
      });
    }
    for (const ins of df.source.instructions) {
      if (ins.keyword === 'ADD') {
        const differs = addDiffers(ins, df, ctx.peek);
        const keyword = df.source.text.slice(ins.start, ins.start + 3);
        if (!differs?.legit) {
          ctx.report({
            at: ins.start,
            field: `ADD:${ins.line}`,
            message: differs
              ? 'ADD of what may be a local path: COPY says what happens, but cuirass cannot tell that it is the same here'
              : 'ADD of a local path: COPY does the same without ADD\'s downloads and unpacking',
            severity: 'low',
            ...(differs
              ? { refusal: `it stays ADD: ${differs.why}` }
              : { edits: [{ start: ins.start, end: ins.start + 3, text: keyword === 'add' ? 'copy' : keyword === 'Add' ? 'Copy' : 'COPY' }] }),
          });
        }
      }
      if (ins.keyword !== 'RUN') continue;
      const script = scriptOf(ins);
      const pipe = PIPE_TO_SHELL.exec(script);
      if (pipe) {
        ctx.report({
          at: ins.start,
          field: `RUN:${ins.line}:pipe`,
          message: `RUN pipes a download into a shell (${pipe[0].trim().slice(0, 60)}): the script is not reviewed, pinned or verified; download it, check its checksum or signature, then run it`,
          severity: 'high',
        });
      }
      for (const command of script.split(/&&|\|\||;|\n/)) {
        const words = wordsOf(command).map((w) => w.value);
        const at = words.findIndex((w, i) => /(^|\/)apt-get$/.test(w) && words.slice(i + 1).includes('install'));
        if (at < 0) continue;
        const rest = words.slice(words.indexOf('install', at) + 1);
        const packages = rest.filter((w) => !w.startsWith('-'));
        const missing: string[] = [];
        if (!rest.some((w) => w === '--no-install-recommends')) missing.push('--no-install-recommends');
        const unpinned = packages.filter((p) => !p.includes('=') && !p.includes('$'));
        if (unpinned.length) missing.push(`pinned versions (${unpinned.slice(0, 4).join(', ')}${unpinned.length > 4 ? ', …' : ''})`);
        if (missing.length === 0) continue;
        ctx.report({
          at: ins.start,
          field: `RUN:${ins.line}:apt-get`,
          message: `apt-get install without ${missing.join(' and ')}: the image gets packages nobody chose, or other versions on every build`,
          severity: 'low',
        });
      }
    }
  },
} satisfies Transform;
