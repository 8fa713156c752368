import type { AtlasFixtureInput, FixtureDatabase, FixtureProcessInput } from './fixture.js';

/** Ids of the built-in seed, for tests and docs. All 24-hex and stable across runs. */
export const sandboxIds = {
  org: '660100000000000000000001',
  payments: '660200000000000000000001',
  analytics: '660200000000000000000002',
  cluster0: '660300000000000000000001',
  private0: '660300000000000000000002',
  analyticsCluster: '660300000000000000000003',
  flex0: '660300000000000000000004',
  alice: '660400000000000000000001',
  bob: '660400000000000000000002',
  carol: '660400000000000000000003',
  oncallTeam: '660500000000000000000001',
  defaultApiKey: '660600000000000000000001',
  readOnlyApiKey: '660600000000000000000002',
} as const;

/**
 * A second credential with only read access to one project (plus ORG_MEMBER, which every
 * organization API key carries), so "doctor" checks can see what a too-weak key looks like.
 */
export const readOnlyApiKey = {
  publicKey: 'readonly',
  privateKey: 'b1a7e0c4-0000-4000-8000-00000000a11c',
} as const;

const db = (name: string, ...collections: string[]): FixtureDatabase => ({ name, collections });

const cluster0Hosts = [0, 1, 2].map((n) => `cluster0-shard-00-0${n}.xq7ab.mongodb.net`);
const private0Hosts = [0, 1, 2].map((n) => `private0-shard-00-0${n}.xq7ab.mongodb.net`);

function replicaProcesses(atlasPrefix: string, aliases: string[]): FixtureProcessInput[] {
  return aliases.map((userAlias, n) => ({
    hostname: `${atlasPrefix}-shard-00-0${n}.xq7ab.mongodb.net`,
    port: 27017,
    typeName: n === 0 ? 'REPLICA_PRIMARY' : 'REPLICA_SECONDARY',
    userAlias,
    replicaSetName: `${atlasPrefix}-shard-0`,
  }));
}

function analyticsProcesses(): FixtureProcessInput[] {
  const host = (kind: string, n: number): string => `atlas-an4l7c-${kind}-0${n}.mq2cd.mongodb.net`;
  const alias = (kind: string, n: number): string => `analytics-${kind}-0${n}.mq2cd.mongodb.net`;
  return [
    { hostname: host('shard-00', 0), port: 27016, typeName: 'SHARD_MONGOS', userAlias: alias('shard-00', 0) },
    {
      hostname: host('shard-00', 0),
      port: 27017,
      typeName: 'SHARD_PRIMARY',
      userAlias: alias('shard-00', 0),
      replicaSetName: 'atlas-an4l7c-shard-0',
      shardName: 'atlas-an4l7c-shard-0',
    },
    {
      hostname: host('shard-01', 0),
      port: 27017,
      typeName: 'SHARD_PRIMARY',
      userAlias: alias('shard-01', 0),
      replicaSetName: 'atlas-an4l7c-shard-1',
      shardName: 'atlas-an4l7c-shard-1',
    },
    {
      hostname: host('config-00', 0),
      port: 27017,
      typeName: 'SHARD_CONFIG',
      userAlias: alias('config-00', 0),
      replicaSetName: 'atlas-an4l7c-config-0',
    },
  ];
}

/**
 * The built-in seed: one organization with a payments and an analytics project, a replica set with
 * tags and peering strings, a private-endpoint cluster tagged the way Apono's agent expects, a
 * sharded cluster, a flex cluster (Cluster0 and Analytics with Cloud Backup snapshots), three Atlas UI users (one still PENDING) and one team.
 */
export function defaultFixture(): AtlasFixtureInput {
  const { org, payments, analytics } = sandboxIds;
  return {
    organizations: [{ id: org, name: 'Sandbox Org' }],
    projects: [
      { id: payments, orgId: org, name: 'payments', tags: [{ key: 'env', value: 'production' }] },
      { id: analytics, orgId: org, name: 'analytics', tags: [{ key: 'env', value: 'staging' }] },
    ],
    clusters: [...paymentsClusters(), ...analyticsClusters()],
    ...people(),
    apiKeys: [
      {
        id: sandboxIds.readOnlyApiKey,
        publicKey: readOnlyApiKey.publicKey,
        privateKey: readOnlyApiKey.privateKey,
        desc: 'Sandbox read-only key (payments only)',
        roles: [
          { orgId: org, roleName: 'ORG_MEMBER' },
          { groupId: payments, roleName: 'GROUP_READ_ONLY' },
        ],
      },
    ],
  };
}

type ClusterInput = NonNullable<AtlasFixtureInput['clusters']>[number];

function paymentsClusters(): ClusterInput[] {
  return [cluster0(), private0()];
}

/** A replica set with tags and network-peering connection strings. */
function cluster0(): ClusterInput {
  return {
    id: sandboxIds.cluster0,
    projectId: sandboxIds.payments,
    name: 'Cluster0',
    clusterType: 'REPLICASET',
    tags: [
      { key: 'env', value: 'production' },
      { key: 'owner', value: 'payments-team' },
      { key: 'data-classification', value: 'pci' },
    ],
    connectionStrings: {
      standard: `mongodb://${cluster0Hosts.map((h) => `${h}:27017`).join(',')}/?ssl=true&authSource=admin&replicaSet=atlas-p4y0m3-shard-0`,
      standardSrv: 'mongodb+srv://cluster0.xq7ab.mongodb.net',
      private: `mongodb://${cluster0Hosts.map((h) => `${h.replace('.xq7ab', '-pri.xq7ab')}:27017`).join(',')}/?ssl=true&authSource=admin&replicaSet=atlas-p4y0m3-shard-0`,
      privateSrv: 'mongodb+srv://cluster0-pri.xq7ab.mongodb.net',
    },
    databases: [
      db('sales', 'orders', 'customers', 'invoices'),
      db('inventory', 'items', 'stock_levels', 'warehouses'),
    ],
    backupEnabled: true,
    // A failed snapshot newer than the completed one: discovery must skip it.
    backupSnapshots: [
      { id: '660700000000000000000001', createdAt: '2026-11-30T03:00:00Z', status: 'completed' },
      { id: '660700000000000000000002', createdAt: '2026-12-01T03:00:00Z', status: 'failed' },
    ],
    processes: replicaProcesses('atlas-p4y0m3', cluster0Hosts),
  };
}

/** A replica set reachable through an AWS private endpoint, tagged the way Apono's agent expects. */
function private0(): ClusterInput {
  return {
    id: sandboxIds.private0,
    projectId: sandboxIds.payments,
    name: 'Private0',
    clusterType: 'REPLICASET',
    tags: [
      { key: 'env', value: 'production' },
      { key: 'apono-connection-type', value: 'PrivateEndpoint' },
      { key: 'apono_private_endpoint_id', value: 'vpce-0a1b2c3d4e5f67890' },
    ],
    connectionStrings: {
      standard: `mongodb://${private0Hosts.map((h) => `${h}:27017`).join(',')}/?ssl=true&authSource=admin&replicaSet=atlas-pr1v4t-shard-0`,
      standardSrv: 'mongodb+srv://private0.xq7ab.mongodb.net',
      privateEndpoint: [
        {
          connectionString:
            'mongodb://pl-0-us-east-1.xq7ab.mongodb.net:1024,pl-0-us-east-1.xq7ab.mongodb.net:1025,pl-0-us-east-1.xq7ab.mongodb.net:1026/?ssl=true&authSource=admin&replicaSet=atlas-pr1v4t-shard-0',
          srvConnectionString: 'mongodb+srv://private0-pl-0.xq7ab.mongodb.net',
          type: 'MONGOD',
          endpoints: [{ endpointId: 'vpce-0a1b2c3d4e5f67890', providerName: 'AWS', region: 'US_EAST_1' }],
        },
      ],
    },
    databases: [db('ledger', 'entries', 'accounts')],
    processes: replicaProcesses('atlas-pr1v4t', private0Hosts),
  };
}

/** A sharded cluster and a flex cluster. */
function analyticsClusters(): ClusterInput[] {
  const { analytics } = sandboxIds;
  return [
    {
      id: sandboxIds.analyticsCluster,
      projectId: analytics,
      name: 'Analytics',
      clusterType: 'SHARDED',
      numShards: 2,
      instanceSize: 'M30',
      tags: [
        { key: 'env', value: 'staging' },
        { key: 'owner', value: 'data-team' },
      ],
      connectionStrings: {
        standard:
          'mongodb://analytics-shard-00-00.mq2cd.mongodb.net:27016,analytics-shard-01-00.mq2cd.mongodb.net:27016/?ssl=true&authSource=admin',
        standardSrv: 'mongodb+srv://analytics.mq2cd.mongodb.net',
      },
      databases: [db('events', 'clicks', 'pageviews', 'sessions'), db('reports', 'daily', 'monthly')],
      backupEnabled: true,
      backupSnapshots: [{ id: '660700000000000000000003', createdAt: '2026-12-01T02:00:00Z' }],
      processes: analyticsProcesses(),
    },
    {
      id: sandboxIds.flex0,
      projectId: analytics,
      name: 'Flex0',
      kind: 'flex',
      tags: [{ key: 'env', value: 'dev' }],
      connectionStrings: { standardSrv: 'mongodb+srv://flex0.mq2cd.mongodb.net' },
      databases: [db('scratch', 'notes')],
    },
  ];
}

/** Atlas UI users (two ACTIVE, one PENDING) and a team. */
function people(): Pick<AtlasFixtureInput, 'orgUsers' | 'teams'> {
  const { org, payments, analytics } = sandboxIds;
  return {
    orgUsers: [
      {
        id: sandboxIds.alice,
        orgId: org,
        username: 'alice@example.com',
        status: 'ACTIVE',
        firstName: 'Alice',
        lastName: 'Owner',
        orgRoles: ['ORG_OWNER'],
      },
      {
        id: sandboxIds.bob,
        orgId: org,
        username: 'bob@example.com',
        status: 'ACTIVE',
        firstName: 'Bob',
        lastName: 'Builder',
        orgRoles: ['ORG_MEMBER'],
        projectRoles: [{ projectId: payments, roles: ['GROUP_READ_ONLY'] }],
      },
      {
        id: sandboxIds.carol,
        orgId: org,
        username: 'carol@example.com',
        status: 'PENDING',
        inviterUsername: 'alice@example.com',
        orgRoles: ['ORG_MEMBER'],
        projectRoles: [{ projectId: analytics, roles: ['GROUP_DATA_ACCESS_READ_ONLY'] }],
      },
    ],
    teams: [
      {
        id: sandboxIds.oncallTeam,
        orgId: org,
        name: 'payments-oncall',
        userIds: [sandboxIds.bob],
        projectRoles: [{ projectId: payments, roles: ['GROUP_DATA_ACCESS_READ_WRITE'] }],
      },
    ],
  };
}
