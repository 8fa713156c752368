import { z } from 'zod';
import type { CallOptions, Page, PageOptions } from '../pagination.js';
import type { Transport } from '../transport.js';

/**
 * Cloud Backup snapshots: the only Admin API source of every collection name of a cluster (as of
 * its latest completed snapshot) without a network path to it. Needs Project Backup Manager (an
 * organization owner has it). Replica sets are listed by `/backup/snapshots`, sharded clusters by
 * `/backup/snapshots/shardedClusters`; both ids work for the namespace listings.
 */
export const snapshotStatusSchema = z.string();

export const backupSnapshotSchema = z.object({
  id: z.string(),
  createdAt: z.string().optional(),
  /** `queued | inProgress | completed | failed`; kept a string, Atlas adds values. */
  status: snapshotStatusSchema.optional(),
  type: z.string().optional(),
  replicaSetName: z.string().optional(),
  snapshotType: z.string().optional(),
  expiresAt: z.string().optional(),
});
export type BackupSnapshot = z.infer<typeof backupSnapshotSchema>;

/** The spec declares no paging parameters for the sharded listing: one answer holds them all. */
const shardedSnapshotsSchema = z.object({ results: z.array(backupSnapshotSchema) });

export const namespaceNameSchema = z.object({ name: z.string() });
export type NamespaceName = z.infer<typeof namespaceNameSchema>;

export interface BackupSnapshotsApi {
  /** Replica-set snapshots of a dedicated cluster. */
  list(groupId: string, clusterName: string, options?: PageOptions): Promise<Page<BackupSnapshot>>;
  /** Sharded-cluster snapshots (one per point in time, members per shard); not paginated. */
  listSharded(
    groupId: string,
    clusterName: string,
    options?: CallOptions,
  ): Promise<readonly BackupSnapshot[]>;
  listDatabases(
    groupId: string,
    clusterName: string,
    snapshotId: string,
    options?: PageOptions,
  ): Promise<Page<NamespaceName>>;
  listCollections(
    groupId: string,
    clusterName: string,
    snapshotId: string,
    databaseName: string,
    options?: PageOptions,
  ): Promise<Page<NamespaceName>>;
}

export function createBackupSnapshotsApi(transport: Transport): BackupSnapshotsApi {
  return {
    list: (groupId, clusterName, options = {}) =>
      transport.page(
        {
          operation: 'listGroupClusterBackupSnapshots',
          params: { groupId, clusterName },
          signal: options.signal,
        },
        options,
        backupSnapshotSchema,
      ),
    listSharded: async (groupId, clusterName, options = {}) => {
      const body = await transport.json(
        {
          operation: 'listGroupClusterBackupSnapshotShardedClusters',
          params: { groupId, clusterName },
          signal: options.signal,
        },
        shardedSnapshotsSchema,
      );
      return body.results;
    },
    listDatabases: (groupId, clusterName, snapshotId, options = {}) =>
      transport.page(
        {
          operation: 'listGroupClusterBackupSnapshotDatabases',
          params: { groupId, clusterName, snapshotId },
          signal: options.signal,
        },
        options,
        namespaceNameSchema,
      ),
    listCollections: (groupId, clusterName, snapshotId, databaseName, options = {}) =>
      transport.page(
        {
          operation: 'listGroupClusterBackupSnapshotDatabaseCollections',
          params: { groupId, clusterName, snapshotId, databaseName },
          signal: options.signal,
        },
        options,
        namespaceNameSchema,
      ),
  };
}
