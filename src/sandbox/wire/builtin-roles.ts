/**
 * MongoDB's built-in roles as privileges (MongoDB manual, "Built-In Roles"), reduced to the actions
 * the endpoint checks plus the ones `connectionStatus` should show for least-privilege assertions.
 * A resource `{ db: '', collection: '' }` means every database, as the server prints it.
 */
export type Resource = { readonly db: string; readonly collection: string } | { readonly cluster: true };

export interface Privilege {
  readonly resource: Resource;
  readonly actions: readonly string[];
}

const readActions = [
  'changeStream',
  'collStats',
  'dbHash',
  'dbStats',
  'find',
  'killCursors',
  'listCollections',
  'listIndexes',
  'listSearchIndexes',
];
const writeActions = [
  'convertToCapped',
  'createCollection',
  'createIndex',
  'dropCollection',
  'dropIndex',
  'insert',
  'remove',
  'renameCollectionSameDB',
  'update',
];
const dbAdminActions = [
  'bypassDocumentValidation',
  'collMod',
  'collStats',
  'compact',
  'convertToCapped',
  'createCollection',
  'createIndex',
  'dbStats',
  'dropCollection',
  'dropDatabase',
  'dropIndex',
  'enableProfiler',
  'listCollections',
  'listIndexes',
  'planCacheRead',
  'reIndex',
  'renameCollectionSameDB',
  'validate',
];
const clusterMonitorActions = [
  'connPoolStats',
  'getCmdLineOpts',
  'getLog',
  'getParameter',
  'hostInfo',
  'listDatabases',
  'listSessions',
  'serverStatus',
  'top',
];

const sorted = (actions: readonly string[]): string[] => [...new Set(actions)].sort();
const on = (db: string, collection: string, actions: readonly string[]): Privilege => ({
  resource: { db, collection },
  actions: sorted(actions),
});
const onCluster = (actions: readonly string[]): Privilege => ({
  resource: { cluster: true },
  actions: sorted(actions),
});

type RoleBuilder = (db: string, collection: string) => Privilege[];

const builtInRoles: Readonly<Record<string, RoleBuilder>> = {
  read: (db, coll) => [on(db, coll, readActions)],
  readWrite: (db, coll) => [on(db, coll, [...readActions, ...writeActions])],
  dbAdmin: (db) => [on(db, '', dbAdminActions), on(db, 'system.profile', ['find', 'collStats', 'dbStats'])],
  dbOwner: (db) => [on(db, '', [...readActions, ...writeActions, ...dbAdminActions])],
  readAnyDatabase: () => [on('', '', readActions), onCluster(['listDatabases'])],
  readWriteAnyDatabase: () => [on('', '', [...readActions, ...writeActions]), onCluster(['listDatabases'])],
  dbAdminAnyDatabase: () => [on('', '', dbAdminActions), onCluster(['listDatabases'])],
  clusterMonitor: () => [onCluster(clusterMonitorActions)],
  backup: () => [
    onCluster(['listDatabases', 'serverStatus']),
    on('', '', ['listCollections', 'listIndexes']),
  ],
  enableSharding: () => [on('', '', ['enableSharding', 'refineCollectionShardKey', 'reshardCollection'])],
  atlasAdmin: () => [
    on('', '', [...readActions, ...writeActions, ...dbAdminActions]),
    onCluster([...clusterMonitorActions, 'killAnyCursor', 'killop']),
  ],
};

/** The privileges of built-in `role` granted on `db` (and `collection`), or undefined if unknown. */
export function builtInRolePrivileges(role: string, db: string, collection = ''): Privilege[] | undefined {
  const build = builtInRoles[role];
  if (!build) return undefined;
  // Roles that exist only in admin grant on every database (readAnyDatabase…): db is ignored.
  return build(db, collection);
}
