import { describe, expect, it } from 'vitest';
import { isConnectorError } from '../../errors/connector-error.js';
import { grantOperation } from '../database-access/grant/grant.js';
import { GrantPayload } from '../database-access/model/payloads.js';
import { settingsOf } from '../database-access/model/settings.js';
import { resourceKeyFor, usernameFor } from '../database-access/model/user-model.js';
import {
  alice,
  analyticsCluster,
  clusterName,
  harness,
  integrationId,
  otherProjectId,
  perRequesterUser,
  projectConfig,
  projectId,
  settle,
  type Harness,
} from '../../../test/kits/grant-test-kit.js';
import { AtlasProjectConfig } from './atlas-project-config.js';
import { atlasProjectKind } from './atlas-project-kind.js';
import { atlasProjectScope, resolveAtlasProjectScope } from './atlas-project-scope.js';

const config = AtlasProjectConfig.parse({ projectId, clusterName, clusterType: 'REPLICASET' });
const integration = { id: integrationId, kind: 'atlas-project', config, secretRef: 'env://K' };

function adapterOf(h: Harness) {
  return atlasProjectKind.create(h.common);
}

/** Checks the connection the way `doctor` does, letting the simulator answer. */
function check(h: Harness, checked = config) {
  return settle(h.atlas, adapterOf(h).checkConnection(checked, h.credential, h.context().ctx));
}

describe('atlas-project kind', () => {
  it('resolves every job to its one cluster of its one project, with its connection choice', async () => {
    const expected = { kind: 'project-cluster', projectId, clusterName, connectionType: 'standard' };
    expect(atlasProjectScope(config)).toEqual(expected);
    await expect(resolveAtlasProjectScope({ config, payload: {}, integration })).resolves.toEqual(expected);
    await expect(resolveAtlasProjectScope({ config, payload: { projectId }, integration })).resolves.toEqual(
      expected,
    );
    expect(settingsOf(config)).toEqual({
      userStrategy: 'per-requester',
      userCleanupDays: 1,
      ownerTagKey: 'owner',
    });
  });

  it('carries a private endpoint id into the scope', () => {
    const endpoint = { ...config, connectionType: 'privateEndpoint' as const, privateEndpointId: 'vpce-1' };
    expect(atlasProjectScope(endpoint)).toMatchObject({
      connectionType: 'privateEndpoint',
      privateEndpointId: 'vpce-1',
    });
  });

  it('refuses a payload naming another project with invalid_request on projectId', async () => {
    await expect(
      resolveAtlasProjectScope({ config, payload: { projectId: otherProjectId }, integration }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
      message: `projectId: ${otherProjectId} is not this integration's project ${projectId}`,
    });
  });

  it('refuses a grant naming another cluster with invalid_request on the access entry, before any Atlas call', async () => {
    const h = harness();
    const grant = adapterOf(h).operations.grant;
    const payload = {
      grantId: 'g-1',
      requester: { id: 'u-1' },
      access: [{ cluster: 'Analytics', role: 'read', database: 'sales' }],
      ttlSeconds: 3600,
    };
    await expect(
      grant.run({ operation: 'grant', config, payload, integration }, h.credential, h.context().ctx),
    ).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^access\[0\]\.cluster: cluster Analytics is not this integration's/),
    });
    expect(h.atlas.exchanges).toEqual([]);
    expect(h.atlas.calls).toEqual([]);
  });

  it('declares and builds every database-access operation, and no secret config field', async () => {
    const h = harness();
    const operations = ['discover', 'grant', 'revoke', 'renew', 'rotate', 'sweep'];
    expect([...atlasProjectKind.operations].sort()).toEqual(operations.sort());
    expect(Object.keys(adapterOf(h).operations).sort()).toEqual(operations.sort());
    expect(atlasProjectKind.redactFields).toEqual([]);
    expect(atlasProjectKind.credential).toMatchObject({
      level: 'project',
      projects: 'one',
      role: 'GROUP_OWNER',
    });
  });

  it('checks the connection by reading the project and the cluster', async () => {
    const h = harness();
    expect(await check(h)).toEqual({
      ok: true,
      detail: `project project-0d1e (${projectId}), cluster ${clusterName} (IDLE)`,
    });
    expect(h.atlas.apiCalls().map((e) => e.operationId)).toEqual(['getGroup', 'getGroupCluster']);
  });

  it('reports a cluster it cannot see as a failed check', async () => {
    const h = harness();
    expect(await check(h, { ...config, clusterName: 'Gone' })).toEqual({
      ok: false,
      detail: `clusterName: cluster Gone not found in project ${projectId}`,
      code: 'invalid_request',
    });
  });

  it('reports a refused key as a failed check', async () => {
    const h = harness();
    h.atlas.revokeConnector();
    expect(await check(h)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^getGroup: /),
      code: 'auth_failed',
    });
    // The client reads its credential again once after a 401 before giving up; no cluster read follows.
    const calls = h.atlas.apiCalls().map((e) => [e.operationId, e.status]);
    expect(calls.length).toBeGreaterThan(0);
    expect(new Set(calls.map((c) => c.join(' ')))).toEqual(new Set(['getGroup 401']));
  });
});

/**
 * Two atlas-project integrations on different clusters of one project (each with its own owners
 * and approvals): Atlas gives a user every one of its roles on every cluster it is scoped to, so
 * a requester's per-requester user is per integration cluster, never shared between the two.
 */
describe('atlas-project: a per-requester user per integration cluster', () => {
  const onAnalytics = (h: Harness) => h.through('int-analytics', { clusterName: analyticsCluster });
  const readSales = { cluster: clusterName, role: 'read', database: 'sales' };
  const writeSales = { cluster: analyticsCluster, role: 'readWrite', database: 'sales' };
  const analyticsUser = usernameFor('per-requester', alice, undefined, analyticsCluster);

  async function grantBoth(h: Harness) {
    const a = await h.grant({ grantId: 'g-a', access: [readSales] });
    const b = await onAnalytics(h).grant({ grantId: 'g-b', access: [writeSales] });
    return { a, b };
  }

  it('gives one requester two users through two integrations, each scoped to its own cluster', async () => {
    const h = harness();
    const { a, b } = await grantBoth(h);

    expect(a.username).toBe(perRequesterUser(alice));
    expect(b.username).toBe(analyticsUser);
    expect(a.username).not.toBe(b.username);
    const userA = h.atlas.user(projectId, a.username);
    const userB = h.atlas.user(projectId, b.username);
    expect(userA?.scopes).toEqual([{ name: clusterName, type: 'CLUSTER' }]);
    expect(userA?.roles).toEqual([{ roleName: 'read', databaseName: 'sales' }]);
    expect(userB?.scopes).toEqual([{ name: analyticsCluster, type: 'CLUSTER' }]);
    expect(userB?.roles).toEqual([{ roleName: 'readWrite', databaseName: 'sales' }]);
    // Each user had its own first grant: each got its own password.
    expect(a).toMatchObject({ password: expect.any(String) });
    expect(b).toMatchObject({ password: expect.any(String) });
  });

  it("revokes one integration's grant and leaves the other integration's user as it was", async () => {
    const h = harness();
    const { a, b } = await grantBoth(h);
    const before = h.atlas.user(projectId, a.username);

    const revoked = await onAnalytics(h).revoke({ grantId: 'g-b' });

    expect(revoked).toMatchObject({ outcome: 'revoked', username: b.username, remainingRoles: [] });
    expect(h.atlas.user(projectId, b.username)?.roles ?? []).toEqual([]);
    const after = h.atlas.user(projectId, a.username);
    expect(after?.roles).toEqual(before?.roles);
    expect(after?.scopes).toEqual([{ name: clusterName, type: 'CLUSTER' }]);
    expect(after?.labels).toEqual(before?.labels);
  });

  it.each(['grant', 'revoke', 'renew', 'rotate'] as const)(
    'refuses a %s keyed by the project-wide (cluster-less) user, naming the expected key',
    async (job) => {
      const h = harness();
      const oldKey = resourceKeyFor(projectId, usernameFor('per-requester', alice));
      const error: unknown = await h[job]({}, { ...h.context().ctx, resourceKey: oldKey }).catch(
        (caught: unknown) => caught,
      );

      expect(isConnectorError(error) && error.code).toBe('invalid_job');
      expect(String((error as Error).message)).toContain(
        `expected "${resourceKeyFor(projectId, perRequesterUser(alice))}"`,
      );
      expect(h.atlas.methods().filter((m: string) => /\.(create|update|delete)$/.test(m))).toEqual([]);
    },
  );

  // Before per-cluster users, an atlas-project per-requester user was the project's `jit-<slug>-<h>`,
  // shared by every atlas-project integration of the project.
  describe('a project-wide user made before per-cluster users', () => {
    const projectWide = usernameFor('per-requester', alice);

    /** The user as the connector made it then: g-a through int-1 (Cluster0), g-b through int-analytics. */
    async function oldUser(h: Harness) {
      const grant = (integrationId: string, grantId: string, access: object) =>
        settle(
          h.atlas,
          grantOperation.run(
            {
              scope: { kind: 'project', projectId, connectionType: 'standard' },
              settings: settingsOf(projectConfig()),
              payload: GrantPayload.parse({ grantId, requester: alice, access: [access], ttlSeconds: 3600 }),
              integrationId,
            },
            h.deps,
            h.context().ctx,
          ),
        );
      await grant(integrationId, 'g-a', readSales);
      await grant('int-analytics', 'g-b', writeSales);
      expect(h.atlas.user(projectId, projectWide)?.scopes).toHaveLength(2);
    }

    it('renews and revokes its grant through the new per-cluster key, leaving the other grant', async () => {
      const h = harness();
      await oldUser(h);
      const keyed = { ...h.context().ctx, resourceKey: resourceKeyFor(projectId, perRequesterUser(alice)) };

      expect(await h.renew({ grantId: 'g-a' }, keyed)).toMatchObject({ username: projectWide });
      const revoked = await h.revoke({ grantId: 'g-a' }, keyed);

      expect(revoked).toMatchObject({ outcome: 'revoked', username: projectWide });
      expect(h.atlas.user(projectId, projectWide)?.roles).toEqual([
        { roleName: 'readWrite', databaseName: 'sales' },
      ]);
      expect(h.atlas.user(projectId, perRequesterUser(alice))).toBeUndefined();
    });

    // The grant's result named the old user: a control plane that keys the revoke or renew by it has
    // the job serialized with every other job on the user it writes.
    it('renews and revokes its grant keyed by the old user that holds it', async () => {
      const h = harness();
      await oldUser(h);
      const keyed = { ...h.context().ctx, resourceKey: resourceKeyFor(projectId, projectWide) };

      expect(await h.renew({ grantId: 'g-a' }, keyed)).toMatchObject({ username: projectWide });
      const revoked = await h.revoke({ grantId: 'g-a' }, keyed);

      expect(revoked).toMatchObject({ outcome: 'revoked', username: projectWide });
      expect(h.atlas.user(projectId, projectWide)?.roles).toEqual([
        { roleName: 'readWrite', databaseName: 'sales' },
      ]);
    });

    it.each(['revoke', 'renew'] as const)(
      'still refuses a %s keyed by the old user when the per-cluster user holds the grant',
      async (job) => {
        const h = harness();
        await oldUser(h);
        await h.grant({ grantId: 'g-c', access: [readSales] });
        h.clearCalls();
        const keyed = { ...h.context().ctx, resourceKey: resourceKeyFor(projectId, projectWide) };

        const error: unknown = await h[job]({ grantId: 'g-c' }, keyed).catch((caught: unknown) => caught);

        expect(isConnectorError(error) && error.code).toBe('invalid_job');
        expect(String((error as Error).message)).toContain(
          `expected "${resourceKeyFor(projectId, perRequesterUser(alice))}"`,
        );
        expect(h.atlas.methods().filter((m: string) => /\.(create|update|delete)$/.test(m))).toEqual([]);
      },
    );

    it('is not rotated: rotate acts on the per-cluster user only, and answers not_found without one', async () => {
      const h = harness();
      await oldUser(h);
      const password = h.atlas.passwordOf(projectId, projectWide);

      await expect(h.rotate()).rejects.toMatchObject({
        code: 'not_found',
        message: expect.stringContaining(perRequesterUser(alice)),
      });
      expect(h.atlas.passwordOf(projectId, projectWide)).toBe(password);
    });

    it('leaves it alone when a new grant comes: the grant makes the per-cluster user', async () => {
      const h = harness();
      await oldUser(h);
      const before = h.atlas.user(projectId, projectWide);

      const granted = await h.grant({ grantId: 'g-c', access: [readSales] });

      expect(granted.username).toBe(perRequesterUser(alice));
      expect(h.atlas.user(projectId, granted.username)?.scopes).toEqual([
        { name: clusterName, type: 'CLUSTER' },
      ]);
      expect(h.atlas.user(projectId, projectWide)).toEqual(before);
    });
  });
});
