import type { DatabaseEntry } from './sub-integration.js';

/**
 * The narrow port to the MongoDB driver: log in with a username and password over one connection
 * string and list what that user may see (`listDatabases {nameOnly, authorizedDatabases}`, then
 * `listCollections {nameOnly, authorizedCollections}` per database). Built in the composition root;
 * the adapter never imports the driver. Failures are ConnectorErrors whose messages hold no
 * credential (a login or network failure becomes that cluster's reason, not the job's).
 */
export interface NamespaceReader {
  listNamespaces(input: {
    readonly connectionString: string;
    readonly username: string;
    readonly password: string;
    /** Bounds server selection, the connect, and the wait for each reply (a silent cluster fails). */
    readonly timeoutMs: number;
    readonly signal: AbortSignal;
  }): Promise<DatabaseEntry[]>;
}
