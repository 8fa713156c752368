import { ConnectorError } from '../errors/connector-error.js';

/** Root of every Admin API v2 path; the table below holds paths relative to it. */
export const apiPrefix = '/api/atlas/v2';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** The resource version dates this client speaks (see docs/atlas-client.md for why each one). */
export type ApiVersion = '2023-01-01' | '2024-08-05' | '2024-11-13' | '2025-02-19' | '2025-03-12';

export interface OperationSpec {
  readonly method: HttpMethod;
  /** Relative to `apiPrefix`, with `{name}` placeholders filled from URL-encoded params. */
  readonly path: string;
  readonly version: ApiVersion;
  /**
   * Whether repeating the call leaves the same state, so a 5xx/429/network failure may be retried:
   * reads, deletes, and PATCHes that set absolute values. POSTs never are: a create that timed out
   * may have happened, and the caller reconciles a 409 instead.
   */
  readonly idempotent: boolean;
}

const read = (path: string, version: ApiVersion): OperationSpec => ({
  method: 'GET',
  path,
  version,
  idempotent: true,
});
const write = (
  method: HttpMethod,
  path: string,
  version: ApiVersion,
  idempotent: boolean,
): OperationSpec => ({
  method,
  path,
  version,
  idempotent,
});

/**
 * Every Atlas call the connector makes, keyed by the spec's operationId. Version dates are the
 * newest non-deprecated media type per operation in the vendored v2 spec.
 */
export const atlasOperations = {
  getSystemStatus: read('', '2023-01-01'),
  listRateLimits: read('/rateLimits', '2025-03-12'),

  listOrgs: read('/orgs', '2023-01-01'),
  getOrg: read('/orgs/{orgId}', '2023-01-01'),
  listGroups: read('/groups', '2023-01-01'),
  getGroup: read('/groups/{groupId}', '2023-01-01'),
  getGroupByName: read('/groups/byName/{groupName}', '2023-01-01'),
  getOrgGroups: read('/orgs/{orgId}/groups', '2023-01-01'),

  listGroupClusters: read('/groups/{groupId}/clusters', '2024-08-05'),
  getGroupCluster: read('/groups/{groupId}/clusters/{clusterName}', '2024-08-05'),
  getGroupClusterStatus: read('/groups/{groupId}/clusters/{clusterName}/status', '2023-01-01'),
  listGroupFlexClusters: read('/groups/{groupId}/flexClusters', '2024-11-13'),
  getGroupFlexCluster: read('/groups/{groupId}/flexClusters/{name}', '2024-11-13'),

  listGroupClusterBackupSnapshots: read(
    '/groups/{groupId}/clusters/{clusterName}/backup/snapshots',
    '2023-01-01',
  ),
  listGroupClusterBackupSnapshotShardedClusters: read(
    '/groups/{groupId}/clusters/{clusterName}/backup/snapshots/shardedClusters',
    '2023-01-01',
  ),
  listGroupClusterBackupSnapshotDatabases: read(
    '/groups/{groupId}/clusters/{clusterName}/backup/snapshots/{snapshotId}/databases',
    '2025-03-12',
  ),
  listGroupClusterBackupSnapshotDatabaseCollections: read(
    '/groups/{groupId}/clusters/{clusterName}/backup/snapshots/{snapshotId}/databases/{databaseName}/collections',
    '2025-03-12',
  ),

  listGroupProcesses: read('/groups/{groupId}/processes', '2023-01-01'),
  listGroupProcessDatabases: read('/groups/{groupId}/processes/{processId}/databases', '2023-01-01'),

  listGroupDatabaseUsers: read('/groups/{groupId}/databaseUsers', '2023-01-01'),
  getGroupDatabaseUser: read('/groups/{groupId}/databaseUsers/{databaseName}/{username}', '2023-01-01'),
  createGroupDatabaseUser: write('POST', '/groups/{groupId}/databaseUsers', '2023-01-01', false),
  updateGroupDatabaseUser: write(
    'PATCH',
    '/groups/{groupId}/databaseUsers/{databaseName}/{username}',
    '2023-01-01',
    true,
  ),
  deleteGroupDatabaseUser: write(
    'DELETE',
    '/groups/{groupId}/databaseUsers/{databaseName}/{username}',
    '2023-01-01',
    true,
  ),

  listGroupCustomDbRoleRoles: read('/groups/{groupId}/customDBRoles/roles', '2023-01-01'),
  getGroupCustomDbRoleRole: read('/groups/{groupId}/customDBRoles/roles/{roleName}', '2023-01-01'),
  createGroupCustomDbRoleRole: write('POST', '/groups/{groupId}/customDBRoles/roles', '2023-01-01', false),
  updateGroupCustomDbRoleRole: write(
    'PATCH',
    '/groups/{groupId}/customDBRoles/roles/{roleName}',
    '2023-01-01',
    true,
  ),
  deleteGroupCustomDbRoleRole: write(
    'DELETE',
    '/groups/{groupId}/customDBRoles/roles/{roleName}',
    '2023-01-01',
    true,
  ),

  listGroupLimits: read('/groups/{groupId}/limits', '2023-01-01'),
  getGroupLimit: read('/groups/{groupId}/limits/{limitName}', '2023-01-01'),
  setGroupLimit: write('PATCH', '/groups/{groupId}/limits/{limitName}', '2023-01-01', true),

  listOrgUsers: read('/orgs/{orgId}/users', '2025-02-19'),
  getOrgUser: read('/orgs/{orgId}/users/{userId}', '2025-02-19'),
  createOrgUser: write('POST', '/orgs/{orgId}/users', '2025-02-19', false),
  addOrgUserRole: write('POST', '/orgs/{orgId}/users/{userId}:addRole', '2025-02-19', false),
  removeOrgUserRole: write('POST', '/orgs/{orgId}/users/{userId}:removeRole', '2025-02-19', false),
  removeOrgUser: write('DELETE', '/orgs/{orgId}/users/{userId}', '2025-02-19', true),

  listGroupUsers: read('/groups/{groupId}/users', '2025-02-19'),
  getGroupUser: read('/groups/{groupId}/users/{userId}', '2025-02-19'),
  addGroupUsers: write('POST', '/groups/{groupId}/users', '2025-02-19', false),
  addGroupUserRole: write('POST', '/groups/{groupId}/users/{userId}:addRole', '2025-02-19', false),
  removeGroupUserRole: write('POST', '/groups/{groupId}/users/{userId}:removeRole', '2025-02-19', false),
  removeGroupUser: write('DELETE', '/groups/{groupId}/users/{userId}', '2025-02-19', true),

  listOrgTeams: read('/orgs/{orgId}/teams', '2023-01-01'),
  listOrgTeamUsers: read('/orgs/{orgId}/teams/{teamId}/users', '2025-02-19'),
  addOrgTeamUser: write('POST', '/orgs/{orgId}/teams/{teamId}:addUser', '2025-02-19', false),
  removeOrgTeamUser: write('POST', '/orgs/{orgId}/teams/{teamId}:removeUser', '2025-02-19', false),
  listGroupTeams: read('/groups/{groupId}/teams', '2023-01-01'),

  listGroupEvents: read('/groups/{groupId}/events', '2023-01-01'),
  listOrgEvents: read('/orgs/{orgId}/events', '2023-01-01'),

  listOrgApiKeys: read('/orgs/{orgId}/apiKeys', '2023-01-01'),
  getOrgServiceAccount: read('/orgs/{orgId}/serviceAccounts/{clientId}', '2024-08-05'),
  getOrgServiceAccountGroups: read('/orgs/{orgId}/serviceAccounts/{clientId}/groups', '2024-08-05'),
} as const satisfies Record<string, OperationSpec>;

export type OperationId = keyof typeof atlasOperations;

export function mediaType(version: ApiVersion): string {
  return `application/vnd.atlas.${version}+json`;
}

export type PathParams = Readonly<Record<string, string>>;

/**
 * Fills `{name}` placeholders; every value is one URL-encoded segment (usernames hold `/`, `=`, `,`).
 * `.` and `..` are refused: `encodeURIComponent` leaves dots as they are (and a URL reads `%2E%2E`
 * as `..` too), so the URL would resolve them to a parent path: removing the user `..` of a
 * project would send `DELETE /groups/{groupId}/`.
 */
export function expandPath(operation: OperationId, params: PathParams = {}): string {
  return atlasOperations[operation].path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined || value === '' || value === '.' || value === '..') {
      throw new ConnectorError({
        code: 'invalid_request',
        message: `${operation}: path parameter ${name} is required (and may not be . or ..)`,
        details: { operation },
      });
    }
    return encodeURIComponent(value);
  });
}

/** The limiter bucket a call draws from: the project or organization in its path, if any. */
export type RateScope = { readonly kind: 'project' | 'org'; readonly id: string };

export function rateScopeOf(operation: OperationId, params: PathParams = {}): RateScope | undefined {
  const { path } = atlasOperations[operation];
  if (path.startsWith('/groups/{groupId}') && params.groupId) return { kind: 'project', id: params.groupId };
  if (path.startsWith('/orgs/{orgId}') && params.orgId) return { kind: 'org', id: params.orgId };
  return undefined;
}

export function rateScopeKey(scope: RateScope | undefined): string {
  return scope ? `${scope.kind}:${scope.id}` : 'user';
}
