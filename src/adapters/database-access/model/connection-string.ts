import type { Cluster } from '../../../atlas/index.js';
import type { ConnectionChoice } from '../../scope.js';
import { invalidRequest } from './policy.js';

/**
 * The connection string a grant returns, from the resolved scope's connection choice (every
 * one-project scope carries one: from the config, or from a discovered cluster's tags) and the
 * cluster: standard SRV, private (network peering) SRV, or the private endpoint with that id.
 * Computed before any write, so a cluster that cannot serve the choice fails the grant cleanly.
 */
export function connectionStringFor(
  cluster: Pick<Cluster, 'name' | 'connectionStrings'>,
  settings: ConnectionChoice,
  field: string,
): string {
  const strings = cluster.connectionStrings ?? {};
  if (settings.connectionType === 'standard') {
    const standard = strings.standardSrv ?? strings.standard;
    if (standard === undefined)
      throw invalidRequest(field, `cluster ${cluster.name} has no connection string yet`);
    return standard;
  }
  if (settings.connectionType === 'private') {
    const peered = strings.privateSrv ?? strings.private;
    if (peered === undefined) {
      throw invalidRequest(
        field,
        `cluster ${cluster.name} has no private connection string (is network peering set up?)`,
      );
    }
    return peered;
  }
  const endpointId = settings.privateEndpointId;
  const entry = strings.privateEndpoint?.find((candidate) =>
    candidate.endpoints?.some((endpoint) => endpoint.endpointId === endpointId),
  );
  const viaEndpoint = entry?.srvConnectionString ?? entry?.connectionString;
  if (viaEndpoint === undefined) {
    throw invalidRequest(
      field,
      `cluster ${cluster.name} has no connection string for private endpoint ${endpointId || '(none configured)'}`,
    );
  }
  return viaEndpoint;
}
