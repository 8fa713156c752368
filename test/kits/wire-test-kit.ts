import { connect, type Socket } from 'node:net';
import { deserialize, serialize, type Document } from 'bson';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { dbUserBody, isoIn, dayMs, startHarness, type Harness } from '../contract/sim-harness.js';
import { sandboxIds } from '../../src/sandbox/atlas/default-fixture.js';
import type { AtlasFixtureInput } from '../../src/sandbox/atlas/fixture.js';
import type { ConnectionDrop } from '../../src/sandbox/wire/connection.js';
import { opCodes } from '../../src/sandbox/wire/protocol.js';

export const payments = sandboxIds.payments;
export const password = 'correct-horse-battery';

export interface WireHarness extends Harness {
  readonly url: string;
  readonly drops: ConnectionDrop[];
  /** Creates a database user through the Admin API (tweaks over a read-on-sales baseline). */
  createUser(overrides?: Record<string, unknown>): Promise<void>;
  /** A driver client for `username` on Cluster0, closed by `close()`. */
  login(username?: string, secret?: string, options?: MongoClientOptions): Promise<MongoClient>;
}

/**
 * A simulator (FakeClock, no propagation delay unless asked, the default fixture unless given)
 * whose Cluster0 endpoint tests reach with the real driver; every client it hands out is closed
 * with it.
 */
export async function startWireHarness(
  propagationDelayMs = 0,
  fixture?: AtlasFixtureInput,
): Promise<WireHarness> {
  const drops: ConnectionDrop[] = [];
  const h = await startHarness({
    ...(fixture ? { fixture } : {}),
    knobs: { propagationDelayMs },
    onWireDrop: (_id, drop) => drops.push(drop),
  });
  const url = h.sim.connectionString(payments, 'Cluster0');
  const clients: MongoClient[] = [];
  return {
    ...h,
    url,
    drops,
    async createUser(overrides = {}) {
      const body = dbUserBody(payments, { deleteAfterDate: isoIn(h.clock, dayMs), ...overrides });
      const result = await h.client.call('POST', `/groups/${payments}/databaseUsers`, { body });
      if (result.status !== 201) throw new Error(`creating a user failed: ${result.text}`);
    },
    async login(username = 'jit-alice-1', secret = password, options = {}) {
      const client = new MongoClient(url, {
        auth: { username, password: secret },
        serverSelectionTimeoutMS: 5_000,
        ...options,
      });
      clients.push(client);
      await client.connect();
      return client;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await h.close();
    },
  };
}

/** Host and port of a `mongodb://host:port/...` string. */
export function addressOf(url: string): { host: string; port: number } {
  const match = /^mongodb:\/\/([^:/]+):(\d+)\//.exec(url);
  if (!match?.[1] || !match[2]) throw new Error(`not a single-host mongodb:// URL: ${url}`);
  return { host: match[1], port: Number(match[2]) };
}

/** A raw TCP connection for the protocol cases a driver never produces. */
export async function rawSocket(url: string): Promise<Socket> {
  const { host, port } = addressOf(url);
  const socket = connect(port, host);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

function header(length: number, requestId: number, opCode: number): Buffer {
  const out = Buffer.alloc(16);
  out.writeInt32LE(length, 0);
  out.writeInt32LE(requestId, 4);
  out.writeInt32LE(0, 8);
  out.writeInt32LE(opCode, 12);
  return out;
}

export function opMsg(requestId: number, command: Document): Buffer {
  const body = Buffer.from(serialize(command));
  const prefix = Buffer.alloc(5);
  return Buffer.concat([header(16 + 5 + body.length, requestId, opCodes.msg), prefix, body]);
}

/**
 * An OP_MSG with a body and the given document sequences (kind 1), in that order; with `checksum`
 * the checksumPresent bit is set and those four bytes end the message.
 */
export function opMsgWithSequences(
  requestId: number,
  command: Document,
  sequences: readonly (readonly [string, readonly Document[]])[],
  checksum?: Buffer,
): Buffer {
  const flags = Buffer.alloc(4);
  if (checksum) flags.writeUInt32LE(1, 0);
  const body = Buffer.concat([Buffer.from([0]), serialize(command)]);
  const sections = sequences.map(([id, docs]) => {
    const payload = Buffer.concat([Buffer.from(`${id}\0`, 'utf8'), ...docs.map((d) => serialize(d))]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + payload.length, 0);
    return Buffer.concat([Buffer.from([1]), size, payload]);
  });
  const rest = Buffer.concat([flags, body, ...sections, ...(checksum ? [checksum] : [])]);
  return Buffer.concat([header(16 + rest.length, requestId, opCodes.msg), rest]);
}

export function opQuery(requestId: number, namespace: string, command: Document): Buffer {
  const ns = Buffer.from(`${namespace}\0`, 'utf8');
  const body = Buffer.from(serialize(command));
  const fields = Buffer.alloc(8);
  fields.writeInt32LE(-1, 4);
  const length = 16 + 4 + ns.length + 8 + body.length;
  return Buffer.concat([header(length, requestId, opCodes.query), Buffer.alloc(4), ns, fields, body]);
}

export function opCompressed(requestId: number): Buffer {
  const inner = Buffer.from(serialize({ ping: 1, $db: 'admin' }));
  const fields = Buffer.alloc(9);
  fields.writeInt32LE(opCodes.msg, 0);
  fields.writeInt32LE(inner.length, 4);
  return Buffer.concat([header(16 + 9 + inner.length, requestId, opCodes.compressed), fields, inner]);
}

/** Reads one reply (OP_MSG or OP_REPLY) and returns its op code and document. */
export function readReply(socket: Socket): Promise<{ opCode: number; doc: Document }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4 || buffered.length < buffered.readInt32LE(0)) return;
      socket.off('data', onData);
      const opCode = buffered.readInt32LE(12);
      const docAt = opCode === opCodes.reply ? 36 : 21;
      resolve({ opCode, doc: deserialize(buffered.subarray(docAt, buffered.readInt32LE(0))) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Resolves when the peer closes the socket, or rejects after `ms` of wall time. */
export function closedWithin(socket: Socket, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve();
    const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.resume();
  });
}
