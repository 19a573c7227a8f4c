import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { hardenText } from '../src/harden.js';
import type { HardenOptions } from '../src/harden.js';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import { TRANSFORMS } from '../transforms/index.js';
import { kubernetesNetworkPolicies, networkView } from '../transforms/network-policies.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support/run-cli.js';
import type { ProjectObject } from '../src/types.js';

const opts: HardenOptions = {
  transforms: TRANSFORMS.filter((t) => t.id === 'network-segmentation'),
  level: 'restricted',
  settings: DEFAULT_SETTINGS,
};

// Compose segmentation: test/compose-segmentation.test.ts.

const APP = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: shop/web:1
        env:
        - {name: API_URL, value: "http://api.shop.svc.cluster.local:8080"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: shop/api:1
        envFrom: [{configMapRef: {name: api-config}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: api-config, namespace: shop}
data: {REDIS_ADDR: "redis:6379"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: report, namespace: analytics}
spec:
  template:
    metadata: {labels: {app: report}}
    spec:
      containers:
      - name: report
        image: shop/report:1
        args: ["--api=api.shop:8080"]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{port: 8080, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: redis, namespace: shop}
spec:
  selector: {app: redis}
  ports: [{port: 6379}]
---
apiVersion: v1
kind: Service
metadata: {name: orphan, namespace: shop}
spec:
  selector: {app: orphan}
  ports: [{port: 80}]
`;

function objects(text: string): ProjectObject[] {
  return parseAllDocuments(text).map((d) => ({ object: d.toJS(), file: 'app.yaml', dir: '' })).filter((o) => o.object);
}

describe('Kubernetes network policies', () => {
  const result = kubernetesNetworkPolicies(objects(APP), { level: 'restricted', settings: DEFAULT_SETTINGS, flags: {} });
  const byName = Object.fromEntries(result.documents.map((d) => [`${(d.object.metadata as { namespace: string }).namespace}/${(d.object.metadata as { name: string }).name}`, d.object]));
  it('default-deny ingress in every namespace that runs workloads', () => {
    for (const ns of ['shop', 'analytics']) {
      expect((byName[`${ns}/cuirass-default-deny`] as { spec: unknown }).spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    }
  });
  it('admits exactly the workloads that name a Service, on its target ports', () => {
    expect((byName['shop/allow-to-api'] as { spec: unknown }).spec).toEqual({
      podSelector: { matchLabels: { app: 'api' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { app: 'web' } } },
            { podSelector: { matchLabels: { app: 'report' } }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'analytics' } } },
          ],
          ports: [{ port: 'http' }],
        },
      ],
    });
    expect((byName['shop/allow-to-redis'] as { spec: { ingress: unknown } }).spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 6379 }] },
    ]);
  });
  it('opens a Service nothing references to its own namespace instead of cutting it off, and reports it', () => {
    expect((byName['shop/allow-to-orphan'] as { spec: { ingress: unknown } }).spec.ingress).toEqual([{ from: [{ podSelector: {} }], ports: [{ port: 80 }] }]);
    expect(result.findings.map((f) => f.message)).toEqual([expect.stringContaining('Service "orphan": nothing in the input references it, so its clients are unknown and it stays open to every pod of its own namespace')]);
  });
  it('adds nothing when the policies exist already', () => {
    const again = kubernetesNetworkPolicies(
      [...objects(APP), ...result.documents.map((d) => ({ object: d.object, file: 'x', dir: '' }))],
      { level: 'restricted', settings: DEFAULT_SETTINGS, flags: {} },
    );
    expect(again.documents).toEqual([]);
  });
  it('--egress denies egress except DNS and the derived flows', () => {
    const e = kubernetesNetworkPolicies(objects(APP), { level: 'restricted', settings: DEFAULT_SETTINGS, flags: { egress: true } });
    const deny = e.documents.find((d) => (d.object.metadata as { name: string }).name === 'cuirass-default-deny')!.object as { spec: { policyTypes: string[]; egress: { ports: unknown }[] } };
    expect(deny.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(deny.spec.egress[0].ports).toEqual([{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }]);
    expect(e.documents.map((d) => (d.object.metadata as { name: string }).name)).toContain('allow-web-to-api');
  });
});

describe('what the run keeps of each object for the policies (networkView)', () => {
  const shop = readFileSync(join(ROOT, 'fixtures/project/network-segmentation/shop-stream.in.yaml'), 'utf8');
  const operator = readFileSync(join(ROOT, 'fixtures/project/network-segmentation/operator-install.in.yaml'), 'utf8');
  for (const [name, text] of [['APP', APP], ['shop-stream fixture', shop], ['operator-install fixture', operator]] as const) {
    for (const egress of [false, true]) {
      it(`${name}${egress ? ' with --egress' : ''}: the same policies and findings from views as from whole objects`, () => {
        const ctx = { level: 'restricted' as const, settings: DEFAULT_SETTINGS, flags: { egress } };
        const whole = objects(text);
        const views = whole.map((o) => ({ ...o, object: networkView(o.object as Record<string, unknown>) }));
        const full = kubernetesNetworkPolicies(whole, ctx);
        expect(full.documents.length).toBeGreaterThan(2);
        expect(kubernetesNetworkPolicies(views, ctx)).toEqual(full);
      });
    }
  }
  it('keeps what the policies read and drops the rest', () => {
    const view = networkView({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'shop', labels: { a: 'b' }, annotations: { x: 'y' } },
      spec: { replicas: 3, template: { metadata: { labels: { app: 'api' } }, spec: {
        containers: [{ name: 'api', image: 'x', env: [{ name: 'DB', value: 'db:5432' }], args: ['--cache', 'redis'], resources: { limits: { cpu: '1' } } }],
        volumes: [{ name: 'cfg', configMap: { name: 'settings' } }], securityContext: { runAsNonRoot: true },
      } } },
    });
    expect(view).toEqual({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'shop' },
      spec: { template: { metadata: { labels: { app: 'api' } }, spec: {
        containers: [{ env: [{ name: 'DB', value: 'db:5432' }], args: ['--cache', 'redis'], image: 'x' }],
        volumes: [{ name: 'cfg', configMap: { name: 'settings' } }],
      } } },
    });
    expect(networkView({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { app: 'p' } }, spec: { containers: [{ name: 'c', command: ['x'] }] } }))
      .toEqual({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { app: 'p' } }, spec: { containers: [{ command: ['x'] }] } });
  });
});

describe('which workloads name a Service', () => {
  it('host-like references in every form, and only those', () => {
    const values: Record<string, boolean> = {
      'db': true, 'db:5432': true, 'postgres://u:p@db:5432/x': true, 'db.shop': true, 'db.shop.svc': true,
      'db.shop.svc.cluster.local:5432': true, 'http://db/health': true, 'host=db;port=1': true, "'db'": true, 'a,db,b': true,
      'db-primary': false, 'mydb': false, 'x.db': false, 'DB': false, 'db_host': false, 'db.other': false,
    };
    const names = Object.keys(values);
    const docs = [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'shop' }, spec: { selector: { app: 'db' }, ports: [{ port: 5432 }] } },
      ...names.map((value, i) => ({
        apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'shop', labels: { app: `p${i}` } },
        spec: { containers: [{ name: 'c', image: 'x', env: [{ name: 'TARGET', value }] }] },
      })),
    ];
    const result = kubernetesNetworkPolicies(docs.map((object) => ({ object, file: 'x.yaml', dir: '' })), { level: 'restricted', settings: DEFAULT_SETTINGS, flags: {} });
    const allow = result.documents.find((d) => (d.object.metadata as { name: string }).name === 'allow-to-db')!.object as { spec: { ingress: { from: { podSelector: { matchLabels: { app: string } } }[] }[] } };
    const admitted = allow.spec.ingress[0].from.map((f) => names[Number(f.podSelector.matchLabels.app.slice(1))]);
    expect(admitted).toEqual(names.filter((n) => values[n]));
  });
});

describe('project-level findings point at their object', () => {
  it('a Service nothing references is reported at its own document, not at line 1', async () => {
    const { runProject } = await import('../src/project.js');
    const { processText } = await import('../src/run.js');
    const text = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: orphan, namespace: shop}
  spec: {selector: {app: orphan}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: orphan, namespace: shop}
spec: {template: {metadata: {labels: {app: orphan}}, spec: {containers: [{name: c, image: x}]}}}
`;
    const options = { ...opts, transforms: TRANSFORMS.filter((t) => t.id === 'network-segmentation') };
    const o = processText('app.yaml', text, options, true);
    const out = runProject([{ o, dir: '/tmp' }], options);
    expect(out.findings.get('app.yaml')?.map((f) => [f.line, f.col, f.message.slice(0, 16)])).toEqual([[8, 3, 'Service "orphan"']]);
  });
});

describe('project fixture pairs: a whole stream through the built CLI', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { cli, ROOT } = await import('./support/run-cli.js');
  const dir = join(ROOT, 'fixtures/project/network-segmentation');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.in.yaml'))) {
    const scenario = name.slice(0, -'.in.yaml'.length);
    const args = ['-', '--only', 'network-segmentation', ...(scenario.startsWith('egress-') ? ['--egress'] : [])];
    it(`${scenario}: byte-exact output, and a second run changes nothing`, () => {
      const first = cli(args, { input: readFileSync(join(dir, name), 'utf8') });
      expect(first.status).toBe(0);
      expect(first.stdout).toBe(readFileSync(join(dir, `${scenario}.out.yaml`), 'utf8'));
      const second = cli(args, { input: first.stdout });
      expect(second.stdout).toBe(first.stdout);
    });
  }
});
