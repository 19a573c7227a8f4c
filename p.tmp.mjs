import { readFileSync } from 'node:fs';
import { parseDocument } from '/work/wt/compose-net/node_modules/yaml/dist/index.js';
import { servicesOf } from '/work/wt/compose-net/dist/src/compose/model.js';
import * as L from '/work/wt/compose-net/dist/transforms/compose-links.js';
const text = readFileSync('/tmp/cn/c1k/compose.yaml', 'utf8');
const services = servicesOf(parseDocument(text), 'compose.yaml');
const ctx = { configFiles: () => [] };
for (let k = 0; k < 3; k++) { const t = performance.now(); L.serviceLinks(services, ctx); console.log('links', (performance.now() - t).toFixed(0)); }
