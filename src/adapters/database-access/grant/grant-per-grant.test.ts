import { describe, expect, it } from 'vitest';
import { alice, clusterName, harness, hourMs, projectId } from '../../../../test/kits/grant-test-kit.js';
import { grantKey, labelKeys, labelValue, readGrants, usernameFor } from '../model/user-model.js';
import { atlasIso } from '../../../../test/kits/atlas-world-test-kit.js';

const perGrant = { config: { userStrategy: 'per-grant' as const } };

describe('per-grant strategy', () => {
  it('creates a fresh user per grant with the whole spec, then deletes it on revoke', async () => {
    const h = harness(perGrant);
    const now = h.clock.now();

    const result = await h.grant();

    const username = usernameFor('per-grant', alice, 'g-1');
    expect(h.atlas.methods()).toEqual(['clusters.get', 'databaseUsers.create', 'clusters.status']);
    const user = h.atlas.user(projectId, username);
    expect(user).toMatchObject({
      roles: [{ roleName: 'read', databaseName: 'sales' }],
      scopes: [{ name: clusterName, type: 'CLUSTER' }],
      deleteAfterDate: atlasIso(now + hourMs),
    });
    expect(labelValue(user?.labels, labelKeys.strategy)).toBe('per-grant');
    expect(result).toMatchObject({ username, password: h.atlas.passwordOf(projectId, username) });
    h.clearCalls();

    const revoked = await h.revoke();

    expect(h.atlas.methods()).toEqual(['databaseUsers.get', 'databaseUsers.delete', 'clusters.status']);
    expect(revoked).toEqual({
      outcome: 'revoked',
      username,
      removedRoles: [{ roleName: 'read', databaseName: 'sales' }],
      remainingRoles: [],
      userDeleted: true,
    });
    expect(h.atlas.usersIn(projectId)).toEqual([]);
    expect(h.ungatedWrites()).toEqual([]);
    expect(await h.revoke()).toEqual({ outcome: 'already_revoked', username });
  });

  it('gives two grants of one requester two users', async () => {
    const h = harness(perGrant);
    await h.grant();
    await h.grant({ grantId: 'g-2' });
    expect(
      h.atlas
        .usersIn(projectId)
        .map((u) => u.username)
        .sort(),
    ).toEqual([usernameFor('per-grant', alice, 'g-1'), usernameFor('per-grant', alice, 'g-2')].sort());
  });

  it('answers a redelivery (409 on create) with a PATCH carrying a new password and the full spec', async () => {
    const h = harness(perGrant);
    const first = await h.grant();
    h.clearCalls();

    const again = await h.grant();

    const username = usernameFor('per-grant', alice, 'g-1');
    expect(h.atlas.methods()).toEqual([
      // the cluster was read by the first grant, less than a minute ago
      'databaseUsers.create',
      'databaseUsers.get',
      'databaseUsers.update',
      'clusters.status',
    ]);
    const update = h.atlas.callsTo('databaseUsers.update')[0]?.[3];
    expect(update).toMatchObject({
      password: h.atlas.passwordOf(projectId, username),
      roles: [{ roleName: 'read', databaseName: 'sales' }],
      scopes: [{ name: clusterName, type: 'CLUSTER' }],
    });
    expect('password' in again && again.password).toBe(h.atlas.passwordOf(projectId, username));
    expect('password' in first && first.password).not.toBe(h.atlas.passwordOf(projectId, username));
    expect(readGrants(h.atlas.user(projectId, username)?.labels ?? []).map((g) => g.key)).toEqual([
      grantKey('g-1'),
    ]);
    expect(h.ungatedWrites()).toEqual([]);
  });

  it('lets a redelivery through a full users quota when its own user already exists', async () => {
    const h = harness(perGrant);
    await h.grant();
    h.atlas.setLimit(projectId, 'atlas.project.security.databaseAccess.users', 1);

    await expect(h.grant()).resolves.toMatchObject({ username: usernameFor('per-grant', alice, 'g-1') });
    await expect(h.grant({ grantId: 'g-2' })).rejects.toMatchObject({ code: 'quota_exceeded' });
  });

  it('refuses rotate, which applies to per-requester users', async () => {
    const h = harness(perGrant);
    await h.grant();
    await expect(h.rotate()).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/rotate applies to per-requester users/),
    });
  });
});
