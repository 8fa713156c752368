import { wireKey, type WireTarget, type WireVia } from '../wire/cluster-endpoints.js';
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
 * The wire listeners a cluster gets: `standard` always, `private` when it publishes a peering
 * string, and one per `privateEndpoint[]` element.
 */
export function wireTargetsOf(cluster: ClusterRec): WireTarget[] {
  const strings = cluster.connectionStrings;
  const targets: WireTarget[] = [{ clusterId: cluster.id, via: 'standard' }];
  if (strings.private !== undefined || strings.privateSrv !== undefined) {
    targets.push({ clusterId: cluster.id, via: 'private' });
  }
  for (const index of (strings.privateEndpoint ?? []).keys()) {
    targets.push({ clusterId: cluster.id, via: `privateEndpoint:${index}` });
  }
  return targets;
}

/**
 * The connection strings a cluster publishes. A cluster served by wire endpoints publishes a
 * loopback `mongodb://` string per connection type, each naming its own listener: `standard`,
 * `private` (VPC peering) and each `privateEndpoint[].connectionString`, and no SRV form
 * (`standardSrv`, `privateSrv`, `srvConnectionString`): SRV needs DNS records the sandbox cannot
 * serve, and a client given both prefers SRV. The fields' structure (`privateEndpoint[]` with
 * `type` and `endpoints[]`) is Atlas's; only the strings are loopback.
 */
export function publishedConnectionStrings(sim: SimContext, cluster: ClusterRec): ConnectionStrings {
  const address = (via: WireVia): string | undefined => sim.wireByVia.get(wireKey(cluster.id, via));
  const standard = address('standard');
  if (standard === undefined) return cluster.connectionStrings;
  const { standardSrv: _srv, privateSrv: _privateSrv, ...others } = cluster.connectionStrings;
  const peered = address('private');
  const published: ConnectionStrings = {
    ...others,
    standard: loopbackConnectionString(cluster, standard),
    ...(peered !== undefined ? { private: loopbackConnectionString(cluster, peered) } : {}),
  };
  if (others.privateEndpoint === undefined) return published;
  return {
    ...published,
    privateEndpoint: others.privateEndpoint.map((entry, index) => {
      const listener = address(`privateEndpoint:${index}`);
      if (listener === undefined) return entry;
      const { srvConnectionString: _srvEntry, ...rest } = entry;
      return { ...rest, connectionString: loopbackConnectionString(cluster, listener) };
    }),
  };
}
