import { MongoClient } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultFixture } from '../atlas/default-fixture.js';
import { opCodes } from './protocol.js';
import {
  opMsg,
  opQuery,
  rawSocket,
  readReply,
  startWireHarness,
  type WireHarness,
} from '../../../test/kits/wire-test-kit.js';

describe('cluster endpoint handshake', () => {
  let h: WireHarness;
  beforeEach(async () => {
    h = await startWireHarness();
  });
  afterEach(async () => h.close());

  it('answers a legacy OP_QUERY isMaster with an OP_REPLY describing a one-member replica set, no compressors', async () => {
    const socket = await rawSocket(h.url);
    socket.write(opQuery(7, 'admin.$cmd', { isMaster: 1, helloOk: true, compression: ['zstd', 'zlib'] }));
    const { opCode, doc } = await readReply(socket);
    socket.destroy();
    expect(opCode).toBe(opCodes.reply);
    expect(doc).toMatchObject({
      ismaster: true,
      helloOk: true,
      setName: 'atlas-p4y0m3-shard-0',
      maxWireVersion: 25,
      ok: 1,
    });
    expect(doc['hosts']).toEqual([h.url.slice('mongodb://'.length, h.url.indexOf('/?'))]);
    expect(doc).not.toHaveProperty('compression');
  });

  it.each([
    ['a legacy isMaster without helloOk', { isMaster: 1 }, false],
    ['a hello without helloOk', { hello: 1, $db: 'admin' }, false],
    ['a legacy isMaster with helloOk', { isMaster: 1, helloOk: true }, true],
  ])(
    'answers helloOk only to a handshake that sent it, as a server does: %s',
    async (_case, command, helloOk) => {
      const socket = await rawSocket(h.url);
      const reply = readReply(socket);
      socket.write('$db' in command ? opMsg(1, command) : opQuery(1, 'admin.$cmd', command));
      const { doc } = await reply;
      socket.destroy();
      expect(doc['ok']).toBe(1);
      expect(doc['helloOk']).toBe(helloOk ? true : undefined);
    },
  );

  it('takes client metadata in the first hello only, and refuses it in a later one as a server does', async () => {
    const socket = await rawSocket(h.url);
    const client = { driver: { name: 'nodejs', version: '7.0.0' }, os: { type: 'Linux' } };
    const first = readReply(socket);
    socket.write(opQuery(1, 'admin.$cmd', { isMaster: 1, helloOk: true, client }));
    expect((await first).doc).toMatchObject({ ok: 1 });
    const monitoring = readReply(socket);
    socket.write(opMsg(2, { hello: 1, $db: 'admin' }));
    expect((await monitoring).doc).toMatchObject({ ok: 1 });
    const again = readReply(socket);
    socket.write(opMsg(3, { hello: 1, client, $db: 'admin' }));
    expect((await again).doc).toEqual({
      ok: 0,
      code: 186,
      codeName: 'ClientMetadataCannotBeMutated',
      errmsg: 'The client metadata document may only be sent in the first hello',
    });
    socket.destroy();
  });

  it('refuses any other command over OP_QUERY with the server wording', async () => {
    const socket = await rawSocket(h.url);
    socket.write(opQuery(8, 'admin.$cmd', { ping: 1 }));
    const { doc } = await readReply(socket);
    socket.destroy();
    expect(doc).toMatchObject({ ok: 0, code: 352, codeName: 'UnsupportedOpQueryCommand' });
  });

  it('lets the driver connect without credentials for ping, buildInfo and hello, and nothing else', async () => {
    const client = new MongoClient(h.url, { serverSelectionTimeoutMS: 5_000 });
    try {
      const admin = client.db('admin');
      expect(await admin.command({ ping: 1 })).toMatchObject({ ok: 1 });
      expect(await admin.command({ buildInfo: 1 })).toMatchObject({ version: '8.0.4', ok: 1 });
      expect(await admin.command({ hello: 1 })).toMatchObject({ isWritablePrimary: true, ok: 1 });
      await expect(client.db('sales').collection('orders').findOne()).rejects.toMatchObject({
        code: 13,
        message: 'Command find requires authentication',
      });
    } finally {
      await client.close();
    }
  });
});

describe('the wire version a cluster reports', () => {
  let h: WireHarness | undefined;
  const startAt = async (mongoDBVersion: string): Promise<WireHarness> => {
    const fixture = defaultFixture();
    fixture.clusters = fixture.clusters?.map((c) => (c.name === 'Cluster0' ? { ...c, mongoDBVersion } : c));
    h = await startWireHarness(0, fixture);
    return h;
  };
  afterEach(async () => h?.close());

  it.each([
    ['8.0.4', 25],
    ['7.0.14', 21],
    ['6.0.19', 17],
    ['7.3.1', 24],
  ])('is the wire version of its MongoDB version: %s answers %i', async (version, wireVersion) => {
    const started = await startAt(version);
    const socket = await rawSocket(started.url);
    const reply = readReply(socket);
    socket.write(opMsg(1, { hello: 1, $db: 'admin' }));
    const { doc } = await reply;
    socket.destroy();
    expect(doc).toMatchObject({ maxWireVersion: wireVersion, ok: 1 });
  });

  it('makes the driver refuse a cluster older than it supports, as it refuses such a server', async () => {
    const started = await startAt('4.2.24');
    await started.createUser();
    await expect(started.login()).rejects.toThrow(/maximum wire version 8/);
  });
});
