import { describe, expect, it } from 'vitest';
import {
  alice,
  analyticsCluster,
  bob,
  clusterName,
  harness,
  projectId,
  type HarnessOptions,
} from '../../../../test/kits/grant-test-kit.js';
import { grantKey, readGrants, usernameFor } from '../model/user-model.js';

const username = usernameFor('per-requester', alice);
const readHr = { cluster: analyticsCluster, role: 'read', database: 'hr' };
const writeSales = { cluster: clusterName, role: 'readWrite', database: 'sales' };
const readOps = { cluster: clusterName, role: 'read', database: 'ops' };

/** Alice holds a grant on Analytics and then one per entry on Cluster0; then Analytics is deleted. */
async function analyticsDeleted(entries: readonly (typeof writeSales)[], options: HarnessOptions = {}) {
  const h = harness({ kind: 'atlas-multi-project', ...options });
  await h.grant({ grantId: 'g-analytics', projectId, access: [readHr], ttlSeconds: 3 * 86_400 });
  for (const [i, entry] of entries.entries())
    await h.grant({ grantId: `g-${i}`, projectId, access: [entry] });
  h.atlas.deleteCluster(projectId, analyticsCluster);
  return h;
}

const scopesOf = (h: ReturnType<typeof harness>, name = username) =>
  h.atlas.user(projectId, name)?.scopes?.map((scope) => scope.name);

describe('a cluster deleted while a grant on it is active', () => {
  it('does not block revoking another grant: the user keeps the clusters that exist', async () => {
    const h = await analyticsDeleted([writeSales, readOps]);

    const result = await h.revoke({ grantId: 'g-0', projectId });

    expect(result).toMatchObject({ outcome: 'revoked', username });
    const user = h.atlas.user(projectId, username);
    expect(user?.roles).not.toContainEqual({ roleName: 'readWrite', databaseName: 'sales' });
    expect(scopesOf(h)).toEqual([clusterName]);
    expect(readGrants(user?.labels ?? []).map((g) => g.key)).toEqual(
      [grantKey('g-analytics'), grantKey('g-1')].sort(),
    );
    expect(h.ungatedWrites()).toEqual([]);
  });

  it('deletes the user when a revoke leaves no active grant on a cluster that exists', async () => {
    const h = await analyticsDeleted([writeSales]);

    const result = await h.revoke({ grantId: 'g-0', projectId });

    expect(result).toMatchObject({ outcome: 'revoked', username, userDeleted: true, remainingRoles: [] });
    expect(h.atlas.usersIn(projectId)).toEqual([]);
  });

  it('revokes a per-grant user on the deleted cluster (nothing is left to apply there)', async () => {
    const h = harness({ kind: 'atlas-multi-project', config: { userStrategy: 'per-grant' } });
    await h.grant({ projectId, access: [readHr] });
    h.atlas.deleteCluster(projectId, analyticsCluster);

    await expect(h.revoke({ projectId })).resolves.toMatchObject({ outcome: 'revoked', userDeleted: true });
    expect(h.atlas.usersIn(projectId)).toEqual([]);
  });

  it('does not block a new grant on a cluster that exists', async () => {
    const h = await analyticsDeleted([]);

    const result = await h.grant({ grantId: 'g-new', projectId, access: [writeSales] });

    expect(result.roles).toEqual([{ roleName: 'readWrite', databaseName: 'sales' }]);
    expect(scopesOf(h)).toEqual([clusterName]);
  });

  it.each([
    { when: 'while the cluster read is still cached', afterMs: 0 },
    { when: 'once the cluster is read again', afterMs: 120_000 },
  ])('refuses a grant on the deleted cluster itself, naming it, $when', async ({ afterMs }) => {
    const h = await analyticsDeleted([writeSales]);
    await h.clock.advance(afterMs);
    const before = h.atlas.user(projectId, username);

    await expect(h.grant({ grantId: 'g-new', projectId, access: [readHr] })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining(`cluster ${analyticsCluster} not found in project ${projectId}`),
    });
    expect(h.atlas.user(projectId, username)).toEqual(before);
  });

  it.each(['per-requester', 'per-grant'] as const)(
    'refuses a %s grant that creates its user on a cluster deleted while its read is cached, naming it',
    async (userStrategy) => {
      const h = harness({ kind: 'atlas-multi-project', config: { userStrategy } });
      await h.grant({ grantId: 'g-bob', requester: bob, projectId, access: [readHr] });
      h.atlas.deleteCluster(projectId, analyticsCluster);

      await expect(h.grant({ grantId: 'g-alice', projectId, access: [readHr] })).rejects.toMatchObject({
        code: 'invalid_request',
        message: expect.stringContaining(`cluster ${analyticsCluster} not found in project ${projectId}`),
      });
      expect(h.atlas.usersIn(projectId).map((user) => user.username)).not.toContain(
        usernameFor(userStrategy, alice, 'g-alice'),
      );
    },
  );

  it('renews a grant on a cluster that exists, and refuses one whose cluster is gone', async () => {
    const h = await analyticsDeleted([writeSales]);

    await expect(h.renew({ grantId: 'g-0', projectId })).resolves.toMatchObject({ username });
    expect(scopesOf(h)).toEqual([clusterName]);
    await expect(h.renew({ grantId: 'g-analytics', projectId })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining(`cluster ${analyticsCluster} no longer exists`),
    });
  });
});
