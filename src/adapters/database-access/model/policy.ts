import type { CustomDbRole } from '../../../atlas/index.js';
import { allowedByPolicy, type Policy } from '../../../config/env.js';
import { policyDenial } from '../../../errors/policy-denial.js';
import { ConnectorError } from '../../../errors/connector-error.js';
import { checkAdminDatabaseActions, checkAdminDatabaseRule } from './admin-databases.js';
import { adminClassRoles, databaseRoles } from './role-classes.js';
import {
  isActionsEntry,
  type AccessEntry,
  type ActionsAccessEntry,
  type RoleAccessEntry,
} from './payloads.js';
import { roleKey, type GrantedRole } from './user-model.js';

export { adminClassRoles, databaseRoles } from './role-classes.js';

/**
 * Validation that needs no Atlas call: the connector's local policy (ARCHITECTURE §6, which no job
 * can override) and the role rules Atlas would otherwise reject half-way through a grant. Every
 * error names the rule and the payload field, so the requester can fix the request.
 */

/** The only roles Atlas lets a grant narrow to one collection. */
const collectionRoles: ReadonlySet<string> = new Set(['read', 'readWrite']);

/** Every `DatabasePrivilegeAction.action` the Atlas Admin API v2 accepts (v=2023-01-01). */
export const atlasPrivilegeActions: ReadonlySet<string> = new Set(
  (
    'FIND INSERT REMOVE UPDATE BYPASS_DOCUMENT_VALIDATION USE_UUID KILL_OP BYPASS_DEFAULT_MAX_TIME_MS ' +
    'CREATE_COLLECTION CREATE_INDEX DROP_COLLECTION ENABLE_PROFILER KILL_ANY_CURSOR ANALYZE CHANGE_STREAM ' +
    'COLL_MOD COMPACT CONVERT_TO_CAPPED DROP_DATABASE DROP_INDEX RE_INDEX RENAME_COLLECTION_SAME_DB ' +
    'SET_USER_WRITE_BLOCK BYPASS_USER_WRITE_BLOCK LIST_SESSIONS KILL_ANY_SESSION COLL_STATS CONN_POOL_STATS ' +
    'DB_HASH DB_STATS GET_CMD_LINE_OPTS GET_LOG GET_PARAMETER GET_SHARD_MAP HOST_INFO IN_PROG LIST_DATABASES ' +
    'LIST_COLLECTIONS LIST_INDEXES LIST_SHARDS NET_STAT REPL_SET_GET_CONFIG REPL_SET_GET_STATUS SERVER_STATUS ' +
    'VALIDATE SHARDING_STATE TOP SQL_GET_SCHEMA SQL_SET_SCHEMA VIEW_ALL_HISTORY OUT_TO_AZURE OUT_TO_GCS ' +
    'STORAGE_GET_CONFIG STORAGE_SET_CONFIG FLUSH_ROUTER_CONFIG ENABLE_SHARDING CHECK_METADATA_CONSISTENCY ' +
    'MOVE_CHUNK SPLIT_CHUNK ANALYZE_SHARD_KEY REFINE_COLLECTION_SHARD_KEY CLEAR_JUMBO_FLAG RESHARD_COLLECTION ' +
    'SHARDED_DATA_DISTRIBUTION GET_STREAM_PROCESSOR CREATE_STREAM_PROCESSOR PROCESS_STREAM_PROCESSOR ' +
    'MODIFY_STREAM_PROCESSOR START_STREAM_PROCESSOR STOP_STREAM_PROCESSOR DROP_STREAM_PROCESSOR ' +
    'SAMPLE_STREAM_PROCESSOR LIST_STREAM_PROCESSORS LIST_CONNECTIONS STREAM_PROCESSOR_STATS ' +
    'CREATE_SEARCH_INDEX DROP_SEARCH_INDEX LIST_SEARCH_INDEXES UPDATE_SEARCH_INDEX'
  ).split(' '),
);

/**
 * The data-plane actions an `actions` grant may give without the admin opt-in: reading and
 * writing documents, change streams, and managing the collections, indexes and search indexes of
 * the one database (or collection) granted — what read/readWrite/dbAdmin-on-a-collection cover.
 * Every other action (cluster-wide, server introspection, sharding, sessions, profiler, compaction,
 * DROP_DATABASE, stream processors, …) is admin-class: denied unless POLICY_ALLOW_ADMIN_ROLES.
 */
export const dataPlaneActions: ReadonlySet<string> = new Set([
  'FIND',
  'INSERT',
  'UPDATE',
  'REMOVE',
  'BYPASS_DOCUMENT_VALIDATION',
  'CHANGE_STREAM',
  'CREATE_COLLECTION',
  'DROP_COLLECTION',
  'RENAME_COLLECTION_SAME_DB',
  'COLL_MOD',
  'CONVERT_TO_CAPPED',
  'CREATE_INDEX',
  'DROP_INDEX',
  'LIST_COLLECTIONS',
  'LIST_INDEXES',
  'COLL_STATS',
  'DB_STATS',
  'VALIDATE',
  'CREATE_SEARCH_INDEX',
  'DROP_SEARCH_INDEX',
  'LIST_SEARCH_INDEXES',
  'UPDATE_SEARCH_INDEX',
]);

export function isBuiltInRole(roleName: string): boolean {
  return adminClassRoles.has(roleName) || databaseRoles.has(roleName);
}

export function invalidRequest(field: string, message: string): ConnectorError {
  return new ConnectorError({ code: 'invalid_request', message: `${field}: ${message}`, details: { field } });
}

/** POLICY_ALLOWED_PROJECT_IDS, when set, bounds every project a grant, renew or rotate may touch. */
export function checkProjectPolicy(policy: Policy, projectId: string): void {
  if (!allowedByPolicy(projectId, policy)) {
    throw policyDenial(
      'projectId',
      `project ${projectId} is not in the connector policy's allowed projects (POLICY_ALLOWED_PROJECT_IDS)`,
    );
  }
}

/** POLICY_ALLOWED_ROLES, when set, lists every role a grant may give; admin-class roles need an opt-in. */
export function checkRolePolicy(policy: Policy, roleName: string, field: string, database?: string): void {
  const named =
    policy.allowedRoles.includes(roleName) ||
    (database !== undefined && policy.allowedRoles.includes(`${roleName}@${database}`));
  if (policy.allowedRoles.length > 0 && !named) {
    throw policyDenial(
      field,
      `role ${roleName} is not in the connector policy's allowed roles (POLICY_ALLOWED_ROLES)`,
    );
  }
  if (adminClassRoles.has(roleName) && !policy.allowAdminRoles) {
    throw policyDenial(
      field,
      `${roleName} is an admin-class role, denied unless the connector policy sets POLICY_ALLOW_ADMIN_ROLES=true`,
      'admin_role',
    );
  }
  checkAdminDatabaseRule(policy, roleName, database, field);
}

/**
 * Privileges of an `actions` entry: every action must be one Atlas knows, and a data-plane one
 * unless the policy allows admin roles. POLICY_ALLOWED_ROLES, when set, bounds what a grant may
 * give to the listed roles, so it also refuses connector-made custom roles.
 */
export function checkActionsPolicy(
  policy: Policy,
  entry: Pick<ActionsAccessEntry, 'actions' | 'database'>,
  field: string,
): void {
  entry.actions.forEach((action, j) => {
    if (!atlasPrivilegeActions.has(action)) {
      throw invalidRequest(`${field}.actions[${j}]`, `${action} is not an Atlas privilege action`);
    }
  });
  if (policy.allowedRoles.length > 0) {
    throw policyDenial(
      `${field}.actions`,
      "custom privileges are denied while the connector policy's allowed roles (POLICY_ALLOWED_ROLES) are set",
    );
  }
  checkAdminDatabaseActions(policy, entry.database, `${field}.database`);
  entry.actions.forEach((action, j) => {
    if (!dataPlaneActions.has(action) && !policy.allowAdminRoles) {
      throw policyDenial(
        `${field}.actions[${j}]`,
        `${action} is not a data-plane action (admin-class), denied unless the connector policy sets POLICY_ALLOW_ADMIN_ROLES=true`,
        'admin_role',
      );
    }
  });
}

/**
 * A connector-made role (`jit-r-…`, an `actions` grant) is named by a hash of its privileges, so
 * its name alone says nothing the policy can judge: its definition, read back from Atlas, is
 * checked as the grant's `actions` were (known actions, data-plane only unless admin roles are
 * allowed, the admin-database rule, none while POLICY_ALLOWED_ROLES is set).
 */
export function checkConnectorRoleDefinition(
  policy: Policy,
  defined: Pick<CustomDbRole, 'actions' | 'inheritedRoles'>,
  field: string,
): void {
  const byDatabase = new Map<string, string[]>();
  for (const { action, resources } of defined.actions) {
    for (const resource of resources) {
      if (resource.cluster === true) {
        checkActionsPolicy(policy, { actions: [action], database: 'admin' }, field);
        continue;
      }
      const db = resource.db ?? 'admin';
      byDatabase.set(db, [...(byDatabase.get(db) ?? []), action]);
    }
  }
  for (const [database, actions] of byDatabase) checkActionsPolicy(policy, { actions, database }, field);
  // The connector never makes a role inherit; one changed to (outside the connector) gives every
  // inherited role's privileges too, so each is checked as a grant naming it would be.
  defined.inheritedRoles.forEach((inherited, k) =>
    checkRolePolicy(policy, inherited.role, `${field}.inheritedRoles[${k}]`, inherited.db),
  );
}

/** The local policy over every access entry of a grant. */
export function checkAccessPolicy(policy: Policy, access: readonly AccessEntry[]): void {
  access.forEach((entry, i) => {
    if (isActionsEntry(entry)) checkActionsPolicy(policy, entry, `access[${i}]`);
    else checkRolePolicy(policy, entry.role, `access[${i}].role`, entry.database);
  });
}

function roleFor(entry: RoleAccessEntry, field: string): GrantedRole {
  const { cluster, role, database, collection } = entry;
  if (collection !== undefined && !collectionRoles.has(role)) {
    throw invalidRequest(`${field}.collection`, 'only read and readWrite can be scoped to a collection');
  }
  if (databaseRoles.has(role)) {
    if (database === undefined) throw invalidRequest(`${field}.database`, `is required for role ${role}`);
    return {
      cluster,
      roleName: role,
      databaseName: database,
      ...(collection === undefined ? {} : { collectionName: collection }),
    };
  }
  if (database !== undefined && database !== 'admin') {
    const what = adminClassRoles.has(role)
      ? `${role} applies to the whole cluster`
      : `custom role ${role} is defined project-wide`;
    throw invalidRequest(`${field}.database`, `${what}: use database admin or omit it`);
  }
  return { cluster, roleName: role, databaseName: 'admin' };
}

/**
 * Atlas's role rules, applied before any write: cluster-wide and custom roles live on `admin`,
 * database roles need a database, collections only narrow read/readWrite, and a scope limited to
 * one cluster (`clusterLimit`) grants on that cluster only. Identical entries collapse into one role; an `actions`
 * entry becomes the connector-made custom role `customRoleFor` names (on `admin`).
 */
export function normalizeAccess(
  onlyCluster: string | undefined,
  access: readonly AccessEntry[],
  customRoleFor: (entry: ActionsAccessEntry) => GrantedRole,
): GrantedRole[] {
  const roles = new Map<string, GrantedRole>();
  access.forEach((entry, i) => {
    if (onlyCluster !== undefined && entry.cluster !== onlyCluster) {
      throw invalidRequest(
        `access[${i}].cluster`,
        `cluster ${entry.cluster} is not this integration's; it grants access to cluster ${onlyCluster} only`,
      );
    }
    const role = isActionsEntry(entry) ? customRoleFor(entry) : roleFor(entry, `access[${i}]`);
    roles.set(`${role.cluster}:${roleKey(role)}`, role);
  });
  return [...roles.values()];
}
