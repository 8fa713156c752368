// The chart's NetworkPolicy under a real `helm`: the HTTPS egress rule opens the port of every
// URL the connector calls (an in-cluster proxy's pod port when set), and refuses bad ports.
import { describe, expect, it } from 'vitest';
import { suiteTempDir } from '../kits/temp-dir-test-kit.js';
import { installHelm } from './helm-binary.js';
import { chartDir, helmRunner, required } from './helm-chart-kit.js';
import { schemaViolations } from './rendered-objects.js';

const helm = await installHelm();
const scratch = suiteTempDir('helm-egress-test-');
const { valuesFile, helmRun, template } = helmRunner(helm, scratch);

describe.skipIf('skip' in helm)("the chart's NetworkPolicy egress under a real helm", () => {
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

  // One render per case: each runs the real helm and checks every object against its schema, a
  // few seconds apiece on a loaded host, so cases in one test added up past the suite's 20 s.
  it.each([
    ['no port anywhere', {}, [443]],
    [
      'ports on the control plane, Atlas and both proxies',
      {
        controlPlane: { ...required.controlPlane, url: 'https://connect.example.com:8443/agents' },
        atlas: { baseUrl: 'https://atlas-gateway.internal:9443' },
        proxy: { httpsProxy: 'http://proxy.internal:3128', httpProxy: 'http://[fd00::1]' },
      },
      [443, 8443, 9443, 3128, 80],
    ],
    // docs/secrets.md: the Secrets Manager endpoint override, e.g. LocalStack over TLS.
    [
      'the Secrets Manager endpoint override',
      { aws: { secretsManagerEndpoint: 'https://localstack.dev.internal:4566' } },
      [443, 4566],
    ],
  ])('opens egress to the port of every configured URL, not 443 alone: %s', async (_name, values, ports) => {
    expect(await egressPorts({ ...required, ...values })).toEqual(ports);
  });

  // The proxy's Service listens on 3128 and forwards to the pods' 8080: a NetworkPolicy sees the
  // connection to the pod, so 3128 alone would block every request through the proxy.
  const inCluster = 'http://squid.egress.svc.cluster.local:3128';
  it.each([
    ['the proxy alone', { proxy: { httpsProxy: inCluster } }, { proxy: { targetPort: 8080 } }, [443, 8080]],
    [
      'with a control-plane port, both proxy URLs in the cluster',
      {
        controlPlane: { ...required.controlPlane, url: 'https://connect.example.com:8443' },
        proxy: { httpsProxy: inCluster, httpProxy: 'http://squid.egress.svc.cluster.local:3129' },
      },
      { proxy: { targetPort: 8080 } },
      [443, 8443, 8080],
    ],
    [
      "targetPort 0: the proxy URL's port",
      { proxy: { httpsProxy: inCluster } },
      { proxy: { targetPort: 0 } },
      [443, 3128],
    ],
  ])(
    "opens egress to an in-cluster proxy's pod port, which the policy matches once the Service translated its own: %s",
    async (_name, values, networkPolicy, ports) => {
      expect(await egressPorts({ ...required, ...values }, networkPolicy)).toEqual(ports);
    },
  );

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
});
