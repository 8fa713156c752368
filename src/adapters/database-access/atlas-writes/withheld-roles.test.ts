import { describe, expect, it } from 'vitest';
import type { DatabaseUser } from '../../../atlas/index.js';
import {
  alice,
  clusterName,
  harness,
  perRequesterUser,
  projectId,
  type Harness,
} from '../../../../test/kits/grant-test-kit.js';
import { customRoleSpec } from './custom-roles.js';
import { grantKey, readGrants } from '../model/user-model.js';

/**
 * Alice's per-requester user holds g-admin (an admin-class role, given while the policy allowed
 * it) and g-sales. The operator then turned POLICY_ALLOW_ADMIN_ROLES off and took the admin-class
 * role off the user by hand, to cut that grant short. A grant, renew or revoke on her other grants
 * rewrites her roles from the grant labels: it must not hand the refused role back, as the sweep
 * does not (docs/database-access.md, "Sweep never hands out a role the policy now refuses").
 */
const username = perRequesterUser(alice);
const readSales = { cluster: clusterName, role: 'read', database: 'sales' };
const writeOrders = { cluster: clusterName, role: 'readWrite', database: 'orders' };
const spyActions = { cluster: clusterName, actions: ['SERVER_STATUS', 'FIND'], database: 'sales' };
const spyRole = customRoleSpec(spyActions).roleName;
const findSales = { cluster: clusterName, actions: ['FIND'], database: 'sales' };
const findRole = customRoleSpec(findSales).roleName;

type Setup = {
  readonly access: object;
  readonly held: string;
  readonly deleteRole?: boolean;
  /** The connector role is made to inherit an admin-class role outside the connector. */
  readonly widenRole?: boolean;
};

const cases: readonly (Setup & { readonly name: string })[] = [
  {
    name: 'a built-in admin-class role',
    access: { cluster: clusterName, role: 'readAnyDatabase' },
    held: 'readAnyDatabase@admin',
  },
  { name: 'an admin-class connector role', access: spyActions, held: `${spyRole}@admin` },
  // Sweep deletes a connector role no user holds: the user's other writes must not name it.
  { name: 'a connector role since deleted', access: spyActions, held: `${spyRole}@admin`, deleteRole: true },
  {
    name: 'a connector role made to inherit an admin-class role',
    access: findSales,
    held: `${findRole}@admin`,
    widenRole: true,
  },
];

const roleKeys = (user: DatabaseUser | undefined) =>
  (user?.roles ?? []).map((r) => `${r.roleName}@${r.databaseName}`).sort();

/** The project as the lenient connector left it, the admin role removed by hand; the strict connector on it. */
async function drifted(setup: Setup): Promise<Harness> {
  const lenient = harness({ policy: { allowAdminRoles: true } });
  await lenient.grant({ grantId: 'g-admin', access: [setup.access] });
  await lenient.grant({ grantId: 'g-sales', access: [readSales] });
  const strict = harness();
  const inheritedRoles = setup.widenRole ? [{ db: 'admin', role: 'readWriteAnyDatabase' }] : [];
  for (const role of lenient.atlas.customRolesIn(projectId))
    strict.atlas.addCustomRole(projectId, {
      ...role,
      inheritedRoles: [...role.inheritedRoles, ...inheritedRoles],
    });
  const user = lenient.atlas.user(projectId, username);
  if (user === undefined) throw new Error('the lenient grants made no user');
  expect(roleKeys(user)).toContain(setup.held);
  const kept = user.roles.filter((r) => `${r.roleName}@${r.databaseName}` !== setup.held);
  strict.atlas.addUser(projectId, { ...user, roles: kept });
  if (setup.deleteRole) strict.atlas.removeCustomRole(projectId, spyRole);
  return strict;
}

describe('a role the policy now refuses, removed by hand, is not handed back by a write on the user', () => {
  it.each(cases)('grant, with $name', async (setup) => {
    const h = await drifted(setup);

    await h.grant({ grantId: 'g-orders', access: [writeOrders] });

    const user = h.atlas.user(projectId, username);
    expect(roleKeys(user)).toEqual(['read@sales', 'readWrite@orders']);
    // The record stays: its revoke or end still takes it away, and sweep reports it refused.
    expect(readGrants(user?.labels ?? []).map((g) => g.key)).toContain(grantKey('g-admin'));
  });

  it.each(cases)('renew, with $name', async (setup) => {
    const h = await drifted(setup);

    await h.renew({ grantId: 'g-sales' });

    expect(roleKeys(h.atlas.user(projectId, username))).toEqual(['read@sales']);
  });

  it.each(cases)('revoke, with $name', async (setup) => {
    const h = await drifted(setup);
    await h.grant({ grantId: 'g-orders', access: [writeOrders] });

    const result = await h.revoke({ grantId: 'g-orders' });

    expect(result).toMatchObject({ outcome: 'revoked' });
    expect(roleKeys(h.atlas.user(projectId, username))).toEqual(['read@sales']);
  });

  it('still gives back a role the policy allows (drift repaired, as sweep does)', async () => {
    const h = await drifted({ access: writeOrders, held: 'readWrite@orders' });

    await h.renew({ grantId: 'g-sales' });

    expect(roleKeys(h.atlas.user(projectId, username))).toEqual(['read@sales', 'readWrite@orders']);
  });
});

// Both grants record the one connector role (same privileges, same role); sweep deleted it once the
// user no longer held it. A revoke of her third grant then leaves her no role at all: the user
// stays scoped to its cluster, never unscoped (which would reach every cluster of the project).
// A renew of either grant is refused (its own role is gone: renew.test.ts), so writes nothing.
it('never writes the scopes empty when every role is withheld', async () => {
  const lenient = harness({ policy: { allowAdminRoles: true } });
  await lenient.grant({ grantId: 'g-admin', access: [spyActions] });
  await lenient.grant({ grantId: 'g-again', access: [spyActions] });
  await lenient.grant({ grantId: 'g-sales', access: [readSales] });
  const h = harness();
  const user = lenient.atlas.user(projectId, username);
  if (user === undefined) throw new Error('the lenient grants made no user');
  h.atlas.addUser(projectId, { ...user, roles: user.roles.filter((r) => r.roleName !== spyRole) });

  await expect(h.renew({ grantId: 'g-again', ttlSeconds: 4 * 3600 })).rejects.toMatchObject({
    code: 'invalid_request',
  });
  const revoked = await h.revoke({ grantId: 'g-sales' });

  expect(revoked).toMatchObject({ outcome: 'revoked' });
  expect(h.atlas.callsTo('databaseUsers.update')).toHaveLength(1);
  const after = h.atlas.user(projectId, username);
  expect(after?.roles).toEqual([]);
  expect(after?.scopes).toEqual([{ name: clusterName, type: 'CLUSTER' }]);
  expect(
    readGrants(after?.labels ?? [])
      .map((g) => g.key)
      .sort(),
  ).toEqual([grantKey('g-admin'), grantKey('g-again')].sort());
});

/**
 * Alice's g-analyst gave her the project's custom role `analyst`. Atlas refuses to delete a custom
 * role a user holds, so the operator took it off her by hand, then deleted it. Atlas refuses a
 * write naming a role the project does not define (400 ATLAS_INVALID_ROLE): a grant, renew or
 * revoke of her other grants must leave it out, or it fails and, for a revoke, leaves the access
 * it was to take away.
 */
describe('a custom role the project no longer defines, removed by hand, is not named by a write on the user', () => {
  const analyst = {
    roleName: 'analyst',
    actions: [{ action: 'FIND', resources: [{ db: 'sales', collection: '' }] }],
    inheritedRoles: [],
  };
  async function deleted(): Promise<Harness> {
    const h = harness();
    h.atlas.addCustomRole(projectId, analyst);
    await h.grant({ grantId: 'g-analyst', access: [{ cluster: clusterName, role: 'analyst' }] });
    await h.grant({ grantId: 'g-sales', access: [readSales] });
    const user = h.atlas.user(projectId, username);
    if (user === undefined) throw new Error('the grants made no user');
    h.atlas.addUser(projectId, { ...user, roles: user.roles.filter((r) => r.roleName !== 'analyst') });
    h.atlas.removeCustomRole(projectId, 'analyst');
    return h;
  }

  it('grant', async () => {
    const h = await deleted();
    await h.grant({ grantId: 'g-orders', access: [writeOrders] });
    expect(roleKeys(h.atlas.user(projectId, username))).toEqual(['read@sales', 'readWrite@orders']);
  });

  it('renew', async () => {
    const h = await deleted();
    await h.renew({ grantId: 'g-sales' });
    expect(roleKeys(h.atlas.user(projectId, username))).toEqual(['read@sales']);
  });

  it('revoke', async () => {
    const h = await deleted();
    const result = await h.revoke({ grantId: 'g-sales' });
    expect(result).toMatchObject({ outcome: 'revoked' });
    expect(roleKeys(h.atlas.user(projectId, username))).toEqual([]);
  });

  it('revoke, the role deleted between its read of the custom roles and its write: retried, not failed for good', async () => {
    const h = await deleted();
    h.atlas.addCustomRole(projectId, analyst);
    // A sweep (its own key) deletes the role no user holds, after the revoke listed it as defined.
    h.atlas.beforeNext('databaseUsers.update', () => h.atlas.removeCustomRole(projectId, 'analyst'));

    await expect(h.revoke({ grantId: 'g-sales' })).rejects.toMatchObject({
      code: 'conflict',
      retryable: true,
    });
    expect(roleKeys(h.atlas.user(projectId, username))).toEqual(['read@sales']);

    expect(await h.revoke({ grantId: 'g-sales' })).toMatchObject({ outcome: 'revoked' });
    expect(roleKeys(h.atlas.user(projectId, username))).toEqual([]);
  });
});
