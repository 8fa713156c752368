import { ConnectorError, isConnectorError } from '../../../errors/connector-error.js';
import { issuePassword } from '../model/credential.js';
import { prepareCustomRoles } from '../atlas-writes/custom-roles.js';
import type { GrantDeps, GrantInput, GrantWrite } from './grant-per-requester.js';
import {
  createUser,
  firstGrantPlan,
  managedUser,
  newUserInput,
  readUser,
  unreadableUserError,
  updateUser,
  type AtlasCtx,
  type UserIdentity,
} from '../atlas-writes/user-store.js';

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

/**
 * per-grant (the Vault/Infisical semantics): a fresh user per grant, created with its whole spec.
 * A 409 means an earlier attempt of this grant created it, and that attempt's password may never
 * have been delivered: the user is PATCHed with a NEW password and the full spec again.
 */
export async function grantPerGrant(input: GrantInput, deps: GrantDeps, ctx: AtlasCtx): Promise<GrantWrite> {
  const { projectId, record, nowMs } = input.grant;
  const { requester } = input.payload;
  const username = input.username;
  const specs = input.grant.customRoles;
  await prepareCustomRoles(deps, ctx, { projectId, username, specs, grants: [record] });
  const password = issuePassword(deps);
  const identity: UserIdentity = {
    integrationId: input.integrationId,
    requesterId: requester.id,
    strategy: 'per-grant',
  };
  const plan = firstGrantPlan(identity, record, nowMs, input.settings.userCleanupDays);
  const user = newUserInput(projectId, username, requester, password, plan);
  if (!(await createOrFindOwn(deps, ctx, input, user))) {
    if (!(await adoptExisting(deps, ctx, input, username))) throw unreadableUserError(username);
    await updateUser(deps, ctx, projectId, username, { password, description: user.description, ...plan });
  }
  const clusters = plan.scopes.map((scope) => scope.name);
  return { username, password, clusters, deleteAfterDate: plan.deleteAfterDate };
}

/**
 * Creates the user; false when it already exists. The quota is Atlas's to enforce (its 403 is
 * mapped to a quota_exceeded that names the limit), except that a redelivery at a full quota
 * finds the user its earlier attempt made and goes on with it.
 */
async function createOrFindOwn(
  deps: GrantDeps,
  ctx: AtlasCtx,
  input: GrantInput,
  user: Parameters<typeof createUser>[2],
): Promise<boolean> {
  try {
    return await createUser(deps, ctx, user);
  } catch (error) {
    const quotaFull = isConnectorError(error) && error.code === 'quota_exceeded';
    if (quotaFull && (await adoptExisting(deps, ctx, input, user.username))) return false;
    throw error;
  }
}
