/** The built-in role classes the policy and the admin-database rule both reason about. */

/** Roles that reach every database or the cluster itself: denied unless the policy allows them. */
export const adminClassRoles: ReadonlySet<string> = new Set([
  'atlasAdmin',
  'readAnyDatabase',
  'readWriteAnyDatabase',
  'dbAdminAnyDatabase',
  'userAdminAnyDatabase',
  'clusterMonitor',
  'clusterManager',
  'clusterAdmin',
  'backup',
  'restore',
  'enableSharding',
  'root',
]);

/** Built-in roles that act on one database, so the grant must name it. */
export const databaseRoles: ReadonlySet<string> = new Set([
  'read',
  'readWrite',
  'dbAdmin',
  'dbOwner',
  'userAdmin',
]);
