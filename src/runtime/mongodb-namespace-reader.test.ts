import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { addressOf, password as userPassword, startWireHarness } from '../../test/kits/wire-test-kit.js';
import { isConnectorError } from '../errors/connector-error.js';
import { createMongoNamespaceReader } from './mongodb-namespace-reader.js';

/**
 * A loopback proxy in front of a cluster endpoint that forwards everything until the client sends
 * a command naming `stallOn`, then stops passing the server's answers on: a cluster whose network
 * path goes silent mid-listing (no reset, no answer).
 */
async function startStallingProxy(target: { host: string; port: number }, stallOn: string) {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let stalled = false;
    client.on('data', (chunk: Buffer) => {
      if (chunk.includes(Buffer.from(stallOn))) stalled = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('the mongodb namespace reader', () => {
  it('loads the driver again on the next listing after a load failed', async () => {
    let loads = 0;
    const reader = createMongoNamespaceReader({
      appName: 'reader-test',
      load: async () => {
        loads += 1;
        if (loads === 1) throw new Error('EMFILE: too many open files');
        return import('mongodb');
      },
    });
    const listing = () =>
      reader
        .listNamespaces({
          connectionString: 'mongodb+srv://two.hosts.example.net,three.example.net/',
          username: 'jit-discovery-x',
          password: 'Discovery-Pass-123456',
          timeoutMs: 1_000,
          signal: new AbortController().signal,
        })
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );

    expect(String(await listing())).toContain('EMFILE');
    // Loaded this time: the driver itself refuses the connection string.
    expect(String(await listing())).toContain('cluster unreachable over the driver (MongoParseError)');
    expect(loads).toBe(2);
  });

  it('turns a connection string the driver cannot parse into a ConnectorError without the password', async () => {
    const reader = createMongoNamespaceReader({ appName: 'reader-test' });
    const password = 'Discovery-Pass-123456';

    const error: unknown = await reader
      .listNamespaces({
        connectionString: 'mongodb+srv://two.hosts.example.net,three.example.net/',
        username: 'jit-discovery-x',
        password,
        timeoutMs: 1_000,
        signal: new AbortController().signal,
      })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );

    expect(isConnectorError(error) && error.code).toBe('upstream_unavailable');
    expect(String(error)).toContain('cluster unreachable over the driver (MongoParseError)');
    expect(JSON.stringify(isConnectorError(error) ? error.toSafeJSON() : error)).not.toContain(password);
  });
  it('gives up on a cluster that stops answering after the login, instead of waiting forever', async () => {
    const h = await startWireHarness();
    const stall = await startStallingProxy(addressOf(h.url), 'listDatabases');
    try {
      await h.createUser({
        username: 'jit-discovery-stall',
        roles: [{ roleName: 'readAnyDatabase', databaseName: 'admin' }],
      });
      const reader = createMongoNamespaceReader({ appName: 'reader-test' });

      const error: unknown = await reader
        .listNamespaces({
          connectionString: `mongodb://${stall.address}/?directConnection=true`,
          username: 'jit-discovery-stall',
          password: userPassword,
          timeoutMs: 500,
          signal: new AbortController().signal,
        })
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );

      expect(isConnectorError(error) && error.code).toBe('upstream_unavailable');
      expect(String(error)).toContain('MongoNetworkTimeoutError');
    } finally {
      await stall.close();
      await h.close();
    }
  }, 30_000);
});
