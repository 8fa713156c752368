import type { JobContext } from '../../../worker/job-context.js';
import type { AdapterDeps } from '../../adapter.js';
import type { OneProjectScope } from '../../scope.js';
import { databaseOperation, type DatabaseJob } from '../database-operation.js';
import { managedUser, planUserWrite, readUser, updateUser } from '../atlas-writes/user-store.js';
import { RenewPayload } from '../model/payloads.js';
import { checkProjectPolicy, checkRolePolicy, grantExpiryMs, invalidRequest } from '../model/policy.js';
import { activeGrants, checkResourceKey, grantKey, usernameForJob } from '../model/user-model.js';

export interface RenewResult {
  readonly username: string;
  readonly expiresAt: string;
  readonly deleteAfterDate: string;
}

/**
 * Moves an active grant's expiry (the policy maximum counts from now) and rolls the user's
 * `deleteAfterDate` forward with it: the only way a grant outlives Atlas's 7-day window
 * (invariant 1). The grant's roles are re-checked against the local policy, which may have
 * tightened since the grant. An unknown or expired grant is a non-retryable `invalid_request`.
 */
export async function runRenew(
  job: DatabaseJob<OneProjectScope, RenewPayload>,
  deps: AdapterDeps,
  ctx: JobContext,
): Promise<RenewResult> {
  const { settings, payload, integrationId } = job;
  const nowMs = deps.clock.now();
  const projectId = job.scope.projectId;
  checkProjectPolicy(deps.policy, projectId);
  const expiresAtMs = grantExpiryMs(payload, nowMs, deps.policy);
  const username = usernameForJob(settings.userStrategy, payload.requester, payload.grantId);
  checkResourceKey(ctx, projectId, username);
  const user = await readUser(deps, ctx, projectId, username);
  const managed =
    user && managedUser(user, { requesterId: payload.requester.id, strategy: settings.userStrategy });
  const active = managed ? activeGrants(managed.grants, nowMs) : [];
  const key = grantKey(payload.grantId);
  const target = active.find((grant) => grant.key === key);
  if (managed === undefined || target === undefined) {
    throw invalidRequest(
      'grantId',
      `grant ${payload.grantId} is not active on user ${username} in project ${projectId}`,
    );
  }
  target.roles.forEach((role) => checkRolePolicy(deps.policy, role.roleName, 'grantId', role.databaseName));
  const plan = planUserWrite({
    identity: { integrationId, requesterId: payload.requester.id, strategy: settings.userStrategy },
    grants: active.map((grant) => (grant === target ? { ...grant, expiresAtMs } : grant)),
    book: managed.book,
    nowMs,
    cleanupDays: settings.userCleanupDays,
    fallbackClusters: [],
  });
  await updateUser(deps, ctx, projectId, username, plan);
  ctx.log.info({ projectId, username, deleteAfterDate: plan.deleteAfterDate }, 'database access renewed');
  return { username, expiresAt: new Date(expiresAtMs).toISOString(), deleteAfterDate: plan.deleteAfterDate };
}

export const renewOperation = databaseOperation(RenewPayload, runRenew);
