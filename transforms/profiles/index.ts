import { FAMILIES, FIRST_FAMILIES } from './families.js';

/**
 * Image profiles: what well-known images need to keep working once hardened. Matching is by
 * repository name (registry and `library/` stripped) and tag variant (`-alpine`).
 */
export interface ImageProfile {
  /** Profile id, also the repository names it matches by default. */
  id: string;
  /** Repository names (last path segments or full paths) this profile matches. */
  names: string[];
  /**
   * `uid:gid` to run as; `null` keeps the image's own (root) user and relies on `capAdd`;
   * absent when the profile knows nothing of the user (the generic uid is used).
   */
  user?: string | null;
  /** The user on the Alpine variant, when it differs. */
  alpineUser?: string;
  /** Paths the image writes to at run time (tmpfs / emptyDir), besides /tmp. */
  writable: string[];
  /** Paths on the Alpine variant, when they differ (Alpine has /run, /var/run is a link). */
  alpineWritable?: string[];
  /** Capabilities the entrypoint needs once everything is dropped. */
  capAdd: string[];
  /** Environment variables the image also reads from a file (`NAME_FILE`). */
  fileEnv: string[];
  /** Why a read-only root filesystem cannot be applied, when it cannot. */
  writableRoot?: string;
  /** The image serves clients but needs no outbound connections (databases, caches). */
  noEgress?: boolean;
  /** What a reviewer should know. */
  note: string;
  /**
   * Compose, when the container has its own network namespace (not `network_mode: host`):
   * Docker >= 20.10 lets non-root processes bind ports below 1024 there (moby#41030), so the
   * image runs as its own non-root user. tmpfs paths carry `uid=,gid=` because Docker gives a
   * tmpfs the owner and mode of the image's directory (root 0755 would stay closed).
   * Without `alpineWritable` the Alpine variant keeps the fields above.
   */
  compose?: Pick<ImageProfile, 'user' | 'writable' | 'capAdd' | 'note'> & { alpineWritable?: string[] };
  /** What no e2e stack (`e2e/stacks`) exercises under a real engine; absent when all of it is. */
  untested?: string;
  /** Repository paths of the whole image family (`immich-app/postgres`, `bitnami/postgresql`). */
  family?: RegExp;
  /** Where it keeps its data: Kubernetes needs a volume there once the root is read-only. */
  dataDirs?: string[];
  /**
   * false: the image declares no VOLUME for its dataDirs (grafana), so in Compose the data lives
   * in the container's layer and the root stays writable until a volume is mounted there.
   */
  dataVolume?: false;
  /** Why the entrypoint must start as root (and switch users itself); it keeps root. */
  startsAsRoot?: string;
  /** Limits that fit the image (null: none fits every deployment; reported instead). */
  limits?: { memory?: string | null; pids?: number | null; why: string };
  /** Connections it accepts by default: pids must cover one process or thread each. */
  connections?: number;
}

/** The known images, most specific first: exact names win, then the first family that matches. */
export const PROFILES: readonly ImageProfile[] = [
  ...FIRST_FAMILIES.map((p) => ({ untested: 'no e2e image', ...p })),
  {
    id: 'nginx-unprivileged',
    names: ['nginxinc/nginx-unprivileged', 'nginx-unprivileged'],
    user: '101:101',
    writable: ['/var/cache/nginx', '/var/run'],
    alpineWritable: ['/var/cache/nginx', '/run'],
    capAdd: [],
    fileEnv: [],
    note: 'listens on 8080 as uid 101',
    untested: 'no e2e image (the claims follow the image documentation)',
  },
  {
    id: 'nginx',
    names: ['nginx'],
    user: null,
    writable: ['/var/cache/nginx', '/var/run'],
    alpineWritable: ['/var/cache/nginx', '/run'],
    capAdd: ['CHOWN', 'SETGID', 'SETUID', 'NET_BIND_SERVICE'],
    fileEnv: [],
    note: 'the master process starts as root to bind port 80 and switches to the nginx user; consider nginxinc/nginx-unprivileged',
    compose: {
      user: '101:101',
      writable: ['/var/cache/nginx:uid=101,gid=101', '/var/run:uid=101,gid=101'],
      alpineWritable: ['/var/cache/nginx:uid=101,gid=101', '/run:uid=101,gid=101'],
      capAdd: [],
      note: 'runs as the nginx user (101) and still binds port 80 in its own network namespace (Docker >= 20.10)',
    },
    untested: 'the Alpine variant (/run) and the Kubernetes fields (root with the unprivileged-port sysctl); Compose non-root and network_mode: host are exercised by e2e/stacks',
  },
  {
    id: 'httpd',
    names: ['httpd'],
    user: null,
    writable: ['/usr/local/apache2/logs'],
    capAdd: ['CHOWN', 'SETGID', 'SETUID', 'NET_BIND_SERVICE'],
    fileEnv: [],
    note: 'httpd starts as root to bind port 80 and switches to www-data (daemon on Alpine)',
    compose: {
      user: '33:33',
      writable: ['/usr/local/apache2/logs:uid=33,gid=33'],
      capAdd: [],
      note: 'runs as www-data (33) and still binds port 80 in its own network namespace (Docker >= 20.10)',
    },
    untested: 'the Alpine variant (kept as root with capabilities) and the Kubernetes fields; Compose non-root is exercised by e2e/stacks',
  },
  {
    id: 'postgres',
    names: ['postgres', 'postgis/postgis', 'timescale/timescaledb', 'pgvector/pgvector'],
    family: /(^|\/)(postgres(ql)?|postgis|timescaledb(-ha)?|pgvector|pgvecto-rs|vectorchord)$/,
    dataDirs: ['/var/lib/postgresql/data'],
    connections: 100,
    user: '999:999',
    alpineUser: '70:70',
    writable: ['/var/run/postgresql'],
    capAdd: [],
    fileEnv: ['POSTGRES_PASSWORD', 'POSTGRES_USER', 'POSTGRES_DB', 'POSTGRES_INITDB_ARGS'],
    noEgress: true,
    note: 'runs as the postgres user (999, 70 on Alpine); a bind-mounted data folder must be owned by that uid',
    untested: 'the Alpine variant (uid 70) and the derived images (postgis, timescaledb, pgvector); postgres:16 in Compose is exercised by e2e/stacks',
  },
  {
    id: 'mysql',
    names: ['mysql', 'percona', 'percona/percona-server'],
    family: /(^|\/)(mysql|mysql-server|percona(-server)?|percona-server-mysql)$/,
    dataDirs: ['/var/lib/mysql'],
    connections: 151,
    user: '999:999',
    writable: ['/var/run/mysqld'],
    capAdd: [],
    fileEnv: ['MYSQL_ROOT_PASSWORD', 'MYSQL_PASSWORD', 'MYSQL_USER', 'MYSQL_DATABASE'],
    noEgress: true,
    note: 'runs as the mysql user (999); a bind-mounted data folder must be owned by that uid',
    untested: 'no e2e image (the e2e runs mariadb); the claims follow the official Dockerfile',
  },
  {
    id: 'mariadb',
    names: ['mariadb'],
    family: /(^|\/)mariadb$/,
    dataDirs: ['/var/lib/mysql'],
    connections: 151,
    user: '999:999',
    writable: ['/run/mysqld'],
    capAdd: [],
    fileEnv: ['MARIADB_ROOT_PASSWORD', 'MARIADB_PASSWORD', 'MARIADB_USER', 'MARIADB_DATABASE', 'MYSQL_ROOT_PASSWORD', 'MYSQL_PASSWORD', 'MYSQL_USER', 'MYSQL_DATABASE'],
    noEgress: true,
    note: 'runs as the mysql user (999); a bind-mounted data folder must be owned by that uid',
    untested: 'bitnami/mariadb (uid 1001 upstream); mariadb in Compose is exercised by e2e/stacks',
  },
  {
    id: 'mongo',
    names: ['mongo', 'mongodb/mongodb-community-server'],
    user: '999:999',
    writable: [],
    capAdd: [],
    fileEnv: ['MONGO_INITDB_ROOT_USERNAME', 'MONGO_INITDB_ROOT_PASSWORD'],
    noEgress: true,
    note: 'runs as the mongodb user (999); /data/db and /data/configdb must be volumes',
    untested: 'no e2e image',
  },
  {
    id: 'redis',
    names: ['redis', 'valkey/valkey', 'redis/redis-stack-server'],
    family: /(^|\/)(redis|valkey|redis-stack-server)$/,
    dataDirs: ['/data'],
    user: '999:999',
    writable: [],
    capAdd: [],
    fileEnv: [],
    noEgress: true,
    note: 'runs as the redis user (999); /data must be a volume when persistence is on',
    untested: 'the Alpine variant and valkey/redis-stack; redis:7 in Compose is exercised by e2e/stacks',
  },
  {
    id: 'rabbitmq',
    names: ['rabbitmq'],
    user: '999:999',
    writable: ['/var/lib/rabbitmq', '/var/log/rabbitmq'],
    capAdd: [],
    fileEnv: [],
    note: 'runs as the rabbitmq user (999); the Erlang cookie lives in /var/lib/rabbitmq',
    untested: 'no e2e image',
  },
  {
    id: 'elasticsearch',
    names: ['elasticsearch', 'elastic/elasticsearch', 'docker.elastic.co/elasticsearch/elasticsearch', 'opensearchproject/opensearch', 'kibana', 'docker.elastic.co/kibana/kibana', 'logstash', 'docker.elastic.co/logstash/logstash'],
    user: '1000:0',
    writable: [],
    capAdd: [],
    fileEnv: ['ELASTIC_PASSWORD'],
    writableRoot: 'Elastic images write their keystore and logs under their installation folder at start',
    limits: { memory: '2Gi', pids: 4096, why: 'a JVM that sizes its heap to half the memory it may use and runs thread pools of hundreds of threads' },
    note: 'runs as uid 1000 with gid 0',
    untested: 'no e2e image',
  },
  {
    id: 'traefik',
    names: ['traefik'],
    user: null,
    writable: [],
    capAdd: ['NET_BIND_SERVICE'],
    fileEnv: [],
    note: 'binds ports 80/443; needs NET_BIND_SERVICE while it runs as root',
    untested: 'no e2e image: whether it runs non-root (it usually reads the root-owned docker.sock) is not proven, so it keeps root',
  },
  {
    id: 'node',
    names: ['node'],
    user: '1000:1000',
    writable: [],
    capAdd: [],
    fileEnv: [],
    note: 'the image has a "node" user (1000)',
    untested: 'no e2e image',
  },
  {
    id: 'python',
    names: ['python'],
    writable: [],
    capAdd: [],
    fileEnv: [],
    note: 'no user in the image: the generic uid is used; pip caches need a writable HOME',
  },
  // No e2e stack runs these (e2e/stacks): their claims are untested unless a family says otherwise.
  ...FAMILIES.map((p) => ({ untested: 'no e2e image', ...p })),
];

/** A profile matched to an image reference, with the variant-specific values resolved. */
export interface MatchedProfile {
  profile: ImageProfile;
  alpine: boolean;
  /** `uid:gid` to run as, null to keep the image's user, undefined for the generic uid. */
  user: string | null | undefined;
  writable: string[];
}

/** Repository path of an image reference without registry, tag or digest: `postgres`, `bitnami/mariadb`. */
export function repositoryOf(image: string): { readonly repo: string; readonly tag: string } {
  let known = REPOSITORIES.get(image);
  if (!known) {
    if (REPOSITORIES.size >= 10_000) REPOSITORIES.clear();
    known = Object.freeze(splitRepository(image));
    REPOSITORIES.set(image, known);
  }
  return known;
}

/** repositoryOf's answers: segmentation asks for each service's image once per service pair it weighs. */
const REPOSITORIES = new Map<string, { readonly repo: string; readonly tag: string }>();

function splitRepository(image: string): { repo: string; tag: string } {
  let ref = image.trim();
  const at = ref.indexOf('@');
  if (at >= 0) ref = ref.slice(0, at);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  let tag = '';
  if (colon > slash) {
    tag = ref.slice(colon + 1);
    ref = ref.slice(0, colon);
  }
  const parts = ref.split('/');
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    const host = parts.shift()!;
    if (host !== 'docker.io' && host !== 'index.docker.io' && host !== 'registry-1.docker.io') parts.unshift(host);
  }
  if (parts[0] === 'library') parts.shift();
  return { repo: parts.join('/').toLowerCase(), tag };
}

/**
 * The profile for an image, or undefined for images cuirass knows nothing about. With
 * `compose`, a profile's `compose` fields apply unless the service uses the host's network.
 */
export function profileFor(image: string | undefined, opts: { compose?: boolean; hostNetwork?: boolean } = {}): MatchedProfile | undefined {
  if (!image) return undefined;
  const { repo, tag } = repositoryOf(image);
  const base = PROFILES.find((p) => p.names.includes(repo)) ?? PROFILES.find((p) => p.family?.test(repo));
  if (!base) return undefined;
  const alpine = /(^|[-_.])alpine/.test(tag);
  const own = opts.compose && !opts.hostNetwork && base.compose && (!alpine || base.compose.alpineWritable) ? base.compose : undefined;
  if (own) {
    const profile: ImageProfile = { ...base, user: own.user, writable: own.writable, alpineWritable: own.alpineWritable, capAdd: own.capAdd, note: own.note, alpineUser: undefined };
    return { profile, alpine, user: own.user, writable: alpine && own.alpineWritable ? own.alpineWritable : own.writable };
  }
  return {
    profile: base,
    alpine,
    user: alpine && base.alpineUser ? base.alpineUser : base.user,
    writable: alpine && base.alpineWritable ? base.alpineWritable : base.writable,
  };
}
