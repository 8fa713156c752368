import type { AtlasFixtureInput, FixtureProcessInput } from './fixture.js';

/**
 * A generated organization for tests and the benchmark: `projects` projects, each with a tagged
 * replica set (backups on), a tagged two-shard cluster (backups on) and a tagged flex cluster, so
 * every kind of cluster, processes per shard and both snapshot listings are exercised at scale.
 * Ids are deterministic (hex counters), so two runs produce the same organization.
 */
export interface LargeOrgOptions {
  readonly orgId?: string;
  readonly projects: number;
  /** 1…3: replica set, then sharded, then flex. Default 3. */
  readonly clustersPerProject?: number;
  readonly databasesPerCluster?: number;
  readonly collectionsPerDatabase?: number;
  /** Tag value for `apono-connector-id` on every `connectorEvery`-th project's clusters. */
  readonly otherConnectorId?: string;
  readonly connectorEvery?: number;
}

type ClusterInput = NonNullable<AtlasFixtureInput['clusters']>[number];

const hex = (prefix: string, n: number): string =>
  `${prefix}${n.toString(16).padStart(24 - prefix.length, '0')}`;

function databases(options: LargeOrgOptions, cluster: string) {
  return Array.from({ length: options.databasesPerCluster ?? 2 }, (_, d) => ({
    name: `${cluster.toLowerCase()}_db${d}`,
    collections: Array.from({ length: options.collectionsPerDatabase ?? 3 }, (_, c) => `coll${c}`),
  }));
}

function replicaSetProcesses(host: string, rs: string, port = 27017): FixtureProcessInput[] {
  return [0, 1, 2].map((n) => ({
    hostname: `${host}-shard-00-0${n}.gen.mongodb.net`,
    port,
    typeName: n === 0 ? 'REPLICA_PRIMARY' : 'REPLICA_SECONDARY',
    userAlias: `${host}-shard-00-0${n}.gen.mongodb.net`,
    replicaSetName: rs,
  }));
}

function shardedProcesses(host: string, shards: number): FixtureProcessInput[] {
  const perShard = Array.from({ length: shards }, (_, s): FixtureProcessInput[] =>
    [0, 1].map((n) => ({
      hostname: `${host}-shard-0${s}-0${n}.gen.mongodb.net`,
      port: 27017,
      typeName: n === 0 ? 'SHARD_PRIMARY' : 'SHARD_SECONDARY',
      userAlias: `${host}-shard-0${s}-0${n}.gen.mongodb.net`,
      replicaSetName: `${host}-shard-${s}`,
      shardName: `${host}-shard-${s}`,
    })),
  ).flat();
  return [
    {
      hostname: `${host}-shard-00-00.gen.mongodb.net`,
      port: 27016,
      typeName: 'SHARD_MONGOS',
      userAlias: `${host}-shard-00-00.gen.mongodb.net`,
    },
    ...perShard,
    {
      hostname: `${host}-config-00-00.gen.mongodb.net`,
      port: 27017,
      typeName: 'SHARD_CONFIG',
      userAlias: `${host}-config-00-00.gen.mongodb.net`,
      replicaSetName: `${host}-config-0`,
    },
  ];
}

function projectClusters(options: LargeOrgOptions, p: number, projectId: string): ClusterInput[] {
  const routed =
    options.otherConnectorId !== undefined && p % (options.connectorEvery ?? 10) === 0
      ? [{ key: 'apono-connector-id', value: options.otherConnectorId }]
      : [];
  const tags = [{ key: 'owner', value: `team-${p % 7}` }, ...routed];
  const rs = `rs${p.toString(36)}`;
  const sh = `sh${p.toString(36)}`;
  const clusters: ClusterInput[] = [
    {
      id: hex('6a', p * 4 + 1),
      projectId,
      name: 'Main',
      tags,
      connectionStrings: {
        standard: `mongodb://${[0, 1, 2].map((n) => `${rs}-shard-00-0${n}.gen.mongodb.net:27017`).join(',')}/?ssl=true&authSource=admin&replicaSet=${rs}-shard-0`,
        standardSrv: `mongodb+srv://${rs}.gen.mongodb.net`,
      },
      databases: databases(options, 'Main'),
      backupEnabled: true,
      backupSnapshots: [{ id: hex('6b', p * 4 + 1), createdAt: '2026-12-01T03:00:00Z' }],
      processes: replicaSetProcesses(rs, `${rs}-shard-0`),
    },
    {
      id: hex('6a', p * 4 + 2),
      projectId,
      name: 'Sharded',
      clusterType: 'SHARDED',
      numShards: 2,
      tags,
      connectionStrings: {
        standard: `mongodb://${sh}-shard-00-00.gen.mongodb.net:27016/?ssl=true&authSource=admin`,
        standardSrv: `mongodb+srv://${sh}.gen.mongodb.net`,
      },
      databases: databases(options, 'Sharded'),
      backupEnabled: true,
      backupSnapshots: [{ id: hex('6b', p * 4 + 2), createdAt: '2026-12-01T03:00:00Z' }],
      processes: shardedProcesses(sh, 2),
    },
    {
      id: hex('6a', p * 4 + 3),
      projectId,
      name: 'Flex',
      kind: 'flex',
      tags,
      connectionStrings: { standardSrv: `mongodb+srv://fx${p.toString(36)}.gen.mongodb.net` },
      databases: databases(options, 'Flex'),
    },
  ];
  return clusters.slice(0, Math.max(1, Math.min(3, options.clustersPerProject ?? 3)));
}

export function largeOrgFixture(options: LargeOrgOptions): AtlasFixtureInput {
  const orgId = options.orgId ?? hex('69', 1);
  const projects = Array.from({ length: options.projects }, (_, p) => ({
    id: hex('68', p + 1),
    orgId,
    name: `project-${String(p).padStart(4, '0')}`,
  }));
  return {
    organizations: [{ id: orgId, name: 'Large Org' }],
    projects,
    clusters: projects.flatMap((project, p) => projectClusters(options, p, project.id)),
  };
}
