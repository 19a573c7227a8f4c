import { Lexer } from 'yaml';

/** A document of a stream whose YAML structure holds a template action (`{{` opening a flow mapping). */
export interface TemplatedDocument {
  /** 1-based, as the YAML parser counts the stream's documents. */
  index: number;
  /** 1-based line of the first `{{` that is structure. */
  line: number;
  col: number;
  /** The document's text: from its `---` (or the stream's start) to the next `---`. */
  start: number;
  end: number;
}

/** Lexer tokens that stand for no source text. */
const CONTROL = new Set(['\x02', '\x18', '\x1f']);
/** Tokens that are not content: a span holding only these is no document of its own. */
const BLANK = /^(?:[\x02\x18\x1f\uFEFF]|[ \t]*|\r?\n|#.*|\.\.\.|%.*)$/;

/**
 * The documents of `text` that are templates (Helm, Go templates) rather than YAML: where `{{`
 * is structure, two flow-mapping starts in a row, as `{{- if .Values.x }}` or
 * `name: {{ .Release.Name }}` are read. `{{` inside a quoted or block scalar (a Grafana legend
 * in a ConfigMap, an alert template) or a comment is text and makes nothing a template.
 */
export function templatedDocuments(text: string): TemplatedDocument[] {
  if (!text.includes('{{')) return [];
  const spans: { start: number; content: boolean; template?: number }[] = [{ start: 0, content: false }];
  let offset = 0;
  let previous = '';
  let previousAt = -1;
  for (const token of new Lexer().lex(text)) {
    if (CONTROL.has(token)) continue;
    const span = spans[spans.length - 1];
    if (token === '---' && (offset === 0 || text[offset - 1] === '\n')) spans.push({ start: offset, content: true });
    else if (token === '{' && previous === '{' && previousAt === offset - 1) span.template ??= previousAt;
    else if (!span.content && !BLANK.test(token)) span.content = true;
    previous = token;
    previousAt = offset;
    offset += token.length;
  }
  const out: TemplatedDocument[] = [];
  let index = 0;
  spans.forEach((span, i) => {
    if (span.content) index++;
    if (span.template === undefined) return;
    const before = text.slice(0, span.template);
    const lineStart = before.lastIndexOf('\n') + 1;
    out.push({
      index: Math.max(index, 1),
      line: before.split('\n').length,
      col: span.template - lineStart + 1,
      start: span.start,
      end: i + 1 < spans.length ? spans[i + 1].start : text.length,
    });
  });
  return out;
}

/**
 * `text` with each templated document made a comment-only document of the same lines (its
 * `---` kept), so the others can be hardened around it; `restore` puts the templates back into
 * the hardened text (comment-only documents come out of hardening byte for byte).
 */
export function maskTemplates(text: string, templates: readonly TemplatedDocument[]): { masked: string; restore(output: string): string } {
  const nonce = Math.random().toString(36).slice(2, 10);
  const parts: string[] = [];
  const masks: { mask: string; original: string }[] = [];
  let at = 0;
  templates.forEach((t, j) => {
    const from = text.startsWith('---', t.start) ? t.start + 3 : t.start;
    const original = text.slice(from, t.end);
    const marker = `#cuirass-template-${nonce}-${j}`;
    const mask = original
      .split('\n')
      .map((line, k) => {
        const cr = line.endsWith('\r') ? '\r' : '';
        if (k === 0 && from !== t.start) return line.length > cr.length ? ` ${marker}${cr}` : line;
        return k > 0 && line === '' ? '' : `${marker}${cr}`;
      })
      .join('\n');
    parts.push(text.slice(at, from), mask);
    masks.push({ mask, original });
    at = t.end;
  });
  parts.push(text.slice(at));
  return {
    masked: parts.join(''),
    restore(output) {
      let out = output;
      let from = 0;
      for (const { mask, original } of masks) {
        const i = out.indexOf(mask, from);
        if (i < 0) throw new Error('a templated document changed while the others were hardened');
        out = out.slice(0, i) + original + out.slice(i + mask.length);
        from = i + original.length;
      }
      return out;
    },
  };
}
