import { cpus } from 'node:os';
import type { Figure, Target } from './figures.js';

const columns = ['figure', 'value', 'lower bound', 'ratio', 'target'] as const;

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 100 || Number.isInteger(value)) return value.toFixed(0);
  return value.toFixed(abs >= 10 ? 1 : 2);
}

export function formatQuantity(value: number, unit: string): string {
  return unit === '' ? formatNumber(value) : `${formatNumber(value)} ${unit}`;
}

function formatTarget(target: Target | undefined, unit: string, met: boolean | null): string {
  if (!target) return '—';
  const op = target.op === '<=' ? '≤' : '≥';
  const threshold = target.on === 'ratio' ? `${target.value}×` : formatQuantity(target.value, unit);
  return `${op} ${threshold} ${met === true ? 'met' : 'MISSED'}`;
}

function row(f: Figure): string[] {
  return [
    f.name,
    formatQuantity(f.value, f.unit),
    `${formatQuantity(f.bound, f.unit)} (${f.boundLabel})`,
    f.ratio === null ? '—' : `${f.ratio.toFixed(2)}×`,
    formatTarget(f.target, f.unit, f.met),
  ];
}

/** One plain-text table per scenario; a missed target reads `MISSED` in the last column. */
export function renderTables(figures: readonly Figure[]): string {
  const scenarios = [...new Set(figures.map((f) => f.scenario))];
  return scenarios
    .map((scenario) => {
      const rows = figures.filter((f) => f.scenario === scenario).map(row);
      const widths = columns.map((title, i) =>
        Math.max(title.length, ...rows.map((r) => (r[i] ?? '').length)),
      );
      const line = (cells: readonly string[]): string =>
        `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
      const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
      return [`## ${scenario}`, '', line(columns), rule, ...rows.map(line)].join('\n');
    })
    .join('\n\n');
}

export interface JsonReport {
  readonly generatedAt: string;
  readonly node: string;
  readonly cpus: number;
  readonly figures: readonly Figure[];
  readonly missed: number;
  readonly failedScenarios: readonly string[];
}

export function jsonReport(figures: readonly Figure[], failedScenarios: readonly string[]): JsonReport {
  return {
    generatedAt: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    figures,
    missed: figures.filter((f) => f.met === false).length,
    failedScenarios,
  };
}
