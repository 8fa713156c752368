import type { AtlasProcess } from '../../atlas/index.js';
import { isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import { matchProcessesToClusters, processesToQuery } from '../database-access/discover/discover-hosts.js';
import type { CallGate } from './call-gate.js';
import type { OrgCluster } from './org-cluster.js';
import { collectComplete, type OrgDiscoveryAtlas } from './org-atlas.js';

/**
 * Live database names from the Admin API: the project's processes, mapped to clusters by the
 * documented rule (database-access `matchProcessesToClusters`: seed-list host, then replica-set
 * name, then SRV label + domain, then SRV domain when only one cluster has it; ambiguous → none),
 * then `listDatabases` on one mongod per replica set — the primary of a replica set, one primary
 * per shard of a sharded cluster (mongos and config servers skipped), unioned.
 */
export type LiveDatabases = ReadonlyMap<string, { names: string[] } | { problem: string }>;

interface Scan {
  readonly atlas: Pick<OrgDiscoveryAtlas, 'processes'>;
  readonly gate: CallGate;
  readonly projectId: string;
  readonly signal: AbortSignal;
  /** A problem's error text goes into the snapshot: `JobContext.describe` scrubs it. */
  readonly describe: JobContext['describe'];
}

async function namesFrom(scan: Scan, processes: readonly AtlasProcess[]): Promise<string[]> {
  const { atlas, gate, projectId, signal } = scan;
  const lists = await Promise.all(
    processes.map((process) =>
      collectComplete(
        gate,
        (page) => atlas.processes.listDatabases(projectId, process.id, page),
        signal,
        (database) => database.databaseName,
      ),
    ),
  );
  return [...new Set(lists.flat().map((database) => database.databaseName))];
}

function problemOf(scan: Scan, error: unknown): string {
  if (!isConnectorError(error) || error.code === 'cancelled') throw error;
  return `databases could not be listed: ${scan.describe(error)}`;
}

/**
 * One more rule after the matcher's: processes it could not place belong to some cluster of the
 * project; when exactly one dedicated cluster got none, they are that cluster's. (A sharded
 * cluster whose seed list names only mongos hosts of another domain, or — in the sandbox — only a
 * loopback address, is placed this way.) Two or more such clusters: still unplaced.
 */
export function withLeftovers(
  clusters: readonly OrgCluster[],
  processes: readonly AtlasProcess[],
  matched: Map<string, AtlasProcess[]>,
): Map<string, AtlasProcess[]> {
  const placed = new Set([...matched.values()].flat());
  const leftovers = processes.filter((process) => !placed.has(process));
  const empty = clusters.filter((cluster) => !cluster.flex && (matched.get(cluster.name) ?? []).length === 0);
  const [only] = empty;
  if (leftovers.length > 0 && only && empty.length === 1) matched.set(only.name, leftovers);
  return matched;
}

/** `allClusters`: every cluster of the project (the domain tier is decided against all of them). */
export async function liveDatabases(
  scan: Scan,
  allClusters: readonly OrgCluster[],
  wanted: readonly OrgCluster[],
): Promise<LiveDatabases> {
  const result = new Map<string, { names: string[] } | { problem: string }>();
  const dedicated = wanted.filter((cluster) => !cluster.flex);
  if (dedicated.length === 0) return result;
  let processes: AtlasProcess[];
  try {
    processes = await collectComplete(
      scan.gate,
      (page) => scan.atlas.processes.list(scan.projectId, page),
      scan.signal,
      (process) => process.id,
    );
  } catch (error) {
    const problem = problemOf(scan, error);
    for (const cluster of dedicated) result.set(cluster.name, { problem });
    return result;
  }
  const byCluster = withLeftovers(allClusters, processes, matchProcessesToClusters(allClusters, processes));
  await Promise.all(
    dedicated.map(async (cluster) => {
      const targets = processesToQuery(byCluster.get(cluster.name) ?? []);
      if (targets.length === 0) {
        result.set(cluster.name, { problem: 'no mongod of this cluster in the project process list' });
        return;
      }
      try {
        result.set(cluster.name, { names: await namesFrom(scan, targets) });
      } catch (error) {
        result.set(cluster.name, { problem: problemOf(scan, error) });
      }
    }),
  );
  return result;
}
