import type { RequestContext, RouteDef, VersionDef } from '../context.js';
import { param, v20230101 } from '../context.js';
import { atlasError } from '../errors.js';
import type { FixtureBackupSnapshot, FixtureDatabase } from '../fixture.js';
import type { ClusterRec } from '../model.js';
import { paginate } from '../pagination.js';
import { selfLinks } from '../views.js';
import { requireCluster } from './lookup.js';

/**
 * Cloud Backup snapshots of dedicated clusters and their namespace listings (2025-03-12, Project
 * Backup Manager). A cluster without backups lists no snapshots (an empty page, not an error):
 * the connector must report "no completed snapshot" per cluster, never fail discovery.
 */
const v20250312: readonly VersionDef[] = [{ date: '2025-03-12' }];

function snapshotsOf(cluster: ClusterRec): readonly FixtureBackupSnapshot[] {
  return cluster.backupEnabled ? cluster.backupSnapshots : [];
}

function snapshotView(ctx: RequestContext, cluster: ClusterRec, s: FixtureBackupSnapshot): object {
  const base = `/groups/${cluster.projectId}/clusters/${cluster.name}/backup/snapshots`;
  const common = {
    createdAt: s.createdAt,
    frequencyType: 'daily',
    id: s.id,
    mongodVersion: cluster.mongoDBVersion,
    snapshotType: 'scheduled',
    status: s.status,
  };
  if (cluster.clusterType === 'REPLICASET') {
    const links = selfLinks(ctx.sim, `${base}/${s.id}`);
    const replicaSetName = `atlas-${cluster.id.slice(-6)}-shard-0`;
    return { ...common, cloudProvider: cluster.providerName, links, replicaSetName, type: 'replicaSet' };
  }
  // Sharded: one member snapshot per shard (ids derived from the snapshot id).
  const members = Array.from({ length: cluster.numShards }, (_, i) => ({
    cloudProvider: cluster.providerName,
    id: `${s.id.slice(0, 20)}${(0xc000 + i).toString(16)}`,
    replicaSetName: `atlas-${cluster.id.slice(-6)}-shard-${i}`,
  }));
  return {
    ...common,
    links: selfLinks(ctx.sim, `${base}/shardedCluster/${s.id}`),
    members,
    snapshotIds: members.map((m) => m.id),
    type: 'shardedCluster',
  };
}

function listSnapshots(ctx: RequestContext, sharded: boolean): object {
  const cluster = requireCluster(ctx, 'dedicated', param(ctx, 'clusterName'));
  const matching = snapshotsOf(cluster).filter(() => (cluster.clusterType !== 'REPLICASET') === sharded);
  return paginate(ctx, [...matching], (s) => snapshotView(ctx, cluster, s));
}

function requireSnapshot(ctx: RequestContext): { cluster: ClusterRec; databases: FixtureDatabase[] } {
  const cluster = requireCluster(ctx, 'dedicated', param(ctx, 'clusterName'));
  const snapshotId = param(ctx, 'snapshotId');
  const snapshot = snapshotsOf(cluster).find((s) => s.id === snapshotId);
  if (!snapshot) throw atlasError('RESOURCE_NOT_FOUND', `snapshot ${snapshotId}`);
  return { cluster, databases: snapshot.databases ?? cluster.databases };
}

export const backupRoutes: RouteDef[] = [
  {
    operationId: 'listGroupClusterBackupSnapshots',
    method: 'GET',
    path: '/groups/{groupId}/clusters/{clusterName}/backup/snapshots',
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => ({ status: 200, body: listSnapshots(ctx, false) }),
  },
  {
    operationId: 'listGroupClusterBackupSnapshotShardedClusters',
    method: 'GET',
    path: '/groups/{groupId}/clusters/{clusterName}/backup/snapshots/shardedClusters',
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => ({ status: 200, body: listSnapshots(ctx, true) }),
  },
  {
    operationId: 'listGroupClusterBackupSnapshotDatabases',
    method: 'GET',
    path: '/groups/{groupId}/clusters/{clusterName}/backup/snapshots/{snapshotId}/databases',
    versions: v20250312,
    access: 'groupBackupManager',
    handler: (ctx) => {
      const { databases } = requireSnapshot(ctx);
      return { status: 200, body: paginate(ctx, databases, (d) => ({ name: d.name })) };
    },
  },
  {
    operationId: 'listGroupClusterBackupSnapshotDatabaseCollections',
    method: 'GET',
    path: '/groups/{groupId}/clusters/{clusterName}/backup/snapshots/{snapshotId}/databases/{databaseName}/collections',
    versions: v20250312,
    access: 'groupBackupManager',
    handler: (ctx) => {
      const { databases } = requireSnapshot(ctx);
      const name = param(ctx, 'databaseName');
      const database = databases.find((d) => d.name === name);
      if (!database) throw atlasError('RESOURCE_NOT_FOUND', `database ${name}`);
      return { status: 200, body: paginate(ctx, database.collections, (c) => ({ name: c })) };
    },
  },
];
