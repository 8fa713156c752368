import { describe, expect, it } from 'vitest';
import {
  dayMs,
  hourMs,
  integrationId,
  managedUser,
  readSales,
  writeHr,
  type UserSpec,
} from '../../../../test/kits/discover-test-kit.js';
import { planUser } from './sweep-plan.js';
import { grantKey, integrationKey, labelKeys, readGrants } from '../model/user-model.js';

const now = Date.UTC(2026, 10, 24, 12);
const plan = (spec: UserSpec, nowMs = now) => planUser(managedUser(spec, now), { nowMs, userCleanupDays: 1 });
const active = (hours: number, roles = [readSales]) => ({
  id: `g-${hours}`,
  expiresAtMs: now + hours * hourMs,
  roles,
});

describe('planUser', () => {
  // The time says under which configuration the grant was made: a rewrite of the user for another
  // reason must not make it look newer (nor older).
  it('keeps each remaining record’s written time when it rewrites the labels', () => {
    const writtenAtMs = now - 3 * dayMs;
    const result = plan({
      grants: [
        { id: 'g-old', expiresAtMs: now - hourMs, roles: [writeHr] },
        { ...active(2), writtenAtMs },
      ],
    });
    const labels = result.kind === 'managed' ? (result.update?.labels ?? []) : [];
    expect(readGrants(labels)).toEqual([expect.objectContaining({ key: grantKey('g-2'), writtenAtMs })]);
  });

  it('does nothing for a user that matches its labels', () => {
    expect(plan({ grants: [active(2)] })).toMatchObject({ kind: 'managed', action: 'none', warnings: [] });
  });

  it('rolls deleteAfterDate only when it is more than a day short of what is needed', () => {
    const grants = [active(9 * 24)];
    const nearly = new Date(now + 6 * dayMs).toISOString();
    expect(plan({ grants, deleteAfterDate: nearly })).toMatchObject({ action: 'none' });
    const short = new Date(now + 6 * dayMs - hourMs - 1).toISOString();
    expect(plan({ grants, deleteAfterDate: short })).toMatchObject({
      action: 'update',
      update: { deleteAfterDate: new Date(now + 7 * dayMs - hourMs).toISOString() },
      rolesRemoved: [],
    });
  });

  it('never shortens deleteAfterDate and never adds one to a permanent user, but warns', () => {
    expect(plan({ grants: [active(2)], deleteAfterDate: null })).toMatchObject({
      action: 'none',
      warnings: ['no deleteAfterDate: Atlas will not remove this user by itself'],
    });
  });

  it('narrows scopes to the clusters active grants still need', () => {
    const other = { ...writeHr, cluster: 'Cluster1' };
    const result = plan({ grants: [active(2), { id: 'g-old', expiresAtMs: now - 1, roles: [other] }] });
    expect(result).toMatchObject({
      action: 'update',
      update: {
        roles: [{ roleName: 'read', databaseName: 'sales' }],
        scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
      },
      rolesRemoved: ['readWrite@hr'],
    });
    expect(result).not.toHaveProperty('drift');
  });

  it('reports a role an active grant needs but Atlas lacks, and restores it', () => {
    expect(
      plan({
        grants: [active(2, [readSales, writeHr])],
        roles: [{ roleName: 'read', databaseName: 'sales' }],
      }),
    ).toMatchObject({
      action: 'update',
      drift: { missingRoles: ['readWrite@hr'], unexpectedRoles: [] },
    });
  });

  it('deletes a user with neither grants nor a revocation time: nothing says it is needed', () => {
    expect(plan({ roles: [] })).toMatchObject({ action: 'delete', deleteReason: 'idle' });
  });

  it('treats unreadable grant labels or identity labels as malformed', () => {
    const user = managedUser({ grants: [active(2)] }, now);
    const broken = {
      ...user,
      labels: [...(user.labels ?? []), { key: `${labelKeys.grantPrefix}abc`, value: 'x' }],
    };
    expect(planUser(broken, { nowMs: now, userCleanupDays: 1 })).toEqual({
      kind: 'malformed',
      reason: 'unreadable grant label(s): abc',
    });
    const anonymous = { ...user, labels: (user.labels ?? []).filter((l) => l.key !== labelKeys.requester) };
    expect(planUser(anonymous, { nowMs: now, userCleanupDays: 1 })).toMatchObject({ kind: 'malformed' });
  });

  it('keeps labels it does not own when it rewrites them', () => {
    const user = managedUser(
      { grants: [active(2), { id: 'g-old', expiresAtMs: now - 1, roles: [readSales] }] },
      now,
    );
    const tagged = { ...user, labels: [{ key: 'cost-center', value: 'cc-42' }, ...(user.labels ?? [])] };
    const result = planUser(tagged, { nowMs: now, userCleanupDays: 1 });
    expect(result.kind === 'managed' ? result.update?.labels : undefined).toContainEqual({
      key: 'cost-center',
      value: 'cc-42',
    });
  });
});

/**
 * A project the configuration no longer allows: this integration's active grants there end, and
 * the plan only takes away (another integration's active grants keep what they hold).
 */
describe('planUser, remove-only', () => {
  const mine = integrationKey(integrationId);
  // Off the integration's own configuration (`projectIds`): its grants there end.
  const removeOnly = (spec: UserSpec) =>
    planUser(managedUser(spec, now), {
      nowMs: now,
      userCleanupDays: 1,
      removeOnly: true,
      endsGrants: true,
      integration: mine,
    });
  /** Another integration's active grant: only its own configuration may end it. */
  const theirs = (hours: number, roles = [readSales]) => ({
    id: `g-theirs-${hours}`,
    expiresAtMs: now + hours * hourMs,
    roles,
    integration: integrationKey('int-other'),
  });
  const ended = (roles = [readSales]) => ({ id: 'g-old', expiresAtMs: now - hourMs, roles });
  const cluster = (name: string) => ({ name, type: 'CLUSTER' as const });
  const onCluster1 = { ...writeHr, cluster: 'Cluster1' };

  // Left active, such a grant kept its roles until the user's deleteAfterDate (up to 7 days).
  it('ends this integration’s own active grants there, keeping what another’s grant needs, rolling nothing', () => {
    const short = new Date(now + hourMs).toISOString();
    const alone = removeOnly({ grants: [active(9 * 24, [readSales, writeHr])], deleteAfterDate: short });
    expect(alone).toMatchObject({
      action: 'update',
      endedGrants: [grantKey('g-216')],
      update: { roles: [] },
      rolesRemoved: ['read@sales', 'readWrite@hr'],
    });
    expect(alone).not.toHaveProperty('rolledTo');
    const parkedLabels = alone.kind === 'managed' ? (alone.update?.labels ?? []) : [];
    expect(readGrants(parkedLabels)).toEqual([]);
    expect(parkedLabels).toContainEqual({ key: labelKeys.lastRevokedAt, value: new Date(now).toISOString() });
    expect(removeOnly({ grants: [active(2)], strategy: 'per-grant' })).toMatchObject({
      action: 'delete',
      deleteReason: 'grant-ended',
      endedGrants: [grantKey('g-2')],
    });
    const shared = removeOnly({
      grants: [active(48, [readSales, writeHr]), theirs(2)],
      roles: [
        { roleName: 'read', databaseName: 'sales' },
        { roleName: 'readWrite', databaseName: 'hr' },
      ],
      deleteAfterDate: short,
    });
    expect(shared).toMatchObject({
      action: 'update',
      endedGrants: [grantKey('g-48')],
      update: { roles: [{ roleName: 'read', databaseName: 'sales' }] },
      rolesRemoved: ['readWrite@hr'],
    });
    expect(shared).not.toHaveProperty('rolledTo');
    const sharedLabels = shared.kind === 'managed' ? (shared.update?.labels ?? []) : [];
    expect(readGrants(sharedLabels).map((grant) => grant.key)).toEqual([grantKey('g-theirs-2')]);
  });

  // Several connectors may serve one organisation, each with its own POLICY_ALLOWED_PROJECT_IDS:
  // one's policy is no view of the grants another made there under its own.
  it('a project only the local policy refuses: its own active grant is kept, without roll or repair', () => {
    const short = new Date(now + hourMs).toISOString();
    const result = planUser(
      managedUser(
        {
          grants: [ended(), active(48, [writeHr, { ...readSales, databaseName: 'orders' }])],
          roles: [
            { roleName: 'read', databaseName: 'sales' },
            { roleName: 'readWrite', databaseName: 'hr' },
          ],
          deleteAfterDate: short,
        },
        now,
      ),
      { nowMs: now, userCleanupDays: 1, removeOnly: true, integration: mine },
    );
    expect(result).toMatchObject({
      action: 'update',
      removeOnly: true,
      update: { roles: [{ roleName: 'readWrite', databaseName: 'hr' }] },
      rolesRemoved: ['read@sales'],
      drift: { missingRoles: ['read@orders'] },
    });
    expect(result).not.toHaveProperty('endedGrants');
    expect(result).not.toHaveProperty('rolledTo');
    const labels = result.kind === 'managed' ? (result.update?.labels ?? []) : [];
    expect(readGrants(labels).map((grant) => grant.key)).toEqual([grantKey('g-48')]);
  });

  // The sweep's configuration was resolved when it was claimed: a grant written since may have been
  // made under a configuration widened since (the project added back), and must not be ended.
  it('ends only a grant written before the sweep’s claim (less the margin), or with no time', () => {
    const claimed = now - 5 * 60_000;
    const judge = (writtenAtMs?: number) =>
      planUser(
        managedUser(
          {
            grants: [{ ...active(48), ...(writtenAtMs === undefined ? {} : { writtenAtMs }) }],
            deleteAfterDate: new Date(now + hourMs).toISOString(),
          },
          now,
        ),
        {
          nowMs: now,
          userCleanupDays: 1,
          removeOnly: true,
          endsGrants: true,
          endsWrittenBeforeMs: claimed,
          integration: mine,
        },
      );
    for (const old of [undefined, claimed - 1000]) {
      expect(judge(old)).toMatchObject({
        action: 'update',
        endedGrants: [grantKey('g-48')],
        update: { roles: [] },
      });
    }
    // Written since: left as remove-only leaves an active grant (its roles kept, nothing rolled).
    const recent = judge(claimed);
    expect(recent).toMatchObject({ action: 'none', removeOnly: true });
    expect(recent).not.toHaveProperty('endedGrants');
    expect(recent).not.toHaveProperty('rolledTo');
  });

  // A replica whose clock runs ahead writes a time in the future: believed, its grant would outlive
  // the narrowing by as long as that clock is ahead (days: past the grant's end). A time later than
  // the sweep's now by more than the tolerated skew is no time: the record counts as written long ago.
  it('ends a grant whose written time is in the future beyond the tolerated clock skew', () => {
    const claimed = now - 5 * 60_000;
    const judge = (writtenAtMs: number) =>
      planUser(managedUser({ grants: [{ ...active(48), writtenAtMs }] }, now), {
        nowMs: now,
        userCleanupDays: 1,
        removeOnly: true,
        endsGrants: true,
        endsWrittenBeforeMs: claimed,
        integration: mine,
      });
    expect(judge(now + 3 * dayMs)).toMatchObject({ endedGrants: [grantKey('g-48')], update: { roles: [] } });
    // Within the tolerated skew it may be a grant made since the claim: not ended.
    expect(judge(now + 60_000)).not.toHaveProperty('endedGrants');
  });

  it('does not add back a role an active grant records but the user lacks, and reports it', () => {
    const result = removeOnly({
      grants: [theirs(2, [readSales, writeHr])],
      roles: [{ roleName: 'read', databaseName: 'sales' }],
    });
    expect(result).toMatchObject({ action: 'none', drift: { missingRoles: ['readWrite@hr'] } });
  });

  it('does not add a cluster scope an active grant names but the user lacks, and reports it', () => {
    const result = removeOnly({
      grants: [theirs(2, [readSales, onCluster1])],
      scopes: [cluster('Cluster0')],
    });
    expect(result).toMatchObject({ action: 'none', drift: { missingScopes: ['Cluster1'] } });
  });

  it('never rolls deleteAfterDate forward, for an active grant or a parked user', () => {
    const short = new Date(now + hourMs).toISOString();
    expect(removeOnly({ grants: [theirs(9 * 24)], deleteAfterDate: short })).toMatchObject({
      action: 'none',
    });
    // Parked since now, cleanup in 5 days: in scope, the date would be rolled to then.
    const parked = managedUser(
      { grants: [], roles: [], lastRevokedAt: new Date(now).toISOString(), deleteAfterDate: short },
      now,
    );
    const options = { nowMs: now, userCleanupDays: 5 };
    expect(planUser(parked, options)).toMatchObject({ action: 'update', rolledTo: expect.any(String) });
    const result = planUser(parked, { ...options, removeOnly: true });
    expect(result).toMatchObject({ action: 'none' });
    expect(result).not.toHaveProperty('rolledTo');
  });

  it('removes an ended grant’s roles and record, keeping the roles it holds for an active one', () => {
    const result = removeOnly({
      grants: [ended(), theirs(2, [writeHr, { ...readSales, databaseName: 'orders' }])],
      roles: [
        { roleName: 'read', databaseName: 'sales' },
        { roleName: 'readWrite', databaseName: 'hr' },
      ],
      deleteAfterDate: new Date(now + hourMs).toISOString(),
    });
    expect(result).toMatchObject({
      action: 'update',
      update: { roles: [{ roleName: 'readWrite', databaseName: 'hr' }] },
      rolesRemoved: ['read@sales'],
      drift: { missingRoles: ['read@orders'] },
    });
    const update = result.kind === 'managed' ? result.update : undefined;
    expect(Object.keys(update ?? {}).sort()).toEqual(['labels', 'roles']);
  });

  it('removes roles no grant accounts for', () => {
    const result = removeOnly({
      grants: [theirs(2)],
      roles: [
        { roleName: 'read', databaseName: 'sales' },
        { roleName: 'dbAdmin', databaseName: 'sales' },
      ],
    });
    expect(result).toMatchObject({
      action: 'update',
      update: { roles: [{ roleName: 'read', databaseName: 'sales' }] },
      rolesRemoved: ['dbAdmin@sales'],
    });
  });

  it('narrows scopes to the clusters it holds that an active grant names', () => {
    const result = removeOnly({
      grants: [ended([onCluster1]), theirs(2)],
      scopes: [cluster('Cluster0'), cluster('Cluster1'), { name: 'lake', type: 'DATA_LAKE' }],
    });
    expect(result).toMatchObject({
      action: 'update',
      update: { roles: [{ roleName: 'read', databaseName: 'sales' }], scopes: [cluster('Cluster0')] },
    });
  });

  it('narrows an unscoped user (every cluster) to the active grants’ clusters', () => {
    expect(removeOnly({ grants: [theirs(2)], scopes: [] })).toMatchObject({
      action: 'update',
      update: { scopes: [cluster('Cluster0')] },
      drift: { unscoped: true },
    });
  });

  it('never empties scopes: when none it holds is one an active grant names, it loses its roles', () => {
    const result = removeOnly({
      grants: [ended([onCluster1]), theirs(2)],
      roles: [
        { roleName: 'read', databaseName: 'sales' },
        { roleName: 'readWrite', databaseName: 'hr' },
      ],
      scopes: [cluster('Cluster1')],
    });
    expect(result).toMatchObject({
      action: 'update',
      update: { roles: [] },
      rolesRemoved: ['read@sales', 'readWrite@hr'],
      drift: { missingScopes: ['Cluster0'] },
    });
    expect(result.kind === 'managed' ? result.update : undefined).not.toHaveProperty('scopes');
  });

  // A parked user keeps the clusters its last grants named (never unscoped) after their records
  // went: reported as drift, it showed up under drift.outsideScope at every sweep until deleted.
  it('does not report a parked user’s kept cluster scope as drift, waiting or deleted, in scope or not', () => {
    const parked = (idleHours: number) =>
      managedUser(
        {
          grants: [],
          roles: [],
          scopes: [cluster('Cluster0')],
          lastRevokedAt: new Date(now - idleHours * hourMs).toISOString(),
        },
        now,
      );
    for (const outside of [false, true]) {
      const options = { nowMs: now, userCleanupDays: 1, removeOnly: outside };
      const waiting = planUser(parked(1), options);
      expect(waiting).toMatchObject({ action: 'none' });
      expect(waiting).not.toHaveProperty('drift');
      const due = planUser(parked(48), options);
      expect(due).toMatchObject({ action: 'delete', deleteReason: 'idle' });
      expect(due).not.toHaveProperty('drift');
    }
    // What it should not have is still drift: a role, or a scope that is not a cluster.
    const lake = { ...parked(1), roles: [{ roleName: 'read', databaseName: 'sales' }] };
    expect(
      planUser(
        { ...lake, scopes: [cluster('Cluster0'), { name: 'lake', type: 'DATA_LAKE' }] },
        {
          nowMs: now,
          userCleanupDays: 1,
          removeOnly: true,
        },
      ),
    ).toMatchObject({ drift: { unexpectedRoles: ['read@sales'], unexpectedScopes: ['DATA_LAKE:lake'] } });
  });

  it('parks or deletes idle users as in scope', () => {
    expect(removeOnly({ grants: [ended()], strategy: 'per-grant' })).toMatchObject({
      action: 'delete',
      deleteReason: 'grant-ended',
    });
    expect(removeOnly({ grants: [ended()] })).toMatchObject({
      action: 'update',
      update: { roles: [] },
      rolesRemoved: ['read@sales'],
    });
  });
});

/** A cluster the integration's configuration no longer allows (deep discovery's `clusterNames`). */
describe('planUser, a grant on a cluster off allowedClusters', () => {
  const onCluster1 = (role = writeHr) => ({ ...role, cluster: 'Cluster1' });
  const short = new Date(now + hourMs).toISOString();
  const planAllowing = (allowedClusters: readonly string[], spec: UserSpec) =>
    planUser(managedUser(spec, now), { nowMs: now, userCleanupDays: 5, allowedClusters });

  it('ends an active grant there: its record goes, nothing is added back nor rolled', () => {
    const spec = {
      grants: [active(48, [onCluster1(readSales), onCluster1()])],
      roles: [],
      deleteAfterDate: short,
    };
    const result = planAllowing(['Cluster0'], spec);
    expect(result).toMatchObject({ action: 'update', removeOnly: true, endedGrants: [grantKey('g-48')] });
    expect(result).not.toHaveProperty('rolledTo');
    expect(result).not.toHaveProperty('update.roles');
    expect(readGrants(result.kind === 'managed' ? (result.update?.labels ?? []) : [])).toEqual([]);
    // The same user on an allowed cluster is repaired as before.
    expect(planAllowing(['Cluster1'], spec)).toMatchObject({
      action: 'update',
      removeOnly: false,
      update: {
        roles: [
          { roleName: 'read', databaseName: 'sales' },
          { roleName: 'readWrite', databaseName: 'hr' },
        ],
      },
      rolledTo: expect.any(String),
    });
  });

  it('does not end a grant there written after the sweep’s claim (less the margin): remove-only, no roll', () => {
    const claimed = now - 5 * 60_000;
    const spec = (writtenAtMs: number) => ({
      grants: [{ ...active(48, [onCluster1()]), writtenAtMs }],
      deleteAfterDate: short,
    });
    const options = {
      nowMs: now,
      userCleanupDays: 5,
      allowedClusters: ['Cluster0'],
      endsWrittenBeforeMs: claimed,
    };
    const recent = planUser(managedUser(spec(now), now), options);
    expect(recent).toMatchObject({ action: 'none', removeOnly: true });
    expect(recent).not.toHaveProperty('endedGrants');
    expect(recent).not.toHaveProperty('rolledTo');
    expect(planUser(managedUser(spec(claimed - 1000), now), options)).toMatchObject({
      action: 'update',
      endedGrants: [grantKey('g-48')],
    });
  });

  it('still removes an ended grant’s role there, and ends the active one’s', () => {
    const result = planAllowing(['Cluster0'], {
      grants: [
        { id: 'g-old', expiresAtMs: now - hourMs, roles: [onCluster1(readSales)] },
        active(2, [onCluster1()]),
      ],
    });
    expect(result).toMatchObject({
      action: 'update',
      update: { roles: [] },
      rolesRemoved: ['read@sales', 'readWrite@hr'],
      removeOnly: true,
      endedGrants: [grantKey('g-2')],
    });
  });

  // Roles reach every cluster the user is scoped to: the refused cluster's grant ends and its
  // scope goes in the same write that gives the allowed cluster's grant its role back.
  it('ends the grant on the refused cluster, and repairs and rolls the one on the allowed cluster', () => {
    const result = planAllowing(['Cluster0'], {
      grants: [active(48, [readSales]), active(49, [onCluster1()])],
      roles: [{ roleName: 'readWrite', databaseName: 'hr' }],
      deleteAfterDate: short,
    });
    expect(result).toMatchObject({
      action: 'update',
      removeOnly: false,
      endedGrants: [grantKey('g-49')],
      update: {
        roles: [{ roleName: 'read', databaseName: 'sales' }],
        scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
      },
      rolesRemoved: ['readWrite@hr'],
      rolledTo: new Date(now + 48 * hourMs).toISOString(),
      drift: { missingRoles: ['read@sales'] },
    });
  });

  it('does not roll the date of a parked user whose last grants were on a refused cluster', () => {
    const spec = {
      grants: [{ id: 'g-old', expiresAtMs: now - hourMs, roles: [onCluster1()] }],
      roles: [],
      lastRevokedAt: new Date(now).toISOString(),
      deleteAfterDate: short,
    };
    expect(planAllowing(['Cluster1'], spec)).toMatchObject({ rolledTo: expect.any(String) });
    const result = planAllowing(['Cluster0'], spec);
    expect(result).toMatchObject({ action: 'update', removeOnly: true });
    expect(result).not.toHaveProperty('rolledTo');
  });
});

/** In scope, drift repair gives back only what the local policy would give a grant now. */
describe('planUser, a role the policy now refuses', () => {
  const dbAdminSales = { cluster: 'Cluster0', roleName: 'dbAdmin', databaseName: 'sales' };
  const noDbAdmin = (role: { roleName: string }) => role.roleName !== 'dbAdmin';
  const planWith = (spec: UserSpec) =>
    planUser(managedUser(spec, now), { nowMs: now, userCleanupDays: 1, mayAdd: noDbAdmin });

  it('does not add it back when the user lacks it, reports it apart, and repairs the rest', () => {
    const result = planWith({ grants: [active(2, [readSales, writeHr, dbAdminSales])], roles: [] });
    expect(result).toMatchObject({
      action: 'update',
      update: {
        roles: [
          { roleName: 'read', databaseName: 'sales' },
          { roleName: 'readWrite', databaseName: 'hr' },
        ],
      },
      refusedRoles: ['dbAdmin@sales'],
      drift: { missingRoles: ['read@sales', 'readWrite@hr'] },
    });
  });

  it('keeps it while the user holds it: a revoke or the grant’s end takes it away', () => {
    const result = planWith({ grants: [active(2, [readSales, dbAdminSales])] });
    expect(result).toMatchObject({ action: 'none' });
    expect(result).not.toHaveProperty('refusedRoles');
  });

  it('adds no cluster scope only a refused role needs', () => {
    const result = planWith({
      grants: [active(2, [readSales]), active(3, [{ ...dbAdminSales, cluster: 'Cluster1' }])],
      roles: [{ roleName: 'read', databaseName: 'sales' }],
      scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
    });
    expect(result).toMatchObject({ action: 'none', refusedRoles: ['dbAdmin@sales'] });
    expect(result).not.toHaveProperty('drift');
  });

  it('with every role refused and missing, removes the rest and never empties the scopes', () => {
    const result = planWith({
      grants: [active(2, [dbAdminSales])],
      roles: [{ roleName: 'dbOwner', databaseName: 'sales' }],
    });
    expect(result).toMatchObject({
      action: 'update',
      update: { roles: [] },
      rolesRemoved: ['dbOwner@sales'],
      refusedRoles: ['dbAdmin@sales'],
    });
    expect(result.kind === 'managed' ? result.update : undefined).not.toHaveProperty('scopes');
    const unscoped = planWith({ grants: [active(2, [dbAdminSales])], roles: [], scopes: [] });
    expect(unscoped).toMatchObject({ update: { scopes: [{ name: 'Cluster0', type: 'CLUSTER' }] } });
  });
});

// Two integrations' grants on one per-requester user (an atlas-project and a deep-discovery
// sub-integration on one cluster; two atlas-multi-project integrations on one project).
describe('planUser, a user holding another integration’s grant', () => {
  const mine = integrationKey(integrationId);
  const theirs = integrationKey('int-other');
  const short = new Date(now + hourMs).toISOString();
  const planAs = (spec: UserSpec, allowedClusters?: readonly string[]) =>
    planUser(managedUser(spec, now), {
      nowMs: now,
      userCleanupDays: 5,
      integration: mine,
      ...(allowedClusters === undefined ? {} : { allowedClusters }),
    });
  const writeHrOn1 = { ...writeHr, cluster: 'Cluster1' };
  const grantOf = (integration: string, id: string, hours: number, roles = [readSales]) => ({
    id,
    expiresAtMs: now + hours * hourMs,
    roles,
    integration,
  });

  it('adds nothing back, and rolls deleteAfterDate to the end of this integration’s own grants only', () => {
    const result = planAs({
      grants: [grantOf(mine, 'g-mine', 48), grantOf(theirs, 'g-theirs', 9 * 24, [writeHr])],
      roles: [],
      deleteAfterDate: short,
    });
    expect(result).toMatchObject({
      action: 'update',
      removeOnly: true,
      rolledTo: new Date(now + 48 * hourMs).toISOString(),
      drift: { missingRoles: ['read@sales', 'readWrite@hr'] },
    });
    expect(result).not.toHaveProperty('update.roles');
  });

  // The other integration's sweep rolls the user for its grant: kept, this integration's grant its
  // configuration refuses would keep its access until its own end, however far.
  it('ends its own grant on a cluster off allowedClusters, keeping what the other grant needs, without a roll', () => {
    const onCluster1 = { ...readSales, cluster: 'Cluster1' };
    const refused = planAs(
      {
        grants: [grantOf(mine, 'g-mine', 48, [onCluster1, writeHrOn1]), grantOf(theirs, 'g-theirs', 48)],
        roles: [
          { roleName: 'read', databaseName: 'sales' },
          { roleName: 'readWrite', databaseName: 'hr' },
        ],
        deleteAfterDate: short,
      },
      ['Cluster0'],
    );
    expect(refused).toMatchObject({
      action: 'update',
      removeOnly: true,
      endedGrants: [grantKey('g-mine')],
      rolesRemoved: ['readWrite@hr'],
      update: {
        roles: [{ roleName: 'read', databaseName: 'sales' }],
        scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
      },
    });
    expect(refused).not.toHaveProperty('rolledTo');
    const labels = refused.kind === 'managed' ? (refused.update?.labels ?? []) : [];
    expect(readGrants(labels).map((grant) => grant.key)).toEqual([grantKey('g-theirs')]);
    // Alone on its user it is ended too, not left to the user's deleteAfterDate: the user is parked.
    const unshared = planAs({ grants: [grantOf(mine, 'g-mine', 48, [onCluster1])], deleteAfterDate: short }, [
      'Cluster0',
    ]);
    expect(unshared).toMatchObject({
      action: 'update',
      removeOnly: true,
      endedGrants: [grantKey('g-mine')],
      update: { roles: [] },
      rolesRemoved: ['read@sales'],
    });
    expect(unshared).not.toHaveProperty('rolledTo');
  });

  it('does not roll for another’s grants alone', () => {
    const alone = planAs({ grants: [grantOf(theirs, 'g-theirs', 48)], deleteAfterDate: short });
    expect(alone).toMatchObject({ action: 'none', removeOnly: true });
    // Its own grants alone: repaired and rolled as before, whichever integration wrote it last.
    expect(
      planAs({ grants: [grantOf(mine, 'g-mine', 48)], roles: [], deleteAfterDate: short }),
    ).toMatchObject({
      action: 'update',
      removeOnly: false,
      update: { roles: [{ roleName: 'read', databaseName: 'sales' }] },
      rolledTo: new Date(now + 48 * hourMs).toISOString(),
    });
  });

  it('does not roll the cleanup of a parked user whose last grants were another integration’s', () => {
    const ended = { ...grantOf(theirs, 'g-theirs', 0), expiresAtMs: now - hourMs };
    const result = planAs({ grants: [ended], roles: [], deleteAfterDate: short });
    expect(result).toMatchObject({ action: 'update', removeOnly: true });
    expect(result).not.toHaveProperty('rolledTo');
  });
});
