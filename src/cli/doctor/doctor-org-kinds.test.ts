import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultFixture,
  readOnlyApiKey,
  sandboxIds,
  startAtlasSimulator,
  type AtlasSimulator,
} from '../../sandbox/atlas/index.js';
import {
  apiKeyPayload,
  capturedOutput,
  doctor,
  expectNoSecretPrinted,
  sandboxKey,
  serviceAccount,
  statuses,
  tableCheck,
  type DoctorRun,
} from '../../../test/kits/doctor-test-kit.js';

/**
 * `doctor` on the registered organization-level kinds, against the in-process simulator: the
 * organization's ORG_OWNER key and service account pass and name the organization; an
 * ORG_READ_ONLY or ORG_MEMBER key fails naming ORG_OWNER with the exact command that grants it;
 * a key of another organization fails on visibility; no secret is printed.
 */
const otherOrg = '660100000000000000000009';
const orgReadOnlyKey = {
  id: '660600000000000000000011',
  publicKey: 'orgreado',
  privateKey: 'org-read-only-private-3f9a1c7e',
} as const;
const otherOrgKey = {
  id: '660600000000000000000012',
  publicKey: 'otherorg',
  privateKey: 'other-org-private-8d2b6e41',
} as const;
/** This suite's own secrets, on top of the kit's (which `expectNoSecretPrinted` checks). */
const suiteSecrets = [orgReadOnlyKey.privateKey, otherOrgKey.privateKey];

let sim: AtlasSimulator;

beforeAll(async () => {
  const seed = defaultFixture();
  sim = await startAtlasSimulator({
    publicKey: sandboxKey.publicKey,
    privateKey: sandboxKey.privateKey,
    serviceAccounts: [{ clientId: serviceAccount.clientId, clientSecret: serviceAccount.clientSecret }],
    fixture: {
      ...seed,
      organizations: [...seed.organizations, { id: otherOrg, name: 'Other Org' }],
      projects: [...seed.projects, { id: '660200000000000000000009', orgId: otherOrg, name: 'elsewhere' }],
      apiKeys: [
        ...(seed.apiKeys ?? []),
        {
          ...orgReadOnlyKey,
          desc: 'organization read-only key',
          roles: [{ orgId: sandboxIds.org, roleName: 'ORG_READ_ONLY' }],
        },
        {
          ...otherOrgKey,
          desc: 'owner of another organization',
          roles: [{ orgId: otherOrg, roleName: 'ORG_OWNER' }],
        },
      ],
    },
  });
});
afterAll(() => sim.close());
afterEach(() => {
  const printed = capturedOutput.join('\n');
  for (const secret of suiteSecrets) expect(printed, 'doctor printed a secret value').not.toContain(secret);
  expectNoSecretPrinted();
});

function env(key: { publicKey: string; privateKey: string } | string = sandboxKey) {
  const payload = typeof key === 'string' ? key : apiKeyPayload(key);
  return { ATLAS_BASE_URL: sim.url, ATLAS_KEY: payload };
}

const serviceAccountPayload = JSON.stringify({
  client_id: serviceAccount.clientId,
  client_secret: serviceAccount.clientSecret,
});

const kinds = ['atlas-org-deep-discovery', 'atlas-org-portal'] as const;
const flags = (kind: string) => [
  '--kind',
  kind,
  '--secret-ref',
  'env://ATLAS_KEY',
  '--org-id',
  sandboxIds.org,
];

/** Runs doctor on an `--integration` file holding that kind over the sandbox organization. */
async function doctorOnIntegration(kind: string, key: Parameters<typeof env>[0]): Promise<DoctorRun> {
  const dir = await mkdtemp(join(tmpdir(), 'doctor-org-'));
  const file = join(dir, 'integration.json');
  await writeFile(
    file,
    JSON.stringify({ kind, secretRef: 'env://ATLAS_KEY', config: { orgId: sandboxIds.org } }),
  );
  try {
    return await doctor(['--integration', file], env(key));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function expectNoneOf(run: DoctorRun, values: readonly string[]): void {
  for (const value of values) expect(run.text).not.toContain(value);
}

describe.each(kinds)('doctor on %s', (kind) => {
  it('passes with the organization ORG_OWNER key and reports the organization', async () => {
    const run = await doctor(flags(kind), env());

    expect(run.code).toBe(0);
    expect(run.stdout[0]).toContain(`doctor: ${kind} on organization ${sandboxIds.org}`);
    expect(statuses(run)).toMatchObject({
      secret: 'pass',
      'atlas authentication': 'pass',
      'atlas visibility': 'pass',
      'atlas roles': 'pass',
    });
    expect(tableCheck(run, 'atlas visibility').block).toContain(
      `organization Sandbox Org (${sandboxIds.org}) is visible`,
    );
    expect(tableCheck(run, 'atlas roles').block).toContain(
      `organization Sandbox Org (${sandboxIds.org}): holds ORG_OWNER: enough`,
    );
    expectNoneOf(run, [sandboxKey.privateKey]);
  });

  it('runs the kind’s own connection check from --integration and reports the organization', async () => {
    const run = await doctorOnIntegration(kind, sandboxKey);

    expect(run.code).toBe(0);
    expect(tableCheck(run, 'atlas visibility').block).toMatch(
      new RegExp(`${kind} connection check: organization Sandbox Org \\(${sandboxIds.org}\\), \\d+ `),
    );
  });

  it('passes with an ORG_OWNER service account and reports the organization', async () => {
    const run = await doctorOnIntegration(kind, serviceAccountPayload);

    expect(run.code).toBe(0);
    expect(tableCheck(run, 'atlas authentication').block).toContain(
      `accepted the service account ${serviceAccount.clientId}`,
    );
    expect(tableCheck(run, 'atlas visibility').block).toContain(
      `organization Sandbox Org (${sandboxIds.org}) is visible`,
    );
    expect(tableCheck(run, 'atlas roles').status).toBe('pass');
    expect(tableCheck(run, 'atlas roles').block).toContain('holds ORG_OWNER: enough');
    expectNoneOf(run, [serviceAccount.clientSecret]);
  });

  it.each([
    { role: 'ORG_READ_ONLY', key: orgReadOnlyKey, keyId: orgReadOnlyKey.id },
    { role: 'ORG_MEMBER', key: readOnlyApiKey, keyId: sandboxIds.readOnlyApiKey },
  ])(
    'fails an $role key naming ORG_OWNER and printing the exact fix command',
    async ({ role, key, keyId }) => {
      const run = await doctor(flags(kind), env(key));

      expect(run.code).toBe(1);
      expect(statuses(run)).toMatchObject({ 'atlas authentication': 'pass', 'atlas roles': 'fail' });
      const roles = tableCheck(run, 'atlas roles').block;
      expect(roles).toContain(`organization Sandbox Org (${sandboxIds.org}): holds ${role}; needs ORG_OWNER`);
      expect(roles).toContain(
        `fix: atlas organizations apiKeys assign ${keyId} --orgId ${sandboxIds.org} --role ORG_OWNER`,
      );
      expect(run.stdout.at(-1)).toContain('1 failed');
      expectNoneOf(run, [key.privateKey]);
    },
  );

  it('fails a key of another organization on visibility, saying a key belongs to one organization', async () => {
    const run = await doctorOnIntegration(kind, otherOrgKey);

    expect(run.code).toBe(1);
    const visibility = tableCheck(run, 'atlas visibility');
    expect(visibility.status).toBe('fail');
    expect(visibility.block).toMatch(
      new RegExp(
        `organization ${sandboxIds.org} is not visible to the credential \\([A-Z_]+, HTTP 40[13]\\)`,
      ),
    );
    expect(visibility.block).toContain('an API key belongs to one organization');
    expect(visibility.block).toContain(
      `atlas organizations apiKeys create --orgId ${sandboxIds.org} --desc atlas-jit-connector --role ORG_OWNER`,
    );
    expect(tableCheck(run, 'atlas roles').status).not.toBe('pass');
    expectNoneOf(run, [otherOrgKey.privateKey]);
  });
});
