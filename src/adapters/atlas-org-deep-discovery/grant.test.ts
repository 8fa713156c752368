import { MongoClient } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isConnectorError } from '../../errors/connector-error.js';
import type { JobOperation } from '../adapter.js';
import {
  buildLabels,
  grantKey,
  readGrants,
  resourceKeyFor,
  usernameFor,
  type GrantedRole,
} from '../database-access/model/user-model.js';
import { grantOperation } from '../database-access/grant/grant.js';
import { GrantPayload } from '../database-access/model/payloads.js';
import { createDeepDiscoveryAdapter, deepDiscoverySettings } from './atlas-org-deep-discovery-adapter.js';
import { deepConfig } from '../../../test/kits/deep-discovery-test-kit.js';
import {
  analytics,
  payments,
  platform,
  startKit,
  type Kit,
} from '../../../test/kits/deep-discovery-test-kit.js';

const requester = { id: 'alice', email: 'alice@example.com' };
const readSales: GrantedRole = { cluster: 'Cluster0', roleName: 'read', databaseName: 'sales' };
const writeHr: GrantedRole = { cluster: 'Cluster0', roleName: 'readWrite', databaseName: 'hr' };

function run(kit: Kit, type: JobOperation, payload: object) {
  return kit.run(type, payload, { connectorId: 'vpc-a', config: { connectorId: 'vpc-a' } });
}

function grant(subIntegrationId: string, extra: object = {}) {
  return {
    subIntegrationId,
    grantId: `g-${subIntegrationId}`,
    requester,
    access: [{ role: 'read', database: 'sales' }],
    ttlSeconds: 3600,
    ...extra,
  };
}

describe('grants on a sub-integration', () => {
  let kit: Kit;
  beforeEach(async () => {
    kit = await startKit();
  });
  afterEach(async () => kit.close());

  // Each connection type has its own loopback listener in the sandbox (no SRV without DNS).
  it.each([
    ['Private → the peering string', `${platform}:Peered`, 'private'],
    ['PrivateEndpoint → the endpoint named by the tag', `${payments}:Private0`, 'privateEndpoint'],
  ] as const)('%s, and the credential logs in through it', async (_name, id, via) => {
    const result = await run(kit, 'grant', grant(id));
    const { projectId, clusterName } = { projectId: id.slice(0, 24), clusterName: id.slice(25) };

    const connectionString = kit.sim.connectionString(projectId, clusterName, via);
    expect(connectionString).not.toBe(kit.sim.connectionString(projectId, clusterName));
    expect(result).toMatchObject({ subIntegrationId: id, connectionString });
    const user = kit.sim.state.databaseUser(projectId, String(result.username));
    expect(user?.scopes).toEqual([{ name: clusterName, type: 'CLUSTER' }]);
    const client = new MongoClient(connectionString, {
      auth: { username: String(result.username), password: String(result.password) },
      serverSelectionTimeoutMS: 5_000,
    });
    try {
      const status = await client.db('admin').command({ connectionStatus: 1 });
      expect(status['authInfo']).toMatchObject({
        authenticatedUsers: [{ user: result.username, db: 'admin' }],
      });
    } finally {
      await client.close();
    }
  });

  // The sandbox publishes a loopback `standard` string (no SRV without DNS): the driver logs in.
  it.each([
    ['untagged → standard, a replica set', payments, 'Cluster0', 'sales'],
    ['a flex cluster → standard', analytics, 'Flex0', 'scratch'],
  ])('%s: the returned string and password log in with the driver', async (_name, projectId, cluster, db) => {
    const id = `${projectId}:${cluster}`;
    const result = await run(kit, 'grant', grant(id, { access: [{ role: 'read', database: db }] }));
    expect(result.connectionString).toBe(kit.sim.connectionString(projectId, cluster));

    const client = new MongoClient(String(result.connectionString), {
      auth: { username: String(result.username), password: String(result.password) },
      serverSelectionTimeoutMS: 5_000,
    });
    try {
      const listed = await client
        .db('admin')
        .admin()
        .listDatabases({ nameOnly: true, authorizedDatabases: true });
      expect(listed.databases.map((d) => d.name)).toEqual([db]);
    } finally {
      await client.close();
    }
  });

  it('fills each access entry cluster from the sub-integration, and refuses another cluster', async () => {
    const result = await run(kit, 'grant', grant(`${payments}:Cluster0`));
    expect(result.roles).toEqual([{ roleName: 'read', databaseName: 'sales' }]);
    const other = grant(`${payments}:Cluster0`, {
      access: [{ cluster: 'Private0', role: 'read', database: 'x' }],
    });
    await expect(run(kit, 'grant', other)).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it("refuses a job for another connector's cluster at once, non-retryable, naming that connector", async () => {
    const error: unknown = await run(kit, 'grant', grant(`${platform}:VpcB`)).catch((e: unknown) => e);
    expect(isConnectorError(error) && error.code).toBe('wrong_connector');
    expect(isConnectorError(error) && error.retryable).toBe(false);
    expect(String((error as Error).message)).toContain('served by connector vpc-b');
    expect(kit.sim.state.databaseUsers(platform)).toEqual([]);
  });

  it('refuses an unroutable cluster with its routing reason', async () => {
    await expect(run(kit, 'grant', grant(`${platform}:NoEndpoint`))).rejects.toThrow(
      /needs tag apono_private_endpoint_id/,
    );
  });

  it('names the field of a malformed sub-integration id', () => {
    const adapter = createDeepDiscoveryAdapter({ ...kit.common, connectorId: 'vpc-a', reader: undefined });
    const parsed = adapter.operations.grant.payloadSchema.safeParse(grant('Cluster0'));
    expect(parsed.error?.issues[0]?.path).toEqual(['subIntegrationId']);
  });

  it('revokes, renews and rotates through the same scope', async () => {
    const id = `${payments}:Cluster0`;
    const granted = await run(kit, 'grant', grant(id));
    await run(kit, 'renew', { subIntegrationId: id, grantId: `g-${id}`, requester, ttlSeconds: 7200 });
    const rotated = await run(kit, 'rotate', { subIntegrationId: id, requester });
    expect(rotated.password).not.toBe(granted.password);
    await run(kit, 'revoke', { subIntegrationId: id, grantId: `g-${id}`, requester });
    const user = kit.sim.state.databaseUser(payments, String(granted.username));
    expect(user?.roles ?? []).toEqual([]);
  });

  it('revokes although the local policy no longer allows the project', async () => {
    const id = `${payments}:Cluster0`;
    const granted = await run(kit, 'grant', grant(id));
    const tightened = {
      connectorId: 'vpc-a',
      config: { connectorId: 'vpc-a' },
      policy: { allowedProjectIds: [platform] },
    };
    await expect(kit.run('grant', grant(id, { grantId: 'g-2' }), tightened)).rejects.toMatchObject({
      code: 'policy_denied',
    });
    await kit.run('revoke', { subIntegrationId: id, grantId: `g-${id}`, requester }, tightened);
    expect(kit.sim.state.databaseUser(payments, String(granted.username))?.roles ?? []).toEqual([]);
  });

  it.each([
    ['projectIds', { projectIds: [platform] }],
    ['clusterNames', { clusterNames: ['Peered'] }],
  ])('revokes although the integration took the cluster off its %s allow-list', async (_name, narrowed) => {
    const id = `${payments}:Cluster0`;
    const granted = await run(kit, 'grant', grant(id));
    const tightened = { connectorId: 'vpc-a', config: { connectorId: 'vpc-a', ...narrowed } };
    await expect(kit.run('grant', grant(id, { grantId: 'g-2' }), tightened)).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await kit.run('revoke', { subIntegrationId: id, grantId: `g-${id}`, requester }, tightened);
    expect(kit.sim.state.databaseUser(payments, String(granted.username))?.roles ?? []).toEqual([]);
  });

  it('revokes on a cluster whose tags no longer name a usable connection', async () => {
    const id = `${platform}:NoEndpoint`;
    // Granted while its connection-type tag was not read (as if the tag came later): standard.
    const untagged = { connectorId: 'vpc-a', tagKeys: { connectionType: 'not-set-on-any-cluster' } };
    const granted = await kit.run('grant', grant(id), { connectorId: 'vpc-a', config: untagged });
    // Now the tag says PrivateEndpoint, with no endpoint id: no grant can route, a revoke still runs.
    await expect(run(kit, 'grant', grant(id, { grantId: 'g-2' }))).rejects.toThrow(/needs tag/);
    await run(kit, 'revoke', { subIntegrationId: id, grantId: `g-${id}`, requester });
    expect(kit.sim.state.databaseUser(platform, String(granted.username))?.roles ?? []).toEqual([]);
  });

  it('revokes on a cluster re-tagged to another connector since the grant (routed here on an older snapshot)', async () => {
    const id = `${platform}:VpcB`;
    // Granted by vpc-b, which its tag names; the revoke reaches vpc-a, as one routed on a snapshot
    // from before the tag moved the cluster would. Only the Admin API is needed to take access away.
    const granted = await kit.run('grant', grant(id), {
      connectorId: 'vpc-b',
      config: { connectorId: 'vpc-a' },
    });
    await expect(run(kit, 'grant', grant(id, { grantId: 'g-2' }))).rejects.toMatchObject({
      code: 'wrong_connector',
    });

    const revoked = await run(kit, 'revoke', { subIntegrationId: id, grantId: `g-${id}`, requester });

    expect(revoked).toMatchObject({ outcome: 'revoked', subIntegrationId: id });
    expect(kit.sim.state.databaseUser(platform, String(granted.username))?.roles ?? []).toEqual([]);
  });

  describe('a sweep after the configuration stopped naming the project', () => {
    type Narrowed = { config?: Record<string, unknown>; policy?: { allowedProjectIds: string[] } };
    const username = 'jit-alice-example-com-5eed';
    /** A user of this integration on payments:Cluster0 whose read@sales grant ended an hour ago, readWrite@hr one is active. */
    async function seedEndedGrant(): Promise<void> {
      const now = Date.now();
      const grants = [
        { key: grantKey('g-ended'), expiresAtMs: now - 3_600_000, roles: [readSales] },
        { key: grantKey('g-live'), expiresAtMs: now + 7_200_000, roles: [writeHr] },
      ];
      await kit.atlas.databaseUsers.create(payments, {
        groupId: payments,
        username,
        databaseName: 'admin',
        password: 'Seeded-password-1234',
        roles: [
          { roleName: 'read', databaseName: 'sales' },
          { roleName: 'readWrite', databaseName: 'hr' },
        ],
        scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
        labels: buildLabels({
          requesterId: 'alice',
          strategy: 'per-requester',
          integrationId: 'org-int',
          grants,
        }),
        deleteAfterDate: new Date(now + 6 * 86_400_000).toISOString(),
      });
    }
    const rolesLeft = () =>
      (kit.sim.state.databaseUser(payments, username)?.roles ?? []).map(
        (r) => `${r.roleName}@${r.databaseName}`,
      );

    it.each<[string, Narrowed, object]>([
      ['projectIds, scheduled', { config: { projectIds: [platform] } }, {}],
      [
        'projectIds, naming it',
        { config: { projectIds: [platform] } },
        { subIntegrationId: `${payments}:Cluster0` },
      ],
      [
        'clusterNames, naming it',
        { config: { clusterNames: ['Peered'] } },
        { subIntegrationId: `${payments}:Cluster0` },
      ],
    ])(
      '%s: the ended grant loses its role, and the active one is ended with it',
      async (_name, narrowed, payload) => {
        await seedEndedGrant();
        const swept = await kit.run('sweep', payload, {
          connectorId: 'vpc-a',
          config: { connectorId: 'vpc-a', ...narrowed.config },
          ...(narrowed.policy ? { policy: narrowed.policy } : {}),
        });
        expect(swept.errors).toEqual([]);
        expect(rolesLeft()).toEqual([]);
        expect(swept.grantsEnded).toEqual([{ projectId: payments, username, grants: [grantKey('g-live')] }]);
        expect(readGrants(kit.sim.state.databaseUser(payments, username)?.labels ?? [])).toEqual([]);
      },
    );

    // Another connector of the organisation (its own network, its own policy) may serve payments:
    // this connector's POLICY_ALLOWED_PROJECT_IDS is no view of the grants made there.
    it.each([
      ['scheduled', {}],
      ['naming it', { subIntegrationId: `${payments}:Cluster0` }],
    ])(
      'the local policy alone, %s: the ended grant loses its role, the active one is kept',
      async (_name, payload) => {
        await seedEndedGrant();
        const swept = await kit.run('sweep', payload, {
          connectorId: 'vpc-a',
          config: { connectorId: 'vpc-a' },
          policy: { allowedProjectIds: [platform] },
        });
        expect(swept.errors).toEqual([]);
        expect(rolesLeft()).toEqual(['readWrite@hr']);
        expect(swept.grantsEnded).toEqual([]);
        const left = readGrants(kit.sim.state.databaseUser(payments, username)?.labels ?? []);
        expect(left.map((grant) => grant.key)).toEqual([grantKey('g-live')]);
      },
    );
  });

  // Grants on a cluster off clusterNames are refused: the sweep must not hand back what they may not.
  describe('a sweep after clusterNames stopped naming the cluster', () => {
    const username = 'jit-alice-example-com-d41f';
    /** Alice's active grant on payments:Cluster0 gave read@sales and readWrite@hr; read@sales was removed by hand. */
    async function seedDrifted(): Promise<string> {
      const now = Date.now();
      // Whole seconds: Atlas keeps no milliseconds.
      const deleteAfterDate = new Date(Math.floor(now / 1000) * 1000 + 3 * 3_600_000).toISOString();
      await kit.atlas.databaseUsers.create(payments, {
        groupId: payments,
        username,
        databaseName: 'admin',
        password: 'Seeded-password-1234',
        roles: [{ roleName: 'readWrite', databaseName: 'hr' }],
        scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
        labels: buildLabels({
          requesterId: 'alice',
          strategy: 'per-requester',
          integrationId: 'org-int',
          grants: [
            { key: grantKey('g-live'), expiresAtMs: now + 48 * 3_600_000, roles: [readSales, writeHr] },
          ],
        }),
        deleteAfterDate,
      });
      return deleteAfterDate;
    }
    const sweep = (clusterNames: string[], payload: object) =>
      kit.run('sweep', payload, { connectorId: 'vpc-a', config: { connectorId: 'vpc-a', clusterNames } });
    const user = () => kit.sim.state.databaseUser(payments, username);

    it.each([
      ['scheduled', {}],
      ['naming it', { subIntegrationId: `${payments}:Cluster0` }],
    ])(
      '%s: the grant is ended at once, its role not added back, the date not rolled',
      async (_name, payload) => {
        await seedDrifted();
        const swept = await sweep(['Peered'], payload);
        expect(swept.errors).toEqual([]);
        expect(swept.grantsEnded).toEqual([{ projectId: payments, username, grants: [grantKey('g-live')] }]);
        // Parking it without roles is refused here (as Atlas may): the user goes instead.
        expect(user()).toBeUndefined();
        expect(swept.usersDeleted).toEqual([{ projectId: payments, username, reason: 'no-active-grant' }]);
        expect(swept.deleteAfterRolled).toEqual([]);
        expect(swept.drift).toMatchObject({ repaired: [], outsideScope: [] });
      },
    );

    it('with the cluster still named, the same user is repaired and its date rolled', async () => {
      const deleteAfterDate = await seedDrifted();
      const swept = await sweep(['Cluster0'], { subIntegrationId: `${payments}:Cluster0` });
      expect(user()?.roles).toEqual(
        expect.arrayContaining([
          { roleName: 'read', databaseName: 'sales' },
          { roleName: 'readWrite', databaseName: 'hr' },
        ]),
      );
      expect(Date.parse(user()?.deleteAfterDate ?? '')).toBeGreaterThan(Date.parse(deleteAfterDate));
      expect(swept.drift).toMatchObject({
        repaired: [expect.objectContaining({ username })],
        outsideScope: [],
      });
    });
  });

  it('sweeps every project of the organization when no sub-integration is named', async () => {
    await run(kit, 'grant', grant(`${payments}:Cluster0`));
    await run(kit, 'grant', grant(`${platform}:Peered`));
    const swept = await run(kit, 'sweep', {});
    expect(swept.projects).toBe(3);
    expect(swept.usersChecked).toBe(2);
  });
});

describe('a per-requester user per sub-integration', () => {
  let kit: Kit;
  beforeEach(async () => {
    kit = await startKit();
  });
  afterEach(async () => kit.close());

  // Atlas gives a user every role on every cluster it is scoped to: one user on both clusters
  // would carry readWrite on hr, approved for Private0 only, to Cluster0.
  const onA = `${payments}:Cluster0`;
  const onB = `${payments}:Private0`;
  const grantA = grant(onA, { grantId: 'g-a' });
  const grantB = grant(onB, { grantId: 'g-b', access: [{ role: 'readWrite', database: 'hr' }] });
  const keyOf = (cluster: string) =>
    resourceKeyFor(payments, usernameFor('per-requester', requester, undefined, cluster));
  const keyed = (cluster: string) => ({
    connectorId: 'vpc-a',
    config: { connectorId: 'vpc-a' },
    resourceKey: keyOf(cluster),
  });

  it('gives one requester two users on two clusters of one project, each scoped to its cluster only', async () => {
    const a = await kit.run('grant', grantA, keyed('Cluster0'));
    const b = await kit.run('grant', grantB, keyed('Private0'));

    expect(a.username).not.toBe(b.username);
    expect(a.username).toBe(usernameFor('per-requester', requester, undefined, 'Cluster0'));
    const userA = kit.sim.state.databaseUser(payments, String(a.username));
    const userB = kit.sim.state.databaseUser(payments, String(b.username));
    expect(userA?.scopes).toEqual([{ name: 'Cluster0', type: 'CLUSTER' }]);
    expect(userA?.roles).toEqual([{ roleName: 'read', databaseName: 'sales' }]);
    expect(userB?.scopes).toEqual([{ name: 'Private0', type: 'CLUSTER' }]);
    expect(userB?.roles).toEqual([{ roleName: 'readWrite', databaseName: 'hr' }]);
    // Each user had its own first grant: each got its own password.
    expect(a.password).toEqual(expect.any(String));
    expect(b.password).toEqual(expect.any(String));
  });

  it("revokes one cluster's grant and leaves the other cluster's user as it was", async () => {
    const a = await kit.run('grant', grantA, keyed('Cluster0'));
    const b = await kit.run('grant', grantB, keyed('Private0'));
    const before = kit.sim.state.databaseUser(payments, String(a.username));

    const revoked = await kit.run(
      'revoke',
      { subIntegrationId: onB, grantId: 'g-b', requester },
      keyed('Private0'),
    );

    expect(revoked).toMatchObject({ outcome: 'revoked', username: b.username, remainingRoles: [] });
    expect(kit.sim.state.databaseUser(payments, String(b.username))?.roles ?? []).toEqual([]);
    const after = kit.sim.state.databaseUser(payments, String(a.username));
    expect(after?.roles).toEqual(before?.roles);
    expect(after?.scopes).toEqual([{ name: 'Cluster0', type: 'CLUSTER' }]);
    expect(after?.labels).toEqual(before?.labels);
  });

  it.each([
    ['grant', grantA],
    ['revoke', { subIntegrationId: onA, grantId: 'g-a', requester }],
    ['renew', { subIntegrationId: onA, grantId: 'g-a', requester, ttlSeconds: 7200 }],
    ['rotate', { subIntegrationId: onA, requester }],
  ] as const)(
    'refuses a %s keyed by the project-wide (cluster-less) user, naming the expected key',
    async (type, payload) => {
      const oldKey = resourceKeyFor(payments, usernameFor('per-requester', requester));
      const options = { connectorId: 'vpc-a', config: { connectorId: 'vpc-a' }, resourceKey: oldKey };
      const error: unknown = await kit.run(type, payload, options).catch((e: unknown) => e);

      expect(isConnectorError(error) && error.code).toBe('invalid_job');
      expect(String((error as Error).message)).toContain(`expected "${keyOf('Cluster0')}"`);
      expect(kit.sim.state.databaseUsers(payments)).toEqual([]);
    },
  );

  // Before per-cluster users, this kind's per-requester user was the project's `jit-<slug>-<h>`.
  it('revokes and renews a grant still held by a project-wide user made before per-cluster users', async () => {
    const projectWide = usernameFor('per-requester', requester);
    const payload = GrantPayload.parse({
      grantId: 'g-a',
      requester,
      access: [{ cluster: 'Cluster0', role: 'read', database: 'sales' }],
      ttlSeconds: 3600,
    });
    await grantOperation.run(
      {
        scope: { kind: 'project', projectId: payments, connectionType: 'standard' },
        settings: deepDiscoverySettings(deepConfig()),
        payload,
        integrationId: 'org-int',
      },
      { ...kit.common, ...kit.credential },
      kit.ctx(),
    );
    expect(kit.sim.state.databaseUser(payments, projectWide)?.roles).toHaveLength(1);

    const renewed = await kit.run(
      'renew',
      { subIntegrationId: onA, grantId: 'g-a', requester, ttlSeconds: 7200 },
      keyed('Cluster0'),
    );
    expect(renewed.username).toBe(projectWide);
    const revoked = await kit.run(
      'revoke',
      { subIntegrationId: onA, grantId: 'g-a', requester },
      keyed('Cluster0'),
    );
    expect(revoked).toMatchObject({ outcome: 'revoked', username: projectWide });
    expect(kit.sim.state.databaseUser(payments, projectWide)?.roles ?? []).toEqual([]);
  });
});
