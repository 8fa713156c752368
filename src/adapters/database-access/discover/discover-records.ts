import type {
  Cluster,
  ConnectionStrings,
  CustomDbRole,
  DatabaseUser,
  FlexCluster,
  KeyValue,
  Project,
} from '../../../atlas/index.js';
import { adminClassRoles, databaseRoles } from '../model/policy.js';
import { activeGrants, clustersNeeded, labelKeys, labelValue, readGrants } from '../model/user-model.js';

/**
 * The lines of a discovery snapshot: one object per line, told apart by `type`. Only names,
 * identifiers and shapes — never a connection string, a password or any other credential.
 */
export type DiscoveryRecord = ProjectRecord | ClusterRecord | DatabaseRecord | RoleRecord | ManagedUserRecord;

export interface ProjectRecord {
  readonly type: 'project';
  readonly id: string;
  readonly name?: string;
  readonly orgId?: string;
  readonly tags?: readonly KeyValue[];
  readonly reachable: boolean;
  /** Why an allow-listed project could not be read (`not_found`, `forbidden`). */
  readonly error?: string;
}

export type ConnectionType = 'standard' | 'standardSrv' | 'private' | 'privateSrv' | 'privateEndpoint';

export interface ClusterRecord {
  readonly type: 'cluster';
  readonly projectId: string;
  readonly name: string;
  readonly id?: string;
  /** `REPLICASET`, `SHARDED`, `GEOSHARDED`, or `FLEX` for a flex cluster. */
  readonly clusterType?: string;
  readonly state?: string;
  readonly paused: boolean;
  readonly mongoDBVersion?: string;
  readonly tags: readonly KeyValue[];
  /** The value of the integration's owner tag (`ownerTagKey`). */
  readonly owner?: string;
  /** Which connection strings exist — the kinds only, never the strings. */
  readonly connectionTypes: readonly ConnectionType[];
  readonly privateEndpointIds: readonly string[];
}

export interface DatabaseRecord {
  readonly type: 'database';
  readonly projectId: string;
  readonly cluster: string;
  readonly name: string;
}

export interface RoleRecord {
  readonly type: 'role';
  readonly projectId: string;
  readonly name: string;
  readonly builtIn: boolean;
  /** Built-in roles the local policy denies unless `allowAdminRoles` (atlasAdmin class). */
  readonly adminClass: boolean;
  /** Built-in roles: the narrowest resource the role can be granted on. */
  readonly level?: 'collection' | 'database' | 'cluster';
  /** Custom roles: made by this connector (`jit-r-` prefix). */
  readonly connectorManaged?: boolean;
  readonly actions?: readonly string[];
  readonly inheritedRoles?: readonly string[];
}

export interface ManagedUserRecord {
  readonly type: 'managedUser';
  readonly projectId: string;
  readonly username: string;
  readonly strategy?: string;
  readonly requester?: string;
  readonly integrationId?: string;
  /** Clusters the user is scoped to; empty means unscoped (every cluster of the project). */
  readonly clusters: readonly string[];
  readonly activeGrants: number;
  readonly earliestExpiry?: string;
  readonly latestExpiry?: string;
  readonly deleteAfterDate?: string;
}

/** Custom roles whose names start with this were made by the connector and are garbage-collected. */
export const connectorRolePrefix = 'jit-r-';

/** Databases that hold server metadata, never a grant target. */
export const systemDatabases: ReadonlySet<string> = new Set(['admin', 'config', 'local']);

/** Cluster-wide built-in roles Atlas accepts for a database user (granted on `admin`). */
const clusterWideRoles: readonly string[] = [
  'readAnyDatabase',
  'readWriteAnyDatabase',
  'dbAdminAnyDatabase',
  'clusterMonitor',
  'backup',
  'enableSharding',
  'atlasAdmin',
];

/** Only these narrow to one collection. */
const collectionRoles: ReadonlySet<string> = new Set(['read', 'readWrite']);

/**
 * Grantable built-in roles, from the same sets grant validation uses (policy.ts), so discovery
 * offers what a grant accepts: the database roles, then the cluster-wide (admin-class) ones.
 */
export function builtInRoleNames(): string[] {
  return [...new Set([...databaseRoles, ...clusterWideRoles])];
}

function levelOf(role: string): 'collection' | 'database' | 'cluster' {
  if (collectionRoles.has(role)) return 'collection';
  return databaseRoles.has(role) ? 'database' : 'cluster';
}

const byKey = (a: KeyValue, b: KeyValue): number =>
  a.key.localeCompare(b.key) || a.value.localeCompare(b.value);

const sortedUnique = (values: readonly string[]): string[] => [...new Set(values)].sort();

export function projectRecord(project: Project): ProjectRecord {
  return {
    type: 'project',
    id: project.id,
    name: project.name,
    orgId: project.orgId,
    tags: [...(project.tags ?? [])].sort(byKey),
    reachable: true,
  };
}

export function unreachableProjectRecord(id: string, error: string): ProjectRecord {
  return { type: 'project', id, reachable: false, error };
}

/** A dedicated or flex cluster, as discovery sees it. */
export interface ClusterView {
  readonly name: string;
  readonly id?: string | undefined;
  readonly clusterType?: string | undefined;
  readonly stateName?: string | undefined;
  readonly paused: boolean;
  readonly mongoDBVersion?: string | undefined;
  readonly tags: readonly KeyValue[];
  readonly connectionStrings?: ConnectionStrings | undefined;
}

export function dedicatedClusterView(cluster: Cluster): ClusterView {
  const { name, id, clusterType, stateName, mongoDBVersion, connectionStrings } = cluster;
  return {
    name,
    id,
    clusterType,
    stateName,
    paused: cluster.paused ?? false,
    mongoDBVersion,
    tags: cluster.tags ?? [],
    connectionStrings,
  };
}

/**
 * A project's dedicated clusters without those its flex listing also has: the spec says
 * `/clusters` lists flex clusters too (made with createCluster, or migrated from M2/M5) "until
 * January 2026". A name is unique in a project, and the flex listing describes them.
 */
export function dedicatedOnly<C extends { readonly name: string }>(
  dedicated: readonly C[],
  flex: readonly { readonly name: string }[],
): C[] {
  const flexNames = new Set(flex.map((cluster) => cluster.name));
  return dedicated.filter((cluster) => !flexNames.has(cluster.name));
}

export function flexClusterView(cluster: FlexCluster): ClusterView {
  const { name, id, stateName, mongoDBVersion, connectionStrings } = cluster;
  return {
    name,
    id,
    clusterType: 'FLEX',
    stateName,
    paused: false,
    mongoDBVersion,
    tags: cluster.tags ?? [],
    connectionStrings,
  };
}

function connectionTypesOf(strings: ConnectionStrings | undefined): ConnectionType[] {
  const present = (value: string | undefined): boolean => typeof value === 'string' && value.length > 0;
  const types: ConnectionType[] = [];
  if (present(strings?.standard)) types.push('standard');
  if (present(strings?.standardSrv)) types.push('standardSrv');
  if (present(strings?.private)) types.push('private');
  if (present(strings?.privateSrv)) types.push('privateSrv');
  if ((strings?.privateEndpoint ?? []).length > 0) types.push('privateEndpoint');
  return types;
}

export function clusterRecord(projectId: string, cluster: ClusterView, ownerTagKey: string): ClusterRecord {
  const endpointIds = (cluster.connectionStrings?.privateEndpoint ?? []).flatMap((entry) =>
    (entry.endpoints ?? []).flatMap((endpoint) => (endpoint.endpointId ? [endpoint.endpointId] : [])),
  );
  return {
    type: 'cluster',
    projectId,
    name: cluster.name,
    id: cluster.id,
    clusterType: cluster.clusterType,
    state: cluster.stateName,
    paused: cluster.paused,
    mongoDBVersion: cluster.mongoDBVersion,
    tags: [...cluster.tags].sort(byKey),
    owner: cluster.tags.find((tag) => tag.key === ownerTagKey)?.value,
    connectionTypes: connectionTypesOf(cluster.connectionStrings),
    privateEndpointIds: sortedUnique(endpointIds),
  };
}

export function databaseRecords(
  projectId: string,
  cluster: string,
  names: Iterable<string>,
): DatabaseRecord[] {
  return sortedUnique([...names])
    .filter((name) => !systemDatabases.has(name))
    .map((name) => ({ type: 'database', projectId, cluster, name }));
}

export function builtInRoleRecords(projectId: string): RoleRecord[] {
  return builtInRoleNames().map((name) => ({
    type: 'role',
    projectId,
    name,
    builtIn: true,
    adminClass: adminClassRoles.has(name),
    level: levelOf(name),
  }));
}

export function customRoleRecord(projectId: string, role: CustomDbRole): RoleRecord {
  return {
    type: 'role',
    projectId,
    name: role.roleName,
    builtIn: false,
    adminClass: false,
    connectorManaged: role.roleName.startsWith(connectorRolePrefix),
    actions: sortedUnique(role.actions.map((action) => action.action)),
    inheritedRoles: sortedUnique(role.inheritedRoles.map((inherited) => `${inherited.role}@${inherited.db}`)),
  };
}

/** What a managed user's labels say, read through the user model; passwords are never returned. */
export function managedUserRecord(projectId: string, user: DatabaseUser, nowMs: number): ManagedUserRecord {
  const active = activeGrants(readGrants(user.labels ?? []), nowMs);
  const expiries = active.map((grant) => grant.expiresAtMs);
  const iso = (ms: number | undefined): string | undefined =>
    ms === undefined ? undefined : new Date(ms).toISOString();
  return {
    type: 'managedUser',
    projectId,
    username: user.username,
    strategy: labelValue(user.labels, labelKeys.strategy),
    requester: labelValue(user.labels, labelKeys.requester),
    integrationId: labelValue(user.labels, labelKeys.integration),
    clusters: sortedUnique(
      (user.scopes ?? []).filter((scope) => scope.type === 'CLUSTER').map((scope) => scope.name),
    ),
    activeGrants: active.length,
    earliestExpiry: iso(expiries.length > 0 ? Math.min(...expiries) : undefined),
    latestExpiry: iso(expiries.length > 0 ? Math.max(...expiries) : undefined),
    deleteAfterDate: user.deleteAfterDate,
  };
}

/**
 * atlas-project: a managed user belongs to the integration's cluster if scoped to it, unscoped (no
 * scopes at all: Atlas's every-cluster case; one scoped only to Data Lakes reaches no cluster), or
 * granted on it by its labels.
 */
export function touchesCluster(record: ManagedUserRecord, user: DatabaseUser, cluster: string): boolean {
  if ((user.scopes ?? []).length === 0) return true;
  return record.clusters.includes(cluster) || clustersNeeded(readGrants(user.labels ?? [])).includes(cluster);
}
