/**
 * The e2e's foreign stacks (e2e/foreign/<name>): a Compose file from ../shared/corpus nobody here
 * wrote, plus only what the corpus does not ship. Without an engine this checks that they still fit
 * together: the corpus file is there and not copied into the project, everything it mounts, reads
 * or builds is supplied (with the stage its `target:` names), its images are replicas images.sh
 * builds or tags, and the checks name its services and its secret's value.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FOREIGN = join(ROOT, 'e2e/foreign');
const CORPUS = join(ROOT, '../shared/corpus');

/** Every tag images.sh builds (IMAGES) or adds (ALIASES). */
function replicaTags(): Set<string> {
  const sh = readFileSync(join(ROOT, 'e2e/images.sh'), 'utf8');
  const list = (name: string) => (sh.match(new RegExp(`^${name}=\\(([^)]*)\\)`, 'm'))?.[1] ?? '').trim().split(/\s+/);
  const built = list('IMAGES').map((e) => e.slice(e.indexOf(':') + 1));
  const aliases = list('ALIASES').map((e) => e.split(':').slice(2).join(':'));
  return new Set([...built, ...aliases]);
}

const withLatest = (image: string) => (/:[^/]+$/.test(image) ? image : `${image}:latest`);

const stacks = existsSync(FOREIGN) ? readdirSync(FOREIGN) : [];

describe('e2e foreign stacks', () => {
  it('there are foreign stacks, among them awesome-compose nginx-golang-postgres', () => {
    expect(stacks).toContain('nginx-golang-postgres');
  });

  for (const name of stacks) {
    describe(name, () => {
      const dir = join(FOREIGN, name);
      const checks = JSON.parse(readFileSync(join(dir, 'checks.json'), 'utf8'));
      const corpusFile = join(CORPUS, checks.corpus ?? '');
      const compose = () => parse(readFileSync(corpusFile, 'utf8'), { merge: true });

      it('takes its Compose file from the corpus and ships none of its own', () => {
        expect(checks.corpus).toMatch(/^compose\/.+\.ya?ml$/);
        expect(existsSync(corpusFile)).toBe(true);
        for (const f of ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml']) expect(existsSync(join(dir, f))).toBe(false);
      });

      it('supplies every file the Compose file mounts, reads as a secret or builds', () => {
        const doc = compose();
        const missing: string[] = [];
        for (const s of Object.values<any>(doc.secrets ?? {})) if (s?.file && !existsSync(join(dir, s.file))) missing.push(s.file);
        for (const [svc, def] of Object.entries<any>(doc.services)) {
          for (const v of def.volumes ?? []) {
            const source = typeof v === 'string' ? v.split(':')[0] : v.type === 'bind' ? v.source : undefined;
            if (source?.startsWith('.') && !existsSync(join(dir, source))) missing.push(`${svc}: ${source}`);
          }
          if (def.build) {
            const context = typeof def.build === 'string' ? def.build : def.build.context;
            const dockerfile = join(dir, context, def.build.dockerfile ?? 'Dockerfile');
            if (!existsSync(dockerfile)) missing.push(`${svc}: ${dockerfile}`);
            else if (def.build.target) expect(readFileSync(dockerfile, 'utf8')).toMatch(new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${def.build.target}\\s*$`, 'mi'));
          }
        }
        expect(missing).toEqual([]);
      });

      it("uses only replica images (images.sh builds or tags each one, a build's FROM too)", () => {
        const doc = compose();
        const tags = replicaTags();
        const images = Object.values<any>(doc.services).flatMap((d) => (d.image ? [d.image] : []));
        for (const d of Object.values<any>(doc.services)) {
          if (!d.build) continue;
          const text = readFileSync(join(dir, typeof d.build === 'string' ? d.build : d.build.context, 'Dockerfile'), 'utf8');
          const stages = [...text.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1].toLowerCase());
          for (const m of text.matchAll(/^FROM\s+(\S+)/gim)) if (!stages.includes(m[1].toLowerCase())) images.push(m[1]);
        }
        expect(images.filter((i) => !tags.has(withLatest(i)))).toEqual([]);
      });

      it("checks name the file's services, and log in with the secret's value", () => {
        const doc = compose();
        const services = Object.keys(doc.services);
        const named = ['http', 'health', 'postgres', 'mysql', 'redis'].flatMap((k) => (checks[k] ?? []).map((c: any) => c.service));
        for (const a of checks.ablations ?? []) named.push(a.service);
        expect(named.filter((s) => !services.includes(s))).toEqual([]);
        expect((checks.ablations ?? []).length).toBeGreaterThan(0);
        const secrets = Object.values<any>(doc.secrets ?? {}).map((s) => readFileSync(join(dir, s.file), 'utf8'));
        for (const c of [...(checks.postgres ?? []), ...(checks.mysql ?? [])]) expect(secrets).toContain(c.password);
      });
    });
  }
});
