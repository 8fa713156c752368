import type { Policy } from '../../../config/env.js';
import { ConnectorError } from '../../../errors/connector-error.js';
import { adminClassRoles, databaseRoles } from './role-classes.js';

/**
 * The admin-database rule (docs/database-access.md "Admin-class roles"): roles that act on the
 * `admin`, `local` or `config` databases, or that amount to administering users, roles or whole
 * databases anywhere, are denied unless POLICY_ALLOWED_ROLES names them. Self-contained so it can
 * move with the adapter without touching the rest of the policy.
 */

/** MongoDB's system databases: a role on them reaches users, roles, the oplog or sharding metadata. */
export const adminDatabases: ReadonlySet<string> = new Set(['admin', 'local', 'config']);

/** Read-only cluster-wide roles Atlas defines on `admin`: they carry no write or user privilege. */
export const readOnlyClusterRoles: ReadonlySet<string> = new Set(['readAnyDatabase', 'clusterMonitor']);

/** Denied on any database unless named, with the reason docs/database-access.md gives. */
export const privilegedRoles: ReadonlyMap<string, string> = new Map([
  ['atlasAdmin', 'full control of every database, user and role of the project'],
  ['readWriteAnyDatabase', 'writes every database, including admin and config'],
  ['dbAdminAnyDatabase', 'drops and reconfigures every database'],
  ['userAdminAnyDatabase', 'creates users and grants any role: escalates to everything'],
  ['userAdmin', 'creates users and grants any role on its database: escalates'],
  ['dbOwner', 'includes userAdmin on its database: escalates'],
]);

/** Why the role is admin-class under this rule, or undefined when the rule does not apply. */
export function adminDatabaseReason(roleName: string, database: string | undefined): string | undefined {
  const privileged = privilegedRoles.get(roleName);
  if (privileged !== undefined) return privileged;
  if (adminClassRoles.has(roleName) && !readOnlyClusterRoles.has(roleName)) {
    return 'a cluster-wide role on the admin database';
  }
  if (databaseRoles.has(roleName) && database !== undefined && adminDatabases.has(database)) {
    return `a role on the ${database} system database`;
  }
  return undefined;
}

/**
 * How POLICY_ALLOWED_ROLES names a role: a role on a system database only as `role@database`
 * (`readWrite` in the list means application databases), any other role by its bare name too.
 */
export function namedInPolicy(policy: Policy, roleName: string, database: string | undefined): boolean {
  const qualified = database === undefined ? undefined : `${roleName}@${database}`;
  if (qualified !== undefined && policy.allowedRoles.includes(qualified)) return true;
  const onSystemDb = database !== undefined && adminDatabases.has(database) && databaseRoles.has(roleName);
  return !onSystemDb && policy.allowedRoles.includes(roleName);
}

export function checkAdminDatabaseRule(
  policy: Policy,
  roleName: string,
  database: string | undefined,
  field: string,
): void {
  const reason = adminDatabaseReason(roleName, database);
  if (reason === undefined || namedInPolicy(policy, roleName, database)) return;
  const name = database !== undefined && adminDatabases.has(database) ? `${roleName}@${database}` : roleName;
  throw new ConnectorError({
    code: 'policy_denied',
    message: `${field}: ${name} is admin-class (${reason}), denied unless the connector policy's POLICY_ALLOWED_ROLES names it`,
    details: { field, rule: 'admin_database' },
  });
}

/**
 * Privileges on a system database amount to a role on it (readWrite@admin writes users and roles
 * documents; DROP_DATABASE on admin drops them): denied unless POLICY_ALLOW_ADMIN_ROLES, because
 * POLICY_ALLOWED_ROLES cannot name a privilege set. Atlas's action list has no user or role
 * management action, so those are refused earlier as unknown actions.
 */
export function checkAdminDatabaseActions(policy: Policy, database: string, field: string): void {
  if (!adminDatabases.has(database) || policy.allowAdminRoles) return;
  throw new ConnectorError({
    code: 'policy_denied',
    message: `${field}: privileges on the ${database} system database are admin-class, denied unless the connector policy sets POLICY_ALLOW_ADMIN_ROLES=true`,
    details: { field, rule: 'admin_database' },
  });
}
