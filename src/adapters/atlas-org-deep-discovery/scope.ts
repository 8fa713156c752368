import type { Cluster, FlexCluster } from '../../atlas/index.js';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import type { AdapterDeps } from '../adapter.js';
import type { DatabaseAccessConfig } from '../database-access/config.js';
import { checkProjectPolicy, invalidRequest } from '../database-access/policy.js';
import type { DeepDiscoveryConfig } from './config.js';
import { fromDedicated, fromFlex, isCustomerCluster, type OrgCluster } from './org-cluster.js';
import { routeCluster } from './routing.js';
import { parseSubIntegrationId } from './sub-integration.js';

/**
 * The explicit scope of a job on a sub-integration: one cluster of one project, with the
 * connection type its tags choose. The database-access operations then run unchanged on it, as
 * they do for an `atlas-project` integration naming that cluster.
 */
export interface SubIntegrationScope {
  readonly projectId: string;
  readonly clusterName: string;
  readonly access: DatabaseAccessConfig;
}

const field = 'subIntegrationId';

function isNotFound(error: unknown): boolean {
  return isConnectorError(error) && error.code === 'not_found';
}

/** Dedicated first; a 404 may be a flex cluster; both 404 → undefined (the cluster is gone). */
async function readCluster(
  deps: Pick<AdapterDeps, 'atlas'>,
  ctx: Pick<JobContext, 'signal'>,
  projectId: string,
  clusterName: string,
): Promise<OrgCluster | undefined> {
  const signal = ctx.signal;
  let dedicated: Cluster;
  try {
    dedicated = await deps.atlas.clusters.get(projectId, clusterName, { signal });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    let flex: FlexCluster;
    try {
      flex = await deps.atlas.flexClusters.get(projectId, clusterName, { signal });
    } catch (flexError) {
      if (isNotFound(flexError)) return undefined;
      throw flexError;
    }
    return fromFlex(flex);
  }
  if (!isCustomerCluster(dedicated)) {
    throw invalidRequest(field, `cluster ${clusterName} is an Atlas internal cluster, not a sub-integration`);
  }
  return fromDedicated(dedicated);
}

export function wrongConnector(id: string, servedBy: string, own: string): ConnectorError {
  return new ConnectorError({
    code: 'wrong_connector',
    message: `sub-integration ${id} is served by connector ${servedBy}, not by this connector (${own}); the control plane must send its jobs to ${servedBy}`,
    details: { servedBy },
  });
}

function accessConfig(config: DeepDiscoveryConfig): Omit<DatabaseAccessConfig, 'connectionType'> {
  return {
    userStrategy: config.userStrategy,
    userCleanupDays: config.userCleanupDays,
    ownerTagKey: config.tagKeys.owner,
    ...(config.credentialRotationDays === undefined
      ? {}
      : { credentialRotationDays: config.credentialRotationDays }),
    ...(config.customAccessDetails === undefined ? {} : { customAccessDetails: config.customAccessDetails }),
  };
}

/**
 * Resolves a sub-integration id: inside the allow-lists and the local policy, a customer cluster
 * that this connector serves (another connector's → `wrong_connector`, non-retryable), with a
 * usable connection. `allowGone`: revoke and sweep still clean up after a deleted cluster.
 */
export async function resolveSubIntegration(
  id: string,
  config: DeepDiscoveryConfig,
  deps: Pick<AdapterDeps, 'atlas' | 'policy'> & { readonly connectorId: string },
  ctx: Pick<JobContext, 'signal'>,
  options: { readonly allowGone: boolean },
): Promise<SubIntegrationScope> {
  const { projectId, clusterName } = parseSubIntegrationId(id);
  if (config.projectIds !== undefined && !config.projectIds.includes(projectId)) {
    throw invalidRequest(field, `project ${projectId} is not in this integration's projectIds allow-list`);
  }
  if (config.clusterNames !== undefined && !config.clusterNames.includes(clusterName)) {
    throw invalidRequest(
      field,
      `cluster ${clusterName} is not in this integration's clusterNames allow-list`,
    );
  }
  checkProjectPolicy(deps.policy, projectId);
  const routing = { self: deps.connectorId, integrationConnectorId: config.connectorId ?? deps.connectorId };
  const base = { ...accessConfig(config), projectIds: [projectId], clusterName };
  const cluster = await readCluster(deps, ctx, projectId, clusterName);
  if (!cluster) {
    if (options.allowGone) return { projectId, clusterName, access: { ...base, connectionType: 'standard' } };
    throw invalidRequest(field, `cluster ${clusterName} not found in project ${projectId}`);
  }
  const route = routeCluster(cluster, config.tagKeys, routing);
  if (route.kind === 'elsewhere') throw wrongConnector(id, route.connectorId, deps.connectorId);
  if (route.kind === 'unroutable') throw invalidRequest(field, `${id}: ${route.reason}`);
  const endpoint =
    route.privateEndpointId === undefined ? {} : { privateEndpointId: route.privateEndpointId };
  return { projectId, clusterName, access: { ...base, connectionType: route.connectionType, ...endpoint } };
}
