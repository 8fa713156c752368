import { describe, expect, it } from 'vitest';
import {
  alice,
  analyticsCluster,
  clusterName,
  dayMs,
  harness,
  hourMs,
  integrationId,
  perRequesterUser,
  projectId,
} from '../../../../test/kits/grant-test-kit.js';
import {
  grantKey,
  integrationKey,
  labelKeys,
  labelValue,
  readGrants,
  resourceKeyFor,
  usernameFor,
} from '../model/user-model.js';
import { atlasIso } from '../../../../test/kits/atlas-world-test-kit.js';

const username = perRequesterUser(alice);
const iso = (ms: number) => new Date(ms).toISOString();

describe('renew', () => {
  it('moves the grant’s expiry and rolls deleteAfterDate forward with one PATCH', async () => {
    const h = harness();
    await h.grant();
    await h.clock.advance(30 * 60_000);
    h.clearCalls();
    const now = h.clock.now();

    const result = await h.renew({ ttlSeconds: 4 * 3600 });

    expect(h.atlas.methods()).toEqual(['databaseUsers.get', 'databaseUsers.update']);
    expect(h.ungatedWrites()).toEqual([]);
    expect(result).toEqual({
      username,
      expiresAt: iso(now + 4 * hourMs),
      deleteAfterDate: iso(now + 4 * hourMs),
    });
    const user = h.atlas.user(projectId, username);
    expect(user?.deleteAfterDate).toBe(atlasIso(now + 4 * hourMs));
    expect(readGrants(user?.labels ?? [])).toEqual([
      {
        key: grantKey('g-1'),
        expiresAtMs: now + 4 * hourMs,
        roles: [{ cluster: clusterName, roleName: 'read', databaseName: 'sales' }],
        integration: integrationKey(integrationId),
        // Renewed now: the record's time moves with it (`GrantRecord.writtenAtMs`).
        writtenAtMs: now,
      },
    ]);
  });

  it('keeps a long grant alive past Atlas’s 7-day window by rolling the clamped date', async () => {
    const h = harness();
    await h.grant({ ttlSeconds: 20 * 24 * 3600 });
    await h.clock.advance(6 * dayMs);
    const now = h.clock.now();

    const result = await h.renew({ ttlSeconds: 14 * 24 * 3600 });

    expect(result.deleteAfterDate).toBe(iso(now + 7 * dayMs - hourMs));
    expect(h.atlas.user(projectId, username)?.deleteAfterDate).toBe(atlasIso(now + 7 * dayMs - hourMs));
  });

  it('applies the policy maximum from now', async () => {
    const h = harness({ policy: { maxGrantTtlMs: 2 * hourMs } });
    await h.grant();
    await expect(h.renew({ ttlSeconds: 3 * 3600 })).rejects.toMatchObject({
      code: 'policy_denied',
      message: expect.stringMatching(/^ttlSeconds: .*POLICY_MAX_GRANT_TTL/),
    });
  });

  // POLICY_MAX_GRANT_TTL may be set far beyond any real need (a bare number of seconds meant as
  // "no limit"): an end no date can represent, or one past year 9999 (written with six digits,
  // which no ISO 8601 date-time reader takes back), is refused naming the field, before any write.
  it.each([
    { name: 'no date can represent', ttlSeconds: Number.MAX_SAFE_INTEGER },
    { name: 'is after year 9999', ttlSeconds: 8_000 * 366 * 24 * 3600 },
  ])('refuses, naming ttlSeconds, an end that $name', async ({ ttlSeconds }) => {
    const h = harness({ policy: { maxGrantTtlMs: Number.POSITIVE_INFINITY } });
    await h.grant();
    h.clearCalls();

    await expect(h.renew({ ttlSeconds })).rejects.toMatchObject({
      code: 'invalid_request',
      message:
        'ttlSeconds: the grant would end after 9999-12-31T23:59:59.999Z, the latest end a grant can have',
    });
    expect(h.atlas.methods()).toEqual([]);
  });

  it('re-checks the grant’s roles against a policy that tightened since', async () => {
    const h = harness({ policy: { allowedRoles: ['readWrite'] } });
    await h.grant({ access: [{ cluster: clusterName, role: 'readWrite', database: 'sales' }] });
    const strict = harness({ policy: { allowedRoles: ['read'] } });
    const user = h.atlas.user(projectId, username);
    if (user) strict.atlas.addUser(projectId, user);

    await expect(strict.renew()).rejects.toMatchObject({ code: 'policy_denied' });
    expect(strict.atlas.callsTo('databaseUsers.update')).toEqual([]);
  });

  it('re-checks the privileges of an actions grant against a policy that tightened since', async () => {
    const h = harness({ policy: { allowAdminRoles: true } });
    const access = [{ cluster: clusterName, actions: ['SERVER_STATUS', 'FIND'], database: 'sales' }];
    await h.grant({ access });
    const strict = harness({ policy: { allowAdminRoles: false } });
    // The same project under the tightened policy: the connector's role first, then the user holding it.
    for (const role of h.atlas.customRolesIn(projectId)) strict.atlas.addCustomRole(projectId, role);
    const user = h.atlas.user(projectId, username);
    if (user) strict.atlas.addUser(projectId, user);

    await expect(strict.renew()).rejects.toMatchObject({
      code: 'policy_denied',
      message: expect.stringMatching(/^grantId\.actions\[\d\]: SERVER_STATUS is not a data-plane action/),
    });
    expect(strict.atlas.callsTo('databaseUsers.update')).toEqual([]);
    // The same grant renews under the policy it was made under.
    await expect(h.renew()).resolves.toMatchObject({ username });
  });

  it('refuses an actions grant whose connector role was made to inherit a role the policy denies', async () => {
    const h = harness();
    const access = [{ cluster: clusterName, actions: ['FIND'], database: 'sales' }];
    await h.grant({ access });
    const widened = harness();
    // The same project after someone made the connector's role inherit an admin-class role.
    for (const role of h.atlas.customRolesIn(projectId)) {
      const inheritedRoles = [{ db: 'admin', role: 'readWriteAnyDatabase' }];
      widened.atlas.addCustomRole(projectId, { ...role, inheritedRoles });
    }
    const user = h.atlas.user(projectId, username);
    if (user) widened.atlas.addUser(projectId, user);

    await expect(widened.renew()).rejects.toMatchObject({
      code: 'policy_denied',
      message: expect.stringMatching(
        /^grantId\.inheritedRoles\[0\]: readWriteAnyDatabase is an admin-class role/,
      ) as unknown,
    });
    expect(widened.atlas.callsTo('databaseUsers.update')).toEqual([]);
  });

  it('rejects an unknown or expired grant as invalid_request', async () => {
    const h = harness();
    await expect(h.renew()).rejects.toMatchObject({
      code: 'invalid_request',
      message: `grantId: grant g-1 is not active on user ${username} in project ${projectId}`,
    });
    await h.grant({ ttlSeconds: 60 });
    await h.grant({ grantId: 'g-2', ttlSeconds: 3600 });
    await h.clock.advance(120_000);
    await expect(h.renew()).rejects.toMatchObject({ code: 'invalid_request' });
  });

  // The grant was made on Cluster0; the integration's clusterName has since moved to Analytics.
  // The holder is found by its labels, but its grant is no longer one this integration may give.
  it('answers a renew keyed by the user that held a grant revoked since as an inactive grant', async () => {
    const before = harness();
    await before.grant();
    await before.revoke();
    // After a switch to per-grant, keyed by the per-requester user the grant's result named.
    const h = harness({ config: { userStrategy: 'per-grant' } });
    for (const user of before.atlas.usersIn(projectId)) h.atlas.addUser(projectId, user);
    h.clearCalls();
    const ctx = { ...h.context().ctx, resourceKey: resourceKeyFor(projectId, username) };

    await expect(h.renew({}, ctx)).rejects.toMatchObject({
      code: 'invalid_request',
      message: `grantId: grant g-1 is not active on user ${username} in project ${projectId}`,
    });
    expect(h.atlas.methods().filter((m) => /\.(create|update|delete)$/.test(m))).toEqual([]);
  });

  it('refuses a grant on a cluster that is no longer the integration’s (clusterName changed)', async () => {
    const h = harness();
    await h.grant();
    const before = h.atlas.user(projectId, username);
    const moved = h.through(integrationId, { clusterName: analyticsCluster });
    h.clearCalls();

    await expect(moved.renew({ ttlSeconds: 4 * 3600 })).rejects.toMatchObject({
      code: 'invalid_request',
      message: `grantId: grant g-1 names cluster ${clusterName}, which is not this integration's; it grants access to cluster ${analyticsCluster} only`,
    });
    expect(h.atlas.callsTo('databaseUsers.update')).toEqual([]);
    expect(h.atlas.user(projectId, username)?.labels).toEqual(before?.labels);
    expect(h.atlas.user(projectId, username)?.deleteAfterDate).toBe(before?.deleteAfterDate);
  });

  /**
   * Atlas refuses to delete a custom role a user holds, so an operator took the grant's role off
   * the user and then deleted it. The renew cannot give it back (a write naming it is refused,
   * 400 ATLAS_INVALID_ROLE, and the role is not the connector's to recreate): it is refused with
   * a non-retryable error naming the role, before any write.
   */
  it.each([
    {
      name: 'a project custom role',
      access: { cluster: clusterName, role: 'analyst' },
      roleName: 'analyst',
    },
    {
      name: 'a connector role',
      access: { cluster: clusterName, actions: ['FIND'], database: 'sales' },
      roleName: undefined,
    },
  ])('refuses, naming it, to renew a grant whose own $name was deleted', async ({ access, roleName }) => {
    const h = harness();
    h.atlas.addCustomRole(projectId, {
      roleName: 'analyst',
      actions: [{ action: 'FIND', resources: [{ db: 'sales', collection: '' }] }],
      inheritedRoles: [],
    });
    await h.grant({ access: [access] });
    const user = h.atlas.user(projectId, username);
    if (user === undefined) throw new Error('the grant made no user');
    const gone = roleName ?? user.roles[0]?.roleName ?? '';
    h.atlas.addUser(projectId, { ...user, roles: [] });
    h.atlas.removeCustomRole(projectId, gone);
    h.clearCalls();

    await expect(h.renew({ ttlSeconds: 4 * 3600 })).rejects.toMatchObject({
      code: 'invalid_request',
      retryable: false,
      message: `grantId: grant g-1's custom role ${gone}@admin is no longer defined in project ${projectId} (deleted outside the connector); a renew cannot give it back: request the access again`,
    });
    expect(h.atlas.callsTo('databaseUsers.update')).toEqual([]);
  });

  it('renews a per-grant user', async () => {
    const h = harness({ config: { userStrategy: 'per-grant' } });
    await h.grant();
    const result = await h.renew();
    expect(result.username).toBe(usernameFor('per-grant', alice, 'g-1'));
  });

  it.each([
    { from: 'per-requester', holder: username },
    { from: 'per-grant', holder: usernameFor('per-grant', alice, 'g-1') },
  ] as const)(
    'renews on the $from user holding the grant after userStrategy changed',
    async ({ from, holder }) => {
      const before = harness({ config: { userStrategy: from } });
      await before.grant();
      const to = from === 'per-grant' ? 'per-requester' : 'per-grant';
      const h = harness({ config: { userStrategy: to } });
      for (const user of before.atlas.usersIn(projectId)) h.atlas.addUser(projectId, user);
      const now = h.clock.now();

      const result = await h.renew({ ttlSeconds: 4 * 3600 });

      expect(result).toMatchObject({ username: holder, expiresAt: iso(now + 4 * hourMs) });
      const user = h.atlas.user(projectId, holder);
      expect(readGrants(user?.labels ?? []).map((g) => g.expiresAtMs)).toEqual([now + 4 * hourMs]);
      expect(labelValue(user?.labels, labelKeys.strategy)).toBe(from);
      expect(h.atlas.usersIn(projectId).map((u) => u.username)).toEqual([holder]);
    },
  );
});
