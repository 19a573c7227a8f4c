import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { PROFILES, profileFor } from '../transforms/profiles/index.js';
// @ts-expect-error an untyped ESM script
import { for129 } from '../e2e/run.mjs';

const STACKS = new URL('../e2e/stacks/', import.meta.url);

/** The images the e2e stacks run (`image:` of every service), as `npm run e2e` starts them. */
function stackImages(): string[] {
  const out: string[] = [];
  for (const stack of readdirSync(STACKS)) {
    const doc = parse(readFileSync(new URL(`${stack}/compose.yaml`, STACKS), 'utf8'), { merge: true }) as { services: Record<string, { image?: string }> };
    for (const svc of Object.values(doc.services)) if (svc.image) out.push(svc.image);
  }
  return out;
}

describe('image profiles and the e2e stacks', () => {
  it('every profile is run by an e2e stack or says what is untested', () => {
    const images = stackImages();
    const bare = PROFILES.filter((p) => !p.untested && !images.some((i) => profileFor(i)?.profile.id === p.id));
    expect(bare.map((p) => p.id)).toEqual([]);
  });

  it('nginx and httpd run non-root in Compose with owned tmpfs paths; on the host network nginx keeps root and its capabilities', () => {
    expect(profileFor('nginx:1.27', { compose: true })).toMatchObject({ user: '101:101', writable: ['/var/cache/nginx:uid=101,gid=101', '/var/run:uid=101,gid=101'], profile: { capAdd: [] } });
    expect(profileFor('httpd:2.4', { compose: true })).toMatchObject({ user: '33:33', writable: ['/usr/local/apache2/logs:uid=33,gid=33'], profile: { capAdd: [] } });
    expect(profileFor('nginx:1.27', { compose: true, hostNetwork: true })).toMatchObject({ user: null, profile: { capAdd: ['CHOWN', 'SETGID', 'SETUID', 'NET_BIND_SERVICE'] } });
    expect(profileFor('nginx:1.27')?.user).toBeNull();
    expect(profileFor('httpd:2.4-alpine', { compose: true })?.user).toBeNull();
  });
});

describe('e2e: the docker-compose 1.29 step', () => {
  it('moves deploy.resources.limits.pids to pids_limit and drops a top-level name, nothing else', () => {
    const input = 'name: shop\nservices:\n  web:\n    image: nginx:1.27\n    deploy:\n      resources:\n        limits:\n          memory: 512M\n          pids: 200\n';
    expect(for129(input)).toBe('services:\n  web:\n    image: nginx:1.27\n    deploy:\n      resources:\n        limits:\n          memory: 512M\n    pids_limit: 200\n');
  });
});
