import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { Binary, type Document } from 'bson';
import { MongoClient, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hourMs } from '../../../test/contract/sim-harness.js';
import { defaultFixture } from '../atlas/default-fixture.js';
import {
  closedWithin,
  opMsg,
  password,
  payments,
  rawSocket,
  readReply,
  startWireHarness,
  type WireHarness,
} from '../../../test/kits/wire-test-kit.js';

/** The SCRAM-SHA-256 client-final message for `serverFirst` (RFC 5802 §3, RFC 7677). */
function scramClientFinal(clientFirstBare: string, serverFirst: string, secret: string): Buffer {
  const attrs = new Map(serverFirst.split(',').map((part) => [part.slice(0, 1), part.slice(2)]));
  const salted = pbkdf2Sync(
    secret,
    Buffer.from(attrs.get('s') ?? '', 'base64'),
    Number(attrs.get('i')),
    32,
    'sha256',
  );
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=biws,r=${attrs.get('r') ?? ''}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = createHmac('sha256', storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] ?? 0)));
  return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
}

async function loginError(h: WireHarness, username: string, secret: string): Promise<unknown> {
  return h.login(username, secret).then(
    () => new Error('login succeeded'),
    (error: unknown) => error,
  );
}

function expectAuthenticationFailed(error: unknown): void {
  expect(error).toBeInstanceOf(MongoServerError);
  expect((error as MongoServerError).code).toBe(18);
  expect((error as MongoServerError).codeName).toBe('AuthenticationFailed');
  expect((error as MongoServerError).message).toBe('Authentication failed.');
}

describe('SCRAM authentication against the simulator state', () => {
  let h: WireHarness;
  beforeEach(async () => {
    h = await startWireHarness(500);
  });
  afterEach(async () => h.close());

  it.each(['SCRAM-SHA-256', 'SCRAM-SHA-1'] as const)(
    'logs in with %s and the password the Admin API set',
    async (mechanism) => {
      await h.createUser();
      await h.clock.advance(500);
      const client = await h.login('jit-alice-1', password, { authMechanism: mechanism });
      const status = await client.db('admin').command({ connectionStatus: 1 });
      expect(status['authInfo']).toMatchObject({
        authenticatedUsers: [{ user: 'jit-alice-1', db: 'admin' }],
      });
    },
  );

  it('answers speculativeAuthenticate in hello with the first SCRAM step', async () => {
    await h.createUser();
    await h.clock.advance(500);
    const socket = await rawSocket(h.url);
    const payload = new Binary(Buffer.from('n,,n=jit-alice-1,r=clientnonce'));
    socket.write(
      opMsg(1, {
        hello: 1,
        $db: 'admin',
        saslSupportedMechs: 'admin.jit-alice-1',
        speculativeAuthenticate: { saslStart: 1, mechanism: 'SCRAM-SHA-256', payload, db: 'admin' },
      }),
    );
    const { doc } = await readReply(socket);
    socket.destroy();
    expect(doc['saslSupportedMechs']).toEqual(['SCRAM-SHA-1', 'SCRAM-SHA-256']);
    const step = doc['speculativeAuthenticate'] as { done: boolean; payload: Binary };
    expect(step.done).toBe(false);
    expect(Buffer.from(step.payload.buffer).toString()).toMatch(/^r=clientnonce[^,]+,s=[^,]+,i=5000$/);
  });

  it.each([
    ['a wrong password', 'jit-alice-1', 'wrong-password'],
    ['an unknown user', 'jit-nobody', password],
  ] as const)('refuses %s with AuthenticationFailed', async (_case, username, secret) => {
    await h.createUser();
    await h.clock.advance(500);
    expectAuthenticationFailed(await loginError(h, username, secret));
  });

  it('refuses a user whose change has not propagated yet, then lets it in once it has', async () => {
    await h.createUser();
    await h.clock.advance(499);
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', password));
    await h.clock.advance(1);
    await expect(h.login()).resolves.toBeInstanceOf(MongoClient);
  });

  it.each([
    ['another cluster of the project', { name: 'Private0', type: 'CLUSTER' }],
    ['a Data Lake only', { name: 'lake0', type: 'DATA_LAKE' }],
    ['a Stream instance only', { name: 'stream0', type: 'STREAM' }],
  ] as const)('refuses a user scoped to %s', async (_case, scope) => {
    await h.createUser({ scopes: [scope] });
    await h.clock.advance(500);
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', password));
  });

  it('lets a user scoped to this cluster and a Data Lake in', async () => {
    await h.createUser({
      scopes: [
        { name: 'lake0', type: 'DATA_LAKE' },
        { name: 'Cluster0', type: 'CLUSTER' },
      ],
    });
    await h.clock.advance(500);
    await expect(h.login()).resolves.toBeInstanceOf(MongoClient);
  });

  it('lets an unscoped user in', async () => {
    await h.createUser({ scopes: [] });
    await h.clock.advance(500);
    await expect(h.login()).resolves.toBeInstanceOf(MongoClient);
  });

  it('refuses a user whose deleteAfterDate has passed', async () => {
    await h.createUser({ deleteAfterDate: new Date(h.clock.now() + hourMs).toISOString() });
    await h.clock.advance(hourMs);
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', password));
  });

  it('keeps the old password until a rotation propagates, then only the new one', async () => {
    await h.createUser();
    await h.clock.advance(500);
    const path = `/groups/${payments}/databaseUsers/admin/jit-alice-1`;
    const patched = await h.client.call('PATCH', path, { body: { password: 'new-horse-battery' } });
    expect(patched.status).toBe(200);
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', 'new-horse-battery'));
    await expect(h.login()).resolves.toBeInstanceOf(MongoClient);
    await h.clock.advance(500);
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', password));
    await expect(h.login('jit-alice-1', 'new-horse-battery')).resolves.toBeInstanceOf(MongoClient);
  });

  it('lets a new user whose password changed before its creation propagated in only with the new password, once that change has', async () => {
    await h.createUser();
    await h.clock.advance(100);
    const path = `/groups/${payments}/databaseUsers/admin/jit-alice-1`;
    const patched = await h.client.call('PATCH', path, { body: { password: 'new-horse-battery' } });
    expect(patched.status).toBe(200);
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', password));
    await h.clock.advance(400);
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', password));
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', 'new-horse-battery'));
    await h.clock.advance(100);
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', password));
    await expect(h.login('jit-alice-1', 'new-horse-battery')).resolves.toBeInstanceOf(MongoClient);
  });

  it('keeps the propagated password through two rotations in one window, never the one that did not propagate', async () => {
    await h.createUser();
    await h.clock.advance(500);
    const path = `/groups/${payments}/databaseUsers/admin/jit-alice-1`;
    for (const next of ['second-horse-battery', 'third-horse-battery']) {
      expect((await h.client.call('PATCH', path, { body: { password: next } })).status).toBe(200);
      await h.clock.advance(100);
    }
    await expect(h.login()).resolves.toBeInstanceOf(MongoClient);
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', 'second-horse-battery'));
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', 'third-horse-battery'));
    await h.clock.advance(400);
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', password));
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', 'second-horse-battery'));
    await expect(h.login('jit-alice-1', 'third-horse-battery')).resolves.toBeInstanceOf(MongoClient);
  });

  it('keeps a user logging in through an update that leaves its password alone', async () => {
    await h.createUser();
    await h.clock.advance(500);
    const path = `/groups/${payments}/databaseUsers/admin/jit-alice-1`;
    const body = { deleteAfterDate: new Date(h.clock.now() + 2 * hourMs).toISOString() };
    expect((await h.client.call('PATCH', path, { body })).status).toBe(200);
    await expect(h.login()).resolves.toBeInstanceOf(MongoClient);
  });

  it('keeps a connection logged in through a password rotation, as a server does, while new logins need the new password', async () => {
    await h.createUser();
    await h.clock.advance(500);
    const client = await h.login('jit-alice-1', password, { maxPoolSize: 1 });
    const path = `/groups/${payments}/databaseUsers/admin/jit-alice-1`;
    const rotated = await h.client.call('PATCH', path, { body: { password: 'new-horse-battery' } });
    expect(rotated.status).toBe(200);
    await h.clock.advance(500);
    expectAuthenticationFailed(await loginError(h, 'jit-alice-1', password));
    await expect(client.db('sales').collection('orders').findOne()).resolves.toMatchObject({ _id: 1 });
  });

  it('logs out a connection whose user passed its deleteAfterDate', async () => {
    await h.createUser({ deleteAfterDate: new Date(h.clock.now() + hourMs).toISOString() });
    await h.clock.advance(500);
    const client = await h.login('jit-alice-1', password, { maxPoolSize: 1 });
    await expect(client.db('sales').collection('orders').findOne()).resolves.toMatchObject({ _id: 1 });
    await h.clock.advance(hourMs);
    await expect(client.db('sales').collection('orders').findOne()).rejects.toMatchObject({
      code: 13,
      codeName: 'Unauthorized',
    });
  });

  it('refuses a SCRAM conversation whose user was deleted between saslStart and saslContinue', async () => {
    await h.createUser();
    await h.clock.advance(500);
    const socket = await rawSocket(h.url);
    const clientFirstBare = 'n=jit-alice-1,r=clientnonce';
    const started = readReply(socket);
    const payload = new Binary(Buffer.from(`n,,${clientFirstBare}`));
    socket.write(opMsg(1, { saslStart: 1, mechanism: 'SCRAM-SHA-256', payload, $db: 'admin' }));
    const first = (await started).doc as { conversationId: number; payload: Binary };
    const deleted = await h.client.call('DELETE', `/groups/${payments}/databaseUsers/admin/jit-alice-1`);
    expect(deleted.status).toBe(204);
    const serverFirst = Buffer.from(first.payload.buffer).toString();
    const final = scramClientFinal(clientFirstBare, serverFirst, password);
    const finished = readReply(socket);
    socket.write(
      opMsg(2, {
        saslContinue: 1,
        conversationId: first.conversationId,
        payload: new Binary(final),
        $db: 'admin',
      }),
    );
    const { doc } = await finished;
    socket.destroy();
    expect(doc).toMatchObject({ ok: 0, code: 18, codeName: 'AuthenticationFailed' });
  });

  it('logs a connection in only once the conversation is done: after the empty saslContinue when the client does not skip it', async () => {
    await h.createUser();
    await h.clock.advance(500);
    const socket = await rawSocket(h.url);
    const send = async (requestId: number, command: Document): Promise<Document> => {
      const answered = readReply(socket);
      socket.write(opMsg(requestId, command));
      return (await answered).doc;
    };
    const find = { find: 'orders', $db: 'sales' };
    const clientFirstBare = 'n=jit-alice-1,r=clientnonce';
    const payload = new Binary(Buffer.from(`n,,${clientFirstBare}`));
    const first = await send(1, { saslStart: 1, mechanism: 'SCRAM-SHA-256', payload, $db: 'admin' });
    const serverFirst = Buffer.from((first['payload'] as Binary).buffer).toString();
    const final = new Binary(scramClientFinal(clientFirstBare, serverFirst, password));
    const conversationId = first['conversationId'] as number;
    const proved = await send(2, { saslContinue: 1, conversationId, payload: final, $db: 'admin' });
    expect(proved).toMatchObject({ done: false, ok: 1 });
    expect(await send(3, find)).toMatchObject({ ok: 0, code: 13, codeName: 'Unauthorized' });
    const empty = new Binary(Buffer.alloc(0));
    const done = await send(4, { saslContinue: 1, conversationId, payload: empty, $db: 'admin' });
    expect(done).toMatchObject({ done: true, ok: 1 });
    expect(await send(5, find)).toMatchObject({ ok: 1 });
    socket.destroy();
  });

  it('logs out a connection whose user was deleted and created again under the same name, as a server does', async () => {
    await h.createUser();
    await h.clock.advance(500);
    const client = await h.login();
    await client.db('sales').collection('orders').findOne();
    const deleted = await h.client.call('DELETE', `/groups/${payments}/databaseUsers/admin/jit-alice-1`);
    expect(deleted.status).toBe(204);
    await h.createUser({ roles: [{ roleName: 'readAnyDatabase', databaseName: 'admin' }] });
    await h.clock.advance(500);
    await expect(client.db('sales').collection('orders').findOne()).rejects.toMatchObject({ code: 13 });
    const again = await h.login();
    await expect(again.db('sales').collection('orders').findOne()).resolves.toMatchObject({ _id: 1 });
  });

  it('takes authority away from a connection whose user was deleted', async () => {
    await h.createUser();
    await h.clock.advance(500);
    const client = await h.login();
    const deleted = await h.client.call('DELETE', `/groups/${payments}/databaseUsers/admin/jit-alice-1`);
    expect(deleted.status).toBe(204);
    await expect(client.db('sales').collection('orders').findOne()).rejects.toMatchObject({ code: 13 });
  });
});

describe('a paused cluster', () => {
  let h: WireHarness;
  beforeEach(async () => {
    const fixture = defaultFixture();
    fixture.clusters = fixture.clusters?.map((c) => (c.name === 'Cluster0' ? { ...c, paused: true } : c));
    h = await startWireHarness(0, fixture);
    await h.createUser();
  });
  afterEach(async () => h.close());

  it('closes every connection at once, so the driver finds no server', async () => {
    const socket = await rawSocket(h.url);
    await closedWithin(socket, 5_000);
    await expect(
      h.login('jit-alice-1', password, { serverSelectionTimeoutMS: 1_000 }),
    ).rejects.toBeInstanceOf(MongoServerSelectionError);
  });

  it('refuses every login by the login rules too', () => {
    expect(h.sim.state.canAuthenticate(payments, 'Cluster0', 'jit-alice-1', password)).toBe('paused');
  });
});
