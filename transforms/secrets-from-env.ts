import { isMap, isScalar, isSeq } from 'yaml';
import type { Node, Pair, YAMLMap } from 'yaml';
import type { Transform, TransformContext } from '../src/types.js';
import type { Fix } from '../src/engine/index.js';
import { pairOf } from '../src/engine/index.js';
import { label, mapItems, nodeAt, scalarAt, seqAt } from './support.js';
import type { PodTemplate } from './support.js';
import { appendForService, listOf } from './compose.js';
import type { ComposeService } from './compose.js';
import type { CredentialUrl } from './secrets.js';
import { composeValue, credentialKind, envFileLine, envName, kubernetesValue, secretName, splitCredentialUrl } from './secrets.js';

const GITIGNORE = '.gitignore';

/** Every spelling of a value that could show up in output: as parsed, and JSON-escaped. */
function spellings(...values: string[]): string[] {
  return [...new Set(values.flatMap((v) => [v, JSON.stringify(v).slice(1, -1)]))];
}

function ignore(f: Fix, line: string): void {
  f.writeFile({ path: GITIGNORE, content: `${line}\n`, mode: 0o644, merge: 'lines', secret: false });
}

/** One literal variable of a Compose service's own `environment`. */
interface ComposeEnv {
  name: string;
  raw: string;
  /** List item (`- NAME=value`) or mapping pair (`NAME: value`). */
  item?: Node;
  pair?: Pair;
}

function composeEnv(svc: ComposeService): { entries: ComposeEnv[]; literal: boolean } {
  const node = pairOf(svc.node, 'environment')?.value;
  if (isSeq(node)) {
    const entries = node.items.filter(isScalar).flatMap((item) => {
      const text = String(item.value ?? '');
      const eq = text.indexOf('=');
      return eq > 0 ? [{ name: text.slice(0, eq), raw: text.slice(eq + 1), item: item as Node }] : [];
    });
    return { entries, literal: true };
  }
  if (isMap(node)) {
    const entries = (node.items as Pair[]).flatMap((pair) => {
      if (!isScalar(pair.key) || !isScalar(pair.value) || pair.value.value == null) return [];
      return [{ name: String(pair.key.value), raw: String(pair.value.value), pair }];
    });
    return { entries, literal: true };
  }
  return { entries: [], literal: false };
}

function composeService(svc: ComposeService, ctx: TransformContext): void {
  const { entries, literal } = composeEnv(svc);
  const envFile = `secrets/${secretName(svc.name)}.env`;
  const effective = svc.effective.environment;
  const inherited = !literal && effective != null ? listOf(effective) : [];
  if (!literal && (Array.isArray(effective) ? inherited.some((e) => credentialKind(String(e).split('=')[0], String(e).split('=').slice(1).join('='), ctx.settings.secretPatterns)) : false)) {
    ctx.report({ at: svc.node, field: `${svc.path}.environment`, message: `service "${svc.name}" inherits literal credentials from a shared anchor; move them by hand` });
  }
  const envNode = pairOf(svc.node, 'environment')?.value as YAMLMap | undefined;
  for (const e of entries) {
    const kind = credentialKind(e.name, e.raw, ctx.settings.secretPatterns);
    if (!kind) continue;
    const value = composeValue(e.raw);
    const fileEnv = svc.profile?.profile.fileEnv.includes(e.name) ?? false;
    const secret = secretName(svc.name, e.name);
    const url = kind === 'url' && !fileEnv ? splitCredentialUrl(e.raw) : undefined;
    let why = '';
    if (url && ctx.hasFolder) {
      const shaped = composeConnectionString(svc, e, url, ctx);
      if (shaped === true) continue;
      why = ` (${shaped})`;
    }
    ctx.report({
      at: e.item ?? (e.pair?.key as Node),
      field: `${svc.path}.environment.${e.name}`,
      message: fileEnv
        ? `service "${svc.name}" has a literal ${e.name}; it moves to the secret file secrets/${secret} and ${e.name}_FILE`
        : `service "${svc.name}" has a literal ${kind === 'url' ? 'credential in the connection string ' : ''}${e.name}; it moves to ${envFile}${why}`,
      severity: 'high',
      secrets: spellings(value, e.raw),
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
            f.replace(e.pair.value as Node, `/run/secrets/${secret}`);
          }
        } else {
          f.writeFile({ path: envFile, content: `${envFileLine(e.name, value)}\n`, mode: 0o600, dirMode: 0o700, merge: 'env', secret: true });
          if (e.item && isSeq(envNode)) f.removeItem(envNode, e.item);
          else if (e.pair && isMap(envNode)) f.remove(envNode, e.name);
          const files = listOf(svc.effective.env_file).map((x) => (typeof x === 'object' && x ? String((x as { path?: unknown }).path) : String(x)));
          if (!files.some((x) => x.replace(/^\.\//, '') === envFile)) appendForService(f, svc, 'env_file', envFile);
        }
        ignore(f, '/secrets/');
      },
    });
  }
}

/** `base`, or `base_2`, `base_3`… when a variable of that name exists already. */
function freeName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}

/** Compose reads the project's `.env` for `${VAR}` interpolation: the one place a password can go and a connection string keep its shape. */
const DOTENV = '.env';

/**
 * A connection string keeps its shape: its password moves to the project's git-ignored `.env`
 * and the string reads it back through interpolation, `${NAME:?…}` so that a missing `.env`
 * stops Compose instead of connecting with an empty password. Returns true when reported, or
 * why the whole variable has to move instead.
 */
function composeConnectionString(svc: ComposeService, e: ComposeEnv, url: CredentialUrl, ctx: TransformContext): true | string {
  const variable = envName(svc.name, e.name, 'PASSWORD');
  const password = composeValue(url.password);
  const line = envFileLine(variable, password);
  const dotenv = ctx.sibling(DOTENV);
  if (dotenv && !dotenv.ignored) return `${DOTENV} exists and git does not ignore it, so the password cannot go there`;
  const lines = dotenv?.text.split(/\r?\n/) ?? [];
  if (!lines.includes(line) && lines.some((l) => new RegExp(`^\\s*(export\\s+)?${variable}\\s*=`).test(l))) {
    return `${DOTENV} already defines ${variable}`;
  }
  const shaped = `${url.before}\${${variable}:?set it in ${DOTENV}}${url.after}`;
  ctx.report({
    at: e.item ?? (e.pair?.key as Node),
    field: `${svc.path}.environment.${e.name}`,
    message: `service "${svc.name}" has a password in the connection string ${e.name}; it moves to ${DOTENV} as ${variable}, and ${e.name} reads it as \${${variable}}`,
    severity: 'high',
    secrets: spellings(password, url.password, e.raw),
    fix: (f) => {
      if (e.item) f.replace(e.item, `${e.name}=${shaped}`);
      else if (e.pair) f.replace(e.pair.value as Node, shaped);
      f.writeFile({ path: DOTENV, content: `${line}\n`, mode: 0o600, merge: 'env', secret: true });
      if (!dotenv?.ignored) ignore(f, `/${DOTENV}`);
    },
  });
  return true;
}

function kubernetesPod(pod: PodTemplate, ctx: TransformContext): void {
  const workload = pod.object.name ?? pod.object.kind.toLowerCase();
  const secretObject = `${workload}-env-secrets`.slice(0, 253);
  const stem = (ctx.file.split(/[\\/]/).pop() ?? 'manifest').replace(/\.(ya?ml|json)$/i, '');
  const sidecar = `${stem}.secrets.yaml`;
  const keys = new Map<string, string>();
  const addSecret = (f: Fix, key: string, value: string) => {
    const metadata: Record<string, unknown> = { name: secretObject };
    if (pod.object.namespace) metadata.namespace = pod.object.namespace;
    metadata.labels = { 'app.kubernetes.io/managed-by': 'cuirass' };
    f.addDocument({
      key: `Secret/${pod.object.namespace ?? ''}/${secretObject}`,
      object: { apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', stringData: { [key]: value } },
      file: sidecar,
      secret: true,
    });
    ignore(f, `/${sidecar}`);
  };
  /** The Secret key for a value: the variable name, or container.name when two containers differ. */
  const keyFor = (container: string, name: string, value: string) => {
    const key = keys.has(name) && keys.get(name) !== value ? `${container}.${name}` : name;
    keys.set(key, value);
    return key;
  };
  for (const c of pod.containers) {
    if (c.group === 'ephemeralContainers') continue;
    const env = seqAt(c.node, ['env']);
    const items = mapItems(env);
    const taken = new Set(items.map((item) => scalarAt(item, ['name'])).filter((n): n is string => typeof n === 'string'));
    for (const item of items) {
      const name = scalarAt(item, ['name']);
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
          field: `${c.path}.env.${name}`,
          message: `${label(c)} has a password in the connection string ${name}; it moves to the Secret ${secretObject} as ${variable}, and ${name} refers to it as $(${variable})`,
          severity: 'high',
          secrets: spellings(password, url.password, String(raw)),
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
        field: `${c.path}.env.${name}`,
        message: `${label(c)} has a literal ${name}; it moves to the Secret ${secretObject}`,
        severity: 'high',
        secrets: spellings(value, String(raw)),
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
  breaks: 'The secret files (Compose) or the generated Secret (Kubernetes) must be deployed with the manifest; they are git-ignored, so each environment provides its own.',
  severity: 'high',
  pod: kubernetesPod,
  service: composeService,
} satisfies Transform;

