import { describe, expect, it } from 'vitest';
import type { AtlasProcess } from '../../atlas/index.js';
import { matchProcessesToClusters, processesToQuery } from '../database-access/discover/discover-hosts.js';
import type { ClusterHosts } from '../database-access/discover/discover-hosts.js';
import { withLeftovers } from './live-databases.js';
import { projectClusters, type OrgCluster } from './org-cluster.js';

/**
 * The rule deep discovery relies on to read databases without a driver (docs/deep-discovery.md):
 * a process belongs to the cluster whose seed list names its host, else whose seed list names its
 * replica set, else whose SRV label prefixes its host within the SRV domain, else the only cluster
 * of the project with that domain; ambiguity leaves it unmatched. Then one mongod per replica set
 * (each shard is one) is asked for its databases: the primary, mongos and config servers skipped.
 */
const replicaSet: ClusterHosts = {
  name: 'Main',
  connectionStrings: {
    standard:
      'mongodb://main-shard-00-00.ab1cd.mongodb.net:27017,main-shard-00-01.ab1cd.mongodb.net:27017/?replicaSet=atlas-main-shard-0',
    standardSrv: 'mongodb+srv://main.ab1cd.mongodb.net',
  },
};
const sharded: ClusterHosts = {
  name: 'Big',
  connectionStrings: {
    standard:
      'mongodb://big-shard-00-00.ab1cd.mongodb.net:27016,big-shard-01-00.ab1cd.mongodb.net:27016/?ssl=true',
    standardSrv: 'mongodb+srv://big.ab1cd.mongodb.net',
  },
};
const flex: ClusterHosts = {
  name: 'Fx',
  connectionStrings: { standardSrv: 'mongodb+srv://fx.zz9yy.mongodb.net' },
};

const process = (hostname: string, typeName: string, extra: Partial<AtlasProcess> = {}): AtlasProcess => ({
  id: `${hostname}:${extra.port ?? 27017}`,
  hostname,
  userAlias: hostname,
  typeName,
  ...extra,
});

const processes: AtlasProcess[] = [
  process('main-shard-00-00.ab1cd.mongodb.net', 'REPLICA_PRIMARY', { replicaSetName: 'atlas-main-shard-0' }),
  process('main-shard-00-01.ab1cd.mongodb.net', 'REPLICA_SECONDARY', {
    replicaSetName: 'atlas-main-shard-0',
  }),
  process('main-shard-00-02.ab1cd.mongodb.net', 'REPLICA_SECONDARY', {
    replicaSetName: 'atlas-main-shard-0',
  }),
  process('big-shard-00-00.ab1cd.mongodb.net', 'SHARD_MONGOS', { port: 27016 }),
  process('big-shard-00-00.ab1cd.mongodb.net', 'SHARD_PRIMARY', {
    replicaSetName: 'big-shard-0',
    shardName: 'big-shard-0',
  }),
  process('big-shard-01-00.ab1cd.mongodb.net', 'SHARD_PRIMARY', {
    replicaSetName: 'big-shard-1',
    shardName: 'big-shard-1',
  }),
  process('big-shard-01-01.ab1cd.mongodb.net', 'SHARD_SECONDARY', {
    replicaSetName: 'big-shard-1',
    shardName: 'big-shard-1',
  }),
  process('big-config-00-00.ab1cd.mongodb.net', 'SHARD_CONFIG', { replicaSetName: 'big-config-0' }),
  process('fx-shard-00-00.zz9yy.mongodb.net', 'REPLICA_PRIMARY', { replicaSetName: 'atlas-fx-shard-0' }),
];

describe('process → cluster mapping', () => {
  const byCluster = matchProcessesToClusters([replicaSet, sharded, flex], processes);
  const queried = (name: string) => processesToQuery(byCluster.get(name) ?? []).map((p) => p.id);

  it('maps a replica set by seed-list host and replica-set name, and asks only its primary', () => {
    expect(byCluster.get('Main')).toHaveLength(3);
    expect(queried('Main')).toEqual(['main-shard-00-00.ab1cd.mongodb.net:27017']);
  });

  it('maps every process of a sharded cluster by SRV label, and asks one primary per shard', () => {
    expect(
      byCluster
        .get('Big')
        ?.map((p) => p.typeName)
        .sort(),
    ).toEqual(['SHARD_CONFIG', 'SHARD_MONGOS', 'SHARD_PRIMARY', 'SHARD_PRIMARY', 'SHARD_SECONDARY'].sort());
    expect(queried('Big')).toEqual([
      'big-shard-00-00.ab1cd.mongodb.net:27017',
      'big-shard-01-00.ab1cd.mongodb.net:27017',
    ]);
  });

  it('maps a flex cluster by its SRV domain alone (it lists no seed hosts)', () => {
    expect(queried('Fx')).toEqual(['fx-shard-00-00.zz9yy.mongodb.net:27017']);
  });

  it('leaves a process unmatched when two clusters share the only clue (same domain, no label match)', () => {
    const twins: ClusterHosts[] = [
      { name: 'A', connectionStrings: { standardSrv: 'mongodb+srv://a.same1.mongodb.net' } },
      { name: 'B', connectionStrings: { standardSrv: 'mongodb+srv://b.same1.mongodb.net' } },
    ];
    const matched = matchProcessesToClusters(twins, [
      process('atlas-x-shard-00-00.same1.mongodb.net', 'REPLICA_PRIMARY'),
    ]);
    expect(matched.size).toBe(0);
  });

  it('matches against every cluster the project lists: one being deleted keeps its own mongods', () => {
    const replicaSetOf = (name: string, extra: object = {}) => {
      const label = name.toLowerCase();
      return {
        name,
        stateName: 'IDLE',
        // Atlas's shape; the deleting cluster's seed list is gone, its SRV name is not.
        connectionStrings: {
          ...(name === 'Old' ? {} : { standard: `mongodb://${label}-shard-00-00.ab12c.mongodb.net:27017/` }),
          standardSrv: `mongodb+srv://${label}.ab12c.mongodb.net`,
        },
        ...extra,
      };
    };
    const clusters = projectClusters(
      [replicaSetOf('Live'), replicaSetOf('Old', { stateName: 'DELETING' })],
      [],
    );
    expect(clusters.subIntegrations.map((c) => c.name)).toEqual(['Live']);
    const old = [process('old-shard-00-00.ab12c.mongodb.net', 'REPLICA_PRIMARY')];
    const live = [process('live-shard-00-00.ab12c.mongodb.net', 'REPLICA_PRIMARY')];
    const placed = (list: readonly OrgCluster[]) =>
      withLeftovers(list, [...live, ...old], matchProcessesToClusters(list, [...live, ...old]));

    expect(placed(clusters.all).get('Live')).toEqual(live);
    expect(placed(clusters.all).get('Old')).toEqual(old);
    // Matched against the records alone, the only cluster with the domain would take Old's mongod.
    expect(placed(clusters.subIntegrations).get('Live')).toEqual([...live, ...old]);
  });

  it('gives unplaced processes to the one dedicated cluster that got none (a loopback seed list)', () => {
    const loopback = (name: string, flex = false): OrgCluster => ({
      name,
      flex,
      backupEnabled: false,
      paused: false,
      tags: [],
      connectionStrings: { standard: 'mongodb://127.0.0.1:40001/?authSource=admin' },
    });
    const clusters = [loopback('Big'), loopback('Fx', true)];
    const shardProcesses = processes.filter((p) => p.id.startsWith('big-'));
    const placed = withLeftovers(
      clusters,
      shardProcesses,
      matchProcessesToClusters(clusters, shardProcesses),
    );
    expect(processesToQuery(placed.get('Big') ?? []).map((p) => p.id)).toEqual([
      'big-shard-00-00.ab1cd.mongodb.net:27017',
      'big-shard-01-00.ab1cd.mongodb.net:27017',
    ]);
    const twoEmpty = [loopback('A'), loopback('B')];
    expect(withLeftovers(twoEmpty, shardProcesses, new Map()).size).toBe(0);
  });

  it('takes a flex cluster /clusters also lists (created through it, or a migrated M2/M5) once, as flex', () => {
    const big: Parameters<typeof projectClusters>[0][number] = {
      name: 'Big',
      stateName: 'IDLE',
      clusterType: 'SHARDED',
      connectionStrings: { standard: 'mongodb://127.0.0.1:40001/?authSource=admin' },
    };
    const flexStrings = { standardSrv: 'mongodb+srv://fx.zz9yy.mongodb.net' };
    const clusters = projectClusters(
      [big, { name: 'Fx', stateName: 'IDLE', clusterType: 'REPLICASET', connectionStrings: flexStrings }],
      [{ name: 'Fx', stateName: 'IDLE', connectionStrings: flexStrings }],
    );

    expect(clusters.subIntegrations.map((c) => [c.name, c.flex])).toEqual([
      ['Big', false],
      ['Fx', true],
    ]);
    expect(clusters.all.map((c) => c.name)).toEqual(['Big', 'Fx']);
    // The dedicated copy of Fx would be a second dedicated cluster without mongods: Big lost its shards.
    const shardProcesses = processes.filter((p) => p.id.startsWith('big-'));
    const placed = withLeftovers(
      clusters.all,
      shardProcesses,
      matchProcessesToClusters(clusters.all, shardProcesses),
    );
    expect(processesToQuery(placed.get('Big') ?? [])).toHaveLength(2);
  });
});
