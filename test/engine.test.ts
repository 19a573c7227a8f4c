import { describe, expect, it } from 'vitest';
import { isMap, isSeq } from 'yaml';
import type { Node, Pair, YAMLMap, YAMLSeq } from 'yaml';
import { Fix, applyEdits, pairOf, parseSource, renderOps } from '../src/engine/index.js';
import type { ParsedSource, TextEdit } from '../src/engine/index.js';

/** The node at `path` (keys of mappings, indexes of sequences) in document `doc`. */
function nodeAt(src: ParsedSource, path: (string | number)[], doc = 0): Node {
  let node = src.docs[doc].contents as Node;
  for (const step of path) {
    if (typeof step === 'number' && isSeq(node)) node = (node as YAMLSeq).items[step] as Node;
    else if (typeof step === 'string' && isMap(node)) node = pairOf(node as YAMLMap, step)!.value as Node;
    else throw new Error(`no ${String(step)} in ${path.join('.')}`);
  }
  return node;
}

const map = (src: ParsedSource, path: (string | number)[], doc = 0) => nodeAt(src, path, doc) as YAMLMap;
const seq = (src: ParsedSource, path: (string | number)[], doc = 0) => nodeAt(src, path, doc) as YAMLSeq;

/** Plans a fix against `text` and returns the edited text; the fix must not refuse. */
function edit(text: string, plan: (fix: Fix, src: ParsedSource) => void, json = false): string {
  const src = parseSource(text, json);
  expect(src.errors).toEqual([]);
  const fix = new Fix();
  plan(fix, src);
  expect(fix.refusals).toEqual([]);
  const out = applyEdits(text, renderOps(src, fix.ops)).text;
  expect(parseSource(out, json).errors).toEqual([]);
  return out;
}

/** Joins lines with `\n` and ends with one: keeps expected YAML readable. */
const lines = (...l: string[]) => l.join('\n') + '\n';

describe('inserting into a block mapping', () => {
  it('adds keys after the last pair at the 2-space indent of the file', () => {
    const text = lines('spec:', '  containers:', '    - name: a', '      image: x', '  restartPolicy: Never');
    const out = edit(text, (f, s) => f.ensure(map(s, ['spec']), ['securityContext', 'runAsNonRoot'], true));
    expect(out).toBe(lines('spec:', '  containers:', '    - name: a', '      image: x', '  restartPolicy: Never', '  securityContext:', '    runAsNonRoot: true'));
  });

  it('follows a 4-space indent, nested several levels deep', () => {
    const text = lines('spec:', '    template:', '        spec:', '            hostname: a');
    const out = edit(text, (f, s) => f.ensure(map(s, ['spec', 'template', 'spec']), ['securityContext', 'seccompProfile', 'type'], 'RuntimeDefault'));
    expect(out).toBe(
      lines('spec:', '    template:', '        spec:', '            hostname: a', '            securityContext:', '                seccompProfile:', '                    type: RuntimeDefault'),
    );
  });

  it('merges several ensures on one mapping into one insertion, in planning order', () => {
    const text = lines('metadata:', '  name: a', 'spec:', '  x: 1');
    const out = edit(text, (f, s) => {
      f.ensure(map(s, ['spec']), ['securityContext', 'runAsNonRoot'], true);
      f.ensure(map(s, ['spec']), ['securityContext', 'runAsUser'], 10001);
      f.ensure(map(s, ['spec']), ['automountServiceAccountToken'], false);
    });
    expect(out).toBe(lines('metadata:', '  name: a', 'spec:', '  x: 1', '  securityContext:', '    runAsNonRoot: true', '    runAsUser: 10001', '  automountServiceAccountToken: false'));
  });

  it('inserts after a nested block and before the next key of the parent', () => {
    const text = lines('spec:', '  a:', '    b: 1', '    # a comment at the end of a', '  c: 2');
    const out = edit(text, (f, s) => f.ensure(map(s, ['spec', 'a']), ['d'], 3));
    expect(out).toBe(lines('spec:', '  a:', '    b: 1', '    d: 3', '    # a comment at the end of a', '  c: 2'));
  });

  it('fills an empty `key: {}` and a null `key:` in block style', () => {
    const text = lines('spec:', '  securityContext: {}', '  resources:', '  name: a');
    const out = edit(text, (f, s) => {
      f.ensure(map(s, ['spec']), ['securityContext', 'runAsNonRoot'], true);
      f.ensure(map(s, ['spec']), ['resources', 'limits', 'cpu'], '500m');
    });
    expect(out).toBe(lines('spec:', '  securityContext:', '    runAsNonRoot: true', '  resources:', '    limits:', '      cpu: 500m', '  name: a'));
  });
});

describe('sequences: indentless and indented', () => {
  it('a new list in an indentless file is indentless', () => {
    const text = lines('spec:', '  containers:', '  - name: a', '    image: x');
    const out = edit(text, (f, s) => f.appendTo(map(s, ['spec', 'containers', 0]), ['securityContext', 'capabilities', 'drop'], 'ALL'));
    expect(out).toBe(lines('spec:', '  containers:', '  - name: a', '    image: x', '    securityContext:', '      capabilities:', '        drop:', '        - ALL'));
  });

  it('a new list in an indented file is indented', () => {
    const text = lines('spec:', '  containers:', '    - name: a', '      image: x');
    const out = edit(text, (f, s) => f.appendTo(map(s, ['spec', 'containers', 0]), ['securityContext', 'capabilities', 'drop'], 'ALL'));
    expect(out).toBe(lines('spec:', '  containers:', '    - name: a', '      image: x', '      securityContext:', '        capabilities:', '          drop:', '            - ALL'));
  });

  it('appends mapping items in the style of the existing items', () => {
    const indentless = lines('volumes:', '- name: a', '  emptyDir: {}', 'other: 1');
    expect(edit(indentless, (f, s) => f.appendTo(s.docs[0].contents as YAMLMap, ['volumes'], { name: 'tmp', emptyDir: {} }))).toBe(
      lines('volumes:', '- name: a', '  emptyDir: {}', '- name: tmp', '  emptyDir: {}', 'other: 1'),
    );
    const wide = lines('volumes:', '    -   name: a', '        emptyDir: {}');
    expect(edit(wide, (f, s) => f.appendTo(s.docs[0].contents as YAMLMap, ['volumes'], { name: 'tmp', emptyDir: {} }))).toBe(
      lines('volumes:', '    -   name: a', '        emptyDir: {}', '    -   name: tmp', '        emptyDir: {}'),
    );
  });

  it('appending the same value twice in one fix adds it once', () => {
    const text = lines('drop:', '  - NET_RAW');
    const out = edit(text, (f, s) => {
      f.appendTo(s.docs[0].contents as YAMLMap, ['drop'], 'ALL');
      f.appendTo(s.docs[0].contents as YAMLMap, ['drop'], 'ALL');
    });
    expect(out).toBe(lines('drop:', '  - NET_RAW', '  - ALL'));
  });
});

describe('flow collections', () => {
  it('adds to an unpadded flow mapping without padding', () => {
    const text = lines('securityContext: {runAsUser: 1000}');
    expect(edit(text, (f, s) => f.ensure(map(s, ['securityContext']), ['runAsNonRoot'], true))).toBe(lines('securityContext: {runAsUser: 1000, runAsNonRoot: true}'));
  });

  it('adds to a padded flow mapping, nested values in flow style with the same padding', () => {
    const text = lines('securityContext: { runAsUser: 1000 }');
    expect(edit(text, (f, s) => f.ensure(map(s, ['securityContext']), ['seccompProfile', 'type'], 'RuntimeDefault'))).toBe(
      lines('securityContext: { runAsUser: 1000, seccompProfile: { type: RuntimeDefault } }'),
    );
  });

  it('appends to padded and unpadded flow sequences', () => {
    expect(edit(lines('drop: [NET_RAW]'), (f, s) => f.appendTo(s.docs[0].contents as YAMLMap, ['drop'], 'ALL'))).toBe(lines('drop: [NET_RAW, ALL]'));
    expect(edit(lines('drop: [ NET_RAW ]'), (f, s) => f.appendTo(s.docs[0].contents as YAMLMap, ['drop'], 'ALL'))).toBe(lines('drop: [ NET_RAW, ALL ]'));
  });

  it('fills empty flow collections inside flow context with the padding of the file', () => {
    const padded = lines('a: { x: [ 1 ] }', 'sc: { caps: { drop: [] }, opts: {} }');
    expect(
      edit(padded, (f, s) => {
        f.appendTo(map(s, ['sc', 'caps']), ['drop'], 'ALL');
        f.ensure(map(s, ['sc', 'opts']), ['k'], 'v');
      }),
    ).toBe(lines('a: { x: [ 1 ] }', 'sc: { caps: { drop: [ ALL ] }, opts: { k: v } }'));
    const unpadded = lines('a: {x: [1]}', 'sc: {caps: {drop: []}, opts: {}}');
    expect(
      edit(unpadded, (f, s) => {
        f.appendTo(map(s, ['sc', 'caps']), ['drop'], 'ALL');
        f.ensure(map(s, ['sc', 'opts']), ['k'], 'v');
      }),
    ).toBe(lines('a: {x: [1]}', 'sc: {caps: {drop: [ALL]}, opts: {k: v}}'));
  });

  it('removes first, middle and last entries of flow collections with their commas', () => {
    const text = lines('m: {a: 1, b: 2, c: 3}', 'n: {a: 1, b: 2, c: 3}', 's: [x, y, z]');
    const out = edit(text, (f, s) => {
      f.remove(map(s, ['m']), 'a');
      f.remove(map(s, ['n']), 'c');
      f.removeItem(seq(s, ['s']), seq(s, ['s']).items[1] as Node);
    });
    expect(out).toBe(lines('m: {b: 2, c: 3}', 'n: {a: 1, b: 2}', 's: [x, z]'));
  });

  it('a comment after the last entry of a multi-line flow mapping stays with that entry', () => {
    const text = lines('sc: {', '  runAsUser: 1000  # the app user', '}');
    expect(edit(text, (f, s) => f.ensure(map(s, ['sc']), ['runAsNonRoot'], true))).toBe(lines('sc: {', '  runAsUser: 1000,  # the app user', '  runAsNonRoot: true', '}'));
  });
});

describe('JSON', () => {
  it('adds multi-line JSON to a multi-line object, at the file indent, with a comma', () => {
    const text = lines('{', '  "spec": {', '    "containers": []', '  }', '}');
    const out = edit(text, (f, s) => f.ensure(map(s, ['spec']), ['securityContext', 'runAsNonRoot'], true), true);
    expect(out).toBe(lines('{', '  "spec": {', '    "containers": [],', '    "securityContext": {', '      "runAsNonRoot": true', '    }', '  }', '}'));
  });

  it('detects a 4-space JSON indent', () => {
    const text = lines('{', '    "spec": {', '        "x": 1', '    }', '}');
    const out = edit(text, (f, s) => f.ensure(map(s, ['spec']), ['resources', 'limits', 'cpu'], '500m'), true);
    expect(out).toBe(lines('{', '    "spec": {', '        "x": 1,', '        "resources": {', '            "limits": {', '                "cpu": "500m"', '            }', '        }', '    }', '}'));
  });

  it('keeps a single-line JSON object on its line, quoting keys and strings', () => {
    const text = '{"spec": {"containers": [{"name": "a"}], "securityContext": {}}}';
    const out = edit(
      text,
      (f, s) => {
        f.ensure(map(s, ['spec', 'containers', 0]), ['securityContext', 'allowPrivilegeEscalation'], false);
        f.ensure(map(s, ['spec']), ['securityContext', 'seccompProfile', 'type'], 'RuntimeDefault');
      },
      true,
    );
    expect(out).toBe('{"spec": {"containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false}}], "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}}');
  });

  it('appends to a JSON array', () => {
    const text = lines('{', '  "drop": [', '    "NET_RAW"', '  ]', '}');
    expect(edit(text, (f, s) => f.appendTo(s.docs[0].contents as YAMLMap, ['drop'], 'ALL'), true)).toBe(lines('{', '  "drop": [', '    "NET_RAW",', '    "ALL"', '  ]', '}'));
  });
});

describe('line endings, BOM and the end of the file', () => {
  it('writes CRLF into inserted text in a CRLF file', () => {
    const text = 'spec:\r\n  containers:\r\n    - name: a\r\n';
    const out = edit(text, (f, s) => f.appendTo(map(s, ['spec', 'containers', 0]), ['securityContext', 'capabilities', 'drop'], 'ALL'));
    expect(out).toBe('spec:\r\n  containers:\r\n    - name: a\r\n      securityContext:\r\n        capabilities:\r\n          drop:\r\n            - ALL\r\n');
  });

  it('removes whole CRLF lines and empties collections without touching other line ends', () => {
    const text = 'sc:\r\n  privileged: true\r\n  runAsUser: 0\r\nadd:\r\n  - SYS_ADMIN\r\nx: 1\r\n';
    const out = edit(text, (f, s) => {
      f.remove(map(s, ['sc']), 'privileged');
      f.removeItem(seq(s, ['add']), seq(s, ['add']).items[0] as Node);
    });
    expect(out).toBe('sc:\r\n  runAsUser: 0\r\nadd: []\r\nx: 1\r\n');
  });

  it('keeps a BOM', () => {
    const text = '\uFEFFspec:\n  name: a\n';
    expect(edit(text, (f, s) => f.ensure(map(s, ['spec']), ['hostNetwork'], false))).toBe('\uFEFFspec:\n  name: a\n  hostNetwork: false\n');
  });

  it('adds no newline at the end of a file that had none', () => {
    const text = 'spec:\n  name: a';
    expect(edit(text, (f, s) => f.ensure(map(s, ['spec']), ['x'], 1))).toBe('spec:\n  name: a\n  x: 1');
    const list = 'drop:\n  - NET_RAW';
    expect(edit(list, (f, s) => f.appendTo(s.docs[0].contents as YAMLMap, ['drop'], 'ALL'))).toBe('drop:\n  - NET_RAW\n  - ALL');
  });

  it('removing the last line of a file without a final newline adds none', () => {
    expect(edit('sc:\n  a: 1\n  privileged: true', (f, s) => f.remove(map(s, ['sc']), 'privileged'))).toBe('sc:\n  a: 1');
  });

  it('removing the last list item of a file without a final newline adds none', () => {
    expect(edit('add:\n  - NET_BIND_SERVICE\n  - NET_RAW', (f, s) => f.removeItem(seq(s, ['add']), seq(s, ['add']).items[1] as Node))).toBe('add:\n  - NET_BIND_SERVICE');
  });

  it('replacing the last line of a file without a final newline leaves no empty line', () => {
    const text = 'env:\n  - name: DB_PASSWORD\n    value: s3cr3t';
    const out = edit(text, (f, s) => {
      f.remove(map(s, ['env', 0]), 'value');
      f.ensure(map(s, ['env', 0]), ['valueFrom', 'secretKeyRef', 'key'], 'DB_PASSWORD');
    });
    expect(out).toBe('env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        key: DB_PASSWORD');
  });

  it('keeps document markers and edits the right document of a stream', () => {
    const text = lines('---', '# Source: a.yaml', 'kind: A', 'spec:', '  x: 1', '---', 'kind: B', 'spec:', '  x: 1', '...');
    const out = edit(text, (f, s) => f.ensure(map(s, ['spec'], 1), ['y'], 2));
    expect(out).toBe(lines('---', '# Source: a.yaml', 'kind: A', 'spec:', '  x: 1', '---', 'kind: B', 'spec:', '  x: 1', '  y: 2', '...'));
  });

  it('the style of each document of a stream is its own', () => {
    const text = lines('kind: A', 'spec:', '  ports:', '    - port: 80', '---', 'kind: B', 'spec:', '    template:', '        x: 1', '    list:', '    - a');
    const out = edit(text, (f, s) => f.appendTo(map(s, ['spec', 'template'], 1), ['caps', 'drop'], 'ALL'));
    expect(out).toBe(lines('kind: A', 'spec:', '  ports:', '    - port: 80', '---', 'kind: B', 'spec:', '    template:', '        x: 1', '        caps:', '            drop:', '            - ALL', '    list:', '    - a'));
  });
});

describe('removing', () => {
  it('removes a pair with its line, comments on other lines stay', () => {
    const text = lines('sc:', '  # before', '  privileged: true  # same line', '  # after', '  runAsUser: 1000');
    expect(edit(text, (f, s) => f.remove(map(s, ['sc']), 'privileged'))).toBe(lines('sc:', '  # before', '  # after', '  runAsUser: 1000'));
  });

  it('removes a pair whose value is a nested block', () => {
    const text = lines('sc:', '  seLinuxOptions:', '    type: spc_t', '    level: s0', '  runAsUser: 1000');
    expect(edit(text, (f, s) => f.remove(map(s, ['sc']), 'seLinuxOptions'))).toBe(lines('sc:', '  runAsUser: 1000'));
  });

  it('removes the first key of a `- key:` item by pulling the next key up behind the dash', () => {
    const text = lines('ports:', '  - hostPort: 80', '    containerPort: 80', '  - containerPort: 81');
    expect(edit(text, (f, s) => f.remove(map(s, ['ports', 0]), 'hostPort'))).toBe(lines('ports:', '  - containerPort: 80', '  - containerPort: 81'));
  });

  it('removing the first key of a `- key:` item keeps a following comment line tidy', () => {
    const text = lines('ports:', '  - hostPort: 80', '    # the Service targets this name', '    name: http');
    expect(edit(text, (f, s) => f.remove(map(s, ['ports', 0]), 'hostPort'))).toBe(lines('ports:', '  - # the Service targets this name', '    name: http'));
  });

  it('removing the only key of a block mapping leaves `{}` on the key line', () => {
    const text = lines('sc:', '  privileged: true', 'next: 1');
    expect(edit(text, (f, s) => f.remove(map(s, ['sc']), 'privileged'))).toBe(lines('sc: {}', 'next: 1'));
  });

  it('an emptied mapping below a commented key line keeps the comment', () => {
    const text = lines('sc: # reviewed', '  privileged: true', 'next: 1');
    expect(edit(text, (f, s) => f.remove(map(s, ['sc']), 'privileged'))).toBe(lines('sc: # reviewed', '  {}', 'next: 1'));
  });

  it('removing every item of a block sequence leaves `[]`', () => {
    const text = lines('sysctls:', '  - name: a', '    value: "1"', '  - name: b', '    value: "2"', 'next: 1');
    const out = edit(text, (f, s) => {
      for (const item of seq(s, ['sysctls']).items) f.removeItem(seq(s, ['sysctls']), item as Node);
    });
    expect(out).toBe(lines('sysctls: []', 'next: 1'));
  });

  it('removes one block sequence item with its lines, keeping its neighbours', () => {
    const text = lines('add:', '  - NET_BIND_SERVICE', '  - NET_RAW  # ping', '  - SYS_TIME');
    expect(edit(text, (f, s) => f.removeItem(seq(s, ['add']), seq(s, ['add']).items[1] as Node))).toBe(lines('add:', '  - NET_BIND_SERVICE', '  - SYS_TIME'));
  });

  it('a block mapping emptied and refilled in one pass gets its new keys at its column, in one pass', () => {
    const text = lines('c:', '  - name: app', '    capabilities:', '      add:', '        - NET_ADMIN # why', '        - SYS_TIME', '    image: x', 'end: 1');
    const out = edit(text, (f, s) => {
      const caps = map(s, ['c', 0, 'capabilities']);
      f.remove(caps, 'add');
      f.ensure(caps, ['drop'], ['ALL']);
      f.ensure(caps, ['x'], { y: 1 });
    });
    expect(out).toBe(lines('c:', '  - name: app', '    capabilities:', '      drop:', '        - ALL', '      x:', '        y: 1', '    image: x', 'end: 1'));
    // The first key of a `- key:` item is replaced behind the dash; the end of a file without a newline stays so.
    const item = 'l:\n  - a: 1\n    b: 2';
    expect(edit(item, (f, s) => {
      const m = map(s, ['l', 0]);
      f.remove(m, 'a');
      f.remove(m, 'b');
      f.ensure(m, ['c'], 3);
    })).toBe('l:\n  - c: 3');
  });

  it('a list emptied and refilled in one pass keeps its block style', () => {
    const text = lines('drop:', '  - NET_RAW', 'x: 1');
    const out = edit(text, (f, s) => {
      f.removeItem(seq(s, ['drop']), seq(s, ['drop']).items[0] as Node);
      f.appendTo(s.docs[0].contents as YAMLMap, ['drop'], 'ALL');
    });
    expect(out).toBe(lines('drop:', '  - ALL', 'x: 1'));
  });
});

describe('Fix', () => {
  it('ensure plans nothing when the key is present, whatever its value', () => {
    const src = parseSource(lines('sc:', '  runAsUser: 0', '  runAsNonRoot: false'));
    const fix = new Fix().ensure(map(src, ['sc']), ['runAsUser'], 10001).ensure(src.docs[0].contents as YAMLMap, ['sc', 'runAsNonRoot'], true);
    expect(fix.ops).toEqual([]);
    expect(fix.refusals).toEqual([]);
  });

  it('set replaces a different scalar in place, keeping the comment and quoting', () => {
    const text = lines('sc:', '  runAsUser: 0  # root', '  type: "Unconfined"', "  mode: 'x'");
    const out = edit(text, (f, s) => {
      f.set(map(s, ['sc']), ['runAsUser'], 10001);
      f.set(map(s, ['sc']), ['type'], 'RuntimeDefault');
      f.set(map(s, ['sc']), ['mode'], "it's");
    });
    expect(out).toBe(lines('sc:', '  runAsUser: 10001  # root', '  type: "RuntimeDefault"', "  mode: 'it''s'"));
  });

  it('set plans nothing when the value is already there', () => {
    const src = parseSource(lines('sc:', '  readOnlyRootFilesystem: true'));
    expect(new Fix().set(src.docs[0].contents as YAMLMap, ['sc', 'readOnlyRootFilesystem'], true).ops).toEqual([]);
  });

  it('set refuses to put a plain value where a structure stands', () => {
    const src = parseSource(lines('sc:', '  seccompProfile:', '    type: Localhost'));
    const fix = new Fix().set(src.docs[0].contents as YAMLMap, ['sc', 'seccompProfile'], 'RuntimeDefault');
    expect(fix.ops).toEqual([]);
    expect(fix.refusals).toHaveLength(1);
  });

  it('quotes strings that YAML 1.1 readers would take for numbers or booleans', () => {
    const text = lines('user: x', 'flag: x');
    const out = edit(text, (f, s) => {
      f.set(s.docs[0].contents as YAMLMap, ['user'], '999:999');
      f.set(s.docs[0].contents as YAMLMap, ['flag'], 'yes');
    });
    expect(out).toBe(lines('user: "999:999"', 'flag: "yes"'));
  });

  it('refuses to edit below an anchored value, through an alias, or an anchored item', () => {
    const src = parseSource(lines('base: &sc', '  runAsUser: 1000', 'other: *sc', 'list: &l', '  - a', 'item:', '  - &i x'));
    const root = src.docs[0].contents as YAMLMap;
    const viaAnchor = new Fix().ensure(root, ['base', 'runAsNonRoot'], true);
    expect(viaAnchor.ops).toEqual([]);
    expect(viaAnchor.refusals[0]).toMatch(/anchor &sc/);
    const viaAlias = new Fix().ensure(root, ['other', 'runAsNonRoot'], true);
    expect(viaAlias.ops).toEqual([]);
    expect(viaAlias.refusals).toHaveLength(1);
    expect(new Fix().appendTo(root, ['list'], 'b').refusals[0]).toMatch(/anchor &l/);
    expect(new Fix().remove(root, 'base').refusals[0]).toMatch(/anchor &sc/);
    const item = seq(src, ['item']).items[0] as Node;
    expect(new Fix().removeItem(seq(src, ['item']), item).refusals[0]).toMatch(/anchor &i/);
    expect(new Fix().replace(item, 'y').refusals[0]).toMatch(/anchor &i/);
    expect(new Fix().replace(nodeAt(src, ['other']), 'y').refusals).toHaveLength(1);
  });

  it('setValue replaces a whole value, but not an anchored one', () => {
    const src = parseSource(lines('a: &x 1', 'b: [1, 2]'));
    const root = src.docs[0].contents as YAMLMap;
    expect(new Fix().setValue(pairOf(root, 'a') as Pair, 2).refusals[0]).toMatch(/anchor &x/);
    const text = lines('a: &x 1', 'b: [1, 2]');
    expect(edit(text, (f, s) => f.setValue(pairOf(s.docs[0].contents as YAMLMap, 'b') as Pair, { c: 1 }))).toBe(lines('a: &x 1', 'b:', '  c: 1'));
  });
});

describe('applyEdits', () => {
  it('splices edits in position order, whatever order they come in', () => {
    const edits: TextEdit[] = [
      { start: 4, end: 5, text: 'C' },
      { start: 0, end: 1, text: 'A' },
    ];
    expect(applyEdits('a b c d', edits).text).toBe('A b C d');
  });

  it('skips an edit that overlaps one already accepted, and returns it', () => {
    const first = { start: 0, end: 5, text: 'HELLO' };
    const overlapping = { start: 3, end: 8, text: 'X' };
    const after = { start: 8, end: 9, text: '!' };
    const result = applyEdits('hello world', [overlapping, first, after]);
    expect(result.text).toBe('HELLO wo!ld');
    expect(result.applied).toEqual([first, after]);
    expect(result.skipped).toEqual([overlapping]);
  });

  it('applies every insertion at one offset, lower rank first, then in given order', () => {
    const result = applyEdits('ab', [
      { start: 1, end: 1, text: '3' },
      { start: 1, end: 1, text: '1', rank: -10 },
      { start: 1, end: 1, text: '4' },
      { start: 1, end: 1, text: '2', rank: -5 },
    ]);
    expect(result.text).toBe('a1234b');
    expect(result.skipped).toEqual([]);
  });

  it('an insertion at the end of a replaced range is not an overlap', () => {
    expect(applyEdits('abc', [{ start: 0, end: 2, text: 'X' }, { start: 2, end: 2, text: 'Y' }]).text).toBe('XYc');
  });

  it('skips edits outside the text or with an inverted range', () => {
    const result = applyEdits('abc', [{ start: 2, end: 1, text: 'x' }, { start: 1, end: 9, text: 'y' }]);
    expect(result.text).toBe('abc');
    expect(result.skipped).toHaveLength(2);
  });

  it('nested insertions at the same offset land deepest first (renderer ranks)', () => {
    // The container's new key and the pod's new key both go at the end of the file.
    const text = lines('spec:', '  containers:', '    - name: a');
    const out = edit(text, (f, s) => {
      f.ensure(map(s, ['spec']), ['hostNetwork'], false);
      f.ensure(map(s, ['spec', 'containers', 0]), ['image'], 'x');
    });
    expect(out).toBe(lines('spec:', '  containers:', '    - name: a', '      image: x', '  hostNetwork: false'));
  });
});
