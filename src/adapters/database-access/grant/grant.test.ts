import { describe, expect, it } from 'vitest';
import type { GrantResult } from './grant.js';
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
  type Harness,
} from '../../../../test/kits/grant-test-kit.js';
import {
  buildLabels,
  grantKey,
  integrationKey,
  labelKeys,
  labelValue,
  readGrants,
} from '../model/user-model.js';

const username = perRequesterUser(alice);
const iso = (ms: number) => new Date(ms).toISOString();
const readSales = { cluster: clusterName, role: 'read', database: 'sales' };
const writeOrders = { cluster: clusterName, role: 'readWrite', database: 'orders' };

function passwordOf(result: GrantResult): string | undefined {
  return 'password' in result ? result.password : undefined;
}

function labelsOf(h: Harness): { key: string; value: string }[] {
  return h.atlas.user(projectId, username)?.labels ?? [];
}

describe('per-requester grant', () => {
  it('creates a scoped, labelled, temporary user and reports success only once the cluster applied it', async () => {
    const h = harness();
    h.atlas.setKnobs({ propagationDelayMs: 300 }); // three polls PENDING (cold: every 100 ms)
    const now = h.clock.now();

    const result = await h.grant();

    expect(h.atlas.methods()).toEqual([
      'clusters.get',
      'databaseUsers.get',
      'databaseUsers.create',
      ...Array<string>(4).fill('clusters.status'),
    ]);
    const password = h.atlas.passwordOf(projectId, username) ?? '';
    expect(password.length).toBeGreaterThanOrEqual(20);
    const record = {
      key: grantKey('g-1'),
      expiresAtMs: now + hourMs,
      roles: [{ cluster: clusterName, roleName: 'read', databaseName: 'sales' }],
      integration: integrationKey(integrationId),
      // When it was written: a sweep claimed before then does not end it.
      writtenAtMs: now,
    };
    expect(h.atlas.callsTo('databaseUsers.create')).toEqual([
      [
        projectId,
        {
          groupId: projectId,
          username,
          databaseName: 'admin',
          password,
          description: 'JIT access for alice@example.com (atlas-jit-connector)',
          roles: [{ roleName: 'read', databaseName: 'sales' }],
          scopes: [{ name: clusterName, type: 'CLUSTER' }],
          labels: buildLabels({
            integrationId,
            requesterId: alice.id,
            strategy: 'per-requester',
            grants: [record],
            passwordRotatedAt: iso(now),
            passwordGrant: record.key,
          }),
          deleteAfterDate: iso(now + hourMs),
        },
      ],
    ]);
    expect(result).toEqual({
      username,
      password,
      connectionString: 'mongodb+srv://cluster0.ab1cd.mongodb.net',
      connectionStrings: { [clusterName]: 'mongodb+srv://cluster0.ab1cd.mongodb.net' },
      roles: [{ roleName: 'read', databaseName: 'sales' }],
      expiresAt: iso(now + hourMs),
      deleteAfterDate: iso(now + hourMs),
    });
    expect(h.secrets).toEqual([password]);
    expect(h.atlas.calls.every((call) => call.signalled)).toBe(true);
    expect(h.ungatedWrites()).toEqual([]);
    expect(h.logs.text()).not.toContain(password);
  });

  it('reads the cluster again once the one-minute cache has expired', async () => {
    const h = harness();
    await h.grant();
    await h.grant({ grantId: 'g-2' });
    expect(h.atlas.callsTo('clusters.get')).toHaveLength(1);
    await h.clock.advance(60_000);
    await h.grant({ grantId: 'g-3' });
    expect(h.atlas.callsTo('clusters.get')).toHaveLength(2);
  });

  it('merges a second grant into the same user with one PATCH and keeps the password', async () => {
    const h = harness();
    const first = await h.grant();
    h.clearCalls();

    const second = await h.grant({ grantId: 'g-2', access: [writeOrders, readSales], ttlSeconds: 7200 });

    expect(h.atlas.methods()).toEqual([
      // the cluster was read by the first grant, less than a minute ago
      'databaseUsers.get',
      'databaseUsers.update',
      'clusters.status',
    ]);
    expect(second).toMatchObject({
      username,
      passwordUnchanged: true,
      deleteAfterDate: iso(h.clock.now() + 2 * hourMs),
    });
    expect(passwordOf(second)).toBeUndefined();
    expect(h.atlas.passwordOf(projectId, username)).toBe(passwordOf(first));
    const update = h.atlas.callsTo('databaseUsers.update')[0]?.[3];
    expect(update).not.toHaveProperty('password');
    expect(h.atlas.user(projectId, username)?.roles).toEqual([
      { roleName: 'read', databaseName: 'sales' },
      { roleName: 'readWrite', databaseName: 'orders' },
    ]);
    expect(readGrants(labelsOf(h)).map((g) => g.key)).toEqual([grantKey('g-1'), grantKey('g-2')].sort());
    expect(h.secrets).toHaveLength(1);
    expect(h.ungatedWrites()).toEqual([]);
  });

  it('drops expired grants and their roles when the next grant is written', async () => {
    const h = harness();
    const first = await h.grant({ grantId: 'g-0', ttlSeconds: 3 * 3600 });
    await h.grant({ grantId: 'g-1', access: [writeOrders], ttlSeconds: 600 });
    await h.clock.advance(20 * 60_000);

    const result = await h.grant({ grantId: 'g-2' });

    expect(h.atlas.user(projectId, username)?.roles).toEqual([{ roleName: 'read', databaseName: 'sales' }]);
    expect(readGrants(labelsOf(h)).map((g) => g.key)).toEqual([grantKey('g-0'), grantKey('g-2')].sort());
    expect(result).toMatchObject({ passwordUnchanged: true });
    expect(h.atlas.passwordOf(projectId, username)).toBe(passwordOf(first));
  });

  it('issues a new password to a kept user that has no active grant any more', async () => {
    const h = harness();
    const first = await h.grant({ grantId: 'g-0' });
    await h.revoke({ grantId: 'g-0' });
    h.clearCalls();

    const result = await h.grant({ grantId: 'g-2' });

    expect(h.atlas.methods()).toContain('databaseUsers.update');
    expect(passwordOf(result)).toBe(h.atlas.passwordOf(projectId, username));
    expect(passwordOf(result)).not.toBe(passwordOf(first));
  });

  it('converges when the same grant is redelivered, issuing a new password since no other grant is active', async () => {
    const h = harness();
    const first = await h.grant();
    const before = h.atlas.user(projectId, username);

    const again = await h.grant();

    expect(h.atlas.usersIn(projectId)).toHaveLength(1);
    const after = h.atlas.user(projectId, username);
    expect(after?.roles).toEqual(before?.roles);
    expect(readGrants(after?.labels ?? [])).toEqual(readGrants(before?.labels ?? []));
    expect(passwordOf(again)).toBe(h.atlas.passwordOf(projectId, username));
    expect(passwordOf(again)).not.toBe(passwordOf(first));
  });

  it('keeps the password when a grant that did not set it is redelivered while another grant is active', async () => {
    const h = harness();
    const first = await h.grant();
    await h.grant({ grantId: 'g-2', access: [writeOrders] });

    const redelivered = await h.grant({ grantId: 'g-2', access: [writeOrders] });

    expect(redelivered).toMatchObject({ passwordUnchanged: true });
    expect(h.atlas.passwordOf(projectId, username)).toBe(passwordOf(first));
  });

  it('re-issues the password when the grant that set it is redelivered, even with another grant active', async () => {
    const h = harness();
    await h.grant();
    await h.grant({ grantId: 'g-2', access: [writeOrders] });

    const redelivered = await h.grant();

    expect(passwordOf(redelivered)).toBe(h.atlas.passwordOf(projectId, username));
    expect(labelValue(labelsOf(h), labelKeys.passwordGrant)).toBe(grantKey('g-1'));
  });

  it('rotates the password at the next grant once it is older than credentialRotationDays', async () => {
    const h = harness({ config: { credentialRotationDays: 2 } });
    const first = await h.grant({ ttlSeconds: 10 * 24 * 3600 });
    await h.clock.advance(dayMs);
    const unchanged = await h.grant({ grantId: 'g-2' });
    await h.clock.advance(dayMs);

    const rotated = await h.grant({ grantId: 'g-3' });

    expect(unchanged).toMatchObject({ passwordUnchanged: true });
    expect(passwordOf(rotated)).toBe(h.atlas.passwordOf(projectId, username));
    expect(passwordOf(rotated)).not.toBe(passwordOf(first));
    expect(labelValue(labelsOf(h), labelKeys.passwordRotatedAt)).toBe(iso(h.clock.now()));
  });

  it('treats a 409 on create (a racing attempt made the user) as an update of that user', async () => {
    const h = harness();
    const racer = harness();
    await racer.grant({ grantId: 'g-0', access: [writeOrders] });
    const raced = racer.atlas.user(projectId, username);
    h.atlas.beforeNext('databaseUsers.create', () => {
      if (raced) h.atlas.addUser(projectId, raced, racer.atlas.passwordOf(projectId, username));
    });

    const result = await h.grant();

    expect(h.atlas.methods()).toContain('databaseUsers.update');
    expect(h.atlas.usersIn(projectId)).toHaveLength(1);
    expect(h.atlas.user(projectId, username)?.roles).toEqual([
      { roleName: 'read', databaseName: 'sales' },
      { roleName: 'readWrite', databaseName: 'orders' },
    ]);
    expect(result).toMatchObject({ passwordUnchanged: true });
    expect(h.ungatedWrites()).toEqual([]);
  });

  it('creates the user again when Atlas deletes it at its deleteAfterDate between the read and the write', async () => {
    // The requester asks again as their last grant ends, which is the user's deleteAfterDate.
    const h = harness();
    const first = await h.grant({ grantId: 'g-0', ttlSeconds: 3600 });
    await h.clock.advance(hourMs - 1_000);
    h.atlas.beforeNext('databaseUsers.update', () => h.clock.advance(2_000));

    const result = await h.grant({ grantId: 'g-2', access: [writeOrders] });

    const user = h.atlas.user(projectId, username);
    expect(user?.roles).toEqual([{ roleName: 'readWrite', databaseName: 'orders' }]);
    expect(readGrants(user?.labels ?? []).map((g) => g.key)).toEqual([grantKey('g-2')]);
    expect(passwordOf(result)).toBe(h.atlas.passwordOf(projectId, username));
    expect(passwordOf(result)).not.toBe(passwordOf(first));
    expect(h.ungatedWrites()).toEqual([]);
  });

  it('leaves nothing half-granted when the lease is lost after the write: the redelivery converges', async () => {
    const h = harness();
    h.atlas.setKnobs({ propagationDelayMs: 200 }); // two polls PENDING (cold: every 100 ms)
    const lost = h.context(1);

    await expect(h.grant({}, lost.ctx)).rejects.toMatchObject({ code: 'cancelled' });
    expect(lost.sideEffects()).toBe(1);
    const redelivered = await h.grant();

    const clean = harness();
    await clean.grant();
    const user = h.atlas.user(projectId, username);
    const reference = clean.atlas.user(projectId, username);
    expect(h.atlas.usersIn(projectId)).toHaveLength(1);
    expect({ ...user, labels: readGrants(user?.labels ?? []) }).toEqual({
      ...reference,
      labels: readGrants(reference?.labels ?? []),
    });
    expect(passwordOf(redelivered)).toBe(h.atlas.passwordOf(projectId, username));
  });

  it('stops before a write once the lease is lost', async () => {
    const h = harness();
    const { ctx, controller } = h.context();
    controller.abort(new Error('lease lost'));

    await expect(h.grant({}, ctx)).rejects.toMatchObject({ code: 'cancelled' });
    expect(h.atlas.usersIn(projectId)).toEqual([]);
  });

  it('scopes the user to every cluster its active grants name', async () => {
    const h = harness({ kind: 'atlas-multi-project', config: { projectIds: [projectId] } });
    await h.grant({
      projectId,
      access: [readSales, { cluster: analyticsCluster, role: 'read', database: 'events' }],
    });

    expect(h.atlas.user(projectId, perRequesterUser(alice, 'atlas-multi-project'))?.scopes).toEqual([
      { name: analyticsCluster, type: 'CLUSTER' },
      { name: clusterName, type: 'CLUSTER' },
    ]);
    expect(
      h.atlas
        .callsTo('clusters.status')
        .map(([, cluster]) => cluster)
        .sort(),
    ).toEqual([analyticsCluster, clusterName]);
  });

  it('clamps deleteAfterDate to 7 days minus the margin for a longer grant', async () => {
    const h = harness();
    const now = h.clock.now();

    const result = await h.grant({ ttlSeconds: 10 * 24 * 3600 });

    expect(result.expiresAt).toBe(iso(now + 10 * dayMs));
    expect(result.deleteAfterDate).toBe(iso(now + 7 * dayMs - hourMs));
    expect(readGrants(labelsOf(h))[0]?.expiresAtMs).toBe(now + 10 * dayMs);
  });

  it('echoes customAccessDetails', async () => {
    const h = harness({ config: { customAccessDetails: 'Connect through the bastion at db.internal' } });
    expect(await h.grant()).toMatchObject({
      customAccessDetails: 'Connect through the bastion at db.internal',
    });
  });

  it('refuses to take over a same-named user the connector does not manage', async () => {
    const h = harness();
    h.atlas.addUser(projectId, {
      username,
      databaseName: 'admin',
      roles: [{ roleName: 'atlasAdmin', databaseName: 'admin' }],
    });

    await expect(h.grant()).rejects.toMatchObject({ code: 'conflict' });
    expect(h.atlas.callsTo('databaseUsers.update')).toEqual([]);
  });
});
