import type { JobContext } from '../../worker/job-context.js';
import { operation, type AdapterDeps } from '../adapter.js';
import type { DatabaseAccessConfig } from './config.js';
import { managedUser, planUserWrite, readUser, updateUser } from './grant-user.js';
import { RenewPayload } from './payloads.js';
import { checkRolePolicy, grantExpiryMs, invalidRequest } from './policy.js';
import { projectForAccess, usernameForJob } from './project-scope.js';
import { activeGrants, grantKey } from './user-model.js';

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
  config: DatabaseAccessConfig,
  payload: RenewPayload,
  integrationId: string,
  deps: AdapterDeps,
  ctx: JobContext,
): Promise<RenewResult> {
  const nowMs = deps.clock.now();
  const projectId = projectForAccess(config, deps.policy, payload.projectId);
  const expiresAtMs = grantExpiryMs(payload, nowMs, deps.policy);
  const username = usernameForJob(config, payload.requester, payload.grantId);
  const user = await readUser(deps, ctx, projectId, username);
  const managed =
    user && managedUser(user, { requesterId: payload.requester.id, strategy: config.userStrategy });
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
    identity: { integrationId, requesterId: payload.requester.id, strategy: config.userStrategy },
    grants: active.map((grant) => (grant === target ? { ...grant, expiresAtMs } : grant)),
    book: managed.book,
    nowMs,
    cleanupDays: config.userCleanupDays,
    fallbackClusters: [],
  });
  await updateUser(deps, ctx, projectId, username, plan);
  ctx.log.info({ projectId, username, deleteAfterDate: plan.deleteAfterDate }, 'database access renewed');
  return { username, expiresAt: new Date(expiresAtMs).toISOString(), deleteAfterDate: plan.deleteAfterDate };
}

export const renewOperation = operation<DatabaseAccessConfig, typeof RenewPayload>(
  RenewPayload,
  ({ config, payload, integration }, deps, ctx) => runRenew(config, payload, integration.id, deps, ctx),
);
