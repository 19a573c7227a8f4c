import type { Transform } from '../src/types.js';
import { dockerfileDigest } from './dockerfile.js';
import { label, nodeAt } from './support.js';
import { where } from './compose.js';
import type { YAMLMap } from 'yaml';

/** The tag of an image reference, '' when there is none; digests count as pinned. */
export function imageTag(image: string): { tag: string; digest: boolean } {
  if (image.includes('@')) return { tag: '', digest: true };
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return { tag: colon < 0 ? '' : last.slice(colon + 1), digest: false };
}

/** OWASP rule 13: deploy a known image version. */
export default {
  id: 'image-pinning',
  owasp: '13',
  title: 'Pin image versions',
  why: 'An unpinned image (latest, no tag) changes under you: what was reviewed is not what runs.',
  changes: {
    kubernetes: 'reports latest and untagged images',
    compose: 'reports latest and untagged images (not interpolated ones, nor the image name of a service that is built locally)',
    dockerfile: 'reports FROM images not pinned by digest (low); sign images and publish an SBOM (docker buildx build --sbom=true --provenance=true, cosign sign)',
  },
  breaks: 'Nothing: report only. Pick a version (or digest) and update it deliberately.',
  severity: 'medium',
  pod(pod, ctx) {
    for (const c of pod.containers) {
      if (!c.image || c.image.includes('${') || c.image.includes('{{')) continue;
      const { tag, digest } = imageTag(c.image);
      if (digest || (tag && tag !== 'latest')) continue;
      ctx.report({
        at: nodeAt(c.node, ['image']),
        field: `${c.path}.image`,
        message: `${label(c)} uses ${tag ? 'the latest tag' : 'an untagged image'} (${c.image})`,
      });
    }
  },

  service(svc, ctx) {
    const image = svc.image;
    // `$IMAGE`/`${IMAGE}` is decided where the file is deployed; with `build:` the image is the
    // local build's name, not something pulled.
    if (!image || image.includes('$') || svc.effective.build != null) return;
    const { tag, digest } = imageTag(image);
    if (digest || (tag && tag !== 'latest')) return;
    ctx.report({
      at: (svc.node.get('image', true) as YAMLMap | undefined) ?? where(svc, 'image'),
      field: `${svc.path}.image`,
      message: `service "${svc.name}" uses ${tag ? 'the latest tag' : 'an untagged image'} (${image})`,
    });
  },

  dockerfile: dockerfileDigest,
} satisfies Transform;
