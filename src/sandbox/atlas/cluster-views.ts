import type { SimContext } from './context.js';
import { publishedConnectionStrings } from './loopback-strings.js';
import type { ClusterRec, ProcessRec } from './model.js';
import { selfLinks } from './views.js';

/**
 * Cluster representations per media-type version: 2024-08-05 (`ClusterDescription20240805`),
 * 2023-02-01 (`AdvancedClusterDescription`) and 2023-01-01 (`LegacyAtlasCluster`), plus flex
 * clusters and processes. Only the fields the connector reads, and what it takes to be valid.
 */

function majorVersion(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

function commonFields(sim: SimContext, c: ClusterRec): Record<string, unknown> {
  return {
    backupEnabled: false,
    clusterType: c.clusterType,
    connectionStrings: publishedConnectionStrings(sim, c),
    createDate: c.createDate,
    groupId: c.projectId,
    id: c.id,
    labels: [],
    links: selfLinks(sim, `/groups/${c.projectId}/clusters/${c.name}`),
    mongoDBMajorVersion: majorVersion(c.mongoDBVersion),
    mongoDBVersion: c.mongoDBVersion,
    name: c.name,
    paused: c.paused,
    pitEnabled: false,
    stateName: c.stateName,
    tags: c.tags,
    terminationProtectionEnabled: false,
    versionReleaseSystem: 'LTS',
  };
}

function shardIds(c: ClusterRec): string[] {
  // Deterministic per-shard ids derived from the cluster id (last two hex digits vary).
  return Array.from({ length: c.numShards }, (_, i) => `${c.id.slice(0, 20)}${(0xa000 + i).toString(16)}`);
}

function regionConfig(c: ClusterRec): Record<string, unknown> {
  return {
    electableSpecs: { instanceSize: c.instanceSize, nodeCount: 3 },
    priority: 7,
    providerName: c.providerName,
    regionName: c.regionName,
  };
}

export function clusterView(sim: SimContext, c: ClusterRec, version: string): object {
  const base = commonFields(sim, c);
  if (version === '2023-01-01') {
    return {
      ...base,
      mongoURI: publishedConnectionStrings(sim, c).standard,
      numShards: c.numShards,
      providerSettings: {
        instanceSizeName: c.instanceSize,
        providerName: c.providerName,
        regionName: c.regionName,
      },
      replicationFactor: 3,
      srvAddress: publishedConnectionStrings(sim, c).standardSrv,
    };
  }
  if (version === '2023-02-01') {
    return {
      ...base,
      replicationSpecs: [
        { id: shardIds(c)[0], numShards: c.numShards, regionConfigs: [regionConfig(c)], zoneName: 'Zone 1' },
      ],
    };
  }
  return {
    ...base,
    replicationSpecs: shardIds(c).map((id) => ({
      id,
      regionConfigs: [regionConfig(c)],
      zoneId: `${c.id.slice(0, 20)}f000`,
      zoneName: 'Zone 1',
    })),
  };
}

/** Flex clusters publish only the public strings. */
function flexConnectionStrings(strings: ClusterRec['connectionStrings']): object {
  return {
    ...(strings.standard !== undefined ? { standard: strings.standard } : {}),
    ...(strings.standardSrv !== undefined ? { standardSrv: strings.standardSrv } : {}),
  };
}

export function flexClusterView(sim: SimContext, c: ClusterRec): object {
  return {
    clusterType: 'REPLICASET',
    connectionStrings: flexConnectionStrings(publishedConnectionStrings(sim, c)),
    createDate: c.createDate,
    groupId: c.projectId,
    id: c.id,
    links: selfLinks(sim, `/groups/${c.projectId}/flexClusters/${c.name}`),
    mongoDBVersion: c.mongoDBVersion,
    name: c.name,
    providerSettings: {
      backingProviderName: c.providerName,
      diskSizeGB: 5,
      providerName: 'FLEX',
      regionName: c.regionName,
    },
    stateName: c.stateName,
    tags: c.tags,
    terminationProtectionEnabled: false,
    versionReleaseSystem: 'LTS',
  };
}

export function processView(sim: SimContext, cluster: ClusterRec, p: ProcessRec): object {
  return {
    created: cluster.createDate,
    groupId: cluster.projectId,
    hostname: p.hostname,
    id: p.id,
    lastPing: cluster.createDate,
    links: selfLinks(sim, `/groups/${cluster.projectId}/processes/${p.id}`),
    port: p.port,
    ...(p.replicaSetName !== undefined ? { replicaSetName: p.replicaSetName } : {}),
    ...(p.shardName !== undefined ? { shardName: p.shardName } : {}),
    typeName: p.typeName,
    userAlias: p.userAlias,
    version: cluster.mongoDBVersion,
  };
}
