import { describe, expect, it } from 'vitest';
import type { AtlasMultiProjectConfig } from '../../atlas-multi-project/atlas-multi-project-config.js';
import {
  dayMs,
  harness,
  hourMs,
  managedUser,
  projectA,
  readSales,
  testConfig,
  multiProjectJob,
  testPolicy,
  ungatedWrites,
  unsignalledCalls,
  writeHr,
  type Harness,
  type UserSpec,
} from '../../../../test/kits/discover-test-kit.js';
import { sweep } from './sweep.js';
import { emptySweepReport, maxUnmanagedListed, sortSweepReport } from './sweep-report.js';
import { maxJsonBodyBytes } from '../../../control-plane/protocol.js';
import { grantKey, labelKeys, labelValue, readGrants, type GrantedRole } from '../model/user-model.js';

const alice = 'jit-alice-example-com-3f9a';

function setup(...users: UserSpec[]): Harness {
  const h = harness();
  h.atlas.addProject(projectA);
  h.atlas.addCluster(projectA, { name: 'Cluster0' }).addCluster(projectA, { name: 'Cluster1' });
  for (const spec of users) h.atlas.addUser(projectA, managedUser(spec, h.clock.now()));
  return h;
}

const run = async (h: Harness, config: AtlasMultiProjectConfig = testConfig()) =>
  sweep(
    await multiProjectJob(config, {}),
    { atlas: h.atlas.client, clock: h.clock, policy: testPolicy() },
    h.ctx,
  );

const roleKeys = (h: Harness, username = alice) =>
  (h.atlas.user(projectA, username)?.roles ?? []).map((r) => `${r.roleName}@${r.databaseName}`).sort();

describe('sweep: managed users', () => {
  it('removes the roles of expired grants and keeps those active grants still need', async () => {
    const h = setup();
    const now = h.clock.now();
    h.atlas.addUser(
      projectA,
      managedUser(
        {
          grants: [
            { id: 'g-old', expiresAtMs: now - hourMs, roles: [readSales] },
            { id: 'g-new', expiresAtMs: now + 2 * hourMs, roles: [writeHr] },
          ],
        },
        now,
      ),
    );
    const result = await run(h);
    expect(roleKeys(h)).toEqual(['readWrite@hr']);
    expect(readGrants(h.atlas.user(projectA, alice)?.labels ?? []).map((g) => g.key)).toEqual([
      grantKey('g-new'),
    ]);
    expect(result.rolesRemoved).toEqual([{ projectId: projectA, username: alice, roles: ['read@sales'] }]);
    expect(result.drift.repaired).toEqual([]);
    expect(ungatedWrites(h.atlas)).toEqual([]);
    expect(unsignalledCalls(h.atlas)).toEqual([]);
  });

  // Only deep discovery's own short-lived users are passed by: a person's user that carries the
  // discovery purpose label (set by hand, or copied) still loses the roles of its ended grants.
  it("sweeps a person's user that merely carries the discovery purpose label", async () => {
    const h = setup();
    const now = h.clock.now();
    const user = managedUser(
      {
        grants: [
          { id: 'g-old', expiresAtMs: now - hourMs, roles: [readSales] },
          { id: 'g-new', expiresAtMs: now + 2 * hourMs, roles: [writeHr] },
        ],
      },
      now,
    );
    h.atlas.addUser(projectA, {
      ...user,
      labels: [...(user.labels ?? []), { key: 'jit-purpose', value: 'discovery' }],
    });
    const result = await run(h);
    expect(roleKeys(h)).toEqual(['readWrite@hr']);
    expect(result.rolesRemoved).toEqual([{ projectId: projectA, username: alice, roles: ['read@sales'] }]);
  });

  it('re-reads each user right before writing and writes nothing when nothing is due', async () => {
    const h = setup({ grants: [{ id: 'g-1', expiresAtMs: Date.UTC(2026, 10, 25), roles: [readSales] }] });
    const result = await run(h);
    expect(h.atlas.methods()).toEqual(['projects.list', 'customDbRoles.list', 'databaseUsers.list']);
    expect(result).toMatchObject({
      projects: 1,
      usersChecked: 1,
      rolesRemoved: [],
      usersDeleted: [],
      errors: [],
    });
    expect(h.sweepFailures).toEqual([0]);
  });

  it('repairs roles and scopes that no grant accounts for, and reports the drift', async () => {
    const h = setup({
      grants: [{ id: 'g-1', expiresAtMs: Date.UTC(2026, 10, 25), roles: [readSales] }],
      roles: [
        { roleName: 'read', databaseName: 'sales' },
        { roleName: 'dbAdmin', databaseName: 'sales' },
      ],
      scopes: [
        { name: 'Cluster0', type: 'CLUSTER' },
        { name: 'Cluster1', type: 'CLUSTER' },
      ],
    });
    const result = await run(h);
    expect(roleKeys(h)).toEqual(['read@sales']);
    expect(h.atlas.user(projectA, alice)?.scopes).toEqual([{ name: 'Cluster0', type: 'CLUSTER' }]);
    expect(result.drift.repaired).toEqual([
      {
        projectId: projectA,
        username: alice,
        unexpectedRoles: ['dbAdmin@sales'],
        missingRoles: [],
        unexpectedScopes: ['Cluster1'],
        missingScopes: [],
        unscoped: false,
      },
    ]);
    expect(h.atlas.methods()).toEqual([
      'projects.list',
      'customDbRoles.list',
      'databaseUsers.list',
      'databaseUsers.get',
      'gate',
      'databaseUsers.update',
    ]);
  });

  it('repairs a user whose grant names one collection without widening its role to the database', async () => {
    const readOrders: GrantedRole = { ...readSales, collectionName: 'orders' };
    const h = setup({
      grants: [{ id: 'g-1', expiresAtMs: Date.UTC(2026, 10, 25), roles: [readOrders] }],
      roles: [
        { roleName: 'read', databaseName: 'sales', collectionName: 'orders' },
        { roleName: 'dbAdmin', databaseName: 'sales' },
      ],
    });
    const result = await run(h);
    expect(h.atlas.user(projectA, alice)?.roles).toEqual([
      { roleName: 'read', databaseName: 'sales', collectionName: 'orders' },
    ]);
    expect(result.drift.repaired).toMatchObject([{ unexpectedRoles: ['dbAdmin@sales'], missingRoles: [] }]);
  });

  it('scopes an unscoped managed user back to the clusters its grants name', async () => {
    const h = setup({
      grants: [{ id: 'g-1', expiresAtMs: Date.UTC(2026, 10, 25), roles: [readSales] }],
      scopes: [],
    });
    const result = await run(h);
    expect(h.atlas.user(projectA, alice)?.scopes).toEqual([{ name: 'Cluster0', type: 'CLUSTER' }]);
    expect(result.drift.repaired[0]).toMatchObject({ unscoped: true });
  });

  it('parks a per-requester user whose last grant ended, and deletes it userCleanupDays later, not before', async () => {
    const h = setup();
    const ended = h.clock.now() - hourMs;
    h.atlas.addUser(
      projectA,
      managedUser({ grants: [{ id: 'g-1', expiresAtMs: ended, roles: [readSales] }] }, h.clock.now()),
    );
    const parked = await run(h);
    const user = h.atlas.user(projectA, alice);
    expect(user?.roles).toEqual([]);
    expect(user?.scopes).toEqual([{ name: 'Cluster0', type: 'CLUSTER' }]);
    expect(labelValue(user?.labels, labelKeys.lastRevokedAt)).toBe(new Date(ended).toISOString());
    expect(readGrants(user?.labels ?? [])).toEqual([]);
    expect(parked.usersDeleted).toEqual([]);
    await h.clock.advance(dayMs - hourMs - 60_000);
    expect((await run(h)).usersDeleted).toEqual([]);
    await h.clock.advance(120_000);
    expect((await run(h)).usersDeleted).toEqual([{ projectId: projectA, username: alice, reason: 'idle' }]);
    expect(h.atlas.user(projectA, alice)).toBeUndefined();
  });

  it('parks an unscoped per-requester user scoped to the clusters its last grant named, never unscoped', async () => {
    const h = setup();
    const ended = h.clock.now() - hourMs;
    h.atlas.addUser(
      projectA,
      managedUser(
        { grants: [{ id: 'g-1', expiresAtMs: ended, roles: [readSales] }], scopes: [] },
        h.clock.now(),
      ),
    );
    await run(h);
    const user = h.atlas.user(projectA, alice);
    expect(user?.roles).toEqual([]);
    expect(user?.scopes).toEqual([{ name: 'Cluster0', type: 'CLUSTER' }]);
  });

  it('honours a longer userCleanupDays', async () => {
    const h = setup({ roles: [], lastRevokedAt: new Date(Date.UTC(2026, 10, 22)).toISOString() });
    expect((await run(h, testConfig({ userCleanupDays: 3 }))).usersDeleted).toEqual([]);
    expect((await run(h, testConfig({ userCleanupDays: 1 }))).usersDeleted).toHaveLength(1);
  });

  it('deletes the user instead when Atlas refuses a user without roles', async () => {
    const h = setup({ grants: [{ id: 'g-1', expiresAtMs: Date.UTC(2026, 10, 24, 11), roles: [readSales] }] });
    h.atlas.setKnobs({ databaseUserEmptyRoles: 'refuse' });
    const result = await run(h);
    expect(result.usersDeleted).toEqual([
      { projectId: projectA, username: alice, reason: 'no-active-grant' },
    ]);
    expect(h.atlas.user(projectA, alice)).toBeUndefined();
    expect(ungatedWrites(h.atlas)).toEqual([]);
  });

  it('deletes a per-grant user once its grant ended and leaves a live one alone', async () => {
    const now = Date.UTC(2026, 10, 24, 12);
    const h = setup(
      {
        username: 'jit-a-g-1',
        strategy: 'per-grant',
        grants: [{ id: 'g-1', expiresAtMs: now - 1, roles: [readSales] }],
      },
      {
        username: 'jit-a-g-2',
        strategy: 'per-grant',
        grants: [{ id: 'g-2', expiresAtMs: now + hourMs, roles: [readSales] }],
      },
    );
    const result = await run(h);
    expect(result.usersDeleted).toEqual([
      { projectId: projectA, username: 'jit-a-g-1', reason: 'grant-ended' },
    ]);
    expect(h.atlas.user(projectA, 'jit-a-g-2')).toBeDefined();
  });

  it('rolls deleteAfterDate forward so a 10-day grant outlives the 7-day limit', async () => {
    const start = Date.UTC(2026, 10, 24, 12);
    const h = setup({
      grants: [{ id: 'g-long', expiresAtMs: start + 10 * dayMs, roles: [readSales] }],
      deleteAfterDate: new Date(start + 7 * dayMs - hourMs).toISOString(),
    });
    const rolled: string[] = [];
    for (let day = 1; day <= 9; day += 1) {
      await h.clock.advance(dayMs);
      rolled.push(...(await run(h)).deleteAfterRolled.map((entry) => entry.to));
      expect(h.atlas.user(projectA, alice), `day ${day}`).toBeDefined();
    }
    expect(rolled).toEqual([
      new Date(start + 9 * dayMs - hourMs).toISOString(),
      new Date(start + 10 * dayMs).toISOString(),
    ]);
  });

  it('reports unmanaged users by name and never touches them', async () => {
    const h = setup();
    h.atlas.addUser(projectA, {
      username: 'app-service',
      databaseName: 'admin',
      roles: [{ roleName: 'atlasAdmin', databaseName: 'admin' }],
    });
    const result = await run(h);
    expect(result.drift.unmanaged).toEqual([{ projectId: projectA, username: 'app-service' }]);
    expect(result.drift.unmanagedTotal).toBe(1);
    expect(h.atlas.methods()).toEqual(['projects.list', 'customDbRoles.list', 'databaseUsers.list']);
  });

  it('names at most the first 1 000 unmanaged users and counts them all, so a large organization still reports', () => {
    // Every application and person user of an organization's projects is unmanaged: listed in full,
    // 20 000 of them make a result over the protocol's 1 MiB body limit, and every sweep fails.
    const report = emptySweepReport();
    for (let i = 20_000; i > 0; i -= 1)
      report.drift.unmanaged.push({ projectId: projectA, username: `app-${String(i).padStart(5, '0')}` });
    const result = sortSweepReport(report);
    expect(result.drift.unmanagedTotal).toBe(20_000);
    expect(result.drift.unmanaged).toHaveLength(maxUnmanagedListed);
    expect(result.drift.unmanaged[0]).toEqual({ projectId: projectA, username: 'app-00001' });
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(maxJsonBodyBytes / 4);
  });

  it('reports a managed user with unreadable labels and leaves it untouched', async () => {
    const h = setup();
    const user = managedUser({ grants: [{ id: 'g-1', expiresAtMs: 1, roles: [readSales] }] }, h.clock.now());
    const labels = (user.labels ?? []).map((l) =>
      l.key === labelKeys.strategy ? { ...l, value: 'weird' } : l,
    );
    h.atlas.addUser(projectA, { ...user, labels });
    const result = await run(h);
    expect(result.drift.malformed).toEqual([
      { projectId: projectA, username: alice, reason: 'label jit-strategy is "weird"' },
    ]);
    expect(h.atlas.methods()).toEqual(['projects.list', 'customDbRoles.list', 'databaseUsers.list']);
  });

  it('reports a grant label whose collection is not valid percent-encoding instead of failing the sweep', async () => {
    const h = setup();
    const user = managedUser({ grants: [{ id: 'g-1', expiresAtMs: 1, roles: [readSales] }] }, h.clock.now());
    const key = `${labelKeys.grantPrefix}${grantKey('g-1')}`;
    const labels = (user.labels ?? []).map((l) =>
      l.key === key
        ? { ...l, value: `${l.value.split('|')[0] ?? ''}|Cluster0:read@sales/orders%E0%A4%A` }
        : l,
    );
    h.atlas.addUser(projectA, { ...user, labels });
    const result = await run(h);
    expect(result.drift.malformed).toEqual([
      { projectId: projectA, username: alice, reason: `unreadable grant label(s): ${grantKey('g-1')}` },
    ]);
    expect(h.atlas.methods()).toEqual(['projects.list', 'customDbRoles.list', 'databaseUsers.list']);
  });

  it('re-plans from a fresh read, so a grant that landed after the listing keeps its role', async () => {
    const h = setup({
      grants: [{ id: 'g-old', expiresAtMs: Date.UTC(2026, 10, 24, 11), roles: [readSales] }],
    });
    const now = h.clock.now();
    h.atlas.beforeNext('databaseUsers.get', () => {
      const grants = [
        { id: 'g-old', expiresAtMs: now - hourMs, roles: [readSales] },
        { id: 'g-race', expiresAtMs: now + hourMs, roles: [writeHr] },
      ];
      h.atlas.addUser(projectA, managedUser({ grants }, now));
    });
    const result = await run(h);
    expect(roleKeys(h)).toEqual(['readWrite@hr']);
    expect(result.rolesRemoved).toEqual([{ projectId: projectA, username: alice, roles: ['read@sales'] }]);
  });
});

describe('sweep: a cluster deleted while grants on it are active', () => {
  const onCluster1 = (role: GrantedRole): GrantedRole => ({ ...role, cluster: 'Cluster1' });

  it('still removes an expired grant’s role, scoping the user to the clusters that remain', async () => {
    const now = Date.UTC(2026, 10, 24, 12);
    const h = setup({
      grants: [
        { id: 'g-gone', expiresAtMs: now + 3 * dayMs, roles: [onCluster1(readSales)] },
        { id: 'g-ended', expiresAtMs: now - hourMs, roles: [{ ...writeHr, cluster: 'Cluster2' }] },
        { id: 'g-live', expiresAtMs: now + dayMs, roles: [{ ...writeHr, databaseName: 'ops' }] },
      ],
    });
    h.atlas.addCluster(projectA, { name: 'Cluster2' });
    h.atlas.deleteCluster(projectA, 'Cluster1');

    const result = await run(h);

    expect(result.errors).toEqual([]);
    expect(roleKeys(h)).toEqual(['read@sales', 'readWrite@ops']);
    expect(h.atlas.user(projectA, alice)?.scopes).toEqual([{ name: 'Cluster0', type: 'CLUSTER' }]);
    expect(ungatedWrites(h.atlas)).toEqual([]);
  });

  it('deletes the user when no active grant is left on a cluster that exists', async () => {
    const now = Date.UTC(2026, 10, 24, 12);
    const h = setup({
      grants: [
        { id: 'g-gone', expiresAtMs: now + 3 * dayMs, roles: [onCluster1(readSales)] },
        { id: 'g-ended', expiresAtMs: now - hourMs, roles: [writeHr] },
      ],
    });
    h.atlas.deleteCluster(projectA, 'Cluster1');

    const result = await run(h);

    expect(result.errors).toEqual([]);
    expect(result.usersDeleted).toEqual([{ projectId: projectA, username: alice, reason: 'clusters-gone' }]);
    expect(h.atlas.user(projectA, alice)).toBeUndefined();
    expect(ungatedWrites(h.atlas)).toEqual([]);
  });
});
