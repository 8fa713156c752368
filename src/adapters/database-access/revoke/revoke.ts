import type { DatabaseUser, DatabaseUserRole } from '../../../atlas/index.js';
import { ConnectorError, isConnectorError } from '../../../errors/connector-error.js';
import type { JobContext } from '../../../worker/job-context.js';
import type { AdapterDeps } from '../../adapter.js';
import type { OneProjectScope } from '../../scope.js';
import { databaseOperation, type DatabaseJob } from '../database-operation.js';
import { findKeyedGrantHolder } from '../atlas-writes/grant-holder.js';
import { isClusterGone, isProjectGone, writeScoped } from '../atlas-writes/gone-clusters.js';
import { withheldRoles } from '../atlas-writes/withheld-roles.js';
import {
  deleteUser,
  managedUser,
  planUserWrite,
  readUser,
  scopeNames,
  updateUser,
  type ManagedUser,
  type UserWrite,
} from '../atlas-writes/user-store.js';
import { RevokePayload } from '../model/payloads.js';
import {
  activeGrants,
  clustersNeeded,
  grantKey,
  readGrants,
  resourceKeyFor,
  roleKey,
  strategyOf,
  usernameForJob,
  type GrantRecord,
} from '../model/user-model.js';

export type RevokeResult =
  | { readonly outcome: 'already_revoked'; readonly username: string }
  | {
      readonly outcome: 'revoked';
      readonly username: string;
      readonly removedRoles: readonly DatabaseUserRole[];
      /** Roles the user keeps for its other active grants. */
      readonly remainingRoles: readonly DatabaseUserRole[];
      /** Set when the user itself is gone (per-grant, or no grant left and no cleanup delay). */
      readonly userDeleted?: true;
      readonly deleteAfterDate?: string;
    };

type RevokeJob = DatabaseJob<OneProjectScope, RevokePayload>;

interface RevokeInput extends Omit<RevokeJob, 'scope'> {
  readonly projectId: string;
}

const alreadyRevoked = (username: string): RevokeResult => ({ outcome: 'already_revoked', username });

/**
 * The grant is gone from a user that is still there. An earlier attempt of this revoke may have
 * written that and ended `not_ready` while the clusters still honoured the roles: like that write,
 * the answer waits until the user's clusters report APPLIED, so `already_revoked` never reports
 * access gone that a cluster still grants.
 */
async function alreadyRevokedFrom(
  deps: AdapterDeps,
  ctx: JobContext,
  input: RevokeInput,
  user: DatabaseUser,
) {
  await deps.readiness.waitUntilApplied(ctx, input.projectId, scopeNames(user));
  return alreadyRevoked(user.username);
}

async function removeUser(deps: AdapterDeps, ctx: JobContext, input: RevokeInput, user: DatabaseUser) {
  if (!(await deleteUser(deps, ctx, input.projectId, user.username))) return alreadyRevoked(user.username);
  await deps.readiness.waitUntilApplied(ctx, input.projectId, scopeNames(user));
  const result: RevokeResult = {
    outcome: 'revoked',
    username: user.username,
    removedRoles: user.roles,
    remainingRoles: [],
    userDeleted: true,
  };
  return result;
}

/**
 * The PATCH that drops the grant, scoped to the clusters that still exist; the clusters written,
 * or undefined when the user is deleted instead: Atlas refuses it role-less (stricter), or none of
 * its clusters exists any more (a user without scopes would reach every cluster); or `gone` when
 * the user itself went between the read and the write.
 */
async function writeRemaining(
  deps: AdapterDeps,
  ctx: JobContext,
  input: RevokeInput,
  user: DatabaseUser,
  plan: UserWrite,
): Promise<string[] | undefined | 'gone'> {
  try {
    const clusters = await writeScoped(deps.atlas, ctx.signal, {
      projectId: input.projectId,
      clusters: plan.scopes.map((scope) => scope.name),
      send: (scopes) => updateUser(deps, ctx, input.projectId, user.username, { ...plan, scopes }),
    });
    return clusters.length > 0 ? clusters : undefined;
  } catch (error) {
    if (isConnectorError(error) && error.details['atlasErrorCode'] === 'ATLAS_INVALID_ROLE') {
      throw roleGoneMeanwhile(input.projectId, error);
    }
    if (await goneMeanwhile(deps, ctx, input, user, error)) return 'gone';
    const refused = isConnectorError(error) && error.code === 'invalid_request';
    if (plan.roles.length > 0 || !refused) throw error;
    return undefined;
  }
}

/**
 * Whether the write was refused because the user no longer exists: Atlas deleted it at its
 * `deleteAfterDate` (the expiry of its last grant, when a revoke is usually sent) or a sweep did,
 * after this revoke read it. The access is gone, which is what the revoke is for; failed for good
 * as `not_found`, it would report a revoke that cannot be done. Read again to tell it from a 404
 * about something else the write names.
 */
async function goneMeanwhile(
  deps: AdapterDeps,
  ctx: JobContext,
  input: RevokeInput,
  user: DatabaseUser,
  error: unknown,
): Promise<boolean> {
  if (!isConnectorError(error) || error.code !== 'not_found' || isClusterGone(error)) return false;
  return (await readUser(deps, ctx, input.projectId, user.username)) === undefined;
}

/**
 * The write named a custom role another grant records and the user lacks, which the project
 * defined when `withheldRoles` read it; a sweep (under its own key) deleted it since, as no user
 * held it. Not a bad request: the retry reads the custom roles again and leaves that one out.
 * Failed for good, the revoke would leave the grant's access in place.
 */
function roleGoneMeanwhile(projectId: string, cause: ConnectorError): ConnectorError {
  return new ConnectorError({
    code: 'conflict',
    retryable: true,
    message: `a custom role the user's other grants record was deleted in project ${projectId} while the revoke wrote the user; the job is retried and leaves it out`,
    details: { projectId, atlasErrorCode: 'ATLAS_INVALID_ROLE' },
    cause,
  });
}

async function planWithout(
  deps: AdapterDeps,
  ctx: JobContext,
  input: RevokeInput,
  managed: ManagedUser,
  target: GrantRecord,
): Promise<UserWrite> {
  const nowMs = deps.clock.now();
  const remaining = activeGrants(
    managed.grants.filter((grant) => grant !== target),
    nowMs,
  );
  const lastScopes = scopeNames(managed.user);
  const withheld = await withheldRoles(deps, ctx, input.projectId, managed.user, remaining);
  return planUserWrite({
    identity: {
      integrationId: input.integrationId,
      requesterId: input.payload.requester.id,
      strategy: 'per-requester',
    },
    grants: remaining,
    book: { ...managed.book, lastRevokedAt: new Date(nowMs).toISOString() },
    nowMs,
    cleanupDays: input.settings.userCleanupDays,
    fallbackClusters: lastScopes.length > 0 ? lastScopes : clustersNeeded([target]),
    withheld,
  });
}

/**
 * per-requester: drop this grant's record and recompute roles and scopes from the grants still
 * active, so a role another grant needs stays. With no grant left the user keeps no roles and is
 * deleted `userCleanupDays` later (at once when that is 0).
 */
async function revokePerRequester(
  deps: AdapterDeps,
  ctx: JobContext,
  input: RevokeInput,
  managed: ManagedUser,
  target: GrantRecord,
): Promise<RevokeResult> {
  const { user } = managed;
  const plan = await planWithout(deps, ctx, input, managed, target);
  if (plan.roles.length === 0 && input.settings.userCleanupDays === 0)
    return removeUser(deps, ctx, input, user);
  const clusters = await writeRemaining(deps, ctx, input, user, plan);
  if (clusters === 'gone') return alreadyRevokedFrom(deps, ctx, input, user);
  if (clusters === undefined) return removeUser(deps, ctx, input, user);
  await deps.readiness.waitUntilApplied(ctx, input.projectId, clusters);
  const kept = new Set(plan.roles.map(roleKey));
  return {
    outcome: 'revoked',
    username: user.username,
    removedRoles: user.roles.filter((role) => !kept.has(roleKey(role))),
    remainingRoles: plan.roles,
    deleteAfterDate: plan.deleteAfterDate,
  };
}

/**
 * Revokes from the user holding the grant, along the strategy that user was made with (its own
 * `jit-strategy` label), not the integration's current one: per-grant, the user is the grant and
 * is deleted; per-requester, the grant's record goes and the rest is recomputed. A user by that
 * name that is not ours is refused (`conflict`) by `managedUser`.
 */
async function revokeFrom(
  deps: AdapterDeps,
  ctx: JobContext,
  input: RevokeInput,
  user: DatabaseUser,
): Promise<RevokeResult> {
  const strategy = strategyOf(user.labels) ?? input.settings.userStrategy;
  const managed = managedUser(user, { requesterId: input.payload.requester.id, strategy });
  const target = managed.grants.find((grant) => grant.key === grantKey(input.payload.grantId));
  if (target === undefined) return alreadyRevokedFrom(deps, ctx, input, user);
  return strategy === 'per-grant'
    ? removeUser(deps, ctx, input, user)
    : revokePerRequester(deps, ctx, input, managed, target);
}

/** How often a revoke outside its lease takes its grant off the holder again before it gives up. */
const maxOutsideLeaseRounds = 3;

/**
 * `revokeFrom`, and, when the holder is not the user the job's lease names (found by its labels
 * after `userStrategy` or the requester's details changed), again until a fresh read shows the
 * grant gone. Such a holder may be written at the same moment by a job on another of its grants
 * keyed by another name (after a switch to per-grant every grant has its own key); one written
 * from a read older than this revoke puts the record and its roles back, and `revoked` would be
 * reported with the access in place. Read once more after the write applied, the grant found
 * again is revoked again; still back after that, the revoke fails retryable (`conflict`) rather
 * than report it gone. A deleted user cannot be written back (an update of it is a 404).
 */
async function revokeHolder(
  deps: AdapterDeps,
  ctx: JobContext,
  input: RevokeInput,
  holder: DatabaseUser,
): Promise<RevokeResult> {
  let result = await revokeFrom(deps, ctx, input, holder);
  const leased =
    ctx.resourceKey === undefined || ctx.resourceKey === resourceKeyFor(input.projectId, holder.username);
  if (leased) return result;
  const key = grantKey(input.payload.grantId);
  for (let round = 1; result.outcome === 'revoked' && result.userDeleted !== true; round += 1) {
    const fresh = await readUser(deps, ctx, input.projectId, holder.username);
    if (fresh === undefined || !readGrants(fresh.labels ?? []).some((grant) => grant.key === key)) break;
    if (round >= maxOutsideLeaseRounds) {
      throw new ConnectorError({
        code: 'conflict',
        retryable: true,
        message: `grant ${input.payload.grantId} was written back to database user ${holder.username} (outside this job's resource key) by another job after each revoke; key the revoke by "${resourceKeyFor(input.projectId, holder.username)}" (the grant's own user)`,
      });
    }
    const again = await revokeFrom(deps, ctx, input, fresh);
    if (again.outcome === 'revoked') result = again;
  }
  return result;
}

/**
 * The grant's holder found and revoked. A project Atlas no longer has (404 `GROUP_NOT_FOUND` or
 * `INVALID_GROUP_ID`, before or during the revoke: deleted since the grant) took its database users
 * with it, so the access is gone: `already_revoked`, as for a gone user. Failed for good as
 * `not_found`, the revoke would report access it cannot take away, and its grant stay open.
 */
async function revokeInProject(
  deps: AdapterDeps,
  ctx: JobContext,
  input: RevokeInput,
  query: Parameters<typeof findKeyedGrantHolder>[2],
): Promise<RevokeResult> {
  try {
    const holder = await findKeyedGrantHolder(deps, ctx, query);
    return holder === undefined
      ? alreadyRevoked(query.username)
      : await revokeHolder(deps, ctx, input, holder);
  } catch (error) {
    if (!isProjectGone(error)) throw error;
    return alreadyRevoked(query.username);
  }
}

/**
 * Revoke is never blocked by the local policy (taking access away must always be possible) and
 * works after expiry. A user, grant or project that is already gone is an outcome, not a failure.
 */
export async function runRevoke(job: RevokeJob, deps: AdapterDeps, ctx: JobContext): Promise<RevokeResult> {
  const { scope, ...rest } = job;
  const input: RevokeInput = { ...rest, projectId: scope.projectId };
  const { requester, grantId } = job.payload;
  const username = usernameForJob(job.settings.userStrategy, requester, grantId, scope);
  const { projectId } = scope;
  const query = { projectId, requesterId: requester.id, grantId, username, integrationId: job.integrationId };
  const result = await revokeInProject(deps, ctx, input, query);
  ctx.log.info(
    { projectId: input.projectId, username: result.username, outcome: result.outcome },
    'database access revoked',
  );
  return result;
}

export const revokeOperation = databaseOperation(RevokePayload, runRevoke);
