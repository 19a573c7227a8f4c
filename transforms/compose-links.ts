import type { TransformContext } from '../src/types.js';
import type { ComposeService } from './compose.js';
import { listOf } from './compose.js';
import { repositoryOf } from './profiles/index.js';

/** consumer → provider → what in the files shows the connection (`depends_on`, `nginx.conf`). */
export type Links = Map<string, Map<string, string>>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `${VAR:-default}` and `${VAR-default}` read as their defaults: the URL the app uses unset. */
function withDefaults(text: string): string {
  return text.includes('${') ? text.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:?[-=]([^}]*)\}/g, '$1') : text;
}

const HOST_PATTERNS = new Map<string, RegExp>();

/**
 * True when `text` names host `name`: a URL host (`http://api:8000`, `postgres://u@db/x`),
 * `name:port`, what a proxy's config puts after its upstream keyword (nginx `proxy_pass`,
 * `fastcgi_pass`, `server` of an `upstream`, Caddy `reverse_proxy`/`php_fastcgi`, HAProxy
 * `server <label> name`), or, with `bare`, the whole text.
 */
export function namesHost(text: string, name: string, bare = false): boolean {
  if (!text.includes(name)) return false;
  if (bare && text.trim() === name) return true;
  let pattern = HOST_PATTERNS.get(name);
  if (!pattern) {
    const n = escape(name);
    const end = `(?=[\\s:/?;,"'\\]})]|$)`;
    pattern = new RegExp(
      `(?:://|@)${n}${end}|(?:^|[\\s,=;"'(\\[])${n}:\\d` +
        `|\\b(?:proxy_pass|fastcgi_pass|uwsgi_pass|grpc_pass|scgi_pass|reverse_proxy|php_fastcgi|server(?:[ \\t]+[\\w.-]+)?)[ \\t]+(?:[a-z]+://)?${n}${end}`,
      'm',
    );
    HOST_PATTERNS.set(name, pattern);
  }
  return pattern.test(text);
}

/** What may come right before a host name that namesHost accepts (besides the text's start). */
const HOST_BOUNDARY = /[\s/@,=;"'(\[]/;
const HOST_BOUNDARIES = /[\s/@,=;"'(\[]+/;

/**
 * The indexes of the hosts (`index`: name → index; `lengths`: their distinct lengths) that `text`
 * may name, ascending: those that begin a token of the text (split at HOST_BOUNDARY), and the
 * `odd` ones that hold a boundary character themselves. 1,000 services × 1,000 names would be a
 * million substring tests; a token has few prefixes.
 */
function hostsIn(text: string, index: ReadonlyMap<string, number>, lengths: readonly number[], odd: readonly number[]): number[] {
  const found = new Set<number>(odd);
  for (const token of text.split(HOST_BOUNDARIES)) {
    for (const n of lengths) {
      if (n > token.length) continue;
      const i = index.get(n === token.length ? token : token.slice(0, n));
      if (i !== undefined) found.add(i);
    }
  }
  return [...found].sort((a, b) => a - b);
}

/** Environment variables whose whole value may be a bare host name (`DB_HOST: db`, not `POSTGRES_DB: app`). */
const HOST_KEY = /HOST|ADDR|SERVER|URL|URI|ENDPOINT|BROKER|UPSTREAM|BACKEND|TARGET|PEER|SEED|NODES?$|MASTER|PRIMARY|REPLICA|PROXY|REMOTE/i;

/** Environment values and command, entrypoint and healthcheck strings of a service, each with where it is. */
function ownStrings(svc: ComposeService): { where: string; text: string; bare: boolean }[] {
  const env = svc.effective.environment;
  const pairs: [string, string][] = Array.isArray(env)
    ? env.map((e) => [String(e).split('=')[0], String(e).split('=').slice(1).join('=')])
    : isRecord(env)
      ? Object.entries(env).map(([k, v]) => [k, String(v ?? '')])
      : [];
  const commands = ['command', 'entrypoint', 'healthcheck'].flatMap((k) => {
    const v = svc.effective[k];
    return (isRecord(v) ? listOf(v.test) : listOf(v)).map((t) => ({ where: k, text: withDefaults(String(t)), bare: true }));
  });
  return [...pairs.map(([k, v]) => ({ where: k, text: withDefaults(v), bare: HOST_KEY.test(k) })), ...commands];
}

/** Config files the service mounts from the project (bind mounts of relative paths: `./nginx.conf:/etc/...`). */
function mountedTexts(svc: ComposeService, ctx: TransformContext): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const v of listOf(svc.effective.volumes)) {
    const source = typeof v === 'string' ? v.split(':')[0] : isRecord(v) && v.type === 'bind' ? String(v.source ?? '') : '';
    if (!/^\.{1,2}\//.test(source)) continue;
    for (const f of ctx.configFiles(source)) out.push({ path: f.path, text: withDefaults(f.text) });
  }
  return out;
}

/** The variables of the service's env files, read like its `environment`. */
function envFileStrings(svc: ComposeService, ctx: TransformContext): { where: string; text: string; bare: boolean }[] {
  return listOf(svc.effective.env_file).flatMap((e) => {
    const path = isRecord(e) ? e.path : e;
    if (typeof path !== 'string') return [];
    return ctx.configFiles(path).flatMap((f) =>
      f.text.split(/\r?\n/).flatMap((line) => {
        const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$/.exec(line);
        if (!m) return [];
        const value = m[2].replace(/^(['"])(.*)\1$/, '$2');
        return [{ where: `${m[1]} in ${f.path}`, text: withDefaults(value), bare: HOST_KEY.test(m[1]) }];
      }),
    );
  });
}

/** The labels of a service as `key → value`. */
function labelsOf(svc: ComposeService): Map<string, string> {
  const labels = svc.effective.labels;
  const out = new Map<string, string>();
  if (Array.isArray(labels)) for (const l of labels) out.set(String(l).split('=')[0], String(l).split('=').slice(1).join('='));
  else if (isRecord(labels)) for (const [k, v] of Object.entries(labels)) out.set(k, String(v ?? ''));
  return out;
}

/** Proxies that route to containers by their labels or environment, and how they pick them. */
const LABEL_PROXIES: { images: string[]; routes(svc: ComposeService): boolean; via: string }[] = [
  {
    images: ['traefik'],
    routes: (s) => {
      const labels = labelsOf(s);
      return [...labels.keys()].some((k) => k.startsWith('traefik.')) && labels.get('traefik.enable') !== 'false';
    },
    via: 'traefik.* labels',
  },
  {
    images: ['lucaslorentz/caddy-docker-proxy'],
    routes: (s) => [...labelsOf(s).keys()].some((k) => k === 'caddy' || k.startsWith('caddy.') || /^caddy_\d+/.test(k)),
    via: 'caddy labels',
  },
  {
    images: ['nginxproxy/nginx-proxy', 'jwilder/nginx-proxy'],
    routes: (s) => /(^|\n)VIRTUAL_HOST=/.test(envLines(s)),
    via: 'VIRTUAL_HOST',
  },
];

function envLines(svc: ComposeService): string {
  const env = svc.effective.environment;
  return Array.isArray(env) ? env.map(String).join('\n') : isRecord(env) ? Object.keys(env).map((k) => `${k}=`).join('\n') : '';
}

/**
 * Which service reaches which, by everything the files reveal: `depends_on`, `links`, host
 * names (service or container names) in environment values (with `${VAR:-default}` defaults),
 * commands, entrypoints, healthchecks, env files and bind-mounted config files (nginx, Caddy,
 * HAProxy upstreams), and label-driven proxies (Traefik, caddy-docker-proxy, nginx-proxy) to
 * the services they route to. A service with `network_mode: service:x` reaches through x.
 */
export function serviceLinks(services: readonly ComposeService[], ctx: TransformContext): Links {
  const names = new Map<string, string>();
  for (const s of services) {
    names.set(s.name, s.name);
    const container = s.effective.container_name;
    if (typeof container === 'string' && container) names.set(container, s.name);
  }
  const hosts = [...names.keys()];
  const index = new Map(hosts.map((h, i) => [h, i]));
  const lengths = [...new Set(hosts.map((h) => h.length))];
  // Every form namesHost accepts puts the name right after the text's start or one of these
  // characters, so a name without them can only be named where it begins a token of the text.
  const odd = hosts.flatMap((h, i) => (HOST_BOUNDARY.test(h) ? [i] : []));
  const links: Links = new Map(services.map((s) => [s.name, new Map<string, string>()]));
  const add = (consumer: string, provider: string | undefined, via: string) => {
    if (!provider || provider === consumer || !links.has(provider)) return;
    const from = links.get(consumer)!;
    if (!from.has(provider)) from.set(provider, via);
  };
  for (const svc of services) {
    const dependsOn = svc.effective.depends_on;
    for (const d of Array.isArray(dependsOn) ? dependsOn : isRecord(dependsOn) ? Object.keys(dependsOn) : []) add(svc.name, names.get(String(d)), 'depends_on');
    for (const l of listOf(svc.effective.links)) add(svc.name, names.get(String(l).split(':')[0]), 'links');
    const strings = [...ownStrings(svc), ...envFileStrings(svc, ctx)];
    const files = mountedTexts(svc, ctx);
    // One substring test over all of them first: most names appear in none (1,000 services).
    const all = [...strings.map((s) => s.text), ...files.map((f) => f.text)].join('\n');
    for (const i of hostsIn(all, index, lengths, odd)) {
      const host = hosts[i];
      if (!all.includes(host)) continue;
      const provider = names.get(host)!;
      if (provider === svc.name) continue;
      const own = strings.find((s) => namesHost(s.text, host, s.bare));
      if (own) add(svc.name, provider, own.where);
      const file = files.find((f) => namesHost(f.text, host));
      if (file) add(svc.name, provider, file.path);
    }
    const proxy = LABEL_PROXIES.find((p) => svc.image && p.images.includes(repositoryOf(svc.image).repo));
    if (proxy) for (const other of services) if (other !== svc && proxy.routes(other)) add(svc.name, other.name, proxy.via);
  }
  // A service in another's network namespace reaches what it reaches through that service.
  for (const svc of services) {
    const mode = svc.effective.network_mode;
    const host = typeof mode === 'string' && mode.startsWith('service:') ? mode.slice('service:'.length) : undefined;
    if (!host || !links.has(host)) continue;
    for (const [provider, via] of links.get(svc.name)!) add(host, provider, `${via} of ${svc.name} (network_mode: service:${host})`);
  }
  return links;
}

/**
 * Services whose configuration the files do not fully show: an env file that cannot be read
 * (missing, outside the folder, stdin) or `extends` from another file. They may reach any
 * backend, so they keep every backend that leaves the default network in reach.
 */
export function unknownConfig(services: readonly ComposeService[], ctx: TransformContext): Map<string, string> {
  const out = new Map<string, string>();
  for (const svc of services) {
    const ext = svc.effective.extends;
    if (isRecord(ext) && typeof ext.file === 'string') out.set(svc.name, `it extends ${ext.file}`);
    for (const e of listOf(svc.effective.env_file)) {
      const path = isRecord(e) ? e.path : e;
      if (typeof path === 'string' && ctx.configFiles(path).length === 0 && !out.has(svc.name)) out.set(svc.name, `its env file ${path} cannot be read`);
    }
  }
  return out;
}

/** Base and language-runtime images: two services on one of them run two programs (`python -c …`). */
const RUNTIMES = new Set(['python', 'node', 'ruby', 'golang', 'openjdk', 'eclipse-temurin', 'amazoncorretto', 'php', 'perl', 'busybox', 'alpine', 'debian', 'ubuntu', 'fedora', 'centos', 'bash', 'curlimages/curl']);

/**
 * What a service runs: its image, else its build. Services with the same one are one program in
 * several roles (netbox and netbox-worker); undefined for a base or runtime image, which says not.
 */
export function programOf(s: ComposeService): string | undefined {
  const build = s.effective.build;
  if (s.image) return RUNTIMES.has(repositoryOf(s.image).repo) ? undefined : s.image;
  return typeof build === 'string' ? `build:${build}` : isRecord(build) ? `build:${JSON.stringify(build)}` : undefined;
}
