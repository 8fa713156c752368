import type { BackupSnapshot } from '../../atlas/index.js';
import type { CallGate } from './call-gate.js';
import type { OrgCluster } from './org-cluster.js';
import { collectAll, collectComplete, type OrgDiscoveryAtlas } from './org-atlas.js';
import type { DatabaseEntry } from './sub-integration.js';

/**
 * Collections without a network path: the namespace listing of the cluster's latest completed
 * Cloud Backup snapshot (2025-03-12 endpoints). Stale by up to the snapshot interval; needs backups
 * on; flex clusters have no such listing. A missing snapshot is a per-cluster problem, not a failure.
 */
export type SnapshotNamespaces =
  { readonly databases: DatabaseEntry[]; readonly snapshotCreatedAt: string } | { readonly problem: string };

interface Scan {
  readonly atlas: Pick<OrgDiscoveryAtlas, 'backupSnapshots'>;
  readonly gate: CallGate;
  readonly projectId: string;
  readonly signal: AbortSignal;
}

/** The newest `completed` snapshot; `createdAt` is ISO-8601, so strings compare in time order. */
export function latestCompleted(snapshots: readonly BackupSnapshot[]): BackupSnapshot | undefined {
  return snapshots
    .filter((snapshot) => snapshot.status === 'completed')
    .reduce<BackupSnapshot | undefined>(
      (best, snapshot) => (!best || (snapshot.createdAt ?? '') > (best.createdAt ?? '') ? snapshot : best),
      undefined,
    );
}

async function snapshotsOf(scan: Scan, cluster: OrgCluster): Promise<readonly BackupSnapshot[]> {
  const { atlas, gate, projectId, signal } = scan;
  if (cluster.clusterType === 'REPLICASET') {
    // Retention deletes snapshots while they are listed: the newest completed one must not be skipped.
    return collectComplete(
      gate,
      (page) => atlas.backupSnapshots.list(projectId, cluster.name, page),
      signal,
      (snapshot) => snapshot.id,
    );
  }
  return gate(() => atlas.backupSnapshots.listSharded(projectId, cluster.name, { signal }));
}

export async function snapshotNamespaces(scan: Scan, cluster: OrgCluster): Promise<SnapshotNamespaces> {
  if (cluster.flex) {
    return {
      problem: 'flex clusters have no backup namespace listing (collectionDiscovery driver lists them)',
    };
  }
  if (!cluster.backupEnabled) return { problem: 'Cloud Backup is off: no snapshot to list collections from' };
  const snapshot = latestCompleted(await snapshotsOf(scan, cluster));
  if (!snapshot) return { problem: 'no completed backup snapshot yet' };
  const { atlas, gate, projectId, signal } = scan;
  const names = await collectAll(
    gate,
    (page) => atlas.backupSnapshots.listDatabases(projectId, cluster.name, snapshot.id, page),
    signal,
  );
  const databases = await Promise.all(
    names.map(async ({ name }) => {
      const collections = await collectAll(
        gate,
        (page) => atlas.backupSnapshots.listCollections(projectId, cluster.name, snapshot.id, name, page),
        signal,
      );
      return { name, collections: collections.map((collection) => collection.name) };
    }),
  );
  return { databases, snapshotCreatedAt: snapshot.createdAt ?? '' };
}
