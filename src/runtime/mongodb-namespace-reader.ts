import type * as MongoDriver from 'mongodb';
import type { MongoClient } from 'mongodb';
import type { NamespaceReader } from '../adapters/atlas-org-deep-discovery/namespace-reader.js';
import { cancelledError, ConnectorError } from '../errors/connector-error.js';

/**
 * The official `mongodb` driver behind deep discovery's `NamespaceReader` port. Credentials go in
 * the `auth` option, never into the URI, so no driver message can carry them; errors become
 * ConnectorErrors with a fixed message naming only the failure's kind (codeName, error name).
 */
const authFailed: ReadonlySet<number> = new Set([18, 13]);

type Driver = typeof MongoDriver;

function driverError(driver: Driver, error: unknown): ConnectorError {
  if (error instanceof driver.MongoServerError) {
    const code =
      typeof error.code === 'number' && authFailed.has(error.code) ? 'auth_failed' : 'upstream_unavailable';
    return new ConnectorError({
      code,
      message: `cluster refused the discovery login or listing (${error.codeName ?? 'server error'})`,
    });
  }
  const name = error instanceof Error ? error.name : 'unknown error';
  return new ConnectorError({
    code: 'upstream_unavailable',
    message: `cluster unreachable over the driver (${name})`,
  });
}

async function listAll(client: MongoClient) {
  const { databases } = await client
    .db('admin')
    .admin()
    .listDatabases({ nameOnly: true, authorizedDatabases: true });
  const result: { name: string; collections: string[] }[] = [];
  for (const { name } of databases) {
    const collections = await client
      .db(name)
      .listCollections({}, { nameOnly: true, authorizedCollections: true })
      .toArray();
    result.push({ name, collections: collections.map((collection) => collection.name) });
  }
  return result;
}

/**
 * The driver is loaded on the first listing, not at start-up: loading it costs about 24 MB of
 * RSS, and only a deep discovery with `collectionDiscovery: driver` ever uses it.
 */
export function createMongoNamespaceReader(options: {
  readonly appName: string;
  /** Loads the driver (default: `import('mongodb')`); tests make it fail. */
  readonly load?: () => Promise<Driver>;
}): NamespaceReader {
  const load = options.load ?? (() => import('mongodb'));
  let loading: Promise<Driver> | undefined;
  // A failed load is not kept: the next listing loads again (a file-descriptor shortage, say, passes).
  const loadDriver = (): Promise<Driver> =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
  return {
    async listNamespaces(input) {
      if (input.signal.aborted) throw cancelledError(input.signal.reason);
      const driver = await loadDriver();
      if (input.signal.aborted) throw cancelledError(input.signal.reason);
      let client: MongoClient;
      try {
        client = new driver.MongoClient(input.connectionString, {
          auth: { username: input.username, password: input.password },
          authSource: 'admin',
          appName: options.appName,
          serverSelectionTimeoutMS: input.timeoutMs,
          connectTimeoutMS: input.timeoutMs,
          maxPoolSize: 1,
          // Each reply too: a cluster whose path goes silent after the login would otherwise hold
          // the listing, the discovery user and the whole organization's discovery for ever.
          socketTimeoutMS: input.timeoutMs,
        });
      } catch (error) {
        // A connection string the driver cannot parse: the same fixed-message error as the rest.
        throw driverError(driver, error);
      }
      const onAbort = (): void => void client.close(true).catch(() => undefined);
      input.signal.addEventListener('abort', onAbort, { once: true });
      try {
        await client.connect();
        return await listAll(client);
      } catch (error) {
        if (input.signal.aborted) throw cancelledError(input.signal.reason);
        throw driverError(driver, error);
      } finally {
        input.signal.removeEventListener('abort', onAbort);
        await client.close().catch(() => undefined);
      }
    },
  };
}
