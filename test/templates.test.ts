import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { maskTemplates, templatedDocuments } from '../src/templates.js';
import { cli } from './support/run-cli.js';

/** A monitoring ConfigMap: Grafana legends and an Alertmanager template inside block scalars. */
const DASHBOARDS = `apiVersion: v1
kind: ConfigMap
metadata:
  name: grafana-dashboards
  namespace: monitoring
data:
  alertmanager.json: |
    {
      "targets": [
        {"expr": "rate(alertmanager_notifications_total[5m])", "legendFormat": "Accepted: {{receiver}}"}
      ]
    }
  slack.tmpl: |
    {{ define "slack.title" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}{{ end }}
  title: "{{ .Values.title }}"
  # {{ not a template: a comment }}
`;

function deployment(name: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: demo
spec:
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: ${name}
        image: example/${name}:1.0
`;
}

/** A 68-document demo stream: the ConfigMap and 67 Deployments. */
const DEMO = [DASHBOARDS, ...Array.from({ length: 67 }, (_, i) => deployment(`svc${i}`))].join('---\n');

const HELM_DOC = `{{- if .Values.worker.enabled }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}-worker
{{- end }}
`;

function hardenedDeployments(stream: string): number {
  return parseAllDocuments(stream)
    .map((d) => d.toJS())
    .filter((o) => o?.kind === 'Deployment' && o.spec.template.spec.securityContext?.runAsNonRoot === true).length;
}

describe('template detection: only where {{ }} is YAML structure', () => {
  it('{{ inside quoted and block scalars and comments is text', () => {
    expect(templatedDocuments(DASHBOARDS)).toEqual([]);
    expect(templatedDocuments(DEMO)).toEqual([]);
  });
  it('a {{ that opens a flow mapping is a template: at the start of a line, as a value, in a flow sequence', () => {
    expect(templatedDocuments('a: 1\n{{- if .Values.x }}\nb: 2\n{{- end }}\n')).toMatchObject([{ index: 1, line: 2, col: 1 }]);
    expect(templatedDocuments('metadata:\n  name: {{ .Release.Name }}\n')).toMatchObject([{ index: 1, line: 2, col: 9 }]);
    expect(templatedDocuments('args: [{{ .Values.arg }}]\n')).toMatchObject([{ index: 1, line: 1, col: 8 }]);
  });
  it('is decided per document, numbered as the parser numbers them (a leading --- or comment opens none)', () => {
    const stream = `# Source: chart/a.yaml\n---\n${deployment('a')}---\n${HELM_DOC}---\n${DASHBOARDS}`;
    expect(templatedDocuments(stream)).toMatchObject([{ index: 2, line: 19, col: 1 }]);
    expect(parseAllDocuments(stream).length).toBe(3);
  });
  it('masking keeps every line and restores the templates byte for byte (CRLF too)', () => {
    const stream = `${deployment('a')}---\n${HELM_DOC}---\n${deployment('b')}`.replace(/\n/g, '\r\n');
    const found = templatedDocuments(stream);
    const { masked, restore } = maskTemplates(stream, found);
    expect(masked.split('\n').length).toBe(stream.split('\n').length);
    expect(templatedDocuments(masked)).toEqual([]);
    expect(parseAllDocuments(masked).every((d) => d.errors.length === 0)).toBe(true);
    expect(restore(masked)).toBe(stream);
  });
});

describe('a templated or template-looking stream through the built CLI', () => {
  it('a 68-document demo with a Grafana legend in a ConfigMap is hardened on stdin (exit 0) and in a folder', () => {
    const piped = cli(['-', '--skip', 'network-segmentation'], { input: DEMO });
    expect(piped.stderr).not.toMatch(/template/);
    expect(piped.status).toBe(0);
    expect(hardenedDeployments(piped.stdout)).toBe(67);
    expect(piped.stdout.startsWith(DASHBOARDS)).toBe(true);

    const dir = mkdtempSync(join(tmpdir(), 'cuirass-templates-'));
    mkdirSync(join(dir, 'monitoring'));
    writeFileSync(join(dir, 'monitoring/demo.yaml'), DEMO);
    writeFileSync(join(dir, 'monitoring/dashboards.yaml'), DASHBOARDS);
    const walked = cli([dir, '--write', '--skip', 'network-segmentation']);
    expect(walked.stderr).not.toMatch(/template/);
    expect(walked.status).toBe(0);
    expect(hardenedDeployments(readFileSync(join(dir, 'monitoring/demo.yaml'), 'utf8'))).toBe(67);
    expect(readFileSync(join(dir, 'monitoring/dashboards.yaml'), 'utf8')).toBe(DASHBOARDS);
  });

  it('in a file, the templated document is left as it is and named; the others are hardened', () => {
    const stream = `${deployment('a')}---\n${HELM_DOC}---\n${DASHBOARDS}---\n${deployment('b')}`;
    const dir = mkdtempSync(join(tmpdir(), 'cuirass-templates-'));
    writeFileSync(join(dir, 'app.yaml'), stream);
    const r = cli([join(dir, 'app.yaml'), '--write', '--skip', 'network-segmentation']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/app\.yaml:17:1: document 2 is a template, left as it is \(render it first/);
    const out = readFileSync(join(dir, 'app.yaml'), 'utf8');
    expect(out).toContain(`---\n${HELM_DOC}---\n${DASHBOARDS}---\n`);
    expect(out.split('---\n')[0]).toContain('runAsNonRoot: true');
    expect(out.split('---\n')[3]).toContain('runAsNonRoot: true');
    // Idempotent: the second run changes nothing and names the template again.
    const again = cli([join(dir, 'app.yaml'), '--check', '--skip', 'network-segmentation']);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/document 2 is a template/);
  });

  it('on stdin, a template is an error (exit 2, nothing on stdout), for the default command and check', () => {
    const stream = `${deployment('a')}---\n${HELM_DOC}`;
    const r = cli(['-'], { input: stream });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/<stdin>:17:1: document 2 is a template: render it first .*nothing is written/);
    const whole = cli(['-'], { input: HELM_DOC });
    expect(whole.status).toBe(2);
    expect(whole.stdout).toBe('');
    expect(whole.stderr).toMatch(/<stdin>:1:1: document 1 is a template/);
    const check = cli(['check', '-'], { input: stream });
    expect(check.status).toBe(2);
    expect(check.stderr).toMatch(/<stdin>:17:1: document 2 is a template/);
  });
});
