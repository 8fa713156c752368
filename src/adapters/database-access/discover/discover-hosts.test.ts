import { describe, expect, it } from 'vitest';
import type { AtlasProcess } from '../../../atlas/index.js';
import {
  matchProcessesToClusters,
  parseSeedList,
  parseSrvHost,
  processesToQuery,
  type ClusterHosts,
} from './discover-hosts.js';

const seed = (hosts: string[], replicaSet?: string): string =>
  `mongodb://${hosts.map((h) => `${h}:27017`).join(',')}/?ssl=true&authSource=admin${replicaSet ? `&replicaSet=${replicaSet}` : ''}`;

const proc = (id: string, tweaks: Partial<AtlasProcess> = {}): AtlasProcess => ({
  id: `${id}:27017`,
  hostname: id,
  port: 27017,
  typeName: 'REPLICA_PRIMARY',
  ...tweaks,
});

const names = (matched: Map<string, AtlasProcess[]>): Record<string, string[]> =>
  Object.fromEntries([...matched].map(([cluster, list]) => [cluster, list.map((p) => p.id).sort()]));

describe('parseSeedList', () => {
  it.each([
    [
      'hosts without ports, lower-cased, and the replica set',
      seed(['A.example.net', 'b.example.net'], 'rs0'),
      { hosts: ['a.example.net', 'b.example.net'], replicaSet: 'rs0' },
    ],
    ['a host, ignoring any userinfo', 'mongodb://u:p@h1.example.net:27017/db', { hosts: ['h1.example.net'] }],
    ['an IPv6 host', 'mongodb://[::1]:27017', { hosts: ['::1'] }],
    ['nothing from an SRV string (not a seed list)', 'mongodb+srv://cluster0.abcde.mongodb.net', undefined],
    ['nothing from another scheme', 'https://example.net', undefined],
  ])('reads %s', (_case, connectionString, expected) => {
    expect(parseSeedList(connectionString)).toEqual(expected);
  });
});

describe('parseSrvHost', () => {
  it.each([
    [
      'splits the SRV name into its first label and the domain after it',
      'mongodb+srv://Cluster0.abcde.mongodb.net/?retryWrites=true',
      { label: 'cluster0', domain: 'abcde.mongodb.net' },
    ],
    [
      'refuses a domain so short it would match every Atlas host',
      'mongodb+srv://cluster0.mongodb',
      undefined,
    ],
    ['refuses what is not an SRV string', 'mongodb://cluster0.abcde.mongodb.net', undefined],
  ])('%s', (_case, connectionString, expected) => {
    expect(parseSrvHost(connectionString)).toEqual(expected);
  });
});

describe('matchProcessesToClusters', () => {
  const cluster0: ClusterHosts = {
    name: 'Cluster0',
    connectionStrings: {
      standard: seed(
        ['cluster0-shard-00-00.xq7ab.mongodb.net', 'cluster0-shard-00-01.xq7ab.mongodb.net'],
        'atlas-aaa-shard-0',
      ),
      standardSrv: 'mongodb+srv://cluster0.xq7ab.mongodb.net',
    },
  };
  const private0: ClusterHosts = {
    name: 'Private0',
    connectionStrings: { standardSrv: 'mongodb+srv://private0.xq7ab.mongodb.net' },
  };
  const solo: ClusterHosts = {
    name: 'Solo',
    connectionStrings: { standardSrv: 'mongodb+srv://solo.zz9yy.mongodb.net' },
  };

  it('matches by seed-list host, by userAlias, and by the seed list replica set', () => {
    const matched = matchProcessesToClusters(
      [cluster0, private0],
      [
        proc('cluster0-shard-00-00.xq7ab.mongodb.net'),
        proc('atlas-aaa-shard-00-01.xq7ab.mongodb.net', {
          userAlias: 'cluster0-shard-00-01.xq7ab.mongodb.net',
        }),
        proc('atlas-aaa-shard-00-02.xq7ab.mongodb.net', { replicaSetName: 'atlas-aaa-shard-0' }),
      ],
    );
    expect(names(matched)).toEqual({
      Cluster0: [
        'atlas-aaa-shard-00-01.xq7ab.mongodb.net:27017',
        'atlas-aaa-shard-00-02.xq7ab.mongodb.net:27017',
        'cluster0-shard-00-00.xq7ab.mongodb.net:27017',
      ],
    });
  });

  it('matches an SRV-only cluster by its label prefix when the domain is shared', () => {
    const matched = matchProcessesToClusters(
      [cluster0, private0],
      [
        proc('atlas-bbb-shard-00-00.xq7ab.mongodb.net', {
          userAlias: 'private0-shard-00-00.xq7ab.mongodb.net',
        }),
      ],
    );
    expect(names(matched)).toEqual({ Private0: ['atlas-bbb-shard-00-00.xq7ab.mongodb.net:27017'] });
  });

  it('matches by domain alone only when one cluster of the project has that domain', () => {
    const internal = proc('atlas-ccc-shard-00-00.zz9yy.mongodb.net');
    expect(names(matchProcessesToClusters([cluster0, solo], [internal]))).toEqual({
      Solo: ['atlas-ccc-shard-00-00.zz9yy.mongodb.net:27017'],
    });
    const twin: ClusterHosts = {
      name: 'Twin',
      connectionStrings: { standardSrv: 'mongodb+srv://twin.zz9yy.mongodb.net' },
    };
    expect(names(matchProcessesToClusters([solo, twin], [internal]))).toEqual({});
  });

  it('leaves a process of an unknown domain unmatched', () => {
    expect(names(matchProcessesToClusters([cluster0], [proc('node-1.other.example.net')]))).toEqual({});
  });
});

describe('processesToQuery', () => {
  it('picks one mongod per replica set or shard, the primary first, never mongos or config', () => {
    const picked = processesToQuery([
      proc('s0-secondary', { typeName: 'SHARD_SECONDARY', replicaSetName: 'shard-0' }),
      proc('s0-primary', { typeName: 'SHARD_PRIMARY', replicaSetName: 'shard-0' }),
      proc('s1-secondary', { typeName: 'SHARD_SECONDARY', replicaSetName: 'shard-1' }),
      proc('mongos', { typeName: 'SHARD_MONGOS' }),
      proc('config', { typeName: 'SHARD_CONFIG', replicaSetName: 'config-0' }),
      proc('unknown', { typeName: 'NO_DATA' }),
    ]);
    expect(picked.map((p) => p.hostname)).toEqual(['s0-primary', 's1-secondary']);
  });
});
