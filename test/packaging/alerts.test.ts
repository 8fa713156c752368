// The shape of files/alerts.yaml, checked on every run (alerts-promtool.test.ts evaluates the rules
// where a promtool is installed): each metric an alert reads is one the connector exports, with the
// labels the alert names, and each alert that pages on any increase of a counter sees the counter's
// first event too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../src/admin/metrics.js';
import { errorCodes, errorCodeTable } from '../../src/errors/error-codes.js';

const chartDir = join(import.meta.dirname, '../../helm/atlas-jit-connector');
const rules = parse(readFileSync(join(chartDir, 'files/alerts.yaml'), 'utf8')) as {
  alert: string;
  expr: string;
}[];
const { registry } = createMetrics('test');

/** The labels of one exported family, as prom-client was told them (Metric keeps them unexported). */
function labelNamesOf(name: string): readonly string[] | undefined {
  const metric = registry.getSingleMetric(name) as { labelNames?: readonly string[] } | undefined;
  return metric && (metric.labelNames ?? []);
}

describe('the shipped alerts', () => {
  it.each(rules.map((rule) => [rule.alert, rule.expr]))(
    '%s reads only exported metrics, by labels they carry',
    (_alert, expr) => {
      const reads = [...expr.matchAll(/\b(atlas_connector_\w+)(?:\{([^}]*)\})?/g)];
      expect(reads.length).toBeGreaterThan(0);
      // The target labels Prometheus adds to every scraped series (`pod`: the ServiceMonitor's).
      const targetLabels = ['job', 'instance', 'pod'];
      for (const [text, name = '', selector = ''] of reads) {
        const labels = labelNamesOf(name);
        expect(labels, `${text}: no such metric in src/admin/metrics.ts`).toBeDefined();
        for (const [, label] of selector.matchAll(/(\w+)\s*(?:=|!=|=~|!~)/g))
          expect(labels, `${text} filters on ${label}`).toContain(label);
      }
      const grouped = [...expr.matchAll(/\b(?:by|on) \(([^)]*)\)/g)].flatMap(([, names = '']) =>
        names.split(',').map((n) => n.trim()),
      );
      const exported = new Set([
        ...reads.flatMap(([, name = '']) => labelNamesOf(name) ?? []),
        ...targetLabels,
      ]);
      for (const label of grouped) expect([...exported], `grouped by ${label}`).toContain(label);
    },
  );

  it('that page on any increase of a counter also page on a series born at its first event', () => {
    // A labelled counter series appears only when it first counts, already at 1, and increase()
    // over samples that are all 1 is 0: a pod's first secret-store failure, first 401 or first
    // 403 of an operation (and a lost lease or a denial before the first scrape) would alert on
    // no one. Each such alert also takes a series that is above 0 and was not there one window
    // ago, except where the pod was not scraped one window ago (a failed scrape or a gap in
    // Prometheus), where a series long there would look new.
    const anyIncrease = rules.filter((rule) => rule.expr.includes('increase('));
    expect(anyIncrease.map((rule) => rule.alert).sort()).toEqual([
      'AtlasConnectorAtlasAuthFailures',
      'AtlasConnectorAtlasForbidden',
      'AtlasConnectorLeasesLost',
      'AtlasConnectorPolicyDenials',
      'AtlasConnectorRevokeFailures',
      'AtlasConnectorSecretFetchFailures',
      'AtlasConnectorSweepFailures',
    ]);
    for (const { alert, expr } of anyIncrease) {
      const flat = expr.replace(/\s+/g, ' ');
      const [, counter = '', window = ''] = /increase\(([^[]+)\[(\w+)\]\) > 0/.exec(flat) ?? [];
      expect(flat, alert).toContain(`or ( ${counter} > 0 unless ${counter} offset ${window} `);
      expect(flat, alert).toContain(
        `unless on (job, instance) ( present_over_time(atlas_connector_info[1h] offset ${window}) ` +
          `unless atlas_connector_info offset ${window} )`,
      );
    }
  });

  it('page on a revoke or sweep that failed for a reason no retry fixes, however many other jobs succeed', () => {
    // AtlasConnectorJobFailures is a ratio over every job: a revoke failing now and then among the
    // grants, pings and discovers that succeed stays under its 10 %, and the access it was to end
    // stays in place. The job types that take access away are run-job.ts's takesAccessAway; the
    // codes left out are the retryable ones (the control plane runs the job again, and the rate
    // limit, server error and job failure alerts watch those), read from the one error-code table.
    const rule = rules.find((r) => r.alert === 'AtlasConnectorRevokeFailures');
    expect(rule, 'no alert on failed revokes and sweeps').toBeDefined();
    const selectors = [...(rule?.expr ?? '').matchAll(/atlas_connector_jobs_failed_total\{([^}]*)\}/g)];
    expect(selectors.length).toBeGreaterThan(0);
    const retryable = errorCodes.filter((code) => errorCodeTable[code].retryable);
    for (const [, selector = ''] of selectors) {
      expect(selector).toContain('type=~"revoke|sweep"');
      const [, skipped = ''] = /code!~"([^"]*)"/.exec(selector) ?? [];
      expect(skipped.split('|').sort()).toEqual([...retryable].sort());
    }
  });
});
