import { describe, expect, it } from 'vitest';
import { isConnectorError } from '../errors/connector-error.js';
import { createMongoNamespaceReader } from './mongodb-namespace-reader.js';

describe('the mongodb namespace reader', () => {
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
});
