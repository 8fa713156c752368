// The shipped alerts under a real Prometheus rule engine: `promtool test rules` evaluates
// files/alerts.yaml over scraped series written in promtool's notation (one value a minute; `_` is a
// missing sample, `stale` the marker a failed scrape writes). No npm package evaluates PromQL, so
// this runs where a `promtool` is on PATH or named by PROMTOOL (Debian: the `prometheus` package);
// without one it is skipped with a warning, and test/packaging/alerts.test.ts still checks the
// rules' shape on every run.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { suiteTempDir } from '../kits/temp-dir-test-kit.js';
import { findPromtool, testRules } from './promtool.js';

const chartDir = join(import.meta.dirname, '../../helm/atlas-jit-connector');

interface Rule {
  readonly alert: string;
  readonly expr: string;
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

const promtool = findPromtool();
if (promtool === undefined)
  console.warn('SKIPPING the promtool alert evaluations: no promtool on PATH (set PROMTOOL to one)');
const rules = parse(readFileSync(join(chartDir, 'files/alerts.yaml'), 'utf8')) as Rule[];
const scratch = suiteTempDir('alerts-test-');

/** Two replicas as the ServiceMonitor scrapes them: the target labels every series carries. */
const podA = 'job="atlas-jit-connector",instance="10.0.0.1:8081"';
const podB = 'job="atlas-jit-connector",instance="10.0.0.2:8081"';
/** `atlas_connector_info` is 1 in every successful scrape, so it follows the target's scrapes. */
const info = (pod: string, values: string) => ({
  series: `atlas_connector_info{version="1.0.0",${pod}}`,
  values,
});

interface Scenario {
  readonly series: readonly { readonly series: string; readonly values: string }[];
  /** Minute → the alert's label sets firing then (empty: silent). */
  readonly expect: Readonly<Record<number, readonly Record<string, string>[]>>;
}

const secretFetches = 'atlas_connector_secret_fetches_total';
const forbiddenFetch = { backend: 'aws-sm', outcome: 'forbidden' };
const secretSeries = (pod: string, values: string) => ({
  series: `${secretFetches}{backend="aws-sm",outcome="forbidden",${pod}}`,
  values,
});

const scenarios: Record<string, Record<string, Scenario>> = {
  AtlasConnectorSecretFetchFailures: {
    // The series is born at 1 by the failure itself: no increase() sees it, only its appearance.
    "a pod's first failed read, for the 15 minutes after it": {
      series: [info(podA, '1x60'), secretSeries(podA, '_x10 1x50')],
      expect: { 9: [], 10: [forbiddenFetch], 24: [forbiddenFetch], 26: [] },
    },
    'a later failed read of a series that exists': {
      series: [info(podA, '1x60'), secretSeries(podA, '1x30 2x30')],
      expect: { 29: [], 31: [forbiddenFetch], 44: [forbiddenFetch], 46: [] },
    },
    // A failed scrape marks every series stale; 15 minutes on, the series is absent "15m ago".
    'nothing new, but one failed scrape of a pod that failed before': {
      series: [info(podA, '1x29 stale 1x40'), secretSeries(podA, '3x29 stale 3x40')],
      expect: { 30: [], 31: [], 44: [], 45: [], 46: [], 50: [] },
    },
    // Prometheus itself down for 10 minutes: no sample of anything, and no staleness marker.
    'nothing new, but a 10-minute gap in Prometheus': {
      series: [info(podA, '1x29 _x10 1x40'), secretSeries(podA, '3x29 _x10 3x40')],
      expect: { 40: [], 45: [], 50: [], 54: [], 56: [] },
    },
    // Three failed scrapes, and the failure counted meanwhile shows in the next good one.
    'the first failed read while the pod could not be scraped': {
      series: [info(podA, '1x29 stale _x2 1x40'), secretSeries(podA, '_x33 1x30')],
      expect: { 32: [], 33: [forbiddenFetch], 44: [forbiddenFetch], 48: [] },
    },
    // A container restart keeps the pod's labels; the counter starts again when it next counts.
    'the first failed read after a restart, long after the last one before it': {
      series: [info(podA, '1x19 stale 1x60'), secretSeries(podA, '5x19 stale _x29 1x30')],
      expect: { 45: [], 50: [forbiddenFetch], 64: [forbiddenFetch], 66: [] },
    },
    'the first failed read after a restart, soon after the last one before it': {
      series: [info(podA, '1x19 stale 1x60'), secretSeries(podA, '5x19 stale _x4 1x40')],
      expect: { 24: [], 25: [forbiddenFetch], 30: [forbiddenFetch], 39: [forbiddenFetch], 41: [] },
    },
    'two replicas failing alike, one alert per backend and outcome': {
      series: [
        info(podA, '1x60'),
        info(podB, '1x60'),
        secretSeries(podA, '1x60'),
        secretSeries(podB, '_x20 1x40'),
      ],
      expect: { 19: [], 20: [forbiddenFetch], 34: [forbiddenFetch], 36: [] },
    },
    'a successful read is no failure': {
      series: [
        info(podA, '1x60'),
        { series: `${secretFetches}{backend="aws-sm",outcome="success",${podA}}`, values: '_x5 1+1x50' },
      ],
      expect: { 5: [], 10: [], 30: [] },
    },
  },
  AtlasConnectorAtlasAuthFailures: {
    "a pod's first 401": {
      series: [
        info(podA, '1x60'),
        {
          series: `atlas_connector_atlas_api_requests_total{operation="getGroup",code="200",${podA}}`,
          values: '1+1x60',
        },
        {
          series: `atlas_connector_atlas_api_requests_total{operation="getGroup",code="401",${podA}}`,
          values: '_x5 1x50',
        },
      ],
      expect: { 4: [], 5: [{}], 19: [{}], 21: [] },
    },
  },
  AtlasConnectorAtlasForbidden: {
    "a pod's first 403 of an operation": {
      series: [
        info(podA, '1x60'),
        {
          series: `atlas_connector_atlas_api_requests_total{operation="createDatabaseUser",code="403",${podA}}`,
          values: '_x5 1x50',
        },
      ],
      expect: {
        4: [],
        5: [{ operation: 'createDatabaseUser' }],
        19: [{ operation: 'createDatabaseUser' }],
        21: [],
      },
    },
  },
  AtlasConnectorRevokeFailures: {
    "a pod's first revoke that failed for good": {
      series: [
        info(podA, '1x60'),
        {
          series: `atlas_connector_jobs_failed_total{type="revoke",code="forbidden",${podA}}`,
          values: '_x5 1x50',
        },
      ],
      expect: {
        4: [],
        5: [{ type: 'revoke', code: 'forbidden' }],
        19: [{ type: 'revoke', code: 'forbidden' }],
        21: [],
      },
    },
    'a later failed sweep': {
      series: [
        info(podA, '1x60'),
        {
          series: `atlas_connector_jobs_failed_total{type="sweep",code="conflict",${podA}}`,
          values: '1x30 2x30',
        },
      ],
      expect: {
        29: [],
        31: [{ type: 'sweep', code: 'conflict' }],
        44: [{ type: 'sweep', code: 'conflict' }],
        46: [],
      },
    },
    // Run again by the control plane; the rate-limit, server-error and job-failure alerts watch these.
    'a revoke that failed for a retryable reason, again and again': {
      series: [
        info(podA, '1x60'),
        {
          series: `atlas_connector_jobs_failed_total{type="revoke",code="upstream_unavailable",${podA}}`,
          values: '_x5 1+1x50',
        },
      ],
      expect: { 5: [], 10: [], 30: [] },
    },
    'a failed grant': {
      series: [
        info(podA, '1x60'),
        {
          series: `atlas_connector_jobs_failed_total{type="grant",code="forbidden",${podA}}`,
          values: '_x5 1+1x50',
        },
      ],
      expect: { 5: [], 10: [], 30: [] },
    },
  },
  AtlasConnectorLeasesLost: {
    // Exported at 0 from the start; a loss before the first scrape still shows as a series born at 1.
    'the exported zero is no loss': {
      series: [
        info(podA, '1x60'),
        { series: `atlas_connector_leases_lost_total{reason="deadline",${podA}}`, values: '0x60' },
      ],
      expect: { 1: [], 10: [], 30: [] },
    },
    'the first loss after the first scrape': {
      series: [
        info(podA, '1x60'),
        { series: `atlas_connector_leases_lost_total{reason="deadline",${podA}}`, values: '0x10 1x50' },
      ],
      expect: { 10: [], 11: [{}], 25: [{}], 27: [] },
    },
    'a loss before the first scrape': {
      series: [
        info(podA, '_x3 1x60'),
        { series: `atlas_connector_leases_lost_total{reason="revoked",${podA}}`, values: '_x3 1x60' },
      ],
      expect: { 2: [], 3: [{}], 17: [{}], 19: [] },
    },
  },
  AtlasConnectorSweepFailures: {
    // Exported at 0 for each kind: the first sweep that leaves something behind is an increase.
    'the exported zero is no failure': {
      series: [
        info(podA, '1x60'),
        { series: `atlas_connector_sweep_failures_total{kind="atlas-org-portal",${podA}}`, values: '0x60' },
      ],
      expect: { 1: [], 10: [], 30: [] },
    },
    'a sweep that left two people behind, for the 15 minutes after it': {
      series: [
        info(podA, '1x60'),
        {
          series: `atlas_connector_sweep_failures_total{kind="atlas-org-portal",${podA}}`,
          values: '0x10 2x50',
        },
      ],
      expect: { 10: [], 11: [{ kind: 'atlas-org-portal' }], 25: [{ kind: 'atlas-org-portal' }], 27: [] },
    },
    'each later sweep that leaves something behind fires again': {
      series: [
        info(podA, '1x90'),
        {
          series: `atlas_connector_sweep_failures_total{kind="atlas-project",${podA}}`,
          values: '0x10 1x40 2x40',
        },
      ],
      expect: { 11: [{ kind: 'atlas-project' }], 30: [], 51: [], 52: [{ kind: 'atlas-project' }], 69: [] },
    },
  },
  AtlasConnectorPolicyDenials: {
    'a denial before the first scrape, for the hour after it': {
      series: [
        info(podA, '_x3 1x90'),
        { series: `atlas_connector_policy_denials_total{rule="role",${podA}}`, values: '_x3 1x90' },
      ],
      expect: { 2: [], 3: [{ rule: 'role' }], 62: [{ rule: 'role' }], 64: [] },
    },
  },
};

function promtoolTests(alert: string, cases: Record<string, Scenario>): unknown[] {
  const rule = rules.find((r) => r.alert === alert);
  if (rule === undefined) throw new Error(`files/alerts.yaml has no alert ${alert}`);
  return Object.entries(cases).map(([name, scenario]) => ({
    name,
    interval: '1m',
    input_series: scenario.series,
    alert_rule_test: Object.entries(scenario.expect).map(([minute, firing]) => ({
      eval_time: `${minute}m`,
      alertname: alert,
      exp_alerts: firing.map((labels) => ({
        exp_labels: { ...labels, ...rule.labels },
        ...(rule.annotations ? { exp_annotations: rule.annotations } : {}),
      })),
    })),
  }));
}

describe.skipIf(promtool === undefined)('the shipped alerts under promtool', () => {
  it.each(Object.entries(scenarios))(
    '%s fires on the first event and on no old one',
    async (alert, cases) => {
      const rulesFile = join(scratch(), 'rules.yaml');
      writeFileSync(rulesFile, stringify({ groups: [{ name: 'atlas-jit-connector', rules }] }));
      const testFile = join(scratch(), `${alert}.test.yaml`);
      writeFileSync(
        testFile,
        stringify({ rule_files: [rulesFile], evaluation_interval: '1m', tests: promtoolTests(alert, cases) }),
      );
      const result = await testRules(promtool ?? '', testFile);
      expect(result.ok, result.output).toBe(true);
    },
  );
});
