import { describe, expect, it } from 'vitest';
import { api, atlas, createTestClient, groupId, mockTokenMint } from '../../test/kits/atlas-test-kit.js';
import { page } from '../../test/kits/atlas-fixtures-test-kit.js';

const snapshotId = '65f0aa11bb22cc33dd44ee55';
const v2023 = 'application/vnd.atlas.2023-01-01+json';
const v2025 = 'application/vnd.atlas.2025-03-12+json';

function versioned(token: string, accept: string) {
  return atlas(token).matchHeader('accept', accept);
}

describe('backup snapshot calls', () => {
  it('lists replica-set snapshots with the 2023-01-01 media type', async () => {
    mockTokenMint();
    versioned('tok-1', v2023)
      .get(`${api}/groups/${groupId}/clusters/Cluster0/backup/snapshots`)
      .query({ pageNum: '1', itemsPerPage: '100' })
      .reply(200, page([{ id: snapshotId, status: 'completed', createdAt: '2026-12-01T00:00:00Z' }]));
    const { client } = createTestClient();

    const snapshots = await client.backupSnapshots.list(groupId, 'Cluster0');

    expect(snapshots.results).toEqual([
      { id: snapshotId, status: 'completed', createdAt: '2026-12-01T00:00:00Z' },
    ]);
  });

  it('lists sharded-cluster snapshots from their own path, without paging parameters', async () => {
    mockTokenMint();
    versioned('tok-1', v2023)
      .get(`${api}/groups/${groupId}/clusters/Analytics/backup/snapshots/shardedClusters`)
      .reply(200, page([{ id: snapshotId, status: 'inProgress', type: 'shardedCluster' }]));
    const { client } = createTestClient();

    const snapshots = await client.backupSnapshots.listSharded(groupId, 'Analytics');

    expect(snapshots.map((s) => s.status)).toEqual(['inProgress']);
  });

  it('lists a snapshot databases and collections with the 2025-03-12 media type', async () => {
    mockTokenMint();
    const base = `${api}/groups/${groupId}/clusters/Cluster0/backup/snapshots/${snapshotId}/databases`;
    versioned('tok-1', v2025)
      .get(base)
      .query({ pageNum: '1', itemsPerPage: '100' })
      .reply(200, page([{ name: 'sales' }, { name: 'inventory' }]));
    versioned('tok-1', v2025)
      .get(`${base}/my%20db/collections`)
      .query({ pageNum: '1', itemsPerPage: '100' })
      .reply(200, page([{ name: 'orders' }]));
    const { client } = createTestClient();

    const databases = await client.backupSnapshots.listDatabases(groupId, 'Cluster0', snapshotId);
    const collections = await client.backupSnapshots.listCollections(
      groupId,
      'Cluster0',
      snapshotId,
      'my db',
    );

    expect(databases.results.map((d) => d.name)).toEqual(['sales', 'inventory']);
    expect(collections.results.map((c) => c.name)).toEqual(['orders']);
  });

  it('reads internalClusterRole and backupEnabled from a cluster', async () => {
    mockTokenMint();
    atlas()
      .get(`${api}/groups/${groupId}/clusters`)
      .query({ pageNum: '1', itemsPerPage: '100' })
      .reply(200, page([{ name: 'c1', internalClusterRole: 'SYSTEM_CLUSTER', backupEnabled: true }]));
    const { client } = createTestClient();

    const clusters = await client.clusters.list(groupId);

    expect(clusters.results[0]).toMatchObject({ internalClusterRole: 'SYSTEM_CLUSTER', backupEnabled: true });
  });
});
