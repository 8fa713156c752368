import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { builtIntegrationKinds } from '../../src/adapters/built-kinds.js';
import { tableEnd, tableStart, valuesTable } from './values-table.js';

const chartDir = join(import.meta.dirname, '../../helm/atlas-jit-connector');
const read = (file: string) => readFileSync(join(chartDir, file), 'utf8');

/** The kinds a text names, from the fixed phrase each file uses to list them. */
function kindsNamed(text: string, phrase: RegExp): string[] {
  const sentence = phrase.exec(text.replace(/\s+/g, ' '))?.[1] ?? '';
  return [...sentence.matchAll(/atlas-[a-z-]+/g)].map((m) => m[0]).sort();
}

// The NOTES' list of kinds is checked against the registry by src/adapters/registry-docs.test.ts.
describe('the chart README', () => {
  it('holds the values table generated from values.yaml', () => {
    const readme = read('README.md');
    const table = readme
      .slice(readme.indexOf(tableStart) + tableStart.length, readme.indexOf(tableEnd))
      .trim();
    expect(table).toBe(valuesTable(read('values.yaml')));
  });

  it('names exactly the integration kinds the adapter registry builds', () => {
    expect(kindsNamed(read('README.md'), /serves the integration kinds ([^(.]*)/)).toEqual(
      [...builtIntegrationKinds()].sort(),
    );
  });
});

describe('the PrometheusRule alerts', () => {
  it('are the alerts docs/operations.md suggests, rule for rule', () => {
    const docs = readFileSync(join(chartDir, '../../docs/operations.md'), 'utf8');
    const block =
      /```yaml\n(apiVersion: monitoring\.coreos\.com\/v1\nkind: PrometheusRule\n[\s\S]*?)```/.exec(docs)?.[1];
    const documented = parse(block ?? '') as { spec: { groups: { rules: unknown[] }[] } };
    expect(documented.spec.groups[0]?.rules).toEqual(parse(read('files/alerts.yaml')));
  });

  it('remember a discovery that succeeded on a replica since replaced', () => {
    // A restarted or rolled-out replica exports 0 until its own first success; a stale-discovery
    // alert reading only the live series forgets the earlier success and never fires after a rollout.
    const rules = parse(read('files/alerts.yaml')) as { alert: string; expr: string }[];
    const stale = rules.find((rule) => rule.alert === 'AtlasConnectorDiscoveryStale')?.expr ?? '';
    const gauge = 'atlas_connector_discovery_last_success_timestamp_seconds';
    const reads = [...stale.matchAll(new RegExp(`(\\w*)\\(${gauge}(\\[[^\\]]+\\])?\\)`, 'g'))];
    expect(reads.length, stale).toBeGreaterThan(0);
    for (const [text, fn, range] of reads) {
      expect(fn, text).toBe('max_over_time');
      expect(range, text).toMatch(/^\[\d+[dw]\]$/);
    }
  });

  it('page only for a credential Atlas rejects (401), not for the 403s its rules give (last owner, quota)', () => {
    // An org-portal revoke that meets the last owner, or a grant over a project's user quota, is
    // answered 403 and handled as an outcome: a critical page for it would wake someone for nothing.
    const rules = parse(read('files/alerts.yaml')) as { expr: string; labels: { severity: string } }[];
    const critical = rules.filter((rule) => rule.labels.severity === 'critical').map((rule) => rule.expr);
    expect(critical.some((expr) => expr.includes('atlas_api_requests_total{code="401"}'))).toBe(true);
    for (const expr of critical) expect(expr).not.toMatch(/atlas_api_requests_total\{[^}]*403/);
  });
});
