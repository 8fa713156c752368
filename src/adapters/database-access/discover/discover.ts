import {
  paginateComplete,
  type AtlasClient,
  type AtlasProcess,
  type Page,
  type PageOptions,
} from '../../../atlas/index.js';
import { isConnectorError } from '../../../errors/connector-error.js';
import type { JobContext } from '../../../worker/job-context.js';
import type { AdapterDeps } from '../../adapter.js';
import { clusterLimit, type DatabaseScope } from '../../scope.js';
import { databaseOperation, type DatabaseJob } from '../database-operation.js';
import type { DatabaseAccessSettings } from '../model/settings.js';
import { matchProcessesToClusters, processesToQuery } from './discover-hosts.js';
import {
  builtInRoleRecords,
  clusterRecord,
  customRoleRecord,
  databaseRecords,
  dedicatedClusterView,
  dedicatedOnly,
  flexClusterView,
  managedUserRecord,
  projectRecord,
  touchesCluster,
  unreachableProjectRecord,
  type ClusterView,
  type DiscoveryRecord,
} from './discover-records.js';
import {
  forEachBounded,
  inProject,
  projectConcurrency,
  scopedProjects,
  type ScopedProject,
} from '../scope/projects-in-scope.js';
import { isDiscoveryUser, isManaged } from '../model/user-model.js';
import { isProjectGone } from '../atlas-writes/gone-clusters.js';
import { DiscoverPayload } from '../model/payloads.js';

/** The read-only slice of the Atlas client discovery uses: it never writes. */
export interface DiscoverAtlas {
  readonly projects: Pick<AtlasClient['projects'], 'list' | 'get'>;
  readonly clusters: Pick<AtlasClient['clusters'], 'list'>;
  readonly flexClusters: Pick<AtlasClient['flexClusters'], 'list'>;
  readonly processes: Pick<AtlasClient['processes'], 'list' | 'listDatabases'>;
  readonly databaseUsers: Pick<AtlasClient['databaseUsers'], 'list'>;
  readonly customDbRoles: Pick<AtlasClient['customDbRoles'], 'list'>;
}

export type DiscoverDeps = Pick<AdapterDeps, 'clock' | 'policy' | 'snapshots'> & {
  readonly atlas: DiscoverAtlas;
};

export type DiscoverInput = DatabaseJob<DatabaseScope, DiscoverPayload>;

export interface DiscoverCounts {
  readonly projects: number;
  readonly clusters: number;
  readonly databases: number;
  readonly roles: number;
  readonly managedUsers: number;
}

export interface DiscoverResult {
  readonly snapshotId: string;
  readonly skipped: boolean;
  readonly sha256: string;
  readonly counts: DiscoverCounts;
}

/** listDatabases calls in flight per project (one per replica set / shard). */
const processConcurrency = 4;

interface ProjectScan {
  readonly projectId: string;
  /** The one cluster the scope is limited to, if any. */
  readonly onlyCluster: string | undefined;
  readonly settings: DatabaseAccessSettings;
  readonly deps: DiscoverDeps;
  readonly signal: AbortSignal;
}

/**
 * Every item of one of the project's listings. Atlas pages by offset, so an item deleted behind
 * the cursor moves the next page up and the one at its head is never listed: a cluster, database
 * or managed user left out of the snapshot is taken as gone. So a listing of more than one page is
 * read again once it ends (`paginateComplete`; one page, the usual case, is read once).
 */
function complete<T>(
  list: (options: PageOptions) => Promise<Page<T>>,
  signal: AbortSignal,
  keyOf: (item: T) => string,
): AsyncGenerator<T, void, undefined> {
  return paginateComplete(list, { signal, keyOf });
}

async function collect<T>(
  list: (options: PageOptions) => Promise<Page<T>>,
  signal: AbortSignal,
  keyOf: (item: T) => string,
): Promise<T[]> {
  const items: T[] = [];
  for await (const item of complete(list, signal, keyOf)) items.push(item);
  return items;
}

/** A cluster's name is unique in its project; its `id` is optional in the schema. */
const byName = (cluster: { readonly name: string }): string => cluster.name;

/** Every cluster the project lists, dedicated and flex, including those being deleted. */
async function listClusters(scan: ProjectScan): Promise<ClusterView[]> {
  const { atlas } = scan.deps;
  const dedicated = await collect((page) => atlas.clusters.list(scan.projectId, page), scan.signal, byName);
  const flex = await collect((page) => atlas.flexClusters.list(scan.projectId, page), scan.signal, byName);
  return [...dedicatedOnly(dedicated, flex).map(dedicatedClusterView), ...flex.map(flexClusterView)];
}

async function databasesOf(scan: ProjectScan, process: AtlasProcess, into: Set<string>): Promise<void> {
  const { atlas } = scan.deps;
  try {
    const list = (page: PageOptions) => atlas.processes.listDatabases(scan.projectId, process.id, page);
    const keyOf = (database: { readonly databaseName: string }) => database.databaseName;
    for await (const database of complete(list, scan.signal, keyOf)) into.add(database.databaseName);
  } catch (error) {
    // Gone since the process listing (failover, scaling), or a tier whose processes cannot answer
    // (shared / flex operational limits): report the cluster without those databases.
    const tolerated =
      isConnectorError(error) && (error.code === 'not_found' || error.code === 'invalid_request');
    if (!tolerated) throw error;
  }
}

/** Databases per cluster: one primary per replica set / shard, matched by hostname. */
async function discoverDatabases(
  scan: ProjectScan,
  allClusters: readonly ClusterView[],
  inScope: readonly ClusterView[],
): Promise<DiscoveryRecord[]> {
  const processes = await collect(
    (page) => scan.deps.atlas.processes.list(scan.projectId, page),
    scan.signal,
    (process) => process.id,
  );
  const byCluster = matchProcessesToClusters(allClusters, processes);
  const names = new Map(inScope.map((cluster) => [cluster.name, new Set<string>()]));
  const work = inScope
    .filter((cluster) => !cluster.paused)
    .flatMap((cluster) =>
      processesToQuery(byCluster.get(cluster.name) ?? []).map((process) => ({ cluster, process })),
    );
  await forEachBounded(work, processConcurrency, async ({ cluster, process }) => {
    await databasesOf(scan, process, names.get(cluster.name) ?? new Set());
  });
  return [...names].flatMap(([cluster, databases]) => databaseRecords(scan.projectId, cluster, databases));
}

async function discoverManagedUsers(scan: ProjectScan): Promise<DiscoveryRecord[]> {
  const { atlas, clock } = scan.deps;
  const records: DiscoveryRecord[] = [];
  const list = (page: PageOptions) => atlas.databaseUsers.list(scan.projectId, page);
  const keyOf = (user: { readonly databaseName: string; readonly username: string }) =>
    `${user.databaseName}/${user.username}`;
  for await (const user of complete(list, scan.signal, keyOf)) {
    // A deep-discovery discovery user lives while its discovery lists the cluster: nobody's access.
    if (!isManaged(user.labels) || isDiscoveryUser(user)) continue;
    const record = managedUserRecord(scan.projectId, user, clock.now());
    const cluster = scan.onlyCluster;
    if (cluster === undefined || touchesCluster(record, user, cluster)) records.push(record);
  }
  return records;
}

async function discoverProject(scoped: ScopedProject, scan: ProjectScan): Promise<DiscoveryRecord[]> {
  if ('unreachable' in scoped) return [unreachableProjectRecord(scoped.id, scoped.unreachable)];
  const { onlyCluster, projectId } = scan;
  const allClusters = await listClusters(scan);
  const inScope = allClusters.filter(
    (cluster) =>
      cluster.stateName !== 'DELETING' && (onlyCluster === undefined || cluster.name === onlyCluster),
  );
  const databases = await discoverDatabases(scan, allClusters, inScope);
  const customRoles = await scan.deps.atlas.customDbRoles.list(projectId, { signal: scan.signal });
  const managedUsers = await discoverManagedUsers(scan);
  return [
    projectRecord(scoped.project),
    ...inScope.map((cluster) => clusterRecord(projectId, cluster, scan.settings.ownerTagKey)),
    ...databases,
    ...builtInRoleRecords(projectId),
    ...customRoles.map((role) => customRoleRecord(projectId, role)),
    ...managedUsers,
  ];
}

function countRecords(records: readonly DiscoveryRecord[]): DiscoverCounts {
  const count = (type: DiscoveryRecord['type']): number =>
    records.filter((record) => record.type === type).length;
  return {
    projects: count('project'),
    clusters: count('cluster'),
    databases: count('database'),
    roles: count('role'),
    managedUsers: count('managedUser'),
  };
}

/**
 * Read-only inventory of every project in scope, uploaded as one content-hashed snapshot (the
 * control plane answers `skipped` when nothing changed). Makes no Atlas write.
 */
export async function discover(
  input: DiscoverInput,
  deps: DiscoverDeps,
  ctx: Pick<JobContext, 'jobId' | 'fencingToken' | 'signal'>,
): Promise<DiscoverResult> {
  const { scope, settings, integrationId } = input;
  const records: DiscoveryRecord[] = [];
  const projects = scopedProjects(deps.atlas, scope, deps.policy, ctx.signal);
  const onlyCluster = clusterLimit(scope);
  const everyVisible = scope.kind === 'projects' && scope.projects === 'every-visible-project';
  await forEachBounded(projects, projectConcurrency, async (scoped) => {
    const scan: ProjectScan = { projectId: scoped.id, onlyCluster, settings, deps, signal: ctx.signal };
    records.push(
      ...(await discoverProject(scoped, scan).catch((error: unknown) => {
        // Deleted since it was listed or read (an organization's projects come and go): what the
        // listing or the read would say now, not a not_found that fails the whole inventory until
        // the next run. A project the scope names is reported gone, one it only listed is no more.
        if (isProjectGone(error))
          return everyVisible ? [] : [unreachableProjectRecord(scoped.id, 'not_found')];
        throw inProject(scoped.id, error);
      })),
    );
  });
  const upload = await deps.snapshots.upload({
    integrationId,
    jobId: ctx.jobId,
    generation: ctx.fencingToken,
    records,
    signal: ctx.signal,
  });
  return {
    snapshotId: upload.snapshotId,
    skipped: upload.skipped,
    sha256: upload.sha256,
    counts: countRecords(records),
  };
}

export const discoverOperation = databaseOperation(DiscoverPayload, discover);
