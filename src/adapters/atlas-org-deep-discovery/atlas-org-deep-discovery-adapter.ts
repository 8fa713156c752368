import { paginate } from '../../atlas/index.js';
import { isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import {
  operation,
  type AdapterDeps,
  type AdapterOperation,
  type ConnectionCheck,
  type IntegrationAdapter,
} from '../adapter.js';
import type { DatabaseAccessConfig } from '../database-access/config.js';
import { allowedByPolicy } from '../database-access/discover-scope.js';
import { grantOperation } from '../database-access/grant.js';
import { DiscoverPayload } from '../database-access/payloads.js';
import { renewOperation } from '../database-access/renew.js';
import { revokeOperation } from '../database-access/revoke.js';
import { rotateOperation } from '../database-access/rotate.js';
import { sweepOperation } from '../database-access/sweep.js';
import { DeepDiscoveryConfig } from './config.js';
import { deepDiscover } from './discover.js';
import type { NamespaceReader } from './namespace-reader.js';
import { DeepSweepPayload, innerPayload, subIntegrationPayload } from './payloads.js';
import { resolveSubIntegration } from './scope.js';

/** What the kind needs beyond the shared adapter deps; built in the composition root. */
export interface DeepDiscoveryRuntime {
  /** CONNECTOR_ID: serves untagged clusters unless an integration's config names another id. */
  readonly connectorId: string;
  /** The driver port for `collectionDiscovery: driver`; absent → that mode reports a reason. */
  readonly reader?: NamespaceReader;
}

/**
 * grant / revoke / renew / rotate on one sub-integration: resolve the explicit scope (one cluster
 * of one project, its connection type from its tags), then run the database-access operation
 * unchanged on it. `allowGone`: a revoke must still clean up after a deleted cluster.
 */
function onSubIntegration(
  runtime: DeepDiscoveryRuntime,
  inner: AdapterOperation<DatabaseAccessConfig>,
  allowGone: boolean,
): AdapterOperation<DeepDiscoveryConfig> {
  return operation(subIntegrationPayload(inner.payloadSchema), async (input, deps, ctx) => {
    const { subIntegrationId } = input.payload;
    const payload = innerPayload(input.payload);
    const scope = await resolveSubIntegration(
      subIntegrationId,
      input.config,
      { ...deps, connectorId: runtime.connectorId },
      ctx,
      { allowGone },
    );
    const result = await inner.run({ ...input, config: scope.access, payload }, deps, ctx);
    return typeof result === 'object' && result !== null ? { subIntegrationId, ...result } : result;
  });
}

async function orgProjectIds(
  config: DeepDiscoveryConfig,
  deps: AdapterDeps,
  ctx: JobContext,
): Promise<string[]> {
  const ids: string[] = [];
  const list = (page: { pageNum?: number; itemsPerPage?: number }) =>
    deps.atlas.projects.listForOrg(config.orgId, { ...page, signal: ctx.signal });
  for await (const project of paginate(list, { itemsPerPage: 500, signal: ctx.signal })) {
    const listed = config.projectIds === undefined || config.projectIds.includes(project.id);
    if (listed && allowedByPolicy(project.id, deps.policy)) ids.push(project.id);
  }
  return ids;
}

/** Sweep one sub-integration's project, or every project of the organization in scope. */
function sweepOn(runtime: DeepDiscoveryRuntime): AdapterOperation<DeepDiscoveryConfig> {
  return operation(DeepSweepPayload, async (input, deps, ctx) => {
    const id = input.payload.subIntegrationId;
    if (id !== undefined) {
      const scoped = { ...deps, connectorId: runtime.connectorId };
      const scope = await resolveSubIntegration(id, input.config, scoped, ctx, { allowGone: true });
      const payload = { projectId: scope.projectId };
      return sweepOperation.run({ ...input, config: scope.access, payload }, deps, ctx);
    }
    const projectIds = await orgProjectIds(input.config, deps, ctx);
    const { userStrategy, userCleanupDays, tagKeys } = input.config;
    const config: DatabaseAccessConfig = {
      userStrategy,
      userCleanupDays,
      ownerTagKey: tagKeys.owner,
      connectionType: 'standard',
      projectIds,
    };
    return sweepOperation.run({ ...input, config, payload: {} }, deps, ctx);
  });
}

/** Reads the organization and counts its projects: proves the key is an organization key. */
async function checkConnection(
  config: DeepDiscoveryConfig,
  deps: AdapterDeps,
  ctx: JobContext,
): Promise<ConnectionCheck> {
  try {
    const org = await deps.atlas.organizations.get(config.orgId, { signal: ctx.signal });
    const page = await deps.atlas.projects.listForOrg(config.orgId, { itemsPerPage: 1, signal: ctx.signal });
    return { ok: true, detail: `organization ${org.name} (${org.id}), ${page.totalCount ?? '?'} project(s)` };
  } catch (error) {
    if (!isConnectorError(error) || error.code === 'cancelled') throw error;
    return { ok: false, detail: error.message };
  }
}

/**
 * `atlas-org-deep-discovery`: with one organization key, every cluster of every project is a
 * sub-integration; cluster tags say which connector serves it and how it is reached.
 */
export function createDeepDiscoveryAdapter(
  runtime: DeepDiscoveryRuntime,
): IntegrationAdapter<DeepDiscoveryConfig> {
  return {
    kind: 'atlas-org-deep-discovery',
    configSchema: DeepDiscoveryConfig,
    secretFields: [],
    checkConnection,
    handlers: {
      discover: operation(DiscoverPayload, (input, deps, ctx) =>
        deepDiscover(input, { ...deps, connectorId: runtime.connectorId, reader: runtime.reader }, ctx),
      ),
      grant: onSubIntegration(runtime, grantOperation, false),
      revoke: onSubIntegration(runtime, revokeOperation, true),
      renew: onSubIntegration(runtime, renewOperation, false),
      rotate: onSubIntegration(runtime, rotateOperation, false),
      sweep: sweepOn(runtime),
    },
  };
}
