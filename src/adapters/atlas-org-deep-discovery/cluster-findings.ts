import type { CustomDbRole } from '../../atlas/index.js';
import { isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import { connectionStringFor } from '../database-access/model/connection-string.js';
import type { CallGate } from './call-gate.js';
import type { DeepDiscoveryConfig } from './atlas-org-deep-discovery-config.js';
import { withDiscoveryUser, type DiscoveryUserDeps } from './discovery-user.js';
import { liveDatabases } from './live-databases.js';
import type { NamespaceReader } from './namespace-reader.js';
import type { OrgCluster } from './org-cluster.js';
import type { OrgDiscoveryAtlas } from './org-atlas.js';
import { choiceOf, type Route } from './routing.js';
import { snapshotNamespaces } from './snapshot-namespaces.js';
import type { ClusterFindings, DatabaseEntry } from './sub-integration.js';

/** Everything one project's walk needs; built once per discovery job. */
export interface ProjectWalk {
  readonly config: DeepDiscoveryConfig;
  readonly integrationId: string;
  readonly atlas: OrgDiscoveryAtlas;
  readonly gate: CallGate;
  readonly user: DiscoveryUserDeps;
  readonly reader: NamespaceReader | undefined;
  readonly ctx: Pick<JobContext, 'signal' | 'beforeSideEffect' | 'describe'>;
}

type Namespaces =
  | { readonly databases: DatabaseEntry[]; readonly from: 'driver' | 'backup-snapshot'; readonly at?: string }
  | { readonly problem: string }
  | undefined;

/**
 * A failure inside one cluster becomes its problem (in the snapshot, so its text is scrubbed);
 * cancellation still ends the job.
 */
function problem(walk: ProjectWalk, what: string, error: unknown): { problem: string } {
  if (!isConnectorError(error) || error.code === 'cancelled') throw error;
  return { problem: `${what}: ${walk.ctx.describe(error)}` };
}

async function driverNamespaces(
  walk: ProjectWalk,
  projectId: string,
  served: { cluster: OrgCluster; route: Extract<Route, { kind: 'served' }> },
): Promise<Namespaces> {
  const { reader } = walk;
  if (!reader) return { problem: 'collectionDiscovery driver is not available in this connector build' };
  const { cluster, route } = served;
  const connectionString = connectionStringFor(cluster, choiceOf(route), 'cluster');
  const target = { projectId, clusterName: cluster.name, integrationId: walk.integrationId };
  // One slot of the walk's gate for the user's whole life (create, APPLIED wait, listing, delete):
  // at most discoveryConcurrency privileged users and driver sessions at once, however many
  // clusters the projects walked together hold. (Its calls inside are not gated again.)
  const databases = await walk.gate(() =>
    withDiscoveryUser(walk.user, walk.ctx, target, (login) =>
      reader.listNamespaces({
        connectionString,
        ...login,
        timeoutMs: 15_000,
        signal: walk.ctx.signal,
      }),
    ),
  );
  return { databases, from: 'driver' };
}

async function namespacesOf(
  walk: ProjectWalk,
  projectId: string,
  served: { cluster: OrgCluster; route: Extract<Route, { kind: 'served' }> },
): Promise<Namespaces> {
  const mode = walk.config.collectionDiscovery;
  try {
    if (mode === 'driver') return await driverNamespaces(walk, projectId, served);
    if (mode === 'off') return undefined;
    const scan = { atlas: walk.atlas, gate: walk.gate, projectId, signal: walk.ctx.signal };
    const found = await snapshotNamespaces(scan, served.cluster);
    return 'problem' in found
      ? found
      : { databases: found.databases, from: 'backup-snapshot', at: found.snapshotCreatedAt };
  } catch (error) {
    return problem(walk, `collections could not be listed (${mode})`, error);
  }
}

/**
 * Databases: the driver's live listing when it ran; otherwise the Admin API's live names, each
 * with its collections from the snapshot when the snapshot has that database; the snapshot's
 * names alone only when the live listing failed.
 */
function merge(live: { names: string[] } | { problem: string } | undefined, found: Namespaces) {
  const problems: string[] = [];
  if (live && 'problem' in live) problems.push(live.problem);
  if (found && 'problem' in found) problems.push(found.problem);
  const namespaces = found && 'databases' in found ? found : undefined;
  const liveNames = live && 'names' in live ? live.names : undefined;
  if (namespaces?.from === 'driver' || (namespaces && liveNames === undefined)) {
    return { databases: namespaces.databases, namespaces, problems };
  }
  if (liveNames === undefined) return { databases: undefined, namespaces, problems };
  const collections = new Map((namespaces?.databases ?? []).map((db) => [db.name, db.collections]));
  const databases = liveNames.map((name) => {
    const listed = collections.get(name);
    return listed === undefined ? { name } : { name, collections: listed };
  });
  return { databases, namespaces, problems };
}

/** Why a cluster whose reads all succeeded still has no database list. */
function noSource(cluster: OrgCluster): string {
  return cluster.flex
    ? 'flex clusters have no Admin API database listing (collectionDiscovery driver lists them)'
    : 'no database source listed this cluster';
}

/** Reads every cluster this connector serves in one project; never throws for one cluster. */
export async function readServedClusters(
  walk: ProjectWalk,
  projectId: string,
  allClusters: readonly OrgCluster[],
  served: readonly { cluster: OrgCluster; route: Extract<Route, { kind: 'served' }> }[],
): Promise<Map<string, ClusterFindings>> {
  const { signal, describe } = walk.ctx;
  const scan = { atlas: walk.atlas, gate: walk.gate, projectId, signal, describe };
  const [roles, live, namespaces] = await Promise.all([
    walk
      .gate(() => walk.atlas.customDbRoles.list(projectId, { signal: walk.ctx.signal }))
      .then((list): readonly CustomDbRole[] | { problem: string } => list)
      .catch((error: unknown) => problem(walk, 'custom roles could not be read', error)),
    liveDatabases(
      scan,
      allClusters,
      served.map((entry) => entry.cluster),
    ),
    Promise.all(served.map((entry) => namespacesOf(walk, projectId, entry))),
  ]);
  const findings = new Map<string, ClusterFindings>();
  served.forEach(({ cluster }, index) => {
    const merged = merge(live.get(cluster.name), namespaces[index]);
    const roleProblem = 'problem' in roles ? [roles.problem] : [];
    // Nothing failed, yet nothing listed its databases: a flex cluster without the driver.
    const unlisted =
      merged.databases === undefined && merged.problems.length === 0 ? [noSource(cluster)] : [];
    findings.set(cluster.name, {
      ...(merged.databases === undefined ? {} : { databases: merged.databases }),
      ...(merged.namespaces ? { collectionsFrom: merged.namespaces.from } : {}),
      ...(merged.namespaces?.at ? { snapshotCreatedAt: merged.namespaces.at } : {}),
      ...('problem' in roles ? {} : { customRoles: roles }),
      problems: [...merged.problems, ...unlisted, ...roleProblem],
      unavailable: merged.databases === undefined,
    });
  });
  return findings;
}
