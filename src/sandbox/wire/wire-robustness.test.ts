import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  closedWithin,
  opCompressed,
  opMsg,
  opMsgWithSequences,
  rawSocket,
  readReply,
  startWireHarness,
  type WireHarness,
} from '../../../test/kits/wire-test-kit.js';
import { crc32c } from './crc32c.js';

interface Order {
  _id: number | string;
  name?: string;
  big?: string;
}

const readWriteSales = { roles: [{ roleName: 'readWrite', databaseName: 'sales' }] };

describe('cluster endpoint under hostile or unusual traffic', () => {
  let h: WireHarness;
  beforeEach(async () => {
    h = await startWireHarness();
    await h.createUser(readWriteSales);
  });
  afterEach(async () => h.close());

  it('takes a message larger than one TCP read and gives it back whole', async () => {
    const client = await h.login();
    const big = 'x'.repeat(4 * 1024 * 1024);
    await client.db('sales').collection<Order>('orders').insertOne({ _id: 'big', big });
    const found = await client.db('sales').collection<Order>('orders').findOne({ _id: 'big' });
    expect(found?.['big']).toBe(big);
  });

  it('answers a find over more than 16 MiB of documents in batches of at most 16 MiB, as a server does', async () => {
    const client = await h.login();
    const orders = client.db('sales').collection<Order>('orders');
    const big = 'x'.repeat(9 * 1024 * 1024);
    await orders.insertOne({ _id: 'big-1', big });
    await orders.insertOne({ _id: 'big-2', big });
    const found = await orders.find({ _id: { $in: ['big-1', 'big-2'] } }).toArray();
    expect(found.map((d) => d._id)).toEqual(['big-1', 'big-2']);
    expect(h.drops).toEqual([]);
  });

  it('refuses to insert a document larger than 16 MiB with the server write error, and keeps nothing', async () => {
    const client = await h.login();
    const orders = client.db('sales').collection<Order>('orders');
    const big = 'x'.repeat(16 * 1024 * 1024);
    const refused = await orders.insertOne({ _id: 'huge', big }).then(
      () => new Error('insert succeeded'),
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({
      code: 2,
      message: expect.stringMatching(
        /^object to insert too large\. size in bytes: 167772\d\d, max size: 16777216$/,
      ),
    });
    expect(await orders.find({ _id: 'huge' }).toArray()).toEqual([]);
    expect(h.drops).toEqual([]);
  });

  it('takes a message split across writes and two messages in one write', async () => {
    const socket = await rawSocket(h.url);
    const message = opMsg(1, { ping: 1, $db: 'admin' });
    const reply = readReply(socket);
    socket.write(message.subarray(0, 7));
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write(message.subarray(7));
    expect((await reply).doc).toMatchObject({ ok: 1 });
    const both = readReply(socket);
    socket.write(Buffer.concat([opMsg(2, { ping: 1, $db: 'admin' }), opMsg(3, { ping: 1, $db: 'admin' })]));
    expect((await both).doc).toMatchObject({ ok: 1 });
    socket.destroy();
  });

  it('forgets a client that disconnects mid-message and keeps serving others', async () => {
    const socket = await rawSocket(h.url);
    const message = opMsg(1, { ping: 1, $db: 'admin', pad: 'y'.repeat(1000) });
    socket.write(message.subarray(0, 100));
    socket.destroy();
    const client = await h.login();
    expect(await client.db('admin').command({ ping: 1 })).toMatchObject({ ok: 1 });
    expect(h.drops).toEqual([]);
  });

  it.each([
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['a length shorter than a header', Buffer.from([8, 0, 0, 0, 1, 2, 3, 4])],
    [
      'an unknown op code',
      Buffer.concat([Buffer.from([20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xd2, 0x07, 0, 0]), Buffer.alloc(4)]),
    ],
    [
      'an OP_MSG with broken BSON',
      Buffer.concat([
        Buffer.from([26, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xdd, 0x07, 0, 0]),
        Buffer.from([0, 0, 0, 0, 0, 200, 0, 0, 0, 1]),
      ]),
    ],
    [
      'an OP_MSG with two document sequences of one name',
      opMsgWithSequences(6, { ping: 1, $db: 'admin' }, [
        ['documents', [{ _id: 1 }]],
        ['documents', [{ _id: 2 }]],
      ]),
    ],
    [
      'an OP_MSG whose document sequence is named like a field of its body',
      opMsgWithSequences(6, { ping: 1, $db: 'admin', documents: [] }, [['documents', [{ _id: 1 }]]]),
    ],
  ])('closes the connection on %s and keeps serving others', async (_case, garbage) => {
    const socket = await rawSocket(h.url);
    socket.write(garbage);
    await closedWithin(socket, 5_000);
    expect(h.drops).toEqual([expect.objectContaining({ reason: 'protocol' })]);
    const client = await h.login();
    expect(await client.db('sales').collection<Order>('orders').find().toArray()).toHaveLength(3);
  });

  it('answers an OP_MSG whose CRC-32C checksum matches, and closes the connection on one that does not', async () => {
    const withChecksum = (checksum: number): Buffer => {
      const bytes = Buffer.alloc(4);
      bytes.writeUInt32LE(checksum, 0);
      return opMsgWithSequences(4, { ping: 1, $db: 'admin' }, [], bytes);
    };
    const unsigned = withChecksum(0);
    const good = withChecksum(crc32c(unsigned.subarray(0, unsigned.length - 4)));
    const socket = await rawSocket(h.url);
    const reply = readReply(socket);
    socket.write(good);
    expect((await reply).doc).toMatchObject({ ok: 1 });
    socket.write(withChecksum((good.readUInt32LE(good.length - 4) ^ 1) >>> 0));
    await closedWithin(socket, 5_000);
    expect(h.drops).toEqual([{ reason: 'protocol', detail: 'OP_MSG checksum does not match contents' }]);
  });

  it('refuses OP_COMPRESSED with an error reply and closes the connection', async () => {
    const socket = await rawSocket(h.url);
    const reply = readReply(socket);
    socket.write(opCompressed(5));
    expect((await reply).doc).toMatchObject({ ok: 0, codeName: 'BadValue' });
    await closedWithin(socket, 5_000);
    expect(h.drops).toEqual([expect.objectContaining({ reason: 'compressed' })]);
  });
});
