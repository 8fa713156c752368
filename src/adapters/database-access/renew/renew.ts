import type { JobContext } from '../../../worker/job-context.js';
import type { AdapterDeps } from '../../adapter.js';
import { clusterLimit, type OneProjectScope } from '../../scope.js';
import { databaseOperation, type DatabaseJob } from '../database-operation.js';
import { findKeyedGrantHolder } from '../atlas-writes/grant-holder.js';
import { isProjectGone, writeScoped } from '../atlas-writes/gone-clusters.js';
import { projectNotFound } from '../scope/cluster-lookup.js';
import { withheldRoles } from '../atlas-writes/withheld-roles.js';
import { managedUser, planUserWrite, updateUser } from '../atlas-writes/user-store.js';
import { RenewPayload } from '../model/payloads.js';
import { grantExpiryMs } from '../../grant-expiry.js';
import type { CustomDbRole } from '../../../atlas/index.js';
import { isConnectorError } from '../../../errors/connector-error.js';
import { connectorRolePrefix } from '../discover/discover-records.js';
import {
  checkConnectorRoleDefinition,
  checkProjectPolicy,
  checkRolePolicy,
  invalidRequest,
  isBuiltInRole,
} from '../model/policy.js';
import {
  activeGrants,
  clustersNeeded,
  grantKey,
  integrationKey,
  roleKey,
  strategyOf,
  usernameForJob,
  type GrantedRole,
} from '../model/user-model.js';

type RenewJob = DatabaseJob<OneProjectScope, RenewPayload>;

export interface RenewResult {
  readonly username: string;
  readonly expiresAt: string;
  readonly deleteAfterDate: string;
}

/**
 * The user holding the grant, read along the strategy that made it (its own `jit-strategy`
 * label): after the integration's `userStrategy` changed, the grants made before still renew.
 */
async function activeGrantOf(job: RenewJob, deps: AdapterDeps, ctx: JobContext, username: string) {
  const { settings, payload, integrationId } = job;
  const { requester, grantId } = payload;
  const projectId = job.scope.projectId;
  const query = { projectId, requesterId: requester.id, grantId, username, integrationId };
  // A project deleted since the grant (404 GROUP_NOT_FOUND): an unknown project, as for a grant.
  const user = await findKeyedGrantHolder(deps, ctx, query).catch((error: unknown) => {
    throw isProjectGone(error) ? projectNotFound(projectId) : error;
  });
  const strategy = strategyOf(user?.labels) ?? settings.userStrategy;
  const managed = user && managedUser(user, { requesterId: requester.id, strategy });
  const active = managed ? activeGrants(managed.grants, deps.clock.now()) : [];
  const target = active.find((grant) => grant.key === grantKey(grantId));
  if (managed === undefined || target === undefined) {
    throw invalidRequest(
      'grantId',
      `grant ${grantId} is not active on user ${user?.username ?? username} in project ${projectId}`,
    );
  }
  return { managed, active, target, strategy };
}

/**
 * Moves an active grant's expiry (the policy maximum counts from now) and rolls the user's
 * `deleteAfterDate` forward with it: the only way a grant outlives Atlas's 7-day window
 * (invariant 1). The grant's roles are re-checked against the local policy, which may have
 * tightened since the grant. An unknown or expired grant is a non-retryable `invalid_request`.
 */
export async function runRenew(job: RenewJob, deps: AdapterDeps, ctx: JobContext): Promise<RenewResult> {
  const { settings, payload, integrationId } = job;
  const nowMs = deps.clock.now();
  const projectId = job.scope.projectId;
  checkProjectPolicy(deps.policy, projectId);
  const expiresAtMs = grantExpiryMs(payload, nowMs, deps.policy);
  const jobUsername = usernameForJob(settings.userStrategy, payload.requester, payload.grantId, job.scope);
  const { managed, active, target, strategy } = await activeGrantOf(job, deps, ctx, jobUsername);
  checkGrantClusters(payload.grantId, clustersNeeded([target]), clusterLimit(job.scope));
  await checkGrantRoles(deps, ctx, projectId, payload.grantId, target.roles);
  const others = active.filter((grant) => grant !== target);
  const plan = planUserWrite({
    identity: { integrationId, requesterId: payload.requester.id, strategy },
    // This integration checked and extends the grant: its sweep now rolls the user for it, and a
    // sweep claimed before now (its configuration maybe older) does not end it.
    grants: active.map((grant) =>
      grant === target
        ? { ...grant, expiresAtMs, integration: integrationKey(integrationId), writtenAtMs: nowMs }
        : grant,
    ),
    book: managed.book,
    nowMs,
    cleanupDays: settings.userCleanupDays,
    fallbackClusters: [],
    withheld: await withheldRoles(deps, ctx, projectId, managed.user, others),
  });
  const { username } = managed.user;
  await writeScoped(deps.atlas, ctx.signal, {
    projectId,
    clusters: plan.scopes.map((scope) => scope.name),
    send: (scopes) => updateUser(deps, ctx, projectId, username, { ...plan, scopes }),
    onGone: (gone) => refuseGoneGrant(payload.grantId, clustersNeeded([target]), projectId, gone),
  });
  ctx.log.info({ projectId, username, deleteAfterDate: plan.deleteAfterDate }, 'database access renewed');
  return { username, expiresAt: new Date(expiresAtMs).toISOString(), deleteAfterDate: plan.deleteAfterDate };
}

/**
 * A scope limited to one cluster renews grants on that cluster only, as it grants them: the
 * holder is found by its labels, so after an `atlas-project`'s `clusterName` changed (or a job
 * routed through another sub-integration) it may hold a grant on a cluster this integration no
 * longer gives access to.
 */
function checkGrantClusters(grantId: string, clusters: readonly string[], onlyCluster: string | undefined) {
  const other = clusters.find((name) => onlyCluster !== undefined && name !== onlyCluster);
  if (other === undefined) return;
  throw invalidRequest(
    'grantId',
    `grant ${grantId} names cluster ${other}, which is not this integration's; it grants access to cluster ${onlyCluster} only`,
  );
}

/** Other grants' deleted clusters are dropped from the scopes; a grant whose own are all gone has nothing to renew. */
function refuseGoneGrant(
  grantId: string,
  own: readonly string[],
  projectId: string,
  gone: readonly string[],
) {
  if (!own.every((name) => gone.includes(name))) return;
  throw invalidRequest(
    'grantId',
    `grant ${grantId}'s cluster ${own.join(', ')} no longer exists in project ${projectId}`,
  );
}

/**
 * The grant's roles, re-checked against the local policy (which may have tightened since the
 * grant): a connector role by its definition, as a grant's `actions`; any other by name, and a
 * project custom role must still be defined.
 */
async function checkGrantRoles(
  deps: AdapterDeps,
  ctx: JobContext,
  projectId: string,
  grantId: string,
  roles: readonly GrantedRole[],
) {
  for (const role of roles) {
    if (role.roleName.startsWith(connectorRolePrefix)) {
      const defined = await definedRole(deps, ctx, projectId, grantId, role);
      checkConnectorRoleDefinition(deps.policy, defined, 'grantId');
      continue;
    }
    checkRolePolicy(deps.policy, role.roleName, 'grantId', role.databaseName);
    if (!isBuiltInRole(role.roleName)) await definedRole(deps, ctx, projectId, grantId, role);
  }
}

/**
 * The project's definition of a custom role the grant records (the connector's `jit-r-` or the
 * project's own). One deleted outside the connector (Atlas refuses to delete a role a user holds,
 * so it was taken off the user first) cannot be given back: a write naming it is refused (400
 * `ATLAS_INVALID_ROLE`), and neither its privileges (the connector's role is named by a hash of
 * them) nor the project's own role are the connector's to recreate. The renew is refused, naming
 * the role, so the requester asks for the access again.
 */
async function definedRole(
  deps: AdapterDeps,
  ctx: JobContext,
  projectId: string,
  grantId: string,
  role: GrantedRole,
): Promise<CustomDbRole> {
  try {
    return await deps.atlas.customDbRoles.get(projectId, role.roleName, { signal: ctx.signal });
  } catch (error) {
    if (!isConnectorError(error) || error.code !== 'not_found') throw error;
    throw invalidRequest(
      'grantId',
      `grant ${grantId}'s custom role ${roleKey(role)} is no longer defined in project ${projectId} (deleted outside the connector); a renew cannot give it back: request the access again`,
    );
  }
}

export const renewOperation = databaseOperation(RenewPayload, runRenew);
