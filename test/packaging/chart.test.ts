import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseDurationMs } from '../../src/config/duration.js';
import { EnvSchema } from '../../src/config/env.js';
import { parseSecretReference } from '../../src/secrets/secret-reference.js';
import { checkChart, envVarsSetBy, loadChart } from './chart-check.js';
import { formatProblem, type Problem } from './problem.js';
import { mergeValues, schemaViolations } from './values-check.js';

const chartDir = join(import.meta.dirname, '../../helm/atlas-jit-connector');
const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as object;
const defaults: unknown = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
/** values.yaml with the required settings filled in: what a real install passes. */
const baseline = mergeValues(defaults, parse(readFileSync(join(chartDir, 'ci/ci-values.yaml'), 'utf8')));

const copies: string[] = [];
afterEach(() => {
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Checks a temporary copy of the chart after `plant` changed it. */
function checkPlanted(
  plant: (edit: (file: string, change: (text: string) => string) => void) => void,
): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'chart-check-'));
  copies.push(dir);
  cpSync(chartDir, dir, { recursive: true });
  plant((file, change) => {
    const before = readFileSync(join(dir, file), 'utf8');
    const after = change(before);
    expect(after, `the planted change to ${file} must change it`).not.toBe(before);
    writeFileSync(join(dir, file), after);
  });
  return checkChart(dir).map(formatProblem);
}

function withTweak(path: string, value: unknown): unknown {
  const copy = structuredClone(baseline) as Record<string, unknown>;
  const keys = path.split('.');
  const parent = keys
    .slice(0, -1)
    .reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, copy);
  parent[keys.at(-1) ?? ''] = value;
  return copy;
}

describe('the shipped chart', () => {
  it('passes every static check', () => {
    const problems: Problem[] = checkChart(chartDir);
    expect(problems.map(formatProblem)).toEqual([]);
  });

  it('has default values that satisfy its own schema', () => {
    expect(schemaViolations(schema, defaults)).toEqual([]);
    expect(schemaViolations(schema, baseline)).toEqual([]);
  });

  it('sets only environment variables the daemon reads, apart from the cloud SDK ones', () => {
    const known = new Set(Object.keys(EnvSchema.shape));
    const set = loadChart(chartDir)
      .templates.flatMap(envVarsSetBy)
      .map((v) => v.name);
    expect(set).toContain('CONNECTOR_ID');
    expect(set.filter((name) => !known.has(name) && !/^(AWS|AZURE)_/.test(name))).toEqual([]);
  });
});

describe('the values schema', () => {
  it.each([
    ['replicaCount is a word', 'replicaCount', 'two'],
    ['an unknown top-level key', 'replicas', 3],
    ['a misspelt nested key', 'image.tga', 'v1'],
    ['a connector id with a space', 'connector.id', 'prod eu'],
    ['a plain-http control plane URL', 'controlPlane.url', 'http://connect.example.com'],
    ['a project id that is not 24 hex characters', 'policy.allowedProjectIds', ['not-a-project']],
    ['a log level the daemon does not know', 'connector.logLevel', 'verbose'],
    ['a grant TTL that is not a duration', 'policy.maxGrantTtl', '12 hours'],
    ['a zero grant TTL', 'policy.maxGrantTtl', '0h0m'],
    ['a zero invitation window', 'atlas.invitationWindow', '0s'],
    ['a digest that is not sha256', 'image.digest', 'latest'],
    ['an unknown ServiceMonitor render mode', 'metrics.serviceMonitor.renderMode', 'sometimes'],
    ['an env var without a name', 'extraEnv', [{ value: 'x' }]],
    // The client adds /api/atlas/v2 itself: the URL the API docs give would double it (404s).
    ['a path in the Atlas base URL', 'atlas.baseUrl', 'https://cloud.mongodb.com/api/atlas/v2'],
    // The chart appends :<tag> or @<digest> itself: reg/x:1.2:0.1.0 is no image reference, and
    // the pod would sit in InvalidImageName.
    ['an image repository with a tag', 'image.repository', 'registry.example.com/atlas-jit-connector:0.1.0'],
    [
      'an image repository with a digest',
      'image.repository',
      `registry.example.com/c@sha256:${'a'.repeat(64)}`,
    ],
    ['an image repository with a space', 'image.repository', 'registry.example.com/atlas jit'],
    // Kubernetes object names (DNS subdomains) and Secret keys: the API server would refuse the
    // Deployment mid-install, naming a pod field, or the pod would wait forever for a key that
    // cannot exist; the schema names the value before anything is applied.
    ['an admin token Secret name with capitals', 'admin.tokenSecret.name', 'Admin_Token'],
    ['an admin token Secret key with a space', 'admin.tokenSecret.key', 'bearer token'],
    ['a CA bundle ConfigMap name with a space', 'caBundle.existingConfigMap', 'corporate ca'],
    ['a ServiceAccount name with an underscore', 'serviceAccount.name', 'atlas_connector'],
    ['an image pull Secret name with capitals', 'imagePullSecrets', [{ name: 'RegCred' }]],
    ['a PriorityClass name with a space', 'priorityClassName', 'high priority'],
    // user:password@ in a URL value is refused by the templates, not here: a schema pattern error
    // quotes the value, password included (helm.test.ts: "refuses user:password@ ...").
  ])('rejects %s', (_name, path, value) => {
    expect(schemaViolations(schema, withTweak(path, value))).not.toEqual([]);
  });

  it.each([
    ['an Atlas base URL with a port', 'atlas.baseUrl', 'https://atlas-gateway.internal:9443/'],
    ['an HTTPS proxy URL with a port', 'proxy.httpsProxy', 'http://proxy.internal:3128'],
    ['an IPv6 HTTP proxy URL', 'proxy.httpProxy', 'http://[fd00::1]:3128/'],
    ['an admin token Secret name with dots', 'admin.tokenSecret.name', 'atlas.admin-token'],
    ['a ServiceAccount name', 'serviceAccount.name', 'atlas-jit-connector'],
    ['an image pull Secret name', 'imagePullSecrets', [{ name: 'regcred' }]],
    ['an image repository on a registry port', 'image.repository', 'registry.internal:5000/team/connector'],
    ['an image repository without a registry', 'image.repository', 'atlas-jit-connector'],
    ['a control-plane URL with @ in its path', 'controlPlane.url', 'https://connect.example.com/t/a@b'],
  ])('accepts %s', (_name, path, value) => {
    expect(schemaViolations(schema, withTweak(path, value))).toEqual([]);
  });
});

describe("the values schema's durations", () => {
  // The daemon refuses a duration parseDurationMs cannot read or reads as 0: the chart must agree,
  // so a bad value fails `helm install`, not the pod's start.
  const cases = ['1', '0010', '90s', '1h30m', '0h0m1s', '10ms', '7d', '0', '00', '0s', '0m0s', '0d0h'];
  const more = ['', 's', '1x', '1h 30m', '-1s', '1.5h', '12 hours'];
  it.each(['policy.maxGrantTtl', 'atlas.invitationWindow'])(
    '%s accepts exactly what the daemon does',
    (path) => {
      for (const text of [...cases, ...more]) {
        const ms = parseDurationMs(text);
        const daemonTakes = ms !== undefined && ms > 0;
        expect(
          schemaViolations(schema, withTweak(path, text)).length === 0,
          `${path}: ${JSON.stringify(text)}`,
        ).toBe(daemonTakes);
      }
    },
  );
});

describe("the values schema's AWS region", () => {
  // aws.region becomes AWS_REGION, the region of every aws-sm:// reference without one of its own:
  // the chart must take every region the daemon does, the European Sovereign Cloud's included.
  const regions = [
    'us-east-1',
    'eu-west-1',
    'us-gov-west-1',
    'us-iso-east-1',
    'cn-north-1',
    'eusc-de-east-1',
  ];
  const more = ['', 'europe-1', 'eu-west', 'EU-WEST-1', 'eu west 1', 'abcde-de-east-1'];
  it('accepts exactly what the daemon does', () => {
    for (const region of [...regions, ...more]) {
      const daemonTakes =
        region === '' ||
        (() => {
          try {
            parseSecretReference(`aws-sm://prod/atlas?region=${encodeURIComponent(region)}`);
            return true;
          } catch {
            return false;
          }
        })();
      expect(
        schemaViolations(schema, withTweak('aws.region', region)).length === 0,
        `aws.region: ${JSON.stringify(region)}`,
      ).toBe(daemonTakes);
    }
  });
});

describe('the chart check, on a copy of the chart with a planted error,', () => {
  it('reports a values key without a helm-docs comment', () => {
    const problems = checkPlanted((edit) =>
      edit('values.yaml', (t) => t.replace('# -- Pod affinity and anti-affinity.\n', '')),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^\[values-docs\] values\.yaml:\d+: affinity has no "# --" comment$/),
    );
  });

  it('reports a default value that the schema rejects', () => {
    const problems = checkPlanted((edit) =>
      edit('values.yaml', (t) => t.replace('replicaCount: 2', 'replicaCount: two')),
    );
    expect(problems).toContainEqual(expect.stringContaining('[values-schema] values.yaml: does not match'));
  });

  it('reports an object schema that silently accepts unknown keys', () => {
    const problems = checkPlanted((edit) =>
      edit('values.schema.json', (t) => JSON.stringify({ ...JSON.parse(t), additionalProperties: true })),
    );
    expect(problems).toContainEqual(expect.stringContaining('the root must set additionalProperties: false'));
  });

  it('reports env vars the daemon does not read, sandbox variables and a token passed as env', () => {
    const problems = checkPlanted((edit) =>
      edit('templates/configmap.yaml', (t) =>
        t.replace('data:\n', 'data:\n  FOO_BAR: "1"\n  SANDBOX_DEMO: "on"\n  CONTROL_PLANE_TOKEN: "x"\n'),
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('FOO_BAR is not read by the daemon'),
        expect.stringContaining('SANDBOX_DEMO is for local development'),
        expect.stringContaining('pass the token as a file'),
      ]),
    );
  });

  it('reports a daemon setting the chart offers no way to set', () => {
    const problems = checkChart(chartDir, { knownEnvVars: [...Object.keys(EnvSchema.shape), 'NEW_SETTING'] });
    expect(problems.map(formatProblem)).toEqual([
      '[env-vars] templates: the chart offers no way to set NEW_SETTING',
    ]);
  });

  it('reports weakened security defaults', () => {
    const problems = checkPlanted((edit) => {
      edit('values.yaml', (t) =>
        t
          .replace('readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false')
          .replace('automountServiceAccountToken: false', 'automountServiceAccountToken: true')
          .replace('terminationGracePeriodSeconds: 120', 'terminationGracePeriodSeconds: 95'),
      );
      edit('templates/deployment.yaml', (t) => t.replace('defaultMode: 0400', 'defaultMode: 0644'));
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        '[security-defaults] values.yaml: securityContext.readOnlyRootFilesystem must be true',
        '[security-defaults] values.yaml: serviceAccount.automountServiceAccountToken must be false',
        '[security-defaults] values.yaml: terminationGracePeriodSeconds must exceed connector.drainTimeoutSeconds + 10',
        '[security-defaults] templates/deployment.yaml: must mount the token with defaultMode 0400',
      ]),
    );
  });

  it('reports a Chart.yaml version that is not SemVer', () => {
    const problems = checkPlanted((edit) =>
      edit('Chart.yaml', (t) => t.replace('version: 0.1.0', 'version: "1.0"')),
    );
    expect(problems).toContain('[chart-yaml] Chart.yaml: version must be a SemVer 2 string');
  });
});
