/** Deciding what counts as a literal credential in an environment variable. */

/** `scheme://user:password@host`: a URL with a password in it. */
const CREDENTIAL_URL = /^[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:([^\s@/]+)@[^\s]+$/i;

/** A connection string cut around its password: `before + password + after` is the whole text. */
export interface CredentialUrl {
  before: string;
  password: string;
  after: string;
}

/** The parts of `scheme://user:password@host…`, or undefined for anything else. */
export function splitCredentialUrl(text: string): CredentialUrl | undefined {
  if (!CREDENTIAL_URL.test(text)) return undefined;
  const userEnd = text.indexOf(':', text.indexOf('://') + 3);
  const at = text.indexOf('@', userEnd);
  return { before: text.slice(0, userEnd + 1), password: text.slice(userEnd + 1, at), after: text.slice(at) };
}

/** The value Kubernetes gives a container for a `value:` without `$(VAR)` references. */
export function kubernetesValue(raw: string): string {
  return raw.replace(/\$\$/g, '$');
}

/** An environment variable name made from parts: (web, DATABASE_URL) → WEB_DATABASE_URL. */
export function envName(...parts: string[]): string {
  return parts
    .join('_')
    .toUpperCase()
    .replace(/[^A-Z0-9_]+/g, '_')
    .replace(/^[0-9_]+/, '');
}

/** Name parts that mark a setting about a secret rather than the secret itself. */
const NOT_A_SECRET = /(_FILE|_PATH|_DIR|_TTL|_EXPIRY|_EXPIRES|_EXPIRATION|_TIMEOUT|_LENGTH|_SIZE|_NAME|_ENABLED|_REF|_ARN|_ID|_TYPE|_HEADER|_ALGORITHM|_FORMAT)$/i;

/** Why a variable holds a credential, or undefined when it does not (or must not be touched). */
export function credentialKind(name: string, value: unknown, patterns: readonly string[]): 'name' | 'url' | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value);
  if (text === '' || text.includes('${') || /\$[A-Za-z_]/.test(text.replace(/\$\$/g, '')) || text.includes('$(')) return undefined;
  if (CREDENTIAL_URL.test(text)) return 'url';
  // A path to a mounted secret (`/run/secrets/db-password`) is a reference, not the secret.
  if (/^\/(var\/)?run\/secrets\//.test(text)) return undefined;
  const upper = name.toUpperCase();
  if (NOT_A_SECRET.test(upper)) return undefined;
  if (!patterns.some((p) => upper.includes(p.toUpperCase()))) return undefined;
  if (/^(true|false|yes|no|on|off|null|none|changeme|\*+)$/i.test(text) || /^\d{1,5}$/.test(text)) return undefined;
  return 'name';
}

/** The value the application sees: Compose turns `$$` into `$`. */
export function composeValue(raw: string): string {
  return raw.replace(/\$\$/g, '$');
}

/**
 * One `NAME=value` line of a Compose env file that reads back as exactly `value`, by compose-go's
 * dotenv rules (and docker-compose 1.29's python-dotenv, except for `$` next to a quote or a
 * line break). Single quotes keep every byte, unless a backslash would escape a quote, another
 * backslash or the closing quote (`'SECRET\'` never ends); such a value goes unquoted when it
 * can (nothing there is read but `$`, ` #` and the ends' blanks), else double-quoted with `\\`,
 * `\"`, `\n` and `$$`.
 */
export function envFileLine(name: string, value: string): string {
  if (!/['\n\r]/.test(value) && !/\\(\\|'|$)/.test(value)) return `${name}='${value}'`;
  if (/^[^\s'"][^\n\r#$]*$/.test(value) && !/\s$/.test(value)) return `${name}=${value}`;
  const escaped = value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\$/g, '$$$$');
  return `${name}="${escaped}"`;
}

/** A file or key name made from a variable name: DB_PASSWORD → db_password. */
export function secretName(...parts: string[]): string {
  return parts
    .join('_')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/^[._-]+/, '')
    .slice(0, 120);
}
