import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readOnlyApiKey, sandboxIds, type AtlasSimulator } from '../../sandbox/atlas/index.js';
import { version } from '../../version.js';
import {
  apiKeyPayload,
  checkNames,
  doctor,
  expectNoSecretPrinted,
  jsonReport,
  orgKind,
  sandboxKey,
  serviceAccount,
  startSimulator,
  statuses,
  tableCheck,
} from '../../../test/kits/doctor-test-kit.js';

let sim: AtlasSimulator;

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());
afterEach(expectNoSecretPrinted);

/** The baseline: sandbox mode, the simulator as Atlas, the sandbox ORG_OWNER key in ATLAS_KEY. */
function env(tweaks: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ATLAS_BASE_URL: sim.url, ATLAS_KEY: apiKeyPayload(sandboxKey), ...tweaks };
}

const projectArgs = (projectId: string = sandboxIds.payments): string[] => [
  '--kind',
  'atlas-project',
  '--secret-ref',
  'env://ATLAS_KEY',
  '--project-id',
  projectId,
];
const orgArgs = ['--kind', orgKind.kind, '--secret-ref', 'env://ATLAS_KEY', '--org-id', sandboxIds.org];

describe('doctor with a credential that has what the kind needs', () => {
  it('passes every check for atlas-project with the sandbox key, skipping the control plane in sandbox mode', async () => {
    const run = await doctor(projectArgs(), env());

    expect(run.code).toBe(0);
    expect(run.stdout[0]).toBe(
      `atlas-jit-connector ${version} doctor: atlas-project on project ${sandboxIds.payments}`,
    );
    expect(statuses(run)).toEqual({
      configuration: 'pass',
      'control plane': 'skip',
      'secret reference': 'pass',
      secret: 'pass',
      'atlas authentication': 'pass',
      'atlas visibility': 'pass',
      'atlas roles': 'pass',
    });
    expect(tableCheck(run, 'control plane').block).toContain('sandbox mode');
    expect(tableCheck(run, 'atlas roles').block).toContain(
      `project payments (${sandboxIds.payments}): holds GROUP_OWNER (from ORG_OWNER): enough`,
    );
    // "ready" is scoped: the skipped control-plane check proved nothing.
    expect(run.stdout.at(-1)).toBe(
      '6 passed, 0 failed, 0 warning(s), 1 skipped: ready, but the SKIP lines were not checked.',
    );
    expect(run.stderr).toEqual([]);
  });

  it('fails the configuration when ADMIN_TOKEN_FILE cannot be read, as the daemon would at start', async () => {
    const run = await doctor(projectArgs(), env({ ADMIN_TOKEN_FILE: '/nonexistent/admin-token' }));
    expect(run.code).toBe(1);
    expect(statuses(run).configuration).toBe('fail');
    expect(tableCheck(run, 'configuration').block).toContain(
      'ADMIN_TOKEN_FILE: cannot read /nonexistent/admin-token',
    );
  });

  it('passes every check for an organization-level kind on the sandbox organization', async () => {
    const run = await doctor(orgArgs, env());

    expect(run.code).toBe(0);
    expect(Object.values(statuses(run)).filter((s) => s !== 'pass')).toEqual(['skip']);
    expect(tableCheck(run, 'atlas visibility').block).toContain(
      `organization Sandbox Org (${sandboxIds.org}) is visible`,
    );
    expect(tableCheck(run, 'atlas roles').block).toContain('holds ORG_OWNER: enough');
  });

  it('passes for atlas-multi-project over every project the key can see when no project id is given', async () => {
    const run = await doctor(['--kind', 'atlas-multi-project', '--secret-ref', 'env://ATLAS_KEY'], env());

    expect(run.code).toBe(0);
    const roles = tableCheck(run, 'atlas roles').block;
    expect(roles).toContain(`project payments (${sandboxIds.payments})`);
    expect(roles).toContain(`project analytics (${sandboxIds.analytics})`);
  });

  it('reads the integration from --integration <file.json>', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'doctor-'));
    const file = join(dir, 'integration.json');
    const config = { projectIds: [sandboxIds.payments, sandboxIds.analytics] };
    await writeFile(
      file,
      JSON.stringify({ kind: 'atlas-multi-project', secretRef: 'env://ATLAS_KEY', config }),
    );
    try {
      const run = await doctor(['--integration', file], env());

      expect(run.code).toBe(0);
      expect(tableCheck(run, 'atlas roles').block).toContain(`project analytics (${sandboxIds.analytics})`);
      expect(tableCheck(run, 'atlas visibility').block).toContain(
        `atlas-multi-project connection check: projects payments (${sandboxIds.payments}), analytics (${sandboxIds.analytics})`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    {
      name: 'a config the kind refuses',
      integration: {
        kind: 'atlas-multi-project',
        config: { projectIds: [sandboxIds.payments], clusterName: 'Cluster0' },
      },
      detail: 'the atlas-multi-project config is invalid: (root): Unrecognized key: "clusterName"',
    },
    {
      name: 'a cluster the project does not have',
      integration: { kind: 'atlas-project', config: { projectId: sandboxIds.payments, clusterName: 'Gone' } },
      detail: `atlas-project connection check: clusterName: cluster Gone not found in project ${sandboxIds.payments}`,
    },
  ])('fails visibility with the kind’s own check for $name', async ({ integration, detail }) => {
    const dir = await mkdtemp(join(tmpdir(), 'doctor-'));
    const file = join(dir, 'integration.json');
    await writeFile(file, JSON.stringify({ ...integration, secretRef: 'env://ATLAS_KEY' }));
    try {
      const run = await doctor(['--integration', file], env());

      expect(run.code).toBe(1);
      expect(tableCheck(run, 'atlas visibility')).toMatchObject({
        status: 'fail',
        block: expect.stringContaining(detail),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    { kind: 'atlas-multi-project', config: { projectIds: [] }, field: 'projectIds' },
    {
      kind: 'atlas-org-deep-discovery',
      config: { orgId: sandboxIds.org, clusterNames: [] },
      field: 'clusterNames',
    },
  ])('warns that an empty $field allow-list of $kind allows nothing', async ({ kind, config, field }) => {
    const dir = await mkdtemp(join(tmpdir(), 'doctor-'));
    const file = join(dir, 'integration.json');
    await writeFile(file, JSON.stringify({ kind, config, secretRef: 'env://ATLAS_KEY' }));
    try {
      const run = await doctor(['--integration', file], env());

      expect(tableCheck(run, 'atlas visibility')).toMatchObject({
        status: 'warn',
        block: expect.stringContaining(`config.${field} is empty: the integration allows nothing`),
      });
      expect(run.code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails visibility when POLICY_ALLOWED_PROJECT_IDS allows none of the projects: every grant would be policy_denied', async () => {
    const run = await doctor(projectArgs(), env({ POLICY_ALLOWED_PROJECT_IDS: sandboxIds.analytics }));

    expect(run.code).toBe(1);
    expect(tableCheck(run, 'atlas visibility')).toMatchObject({
      status: 'fail',
      block: expect.stringContaining(
        `POLICY_ALLOWED_PROJECT_IDS allows none of them (${sandboxIds.payments}): this connector refuses their grants (policy_denied)`,
      ),
    });
  });

  it('warns naming the projects POLICY_ALLOWED_PROJECT_IDS leaves out when it allows some', async () => {
    const args = ['--kind', 'atlas-multi-project', '--secret-ref', 'env://ATLAS_KEY'];
    const run = await doctor(args, env({ POLICY_ALLOWED_PROJECT_IDS: sandboxIds.payments }));

    expect(run.code).toBe(0);
    expect(tableCheck(run, 'atlas visibility')).toMatchObject({
      status: 'warn',
      block: expect.stringContaining(
        `POLICY_ALLOWED_PROJECT_IDS leaves out ${sandboxIds.analytics}: this connector refuses their grants (policy_denied)`,
      ),
    });
  });

  it('points a cluster the project does not have at the config, not at a new credential', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'doctor-'));
    const file = join(dir, 'integration.json');
    const config = { projectId: sandboxIds.payments, clusterName: 'Gone' };
    await writeFile(file, JSON.stringify({ kind: 'atlas-project', config, secretRef: 'env://ATLAS_KEY' }));
    try {
      const { block } = tableCheck(await doctor(['--integration', file], env()), 'atlas visibility');

      expect(block).toContain("fix: correct the value the detail names in the integration's config");
      expect(block).not.toContain('apiKeys create');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('passes a service account, reading its organization roles by client id', async () => {
    const payload = JSON.stringify({
      client_id: serviceAccount.clientId,
      client_secret: serviceAccount.clientSecret,
    });
    const run = await doctor(orgArgs, env({ ATLAS_KEY: payload }));

    expect(run.code).toBe(0);
    expect(tableCheck(run, 'atlas authentication').block).toContain(
      `the service account ${serviceAccount.clientId}`,
    );
    expect(tableCheck(run, 'atlas roles')).toMatchObject({
      status: 'pass',
      block: expect.stringContaining(
        `roles read from GET /orgs/${sandboxIds.org}/serviceAccounts/${serviceAccount.clientId}[/groups]`,
      ),
    });
  });
});

describe('doctor with a credential that falls short', () => {
  const readOnly = (): Record<string, string | undefined> =>
    env({ ATLAS_KEY: apiKeyPayload(readOnlyApiKey) });

  it('fails the role check for a read-only key on atlas-project and prints the assign command', async () => {
    const run = await doctor(projectArgs(), readOnly());

    expect(run.code).toBe(1);
    expect(statuses(run)).toMatchObject({ 'atlas visibility': 'pass', 'atlas roles': 'fail' });
    const roles = tableCheck(run, 'atlas roles').block;
    expect(roles).toContain(
      'holds GROUP_READ_ONLY; needs GROUP_OWNER, or at least GROUP_DATABASE_ACCESS_ADMIN + GROUP_READ_ONLY',
    );
    expect(roles).toContain(
      `      fix: atlas projects apiKeys assign ${sandboxIds.readOnlyApiKey} --projectId ${sandboxIds.payments} --role GROUP_OWNER`,
    );
    expect(run.stdout.at(-1)).toContain('1 failed');
  });

  it('fails the role check for a read-only key on an organization-level kind with the organization assign command', async () => {
    const run = await doctor(orgArgs, readOnly());

    expect(run.code).toBe(1);
    expect(tableCheck(run, 'atlas roles').block).toContain(
      `fix: atlas organizations apiKeys assign ${sandboxIds.readOnlyApiKey} --orgId ${sandboxIds.org} --role ORG_OWNER`,
    );
    expect(tableCheck(run, 'atlas roles').block).toContain(
      `or create a dedicated key: atlas organizations apiKeys create --orgId ${sandboxIds.org} --desc atlas-jit-connector --role ORG_OWNER`,
    );
  });

  it('fails visibility for a project the key has no role in', async () => {
    const run = await doctor(projectArgs(sandboxIds.analytics), readOnly());

    expect(run.code).toBe(1);
    const visibility = tableCheck(run, 'atlas visibility');
    expect(visibility.status).toBe('fail');
    expect(visibility.block).toContain(
      `project ${sandboxIds.analytics} is not visible (USER_CANNOT_ACCESS_GROUP, HTTP 403)`,
    );
    expect(visibility.block).toContain('the credential sees 1 project(s): payments');
    expect(tableCheck(run, 'atlas roles').block).toContain(`project ${sandboxIds.analytics}: holds no role`);
  });
});

describe('doctor when the secret is unusable', () => {
  it('fails on a missing secret, says how to provide it, and skips every Atlas check', async () => {
    const run = await doctor(
      ['--kind', 'atlas-project', '--secret-ref', 'env://NOPE', '--project-id', sandboxIds.payments],
      env(),
    );

    expect(run.code).toBe(1);
    const secret = tableCheck(run, 'secret');
    expect(secret.status).toBe('fail');
    expect(secret.block).toContain('environment variable NOPE is not set');
    expect(secret.block).toContain("fix: set NOPE in the connector's environment");
    expect(statuses(run)).toMatchObject({
      'atlas authentication': 'skip',
      'atlas visibility': 'skip',
      'atlas roles': 'skip',
    });
    expect(tableCheck(run, 'atlas authentication').block).toContain('skipped: "secret" failed');
    expect(tableCheck(run, 'atlas roles').block).toContain('skipped: "atlas authentication" was skipped');
  });

  it('names the missing and invalid fields of a malformed payload', async () => {
    const run = await doctor(projectArgs(), env({ ATLAS_KEY: '{"public_key":"x"}' }));

    expect(run.code).toBe(1);
    const secret = tableCheck(run, 'secret').block;
    expect(secret).toContain('public_key must be 8 characters');
    expect(secret).toContain('private_key is missing');
    expect(secret).toContain('fix: store the credential as JSON');
  });

  it('never echoes the values of a payload that fails validation', async () => {
    const payload = JSON.stringify({
      public_key: 'zz-not-a-public-key',
      private_key: ' padded-secret-3e1d ',
    });
    const run = await doctor(projectArgs(), env({ ATLAS_KEY: payload }));

    expect(tableCheck(run, 'secret').block).toContain(
      'private_key must not have leading or trailing whitespace',
    );
    expect(run.text).not.toContain('zz-not-a-public-key');
    expect(run.text).not.toContain('padded-secret-3e1d');
  });

  it('redacts a secret value wherever it would appear in the report, table or JSON', async () => {
    // The private key doubles as the variable's name, so the reference check would print it.
    const name = 'DOCTOR_KEY_AS_NAME';
    const tweaks = { [name]: apiKeyPayload({ publicKey: sandboxKey.publicKey, privateKey: name }) };
    const argv = [
      '--kind',
      'atlas-project',
      '--secret-ref',
      `env://${name}`,
      '--project-id',
      sandboxIds.payments,
    ];

    const table = await doctor(argv, env(tweaks));
    const json = await doctor([...argv, '--json'], env(tweaks));

    expect(tableCheck(table, 'secret reference').block).toContain(
      'env://[REDACTED]: environment variable [REDACTED]',
    );
    expect(table.text).not.toContain(name);
    expect(jsonReport(json).checks[2]?.detail).toBe('env://[REDACTED]: environment variable [REDACTED]');
  });

  it('fails a reference without a scheme without echoing it', async () => {
    const pasted = 'a-pasted-private-key-0f9e8d';
    const run = await doctor(
      ['--kind', 'atlas-project', '--secret-ref', pasted, '--project-id', sandboxIds.payments],
      env(),
    );

    expect(tableCheck(run, 'secret reference').block).toContain('has no scheme');
    expect(tableCheck(run, 'secret').status).toBe('skip');
    expect(run.text).not.toContain(pasted);
  });
});

describe('doctor when Atlas or the configuration refuses', () => {
  it('fails Atlas authentication on a wrong private key and points at the key pair', async () => {
    const wrong = { publicKey: sandboxKey.publicKey, privateKey: 'wrong-private-key-44c2d1' };
    const run = await doctor(projectArgs(), env({ ATLAS_KEY: apiKeyPayload(wrong) }));

    expect(run.code).toBe(1);
    const auth = tableCheck(run, 'atlas authentication');
    expect(auth.status).toBe('fail');
    expect(auth.block).toContain('answered UNAUTHORIZED, HTTP 401');
    expect(auth.block).toContain(
      'fix: check that public_key and private_key are the two halves of one Atlas API key',
    );
    expect(statuses(run)).toMatchObject({ 'atlas visibility': 'skip', 'atlas roles': 'skip' });
    expect(run.text).not.toContain(wrong.privateKey);
  });

  it('fails the configuration check listing every variable at fault, and still checks the secret', async () => {
    const run = await doctor(projectArgs(), env({ CONTROL_PLANE_URL: 'http://example.com' }));

    expect(run.code).toBe(1);
    const config = tableCheck(run, 'configuration');
    expect(config.status).toBe('fail');
    expect(config.block).toContain('CONTROL_PLANE_URL: must use https://');
    expect(config.block).toContain('CONTROL_PLANE_TOKEN: set it or CONTROL_PLANE_TOKEN_FILE');
    expect(config.block).toContain('CONNECTOR_ID: required when CONTROL_PLANE_URL is set');
    expect(statuses(run)).toMatchObject({
      'control plane': 'skip',
      'secret reference': 'pass',
      secret: 'pass',
      'atlas authentication': 'skip',
    });
  });

  it('fails the configuration check on an unreadable CA_BUNDLE_FILE, which the daemon would need for every call', async () => {
    const missing = join(tmpdir(), 'doctor-no-such-ca-bundle.pem');
    const run = await doctor(projectArgs(), env({ CA_BUNDLE_FILE: missing }), { realCli: true });

    expect(run.code).toBe(1);
    expect(tableCheck(run, 'configuration').block).toContain(
      `CA_BUNDLE_FILE: cannot read ${missing} (ENOENT)`,
    );
    expect(tableCheck(run, 'atlas authentication').status).toBe('skip');
  });
});

describe('doctor --json', () => {
  it('prints one parseable report whose checks match the table', async () => {
    const run = await doctor([...projectArgs(), '--json'], env());
    const table = await doctor(projectArgs(), env());

    const report = jsonReport(run);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(checkNames);
    expect(Object.fromEntries(report.checks.map((c) => [c.name, c.status]))).toEqual(statuses(table));
    expect(report.checks.every((c) => typeof c.detail === 'string' && c.detail.length > 0)).toBe(true);
  });

  it('reports ok false with the remedy of the failing check', async () => {
    const run = await doctor([...projectArgs(), '--json'], env({ ATLAS_KEY: apiKeyPayload(readOnlyApiKey) }));

    expect(run.code).toBe(1);
    const report = jsonReport(run);
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'atlas roles')).toMatchObject({
      status: 'fail',
      remedy: `atlas projects apiKeys assign ${sandboxIds.readOnlyApiKey} --projectId ${sandboxIds.payments} --role GROUP_OWNER`,
    });
  });
});
