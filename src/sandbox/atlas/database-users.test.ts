import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { field } from '../../../test/contract/digest-client.js';
import {
  dayMs,
  dbUserBody,
  hourMs,
  isoIn,
  startHarness,
  type Harness,
} from '../../../test/contract/sim-harness.js';
import { sandboxIds } from './default-fixture.js';

const groupId = sandboxIds.payments;
const users = `/groups/${groupId}/databaseUsers`;
const user = (name = 'jit-alice-1', db = 'admin'): string => `${users}/${db}/${encodeURIComponent(name)}`;

describe('database users', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  const create = (overrides: Record<string, unknown> = {}) =>
    h.client.call('POST', users, {
      body: dbUserBody(groupId, { deleteAfterDate: isoIn(h.clock, dayMs), ...overrides }),
    });

  it('creates a temporary user with 201 and never returns its password', async () => {
    const result = await create();
    expect(result.status).toBe(201);
    expect(result.json).toMatchObject({
      username: 'jit-alice-1',
      databaseName: 'admin',
      groupId,
      roles: [{ roleName: 'read', databaseName: 'sales' }],
      scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
      deleteAfterDate: new Date(h.clock.now() + dayMs).toISOString().replace('.000Z', 'Z'),
    });
    expect(result.text).not.toContain('correct-horse-battery');
    const fetched = await h.client.call('GET', user());
    expect(fetched.json).toEqual(result.json);
    expect(h.sim.state.checkPassword(groupId, 'jit-alice-1', 'correct-horse-battery')).toBe(true);
  });

  it('answers 409 USER_ALREADY_EXISTS for a duplicate username', async () => {
    await create();
    const again = await create();
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ errorCode: 'USER_ALREADY_EXISTS', parameters: ['jit-alice-1'] });
  });

  it('answers 404 USERNAME_NOT_FOUND for an unknown user, including usernames with slashes', async () => {
    const result = await h.client.call('GET', user('arn:aws:iam::123:role/x', '$external'));
    expect(result.status).toBe(404);
    expect(result.json).toMatchObject({
      errorCode: 'USERNAME_NOT_FOUND',
      parameters: ['arn:aws:iam::123:role/x'],
    });
  });

  it.each([
    ['deleteAfterDate in the past', { deleteAfterDate: '2020-01-01T00:00:00Z' }, 'EXPIRATION_DATE_IN_PAST'],
    [
      'deleteAfterDate more than 7 days ahead',
      { deleteAfterDate: 'PLUS_7D_1S' },
      'EXPIRATION_DATE_EXCEEDS_MAX',
    ],
    ['an unknown role', { roles: [{ roleName: 'superuser', databaseName: 'sales' }] }, 'ATLAS_INVALID_ROLE'],
    [
      'readAnyDatabase outside admin',
      { roles: [{ roleName: 'readAnyDatabase', databaseName: 'sales' }] },
      'ATLAS_INVALID_ROLE_DATABASE',
    ],
    [
      'clusterMonitor outside admin',
      { roles: [{ roleName: 'clusterMonitor', databaseName: 'sales' }] },
      'ATLAS_INVALID_ROLE_DATABASE',
    ],
    [
      'a duplicated role',
      {
        roles: [
          { roleName: 'read', databaseName: 'sales' },
          { roleName: 'read', databaseName: 'sales' },
        ],
      },
      'DUPLICATE_DATABASE_ROLES',
    ],
    ['a password shorter than 8', { password: 'short' }, 'INVALID_ATTRIBUTE'],
    ['a description over 100 characters', { description: 'x'.repeat(101) }, 'INVALID_ATTRIBUTE'],
    ['an empty label value', { labels: [{ key: 'k', value: '' }] }, 'INVALID_ATTRIBUTE'],
    [
      'a label key over 255 characters',
      { labels: [{ key: 'k'.repeat(256), value: 'v' }] },
      'INVALID_ATTRIBUTE',
    ],
    [
      'a scope name breaking the pattern',
      { scopes: [{ name: '-bad', type: 'CLUSTER' }] },
      'INVALID_ATTRIBUTE',
    ],
    ['an unknown attribute', { nickname: 'al' }, 'INVALID_ATTRIBUTE'],
    ['a missing groupId', { groupId: undefined }, 'MISSING_ATTRIBUTE'],
    ['a groupId that differs from the URL', { groupId: sandboxIds.analytics }, 'GROUP_MISMATCH'],
    ['an unknown enum value', { x509Type: 'SOMETIMES' }, 'INVALID_ENUM_VALUE'],
    ['a SCRAM user without a password', { password: undefined }, 'MISSING_ATTRIBUTE'],
    ['a SCRAM user outside admin', { databaseName: '$external' }, 'DATABASE_NAME_INVALID_ADMIN'],
    [
      'a password for an OIDC workforce group',
      { oidcAuthType: 'IDP_GROUP', deleteAfterDate: undefined },
      'INVALID_ATTRIBUTE',
    ],
  ])('refuses %s with 400 %s', async (_name, overrides, code) => {
    const tweak: Record<string, unknown> = { ...overrides };
    if (tweak.deleteAfterDate === 'PLUS_7D_1S') tweak.deleteAfterDate = isoIn(h.clock, 7 * dayMs + 1000);
    const result = await create(tweak);
    expect(result.status).toBe(400);
    expect(result.json).toMatchObject({ error: 400, errorCode: code });
    expect(h.sim.state.databaseUsers(groupId)).toEqual([]);
  });

  it('names the offending field in badRequestDetail', async () => {
    const result = await create({ password: 'short' });
    expect(field(result.json, 'badRequestDetail', 'fields', 0, 'field')).toBe('password');
  });

  it('accepts a deleteAfterDate exactly 7 days ahead', async () => {
    expect((await create({ deleteAfterDate: isoIn(h.clock, 7 * dayMs) })).status).toBe(201);
  });

  it('answers 404 CLUSTER_NOT_FOUND for a scope naming no cluster of the project', async () => {
    const result = await create({ scopes: [{ name: 'Analytics', type: 'CLUSTER' }] });
    expect(result.status).toBe(404);
    expect(result.json).toMatchObject({ errorCode: 'CLUSTER_NOT_FOUND' });
  });

  it('refuses a scope naming a deleted cluster, and leaves the scopes users already have', async () => {
    await create();
    expect(h.sim.deleteCluster(groupId, 'Cluster0')).toBe(true);

    expect((await h.client.call('GET', `/groups/${groupId}/clusters/Cluster0`)).status).toBe(404);
    const patch = await h.client.call('PATCH', user(), {
      body: { scopes: [{ name: 'Cluster0', type: 'CLUSTER' }] },
    });
    expect(patch.status).toBe(404);
    expect(patch.json).toMatchObject({ errorCode: 'CLUSTER_NOT_FOUND' });
    expect((await h.client.call('GET', user())).json).toMatchObject({
      scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
    });
    expect(h.sim.deleteCluster(groupId, 'Cluster0')).toBe(false);
  });

  it('deletes a temporary user once its deleteAfterDate passes, with an event', async () => {
    await create({ deleteAfterDate: isoIn(h.clock, 2 * hourMs) });
    await h.clock.advance(2 * hourMs - 1000);
    expect((await h.client.call('GET', user())).status).toBe(200);
    await h.clock.advance(1000);
    expect((await h.client.call('GET', user())).status).toBe(404);
    const events = await h.client.call('GET', `/groups/${groupId}/events`);
    expect(field(events.json, 'results', 0)).toMatchObject({
      eventTypeName: 'MONGODB_USER_DELETED',
      dbUserUsername: 'jit-alice-1',
    });
  });

  it('enforces the 7-day rule relative to the PATCH when extending', async () => {
    await create({ deleteAfterDate: isoIn(h.clock, dayMs) });
    await h.clock.advance(12 * hourMs);
    const ok = await h.client.call('PATCH', user(), { body: { deleteAfterDate: isoIn(h.clock, 7 * dayMs) } });
    expect(ok.status).toBe(200);
    const tooFar = await h.client.call('PATCH', user(), {
      body: { deleteAfterDate: isoIn(h.clock, 8 * dayMs) },
    });
    expect(tooFar.json).toMatchObject({ errorCode: 'EXPIRATION_DATE_EXCEEDS_MAX' });
    const past = await h.client.call('PATCH', user(), { body: { deleteAfterDate: isoIn(h.clock, -1000) } });
    expect(past.json).toMatchObject({ errorCode: 'EXPIRATION_DATE_IN_PAST' });
  });

  it('refuses to make a permanent user temporary', async () => {
    await create({ deleteAfterDate: undefined });
    const result = await h.client.call('PATCH', user(), { body: { deleteAfterDate: isoIn(h.clock, dayMs) } });
    expect(result.status).toBe(400);
    expect(result.json).toMatchObject({ errorCode: 'PERMANENT_ENTITY_CANNOT_BE_MADE_TEMPORARY' });
  });

  it('creates an OIDC workforce group in admin without a password, and never gives it one', async () => {
    const group = '5dd7496c7a3e5a648454341c/sales';
    const oidc = { oidcAuthType: 'IDP_GROUP', username: group, deleteAfterDate: undefined };
    const created = await create({ ...oidc, password: undefined });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ databaseName: 'admin', oidcAuthType: 'IDP_GROUP' });
    const patched = await h.client.call('PATCH', user(group), {
      body: { password: 'correct-horse-battery' },
    });
    expect(patched.status).toBe(400);
    expect(patched.json).toMatchObject({ errorCode: 'INVALID_ATTRIBUTE', parameters: ['password'] });
    expect(h.sim.state.checkPassword(groupId, group, 'correct-horse-battery')).toBe(false);
  });

  it('replaces roles, scopes and labels wholesale on PATCH and keeps omitted fields', async () => {
    const created = await create({
      roles: [
        { roleName: 'read', databaseName: 'sales' },
        { roleName: 'readWrite', databaseName: 'inventory' },
      ],
    });
    const result = await h.client.call('PATCH', user(), {
      body: {
        roles: [{ roleName: 'readWrite', databaseName: 'sales', collectionName: 'orders' }],
        scopes: [],
        labels: [{ key: 'jit-grant', value: 'g-2' }],
      },
    });
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({
      roles: [{ roleName: 'readWrite', databaseName: 'sales', collectionName: 'orders' }],
      scopes: [],
      labels: [{ key: 'jit-grant', value: 'g-2' }],
      description: 'JIT grant g-1',
    });
    expect(field(result.json, 'deleteAfterDate')).toBe(field(created.json, 'deleteAfterDate'));
    expect(field(created.json, 'deleteAfterDate')).toBe(isoIn(h.clock, dayMs).replace('.000Z', 'Z'));
  });

  it('refuses a PATCH that leaves the user without roles, unless knob databaseUserEmptyRoles accepts it', async () => {
    await create();
    const refused = await h.client.call('PATCH', user(), { body: { roles: [] } });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ errorCode: 'INVALID_ATTRIBUTE' });
    h.sim.knobs.databaseUserEmptyRoles = 'accept';
    const kept = await h.client.call('PATCH', user(), { body: { roles: [] } });
    expect(kept.status).toBe(200);
    expect(h.sim.state.databaseUser(groupId, 'jit-alice-1')?.roles).toEqual([]);
  });

  it('answers 409 DATABASE_USERNAME_CANNOT_BE_CHANGED when a PATCH renames the user', async () => {
    await create();
    const result = await h.client.call('PATCH', user(), { body: { username: 'someone-else' } });
    expect(result.status).toBe(409);
    expect(result.json).toMatchObject({ errorCode: 'DATABASE_USERNAME_CANNOT_BE_CHANGED' });
  });

  it('deletes a user with 204 and records MONGODB_USER_ADDED then MONGODB_USER_DELETED', async () => {
    await create();
    const deleted = await h.client.call('DELETE', user());
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await h.client.call('DELETE', user())).status).toBe(404);
    expect(h.sim.state.events(groupId).map((e) => e.eventTypeName)).toEqual([
      'MONGODB_USER_ADDED',
      'MONGODB_USER_DELETED',
    ]);
  });

  it('answers 403 GROUP_USERS_LIMIT_EXCEEDED at 100 users per project', async () => {
    h.sim.knobs.rateLimit.enabled = false;
    for (let i = 0; i < 100; i += 1) {
      const created = await create({ username: `u${i}` });
      expect(created.status).toBe(201);
    }
    const over = await create({ username: 'u100' });
    expect(over.status).toBe(403);
    expect(over.json).toMatchObject({ errorCode: 'GROUP_USERS_LIMIT_EXCEEDED', parameters: [100] });
    const limit = await h.client.call(
      'GET',
      `/groups/${groupId}/limits/atlas.project.security.databaseAccess.users`,
    );
    expect(limit.json).toMatchObject({ value: 100, currentUsage: 100, defaultLimit: 100, maximumLimit: 100 });
  });

  it('answers 403 COLLECTION_ROLES_LIMIT_EXCEEDED past the collection-level role limit', async () => {
    h.sim.knobs.collectionRolesLimit = 2;
    const scoped = (c: string) => ({ roleName: 'read', databaseName: 'sales', collectionName: c });
    expect((await create({ username: 'a', roles: [scoped('orders'), scoped('customers')] })).status).toBe(
      201,
    );
    const over = await create({ username: 'b', roles: [scoped('invoices')] });
    expect(over.status).toBe(403);
    expect(over.json).toMatchObject({ errorCode: 'COLLECTION_ROLES_LIMIT_EXCEEDED', parameters: [2] });
  });

  it('allows at most 20 custom roles per user', async () => {
    const roles = Array.from({ length: 21 }, (_, i) => `jit-role-${i}`);
    for (const roleName of roles) {
      const created = await h.client.call('POST', `/groups/${groupId}/customDBRoles/roles`, {
        body: {
          roleName,
          actions: [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: '' }] }],
        },
      });
      expect(created.status).toBe(202);
    }
    const grant = (n: number) => roles.slice(0, n).map((roleName) => ({ roleName, databaseName: 'admin' }));
    expect((await create({ username: 'twenty', roles: grant(20) })).status).toBe(201);
    const over = await create({ username: 'twenty-one', roles: grant(21) });
    expect(over.status).toBe(400);
    expect(over.json).toMatchObject({ errorCode: 'VALIDATION_ERROR' });
  });

  it('pages the user list with totalCount and self/next/previous links', async () => {
    for (let i = 0; i < 5; i += 1) await create({ username: `p${i}` });
    const page2 = await h.client.call('GET', `${users}?itemsPerPage=2&pageNum=2`);
    expect(field(page2.json, 'totalCount')).toBe(5);
    expect((field(page2.json, 'results') as unknown[]).map((u) => field(u, 'username'))).toEqual([
      'p2',
      'p3',
    ]);
    const links = field(page2.json, 'links') as { rel: string; href: string }[];
    expect(links.map((l) => l.rel)).toEqual(['self', 'previous', 'next']);
    expect(links.find((l) => l.rel === 'next')?.href).toBe(
      `${h.sim.url}/api/atlas/v2${users}?itemsPerPage=2&pageNum=3`,
    );
    const last = await h.client.call('GET', `${users}?itemsPerPage=2&pageNum=3&includeCount=false`);
    expect(field(last.json, 'totalCount')).toBeUndefined();
    expect((field(last.json, 'links') as { rel: string }[]).map((l) => l.rel)).toEqual(['self', 'previous']);
  });

  it.each(['itemsPerPage=501', 'itemsPerPage=0', 'pageNum=0', 'includeCount=maybe'])(
    'refuses %s with 400 INVALID_QUERY_PARAMETER',
    async (query) => {
      const result = await h.client.call('GET', `${users}?${query}`);
      expect(result.status).toBe(400);
      expect(result.json).toMatchObject({ errorCode: 'INVALID_QUERY_PARAMETER' });
    },
  );
});
