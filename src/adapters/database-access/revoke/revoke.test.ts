import { describe, expect, it } from 'vitest';
import type { DatabaseUser, KeyValue } from '../../../atlas/index.js';
import {
  alice,
  bob,
  clusterName,
  dayMs,
  harness,
  hourMs,
  perRequesterUser,
  projectId,
  type HarnessOptions,
  type KindConfigOverrides,
} from '../../../../test/kits/grant-test-kit.js';
import {
  grantKey,
  labelKeys,
  labelValue,
  readGrants,
  resourceKeyFor,
  usernameFor,
  type UserStrategy,
} from '../model/user-model.js';

const username = perRequesterUser(alice);
const perGrantUser = (grantId: string) => usernameFor('per-grant', alice, grantId);
const iso = (ms: number) => new Date(ms).toISOString();
const relabel = (labels: readonly KeyValue[], key: string, value: string) =>
  labels.map((label) => (label.key === key ? { key, value } : label));
const readSales = { cluster: clusterName, role: 'read', database: 'sales' };
const writeOrders = { cluster: clusterName, role: 'readWrite', database: 'orders' };

describe('per-requester revoke', () => {
  it('grant → APPLIED → revoke leaves the user role-less, scoped, labelled and due for cleanup', async () => {
    const h = harness();
    await h.grant();
    h.atlas.setKnobs({ propagationDelayMs: 50 }); // two polls PENDING: the learned 0 ms, then 25 ms steps
    h.clearCalls();
    const now = h.clock.now();

    const result = await h.revoke();

    expect(h.atlas.methods()).toEqual([
      'databaseUsers.get',
      'databaseUsers.update',
      ...Array<string>(3).fill('clusters.status'),
    ]);
    expect(result).toEqual({
      outcome: 'revoked',
      username,
      removedRoles: [{ roleName: 'read', databaseName: 'sales' }],
      remainingRoles: [],
      deleteAfterDate: iso(now + dayMs),
    });
    const user = h.atlas.user(projectId, username);
    expect(user?.roles).toEqual([]);
    expect(user?.scopes).toEqual([{ name: clusterName, type: 'CLUSTER' }]);
    expect(readGrants(user?.labels ?? [])).toEqual([]);
    expect(labelValue(user?.labels, labelKeys.lastRevokedAt)).toBe(iso(now));
    expect(labelValue(user?.labels, labelKeys.managedBy)).toBe('atlas-jit-connector');
    expect(h.atlas.calls.every((call) => call.signalled)).toBe(true);
    expect(h.ungatedWrites()).toEqual([]);
  });

  it('keeps a role another active grant still needs', async () => {
    const h = harness();
    await h.grant({ access: [readSales, writeOrders] });
    await h.grant({ grantId: 'g-2', access: [readSales], ttlSeconds: 3 * 3600 });

    const result = await h.revoke();

    expect(result).toMatchObject({
      outcome: 'revoked',
      removedRoles: [{ roleName: 'readWrite', databaseName: 'orders' }],
      remainingRoles: [{ roleName: 'read', databaseName: 'sales' }],
      deleteAfterDate: iso(h.clock.now() + 3 * hourMs),
    });
    expect(h.atlas.user(projectId, username)?.roles).toEqual([{ roleName: 'read', databaseName: 'sales' }]);
    expect(readGrants(h.atlas.user(projectId, username)?.labels ?? []).map((g) => g.key)).toEqual([
      grantKey('g-2'),
    ]);
  });

  it('is an outcome, not a failure, when the grant or the user is already gone', async () => {
    const h = harness();
    expect(await h.revoke()).toEqual({ outcome: 'already_revoked', username });
    await h.grant();
    await h.revoke();
    h.clearCalls();

    expect(await h.revoke()).toEqual({ outcome: 'already_revoked', username });
    // The user is still there: its clusters are read once, in case an earlier attempt's write is pending.
    expect(h.atlas.methods()).toEqual(['databaseUsers.get', 'databaseUsers.list', 'clusters.status']);
  });

  it("is not failed by another grant's record that cannot be read", async () => {
    // A record that is not valid percent-encoding (a chunk lost, a hand edit) is skipped like any
    // malformed one: the requester's other grants can still be revoked.
    const h = harness();
    await h.grant({ access: [readSales] });
    await h.grant({ grantId: 'g-2', access: [{ ...writeOrders, collection: 'items' }] });
    const user = h.atlas.user(projectId, username);
    const g2 = `${labelKeys.grantPrefix}${grantKey('g-2')}`;
    const labels = (user?.labels ?? []).map((label) =>
      label.key === g2 ? { ...label, value: label.value.replace('/items', '/items%E0%A4%A') } : label,
    );
    h.atlas.addUser(projectId, {
      ...user,
      username,
      databaseName: 'admin',
      roles: user?.roles ?? [],
      labels,
    });

    expect(await h.revoke()).toMatchObject({
      outcome: 'revoked',
      removedRoles: expect.arrayContaining([{ roleName: 'read', databaseName: 'sales' }]) as unknown,
    });
    const left = readGrants(h.atlas.user(projectId, username)?.labels ?? []);
    expect(left.map((grant) => grant.key)).not.toContain(grantKey('g-1'));
  });

  it('finds the grant by its labels when the revoke names the requester differently than the grant did', async () => {
    const h = harness();
    await h.grant();

    const result = await h.revoke({ requester: { id: alice.id, name: 'Alice A.' } });

    expect(result).toMatchObject({
      outcome: 'revoked',
      username,
      removedRoles: [{ roleName: 'read', databaseName: 'sales' }],
    });
    expect(h.atlas.user(projectId, username)?.roles).toEqual([]);
  });

  it('works after the grant expired', async () => {
    const h = harness();
    await h.grant({ access: [readSales], ttlSeconds: 3 * 3600 });
    await h.grant({ grantId: 'g-2', access: [writeOrders], ttlSeconds: 600 });
    await h.clock.advance(3_600_000);

    const result = await h.revoke({ grantId: 'g-2' });

    expect(result).toMatchObject({
      outcome: 'revoked',
      removedRoles: [{ roleName: 'readWrite', databaseName: 'orders' }],
    });
    expect(h.atlas.user(projectId, username)?.roles).toEqual([{ roleName: 'read', databaseName: 'sales' }]);
  });

  it('answers already_revoked when Atlas deletes the user at its deleteAfterDate between the read and the write', async () => {
    // The control plane revokes at the grant's expiry, which is the user's deleteAfterDate.
    const h = harness();
    await h.grant({ ttlSeconds: 3600 });
    await h.clock.advance(hourMs - 1_000);
    h.atlas.beforeNext('databaseUsers.update', () => h.clock.advance(2_000));

    expect(await h.revoke()).toEqual({ outcome: 'already_revoked', username });
    expect(h.atlas.usersIn(projectId)).toEqual([]);
  });

  it('fails retryable, not for good, when 429s hold its write back past the deleteAfterDate it carries', async () => {
    // The other grant ends within a minute, so the write carries now + 1 min; three token-bucket
    // 429s asking for 25 s each (within the client's 2-minute budget) deliver it after that.
    const h = harness();
    await h.grant();
    await h.grant({ grantId: 'g-2', access: [writeOrders], ttlSeconds: 30 });
    const throttled = { error: 429, errorCode: 'RATE_LIMITED_TOKEN_BUCKET', parameters: ['users', 25] };
    const operationId = 'updateGroupDatabaseUser';
    h.atlas.sim.hooks.answerNext({ operationId, status: 429, body: throttled, times: 3 });

    await expect(h.revoke()).rejects.toMatchObject({ code: 'timeout', retryable: true });
    expect(h.atlas.user(projectId, username)?.roles).toContainEqual({
      roleName: 'read',
      databaseName: 'sales',
    });

    expect(await h.revoke()).toMatchObject({ outcome: 'revoked', remainingRoles: [] });
    expect(h.atlas.user(projectId, username)?.roles).toEqual([]);
  });

  it('deletes the user at once when userCleanupDays is 0', async () => {
    const h = harness({ config: { userCleanupDays: 0 } });
    await h.grant();

    const result = await h.revoke();

    expect(result).toMatchObject({ outcome: 'revoked', userDeleted: true, remainingRoles: [] });
    expect(h.atlas.usersIn(projectId)).toEqual([]);
  });

  it('deletes the user when Atlas refuses to leave it without roles', async () => {
    const h = harness();
    await h.grant();
    h.atlas.setKnobs({ databaseUserEmptyRoles: 'refuse' });

    const result = await h.revoke();

    expect(h.atlas.methods().slice(-3)).toEqual([
      'databaseUsers.update',
      'databaseUsers.delete',
      'clusters.status',
    ]);
    expect(result).toMatchObject({ outcome: 'revoked', userDeleted: true });
    expect(h.atlas.usersIn(projectId)).toEqual([]);
    expect(h.ungatedWrites()).toEqual([]);
  });

  it('is not blocked by the local policy: taking access away must always work', async () => {
    const h = harness();
    await h.grant();
    const strict = harness({
      policy: { allowedProjectIds: ['ffffffffffffffffffffffff'], allowedRoles: ['none'] },
    });
    strict.atlas.addUser(
      projectId,
      h.atlas.user(projectId, username) ?? { username, databaseName: 'admin', roles: [] },
    );

    await expect(strict.revoke()).resolves.toMatchObject({ outcome: 'revoked' });
  });

  it('never touches a same-named user the connector does not manage', async () => {
    const h = harness();
    h.atlas.addUser(projectId, {
      username,
      databaseName: 'admin',
      roles: [{ roleName: 'read', databaseName: 'x' }],
    });

    await expect(h.revoke()).rejects.toMatchObject({ code: 'conflict' });
    expect(h.atlas.user(projectId, username)?.roles).toEqual([{ roleName: 'read', databaseName: 'x' }]);
  });

  it('waits for the revoke to apply and reports not_ready when it does not', async () => {
    const h = harness({ readyTimeoutMs: 2_000 });
    await h.grant();
    h.atlas.neverApplied = true;

    await expect(h.revoke()).rejects.toMatchObject({ code: 'not_ready', retryable: true });
  });

  it('answers the redelivery of a revoke that ended not_ready only once the clusters applied it', async () => {
    const h = harness({ readyTimeoutMs: 2_000 });
    await h.grant();
    h.atlas.neverApplied = true;
    await expect(h.revoke()).rejects.toMatchObject({ code: 'not_ready' });

    // The record is gone, but the clusters still honour the role: not done yet.
    await expect(h.revoke()).rejects.toMatchObject({ code: 'not_ready', retryable: true });

    h.atlas.neverApplied = false;
    h.clearCalls();
    expect(await h.revoke()).toEqual({ outcome: 'already_revoked', username });
    expect(h.atlas.methods()).toEqual(['databaseUsers.get', 'databaseUsers.list', 'clusters.status']);
  });
});

/** Grants made under one `userStrategy`, then the same Atlas users seen by the integration configured with the other. */
async function afterStrategySwitch(
  from: UserStrategy,
  grants: readonly Record<string, unknown>[],
  config: KindConfigOverrides = {},
  options: Omit<HarnessOptions, 'config'> = {},
) {
  const before = harness({ config: { userStrategy: from } });
  for (const grant of grants) await before.grant(grant);
  const after = harness({
    ...options,
    config: { ...config, userStrategy: from === 'per-grant' ? 'per-requester' : 'per-grant' },
  });
  for (const user of before.atlas.usersIn(projectId)) after.atlas.addUser(projectId, user);
  return after;
}

describe('revoke after the integration changed userStrategy', () => {
  it('takes the grant from the per-requester user holding it and keeps what another grant needs', async () => {
    const h = await afterStrategySwitch('per-requester', [
      { access: [readSales, writeOrders] },
      { grantId: 'g-2', access: [readSales], ttlSeconds: 3 * 3600 },
    ]);

    const result = await h.revoke();

    expect(result).toMatchObject({
      outcome: 'revoked',
      username,
      removedRoles: [{ roleName: 'readWrite', databaseName: 'orders' }],
      remainingRoles: [{ roleName: 'read', databaseName: 'sales' }],
    });
    const user = h.atlas.user(projectId, username);
    expect(user?.roles).toEqual([{ roleName: 'read', databaseName: 'sales' }]);
    expect(readGrants(user?.labels ?? []).map((g) => g.key)).toEqual([grantKey('g-2')]);
    expect(labelValue(user?.labels, labelKeys.strategy)).toBe('per-requester');
    expect(h.ungatedWrites()).toEqual([]);
  });

  it('keeps the grant off the per-requester user when a write from a stale read puts it back meanwhile', async () => {
    // Keyed by the per-grant name the control plane computes now: the holder is outside the job's
    // lease, so a job on another of its grants (keyed by its own per-grant name) may run at once
    // and write back the label set it read before this revoke, grant record and roles included.
    const h = await afterStrategySwitch('per-requester', [
      { access: [readSales, writeOrders] },
      { grantId: 'g-2', access: [readSales], ttlSeconds: 3 * 3600 },
    ]);
    let stale: DatabaseUser | undefined;
    h.atlas.beforeNext('databaseUsers.update', () => {
      stale = h.atlas.user(projectId, username);
    });
    h.atlas.beforeNext('clusters.status', () => stale && h.atlas.addUser(projectId, stale));
    const ctx = { ...h.context().ctx, resourceKey: resourceKeyFor(projectId, perGrantUser('g-1')) };

    const result = await h.revoke({}, ctx);

    expect(result).toMatchObject({ outcome: 'revoked', username });
    const user = h.atlas.user(projectId, username);
    expect(readGrants(user?.labels ?? []).map((g) => g.key)).toEqual([grantKey('g-2')]);
    expect(user?.roles).toEqual([{ roleName: 'read', databaseName: 'sales' }]);
    expect(h.ungatedWrites()).toEqual([]);
  });

  it('deletes the per-grant user holding the grant', async () => {
    const h = await afterStrategySwitch('per-grant', [{}, { grantId: 'g-2' }]);

    const result = await h.revoke();

    expect(result).toMatchObject({ outcome: 'revoked', username: perGrantUser('g-1'), userDeleted: true });
    expect(h.atlas.usersIn(projectId).map((u) => u.username)).toEqual([perGrantUser('g-2')]);
  });

  it('deletes the per-requester user at once when its last grant goes and userCleanupDays is 0', async () => {
    const h = await afterStrategySwitch('per-requester', [{}], { userCleanupDays: 0 });

    expect(await h.revoke()).toMatchObject({ outcome: 'revoked', username, userDeleted: true });
    expect(h.atlas.usersIn(projectId)).toEqual([]);
  });

  it('answers the redelivery of a revoke keyed by the user that held the grant once its clusters applied', async () => {
    // Keyed by the per-requester user the grant's result named (accepted: it held the grant). The
    // first attempt takes the grant off and ends not_ready; then nothing holds the grant, and the
    // redelivery answers for the user its key names, not invalid_job (the access is gone).
    const h = await afterStrategySwitch('per-requester', [{}], {}, { readyTimeoutMs: 2_000 });
    const keyedByHolder = () => ({ ...h.context().ctx, resourceKey: resourceKeyFor(projectId, username) });
    h.atlas.neverApplied = true;
    await expect(h.revoke({}, keyedByHolder())).rejects.toMatchObject({ code: 'not_ready' });

    // The record is gone, but the clusters still honour the role: not done yet.
    await expect(h.revoke({}, keyedByHolder())).rejects.toMatchObject({ code: 'not_ready', retryable: true });

    h.atlas.neverApplied = false;
    h.clearCalls();
    expect(await h.revoke({}, keyedByHolder())).toEqual({ outcome: 'already_revoked', username });
    expect(h.atlas.methods()).toEqual([
      'databaseUsers.get',
      'databaseUsers.list',
      'databaseUsers.get',
      'clusters.status',
    ]);
  });

  it.each([
    { name: 'not managed by the connector', tweak: (labels: KeyValue[]) => labels.slice(1) },
    {
      name: "another requester's",
      tweak: (labels: KeyValue[]) => relabel(labels, labelKeys.requester, bob.id),
    },
    {
      name: 'made through another integration',
      tweak: (labels: KeyValue[]) => relabel(labels, labelKeys.integration, 'int-2'),
    },
  ])('still refuses a revoke of a grant nothing holds keyed by a user $name', async ({ tweak }) => {
    const h = await afterStrategySwitch('per-requester', [{}]);
    const keyed = () => ({ ...h.context().ctx, resourceKey: resourceKeyFor(projectId, username) });
    await h.revoke({}, keyed());
    const user = h.atlas.user(projectId, username);
    h.atlas.addUser(projectId, {
      ...user,
      username,
      databaseName: 'admin',
      roles: [],
      labels: tweak(user?.labels ?? []),
    });
    h.clearCalls();

    await expect(h.revoke({}, keyed())).rejects.toMatchObject({ code: 'invalid_job', retryable: false });
    expect(h.atlas.methods().filter((m) => /\.(create|update|delete)$/.test(m))).toEqual([]);
  });
});
