import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { customRoleSpec, maxCustomRolesPerUser } from './custom-roles.js';
import {
  alice,
  bob,
  clusterName,
  harness,
  perRequesterUser,
  projectId,
  type HarnessOptions,
} from '../../../../test/kits/grant-test-kit.js';
import { GrantPayload } from '../model/payloads.js';
import { labelKeys, readGrants } from '../model/user-model.js';

const customRolesLimit = 'atlas.project.security.databaseAccess.customRoles';
const ordersEntry = {
  cluster: clusterName,
  actions: ['INSERT', 'FIND'],
  database: 'sales',
  collection: 'orders',
};
const roleName = `jit-r-${createHash('sha256')
  .update(JSON.stringify({ actions: ['FIND', 'INSERT'], db: 'sales', collection: 'orders' }))
  .digest('hex')
  .slice(0, 16)}`;
const ordersRole = {
  roleName,
  actions: [
    { action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: 'orders' }] },
    { action: 'INSERT', resources: [{ cluster: false, db: 'sales', collection: 'orders' }] },
  ],
};
const aliceUser = perRequesterUser(alice);
const bobUser = perRequesterUser(bob);

describe('customRoleSpec', () => {
  it('names the role by a hash of its sorted actions, database and collection', () => {
    const spec = customRoleSpec({ actions: ['INSERT', 'FIND'], database: 'sales', collection: 'orders' });
    expect(spec).toEqual({ roleName, actions: ['FIND', 'INSERT'], db: 'sales', collection: 'orders' });
    expect(customRoleSpec({ actions: ['FIND', 'INSERT'], database: 'sales', collection: 'orders' })).toEqual(
      spec,
    );
    expect(customRoleSpec({ actions: ['FIND', 'INSERT'], database: 'sales' }).roleName).not.toBe(roleName);
    expect(customRoleSpec({ actions: ['FIND'], database: 'sales', collection: 'orders' }).roleName).not.toBe(
      roleName,
    );
  });
});

describe('grant with actions (connector-made custom roles)', () => {
  it('creates exactly one jit-r- role with the privileges and assigns it on admin', async () => {
    const h = harness();

    const result = await h.grant({ access: [ordersEntry] });

    expect(h.atlas.methods()).toEqual([
      'clusters.get',
      'databaseUsers.get',
      'customDbRoles.list',
      'projectLimits.get',
      'customDbRoles.create',
      'databaseUsers.create',
      'clusters.status',
      // read back once applied: the connector role is still on the user
      'databaseUsers.get',
    ]);
    expect(h.atlas.callsTo('customDbRoles.list')).toEqual([[projectId]]);
    expect(h.atlas.callsTo('projectLimits.get')).toEqual([[projectId, customRolesLimit]]);
    expect(h.atlas.callsTo('customDbRoles.create')).toEqual([[projectId, ordersRole]]);
    expect(h.atlas.customRolesIn(projectId)).toEqual([{ ...ordersRole, inheritedRoles: [] }]);
    const created = h.atlas.callsTo('databaseUsers.create')[0]?.[1];
    expect(created).toMatchObject({ username: aliceUser, roles: [{ roleName, databaseName: 'admin' }] });
    expect(result.roles).toEqual([{ roleName, databaseName: 'admin' }]);
    const labels = h.atlas.user(projectId, aliceUser)?.labels ?? [];
    expect(readGrants(labels)[0]?.roles).toEqual([{ cluster: clusterName, roleName, databaseName: 'admin' }]);
    expect(labels.some((l) => l.key.startsWith(labelKeys.grantPrefix))).toBe(true);
    expect(h.ungatedWrites()).toEqual([]);
  });

  it('reuses the role for an identical grant of another requester without creating it again', async () => {
    const h = harness();
    await h.grant({ access: [ordersEntry] });
    h.clearCalls();

    await h.grant({
      grantId: 'g-2',
      requester: bob,
      access: [{ ...ordersEntry, actions: ['FIND', 'INSERT'] }],
    });

    expect(h.atlas.callsTo('customDbRoles.list')).toEqual([[projectId]]);
    expect(h.atlas.callsTo('customDbRoles.create')).toEqual([]);
    // Reusing a role needs no quota read at all.
    expect(h.atlas.callsTo('projectLimits.get')).toEqual([]);
    expect(h.atlas.customRolesIn(projectId).map((r) => r.roleName)).toEqual([roleName]);
    expect(h.atlas.user(projectId, bobUser)?.roles).toEqual([{ roleName, databaseName: 'admin' }]);
  });

  it('merges a custom role into an existing per-requester user next to its built-in roles', async () => {
    const h = harness();
    await h.grant();
    h.clearCalls();

    await h.grant({ grantId: 'g-2', access: [ordersEntry] });

    expect(h.atlas.methods()).toEqual([
      // the cluster was read by the first grant, less than a minute ago
      'databaseUsers.get',
      'customDbRoles.list',
      'projectLimits.get',
      'customDbRoles.create',
      'databaseUsers.update',
      'clusters.status',
      // read back once applied: the connector role is still on the user
      'databaseUsers.get',
    ]);
    expect(h.atlas.callsTo('databaseUsers.update')[0]?.[3]).toMatchObject({
      roles: [
        { roleName, databaseName: 'admin' },
        { roleName: 'read', databaseName: 'sales' },
      ],
    });
  });

  it('fails with quota_exceeded naming the limit when the project has no room: no create, no user write', async () => {
    const h = harness();
    h.atlas.addCustomRole(projectId, {
      roleName: 'analyst',
      actions: [],
      inheritedRoles: [{ db: 'sales', role: 'read' }],
    });
    h.atlas.setLimit(projectId, customRolesLimit, 1);

    const failure = h.grant({ access: [ordersEntry] });

    await expect(failure).rejects.toMatchObject({ code: 'quota_exceeded', retryable: false });
    await expect(failure).rejects.toThrow(
      'custom roles quota reached in project 5f1a2b3c4d5e6f7a8b9c0d1e (1/1); raise atlas.project.security.databaseAccess.customRoles (up to 1400) or let sweep remove unused jit-r- roles',
    );
    expect(h.atlas.callsTo('customDbRoles.create')).toEqual([]);
    expect(h.atlas.callsTo('databaseUsers.create')).toEqual([]);
    expect(h.atlas.callsTo('databaseUsers.update')).toEqual([]);
    expect(h.atlas.usersIn(projectId)).toEqual([]);
  });

  it('reuses an existing role even when the quota is full', async () => {
    const h = harness();
    h.atlas.addCustomRole(projectId, { ...ordersRole, inheritedRoles: [] });
    h.atlas.setLimit(projectId, customRolesLimit, 1);

    await h.grant({ access: [ordersEntry] });

    expect(h.atlas.callsTo('customDbRoles.create')).toEqual([]);
    expect(h.atlas.user(projectId, aliceUser)?.roles).toEqual([{ roleName, databaseName: 'admin' }]);
  });

  it('restores a connector role someone widened, before giving it to anyone', async () => {
    const h = harness();
    const widened = {
      roleName,
      actions: [
        ...ordersRole.actions,
        { action: 'DROP_DATABASE', resources: [{ cluster: false, db: 'sales', collection: '' }] },
      ],
      inheritedRoles: [{ db: 'admin', role: 'readWriteAnyDatabase' }],
    };
    h.atlas.addCustomRole(projectId, widened);

    await h.grant({ access: [ordersEntry] });

    expect(h.atlas.callsTo('customDbRoles.update')).toEqual([
      [projectId, roleName, { actions: ordersRole.actions, inheritedRoles: [] }],
    ]);
    expect(h.atlas.customRolesIn(projectId)).toEqual([{ ...ordersRole, inheritedRoles: [] }]);
    expect(h.atlas.callsTo('customDbRoles.create')).toEqual([]);
    expect(h.atlas.user(projectId, aliceUser)?.roles).toEqual([{ roleName, databaseName: 'admin' }]);
    expect(h.logs.lines().some((line) => String(line.msg).includes('restoring its privileges'))).toBe(true);
  });

  it('writes once more when a sweep removed the role between its check and the user write', async () => {
    const h = harness();
    // Atlas itself refuses the create: the role it names no longer exists.
    h.atlas.beforeNext('databaseUsers.create', () => h.atlas.removeCustomRole(projectId, roleName));

    await h.grant({ access: [ordersEntry] });

    expect(h.atlas.callsTo('customDbRoles.create')).toHaveLength(2);
    expect(h.atlas.callsTo('databaseUsers.create')).toHaveLength(2);
    expect(h.atlas.customRolesIn(projectId).map((r) => r.roleName)).toEqual([roleName]);
    expect(h.atlas.user(projectId, aliceUser)?.roles).toEqual([{ roleName, databaseName: 'admin' }]);
  });

  it.each(['per-requester', 'per-grant'] as const)(
    'puts the role back when a sweep deleted it from under the user after the write (%s)',
    async (userStrategy) => {
      const h = harness({ config: { userStrategy } });
      // Atlas refuses only a delete that leaves a user with no role: this user keeps `read`.
      h.atlas.setKnobs({ customRoleDeletion: 'refuseIfStranding' });
      h.atlas.beforeNext('clusters.status', () => h.atlas.removeCustomRole(projectId, roleName));

      const result = await h.grant({
        access: [ordersEntry, { cluster: clusterName, role: 'read', database: 'sales' }],
      });

      expect(h.atlas.customRolesIn(projectId)).toEqual([{ ...ordersRole, inheritedRoles: [] }]);
      expect(h.atlas.user(projectId, result.username)?.roles).toEqual(
        expect.arrayContaining([{ roleName, databaseName: 'admin' }]),
      );
      // The password the result carries is the one the user holds after the second write.
      const password = h.atlas.passwordOf(projectId, result.username);
      expect(password).toEqual(expect.any(String));
      expect(result).toMatchObject({ password });
      expect(h.logs.lines().some((line) => String(line.msg).includes('writing again'))).toBe(true);
    },
  );

  it('gives up with a retryable conflict when the role is deleted from under the user twice', async () => {
    const h = harness();
    h.atlas.setKnobs({ customRoleDeletion: 'refuseIfStranding' });
    const strip = () => h.atlas.removeCustomRole(projectId, roleName);
    h.atlas.beforeNext('clusters.status', strip).beforeNext('clusters.status', strip);

    await expect(
      h.grant({ access: [ordersEntry, { cluster: clusterName, role: 'read', database: 'sales' }] }),
    ).rejects.toMatchObject({ code: 'conflict', retryable: true });
  });

  it('gives up with a retryable conflict when the role vanishes twice', async () => {
    const h = harness({ config: { userStrategy: 'per-grant' } });
    h.atlas.failNext('databaseUsers.create', 'ATLAS_INVALID_ROLE', 2);

    await expect(h.grant({ access: [ordersEntry] })).rejects.toMatchObject({
      code: 'conflict',
      retryable: true,
      message: expect.stringContaining('retried and recreates it'),
    });
  });

  it('leaves an unchanged connector role alone: no write', async () => {
    const h = harness();
    h.atlas.addCustomRole(projectId, { ...ordersRole, inheritedRoles: [] });

    await h.grant({ access: [ordersEntry] });

    expect(h.atlas.callsTo('customDbRoles.update')).toEqual([]);
  });

  it('maps a CUSTOM_ROLES_LIMIT_EXCEEDED refusal of the create to the same quota error', async () => {
    const h = harness();
    h.atlas.failNext('customDbRoles.create', 'CUSTOM_ROLES_LIMIT_EXCEEDED');

    await expect(h.grant({ access: [ordersEntry] })).rejects.toMatchObject({
      code: 'quota_exceeded',
      message: expect.stringContaining('atlas.project.security.databaseAccess.customRoles'),
    });
    expect(h.atlas.callsTo('databaseUsers.create')).toEqual([]);
  });

  it('treats a 409 on create (a racing grant made the role) as reuse', async () => {
    const h = harness();
    h.atlas.beforeNext('customDbRoles.create', () => {
      h.atlas.addCustomRole(projectId, { ...ordersRole, inheritedRoles: [] });
    });

    await h.grant({ access: [ordersEntry] });

    expect(h.atlas.callsTo('customDbRoles.create')).toEqual([[projectId, ordersRole]]);
    expect(h.atlas.customRolesIn(projectId)).toHaveLength(1);
    expect(h.atlas.user(projectId, aliceUser)?.roles).toEqual([{ roleName, databaseName: 'admin' }]);
  });

  it('creates the role for a per-grant user too', async () => {
    const h = harness({ config: { userStrategy: 'per-grant' } });

    const result = await h.grant({ access: [{ ...ordersEntry, collection: undefined }] });

    const wholeDb = customRoleSpec({ actions: ['FIND', 'INSERT'], database: 'sales' });
    expect(h.atlas.methods()).toEqual([
      'clusters.get',
      'customDbRoles.list',
      'projectLimits.get',
      'customDbRoles.create',
      'databaseUsers.create',
      'clusters.status',
      // read back once applied: the connector role is still on the user
      'databaseUsers.get',
    ]);
    expect(h.atlas.callsTo('customDbRoles.create')[0]?.[1]).toEqual({
      roleName: wholeDb.roleName,
      actions: [
        { action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: '' }] },
        { action: 'INSERT', resources: [{ cluster: false, db: 'sales', collection: '' }] },
      ],
    });
    expect(result.roles).toEqual([{ roleName: wholeDb.roleName, databaseName: 'admin' }]);
  });

  it(`refuses a grant that would give one user more than ${maxCustomRolesPerUser} custom roles`, async () => {
    const h = harness();
    const entries = Array.from({ length: 20 }, (_, i) => ({ ...ordersEntry, database: `db${i}` }));
    await h.grant({ access: entries });
    h.clearCalls();

    const failure = h.grant({ grantId: 'g-2', access: [ordersEntry] });

    await expect(failure).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(failure).rejects.toThrow(
      `access: database user ${aliceUser} would hold 21 custom roles with this grant; Atlas allows at most 20 custom roles per user`,
    );
    expect(h.atlas.callsTo('customDbRoles.create')).toEqual([]);
    expect(h.atlas.callsTo('databaseUsers.update')).toEqual([]);
  });

  it('leaves the role on revoke (sweep deletes unused jit-r- roles later)', async () => {
    const h = harness();
    await h.grant({ access: [ordersEntry] });
    h.clearCalls();

    const revoked = await h.revoke();

    expect(revoked).toMatchObject({
      outcome: 'revoked',
      removedRoles: [{ roleName, databaseName: 'admin' }],
      remainingRoles: [],
    });
    expect(h.atlas.methods()).not.toContain('customDbRoles.delete');
    expect(h.atlas.customRolesIn(projectId).map((r) => r.roleName)).toEqual([roleName]);
    expect(h.atlas.user(projectId, aliceUser)?.roles).toEqual([]);
  });
});

describe('actions access entries: validation', () => {
  const base = { grantId: 'g-1', requester: alice, ttlSeconds: 3600 };
  const issues = (access: unknown[]) =>
    GrantPayload.safeParse({ ...base, access }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

  const twentyOne = Array.from({ length: 21 }, (_, i) => `A_${i}`);
  it.each<[string, Record<string, unknown>, string | RegExp]>([
    [
      'role and actions together, naming both fields',
      { ...ordersEntry, role: 'read' },
      'access.0: role and actions are mutually exclusive: give role (a built-in or project custom role) or actions (privileges), not both',
    ],
    ['neither role nor actions', { cluster: clusterName }, 'access.0: role or actions is required'],
    [
      'a repeated action',
      { ...ordersEntry, actions: ['FIND', 'FIND'] },
      'access.0.actions: must not repeat an action',
    ],
    ['actions without a database', { cluster: clusterName, actions: ['FIND'] }, /^access\.0: database: /],
    ['no actions', { ...ordersEntry, actions: [] }, /^access\.0(\.|: )actions: /],
    // The grant label separates roles with commas: such a grant could not be read back to revoke.
    ['a comma in the database name', { ...ordersEntry, database: 'a,b' }, /^access\.0\.database: /],
    [
      'a lone surrogate in the collection name',
      { ...ordersEntry, collection: 'x\ud800' },
      'access.0.collection: must be well-formed Unicode (it has a lone surrogate)',
    ],
    ['more than 20 actions', { ...ordersEntry, actions: twentyOne }, /^access\.0(\.|: )actions: /],
    ['an unknown field', { ...ordersEntry, extra: 1 }, /^access\.0: .*extra/],
    ['a role that is not a string', { cluster: clusterName, role: 5 }, /^access\.0: role: /],
  ])('refuses %s, naming the failing field of the chosen form', (_case, entry, expected) => {
    const found = issues([entry]);
    if (typeof expected === 'string') expect(found).toEqual([expected]);
    else expect(found?.[0]).toMatch(expected);
  });

  it('accepts a complete actions entry', () => {
    expect(issues([ordersEntry])).toBeUndefined();
  });

  it('lets an admin-class action through when the policy allows admin roles', async () => {
    const h = harness({ policy: { allowAdminRoles: true } });
    await h.grant({ access: [{ ...ordersEntry, actions: ['DROP_DATABASE'], collection: undefined }] });
    expect(h.atlas.customRolesIn(projectId)[0]?.actions).toEqual([
      { action: 'DROP_DATABASE', resources: [{ cluster: false, db: 'sales', collection: '' }] },
    ]);
  });

  it.each<[string, HarnessOptions, Record<string, unknown>, string, unknown]>([
    [
      'denies an admin-class action with policy_denied naming it',
      {},
      { ...ordersEntry, actions: ['FIND', 'DROP_DATABASE'] },
      'policy_denied',
      'access[0].actions[1]: DROP_DATABASE is not a data-plane action (admin-class), denied unless the connector policy sets POLICY_ALLOW_ADMIN_ROLES=true',
    ],
    [
      'refuses an action Atlas does not know with invalid_request',
      { policy: { allowAdminRoles: true } },
      { ...ordersEntry, actions: ['SHUTDOWN'] },
      'invalid_request',
      'access[0].actions[0]: SHUTDOWN is not an Atlas privilege action',
    ],
    [
      'denies custom privileges while POLICY_ALLOWED_ROLES restricts roles',
      { policy: { allowedRoles: ['read'] } },
      ordersEntry,
      'policy_denied',
      expect.stringMatching(/^access\[0\]\.actions: .*POLICY_ALLOWED_ROLES/),
    ],
    [
      'refuses an actions entry on another cluster of an atlas-project integration',
      {},
      { ...ordersEntry, cluster: 'Analytics' },
      'invalid_request',
      expect.stringMatching(/^access\[0\]\.cluster: /),
    ],
  ])('%s, before any Atlas call', async (_case, options, entry, code, message) => {
    const h = harness(options);
    await expect(h.grant({ access: [entry] })).rejects.toMatchObject({ code, retryable: false, message });
    expect(h.atlas.calls).toEqual([]);
  });
});
