/**
 * `--inspect-images`: what the local engine's images declare (`Config.User`, `ExposedPorts`,
 * `Volumes`), read through the Engine API before hardening, for every image reference the inputs
 * name. Nothing is pulled; an image the engine does not have, or no engine, adds nothing.
 */
import { parseAllDocuments, isMap, isScalar, isSeq, isPair } from 'yaml';
import type { Node } from 'yaml';
import type { Settings } from '../settings.js';
import { engineAddress, engineReachable, inspectImage } from './engine.js';

/** Every `image:` string value of the texts (Compose services, Kubernetes containers), interpolated ones left out. */
export function imageRefs(texts: readonly string[]): string[] {
  const refs = new Set<string>();
  const walk = (node: unknown, depth: number): void => {
    if (depth > 64 || node == null) return;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (key === 'image' && isScalar(pair.value) && typeof pair.value.value === 'string') {
          const ref = pair.value.value.trim();
          if (ref && !ref.includes('$') && !/\s/.test(ref)) refs.add(ref);
        } else walk(pair.value, depth + 1);
      }
    } else if (isSeq(node)) for (const item of node.items) walk(item, depth + 1);
  };
  for (const text of texts) {
    try {
      for (const doc of parseAllDocuments(text, { uniqueKeys: false })) if (!('empty' in doc)) walk(doc.contents as Node, 0);
    } catch {
      /* an input that does not parse names no image; its own error is reported when it is processed */
    }
  }
  return [...refs].sort();
}

/**
 * The settings with `images` filled from the engine, and what to tell the user. An unreachable
 * engine is a notice, not an error: hardening goes on with the profiles alone.
 */
export async function withImageFacts(settings: Settings, texts: readonly string[]): Promise<{ settings: Settings; notice: string }> {
  const address = engineAddress();
  if (!(await engineReachable(address))) return { settings, notice: '--inspect-images: no Docker engine answers (DOCKER_HOST or /var/run/docker.sock); image configs not read' };
  const images: NonNullable<Settings['images']> = {};
  const refs = imageRefs(texts);
  let missing = 0;
  for (const ref of refs) {
    const facts = await inspectImage(ref, address).catch(() => undefined);
    if (facts) images[ref] = facts;
    else missing++;
  }
  const found = Object.keys(images).length;
  return { settings: { ...settings, images }, notice: `--inspect-images: read the config of ${found} local image${found === 1 ? '' : 's'}${missing ? `; ${missing} not on this engine (not pulled)` : ''}` };
}
