import type { AtlasWorld } from './atlas-world-test-kit.js';
import { hourMs, managedUser, projectA, projectB, readSales } from './discover-test-kit.js';

/** The discover suite's Atlas: two projects covering every cluster shape and matching tier. */

const xq7ab = (name: string) => `${name}.xq7ab.mongodb.net`;
const seedList = (hosts: string[], rs: string) =>
  `mongodb://${hosts.map((h) => `${h}:27017`).join(',')}/?ssl=true&authSource=admin&replicaSet=${rs}`;

export const cluster0Id = '66020000000000000000c001';

/** Project A: a tagged replica set, an SRV-only private-endpoint cluster, one being deleted, a flex. */
export function seedProjectA(atlas: AtlasWorld, nowMs: number): void {
  atlas.addProject(projectA, 'payments');
  atlas.addCluster(projectA, {
    id: cluster0Id,
    name: 'Cluster0',
    clusterType: 'REPLICASET',
    stateName: 'IDLE',
    mongoDBVersion: '8.0.4',
    tags: [
      { key: 'owner', value: 'payments-team' },
      { key: 'env', value: 'production' },
    ],
    connectionStrings: {
      standard: seedList([xq7ab('cluster0-shard-00-00'), xq7ab('cluster0-shard-00-01')], 'atlas-p4y-shard-0'),
      standardSrv: `mongodb+srv://${xq7ab('cluster0')}`,
      privateSrv: `mongodb+srv://${xq7ab('cluster0-pri')}`,
    },
  });
  atlas.addCluster(projectA, {
    name: 'Private0',
    clusterType: 'REPLICASET',
    stateName: 'IDLE',
    connectionStrings: {
      standardSrv: `mongodb+srv://${xq7ab('private0')}`,
      privateEndpoint: [
        { srvConnectionString: 'mongodb+srv://pl.example', endpoints: [{ endpointId: 'vpce-0a1b' }] },
      ],
    },
  });
  atlas.addCluster(projectA, { name: 'Old0', stateName: 'DELETING', connectionStrings: {} });
  atlas.addCluster(
    projectA,
    {
      name: 'Flex0',
      stateName: 'IDLE',
      connectionStrings: { standardSrv: 'mongodb+srv://flex0.mq2cd.mongodb.net' },
    },
    { flex: true },
  );
  const node = (host: string, alias: string, typeName: string) => ({
    id: `${host}:27017`,
    hostname: host,
    userAlias: alias,
    port: 27017,
    typeName,
    replicaSetName: host.split('-shard')[0],
  });
  atlas.addProcess(
    projectA,
    node(xq7ab('atlas-p4y-shard-00-00'), xq7ab('cluster0-shard-00-00'), 'REPLICA_PRIMARY'),
    ['sales', 'inventory', 'admin', 'local'],
  );
  atlas.addProcess(
    projectA,
    node(xq7ab('atlas-p4y-shard-00-01'), xq7ab('cluster0-shard-00-01'), 'REPLICA_SECONDARY'),
    ['sales'],
  );
  atlas.addProcess(
    projectA,
    node(xq7ab('atlas-pr1-shard-00-00'), xq7ab('private0-shard-00-00'), 'REPLICA_PRIMARY'),
    ['ledger'],
  );
  atlas.addCustomRole(projectA, {
    roleName: 'jit-r-1a2b',
    actions: [{ action: 'FIND', resources: [] }],
    inheritedRoles: [],
  });
  atlas.addCustomRole(projectA, {
    roleName: 'reporting',
    actions: [],
    inheritedRoles: [{ db: 'sales', role: 'read' }],
  });
  atlas.addUser(
    projectA,
    managedUser({ grants: [{ id: 'g-1', expiresAtMs: nowMs + 2 * hourMs, roles: [readSales] }] }, nowMs),
    'Sup3r-Secret-pw',
  );
  atlas.addUser(
    projectA,
    {
      username: 'app-service',
      databaseName: 'admin',
      roles: [{ roleName: 'readWrite', databaseName: 'sales' }],
    },
    'App-Secret-pw',
  );
}

/** Project B: a sharded cluster with mongos and config servers. */
export function seedProjectB(atlas: AtlasWorld): void {
  atlas.addProject(projectB, 'analytics');
  atlas.addCluster(projectB, {
    name: 'Analytics',
    clusterType: 'SHARDED',
    stateName: 'IDLE',
    connectionStrings: { standardSrv: 'mongodb+srv://analytics.mq2cd.mongodb.net' },
  });
  const host = (n: string) => `analytics-${n}.mq2cd.mongodb.net`;
  const shard = (n: string, typeName: string, replicaSetName: string, port = 27017) => ({
    id: `${host(n)}:${port}`,
    hostname: host(n),
    port,
    typeName,
    replicaSetName,
  });
  atlas.addProcess(projectB, shard('shard-00-00', 'SHARD_MONGOS', 'mongos', 27016));
  atlas.addProcess(projectB, shard('shard-00-00', 'SHARD_PRIMARY', 'shard-0'), ['events']);
  atlas.addProcess(projectB, shard('shard-01-00', 'SHARD_PRIMARY', 'shard-1'), ['events', 'reports']);
  atlas.addProcess(projectB, shard('config-00-00', 'SHARD_CONFIG', 'config-0'), ['config']);
}
