import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { payments, startWireHarness, type WireHarness } from '../../../test/kits/wire-test-kit.js';

interface Order {
  _id: number | string;
  name?: string;
  big?: string;
}

const readSales = { roles: [{ roleName: 'read', databaseName: 'sales' }] };

describe('cluster endpoint commands, authorized from the user roles', () => {
  let h: WireHarness;
  beforeEach(async () => {
    h = await startWireHarness();
  });
  afterEach(async () => h.close());

  it('shows exactly the granted roles and their privileges in connectionStatus', async () => {
    await h.createUser({ roles: [{ roleName: 'read', databaseName: 'sales', collectionName: 'orders' }] });
    const client = await h.login();
    const status = await client.db('admin').command({ connectionStatus: 1, showPrivileges: true });
    expect(status['authInfo']).toEqual({
      authenticatedUsers: [{ user: 'jit-alice-1', db: 'admin' }],
      authenticatedUserRoles: [{ role: 'read', db: 'sales', collection: 'orders' }],
      authenticatedUserPrivileges: [
        {
          resource: { db: 'sales', collection: 'orders' },
          actions: expect.arrayContaining(['find', 'killCursors']) as unknown,
        },
      ],
    });
  });

  it('answers connectionStatus with nobody logged in once the user is deleted', async () => {
    await h.createUser(readSales);
    const client = await h.login();
    const deleted = await h.client.call('DELETE', `/groups/${payments}/databaseUsers/admin/jit-alice-1`);
    expect(deleted.status).toBe(204);
    const status = await client.db('admin').command({ connectionStatus: 1, showPrivileges: true });
    expect(status).toMatchObject({
      authInfo: { authenticatedUsers: [], authenticatedUserRoles: [], authenticatedUserPrivileges: [] },
      ok: 1,
    });
  });

  it('reads a granted collection and refuses a collection of another database', async () => {
    await h.createUser(readSales);
    const client = await h.login();
    expect(await client.db('sales').collection<Order>('orders').find({ _id: 2 }).toArray()).toEqual([
      { _id: 2, name: 'orders 2' },
    ]);
    await expect(client.db('inventory').collection('items').findOne()).rejects.toMatchObject({
      code: 13,
      codeName: 'Unauthorized',
      message: 'not authorized on inventory to execute command { find: "items" }',
    });
  });

  it('refuses an insert under read and keeps one under readWrite in memory', async () => {
    await h.createUser(readSales);
    await h.createUser({ username: 'jit-bob-1', roles: [{ roleName: 'readWrite', databaseName: 'sales' }] });
    const reader = await h.login();
    await expect(reader.db('sales').collection<Order>('orders').insertOne({ _id: 9 })).rejects.toMatchObject({
      code: 13,
    });
    const writer = await h.login('jit-bob-1');
    await writer.db('sales').collection<Order>('orders').insertOne({ _id: 9, name: 'orders 9' });
    expect(await reader.db('sales').collection<Order>('orders').find({ _id: 9 }).toArray()).toEqual([
      { _id: 9, name: 'orders 9' },
    ]);
    await expect(writer.db('sales').collection<Order>('orders').insertOne({ _id: 9 })).rejects.toMatchObject({
      code: 11000,
    });
  });

  it('pages a cursor with getMore and closes it with killCursors', async () => {
    await h.createUser(readSales);
    const client = await h.login();
    const paged = await client.db('sales').collection<Order>('orders').find({}, { batchSize: 1 }).toArray();
    expect(paged.map((d) => d['_id'])).toEqual([1, 2, 3]);
    const first = await client.db('sales').command({ find: 'orders', batchSize: 1 });
    const cursor = first['cursor'] as { id: { toString(): string }; firstBatch: unknown[] };
    expect(cursor.firstBatch).toHaveLength(1);
    const more = await client.db('sales').command({ getMore: cursor.id, collection: 'orders', batchSize: 1 });
    expect((more['cursor'] as { nextBatch: unknown[] }).nextBatch).toEqual([{ _id: 2, name: 'orders 2' }]);
    const killed = await client.db('sales').command({ killCursors: 'orders', cursors: [cursor.id] });
    expect(killed['cursorsKilled']).toEqual([cursor.id]);
    await expect(
      client.db('sales').command({ getMore: cursor.id, collection: 'orders' }),
    ).rejects.toMatchObject({ code: 43, codeName: 'CursorNotFound' });
  });

  it('lets a user kill its own cursor without the killCursors action, and nobody kill it for them', async () => {
    const role = {
      roleName: 'jit-find-orders',
      actions: [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: 'orders' }] }],
    };
    const created = await h.client.call('POST', `/groups/${payments}/customDBRoles/roles`, { body: role });
    expect(created.status).toBe(202);
    await h.createUser({ roles: [{ roleName: 'jit-find-orders', databaseName: 'admin' }] });
    await h.createUser({ username: 'jit-bob-1', ...readSales });
    const owner = await h.login();
    const other = await h.login('jit-bob-1');
    const first = await owner.db('sales').command({ find: 'orders', batchSize: 1 });
    const id = (first['cursor'] as { id: unknown }).id;
    const byOther = await other.db('sales').command({ killCursors: 'orders', cursors: [id] });
    expect(byOther).toMatchObject({ cursorsKilled: [], cursorsNotFound: [id] });
    const byOwner = await owner.db('sales').command({ killCursors: 'orders', cursors: [id] });
    expect(byOwner).toMatchObject({ cursorsKilled: [id], cursorsNotFound: [], ok: 1 });
  });

  it('lists only authorized databases without listDatabases, and all of them with readAnyDatabase', async () => {
    await h.createUser(readSales);
    await h.createUser({
      username: 'jit-bob-1',
      roles: [{ roleName: 'readAnyDatabase', databaseName: 'admin' }],
    });
    const narrow = await h.login();
    expect(await narrow.db('admin').admin().listDatabases({ nameOnly: true })).toMatchObject({
      databases: [{ name: 'sales' }],
    });
    await expect(
      narrow.db('admin').command({ listDatabases: 1, authorizedDatabases: false }),
    ).rejects.toMatchObject({ code: 13 });
    const wide = await h.login('jit-bob-1');
    const all = await wide.db('admin').admin().listDatabases();
    expect(all.databases.map((d) => d.name)).toEqual(['sales', 'inventory', 'admin', 'config', 'local']);
  });

  it('lists collections with listCollections, or only the granted ones with authorizedCollections', async () => {
    await h.createUser(readSales);
    await h.createUser({
      username: 'jit-bob-1',
      roles: [{ roleName: 'read', databaseName: 'sales', collectionName: 'invoices' }],
    });
    const dbWide = await h.login();
    const names = await dbWide.db('sales').listCollections({}, { nameOnly: true }).toArray();
    expect(names.map((c) => c.name)).toEqual(['orders', 'customers', 'invoices']);
    const oneCollection = await h.login('jit-bob-1');
    await expect(
      oneCollection.db('sales').listCollections({}, { nameOnly: true }).toArray(),
    ).rejects.toMatchObject({
      code: 13,
    });
    const authorized = await oneCollection
      .db('sales')
      .listCollections({}, { nameOnly: true, authorizedCollections: true })
      .toArray();
    expect(authorized).toEqual([{ name: 'invoices', type: 'collection' }]);
  });

  it('applies the filter of listCollections and listDatabases, as a server does', async () => {
    await h.createUser({
      username: 'jit-bob-1',
      roles: [{ roleName: 'readAnyDatabase', databaseName: 'admin' }],
    });
    const client = await h.login('jit-bob-1');
    const invoices = await client.db('sales').listCollections({ name: 'invoices' }).toArray();
    expect(invoices.map((c) => c.name)).toEqual(['invoices']);
    const named = await client
      .db('sales')
      .listCollections({ name: { $in: ['orders', 'missing'] } }, { nameOnly: true })
      .toArray();
    expect(named).toEqual([{ name: 'orders', type: 'collection' }]);
    const databases = await client
      .db('admin')
      .admin()
      .listDatabases({ nameOnly: true, filter: { name: 'inventory' } });
    expect(databases.databases).toEqual([{ name: 'inventory' }]);
  });

  it('applies a custom role: its actions on its resources and nothing more', async () => {
    const role = {
      roleName: 'jit-r-orders',
      actions: [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: 'orders' }] }],
    };
    const created = await h.client.call('POST', `/groups/${payments}/customDBRoles/roles`, { body: role });
    expect(created.status).toBe(202);
    await h.createUser({ roles: [{ roleName: 'jit-r-orders', databaseName: 'admin' }] });
    const client = await h.login();
    const status = await client.db('admin').command({ connectionStatus: 1, showPrivileges: true });
    expect(status['authInfo']).toMatchObject({
      authenticatedUserRoles: [{ role: 'jit-r-orders', db: 'admin' }],
      authenticatedUserPrivileges: [{ resource: { db: 'sales', collection: 'orders' }, actions: ['find'] }],
    });
    expect(await client.db('sales').collection<Order>('orders').find().toArray()).toHaveLength(3);
    await expect(client.db('sales').collection('customers').findOne()).rejects.toMatchObject({ code: 13 });
  });

  it('answers an unknown command with CommandNotFound and endSessions with ok', async () => {
    await h.createUser(readSales);
    const client = await h.login();
    await expect(client.db('admin').command({ serverStatus: 1 })).rejects.toMatchObject({
      code: 59,
      codeName: 'CommandNotFound',
      message: "no such command: 'serverStatus'",
    });
    expect(await client.db('admin').command({ endSessions: [] })).toMatchObject({ ok: 1 });
  });
});
