import { paginateComplete } from '../../atlas/index.js';
import { isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import {
  defineOperation,
  type AdapterDeps,
  type AdapterOperation,
  type AtlasCredential,
  type CommonDeps,
  type ConnectionCheck,
  type ScopeRequest,
} from '../adapter.js';
import {
  bindDatabaseOperation,
  type DatabaseOperation,
  type NamesProject,
} from '../database-access/database-operation.js';
import { grantOperation } from '../database-access/grant/grant.js';
import { DiscoverPayload } from '../database-access/model/payloads.js';
import { invalidRequest } from '../database-access/model/policy.js';
import type { DatabaseAccessSettings } from '../database-access/model/settings.js';
import { renewOperation } from '../database-access/renew/renew.js';
import { revokeOperation } from '../database-access/revoke/revoke.js';
import { rotateOperation } from '../database-access/rotate/rotate.js';
import { sweepOperation } from '../database-access/sweep/sweep.js';
import type { OneProjectScope, OrgClusterScope, ProjectsScope } from '../scope.js';
import type { DeepDiscoveryConfig } from './atlas-org-deep-discovery-config.js';
import type { DeepDiscoveryExtras } from './atlas-org-deep-discovery-kind.js';
import { resolveSubIntegration, type SubIntegrationPurpose } from './atlas-org-deep-discovery-scope.js';
import { deepDiscover } from './discover.js';
import { DeepSweepPayload, subIntegrationPayload } from './payloads.js';
import { parseSubIntegrationId } from './sub-integration.js';

export function deepDiscoverySettings(config: DeepDiscoveryConfig): DatabaseAccessSettings {
  const { userStrategy, userCleanupDays, credentialRotationDays, customAccessDetails, tagKeys } = config;
  const { clusterNames } = config;
  return {
    userStrategy,
    userCleanupDays,
    ownerTagKey: tagKeys.owner,
    ...(clusterNames === undefined ? {} : { clusterNames }),
    ...(credentialRotationDays === undefined ? {} : { credentialRotationDays }),
    ...(customAccessDetails === undefined ? {} : { customAccessDetails }),
  };
}

type SubIntegrationJob = NamesProject & { readonly subIntegrationId: string };

/**
 * grant / revoke / renew / rotate on one sub-integration: the payload names it; the resolver
 * makes it an `org-cluster` scope; the database-access operation runs unchanged on that scope.
 * `purpose`: a revoke is not blocked by what only matters for handing access out (`resolveSubIntegration`).
 */
function onSubIntegration<P extends NamesProject>(
  deps: CommonDeps & DeepDiscoveryExtras,
  operation: DatabaseOperation<OneProjectScope, P>,
  purpose: SubIntegrationPurpose,
) {
  const resolveScope = async (
    request: ScopeRequest<DeepDiscoveryConfig, P & SubIntegrationJob>,
    credential: AdapterDeps,
    ctx: JobContext,
  ): Promise<OrgClusterScope> => {
    const { subIntegrationId, projectId } = request.payload;
    const scope = await resolveSubIntegration(
      subIntegrationId,
      request.config,
      { ...credential, connectorId: deps.connectorId },
      ctx,
      purpose,
    );
    if (projectId !== undefined && projectId !== scope.projectId) {
      throw invalidRequest(
        'projectId',
        `${projectId} is not the project of sub-integration ${subIntegrationId}`,
      );
    }
    return scope;
  };
  const bound = bindDatabaseOperation(deps, operation, {
    payloadSchema: subIntegrationPayload(operation.payloadSchema),
    resolveScope,
    settings: deepDiscoverySettings,
  });
  return { payloadSchema: bound.payloadSchema, run: withSubIntegrationId(bound.run) };
}

/** The result names the sub-integration it acted on (the payload was valid, or `run` threw). */
function withSubIntegrationId(
  run: AdapterOperation<DeepDiscoveryConfig>['run'],
): AdapterOperation<DeepDiscoveryConfig>['run'] {
  return async (job, credential, ctx) => {
    const result = await run(job, credential, ctx);
    const payload: unknown = job.payload;
    const id =
      typeof payload === 'object' && payload !== null
        ? (payload as Record<string, unknown>).subIntegrationId
        : undefined;
    return typeof result === 'object' && result !== null && typeof id === 'string'
      ? { subIntegrationId: id, ...result }
      : result;
  };
}

/**
 * The organization's projects split by the integration's `projectIds`: those in it are swept in
 * full (the sweep applies the local policy), the others are reached for this integration's own
 * users only, so a grant made before a project left the list still loses its roles. Atlas pages
 * by offset, so a project deleted behind the cursor would leave the one after it unswept, its
 * ended grants' access kept: a listing of more than one page is read again (`paginateComplete`).
 */
async function orgSweepScope(
  config: DeepDiscoveryConfig,
  deps: AdapterDeps,
  ctx: JobContext,
): Promise<ProjectsScope> {
  const allowList: string[] = [];
  const outside: string[] = [];
  const list = (page: { pageNum?: number; itemsPerPage?: number }) =>
    deps.atlas.projects.listForOrg(config.orgId, { ...page, signal: ctx.signal });
  for await (const project of paginateComplete(list, { itemsPerPage: 500, signal: ctx.signal })) {
    const listed = config.projectIds === undefined || config.projectIds.includes(project.id);
    (listed ? allowList : outside).push(project.id);
  }
  return { kind: 'projects', projects: { allowList }, removalReach: { projectIds: outside } };
}

/**
 * Sweep one sub-integration's project, or every project of the organization in scope. A project
 * the integration's `projectIds` (or the local policy) no longer names is still reached for this
 * integration's own users: its active grants there are ended, ended grants lose their roles.
 */
function sweepOn(deps: CommonDeps & DeepDiscoveryExtras) {
  const resolveScope = async (
    request: ScopeRequest<DeepDiscoveryConfig, DeepSweepPayload>,
    credential: AdapterDeps,
    ctx: JobContext,
  ): Promise<OrgClusterScope | ProjectsScope> => {
    const id = request.payload.subIntegrationId;
    if (id === undefined) return orgSweepScope(request.config, credential, ctx);
    const { projectIds } = request.config;
    const { projectId } = parseSubIntegrationId(id);
    if (projectIds !== undefined && !projectIds.includes(projectId)) {
      return { kind: 'projects', projects: { allowList: [] }, removalReach: { projectIds: [projectId] } };
    }
    const scoped = { ...credential, connectorId: deps.connectorId };
    return resolveSubIntegration(id, request.config, scoped, ctx, 'sweep');
  };
  return bindDatabaseOperation(deps, sweepOperation, {
    payloadSchema: DeepSweepPayload,
    resolveScope,
    settings: deepDiscoverySettings,
  });
}

/** Reads the organization and counts its projects: proves the key reaches the organization. */
async function checkConnection(
  config: DeepDiscoveryConfig,
  credential: AtlasCredential,
  ctx: JobContext,
): Promise<ConnectionCheck> {
  try {
    const { atlas } = credential;
    const org = await atlas.organizations.get(config.orgId, { signal: ctx.signal });
    const page = await atlas.projects.listForOrg(config.orgId, { itemsPerPage: 1, signal: ctx.signal });
    return { ok: true, detail: `organization ${org.name} (${org.id}), ${page.totalCount ?? '?'} project(s)` };
  } catch (error) {
    if (!isConnectorError(error) || error.code === 'cancelled') throw error;
    return { ok: false, detail: ctx.describe(error), code: error.code };
  }
}

/** The `atlas-org-deep-discovery` adapter, imported by the kind's first job (`atlas-org-deep-discovery-kind.ts`). */
export function createDeepDiscoveryAdapter(deps: CommonDeps & DeepDiscoveryExtras) {
  return {
    operations: {
      discover: defineOperation<DeepDiscoveryConfig, DiscoverPayload>(
        DiscoverPayload,
        (job, credential, ctx) =>
          deepDiscover(
            job,
            { ...deps, ...credential, connectorId: deps.connectorId, reader: deps.reader },
            ctx,
          ),
      ),
      grant: onSubIntegration(deps, grantOperation, 'access'),
      revoke: onSubIntegration(deps, revokeOperation, 'revoke'),
      renew: onSubIntegration(deps, renewOperation, 'access'),
      rotate: onSubIntegration(deps, rotateOperation, 'access'),
      sweep: sweepOn(deps),
    },
    checkConnection,
  };
}
