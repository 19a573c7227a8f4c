import { isMap, isScalar, isSeq } from 'yaml';
import type { Document, Node, YAMLMap } from 'yaml';
import type { SecretScalar, Transform, TransformContext } from '../src/types.js';
import type { Fix } from '../src/engine/index.js';
import { ignoreRule, pairOf } from '../src/engine/index.js';
import { label, mapItems, nodeAt, scalarAt, seqAt } from './support.js';
import type { PodTemplate } from './support.js';
import { appendForService, listOf } from './compose.js';
import type { ComposeService } from './compose.js';
import { composeEnv } from './compose-env.js';
import type { ComposeEnv } from './compose-env.js';
import type { CredentialUrl } from './secrets.js';
import { composeValue, credentialKind, envFileLine, envName, kubernetesValue, secretName, splitCredentialUrl } from './secrets.js';

const GITIGNORE = '.gitignore';

/** Every spelling of a value that could show up in output: as parsed, and JSON-escaped. */
function spellings(...values: string[]): string[] {
  return [...new Set(values.flatMap((v) => [v, JSON.stringify(v).slice(1, -1)]))];
}

/** Where an entry's value is written: the scalar, after `NAME=` in a list entry. */
function secretScalars(e: ComposeEnv): SecretScalar[] {
  return [{ node: e.value, prefix: e.item ? `${e.name}=` : undefined }];
}

function ignore(f: Fix, line: string): void {
  f.writeFile({ path: GITIGNORE, content: `${line}\n`, mode: 0o644, merge: 'lines', secret: false });
}

/** The lowered names of a `services` mapping, and its names grouped by them (once per mapping: 1,000 services ask). */
const STEMS = new WeakMap<YAMLMap, { stems: Set<string>; alikes: Map<string, string[]> }>();

function stemsOf(services: YAMLMap): { stems: Set<string>; alikes: Map<string, string[]> } {
  let known = STEMS.get(services);
  if (!known) {
    const names = (services.items as { key: unknown }[]).map((p) => String(isScalar(p.key) ? p.key.value : p.key));
    const alikes = new Map<string, string[]>();
    for (const n of names) {
      const base = secretName(n);
      const group = alikes.get(base);
      if (group) group.push(n);
      else alikes.set(base, [n]);
    }
    // The service already spelled like the stem goes first (a stable sort keeps the rest in order).
    for (const [base, group] of alikes) group.sort((a, b) => Number(b === base) - Number(a === base));
    known = { stems: new Set(alikes.keys()), alikes };
    STEMS.set(services, known);
  }
  return known;
}

/**
 * The stem of a service's secret files: its name in lower case, or with `_2`, `_3`… when
 * another service of the file lowers to the same name (`DB` and `db`, which share one file on a
 * case-insensitive disk). The service already spelled that way keeps the plain stem.
 */
export function serviceStem(svc: ComposeService): string {
  const services = svc.root.get('services', true) as unknown as YAMLMap;
  const { stems, alikes } = stemsOf(services);
  const base = secretName(svc.name);
  const alike = alikes.get(base) ?? [];
  let stem = base;
  for (let i = 2, k = alike.indexOf(svc.name); k > 0; k--) {
    do stem = `${base}_${i++}`;
    while (stems.has(stem));
  }
  return stem;
}

function composeService(svc: ComposeService, ctx: TransformContext): void {
  const stem = serviceStem(svc);
  const envFile = `secrets/${stem}.env`;
  const envNode = pairOf(svc.node, 'environment')?.value as YAMLMap | undefined;
  const entries = composeEnv(svc);
  // When every entry of the service's own environment leaves it, the key goes too (not `[]`).
  const fileEnvOf = (name: string) => svc.profile?.profile.fileEnv.includes(name) ?? false;
  const leaving = entries.filter((e) => {
    const kind = credentialKind(e.name, e.raw, ctx.settings.secretPatterns);
    return kind && !e.shared && (e.shadowed || (kind === 'name' && !fileEnvOf(e.name) && !e.overrides));
  });
  const ownItems = isSeq(envNode) || isMap(envNode) ? (envNode.items as unknown[]) : [];
  const emptied = ownItems.length > 0 && ownItems.every((n) => leaving.some((e) => e.item === n || e.pair === n));
  const removeEntry = (f: Fix, e: ComposeEnv) => {
    if (emptied) f.remove(svc.node, 'environment');
    else if (e.item && isSeq(envNode)) f.removeItem(envNode, e.item);
    else if (e.pair && isMap(envNode)) f.remove(envNode, e.name);
  };
  for (const e of entries) {
    const kind = credentialKind(e.name, e.raw, ctx.settings.secretPatterns);
    if (!kind) continue;
    const value = composeValue(e.raw);
    const url = kind === 'url' ? splitCredentialUrl(e.raw) : undefined;
    const twice = e.item !== undefined && entries.filter((x) => x.name === e.name && x.item).length > 1;
    const field = twice ? `${svc.path}.environment[${e.index}].${e.name}` : `${svc.path}.environment.${e.name}`;
    if (e.shared) {
      composeShared(svc, e, url, ctx, field);
      continue;
    }
    if (e.shadowed && e.item && isSeq(envNode)) {
      // Compose keeps the last entry of a name; this value never reaches the app.
      ctx.report({
        at: e.item,
        field,
        message: `service "${svc.name}" has a literal ${e.name} that a later entry of the list overrides; the entry is removed (its value is not in effect) and the later one moves`,
        severity: 'high',
        secrets: spellings(value, e.raw),
        redact: secretScalars(e),
        fix: (f) => removeEntry(f, e),
      });
      continue;
    }
    const fileEnv = fileEnvOf(e.name);
    const secret = secretName(stem, e.name);
    let why = '';
    // An own value that overrides a merged one is replaced where it stands: removing it (for
    // an env file or a *_FILE variable) would let the merged value through.
    if ((url && !fileEnv) || e.overrides) {
      const moved = ctx.hasFolder ? viaDotenv(svc, e, envName(svc.name, e.name, ...(url ? ['PASSWORD'] : [])), url, ctx, false, field) : 'the secret needs the folder of a Compose file (not stdin)';
      if (moved === true) continue;
      // Without a folder the fix's refusal says why; the message must not say it again.
      if (ctx.hasFolder) why = ` (${moved})`;
      if (e.overrides) {
        ctx.report({
          at: e.pair?.key as Node,
          field,
          message: `service "${svc.name}" has a literal ${e.name} that overrides a merged one, and ${moved}; move it by hand`,
          severity: 'high',
          secrets: spellings(value, e.raw),
          redact: secretScalars(e),
        });
        continue;
      }
    }
    ctx.report({
      at: e.item ?? (e.pair?.key as Node),
      field,
      message: fileEnv
        ? `service "${svc.name}" has a literal ${e.name}; it moves to the secret file secrets/${secret} and ${e.name}_FILE`
        : `service "${svc.name}" has a literal ${kind === 'url' ? 'credential in the connection string ' : ''}${e.name}; it moves to ${envFile}${why}`,
      severity: 'high',
      secrets: spellings(value, e.raw),
      redact: secretScalars(e),
      fix: (f) => {
        if (!ctx.hasFolder) return void f.refuse('secret files need the folder of a Compose file (not stdin)');
        if (fileEnv) {
          f.writeFile({ path: `secrets/${secret}`, content: value, mode: 0o444, dirMode: 0o700, merge: 'replace', secret: true });
          f.ensure(svc.root, ['secrets', secret], { file: `./secrets/${secret}` });
          if (!listOf(svc.effective.secrets).some((s) => s === secret || (typeof s === 'object' && s && (s as { source?: unknown }).source === secret)))
            appendForService(f, svc, 'secrets', secret);
          if (e.item) f.replace(e.item, `${e.name}_FILE=/run/secrets/${secret}`);
          else if (e.pair) {
            f.replace(e.pair.key as Node, `${e.name}_FILE`);
            f.replace(e.value, `/run/secrets/${secret}`);
          }
        } else {
          f.writeFile({ path: envFile, content: `${envFileLine(e.name, value)}\n`, mode: 0o600, dirMode: 0o700, merge: 'env', secret: true });
          removeEntry(f, e);
          const files = listOf(svc.effective.env_file).map((x) => (typeof x === 'object' && x ? String((x as { path?: unknown }).path) : String(x)));
          if (!files.some((x) => x.replace(/^\.\//, '') === envFile)) appendForService(f, svc, 'env_file', envFile);
        }
        ignore(f, ignoreRule('secrets', true));
      },
    });
  }
}

/** Compose reads the project's `.env` for `${VAR}` interpolation, for every service alike. */
const DOTENV = '.env';

/** The `.env` variables a pass has given out in a document, with their values. */
const CLAIMED = new WeakMap<Document.Parsed, Map<string, string>>();

/**
 * Why the project's `.env` cannot take `line` (defining `variable`), or undefined when it can:
 * it must not be tracked by git, and must not define the name for something else already.
 */
function dotenvBlocked(ctx: TransformContext, variable: string, line: string): string | undefined {
  const dotenv = ctx.sibling(DOTENV);
  if (dotenv?.refused) return `${dotenv.refused}, so the password cannot go there`;
  if (dotenv?.tracked) return `git tracks ${DOTENV} (it is committed), so the password cannot go there`;
  if (dotenv && !dotenv.ignored) return `${DOTENV} exists and git does not ignore it, so the password cannot go there`;
  const lines = dotenv?.text.split(/\r?\n/) ?? [];
  if (!lines.includes(line) && lines.some((l) => new RegExp(`^\\s*(export\\s+)?${variable}\\s*=`).test(l))) return `${DOTENV} already defines ${variable}`;
  return undefined;
}

/**
 * Moves a value (or a connection string's password) to the project's git-ignored `.env`; the
 * file reads it back as `${NAME:?…}`, so a missing `.env` stops Compose instead of starting
 * the app with an empty value. Returns true when reported, or why it cannot be done.
 */
function viaDotenv(svc: ComposeService, e: ComposeEnv, base: string, url: CredentialUrl | undefined, ctx: TransformContext, shared: boolean, field: string): true | string {
  const secretValue = composeValue(url ? url.password : e.raw);
  // Two services whose names normalize alike (my-app, my_app) must not share a variable.
  const claimed = CLAIMED.get(svc.doc) ?? new Map<string, string>();
  CLAIMED.set(svc.doc, claimed);
  let variable = base;
  for (let i = 2; claimed.has(variable) && claimed.get(variable) !== secretValue; i++) variable = `${base}_${i}`;
  const line = envFileLine(variable, secretValue);
  const blocked = dotenvBlocked(ctx, variable, line);
  if (blocked) return blocked;
  claimed.set(variable, secretValue);
  const reference = `\${${variable}:?set it in ${DOTENV}}`;
  const text = url ? `${url.before}${reference}${url.after}` : reference;
  const what = url ? `a password in the connection string ${e.name}` : `a literal ${e.name}`;
  const from = shared ? ` from the anchor &${e.shared}, which other services may share,` : '';
  ctx.report({
    at: e.item ?? (e.pair?.key as Node),
    field,
    message: `service "${svc.name}" gets ${what}${from}; it moves to ${DOTENV} as ${variable}, and ${url ? e.name : 'the file'} reads it as \${${variable}}`,
    severity: 'high',
    secrets: spellings(secretValue, url ? url.password : e.raw, e.raw),
    redact: secretScalars(e),
    fix: (f) => {
      // In place, anchor kept: every service that shares the value reads the same variable.
      f.replaceShared(e.value, e.item ? `${e.name}=${text}` : text);
      f.writeFile({ path: DOTENV, content: `${line}\n`, mode: 0o600, merge: 'env', secret: true });
      if (!ctx.sibling(DOTENV)?.ignored) ignore(f, ignoreRule(DOTENV));
    },
  });
  return true;
}

/** A literal that services share through an anchor goes to `.env`, or is reported when it cannot. */
function composeShared(svc: ComposeService, e: ComposeEnv, url: CredentialUrl | undefined, ctx: TransformContext, field: string): void {
  // Named after the anchor: every service that reaches the value names the same variable.
  const variable = envName(...(e.sharedScalar ? [e.shared!] : [e.shared!, e.name]), ...(url ? ['PASSWORD'] : []));
  const moved = ctx.hasFolder ? viaDotenv(svc, e, variable, url, ctx, true, field) : 'the secret needs the folder of a Compose file (not stdin)';
  if (moved === true) return;
  ctx.report({
    at: e.item ?? (e.pair?.key as Node),
    field,
    message: `service "${svc.name}" gets a literal ${e.name} from the anchor &${e.shared}, shared with other services, and ${moved}; move it by hand`,
    severity: 'high',
    secrets: spellings(composeValue(e.raw), e.raw),
    redact: secretScalars(e),
  });
}

/** `base`, or `base_2`, `base_3`… when a variable of that name exists already. */
function freeName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}

function kubernetesPod(pod: PodTemplate, ctx: TransformContext): void {
  const workload = pod.object.name ?? pod.object.kind.toLowerCase();
  // A Deployment and a CronJob may share a name: each kind gets its own Secret.
  const kind = pod.object.kind === 'Deployment' || !pod.object.name ? '' : `-${pod.object.kind.toLowerCase()}`;
  const secretObject = `${workload}${kind}-env-secrets`.slice(0, 253);
  const stem = (ctx.file.split(/[\\/]/).pop() ?? 'manifest').replace(/\.(ya?ml|json)$/i, '');
  const sidecar = `${stem}.secrets.yaml`;
  const keys = new Map<string, string>();
  const addSecret = (f: Fix, key: string, value: string) => {
    // A committed sidecar takes no secret.
    if (ctx.hasFolder && ctx.sibling(sidecar)?.tracked) return void f.refuse(`git tracks ${sidecar} (it is committed), so the secret cannot go there`);
    const metadata: Record<string, unknown> = { name: secretObject };
    if (pod.object.namespace) metadata.namespace = pod.object.namespace;
    metadata.labels = { 'app.kubernetes.io/managed-by': 'cuirass' };
    f.addDocument({
      key: `Secret/${pod.object.namespace ?? ''}/${secretObject}`,
      object: { apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', stringData: { [key]: value } },
      file: sidecar,
      secret: true,
    });
    ignore(f, ignoreRule(sidecar));
  };
  /** The Secret key for a value: the variable name, else container.name (then .2, .3…) when that holds another value. */
  const keyFor = (container: string, name: string, value: string) => {
    let key = name;
    for (let i = 1; keys.has(key) && keys.get(key) !== value; i++) key = i === 1 ? `${container}.${name}` : `${container}.${name}.${i}`;
    keys.set(key, value);
    return key;
  };
  for (const c of pod.containers) {
    const env = seqAt(c.node, ['env']);
    const items = mapItems(env);
    const names = items.map((item) => scalarAt(item, ['name']));
    const taken = new Set(names.filter((n): n is string => typeof n === 'string'));
    for (const [index, item] of items.entries()) {
      const name = scalarAt(item, ['name']);
      // Two entries of one name (the last is in effect) are two findings, each with its own key.
      const field = names.filter((n) => n === name).length > 1 ? `${c.path}.env[${index}].${name}` : `${c.path}.env.${name}`;
      const valueNode = nodeAt(item, ['value']);
      if (typeof name !== 'string' || !isScalar(valueNode) || nodeAt(item, ['valueFrom'])) continue;
      const raw = valueNode.value;
      const kind = credentialKind(name, raw, ctx.settings.secretPatterns);
      if (!kind) continue;
      const url = kind === 'url' ? splitCredentialUrl(String(raw)) : undefined;
      if (url && env) {
        // The connection string keeps its shape: only the password moves, into a variable
        // defined just before it, which Kubernetes substitutes for `$(NAME)`.
        const variable = freeName(`${name}_PASSWORD`, taken);
        taken.add(variable);
        const password = kubernetesValue(url.password);
        const key = keyFor(c.name, variable, password);
        ctx.report({
          at: valueNode,
          field,
          message: `${label(c)} has a password in the connection string ${name}; it moves to the Secret ${secretObject} as ${variable}, and ${name} refers to it as $(${variable})`,
          severity: 'high',
          secrets: spellings(password, url.password, String(raw)),
          redact: [{ node: valueNode }],
          fix: (f) => {
            f.insertBefore(env, item, { name: variable, valueFrom: { secretKeyRef: { name: secretObject, key } } });
            f.replace(valueNode, `${url.before}$(${variable})${url.after}`);
            addSecret(f, key, password);
          },
        });
        continue;
      }
      const value = kubernetesValue(String(raw));
      const key = keyFor(c.name, name, value);
      ctx.report({
        at: valueNode,
        field,
        message: `${label(c)} has a literal ${name}; it moves to the Secret ${secretObject}`,
        severity: 'high',
        secrets: spellings(value, String(raw)),
        redact: [{ node: valueNode }],
        fix: (f) => {
          f.remove(item, 'value');
          f.ensure(item, ['valueFrom'], { secretKeyRef: { name: secretObject, key } });
          addSecret(f, key, value);
        },
      });
    }
  }
}

/** OWASP rule 12: credentials belong in secrets, not in literal environment variables. */
export default {
  id: 'secrets-from-env',
  owasp: '12',
  title: 'Move literal credentials out of environment variables',
  why: 'Literal credentials in a manifest end up in git history, in `docker inspect`, in logs and in every copy of the file.',
  changes: {
    kubernetes: 'a literal credential-like env value moves to a generated Secret <workload>-env-secrets (git-ignored file, or appended to the stream with -) and becomes a secretKeyRef; a connection string keeps its shape and only its password moves, as $(NAME_PASSWORD)',
    compose: '*_FILE variables with a secret file where the image supports them, otherwise a git-ignored env file; a connection string, or a value shared through an anchor, reads its password from the project\'s git-ignored .env',
  },
  breaks: 'The secret files (Compose) or the generated Secret (Kubernetes) must be deployed with the manifest; they are git-ignored, so each environment provides its own.',
  severity: 'high',
  pod: kubernetesPod,
  service: composeService,
} satisfies Transform;

