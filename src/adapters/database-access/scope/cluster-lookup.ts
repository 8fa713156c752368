import type { AtlasClient, Cluster } from '../../../atlas/index.js';
import { ConnectorError, isConnectorError } from '../../../errors/connector-error.js';
import type { Clock } from '../../../runtime/clock.js';
import type { JobContext } from '../../../worker/job-context.js';
import { isProjectGone } from '../atlas-writes/gone-clusters.js';
import { invalidRequest } from '../model/policy.js';

export type ClusterView = Pick<Cluster, 'name' | 'stateName' | 'connectionStrings' | 'paused'>;

/** How long a cluster read stays good for the grants that follow it. */
export const clusterCacheTtlMs = 60_000;

/**
 * Clusters seen recently with one credential (part of the per-credential state made by the Atlas
 * client pool): grants on a busy cluster do not each spend a read of the project's rate budget on
 * it. A cluster deleted within the window makes Atlas refuse the user's scope, so nothing is
 * granted on a stale answer. A read past the window is forgotten when the next one is remembered:
 * a credential granting in thousands of projects (`atlas-multi-project`) keeps the last minute's
 * clusters, not every cluster it ever granted on.
 */
export class RecentClusters {
  /** Oldest first: a cluster read again is moved to the end. */
  private readonly seen = new Map<string, { readonly at: number; readonly cluster: ClusterView }>();

  constructor(private readonly clock: Pick<Clock, 'monotonic'>) {}

  /** How many cluster reads are kept. */
  get size(): number {
    return this.seen.size;
  }

  get(projectId: string, name: string): ClusterView | undefined {
    const hit = this.seen.get(`${projectId}/${name}`);
    return hit && this.fresh(hit.at) ? hit.cluster : undefined;
  }

  remember(projectId: string, name: string, cluster: ClusterView): void {
    for (const [key, { at }] of this.seen) {
      if (this.fresh(at)) break;
      this.seen.delete(key);
    }
    const key = `${projectId}/${name}`;
    this.seen.delete(key);
    this.seen.set(key, { at: this.clock.monotonic(), cluster });
  }

  private fresh(at: number): boolean {
    return this.clock.monotonic() - at < clusterCacheTtlMs;
  }
}

export interface ClusterLookupDeps {
  readonly atlas: {
    readonly clusters: Pick<AtlasClient['clusters'], 'get'>;
    readonly flexClusters: Pick<AtlasClient['flexClusters'], 'get'>;
  };
  readonly recentClusters: RecentClusters;
}

/** A project Atlas answers 404 for (`isProjectGone`): the request's `projectId` names nothing there. */
export function projectNotFound(projectId: string): ConnectorError {
  return invalidRequest(
    'projectId',
    `project ${projectId} not found (or not visible to this integration's API key)`,
  );
}

function isNotFound(error: unknown): boolean {
  return isConnectorError(error) && error.code === 'not_found';
}

/**
 * The cluster a job names (`field` is the payload or config field that named it). Dedicated
 * clusters first; a 404 there may still be a Flex cluster, served by its own endpoint. Unknown
 * project or cluster, or one being deleted: `invalid_request`.
 */
export async function findCluster(
  deps: ClusterLookupDeps,
  ctx: Pick<JobContext, 'signal'>,
  projectId: string,
  name: string,
  field: string,
): Promise<ClusterView> {
  const hit = deps.recentClusters.get(projectId, name);
  if (hit) return hit;
  const cluster = await readCluster(deps, ctx.signal, projectId, name, field);
  // A paused cluster is read again next time: a grant refused there (pausedCluster) must go
  // through as soon as the cluster is resumed, not a minute later.
  if (cluster.paused !== true) deps.recentClusters.remember(projectId, name, cluster);
  return cluster;
}

async function readCluster(
  deps: ClusterLookupDeps,
  signal: AbortSignal,
  projectId: string,
  name: string,
  field: string,
): Promise<ClusterView> {
  let cluster: ClusterView;
  try {
    cluster = await deps.atlas.clusters.get(projectId, name, { signal });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (isProjectGone(error)) throw projectNotFound(projectId);
    cluster = await deps.atlas.flexClusters.get(projectId, name, { signal }).catch((flexError: unknown) => {
      throw isNotFound(flexError)
        ? invalidRequest(field, `cluster ${name} not found in project ${projectId}`)
        : flexError;
    });
  }
  if (cluster.stateName === 'DELETING') {
    throw invalidRequest(field, `cluster ${name} in project ${projectId} is being deleted`);
  }
  return cluster;
}

/**
 * A paused cluster has no running hosts: no credential can log in to it until someone resumes it,
 * so a grant there would report success with a connection that cannot be used (ready means
 * usable). Refused before any write, naming the entry; renew, rotate and revoke are not.
 */
export function pausedCluster(field: string, projectId: string, name: string): ConnectorError {
  return new ConnectorError({
    code: 'conflict',
    message: `${field}: cluster ${name} in project ${projectId} is paused: no credential can log in to it until it is resumed (Atlas UI, or \`atlas clusters start ${name}\`); resume it, then ask again`,
    details: { field, projectId, cluster: name },
  });
}
