import { z } from 'zod';
import type { CustomDbRole, KeyValue, Project } from '../../atlas/index.js';
import {
  builtInRoleNames,
  systemDatabases,
  type ClusterView,
} from '../database-access/discover/discover-records.js';
import type { ConnectionType, Route } from './routing.js';
import { tagValue } from './routing.js';

/**
 * A sub-integration is one cluster of one project of the organization. Its id is stable across
 * discoveries (project id + cluster name, which Atlas never reuses within a project at once), so
 * the control plane keeps grants attached to it and routes its jobs to `connectorId`.
 */
const subIntegrationIdPattern = /^([a-f0-9]{24}):([a-zA-Z0-9][a-zA-Z0-9-]{0,63})$/;

export const SubIntegrationId = z
  .string()
  .regex(subIntegrationIdPattern, 'must be "<24-hex project id>:<cluster name>", as discovery reported it');

export function subIntegrationId(projectId: string, clusterName: string): string {
  return `${projectId}:${clusterName}`;
}

export function parseSubIntegrationId(id: string): { projectId: string; clusterName: string } {
  const match = subIntegrationIdPattern.exec(id);
  if (!match?.[1] || !match[2]) throw new Error(`not a sub-integration id: ${id}`);
  return { projectId: match[1], clusterName: match[2] };
}

/**
 * `discovered`: databases (and collections, per `collectionsFrom`) read; `degraded`: listed but
 * part of it could not be read (`reason` says what); `unavailable`: nothing could be read (paused,
 * unreachable); `elsewhere`: another connector serves it, nothing was read; `unroutable`: its tags
 * do not name a usable connection (`reason`).
 */
export type SubIntegrationState = 'discovered' | 'degraded' | 'unavailable' | 'elsewhere' | 'unroutable';

export interface DatabaseEntry {
  readonly name: string;
  /** Absent when collections were not listed (collectionDiscovery off, or that part failed). */
  readonly collections?: readonly string[];
}

export interface RoleEntry {
  readonly name: string;
  readonly builtIn: boolean;
}

export interface SubIntegrationRecord {
  readonly type: 'subIntegration';
  readonly id: string;
  readonly projectId: string;
  readonly projectName?: string;
  readonly clusterName: string;
  readonly clusterType?: string;
  readonly clusterState?: string;
  readonly paused: boolean;
  readonly connectorId: string;
  readonly connectionType?: ConnectionType;
  readonly privateEndpointId?: string;
  readonly databases: readonly DatabaseEntry[];
  readonly collectionsFrom?: 'driver' | 'backup-snapshot';
  /** With `backup-snapshot`: when the snapshot the collections come from was taken. */
  readonly snapshotCreatedAt?: string;
  readonly roles: readonly RoleEntry[];
  readonly owner?: string;
  readonly tags: readonly KeyValue[];
  readonly state: SubIntegrationState;
  readonly reason?: string;
}

/** A project whose clusters could not be listed: its sub-integrations are unknown, not absent. */
export interface ProjectFailureRecord {
  readonly type: 'project';
  readonly id: string;
  readonly name?: string;
  readonly reason: string;
}

export type DeepDiscoveryRecord = SubIntegrationRecord | ProjectFailureRecord;

/** What discovery learned about one cluster it serves. Every field may be missing on failure. */
export interface ClusterFindings {
  readonly databases?: readonly DatabaseEntry[];
  readonly collectionsFrom?: 'driver' | 'backup-snapshot';
  readonly snapshotCreatedAt?: string;
  readonly customRoles?: readonly CustomDbRole[];
  /** Why something could not be read; several join into `reason`. */
  readonly problems: readonly string[];
  /** Nothing at all could be read. */
  readonly unavailable?: boolean;
}

const byKey = (a: KeyValue, b: KeyValue): number =>
  a.key.localeCompare(b.key) || a.value.localeCompare(b.value);

/** Built-in roles (one fixed list, as grants validate them), then the project's custom roles. */
export function rolesOf(customRoles: readonly CustomDbRole[] | undefined): RoleEntry[] {
  const custom = [...new Set((customRoles ?? []).map((role) => role.roleName))].sort();
  return [
    ...builtInRoleNames().map((name) => ({ name, builtIn: true })),
    ...custom.map((name) => ({ name, builtIn: false })),
  ];
}

/** Sorted, system databases dropped, collections sorted and `system.*` dropped. */
export function normalizeDatabases(databases: readonly DatabaseEntry[]): DatabaseEntry[] {
  const byName = new Map<string, DatabaseEntry>();
  for (const database of databases) {
    if (systemDatabases.has(database.name)) continue;
    const known = byName.get(database.name)?.collections;
    const collections =
      database.collections === undefined && known === undefined
        ? undefined
        : [...new Set([...(known ?? []), ...(database.collections ?? [])])]
            .filter((name) => !name.startsWith('system.'))
            .sort();
    byName.set(database.name, { name: database.name, ...(collections ? { collections } : {}) });
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function stateOf(route: Route, findings: ClusterFindings | undefined): SubIntegrationState {
  if (route.kind === 'elsewhere') return 'elsewhere';
  if (route.kind === 'unroutable') return 'unroutable';
  if (!findings || findings.unavailable) return 'unavailable';
  return findings.problems.length > 0 ? 'degraded' : 'discovered';
}

function reasonOf(route: Route, findings: ClusterFindings | undefined): string | undefined {
  if (route.kind === 'unroutable') return route.reason;
  if (route.kind === 'elsewhere' || !findings || findings.problems.length === 0) return undefined;
  return findings.problems.join('; ').slice(0, 1000);
}

/**
 * One line of the discovery snapshot. A cluster another connector serves carries only what the
 * cluster listing said (names, type, tags): nothing is read from it.
 */
export function subIntegrationRecord(input: {
  readonly project: Pick<Project, 'id' | 'name'>;
  readonly cluster: ClusterView;
  readonly route: Route;
  readonly ownerTagKey: string;
  readonly findings?: ClusterFindings;
}): SubIntegrationRecord {
  const { project, cluster, route, findings } = input;
  const served = route.kind === 'served';
  const reason = reasonOf(route, findings);
  return {
    type: 'subIntegration',
    id: subIntegrationId(project.id, cluster.name),
    projectId: project.id,
    projectName: project.name,
    clusterName: cluster.name,
    clusterType: cluster.clusterType,
    clusterState: cluster.stateName,
    paused: cluster.paused,
    connectorId: route.connectorId,
    ...(served ? { connectionType: route.connectionType } : {}),
    ...(served && route.privateEndpointId ? { privateEndpointId: route.privateEndpointId } : {}),
    databases: served ? normalizeDatabases(findings?.databases ?? []) : [],
    ...(served && findings?.collectionsFrom ? { collectionsFrom: findings.collectionsFrom } : {}),
    ...(served && findings?.snapshotCreatedAt ? { snapshotCreatedAt: findings.snapshotCreatedAt } : {}),
    roles: served ? rolesOf(findings?.customRoles) : [],
    owner: tagValue(cluster.tags, input.ownerTagKey),
    tags: [...cluster.tags].sort(byKey),
    state: stateOf(route, findings),
    ...(reason === undefined ? {} : { reason }),
  };
}
