import type { Cluster } from '../../../atlas/index.js';
import type { DatabaseAccessConfig } from './settings.js';
import { invalidRequest } from './policy.js';

export type ConnectionSettings = Pick<DatabaseAccessConfig, 'connectionType' | 'privateEndpointId'>;

/**
 * The connection string a grant returns for the integration's connection type: standard SRV,
 * private (network peering) SRV, or the private endpoint whose id the integration names. Computed
 * before any write, so a cluster that cannot serve the type fails the grant cleanly.
 */
export function connectionStringFor(
  cluster: Pick<Cluster, 'name' | 'connectionStrings'>,
  settings: ConnectionSettings,
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
  const endpointId = settings.privateEndpointId ?? '';
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
