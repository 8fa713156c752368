import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  atlasOperations,
  createAtlasClient,
  paginate,
  unlimitedRateLimiter,
  type AtlasClient,
  type AtlasCredentials,
} from '../../src/atlas/index.js';
import { systemClock } from '../../src/runtime/clock.js';
import { cryptoRandom } from '../../src/runtime/random.js';
import {
  createExchangeRecorder,
  sandboxIds,
  startAtlasSimulator,
  type AtlasSimulator,
} from '../../src/sandbox/atlas/index.js';
import { captureLogs } from '../fakes/log-capture.js';
import { loadAtlasSpec, validateExchange, type AtlasSpec } from './openapi-validator.js';
import { defaultSpecPath, specSuiteTitle } from './spec-loader.js';
import { testKey, testServiceAccount } from './sim-harness.js';
import { createHttpClient } from '../../src/runtime/http.js';

const spec = loadAtlasSpec();
if (!spec) console.warn(`skipping the client contract test: the OpenAPI spec is not at ${defaultSpecPath}`);

const { org, payments, analytics, bob, oncallTeam } = sandboxIds;

function clientFor(sim: AtlasSimulator, credentials: AtlasCredentials, logs = captureLogs()): AtlasClient {
  return createAtlasClient({
    baseUrl: sim.url,
    credentials: { get: async () => credentials, invalidate: () => undefined },
    fetch: createHttpClient(),
    clock: systemClock,
    random: cryptoRandom,
    logger: logs.logger,
    userAgent: 'atlas-jit-connector/contract-test',
    rateLimiter: unlimitedRateLimiter,
  });
}

/** Every operation the adapters and doctor use, success paths and the common error paths. */
async function exerciseEveryOperation(atlas: AtlasClient, suffix: string): Promise<void> {
  await atlas.identity.status();
  await atlas.identity.listOrgApiKeys(org);
  await atlas.identity.getServiceAccount(org, testServiceAccount.clientId);
  await atlas.identity.listServiceAccountProjects(org, testServiceAccount.clientId);
  await atlas.organizations.list();
  await atlas.organizations.get(org);
  for await (const project of paginate((o) => atlas.projects.list(o), { itemsPerPage: 1 })) void project;
  await atlas.projects.get(payments);
  await atlas.projects.getByName('payments');
  await atlas.projects.listForOrg(org);
  await atlas.projects.listForOrg(org, { name: 'pay', itemsPerPage: 500 });
  await atlas.clusters.list(payments);
  await atlas.clusters.get(payments, 'Cluster0');
  await atlas.clusters.status(payments, 'Cluster0');
  await atlas.flexClusters.list(analytics);
  await atlas.flexClusters.get(analytics, 'Flex0');
  const processes = await atlas.processes.list(payments);
  const primary = processes.results[0];
  if (primary) await atlas.processes.listDatabases(payments, primary.id);
  const snapshots = await atlas.backupSnapshots.list(payments, 'Cluster0');
  const snapshot = snapshots.results.find((s) => s.status === 'completed');
  if (snapshot) {
    await atlas.backupSnapshots.listDatabases(payments, 'Cluster0', snapshot.id);
    await atlas.backupSnapshots.listCollections(payments, 'Cluster0', snapshot.id, 'sales');
  }
  await atlas.backupSnapshots.listSharded(analytics, 'Analytics');
  await atlas.rateLimits.list({ groupId: payments });
  await atlas.projectLimits.list(payments);
  await atlas.projectLimits.get(payments, 'atlas.project.security.databaseAccess.customRoles');
  await atlas.projectLimits.set(payments, 'atlas.project.security.databaseAccess.customRoles', 150);

  const username = `contract-${suffix}`;
  await atlas.databaseUsers.list(payments);
  await atlas.databaseUsers.create(payments, {
    groupId: payments,
    username,
    databaseName: 'admin',
    password: 'contract-test-password-123',
    roles: [{ roleName: 'read', databaseName: 'sales', collectionName: 'orders' }],
    scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
    labels: [{ key: 'managed-by', value: 'atlas-jit-connector' }],
    deleteAfterDate: new Date(Date.now() + 3_600_000).toISOString(),
    description: 'contract test user',
  });
  await atlas.databaseUsers.get(payments, 'admin', username);
  await atlas.databaseUsers.update(payments, 'admin', username, {
    roles: [{ roleName: 'readWrite', databaseName: 'sales' }],
  });
  await expect(
    atlas.databaseUsers.create(payments, {
      groupId: payments,
      username,
      databaseName: 'admin',
      password: 'another-password-456',
      roles: [{ roleName: 'read', databaseName: 'sales' }],
    }),
  ).rejects.toMatchObject({ code: 'conflict' });
  await atlas.databaseUsers.delete(payments, 'admin', username);
  await expect(atlas.databaseUsers.get(payments, 'admin', username)).rejects.toMatchObject({
    code: 'not_found',
  });

  const roleName = `jit-r-contract${suffix}`;
  await atlas.customDbRoles.list(payments);
  await atlas.customDbRoles.create(payments, {
    roleName,
    actions: [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: 'orders' }] }],
    inheritedRoles: [],
  });
  await atlas.customDbRoles.get(payments, roleName);
  await atlas.customDbRoles.update(payments, roleName, {
    actions: [{ action: 'INSERT', resources: [{ cluster: false, db: 'sales', collection: 'orders' }] }],
    inheritedRoles: [],
  });
  await atlas.customDbRoles.delete(payments, roleName);

  await atlas.orgUsers.list(org, { username: 'bob@example.com' });
  // As the org-portal adapter reads a person: the array parameter goes repeated, never comma-joined.
  await atlas.orgUsers.list(org, {
    username: 'bob@example.com',
    orgMembershipStatuses: ['ACTIVE', 'PENDING'],
    itemsPerPage: 500,
  });
  await atlas.orgUsers.get(org, bob);
  await atlas.orgUsers.addRole(org, bob, 'ORG_BILLING_READ_ONLY');
  await atlas.orgUsers.removeRole(org, bob, 'ORG_BILLING_READ_ONLY');
  const invited = await atlas.orgUsers.invite(org, {
    username: `new-${suffix}@example.com`,
    roles: {
      orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'],
      groupRoleAssignments: [{ groupId: payments, groupRoles: ['GROUP_READ_ONLY'] }],
    },
  });
  await atlas.orgUsers.remove(org, invited.id);
  await atlas.projectUsers.list(payments);
  await atlas.projectUsers.list(payments, {
    username: 'bob@example.com',
    orgMembershipStatuses: ['ACTIVE', 'PENDING'],
    flattenTeams: true,
    includeOrgUsers: false,
  });
  await atlas.projectUsers.get(payments, bob);
  await atlas.projectUsers.addRole(payments, bob, 'GROUP_DATA_ACCESS_READ_ONLY');
  await atlas.projectUsers.removeRole(payments, bob, 'GROUP_DATA_ACCESS_READ_ONLY');
  await atlas.projectUsers.add(analytics, { username: 'bob@example.com', roles: ['GROUP_READ_ONLY'] });
  await atlas.projectUsers.remove(analytics, bob);
  await atlas.teams.list(org);
  await atlas.teams.listUsers(org, oncallTeam);
  await atlas.teams.addUser(org, oncallTeam, bob);
  await atlas.teams.removeUser(org, oncallTeam, bob);
  await atlas.teams.listForProject(payments);
  await atlas.events.listForProject(payments);
  await atlas.events.listForOrg(org);
}

describe.skipIf(!spec)(
  specSuiteTitle('the Atlas client against the official OpenAPI spec', Boolean(spec)),
  () => {
    const theSpec = spec as AtlasSpec;
    const recorder = createExchangeRecorder();
    let sim: AtlasSimulator;

    beforeAll(async () => {
      sim = await startAtlasSimulator({
        ...testKey,
        serviceAccounts: [testServiceAccount],
        onExchange: recorder.onExchange,
      });
    });
    afterAll(async () => sim.close());

    it('sends only requests the spec declares, with declared versions and valid bodies (API key)', async () => {
      recorder.exchanges.length = 0;
      await exerciseEveryOperation(clientFor(sim, { type: 'api-key', ...testKey }), 'key');
      const exchanges = recorder.exchanges.filter((e) => e.url.includes('/api/atlas/v2'));
      expect(exchanges.length).toBeGreaterThan(50);
      // An operation never sent here would go unchecked: every one the client knows is exercised.
      const sent = new Set(exchanges.map((e) => e.operationId));
      expect(Object.keys(atlasOperations).filter((id) => !sent.has(id))).toEqual([]);
      expect(
        exchanges.flatMap((e) =>
          validateExchange(theSpec, e).map((v) => `${e.method} ${e.url} → ${e.status}: ${v}`),
        ),
      ).toEqual([]);
    }, 60_000);

    it('does the same with a service account over OAuth', async () => {
      recorder.exchanges.length = 0;
      const atlas = clientFor(sim, { type: 'service-account', ...testServiceAccount });
      await exerciseEveryOperation(atlas, 'sa');
      await atlas.close();
      const exchanges = recorder.exchanges.filter((e) => e.url.includes('/api/atlas/v2'));
      expect(
        exchanges.flatMap((e) =>
          validateExchange(theSpec, e).map((v) => `${e.method} ${e.url} → ${e.status}: ${v}`),
        ),
      ).toEqual([]);
      expect(recorder.exchanges.some((e) => e.url.endsWith('/api/oauth/revoke'))).toBe(true);
    }, 60_000);
  },
);
