import type { Cluster, FlexCluster } from '../../atlas/index.js';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import type { AdapterDeps } from '../adapter.js';
import type { OrgClusterScope } from '../scope.js';
import { checkProjectPolicy, invalidRequest } from '../database-access/model/policy.js';
import type { DeepDiscoveryConfig } from './atlas-org-deep-discovery-config.js';
import { fromDedicated, fromFlex, isCustomerCluster, type OrgCluster } from './org-cluster.js';
import { choiceOf, routeCluster } from './routing.js';
import { parseSubIntegrationId } from './sub-integration.js';

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

/**
 * What a job does on the sub-integration: `access` (grant, renew, rotate) hands out a connection;
 * `revoke` and `sweep` only take access away through the Admin API.
 */
export type SubIntegrationPurpose = 'access' | 'revoke' | 'sweep';

/**
 * The explicit scope of a job on a sub-integration (`org-cluster`): one cluster of one project
 * of the organization, with the connection its tags choose. Checked in order: the id's shape (by
 * the payload schema), the allow-lists, the local policy, that it is a customer cluster, that
 * THIS connector serves it (another connector's → `wrong_connector`, non-retryable, naming it)
 * and that its tags name a usable connection.
 *
 * Taking access away is not blocked by what only matters for handing it out: a revoke or sweep
 * passes the integration's allow-lists and the local policy (docs/database-access.md: revoke is
 * never blocked by them, even after they were tightened; where they no longer allow the project,
 * the sweep reconciles only this integration's own users), and a revoke or sweep still runs on a
 * deleted cluster, one whose tags no longer name a usable connection, or one re-tagged to another
 * connector (standard; nothing is returned to connect with, and only the Admin API is used).
 * Refusing the last would fail, for good, a revoke the control plane routed here on a snapshot
 * taken before the re-tag.
 */
export async function resolveSubIntegration(
  id: string,
  config: DeepDiscoveryConfig,
  deps: Pick<AdapterDeps, 'atlas' | 'policy'> & { readonly connectorId: string },
  ctx: Pick<JobContext, 'signal' | 'describe'>,
  purpose: SubIntegrationPurpose,
): Promise<OrgClusterScope> {
  const removing = purpose !== 'access';
  const { projectId, clusterName } = parseSubIntegrationId(id);
  if (!removing && config.projectIds !== undefined && !config.projectIds.includes(projectId)) {
    throw invalidRequest(field, `project ${projectId} is not in this integration's projectIds allow-list`);
  }
  if (!removing && config.clusterNames !== undefined && !config.clusterNames.includes(clusterName)) {
    throw invalidRequest(
      field,
      `cluster ${clusterName} is not in this integration's clusterNames allow-list`,
    );
  }
  if (!removing) checkProjectPolicy(deps.policy, projectId);
  const base = { kind: 'org-cluster', orgId: config.orgId, projectId, clusterName } as const;
  const cluster = await readCluster(deps, ctx, projectId, clusterName);
  if (!cluster) {
    if (removing) return { ...base, connectionType: 'standard' };
    throw invalidRequest(field, `cluster ${clusterName} not found in project ${projectId}`);
  }
  const routing = { self: deps.connectorId, integrationConnectorId: config.connectorId ?? deps.connectorId };
  const route = routeCluster(cluster, config.tagKeys, routing, ctx);
  // Taking access away is Admin API work any connector of the organization's key can do: a
  // revoke or sweep routed here on a snapshot older than the cluster's re-tag runs here.
  if (route.kind !== 'served' && removing) return { ...base, connectionType: 'standard' };
  if (route.kind === 'elsewhere') throw wrongConnector(id, route.connectorId, deps.connectorId);
  if (route.kind === 'unroutable') {
    throw invalidRequest(field, `${id}: ${route.reason}`);
  }
  return { ...base, ...choiceOf(route) };
}
