import type { AtlasClient, DatabaseUserScope } from '../../../atlas/index.js';
import { isConnectorError } from '../../../errors/connector-error.js';

/**
 * A user's scopes are rebuilt from its grants' labels, so once a cluster named there is deleted,
 * every write naming it is refused (404 `CLUSTER_NOT_FOUND`) and would block the user's other
 * grants: their revokes, sweep's clean-up, new grants. Roles are per user, not per cluster, so a
 * write that drops the gone clusters from the scopes keeps everything else as it was.
 */

/** The cluster reads that tell a gone cluster from one that exists (dedicated or Flex). */
export interface ClusterReads {
  readonly clusters: Pick<AtlasClient['clusters'], 'get'>;
  readonly flexClusters: Pick<AtlasClient['flexClusters'], 'get'>;
}

/** Atlas refused because a cluster the request names does not exist (any more). */
export function isClusterGone(error: unknown): boolean {
  return (
    isConnectorError(error) &&
    error.code === 'not_found' &&
    error.details['atlasErrorCode'] === 'CLUSTER_NOT_FOUND'
  );
}

/** Atlas's 404 for a project it does not have (any more): deleted, or an id it never had. */
const projectGoneCodes: ReadonlySet<unknown> = new Set(['GROUP_NOT_FOUND', 'INVALID_GROUP_ID']);

/** Atlas refused because the project the request names does not exist (any more). */
export function isProjectGone(error: unknown): boolean {
  return (
    isConnectorError(error) &&
    error.code === 'not_found' &&
    projectGoneCodes.has(error.details['atlasErrorCode'])
  );
}

async function exists(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (error) {
    if (isConnectorError(error) && error.code === 'not_found') return false;
    throw error;
  }
}

/** Those of `names` the project has neither as a dedicated nor as a Flex cluster. */
export async function goneClusters(
  atlas: ClusterReads,
  projectId: string,
  names: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  const gone: string[] = [];
  for (const name of names) {
    if (await exists(() => atlas.clusters.get(projectId, name, { signal }))) continue;
    if (await exists(() => atlas.flexClusters.get(projectId, name, { signal }))) continue;
    gone.push(name);
  }
  return gone;
}

export interface ScopedWrite {
  readonly projectId: string;
  /** The clusters the write should scope the user to. */
  readonly clusters: readonly string[];
  /** Sends the write with these scopes (never empty: no scope would mean every cluster). */
  readonly send: (scopes: DatabaseUserScope[]) => Promise<void>;
  /** Told which clusters are gone before the write is sent again without them; may refuse by throwing. */
  readonly onGone?: (gone: readonly string[]) => void;
}

const clusterScopes = (names: readonly string[]): DatabaseUserScope[] =>
  names.map((name): DatabaseUserScope => ({ name, type: 'CLUSTER' }));

/**
 * Sends the write; when Atlas refuses a scope whose cluster is gone, finds which named clusters
 * no longer exist and sends it again without them. Returns the clusters the user is now scoped to,
 * or `[]` when none of them exists any more: then nothing was sent, and the caller decides (a
 * user that may reach no cluster is deleted, never left unscoped).
 */
export async function writeScoped(
  atlas: ClusterReads,
  signal: AbortSignal,
  write: ScopedWrite,
): Promise<string[]> {
  let clusters = [...write.clusters];
  // Each round drops at least one cluster, so this ends.
  while (clusters.length > 0) {
    try {
      await write.send(clusterScopes(clusters));
      return clusters;
    } catch (error) {
      if (!isClusterGone(error)) throw error;
      const gone = await goneClusters(atlas, write.projectId, clusters, signal);
      if (gone.length === 0) throw error;
      write.onGone?.(gone);
      clusters = clusters.filter((name) => !gone.includes(name));
    }
  }
  return [];
}
