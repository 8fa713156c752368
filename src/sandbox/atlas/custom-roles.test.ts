import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { field } from '../../../test/contract/digest-client.js';
import { dbUserBody, startHarness, type Harness } from '../../../test/contract/sim-harness.js';
import { sandboxIds } from './default-fixture.js';

const groupId = sandboxIds.payments;
const roles = `/groups/${groupId}/customDBRoles/roles`;
const customRolesLimit = `/groups/${groupId}/limits/atlas.project.security.databaseAccess.customRoles`;

function roleBody(roleName: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    roleName,
    actions: [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: 'orders' }] }],
    inheritedRoles: [],
    ...overrides,
  };
}

describe('custom database roles', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.sim.knobs.rateLimit.enabled = false;
  });
  afterEach(async () => h.close());

  const create = (name: string, overrides: Record<string, unknown> = {}) =>
    h.client.call('POST', roles, { body: roleBody(name, overrides) });

  it('creates a role with 202 Accepted and lists it as a plain array', async () => {
    const created = await create('jit-read-orders');
    expect(created.status).toBe(202);
    expect(created.json).toEqual(roleBody('jit-read-orders'));
    const list = await h.client.call('GET', roles);
    expect(list.json).toEqual([roleBody('jit-read-orders')]);
  });

  it.each([
    ['a name with a dot', 'jit.read', 'ATLAS_CUSTOM_ROLE_INVALID_NAME'],
    ['a name starting with a hyphen', '-jit', 'ATLAS_CUSTOM_ROLE_INVALID_NAME'],
    ['a built-in role name', 'readWrite', 'ATLAS_INVALID_CUSTOM_ROLE_RESTRICTED'],
    ['the reserved xgen- prefix', 'xgen-thing', 'ATLAS_RESERVED_CUSTOM_ROLE_RESTRICTED'],
  ])('refuses %s with 400 %s', async (_name, roleName, code) => {
    const result = await create(roleName);
    expect(result.status).toBe(400);
    expect(result.json).toMatchObject({ errorCode: code });
  });

  it.each([
    ['no actions and no inherited roles', { actions: [] }, 'ATLAS_CUSTOM_ROLE_HAS_NO_PERMISSIONS'],
    [
      'a duplicated action',
      {
        actions: [
          { action: 'FIND', resources: [] },
          { action: 'FIND', resources: [] },
        ],
      },
      'ATLAS_DUPLICATE_CUSTOM_ROLE_ACTION',
    ],
    ['an unknown action', { actions: [{ action: 'READ_EVERYTHING', resources: [] }] }, 'INVALID_ENUM_VALUE'],
    [
      'an unknown inherited role',
      { inheritedRoles: [{ db: 'admin', role: 'nope' }] },
      'ATLAS_INVALID_CUSTOM_ROLE_INHERITANCE',
    ],
    [
      'an inherited role listed twice (the spec: inheritedRoles uniqueItems)',
      {
        inheritedRoles: [
          { db: 'sales', role: 'read' },
          { db: 'sales', role: 'read' },
        ],
      },
      'INVALID_ATTRIBUTE',
    ],
    [
      'a resource missing its cluster flag',
      { actions: [{ action: 'FIND', resources: [{ db: 'sales', collection: '' }] }] },
      'MISSING_ATTRIBUTE',
    ],
  ])('refuses %s with 400 %s', async (_name, overrides, code) => {
    const result = await create('jit-role', overrides);
    expect(result.status).toBe(400);
    expect(result.json).toMatchObject({ errorCode: code });
  });

  it('answers 409 ATLAS_CUSTOM_ROLE_NAME_ALREADY_EXISTS for a duplicate name', async () => {
    await create('jit-role');
    const again = await create('jit-role');
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ errorCode: 'ATLAS_CUSTOM_ROLE_NAME_ALREADY_EXISTS' });
  });

  it('answers 404 ATLAS_CUSTOM_ROLE_NOT_FOUND for an unknown role', async () => {
    const result = await h.client.call('GET', `${roles}/missing`);
    expect(result.status).toBe(404);
    expect(result.json).toMatchObject({ errorCode: 'ATLAS_CUSTOM_ROLE_NOT_FOUND', parameters: ['missing'] });
  });

  it('replaces actions on PATCH and refuses a circular inheritance', async () => {
    await create('parent-role');
    await create('child-role', { actions: [], inheritedRoles: [{ db: 'admin', role: 'parent-role' }] });
    const patched = await h.client.call('PATCH', `${roles}/parent-role`, {
      body: { actions: [{ action: 'INSERT', resources: [{ cluster: false, db: 'sales', collection: '' }] }] },
    });
    expect(patched.status).toBe(200);
    expect(field(patched.json, 'actions', 0, 'action')).toBe('INSERT');
    const circular = await h.client.call('PATCH', `${roles}/parent-role`, {
      body: { inheritedRoles: [{ db: 'admin', role: 'child-role' }] },
    });
    expect(circular.json).toMatchObject({ errorCode: 'ATLAS_INVALID_CUSTOM_ROLE_CIRCULAR_DEPENDENCY' });
  });

  it('refuses a PATCH that lists an inherited role twice, and keeps the role as it was', async () => {
    await create('jit-role');
    const twice = [
      { db: 'sales', role: 'read' },
      { db: 'sales', role: 'read' },
    ];
    const result = await h.client.call('PATCH', `${roles}/jit-role`, { body: { inheritedRoles: twice } });
    expect(result.status).toBe(400);
    expect(result.json).toMatchObject({ errorCode: 'INVALID_ATTRIBUTE', parameters: ['inheritedRoles'] });
    expect((await h.client.call('GET', `${roles}/jit-role`)).json).toEqual(roleBody('jit-role'));
  });

  const grantWithRead = async (roleName: string): Promise<void> => {
    const body = dbUserBody(groupId, {
      roles: [
        { roleName, databaseName: 'admin' },
        { roleName: 'read', databaseName: 'sales' },
      ],
    });
    expect((await h.client.call('POST', `/groups/${groupId}/databaseUsers`, { body })).status).toBe(201);
  };

  it('refuses to delete a role a user still holds, and deletes it once the user is gone', async () => {
    await create('jit-held');
    await grantWithRead('jit-held');
    const refused = await h.client.call('DELETE', `${roles}/jit-held`);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({
      errorCode: 'ATLAS_CUSTOM_ROLE_IN_USE_BY_USERS',
      parameters: ['jit-alice-1'],
    });
    await h.client.call('DELETE', `/groups/${groupId}/databaseUsers/admin/jit-alice-1`);
    expect((await h.client.call('DELETE', `${roles}/jit-held`)).status).toBe(204);
  });

  it('with refuseIfStranding, deletes a held role and strips it from a user who keeps another role', async () => {
    h.sim.knobs.customRoleDeletion = 'refuseIfStranding';
    await create('jit-held');
    await grantWithRead('jit-held');
    expect((await h.client.call('DELETE', `${roles}/jit-held`)).status).toBe(204);
    expect(h.sim.state.databaseUser(groupId, 'jit-alice-1')?.roles).toEqual([
      { roleName: 'read', databaseName: 'sales' },
    ]);
    await create('jit-only');
    const only = dbUserBody(groupId, {
      username: 'solo',
      roles: [{ roleName: 'jit-only', databaseName: 'admin' }],
    });
    await h.client.call('POST', `/groups/${groupId}/databaseUsers`, { body: only });
    expect((await h.client.call('DELETE', `${roles}/jit-only`)).json).toMatchObject({ parameters: ['solo'] });
  });

  it('refuses a custom role granted outside the admin database', async () => {
    await create('jit-role');
    const body = dbUserBody(groupId, { roles: [{ roleName: 'jit-role', databaseName: 'sales' }] });
    const result = await h.client.call('POST', `/groups/${groupId}/databaseUsers`, { body });
    expect(result.json).toMatchObject({ errorCode: 'ATLAS_INVALID_ROLE_DATABASE' });
  });

  it('stops at 100 roles per project until the limit is raised through the limits API', async () => {
    for (let i = 0; i < 100; i += 1) expect((await create(`r${i}`)).status).toBe(202);
    const over = await create('r100');
    expect(over.status).toBe(403);
    expect(over.json).toMatchObject({ errorCode: 'CUSTOM_ROLES_LIMIT_EXCEEDED' });
    const before = await h.client.call('GET', customRolesLimit);
    expect(before.json).toEqual({
      name: 'atlas.project.security.databaseAccess.customRoles',
      value: 100,
      currentUsage: 100,
      defaultLimit: 100,
      maximumLimit: 1400,
    });
    const raised = await h.client.call('PATCH', customRolesLimit, { body: { value: 150 } });
    expect(raised.status).toBe(200);
    expect(raised.json).toMatchObject({ value: 150 });
    expect((await create('r100')).status).toBe(202);
  });

  it('refuses to raise the custom-role limit beyond 1400', async () => {
    const result = await h.client.call('PATCH', customRolesLimit, { body: { value: 1401 } });
    expect(result.status).toBe(400);
    expect(field(result.json, 'badRequestDetail', 'fields', 0, 'field')).toBe('value');
  });

  it('lists the project limits with their usage', async () => {
    const list = await h.client.call('GET', `/groups/${groupId}/limits`);
    expect(list.json).toContainEqual({
      name: 'atlas.project.deployment.clusters',
      value: 25,
      currentUsage: 2,
      defaultLimit: 25,
      maximumLimit: 100,
    });
  });
});
