import { describe, expect, it } from 'vitest';
import {
  dayMs,
  hourMs,
  managedUser,
  readSales,
  writeHr,
  type UserSpec,
} from '../../../../test/kits/discover-test-kit.js';
import { planUser } from './sweep-plan.js';
import { labelKeys } from '../model/user-model.js';

const now = Date.UTC(2026, 10, 24, 12);
const plan = (spec: UserSpec, nowMs = now) => planUser(managedUser(spec, now), { nowMs, userCleanupDays: 1 });
const active = (hours: number, roles = [readSales]) => ({
  id: `g-${hours}`,
  expiresAtMs: now + hours * hourMs,
  roles,
});

describe('planUser', () => {
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
