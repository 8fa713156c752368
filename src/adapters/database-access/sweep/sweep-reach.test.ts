import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  harness,
  hourMs,
  integration,
  managedUser,
  projectA,
  projectB,
  readSales,
  testPolicy,
  ungatedWrites,
  writeHr,
  type Harness,
} from '../../../../test/kits/discover-test-kit.js';
import { FakeRandom } from '../../../../test/fakes/fake-random.js';
import type { Policy } from '../../../config/env.js';
import type { KindDefinition } from '../../adapter.js';
import { AtlasMultiProjectConfig } from '../../atlas-multi-project/atlas-multi-project-config.js';
import { atlasMultiProjectKind } from '../../atlas-multi-project/atlas-multi-project-kind.js';
import { atlasProjectKind } from '../../atlas-project/atlas-project-kind.js';
import { createCredentialState } from '../../credential-state.js';
import type { DatabaseAccessOperationName } from '../operation-names.js';
import { buildLabels, grantKey, readGrants } from '../model/user-model.js';
import type { SweepResult } from './sweep.js';

/**
 * Tightening the configuration must never leave access in place: a project taken off the
 * integration's `projectIds` still holds users this integration's grants made, and the sweep ends
 * them there at once (ended grants' roles and the active grants' too), touching nothing else. A
 * project only `POLICY_ALLOWED_PROJECT_IDS` refuses is reached remove-only: that policy is this
 * connector's, and another connector may serve the integration's grants there.
 */

const alice = 'jit-alice-example-com-3f9a';

/** projectA holds alice (one grant ended, one active), another integration's user, an app user and an unused connector role. */
function world(): Harness {
  const h = harness();
  h.atlas.addProject(projectA).addProject(projectB);
  h.atlas.addCluster(projectA, { name: 'Cluster0' }).addCluster(projectB, { name: 'Cluster0' });
  const now = h.clock.now();
  const grants = [
    { id: 'g-old', expiresAtMs: now - hourMs, roles: [readSales] },
    { id: 'g-new', expiresAtMs: now + 2 * hourMs, roles: [writeHr] },
  ];
  h.atlas.addUser(projectA, managedUser({ grants }, now));
  const others = managedUser(
    {
      username: 'jit-bob-example-com-0b0b',
      grants: [{ id: 'g-b', expiresAtMs: now - hourMs, roles: [readSales] }],
    },
    now,
  );
  const otherLabels = buildLabels({
    requesterId: 'req-bob',
    strategy: 'per-requester',
    integrationId: 'int-other',
    grants: [{ key: grantKey('g-b'), expiresAtMs: now - hourMs, roles: [readSales] }],
  });
  h.atlas.addUser(projectA, { ...others, labels: otherLabels });
  h.atlas.addUser(projectA, {
    username: 'app-service',
    databaseName: 'admin',
    roles: [{ roleName: 'readWrite', databaseName: 'sales' }],
  });
  h.atlas.addCustomRole(projectA, {
    roleName: 'jit-r-unused',
    actions: [{ action: 'FIND', resources: [{ db: 'sales', collection: '' }] }],
    inheritedRoles: [],
  });
  return h;
}

async function sweepThrough<C>(
  h: Harness,
  kind: KindDefinition<C, DatabaseAccessOperationName>,
  config: C,
  payload: object,
  policy: Partial<Policy> = {},
  integrationId = integration.id,
): Promise<SweepResult> {
  const adapter = kind.create({
    clock: h.clock,
    random: new FakeRandom(),
    logger: pino({ level: 'silent' }),
    policy: testPolicy(policy),
    snapshots: { upload: () => Promise.reject(new Error('a sweep uploads no snapshot')) },
    registerSecret: () => undefined,
  });
  const credential = {
    atlas: h.atlas.client,
    ...createCredentialState(h.atlas.client, { clock: h.clock, readyTimeoutMs: 60_000 }),
  };
  const sweep = adapter.operations['sweep'];
  if (!sweep) throw new Error(`${kind.kind} has no sweep`);
  const job = {
    operation: 'sweep' as const,
    config,
    payload,
    integration: { ...integration, id: integrationId, kind: kind.kind },
  };
  return (await sweep.run(job, credential, h.ctx)) as SweepResult;
}

const multi = (overrides: Partial<AtlasMultiProjectConfig> = {}) => ({
  ...AtlasMultiProjectConfig.parse({}),
  ...overrides,
});

/**
 * Alice's active grant was ended with the sweep: she lost both grants' roles and records and is
 * parked, her deleteAfterDate not rolled; nobody else was touched.
 */
function expectOwnGrantsEnded(h: Harness, result: SweepResult): void {
  const user = h.atlas.user(projectA, alice);
  expect(user?.roles).toEqual([]);
  expect(readGrants(user?.labels ?? [])).toEqual([]);
  expect(result.grantsEnded).toEqual([{ projectId: projectA, username: alice, grants: [grantKey('g-new')] }]);
  expect(result.rolesRemoved).toEqual([
    { projectId: projectA, username: alice, roles: ['read@sales', 'readWrite@hr'] },
  ]);
  expect(result.deleteAfterRolled).toEqual([]);
  // Another integration's user, an application user and the connector's unused role: untouched, unreported.
  expect(h.atlas.user(projectA, 'jit-bob-example-com-0b0b')?.roles).toEqual([
    { roleName: 'read', databaseName: 'sales' },
  ]);
  expect(result.drift.unmanaged.filter((ref) => ref.projectId === projectA)).toEqual([]);
  expect(result.customRolesDeleted).toEqual([]);
  expect(h.atlas.methods()).not.toContain('customDbRoles.delete');
  expect(result.errors).toEqual([]);
  expect(ungatedWrites(h.atlas)).toEqual([]);
}

/**
 * A project only this connector's POLICY_ALLOWED_PROJECT_IDS refuses: another connector on the
 * organisation (its own network, its own policy) may serve grants there, so its active grant is
 * kept; only the ended grant's role goes, and nothing is rolled.
 */
function expectRemoveOnlyKept(h: Harness, result: SweepResult): void {
  const user = h.atlas.user(projectA, alice);
  expect(user?.roles).toEqual([{ roleName: 'readWrite', databaseName: 'hr' }]);
  expect(readGrants(user?.labels ?? []).map((grant) => grant.key)).toEqual([grantKey('g-new')]);
  expect(result.grantsEnded).toEqual([]);
  expect(result.rolesRemoved).toEqual([{ projectId: projectA, username: alice, roles: ['read@sales'] }]);
  expect(result.deleteAfterRolled).toEqual([]);
  expect(h.atlas.user(projectA, 'jit-bob-example-com-0b0b')?.roles).toEqual([
    { roleName: 'read', databaseName: 'sales' },
  ]);
  expect(result.customRolesDeleted).toEqual([]);
  expect(result.errors).toEqual([]);
  expect(ungatedWrites(h.atlas)).toEqual([]);
}

describe('sweep after the configuration narrowed: this integration’s grants there end', () => {
  it('atlas-multi-project, scheduled: a project taken off projectIds that the key still sees', async () => {
    const h = world();
    const result = await sweepThrough(h, atlasMultiProjectKind, multi({ projectIds: [projectB] }), {});
    expectOwnGrantsEnded(h, result);
    expect(result.projects).toBe(1);
    expect(result.projectsOutsideScope).toBe(1);
  });

  it('atlas-multi-project, a sweep naming a project taken off projectIds runs instead of invalid_request', async () => {
    const h = world();
    const config = multi({ projectIds: [projectB] });
    const result = await sweepThrough(h, atlasMultiProjectKind, config, { projectId: projectA });
    expectOwnGrantsEnded(h, result);
    expect(result.projects).toBe(0);
  });

  it('atlas-multi-project, scheduled: a visible project POLICY_ALLOWED_PROJECT_IDS no longer allows is remove-only', async () => {
    const h = world();
    const result = await sweepThrough(
      h,
      atlasMultiProjectKind,
      multi(),
      {},
      { allowedProjectIds: [projectB] },
    );
    expectRemoveOnlyKept(h, result);
  });

  it('atlas-multi-project, a sweep naming a project the policy no longer allows runs (remove-only) instead of policy_denied', async () => {
    const h = world();
    const policy = { allowedProjectIds: [projectB] };
    const result = await sweepThrough(h, atlasMultiProjectKind, multi(), { projectId: projectA }, policy);
    expectRemoveOnlyKept(h, result);
  });

  it('atlas-multi-project, a project off projectIds that the policy also refuses: its grants end', async () => {
    const h = world();
    const policy = { allowedProjectIds: [projectB] };
    const result = await sweepThrough(
      h,
      atlasMultiProjectKind,
      multi({ projectIds: [projectB] }),
      {},
      policy,
    );
    expectOwnGrantsEnded(h, result);
  });

  it.each([
    ['scheduled', {}],
    ['naming its project', { projectId: projectA }],
  ])(
    'atlas-project, %s: its project no longer allowed by the policy is remove-only',
    async (_name, payload) => {
      const h = world();
      const config = { ...multi(), projectId: projectA, clusterName: 'Cluster0' };
      const policy = { allowedProjectIds: [projectB] };
      expectRemoveOnlyKept(h, await sweepThrough(h, atlasProjectKind, config, payload, policy));
    },
  );

  // A sweep works from the configuration resolved when it was claimed: an operator may have added
  // projectA back since, and a grant made there since must not be ended minutes after it succeeded.
  it('does not end a grant written there after the sweep was claimed (less the clock-skew margin)', async () => {
    for (const [writtenAgoMs, ended] of [
      [60_000, false],
      [10 * 60_000, true],
    ] as const) {
      const h = harness();
      h.atlas.addProject(projectA).addProject(projectB);
      h.atlas.addCluster(projectA, { name: 'Cluster0' }).addCluster(projectB, { name: 'Cluster0' });
      const now = h.clock.now();
      expect(h.ctx.claimedAtMs).toBe(now);
      const grants = [
        { id: 'g-new', expiresAtMs: now + 2 * hourMs, roles: [writeHr], writtenAtMs: now - writtenAgoMs },
      ];
      h.atlas.addUser(projectA, managedUser({ grants }, now));
      const result = await sweepThrough(h, atlasMultiProjectKind, multi({ projectIds: [projectB] }), {});
      const user = h.atlas.user(projectA, alice);
      expect(result.errors).toEqual([]);
      expect(result.deleteAfterRolled).toEqual([]);
      if (ended) {
        expect(user?.roles).toEqual([]);
        expect(result.grantsEnded).toEqual([
          { projectId: projectA, username: alice, grants: [grantKey('g-new')] },
        ]);
      } else {
        expect(user?.roles).toEqual([{ roleName: 'readWrite', databaseName: 'hr' }]);
        expect(readGrants(user?.labels ?? []).map((grant) => grant.key)).toEqual([grantKey('g-new')]);
        expect(result.grantsEnded).toEqual([]);
      }
    }
  });

  it('quietly skips a project found by listing whose users the key cannot read', async () => {
    const h = world();
    h.atlas.failNext('databaseUsers.list', 'USER_CANNOT_ACCESS_GROUP', 2);
    const policy = { allowedProjectIds: ['6602000000000000000000c3'] };
    const result = await sweepThrough(h, atlasMultiProjectKind, multi(), {}, policy);
    expect(result).toMatchObject({ projects: 0, projectsOutsideScope: 0, errors: [] });
  });

  it('still sweeps the projects in scope when listing the key’s projects fails, and reports it', async () => {
    const h = world();
    h.atlas.failNext('projects.list', 'UNEXPECTED_ERROR');
    const result = await sweepThrough(h, atlasMultiProjectKind, multi({ projectIds: [projectA] }), {});
    expect(result).toMatchObject({ projects: 1, projectsOutsideScope: 0 });
    expect(result.rolesRemoved).toContainEqual({
      projectId: projectA,
      username: alice,
      roles: ['read@sales'],
    });
    expect(result.errors).toEqual([
      { projectId: '', code: 'upstream_unavailable', message: expect.any(String) },
    ]);
  });

  it('reconciles the integration’s own users there only, and counts them', async () => {
    const h = world();
    const result = await sweepThrough(h, atlasMultiProjectKind, multi({ projectIds: [projectB] }), {});
    expect(result.usersChecked).toBe(1);
    expect(h.atlas.methods().filter((method) => method === 'customDbRoles.list')).toHaveLength(1);
  });
});

describe('outside the scope the sweep only takes away, and ends this integration’s grants', () => {
  const readReports = { cluster: 'Cluster0', roleName: 'read', databaseName: 'reports' };
  /** Alice's ended grant still holds read@sales; her active one lost read@reports by hand; her date is short. */
  function drifted(): { h: Harness; deleteAfterDate: string } {
    const h = harness();
    h.atlas.addProject(projectA).addProject(projectB);
    h.atlas.addCluster(projectA, { name: 'Cluster0' }).addCluster(projectB, { name: 'Cluster0' });
    const now = h.clock.now();
    const deleteAfterDate = new Date(now + 3 * hourMs).toISOString();
    const grants = [
      { id: 'g-old', expiresAtMs: now - hourMs, roles: [readSales] },
      { id: 'g-new', expiresAtMs: now + 48 * hourMs, roles: [writeHr, readReports] },
    ];
    const roles = [
      { roleName: 'read', databaseName: 'sales' },
      { roleName: 'readWrite', databaseName: 'hr' },
    ];
    h.atlas.addUser(projectA, managedUser({ grants, roles, deleteAfterDate }, now));
    return { h, deleteAfterDate };
  }

  it.each<[string, Partial<AtlasMultiProjectConfig>, Partial<Policy>]>([
    ['taken off projectIds', { projectIds: [projectB] }, {}],
    [
      'taken off projectIds and refused by the policy',
      { projectIds: [projectB] },
      { allowedProjectIds: [projectB] },
    ],
  ])(
    '%s: a role removed by hand is not restored, the active grant ends, every role goes, no roll',
    async (_name, config, policy) => {
      const { h, deleteAfterDate } = drifted();
      const result = await sweepThrough(h, atlasMultiProjectKind, multi(config), {}, policy);
      const user = h.atlas.user(projectA, alice);
      expect(user?.roles).toEqual([]);
      expect(readGrants(user?.labels ?? [])).toEqual([]);
      expect(Date.parse(user?.deleteAfterDate ?? '')).toBe(Date.parse(deleteAfterDate));
      expect(result.grantsEnded).toEqual([
        { projectId: projectA, username: alice, grants: [grantKey('g-new')] },
      ]);
      expect(result.rolesRemoved).toEqual([
        { projectId: projectA, username: alice, roles: ['read@sales', 'readWrite@hr'] },
      ]);
      expect(result.deleteAfterRolled).toEqual([]);
      expect(result.drift.repaired).toEqual([]);
      // Ended, the grant needs nothing: its hand-removed role is no drift any more.
      expect(result.drift.outsideScope).toEqual([]);
      // The next sweep finds nothing to do, and reports nothing.
      const again = await sweepThrough(h, atlasMultiProjectKind, multi(config), {}, policy);
      expect(again).toMatchObject({ grantsEnded: [], rolesRemoved: [], deleteAfterRolled: [] });
      expect(again.drift.outsideScope).toEqual([]);
      expect(result.errors).toEqual([]);
      expect(ungatedWrites(h.atlas)).toEqual([]);
    },
  );

  it('refused by the policy alone: a role removed by hand is not restored, the active grant is kept, no roll', async () => {
    const { h, deleteAfterDate } = drifted();
    const policy = { allowedProjectIds: [projectB] };
    const result = await sweepThrough(h, atlasMultiProjectKind, multi(), {}, policy);
    const user = h.atlas.user(projectA, alice);
    expect(user?.roles).toEqual([{ roleName: 'readWrite', databaseName: 'hr' }]);
    expect(readGrants(user?.labels ?? []).map((grant) => grant.key)).toEqual([grantKey('g-new')]);
    expect(Date.parse(user?.deleteAfterDate ?? '')).toBe(Date.parse(deleteAfterDate));
    expect(result.grantsEnded).toEqual([]);
    expect(result.rolesRemoved).toEqual([{ projectId: projectA, username: alice, roles: ['read@sales'] }]);
    expect(result.deleteAfterRolled).toEqual([]);
    expect(result.drift.repaired).toEqual([]);
    expect(result.drift.outsideScope).toEqual([
      expect.objectContaining({ username: alice, missingRoles: ['read@reports'] }),
    ]);
    expect(result.errors).toEqual([]);
  });

  it('in scope the same user is repaired as before: the role is restored and the date rolled', async () => {
    const { h, deleteAfterDate } = drifted();
    const result = await sweepThrough(h, atlasMultiProjectKind, multi({ projectIds: [projectA] }), {});
    const user = h.atlas.user(projectA, alice);
    expect(user?.roles).toEqual([
      { roleName: 'read', databaseName: 'reports' },
      { roleName: 'readWrite', databaseName: 'hr' },
    ]);
    expect(Date.parse(user?.deleteAfterDate ?? '')).toBeGreaterThan(Date.parse(deleteAfterDate));
    expect(result.drift.repaired).toHaveLength(1);
    expect(result.drift.outsideScope).toEqual([]);
  });
  // An atlas-project integration's grants name its one cluster: after clusterName moved to
  // another, grants on the old one are refused, and so is handing their access back.
  it('atlas-project whose clusterName moved on: its grants on the old cluster end at once', async () => {
    const { h, deleteAfterDate } = drifted();
    h.atlas.addCluster(projectA, { name: 'Cluster1' });
    const config = { ...multi(), projectId: projectA, clusterName: 'Cluster1' };
    const result = await sweepThrough(h, atlasProjectKind, config, {});
    const user = h.atlas.user(projectA, alice);
    expect(user?.roles).toEqual([]);
    expect(user?.scopes).toEqual([{ name: 'Cluster0', type: 'CLUSTER' }]);
    expect(Date.parse(user?.deleteAfterDate ?? '')).toBe(Date.parse(deleteAfterDate));
    expect(result.grantsEnded).toEqual([
      { projectId: projectA, username: alice, grants: [grantKey('g-new')] },
    ]);
    expect(result.rolesRemoved).toEqual([
      { projectId: projectA, username: alice, roles: ['read@sales', 'readWrite@hr'] },
    ]);
    expect(result.drift).toMatchObject({ repaired: [], outsideScope: [] });
    // Its own cluster's users are still repaired in full.
    const unchanged = drifted();
    const config0 = { ...multi(), projectId: projectA, clusterName: 'Cluster0' };
    await sweepThrough(unchanged.h, atlasProjectKind, config0, {});
    expect(unchanged.h.atlas.user(projectA, alice)?.roles).toContainEqual({
      roleName: 'read',
      databaseName: 'reports',
    });
  });
});

/** In scope, drift repair must not give back a role the local policy now refuses a grant. */
describe('drift repair after the policy narrowed the roles', () => {
  const readReports = { cluster: 'Cluster0', roleName: 'read', databaseName: 'reports' };
  const spy = { cluster: 'Cluster0', roleName: 'jit-r-0000000000000001', databaseName: 'admin' };
  const finder = { cluster: 'Cluster0', roleName: 'jit-r-0000000000000002', databaseName: 'admin' };
  /** Alice's active grant gave readWrite@hr, read@reports and two connector roles; she holds readWrite@hr only. */
  function drifted(held: readonly { roleName: string; databaseName: string }[] = []): Harness {
    const h = harness();
    h.atlas.addProject(projectA).addCluster(projectA, { name: 'Cluster0' });
    h.atlas.addCustomRole(projectA, {
      roleName: spy.roleName,
      actions: [{ action: 'SERVER_STATUS', resources: [{ cluster: true }] }],
      inheritedRoles: [],
    });
    h.atlas.addCustomRole(projectA, {
      roleName: finder.roleName,
      actions: [{ action: 'FIND', resources: [{ db: 'sales', collection: '' }] }],
      inheritedRoles: [],
    });
    const now = h.clock.now();
    const grants = [
      { id: 'g-new', expiresAtMs: now + 48 * hourMs, roles: [writeHr, readReports, spy, finder] },
    ];
    const roles = [{ roleName: 'readWrite', databaseName: 'hr' }, ...held];
    h.atlas.addUser(projectA, managedUser({ grants, roles }, now));
    return h;
  }
  const roleKeys = (h: Harness) =>
    (h.atlas.user(projectA, alice)?.roles ?? []).map((r) => `${r.roleName}@${r.databaseName}`).sort();

  it('POLICY_ALLOWED_ROLES no longer names read: read@reports stays missing, and is reported', async () => {
    const h = drifted();
    const policy = { allowedRoles: ['readWrite'] };
    const result = await sweepThrough(h, atlasMultiProjectKind, multi(), {}, policy);
    // Custom privileges are refused while POLICY_ALLOWED_ROLES is set: neither connector role comes back.
    expect(roleKeys(h)).toEqual(['readWrite@hr']);
    expect(result.drift.refusedByPolicy).toEqual([
      {
        projectId: projectA,
        username: alice,
        roles: [`${spy.roleName}@admin`, `${finder.roleName}@admin`, 'read@reports'].sort(),
      },
    ]);
    expect(result.drift.repaired).toEqual([]);
    expect(result.errors).toEqual([]);
  });

  it('POLICY_ALLOW_ADMIN_ROLES off: the admin-class connector role stays missing, the others come back', async () => {
    const h = drifted();
    const result = await sweepThrough(h, atlasMultiProjectKind, multi(), {});
    expect(roleKeys(h)).toEqual([`${finder.roleName}@admin`, 'read@reports', 'readWrite@hr'].sort());
    expect(result.drift.refusedByPolicy).toEqual([
      { projectId: projectA, username: alice, roles: [`${spy.roleName}@admin`] },
    ]);
    expect(result.drift.repaired).toEqual([
      expect.objectContaining({
        username: alice,
        missingRoles: [`${finder.roleName}@admin`, 'read@reports'],
      }),
    ]);
  });

  it('a role the user still holds is kept although the policy now refuses it', async () => {
    const h = drifted([{ roleName: spy.roleName, databaseName: 'admin' }]);
    const result = await sweepThrough(h, atlasMultiProjectKind, multi(), {});
    expect(roleKeys(h)).toContain(`${spy.roleName}@admin`);
    expect(result.drift.refusedByPolicy).toEqual([]);
    expect(result.rolesRemoved).toEqual([]);
  });
});

// Atlas refuses to delete a custom role a user holds (409 ATLAS_CUSTOM_ROLE_IN_USE_BY_USERS), so an
// operator takes it off the user by hand first: an active grant may still record it. Atlas refuses
// a write naming a role the project no longer defines (400 ATLAS_INVALID_ROLE), and that write
// would have taken the ended grant's role away. A connector role's definition cannot be read back
// from its name: it is reported as gone, not as refused by the policy.
it.each([
  ['a connector role', 'jit-r-00000000000000ff', 'connectorRolesGone'],
  ['a custom role of the project', 'analyst', 'refusedByPolicy'],
] as const)(
  '%s no longer defined is not put back, so the ended grant’s role still goes',
  async (_kind, roleName, reported) => {
    const h = harness();
    h.atlas.addProject(projectA).addCluster(projectA, { name: 'Cluster0' });
    const gone = { cluster: 'Cluster0', roleName, databaseName: 'admin' };
    const now = h.clock.now();
    const grants = [
      { id: 'g-old', expiresAtMs: now - hourMs, roles: [readSales] },
      { id: 'g-new', expiresAtMs: now + 2 * hourMs, roles: [writeHr, gone] },
    ];
    const roles = [
      { roleName: 'read', databaseName: 'sales' },
      { roleName: 'readWrite', databaseName: 'hr' },
    ];
    h.atlas.addUser(projectA, managedUser({ grants, roles }, now));
    const result = await sweepThrough(h, atlasMultiProjectKind, multi(), {});
    expect(result.errors).toEqual([]);
    expect(h.atlas.user(projectA, alice)?.roles).toEqual([{ roleName: 'readWrite', databaseName: 'hr' }]);
    expect(result.drift[reported]).toEqual([
      { projectId: projectA, username: alice, roles: [`${roleName}@admin`] },
    ]);
    const other = reported === 'refusedByPolicy' ? 'connectorRolesGone' : 'refusedByPolicy';
    expect(result.drift[other]).toEqual([]);
  },
);

// Another integration (say, one whose projectIds no longer name projectA) made bob: only its
// configuration says whether his grants may still be handed out, so this sweep only takes away.
it('another integration’s user in scope: its ended grant’s role goes, nothing is added back, no roll', async () => {
  const h = harness();
  h.atlas.addProject(projectA).addCluster(projectA, { name: 'Cluster0' });
  const now = h.clock.now();
  const deleteAfterDate = new Date(now + 3 * hourMs).toISOString();
  const readReports = { cluster: 'Cluster0', roleName: 'read', databaseName: 'reports' };
  const grants = [
    { key: grantKey('g-old'), expiresAtMs: now - hourMs, roles: [readSales] },
    { key: grantKey('g-new'), expiresAtMs: now + 48 * hourMs, roles: [writeHr, readReports] },
  ];
  const bob = 'jit-bob-example-com-0b0b';
  h.atlas.addUser(projectA, {
    ...managedUser({ username: bob, deleteAfterDate }, now),
    roles: [
      { roleName: 'read', databaseName: 'sales' },
      { roleName: 'readWrite', databaseName: 'hr' },
    ],
    scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
    labels: buildLabels({
      requesterId: 'req-bob',
      strategy: 'per-requester',
      integrationId: 'int-other',
      grants,
    }),
  });
  const result = await sweepThrough(h, atlasMultiProjectKind, multi({ projectIds: [projectA] }), {});
  const user = h.atlas.user(projectA, bob);
  expect(user?.roles).toEqual([{ roleName: 'readWrite', databaseName: 'hr' }]);
  expect(Date.parse(user?.deleteAfterDate ?? '')).toBe(Date.parse(deleteAfterDate));
  expect(result.rolesRemoved).toEqual([{ projectId: projectA, username: bob, roles: ['read@sales'] }]);
  expect(result.deleteAfterRolled).toEqual([]);
  expect(result.drift).toMatchObject({
    repaired: [],
    outsideScope: [expect.objectContaining({ username: bob, missingRoles: ['read@reports'] })],
  });
  expect(result.errors).toEqual([]);
});

// A label holds at most 255 characters: a longer integration id is cut there on its users.
it('an integration id longer than a label still finds its own users, in scope and outside it', async () => {
  const longId = `int-${'x'.repeat(300)}`;
  for (const config of [multi({ projectIds: [projectA] }), multi({ projectIds: [projectB] })]) {
    const h = harness();
    h.atlas.addProject(projectA).addProject(projectB);
    h.atlas.addCluster(projectA, { name: 'Cluster0' }).addCluster(projectB, { name: 'Cluster0' });
    const now = h.clock.now();
    const grants = [
      { key: grantKey('g-old'), expiresAtMs: now - hourMs, roles: [readSales] },
      { key: grantKey('g-new'), expiresAtMs: now + 48 * hourMs, roles: [writeHr] },
    ];
    const roles = [{ roleName: 'read', databaseName: 'sales' }];
    const labels = buildLabels({
      requesterId: 'req-alice',
      strategy: 'per-requester',
      integrationId: longId,
      grants,
    });
    h.atlas.addUser(projectA, { ...managedUser({}, now), roles, labels });
    const result = await sweepThrough(h, atlasMultiProjectKind, config, {}, {}, longId);
    const expected = config.projectIds?.includes(projectA) ? ['readWrite'] : [];
    expect(h.atlas.user(projectA, alice)?.roles.map((role) => role.roleName)).toEqual(expected);
    expect(result.usersChecked).toBe(1);
  }
});
