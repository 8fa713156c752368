import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyRules } from '../errors/policy-denial.js';
import { createMetrics, leaseLossReasons } from './metrics.js';

describe('createMetrics', () => {
  it('exposes every label value of the counters an "any increase" alert watches at 0 from the start', async () => {
    // Prometheus sees no increase in a series whose first sample is already 1: without these
    // zeros, a pod's first lost lease, policy denial or sweep failure fires no alert.
    const text = await createMetrics('test', ['kind-a', 'kind-b']).registry.metrics();
    for (const kind of ['kind-a', 'kind-b'])
      expect(text).toContain(`atlas_connector_sweep_failures_total{kind="${kind}"} 0\n`);
    for (const reason of leaseLossReasons)
      expect(text).toContain(`atlas_connector_leases_lost_total{reason="${reason}"} 0\n`);
    for (const rule of policyRules)
      expect(text).toContain(`atlas_connector_policy_denials_total{rule="${rule}"} 0\n`);
    // Unlabelled, so at 0 by itself: a first failed OAuth token revoke is an increase.
    expect(text).toContain('atlas_connector_atlas_oauth_revoke_failures_total 0\n');
  });

  it('exposes atlas_connector_info in every scrape, which the alerts tell a failed scrape by', async () => {
    // The any-increase alerts take a series missing one window ago as new, except on a pod whose
    // info was missing then too: without info in every scrape, every old counter would look new.
    const text = await createMetrics('1.2.3').registry.metrics();
    expect(text).toContain('atlas_connector_info{version="1.2.3"} 1\n');
  });

  it("names no label as the Prometheus Operator names a scrape target's own labels", () => {
    // A ServiceMonitor target carries these labels; a metric's label of the same name is stored
    // as exported_<name> (honorLabels off), so queries and dashboards would miss it.
    const targetLabels = ['endpoint', 'service', 'namespace', 'pod', 'container', 'job', 'instance'];
    const clashes = createMetrics('test')
      .registry.getMetricsAsArray()
      .flatMap((metric) =>
        (metric as unknown as { labelNames: readonly string[] }).labelNames
          .filter((label) => targetLabels.includes(label))
          .map((label) => `${metric.name}{${label}}`),
      );
    expect(clashes).toEqual([]);
  });

  it('documents every atlas_connector_* family, with its labels, in the operations guide', () => {
    // docs/operations.md is the operators' contract: a family missing from its table is one nobody
    // graphs or alerts on, and a row naming no family (or other labels) is a query that finds nothing.
    const guide = readFileSync(join(import.meta.dirname, '../../docs/operations.md'), 'utf8');
    const documented = [...guide.matchAll(/^\| `(atlas_connector_\w+)(?:\{([^}]*)\})?`/gm)].map(
      ([, name = '', labels = '']) => `${name}{${labels.replace(/=[^,]*/g, '')}}`,
    );
    const exported = createMetrics('test')
      .registry.getMetricsAsArray()
      .filter((metric) => metric.name.startsWith('atlas_connector_'))
      .map((metric) => {
        const labels = (metric as unknown as { labelNames: readonly string[] }).labelNames;
        return `${metric.name}{${labels.join(',')}}`;
      });
    expect([...documented].sort()).toEqual([...exported].sort());
  });
});
