/**
 * Just enough of Go's text/template to check a Helm chart without Helm: find the actions, check
 * that block keywords nest, turn a template into YAML with the same structure, and list the
 * `.Values` paths it reads.
 */

export interface Action {
  /** The text between the delimiters, without trim markers (`{{-`, `-}}`). */
  readonly body: string;
  readonly kind: ActionKind;
  /** Offsets of `{{` and just past `}}` in the template. */
  readonly start: number;
  readonly end: number;
  /** 1-based line of `{{`. */
  readonly line: number;
}

export type ActionKind =
  | 'comment'
  | 'if'
  | 'with'
  | 'range'
  | 'define'
  | 'block'
  | 'else'
  | 'end'
  | 'assign'
  | 'loop-control'
  | 'output';

export interface Finding {
  readonly line: number;
  readonly message: string;
}

const blockKinds = new Set<ActionKind>(['if', 'with', 'range', 'define', 'block']);
const silentKinds = new Set<ActionKind>([...blockKinds, 'comment', 'else', 'end', 'assign', 'loop-control']);

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i += 1) if (text.charCodeAt(i) === 10) line += 1;
  return line;
}

/** Index just past the closing quote of the literal that opens at `from`, or -1. */
function skipLiteral(text: string, from: number): number {
  const quote = text[from];
  for (let i = from + 1; i < text.length; i += 1) {
    if (quote !== '`' && text[i] === '\\') i += 1;
    else if (text[i] === quote) return i + 1;
    else if (quote !== '`' && text[i] === '\n') return -1;
  }
  return -1;
}

function classify(body: string): ActionKind {
  const trimmed = body.trim();
  if (trimmed.startsWith('/*')) return 'comment';
  if (/^\$\w*\s*:?=/.test(trimmed)) return 'assign';
  const word = /^[a-z]+/.exec(trimmed)?.[0] ?? '';
  if (word === 'break' || word === 'continue') return 'loop-control';
  if (blockKinds.has(word as ActionKind) || word === 'else' || word === 'end') return word as ActionKind;
  return 'output';
}

/** Where the action that opened at `open` closes, or a finding explaining why it does not. */
function findClose(text: string, open: number): { close: number } | { problem: string } {
  const inner = text.slice(open + 2).replace(/^-\s/, '  ');
  if (/^\s*\/\*/.test(inner)) {
    const commentEnd = text.indexOf('*/', open);
    const close = commentEnd < 0 ? -1 : text.indexOf('}}', commentEnd);
    if (
      close < 0 ||
      text
        .slice(commentEnd + 2, close)
        .trim()
        .replace(/^-$/, '') !== ''
    ) {
      return { problem: 'template comment is not closed with */}}' };
    }
    return { close };
  }
  for (let i = open + 2; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === '"' || ch === '`' || ch === "'") {
      const after = skipLiteral(text, i);
      if (after < 0) return { problem: 'unterminated string literal inside {{ }}' };
      i = after - 1;
    } else if (text.startsWith('}}', i)) {
      return { close: i };
    } else if (text.startsWith('{{', i)) {
      return { problem: '"{{" is not closed before the next "{{"' };
    }
  }
  return { problem: '"{{" is never closed with "}}"' };
}

/** Splits a template into its actions; unbalanced delimiters become findings. */
export function lexTemplate(text: string): { actions: Action[]; findings: Finding[] } {
  const actions: Action[] = [];
  const findings: Finding[] = [];
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf('{{', pos);
    const strayClose = text.indexOf('}}', pos);
    if (strayClose >= 0 && (open < 0 || strayClose < open)) {
      findings.push({ line: lineAt(text, strayClose), message: '"}}" without a matching "{{"' });
    }
    if (open < 0) break;
    const found = findClose(text, open);
    if ('problem' in found) {
      findings.push({ line: lineAt(text, open), message: found.problem });
      pos = open + 2;
      continue;
    }
    const body = text
      .slice(open + 2, found.close)
      .replace(/^-(?=\s)/, '')
      .replace(/(?<=\s)-$/, '');
    actions.push({ body, kind: classify(body), start: open, end: found.close + 2, line: lineAt(text, open) });
    pos = found.close + 2;
  }
  return { actions, findings };
}

/** Block keywords must nest: if/with/range/define/block ... [else [if|with]] ... end. */
export function checkBlocks(actions: readonly Action[]): Finding[] {
  const findings: Finding[] = [];
  const open: { kind: ActionKind; line: number; sawElse: boolean }[] = [];
  for (const action of actions) {
    if (blockKinds.has(action.kind)) open.push({ kind: action.kind, line: action.line, sawElse: false });
    else if (action.kind === 'else') {
      const top = open.at(-1);
      if (!top || top.kind === 'define' || top.kind === 'block') {
        findings.push({ line: action.line, message: '"else" outside an if, with or range block' });
      } else if (top.sawElse) {
        findings.push({
          line: action.line,
          message: `"else" after the final "else" of the ${top.kind} block`,
        });
      } else if (action.body.trim() === 'else') top.sawElse = true;
    } else if (action.kind === 'end' && !open.pop()) {
      findings.push({ line: action.line, message: '"end" without an open block' });
    }
  }
  for (const block of open) {
    findings.push({ line: block.line, message: `"${block.kind}" block is never closed with "end"` });
  }
  return findings;
}

const CONTROL = '\uE000';
const VALUE = '\uE001';
/** What an output action turns into; a plain scalar that fits anywhere a scalar does. */
export const PLACEHOLDER = '__TPL__';

/**
 * Replaces actions so the YAML structure survives: a line holding only actions disappears (its
 * output, e.g. `toYaml ... | nindent`, is rendered YAML at the right indent), a list item that is
 * only an action becomes an empty item that following indented keys may extend, and any other
 * output action becomes a scalar. Line numbers are preserved.
 */
export function yamlSkeleton(text: string, actions: readonly Action[]): string {
  let out = '';
  let pos = 0;
  for (const action of actions) {
    const newlines = text.slice(action.start, action.end).split('\n').length - 1;
    out +=
      text.slice(pos, action.start) +
      (silentKinds.has(action.kind) ? CONTROL : VALUE) +
      '\n'.repeat(newlines);
    pos = action.end;
  }
  out += text.slice(pos);
  return out
    .split('\n')
    .map((line) => {
      if (!line.includes(CONTROL) && !line.includes(VALUE)) return line;
      const kept = line.replaceAll(CONTROL, '');
      if (kept.replaceAll(VALUE, '').trim() === '') return '';
      const listItem = /^(\s*-)\s+\uE001+\s*$/.exec(kept);
      return listItem ? listItem[1] : kept.replaceAll(VALUE, PLACEHOLDER);
    })
    .join('\n');
}

/** Names given to `include` / `template`, and names declared by `define`. */
export function templateNames(actions: readonly Action[]): {
  used: { name: string; line: number }[];
  defined: string[];
} {
  const used: { name: string; line: number }[] = [];
  const defined: string[] = [];
  for (const action of actions) {
    for (const m of action.body.matchAll(/\b(include|template|define)\s+"([^"]+)"/g)) {
      if (m[1] === 'define') defined.push(m[2] ?? '');
      else used.push({ name: m[2] ?? '', line: action.line });
    }
  }
  return { used, defined };
}

export { valuesReferences } from './values-references.js';
