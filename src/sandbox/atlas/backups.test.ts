import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../../test/contract/sim-harness.js';
import { DigestClient } from '../../../test/contract/digest-client.js';
import { defaultFixture, readOnlyApiKey, sandboxIds } from './default-fixture.js';
import { largeOrgFixture } from './large-org-fixture.js';

const { payments, analytics } = sandboxIds;
const v2025 = { version: '2025-03-12' } as const;
const names = (json: unknown): string[] =>
  ((json as { results: { name: string }[] }).results ?? []).map((item) => item.name);

describe('backup snapshots in the simulator', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.sim.knobs.rateLimit.enabled = false;
  });
  afterEach(async () => h.close());

  it('lists a replica set snapshots, completed and failed, with their status', async () => {
    const list = await h.client.call('GET', `/groups/${payments}/clusters/Cluster0/backup/snapshots`);
    expect(list.status).toBe(200);
    const results = (list.json as { results: { id: string; status: string; type: string }[] }).results;
    expect(results.map((s) => [s.id, s.status, s.type])).toEqual([
      ['660700000000000000000001', 'completed', 'replicaSet'],
      ['660700000000000000000002', 'failed', 'replicaSet'],
    ]);
  });

  it('lists no snapshot for a cluster without backups (an empty page, not an error)', async () => {
    const list = await h.client.call('GET', `/groups/${payments}/clusters/Private0/backup/snapshots`);
    expect(list.status).toBe(200);
    expect((list.json as { results: unknown[] }).results).toEqual([]);
  });

  it('lists a sharded cluster snapshots only on the shardedClusters path', async () => {
    const base = `/groups/${analytics}/clusters/Analytics/backup/snapshots`;
    const replica = await h.client.call('GET', base);
    const sharded = await h.client.call('GET', `${base}/shardedClusters`);
    expect((replica.json as { results: unknown[] }).results).toEqual([]);
    expect((sharded.json as { results: { type: string }[] }).results.map((s) => s.type)).toEqual([
      'shardedCluster',
    ]);
  });

  it('serves the snapshot databases and collections with the 2025-03-12 media type only', async () => {
    const snapshot = `/groups/${payments}/clusters/Cluster0/backup/snapshots/660700000000000000000001`;
    const databases = await h.client.call('GET', `${snapshot}/databases`, v2025);
    const collections = await h.client.call('GET', `${snapshot}/databases/sales/collections`, v2025);
    const oldVersion = await h.client.call('GET', `${snapshot}/databases`);
    expect(names(databases.json)).toEqual(['sales', 'inventory']);
    expect(names(collections.json)).toEqual(['orders', 'customers', 'invoices']);
    expect(oldVersion.status).toBe(406);
  });

  it('lists snapshot namespaces for Project Backup Manager, as the spec requires, not for Read Only', async () => {
    await h.close();
    const fixture = defaultFixture();
    const backupKey = { publicKey: 'backupmg', privateKey: 'c0ffee00-0000-4000-8000-00000000b4c7' };
    h = await startHarness({
      fixture: {
        ...fixture,
        apiKeys: [
          ...(fixture.apiKeys ?? []),
          {
            id: '660900000000000000000077',
            ...backupKey,
            desc: 'Backup manager of payments',
            roles: [
              { orgId: sandboxIds.org, roleName: 'ORG_MEMBER' },
              { groupId: payments, roleName: 'GROUP_BACKUP_MANAGER' },
            ],
          },
        ],
      },
    });
    h.sim.knobs.rateLimit.enabled = false;
    const snapshot = `/groups/${payments}/clusters/Cluster0/backup/snapshots/660700000000000000000001`;
    const as = (key: { publicKey: string; privateKey: string }) =>
      new DigestClient(h.sim.url, key.publicKey, key.privateKey);
    const databases = await as(backupKey).call('GET', `${snapshot}/databases`, v2025);
    const collections = await as(backupKey).call('GET', `${snapshot}/databases/sales/collections`, v2025);
    expect([databases.status, collections.status]).toEqual([200, 200]);
    expect(names(databases.json)).toEqual(['sales', 'inventory']);
    const readOnly = await as(readOnlyApiKey).call('GET', `${snapshot}/databases`, v2025);
    expect(readOnly.status).toBe(401);
  });

  it('answers 404 for an unknown snapshot or database', async () => {
    const base = `/groups/${payments}/clusters/Cluster0/backup/snapshots`;
    const snapshot = await h.client.call('GET', `${base}/660700000000000000000009/databases`, v2025);
    const database = await h.client.call(
      'GET',
      `${base}/660700000000000000000001/databases/nope/collections`,
      v2025,
    );
    expect([snapshot.status, database.status]).toEqual([404, 404]);
  });
});

describe('the large-organization generator', () => {
  it('builds projects with a replica set, a two-shard cluster and a flex cluster, all tagged', () => {
    const fixture = largeOrgFixture({ projects: 20, otherConnectorId: 'vpc-b', connectorEvery: 10 });
    expect(fixture.projects).toHaveLength(20);
    expect(fixture.clusters).toHaveLength(60);
    const first = fixture.clusters?.filter((c) => c.projectId === fixture.projects[0]?.id) ?? [];
    expect(first.map((c) => [c.name, c.kind ?? 'dedicated', c.clusterType ?? 'REPLICASET'])).toEqual([
      ['Main', 'dedicated', 'REPLICASET'],
      ['Sharded', 'dedicated', 'SHARDED'],
      ['Flex', 'flex', 'REPLICASET'],
    ]);
    const shardPrimaries = first[1]?.processes?.filter((p) => p.typeName === 'SHARD_PRIMARY') ?? [];
    expect(shardPrimaries.map((p) => p.shardName)).toEqual(['sh0-shard-0', 'sh0-shard-1']);
    const routed = (fixture.clusters ?? []).filter((c) =>
      c.tags?.some((t) => t.key === 'apono-connector-id' && t.value === 'vpc-b'),
    );
    expect(routed).toHaveLength(6);
  });

  it('is loaded by the simulator: every project lists its clusters and flex cluster', async () => {
    const fixture = largeOrgFixture({ projects: 3 });
    const h = await startHarness({ fixture });
    try {
      h.sim.knobs.rateLimit.enabled = false;
      const project = fixture.projects[2]?.id ?? '';
      const dedicated = await h.client.call('GET', `/groups/${project}/clusters`, { version: '2024-08-05' });
      const flex = await h.client.call('GET', `/groups/${project}/flexClusters`, { version: '2024-11-13' });
      expect(names(dedicated.json)).toEqual(['Main', 'Sharded']);
      expect(names(flex.json)).toEqual(['Flex']);
    } finally {
      await h.close();
    }
  });
});
