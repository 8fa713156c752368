import { isMap, isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';

/**
 * The chart README's values table, as helm-docs would generate it: one row per leaf key of
 * values.yaml (and per empty map or list), its default, and the text of its `# --` comment. The
 * README holds this table between markers; a test regenerates it and compares.
 */
export const tableStart =
  '<!-- values-table:start (generated from values.yaml; test/packaging/chart-readme.test.ts) -->';
export const tableEnd = '<!-- values-table:end -->';

export function valuesTable(valuesText: string): string {
  const lines = valuesText.split('\n');
  const rows: string[] = [];
  visit(parseDocument(valuesText), {
    Pair(_, pair, ancestors) {
      if (ancestors.some((node) => isSeq(node))) return visit.SKIP;
      const value = pair.value;
      const isContainer = (isMap(value) || isSeq(value)) && value.items.length > 0;
      if (isMap(value) && isContainer) return undefined;
      const keys = [...ancestors, pair]
        .filter(isPair)
        .map((p) => (isScalar(p.key) ? String(p.key.value) : '?'));
      const offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? 0) : 0;
      const description = commentAbove(lines, valuesText.slice(0, offset).split('\n').length - 1);
      rows.push(`| \`${keys.join('.')}\` | ${defaultOf(value)} | ${escape(description)} |`);
      return visit.SKIP;
    },
  });
  return ['| Key | Default | Description |', '|---|---|---|', ...rows].join('\n');
}

/** The `# --` comment block right above line `index` (0-based), joined into one sentence. */
function commentAbove(lines: readonly string[], index: number): string {
  const block: string[] = [];
  for (let i = index - 1; i >= 0 && /^\s*#/.test(lines[i] ?? ''); i -= 1) block.unshift(lines[i] ?? '');
  const start = block.findIndex((line) => /^\s*# --/.test(line));
  return block
    .slice(Math.max(start, 0))
    .map((line) => line.replace(/^\s*# (-- )?/, '').trim())
    .join(' ')
    .trim();
}

function defaultOf(value: unknown): string {
  const json = JSON.stringify(
    isScalar(value) ? value.value : (value as { toJSON(): unknown } | null)?.toJSON(),
  );
  return `\`${escape(json ?? 'null')}\``;
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;');
}
