import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { TRANSFORMS } from '../transforms/index.js';
import { processText } from '../src/run.js';
import { runProject } from '../src/project.js';
import type { ProjectObject, Transform } from '../src/types.js';
import { cli } from './support/run-cli.js';

/**
 * Issue 13, crashes: the run-wide steps (transforms with `project`, which read every object of
 * a run at once) are total over malformed shapes. Every field of a stream that holds each kind
 * those steps read is replaced by null, a number, a string, a map where a list is expected, a
 * list of null…: no step throws, the step answers the same from the run's views as from whole
 * objects, and what it generates is plain YAML.
 */

const BASE = `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop, labels: {app: api}}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata:
      labels: {app: api, app.kubernetes.io/version: "1"}
      annotations: {prometheus.io/scrape: "true", prometheus.io/port: "9100"}
    spec:
      serviceAccountName: api
      automountServiceAccountToken: true
      initContainers:
      - {name: wait, image: busybox:1, args: ["db.shop", 5432], command: [sh]}
      containers:
      - name: api
        image: quay.io/prometheus/prometheus:v2
        env:
        - {name: DB, value: "postgres://db:5432/x"}
        - {name: CFG, valueFrom: {configMapKeyRef: {name: cfg, key: k}}}
        envFrom:
        - configMapRef: {name: cfg}
        ports:
        - {name: metrics, containerPort: 9100}
      volumes:
      - {name: c, configMap: {name: cfg}}
      - name: p
        projected: {sources: [{configMap: {name: cfg}}, {serviceAccountToken: {path: t}}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: job, namespace: shop}
spec:
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: job}}
        spec:
          containers: [{name: j, image: x, env: [{name: API, value: "http://api"}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: solo, labels: {app: solo}}
spec: {containers: [{name: s, image: x, command: [run, cache]}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {URL: "http://cache:6379", N: "3"}
---
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: shop
  labels: {app: db}
  annotations: {prometheus.io/scrape: "true", prometheus.io/port: "9187"}
spec:
  type: ClusterIP
  selector: {app: db}
  ports: [{name: pg, port: 5432, targetPort: 5432, protocol: TCP}, {name: metrics, port: 9187}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {type: LoadBalancer, selector: {app: api}, ports: [{port: 80, targetPort: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: cache}
spec: {selector: {app: cache}, ports: [{port: 6379}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  defaultBackend: {service: {name: api, port: {number: 80}}}
  rules: [{host: a.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: own, namespace: other, labels: {team: a}}
spec: {podSelector: {matchLabels: {app: x}, matchExpressions: [{key: tier, operator: In, values: [a]}]}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: v}
webhooks: [{name: v.example.io, clientConfig: {service: {name: db, namespace: shop, port: 443}}}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: m}
webhooks: [{name: m.example.io, clientConfig: {service: {name: api, namespace: shop}}}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1.example.io}
spec: {service: {name: api, namespace: shop, port: 443}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.io}
spec:
  conversion:
    webhook: {clientConfig: {service: {name: db, namespace: shop}}}
    webhookClientConfig: {service: {name: db, namespace: shop}}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: db, namespace: monitoring}
spec:
  selector: {matchLabels: {app: db}, matchExpressions: [{key: app, operator: Exists}]}
  namespaceSelector: {matchNames: [shop], any: false}
  endpoints: [{port: pg}, {targetPort: 9187}]
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  namespaceSelector: {any: true}
  podMetricsEndpoints: [{port: metrics}, {portNumber: 9100}, {targetPort: 9100}]
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: monitoring}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: api, namespace: shop}
automountServiceAccountToken: false
`;

/** What a field may hold instead: the shapes a broken or hostile file gives. */
const SHAPES: unknown[] = [null, 7, -1.5, 'x', '', true, {}, { k: 'v' }, [], [null], [7], ['x'], [{}], [[]], [{ k: null }]];

type Path = (string | number)[];

const base = (): Record<string, unknown>[] => parseAllDocuments(BASE).map((d) => d.toJS() as Record<string, unknown>);

/** Every path to a value below an object (map keys and list indexes), the object itself excluded. */
function paths(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
}

function mutate(objects: Record<string, unknown>[], doc: number, path: Path, shape: unknown): Record<string, unknown>[] {
  const copy = structuredClone(objects);
  let parent: any = copy[doc];
  for (const k of path.slice(0, -1)) parent = parent[k];
  parent[path[path.length - 1]] = structuredClone(shape);
  return copy;
}

const RUN_WIDE = TRANSFORMS.filter((t) => t.project);

function check(t: Transform, objects: Record<string, unknown>[], egress: boolean): void {
  const ctx = { level: 'restricted' as const, settings: DEFAULT_SETTINGS, flags: { egress } };
  const whole: ProjectObject[] = objects.map((object) => ({ object, file: 'app.yaml', dir: '' }));
  const result = t.project!(whole, ctx);
  if (t.view) {
    const views = whole.map((o) => ({ ...o, object: t.view!(structuredClone(o.object)) }));
    expect(JSON.stringify(t.project!(views, ctx))).toBe(JSON.stringify(result));
  }
  for (const d of result.documents) {
    const text = stringify(d.object);
    expect(text).not.toMatch(/(^|\s)[&*]a\d+\b/m);
    expect(typeof (d.object.metadata as { name?: unknown }).name).toBe('string');
  }
  for (const f of result.findings) expect(typeof f.message).toBe('string');
}

describe('run-wide steps over every malformed shape of every field they read', () => {
  it('there is a run-wide step to check', () => {
    expect(RUN_WIDE.map((t) => t.id)).toContain('network-segmentation');
  });
  const objects = base();
  for (const t of RUN_WIDE) {
    // Tests of at most 24 fields each, so that each stays well inside the timeout on a busy machine.
    objects.forEach((o, doc) => {
      const all = paths(o);
      for (let from = 0; from < all.length; from += 24) {
        const some = all.slice(from, from + 24);
        it(`${t.id}: fields ${from + 1}-${from + some.length} of the ${String(o.kind)} replaced by each shape: no exception, views answer as whole objects, plain YAML out`, () => {
          some.forEach((path, n) => {
            for (const shape of SHAPES) {
              try {
                check(t, mutate(objects, doc, path, shape), n % 2 === 1);
              } catch (e) {
                throw new Error(`${String(o.kind)} ${path.join('.')} = ${JSON.stringify(shape)}: ${(e as Error).message}`);
              }
            }
          });
        });
      }
    });
    it(`${t.id}: every field of every document is mutated`, () => {
      expect(objects.reduce((n, o) => n + paths(o).length, 0)).toBeGreaterThan(250);
    });
    it(`${t.id}: objects that are not maps, and whole objects replaced by each shape`, () => {
      for (const shape of SHAPES) check(t, [...objects, shape as Record<string, unknown>], true);
      objects.forEach((_, doc) => {
        for (const shape of SHAPES) check(t, objects.map((o, i) => (i === doc ? (shape as Record<string, unknown>) : o)), false);
      });
    });
  }
});

const options = { transforms: TRANSFORMS, level: 'restricted' as const, settings: DEFAULT_SETTINGS, flags: { egress: true } };

describe('the whole run in process (every transform, then the run-wide steps) over random mutations', () => {
  const objects = base();
  const all = objects.flatMap((o, doc) => paths(o).map((path) => ({ doc, path })));
  it('never throws; every result is a change, no change or an error with a line and column', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(all.length - 1), shape: fc.nat(SHAPES.length - 1) }), { minLength: 1, maxLength: 4 }),
        (mutations) => {
          let mutated = objects;
          for (const m of mutations) {
            const { doc, path } = all[m.at];
            try {
              mutated = mutate(mutated, doc, path, SHAPES[m.shape]);
            } catch {
              // An earlier mutation removed the path's parent: this one has nothing to replace.
            }
          }
          const text = mutated.map((o) => stringify(o)).join('---\n');
          const o = processText('app.yaml', text, options, true);
          expect(['changed', 'unchanged', 'error']).toContain(o.status);
          if (o.status === 'error') expect([o.line, o.col]).toEqual([expect.any(Number), expect.any(Number)]);
          runProject([{ o, dir: '' }], options);
        },
      ),
      { numRuns: 60, seed: 1314 },
    );
  });
});

describe('through the built CLI: no stack trace, exit 0 or 2 with file:line:col', () => {
  const cases: Record<string, string> = {
    'containers: [null]': 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [null]}\n',
    'env, envFrom, volumes and args as a map, a number or [null]':
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    metadata: {labels: {app: d}}\n    spec:\n      containers: [{name: c, image: x, env: {a: 1}, envFrom: 3, args: [null]}]\n      volumes: [null]\n',
    'Service ports: {} and Ingress rules: [null]':
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: s}, ports: {}}\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {rules: [null]}\n',
    'webhooks and monitors of the wrong shape':
      'apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: v}\nwebhooks: {clientConfig: 1}\n---\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: m}\nspec: {selector: [null], endpoints: x}\n',
  };
  for (const [name, input] of Object.entries(cases)) {
    it(name, () => {
      for (const args of [['-'], ['-', '--egress']]) {
        const r = cli(args, { input });
        expect(r.stderr).not.toMatch(/\n\s+at |TypeError|ReferenceError/);
        expect([0, 2]).toContain(r.status);
        if (r.status === 2) expect(r.stderr).toMatch(/<stdin>:\d+:\d+/);
      }
    });
  }
});
