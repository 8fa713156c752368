import type { SimContext } from './context.js';
import type { ClusterRec } from './model.js';

type ConnectionStrings = ClusterRec['connectionStrings'];

/** The replica-set name a cluster's processes report, or one in Atlas's pattern; none when sharded. */
export function replicaSetNameOf(cluster: ClusterRec): string | undefined {
  if (cluster.clusterType !== 'REPLICASET') return undefined;
  const named = cluster.processes.find((p) => p.replicaSetName !== undefined)?.replicaSetName;
  return named ?? `atlas-${cluster.name.toLowerCase()}-shard-0`;
}

/** A `mongodb://` string for the cluster's wire endpoint, usable by a driver or mongosh as is. */
export function loopbackConnectionString(cluster: ClusterRec, address: string): string {
  const setName = replicaSetNameOf(cluster);
  return `mongodb://${address}/?authSource=admin${setName !== undefined ? `&replicaSet=${setName}` : ''}`;
}

/**
 * The connection strings a cluster publishes. A cluster served by a wire endpoint publishes a
 * loopback `standard` string, and no `standardSrv`: SRV needs DNS records the sandbox cannot serve,
 * and a client given both prefers SRV. Private, private-SRV and private-endpoint strings keep their
 * Atlas shape, so the connector's connection-type routing is still exercised.
 */
export function publishedConnectionStrings(sim: SimContext, cluster: ClusterRec): ConnectionStrings {
  const address = sim.wireAddresses.get(cluster.id);
  if (address === undefined) return cluster.connectionStrings;
  const { standardSrv: _srv, ...others } = cluster.connectionStrings;
  return { ...others, standard: loopbackConnectionString(cluster, address) };
}
