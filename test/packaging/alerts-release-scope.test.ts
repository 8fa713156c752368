// Two releases of the chart in one namespace, watched by one Prometheus: each release's rendered
// PrometheusRule, evaluated by promtool over both releases' series, alerts on its own pods only.
// Scoped by namespace alone, one release's absent() and max() would read the other's pods (no
// alert while the neighbour reports), and the neighbour's failures would page as its own.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { suiteTempDir } from '../kits/temp-dir-test-kit.js';
import { installHelm } from './helm-binary.js';
import { chartDir, helmRunner, required } from './helm-chart-kit.js';
import { findPromtool, testRules } from './promtool.js';
import type { RenderedObject } from './rendered-objects.js';

const namespace = 'atlas-jit';
const helm = await installHelm();
const promtool = findPromtool();
if ('skip' in helm) console.warn(`SKIPPING the release-scope alert evaluations: ${helm.skip}`);
if (promtool === undefined)
  console.warn('SKIPPING the release-scope alert evaluations: no promtool on PATH (set PROMTOOL to one)');
const scratch = suiteTempDir('alerts-scope-test-');
const { valuesFile, template } = helmRunner(helm, scratch);

interface Rule {
  readonly alert: string;
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
}
type Group = { readonly name: string; readonly rules: readonly Rule[] };

/** One release as rendered: its rule groups and the target labels its ServiceMonitor's scrapes carry. */
interface Release {
  readonly groups: readonly Group[];
  readonly scope: Readonly<Record<string, string>>;
  readonly target: (pod: number) => string;
}

/** Renders release `name`; its pods get the addresses 10.0.<subnet>.<pod>. */
async function render(name: string, subnet: number): Promise<Release> {
  const values = valuesFile(name, {
    ...required,
    connector: { id: `${name}-connector` },
    metrics: {
      serviceMonitor: { enabled: true, renderMode: 'alwaysRender' },
      prometheusRule: { enabled: true, renderMode: 'alwaysRender' },
    },
  });
  const objects = await template(chartDir, values, name);
  const of = <T>(kind: string) => objects.find((o) => o.kind === kind) as (RenderedObject & T) | undefined;
  const rule = of<{ spec: { groups: Group[] } }>('PrometheusRule');
  const monitor = of<{ spec: { selector: { matchLabels: Record<string, string> } } }>('ServiceMonitor');
  const service = of<{ metadata: { labels: Record<string, string> } }>('Service');
  if (rule === undefined || monitor === undefined || service === undefined)
    throw new Error(`release ${name} rendered no PrometheusRule, ServiceMonitor or Service`);
  // Kubernetes service discovery labels each target of a ServiceMonitor with the Service's name.
  expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
  const svc = service.metadata.name;
  return {
    groups: rule.spec.groups,
    scope: { namespace, service: svc },
    target: (pod) =>
      `namespace="${namespace}",service="${svc}",job="${svc}",endpoint="admin",pod="${svc}-7d9f8-${pod}",instance="10.0.${subnet}.${pod}:8081"`,
  };
}

type Series = { readonly series: string; readonly values: string };
const contact = (target: string, values: string): Series => ({
  series: `atlas_connector_last_successful_contact_timestamp_seconds{${target}}`,
  values,
});
const info = (target: string): Series => ({
  series: `atlas_connector_info{version="1.0.0",${target}}`,
  values: '1x40',
});
const forbiddenFetch = { backend: 'aws-sm', outcome: 'forbidden' };

interface Scenario {
  readonly series: (blue: Release, green: Release) => readonly Series[];
  readonly minute: number;
  /** Alert → the releases it fires for then, with the labels it adds to the release's scope. */
  readonly firing: (blue: Release, green: Release) => Record<string, readonly Record<string, string>[]>;
}

const scenarios: Record<string, Scenario> = {
  "one release's pods all gone while the other's report": {
    series: (_blue, green) => [info(green.target(1)), contact(green.target(1), '0+60x40')],
    minute: 15,
    firing: (blue) => ({
      AtlasConnectorNoPodsReporting: [blue.scope],
      AtlasConnectorControlPlaneUnreachable: [],
    }),
  },
  'one release cut off from the control plane while the other is in contact': {
    series: (blue, green) => [
      info(blue.target(1)),
      contact(blue.target(1), '0x40'),
      info(green.target(1)),
      contact(green.target(1), '0+60x40'),
    ],
    minute: 15,
    firing: (blue) => ({
      AtlasConnectorControlPlaneUnreachable: [blue.scope],
      AtlasConnectorNoPodsReporting: [],
    }),
  },
  "one release's secret-store failures": {
    series: (blue, green) => [
      info(blue.target(1)),
      info(green.target(1)),
      info(green.target(2)),
      {
        series: `atlas_connector_secret_fetches_total{backend="aws-sm",outcome="forbidden",${green.target(2)}}`,
        values: '_x5 1x35',
      },
    ],
    minute: 10,
    firing: (_blue, green) => ({
      AtlasConnectorSecretFetchFailures: [{ ...green.scope, ...forbiddenFetch }],
    }),
  },
};

describe.skipIf('skip' in helm || promtool === undefined)(
  'the alerts of two releases in one namespace, under promtool',
  () => {
    it.each(Object.entries(scenarios))(
      'fire for the release whose series show it: %s',
      async (name, scenario) => {
        const [blue, green] = await Promise.all([render('blue', 1), render('green', 2)]);
        const rulesFile = join(scratch(), 'rules.yaml');
        writeFileSync(rulesFile, stringify({ groups: [...blue.groups, ...green.groups] }));
        const shipped = (alert: string) => blue.groups[0]?.rules.find((rule) => rule.alert === alert);
        const testFile = join(scratch(), `${name.replace(/\W+/g, '-')}.test.yaml`);
        writeFileSync(
          testFile,
          stringify({
            rule_files: [rulesFile],
            evaluation_interval: '1m',
            tests: [
              {
                name,
                interval: '1m',
                input_series: scenario.series(blue, green),
                alert_rule_test: Object.entries(scenario.firing(blue, green)).map(([alert, firing]) => {
                  const rule = shipped(alert);
                  if (rule === undefined) throw new Error(`the rendered rules have no alert ${alert}`);
                  return {
                    eval_time: `${scenario.minute}m`,
                    alertname: alert,
                    exp_alerts: firing.map((labels) => ({
                      exp_labels: { ...labels, severity: rule.labels.severity },
                      ...(rule.annotations ? { exp_annotations: rule.annotations } : {}),
                    })),
                  };
                }),
              },
            ],
          }),
        );
        const result = await testRules(promtool ?? '', testFile);
        expect(result.ok, result.output).toBe(true);
      },
    );
  },
);
