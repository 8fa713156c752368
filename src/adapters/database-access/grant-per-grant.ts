import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import { issuePassword } from './credential.js';
import { prepareCustomRoles } from './custom-roles.js';
import type { GrantDeps, GrantInput, GrantWrite } from './grant-per-requester.js';
import {
  checkUsersQuota,
  createUser,
  firstGrantPlan,
  managedUser,
  newUserInput,
  readUser,
  unreadableUserError,
  updateUser,
  type AtlasCtx,
  type UserIdentity,
} from './grant-user.js';
import { usernameFor } from './user-model.js';

/** The user a redelivered per-grant job finds must be this grant's; anything else is not ours. */
async function adoptExisting(deps: GrantDeps, ctx: AtlasCtx, input: GrantInput, username: string) {
  const existing = await readUser(deps, ctx, input.grant.projectId, username);
  if (existing === undefined) return false;
  const managed = managedUser(existing, { requesterId: input.payload.requester.id, strategy: 'per-grant' });
  if (!managed.grants.some((grant) => grant.key === input.grant.record.key)) {
    throw new ConnectorError({
      code: 'conflict',
      message: `database user ${username} already exists for a different grant; it is left untouched`,
      details: { username },
    });
  }
  return true;
}

/** The quota check, except that a redelivery at a full quota finds its own user and goes on. */
async function ensureRoom(
  deps: GrantDeps,
  ctx: AtlasCtx,
  input: GrantInput,
  username: string,
): Promise<void> {
  try {
    await checkUsersQuota(deps, ctx, input.grant.projectId);
  } catch (error) {
    const quotaFull = isConnectorError(error) && error.code === 'quota_exceeded';
    if (!quotaFull || !(await adoptExisting(deps, ctx, input, username))) throw error;
  }
}

/**
 * per-grant (the Vault/Infisical semantics): a fresh user per grant, created with its whole spec.
 * A 409 means an earlier attempt of this grant created it, and that attempt's password may never
 * have been delivered: the user is PATCHed with a NEW password and the full spec again.
 */
export async function grantPerGrant(input: GrantInput, deps: GrantDeps, ctx: AtlasCtx): Promise<GrantWrite> {
  const { projectId, record, nowMs } = input.grant;
  const { requester, grantId } = input.payload;
  const username = usernameFor('per-grant', requester, grantId);
  await ensureRoom(deps, ctx, input, username);
  const specs = input.grant.customRoles;
  await prepareCustomRoles(deps, ctx, { projectId, username, specs, grants: [record] });
  const password = issuePassword(deps);
  const identity: UserIdentity = {
    integrationId: input.integrationId,
    requesterId: requester.id,
    strategy: 'per-grant',
  };
  const plan = firstGrantPlan(identity, record, nowMs, input.config.userCleanupDays);
  const user = newUserInput(projectId, username, requester, password, plan);
  if (!(await createUser(deps, ctx, user))) {
    if (!(await adoptExisting(deps, ctx, input, username))) throw unreadableUserError(username);
    await updateUser(deps, ctx, projectId, username, { password, description: user.description, ...plan });
  }
  const clusters = plan.scopes.map((scope) => scope.name);
  return { username, password, clusters, deleteAfterDate: plan.deleteAfterDate };
}
