import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { DEFAULT_SETTINGS } from '../src/settings.js';
import type { ProjectResult } from '../src/types.js';
import { kubernetesNetworkPolicies, networkView } from '../transforms/network-policies.js';

/** Issue 14, Kubernetes NetworkPolicies: evidence before change, one case per decision. */

type Obj = Record<string, any>;

function run(text: string, egress = false): ProjectResult & { byName: Record<string, Obj> } {
  const objects = parseAllDocuments(text).map((d) => ({ object: d.toJS() as Obj, file: 'app.yaml', dir: '' })).filter((o) => o.object);
  const ctx = { level: 'restricted' as const, settings: DEFAULT_SETTINGS, flags: { egress } };
  const result = kubernetesNetworkPolicies(objects, ctx);
  // The run keeps only each object's view until this step: the same answer from views.
  expect(kubernetesNetworkPolicies(objects.map((o) => ({ ...o, object: networkView(o.object) })), ctx)).toEqual(result);
  const byName = Object.fromEntries(result.documents.map((d) => [`${d.object.metadata.namespace ?? ''}/${d.object.metadata.name}`, d.object as Obj]));
  return { ...result, byName };
}

const deploy = (name: string, ns: string | undefined, labels: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}${ns === undefined ? '' : `, namespace: ${ns}`}}
spec:
  template:
    metadata: {labels: ${labels}}
    spec:
      ${extra || 'containers: [{name: c, image: x}]'}
---
`;
const service = (name: string, ns: string | undefined, selector: string, ports: string, labels = '{}') => `apiVersion: v1
kind: Service
metadata: {name: ${name}${ns === undefined ? '' : `, namespace: ${ns}`}, labels: ${labels}}
spec: {selector: ${selector}, ports: ${ports}}
---
`;

const WEBHOOK = `${deploy('webhook', 'cert-manager', '{app: webhook}')}${service('cert-manager-webhook', 'cert-manager', '{app: webhook}', '[{name: https, port: 443, targetPort: 10250}, {name: metrics, port: 9402}]')}`;

describe('Services the API server calls stay open to every source on the called port', () => {
  const cases: Record<string, string> = {
    ValidatingWebhookConfiguration: `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: cm}
webhooks:
- name: w.example.io
  failurePolicy: Fail
  clientConfig: {service: {name: cert-manager-webhook, namespace: cert-manager, path: /validate}}
`,
    MutatingWebhookConfiguration: `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: cm}
webhooks:
- name: w.example.io
  clientConfig: {service: {name: cert-manager-webhook, namespace: cert-manager, port: 443}}
`,
    APIService: `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1.example.io}
spec: {group: example.io, version: v1, service: {name: cert-manager-webhook, namespace: cert-manager, port: 443}}
`,
    'CRD conversion webhook': `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.io}
spec:
  group: example.io
  conversion:
    strategy: Webhook
    webhook: {conversionReviewVersions: [v1], clientConfig: {service: {name: cert-manager-webhook, namespace: cert-manager, path: /convert}}}
`,
    'v1beta1 CRD conversion webhook': `apiVersion: apiextensions.k8s.io/v1beta1
kind: CustomResourceDefinition
metadata: {name: things.example.io}
spec:
  group: example.io
  conversion: {strategy: Webhook, webhookClientConfig: {service: {name: cert-manager-webhook, namespace: cert-manager}}}
`,
  };
  for (const [name, caller] of Object.entries(cases)) {
    it(`${name}: the webhook's target port admits all sources, and the Service is not "referenced by nothing"`, () => {
      const r = run(WEBHOOK + caller);
      expect(r.byName['cert-manager/allow-to-cert-manager-webhook'].spec).toEqual({
        podSelector: { matchLabels: { app: 'webhook' } },
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ port: 10250 }] }],
      });
      expect(r.findings).toEqual([]);
    });
  }
  it('a webhook on a port the Service lacks opens all its target ports; a webhook of another namespace opens it only to its own namespace', () => {
    const other = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: cm}
webhooks:
- {name: a.example.io, clientConfig: {service: {name: cert-manager-webhook, namespace: cert-manager, port: 8443}}}
`;
    expect(run(WEBHOOK + other).byName['cert-manager/allow-to-cert-manager-webhook'].spec.ingress).toEqual([{ ports: [{ port: 10250 }, { port: 9402 }] }]);
    const elsewhere = other.replace('namespace: cert-manager', 'namespace: elsewhere');
    expect(run(WEBHOOK + elsewhere).byName['cert-manager/allow-to-cert-manager-webhook'].spec.ingress).toEqual([{ from: [{ podSelector: {} }], ports: [{ port: 10250 }, { port: 9402 }] }]);
  });
});

describe('Prometheus scrapes', () => {
  const app = `${deploy('api', 'shop', '{app: api, app.kubernetes.io/version: "1.2.3", helm.sh/chart: api-1.2.3}', `containers: [{name: c, image: x, ports: [{name: metrics, containerPort: 9100}, {name: http, containerPort: 8080}]}]`)}`;
  const annotated = app.replace('metadata: {labels: {app: api,', 'metadata: {annotations: {prometheus.io/scrape: "true", prometheus.io/port: "9100"}, labels: {app: api,');
  const prometheus = `apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: monitoring}
spec: {serviceMonitorNamespaceSelector: {}}
---
`;
  it('prometheus.io annotations on pods: the scrape port admits the namespace where Prometheus lives', () => {
    const r = run(annotated + prometheus);
    expect(r.byName['shop/allow-scrape-to-api'].spec).toEqual({
      podSelector: { matchLabels: { app: 'api' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: 9100 }] }],
    });
    expect(r.findings).toEqual([]);
  });
  it('a Prometheus server image in a workload marks its namespace as the scraper', () => {
    const r = run(annotated + deploy('prometheus', 'observability', '{app: prometheus}', 'containers: [{name: p, image: quay.io/prometheus/prometheus:v2.54.1}]'));
    expect(r.byName['shop/allow-scrape-to-api'].spec.ingress[0].from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } }]);
  });
  it('no Prometheus in the input: the scrape port opens to every namespace and the run says so', () => {
    const r = run(annotated);
    expect(r.byName['shop/allow-scrape-to-api'].spec.ingress).toEqual([{ from: [{ namespaceSelector: {} }], ports: [{ port: 9100 }] }]);
    expect(r.findings.map((f) => [f.severity, f.message])).toEqual([
      ['medium', 'scraped by Prometheus: Deployment "api"; the input shows no Prometheus, so their scraped ports are open to pods of every namespace; narrow those rules to your monitoring namespace'],
    ]);
  });
  const svc = service('api', 'shop', '{app: api}', '[{name: http, port: 80, targetPort: http}, {name: metrics, port: 9100, targetPort: metrics}]', '{app: api}');
  const monitor = (ns: string, endpoints: string) => `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: api, namespace: ${ns}}
spec:
  selector: {matchExpressions: [{key: app, operator: In, values: [api]}]}
  namespaceSelector: {matchNames: [shop]}
  endpoints: ${endpoints}
---
`;
  it('a ServiceMonitor: its endpoint port (a Service port name) admits the Prometheus namespace', () => {
    const r = run(app + svc + monitor('monitoring', '[{port: metrics}]') + prometheus);
    expect(r.byName['shop/allow-to-api'].spec.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: 'metrics' }] },
    ]);
    expect(r.findings).toEqual([]);
  });
  it('a ServiceMonitor and no Prometheus: the monitor\'s own namespace is taken for the scraper, and reported', () => {
    const r = run(app + svc + monitor('monitoring', '[{port: metrics}]'));
    expect(r.byName['shop/allow-to-api'].spec.ingress[0].from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
    expect(r.findings.map((f) => [f.severity, f.message])).toEqual([['low', 'scraped by Prometheus: Service "api"; no Prometheus in the input, so their scrapes are allowed from their monitor\'s namespace "monitoring"; check that Prometheus runs there']]);
  });
  it('scrapes with no Prometheus in the input: one finding for all of them', () => {
    const more = [1, 2, 3, 4].map((i) => annotated.replaceAll('api', `api${i}`)).join('');
    const r = run(annotated + more);
    expect(r.findings.map((f) => f.message)).toEqual([expect.stringMatching(/^scraped by Prometheus: Deployment "api", Deployment "api1", Deployment "api2" and 2 more; the input shows no Prometheus/)]);
  });
  it('a ServiceMonitor endpoint that names a port the Service lacks scrapes nothing there', () => {
    const r = run(app + svc + monitor('monitoring', '[{port: web}]') + prometheus);
    expect(r.byName['shop/allow-to-api'].spec.ingress).toEqual([{ from: [{ podSelector: {} }], ports: [{ port: 'http' }, { port: 'metrics' }] }]);
    expect(r.findings.map((f) => f.message)).toEqual([expect.stringContaining('Service "api": nothing in the input references it')]);
  });
  it('a PodMonitor selects pods and admits the scraper on its named port', () => {
    const pm = `apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: api, namespace: shop}
spec: {selector: {matchLabels: {app: api}}, podMetricsEndpoints: [{port: metrics}]}
---
`;
    const r = run(app + pm + prometheus);
    expect(r.byName['shop/allow-scrape-to-api'].spec.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: 'metrics' }] },
    ]);
  });
});

describe('a namespace with NetworkPolicies of its own keeps its owners\' model', () => {
  const own = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-ingress, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]}
---
`;
  const text = own + deploy('api', 'shop', '{app: api}') + deploy('web', 'shop', '{app: web}', 'containers: [{name: c, image: x, env: [{name: API, value: "http://api"}]}]') +
    service('api', 'shop', '{app: api}', '[{port: 80}]') + deploy('report', 'analytics', '{app: report}');
  it('no default-deny and no allow policy there; pods no policy selects are reported; other namespaces as before', () => {
    const r = run(text);
    expect(Object.keys(r.byName)).toEqual(['analytics/cuirass-default-deny']);
    expect(r.findings.map((f) => [f.object?.name, f.message])).toEqual([
      ['web', 'namespace "shop" has NetworkPolicies of its own, so cuirass adds no default-deny there (the owners\' model); none of them selects the pods of Deployment "web", which accept every connection'],
    ]);
  });
  it("cuirass's own policies from an earlier run are not an owners' model", () => {
    const first = run(text.replace(own, ''));
    const again = run(text.replace(own, '') + first.documents.map((d) => `${stringify(d.object)}---\n`).join(''));
    expect(again.documents).toEqual([]);
    expect(again.findings).toEqual(first.findings);
  });
});

describe('objects without a namespace beside namespaced ones may be in any of them', () => {
  it('a short name from an unnamespaced client reaches a namespaced Service, admitted from any namespace', () => {
    const r = run(deploy('web', undefined, '{app: web}', 'containers: [{name: c, image: x, env: [{name: API, value: "api:80"}]}]') + service('api', 'shop', '{app: api}', '[{port: 80}]') + deploy('api', 'shop', '{app: api}'));
    expect(r.byName['shop/allow-to-api'].spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: {} }], ports: [{ port: 80 }] }]);
  });
  it('a namespaced client of an unnamespaced Service is admitted by its own namespace', () => {
    const r = run(deploy('web', 'shop', '{app: web}', 'containers: [{name: c, image: x, env: [{name: API, value: "api:80"}]}]') + service('api', undefined, '{app: api}', '[{port: 80}]') + deploy('api', undefined, '{app: api}'));
    expect(r.byName['/allow-to-api'].spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } }], ports: [{ port: 80 }] },
    ]);
  });
});

describe('objects without a namespace: Ingress backends and ConfigMaps', () => {
  it('an Ingress without a namespace exposes a namespaced Service of its backend name, and the reverse', () => {
    const ingress = (ns: string) => `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web${ns ? `, namespace: ${ns}` : ''}}\nspec: {defaultBackend: {service: {name: api, port: {number: 80}}}}\n---\n`;
    for (const [ingressNs, svcNs] of [['', 'shop'], ['shop', undefined]] as const) {
      const r = run(ingress(ingressNs) + service('api', svcNs, '{app: api}', '[{port: 80}]') + deploy('api', svcNs, '{app: api}'));
      expect(r.byName[`${svcNs ?? ''}/allow-to-api`].spec.ingress).toEqual([{ ports: [{ port: 80 }] }]);
    }
    const other = run(ingress('other') + service('api', 'shop', '{app: api}', '[{port: 80}]') + deploy('api', 'shop', '{app: api}'));
    expect(other.byName['shop/allow-to-api'].spec.ingress).toEqual([{ from: [{ podSelector: {} }], ports: [{ port: 80 }] }]);
  });
  it('an unnamespaced workload reads a namespaced ConfigMap of the name it mounts', () => {
    const r = run(deploy('web', undefined, '{app: web}', 'containers: [{name: c, image: x, envFrom: [{configMapRef: {name: cfg}}]}]') +
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\ndata: {API: "http://api:80"}\n---\n' + service('api', 'shop', '{app: api}', '[{port: 80}]') + deploy('api', 'shop', '{app: api}'));
    expect(r.byName['shop/allow-to-api'].spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: {} }], ports: [{ port: 80 }] }]);
  });
});

describe('--egress and the API server', () => {
  const text = deploy('operator', 'ops', '{app: operator}', 'serviceAccountName: operator\n      containers: [{name: c, image: x}]') +
    deploy('plain', 'ops', '{app: plain}') +
    deploy('quiet', 'ops', '{app: quiet}', 'serviceAccountName: quiet\n      containers: [{name: c, image: x}]') +
    deploy('off', 'ops', '{app: off}', 'serviceAccountName: operator\n      automountServiceAccountToken: false\n      containers: [{name: c, image: x}]') +
    deploy('no', 'ops', '{app: no}', 'serviceAccountName: operator\n      automountServiceAccountToken: no\n      containers: [{name: c, image: x}]') +
    'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: quiet, namespace: ops}\nautomountServiceAccountToken: off\n';
  it('pods with a service account token reach TCP 443 and 6443; the others do not; one finding says so', () => {
    const r = run(text, true);
    expect(Object.keys(r.byName).filter((n) => n.endsWith('-to-apiserver'))).toEqual(['ops/allow-operator-to-apiserver']);
    expect(r.byName['ops/allow-operator-to-apiserver'].spec).toEqual({
      podSelector: { matchLabels: { app: 'operator' } },
      policyTypes: ['Egress'],
      egress: [{ ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }] }],
    });
    expect(r.findings.map((f) => [f.severity, f.message])).toEqual([['low', expect.stringContaining('--egress: 1 workload ("operator") use a service account token')]]);
  });
  it('a Prometheus server of the input keeps every egress (its targets are not all in the input), reported', () => {
    const r = run(deploy('prometheus', 'monitoring', '{app: prometheus}', 'containers: [{name: p, image: "prom/prometheus:v2.54.1"}]') +
      deploy('operator', 'monitoring', '{app: operator}', 'containers: [{name: o, image: "quay.io/prometheus-operator/prometheus-operator:v0.76.1"}]'), true);
    expect(Object.keys(r.byName)).toEqual(['monitoring/cuirass-default-deny', 'monitoring/allow-prometheus-to-scrape-targets']);
    expect(r.byName['monitoring/allow-prometheus-to-scrape-targets'].spec).toEqual({ podSelector: { matchLabels: { app: 'prometheus' } }, policyTypes: ['Egress'], egress: [{}] });
    expect(r.findings.map((f) => [f.severity, f.message])).toEqual([['low', expect.stringContaining('Deployment "prometheus" runs Prometheus')]]);
  });
  it('without --egress nothing about the API server', () => {
    expect(Object.keys(run(text).byName).filter((n) => n.endsWith('-to-apiserver'))).toEqual([]);
  });
});

describe('generated policies are plain, stable YAML', () => {
  const text = deploy('web', 'shop', '{app: web, app.kubernetes.io/version: "2.0", helm.sh/chart: web-2.0, chart: web-2.0, version: v2, pod-template-hash: abc}', 'containers: [{name: c, image: x, env: [{name: API, value: "api"}]}]') +
    deploy('api', 'shop', '{app: api}') + service('api', 'shop', '{app: api, app.kubernetes.io/version: "2.0"}', '[{name: http, port: 80, targetPort: 8080}, {name: alt, port: 8080, targetPort: 8080}]');
  it('no anchors or aliases, no duplicate ports, selectors without version or chart labels', () => {
    for (const egress of [false, true]) {
      const r = run(text, egress);
      for (const d of r.documents) expect(stringify(d.object)).not.toMatch(/[&*]a\d/);
      expect(r.byName['shop/allow-to-api'].spec).toEqual({
        podSelector: { matchLabels: { app: 'api' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080 }] }],
      });
    }
  });
});

describe('system namespaces', () => {
  it('kube-system gets the allow policies of its Services but no default-deny (DNS and the network plugin live there)', () => {
    const r = run(deploy('metrics-server', 'kube-system', '{app: ms}') + service('metrics-server', 'kube-system', '{app: ms}', '[{port: 443, targetPort: 10250}]') +
      'apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1beta1.metrics.k8s.io}\nspec: {service: {name: metrics-server, namespace: kube-system}}\n', true);
    expect(Object.keys(r.byName)).toEqual(['kube-system/allow-to-metrics-server']);
    expect(r.findings.map((f) => f.message)).toEqual([expect.stringContaining('namespace "kube-system" runs the cluster\'s own pods')]);
  });
});

describe('a Service nothing in the input references is never cut off on a guess', () => {
  // The voting app: vote and result are LoadBalancers; db and redis are named only in app code.
  const voting = `${deploy('db', 'vote', '{app: db}')}${service('db', 'vote', '{app: db}', '[{port: 5432, targetPort: 5432}]')}${deploy('vote', 'vote', '{app: vote}')}apiVersion: v1
kind: Service
metadata: {name: vote, namespace: vote}
spec: {type: LoadBalancer, selector: {app: vote}, ports: [{port: 5000, targetPort: 80}]}
---
`;
  it('admits it from every pod of its own namespace on its target ports, other namespaces stay denied, and says so', () => {
    const r = run(voting);
    expect(Object.keys(r.byName)).toEqual(['vote/cuirass-default-deny', 'vote/allow-to-db', 'vote/allow-to-vote']);
    expect(r.byName['vote/allow-to-db'].spec).toEqual({
      podSelector: { matchLabels: { app: 'db' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 5432 }] }],
    });
    expect(r.findings.map((f) => [f.severity, f.message])).toEqual([
      ['medium', 'Service "db": nothing in the input references it, so its clients are unknown and it stays open to every pod of its own namespace (other namespaces are denied); narrow allow-to-db to its clients\' pods'],
    ]);
  });
  it('unnamespaced objects: the rule admits the pods of whatever namespace they land in', () => {
    const r = run(voting.replaceAll(', namespace: vote', ''));
    expect(r.byName['/allow-to-db'].spec.ingress).toEqual([{ from: [{ podSelector: {} }], ports: [{ port: 5432 }] }]);
  });
  it('--egress: the pods of its namespace may also reach it', () => {
    const r = run(voting, true);
    expect(r.byName['vote/allow-namespace-to-db'].spec).toEqual({
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { app: 'db' } } }], ports: [{ port: 5432 }] }],
    });
  });
  it('where cuirass adds no default-deny (owners\' policies, kube-system) it adds no rule and says nothing about cutting off', () => {
    const owners = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: theirs, namespace: vote}
spec: {podSelector: {matchLabels: {app: other}}, policyTypes: [Ingress]}
---
`;
    const r = run(voting + owners);
    expect(r.documents).toEqual([]);
    expect(r.findings.map((f) => f.message)).toEqual([expect.stringContaining('namespace "vote" has NetworkPolicies of its own, so cuirass adds no default-deny there')]);
    const system = run(voting.replaceAll('namespace: vote', 'namespace: kube-system'));
    expect(system.byName['kube-system/allow-to-db']).toBeUndefined();
    expect(system.findings.map((f) => f.message).filter((m) => m.includes('Service "db"'))).toEqual([]);
  });
  it('a second run over the generated policies adds nothing', () => {
    const first = run(voting);
    const again = run(voting + first.documents.map((d) => `${stringify(d.object)}---\n`).join(''));
    expect(again.documents).toEqual([]);
  });
});
