import {
  projectLimitNames,
  type DatabaseUser,
  type DatabaseUserInput,
  type DatabaseUserRole,
  type DatabaseUserScope,
  type DatabaseUserUpdate,
  type KeyValue,
} from '../../../atlas/index.js';
import { ConnectorError, isConnectorError } from '../../../errors/connector-error.js';
import { hintUpToCapDelay, withRetry } from '../../../runtime/backoff.js';
import type { JobContext } from '../../../worker/job-context.js';
import type { AdapterDeps } from '../../adapter.js';
import {
  buildLabels,
  clustersNeeded,
  deleteAfterFor,
  isManaged,
  labelKeys,
  labelValue,
  readGrants,
  roleKey,
  rolesNeeded,
  type GrantedRole,
  type GrantRecord,
  type Requester,
  type UserStrategy,
} from '../model/user-model.js';

/**
 * The database-user plumbing grant, revoke, renew and rotate share: read a user and prove it is
 * ours, compute the full next state from the grants it keeps, and write it. Atlas replaces arrays
 * wholesale on PATCH, so every write carries the complete roles, scopes and labels.
 */

export type AtlasDeps = Pick<AdapterDeps, 'atlas' | 'clock' | 'random' | 'readiness'>;
export type AtlasCtx = Pick<JobContext, 'signal' | 'beforeSideEffect' | 'log'> &
  Partial<Pick<JobContext, 'releaseSlot'>>;

const dayMs = 86_400_000;

/** Password and revocation bookkeeping kept in labels next to the grant records. */
export interface Bookkeeping {
  readonly passwordRotatedAt?: string | undefined;
  readonly passwordGrant?: string | undefined;
  readonly lastRevokedAt?: string | undefined;
}

export interface ManagedUser {
  readonly user: DatabaseUser;
  readonly grants: GrantRecord[];
  readonly book: Bookkeeping;
}

export interface UserWrite {
  readonly roles: DatabaseUserRole[];
  readonly scopes: DatabaseUserScope[];
  readonly labels: KeyValue[];
  readonly deleteAfterDate: string;
}

export interface UserIdentity {
  readonly integrationId: string;
  readonly requesterId: string;
  readonly strategy: UserStrategy;
}

/** The user, or undefined when Atlas has none by that name (404 is an outcome, not a failure). */
export async function readUser(
  deps: AtlasDeps,
  ctx: AtlasCtx,
  projectId: string,
  username: string,
): Promise<DatabaseUser | undefined> {
  try {
    return await deps.atlas.databaseUsers.get(projectId, 'admin', username, { signal: ctx.signal });
  } catch (error) {
    if (isConnectorError(error) && error.code === 'not_found') return undefined;
    throw error;
  }
}

function requesterLabel(requesterId: string): string | undefined {
  const labels = buildLabels({ requesterId, strategy: 'per-requester', integrationId: '-', grants: [] });
  return labelValue(labels, labelKeys.requester);
}

/** Whether the connector created this user for this requester and strategy. */
export function ownedBy(user: DatabaseUser, identity: Omit<UserIdentity, 'integrationId'>): boolean {
  const labels = user.labels ?? [];
  return (
    isManaged(labels) &&
    labelValue(labels, labelKeys.requester) === requesterLabel(identity.requesterId) &&
    labelValue(labels, labelKeys.strategy) === identity.strategy
  );
}

/** Never touch a user the connector did not create for this requester and strategy. */
export function managedUser(user: DatabaseUser, identity: Omit<UserIdentity, 'integrationId'>): ManagedUser {
  const labels = user.labels ?? [];
  if (!ownedBy(user, identity)) {
    throw new ConnectorError({
      code: 'conflict',
      message: `database user ${user.username} exists but was not created by atlas-jit-connector for this requester (${identity.strategy}); it is left untouched`,
      details: { username: user.username },
    });
  }
  const book: Bookkeeping = {
    passwordRotatedAt: labelValue(labels, labelKeys.passwordRotatedAt),
    passwordGrant: labelValue(labels, labelKeys.passwordGrant),
    lastRevokedAt: labelValue(labels, labelKeys.lastRevokedAt),
  };
  return { user, grants: readGrants(labels), book };
}

export function toAtlasRoles(roles: readonly GrantedRole[]): DatabaseUserRole[] {
  return roles.map(({ roleName, databaseName, collectionName }) => ({
    roleName,
    databaseName,
    ...(collectionName === undefined ? {} : { collectionName }),
  }));
}

/**
 * The complete next state of a user that keeps `grants` (already filtered to the active ones):
 * roles are their union (reference counting) less the `withheld` ones (`withheldRoles`; their
 * records stay in the labels), scopes the clusters of the roles written (never empty: with none
 * the user stays scoped to `fallbackClusters`, else to its grants'), `deleteAfterDate` the latest expiry, or
 * `userCleanupDays` from now when nothing is left, capped by Atlas's 7-day window (invariant 1).
 */
export function planUserWrite(input: {
  readonly identity: UserIdentity;
  readonly grants: readonly GrantRecord[];
  readonly book: Bookkeeping;
  readonly nowMs: number;
  readonly cleanupDays: number;
  readonly fallbackClusters: readonly string[];
  readonly withheld?: ReadonlySet<string>;
}): UserWrite {
  const { identity, grants, book, nowMs } = input;
  const withheld = input.withheld ?? new Set<string>();
  const given = grants.map((g) => ({ ...g, roles: g.roles.filter((role) => !withheld.has(roleKey(role))) }));
  const needed = clustersNeeded(given);
  const fallback = [...new Set(input.fallbackClusters)].sort();
  // Every role withheld: the user stays scoped to its grants' clusters, never unscoped.
  const clusters = needed.length > 0 ? needed : fallback.length > 0 ? fallback : clustersNeeded(grants);
  const latest =
    grants.length > 0 ? Math.max(...grants.map((g) => g.expiresAtMs)) : nowMs + input.cleanupDays * dayMs;
  return {
    roles: toAtlasRoles(rolesNeeded(given)),
    scopes: clusters.map((name) => ({ name, type: 'CLUSTER' })),
    labels: buildLabels({ ...identity, grants, ...book }),
    deleteAfterDate: deleteAfterFor(latest, nowMs),
  };
}

/** A brand-new user's state: this one grant, and a password set now by this grant. */
export function firstGrantPlan(
  identity: UserIdentity,
  record: GrantRecord,
  nowMs: number,
  cleanupDays: number,
) {
  return planUserWrite({
    identity,
    grants: [record],
    book: { passwordRotatedAt: new Date(nowMs).toISOString(), passwordGrant: record.key },
    nowMs,
    cleanupDays,
    fallbackClusters: [],
  });
}

export function newUserInput(
  projectId: string,
  username: string,
  requester: Requester,
  password: string,
  plan: UserWrite,
): DatabaseUserInput {
  return {
    groupId: projectId,
    username,
    databaseName: 'admin',
    password,
    description: describeUser(requester),
    ...plan,
  };
}

/** Atlas said the user exists (409) but reading it found none: retry rather than guess. */
export function unreadableUserError(username: string): ConnectorError {
  return new ConnectorError({
    code: 'conflict',
    retryable: true,
    message: `database user ${username} was reported to exist but cannot be read yet; the grant is retried`,
  });
}

export function scopeNames(user: DatabaseUser): string[] {
  return (user.scopes ?? []).filter((scope) => scope.type === 'CLUSTER').map((scope) => scope.name);
}

/** Readable in the Atlas UI; at most 100 characters as Atlas requires. */
export function describeUser(requester: Requester): string {
  const text = `JIT access for ${requester.email ?? requester.name ?? requester.id} (atlas-jit-connector)`;
  const cut = text.slice(0, 100);
  // Never the first half of a character a name cut in two (a lone surrogate is not text).
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

export function usersQuotaError(projectId: string, used?: number, limit?: number): ConnectorError {
  const usage = used === undefined || limit === undefined ? '' : ` (${used}/${limit})`;
  return new ConnectorError({
    code: 'quota_exceeded',
    message: `database users quota reached in project ${projectId}${usage}: ${projectLimitNames.databaseUsers}; revoke unused access or ask MongoDB Support to raise the limit`,
    details: { projectId, quota: projectLimitNames.databaseUsers },
  });
}

/** Tries of a create that failed without an answer: one send and as many re-sends as a read gets retries by default. */
export const createTries = 5;
/** Backoff between those re-sends: a 5xx storm is given time to pass, and a herd is spread. */
const createBackoff = { baseMs: 500, capMs: 8_000 } as const;

/**
 * A create the client sends once (not idempotent), tried again in this attempt when it failed
 * without an answer Atlas meant (5xx, lost response), after a full-jitter wait: a create that did
 * run answers 409 the next time, which every caller already converges from by reading back. Saves
 * a whole job attempt.
 */
export function convergingCreate<T>(
  deps: Pick<AtlasDeps, 'clock' | 'random'>,
  ctx: AtlasCtx,
  create: () => Promise<T>,
): Promise<T> {
  return withRetry(create, {
    ...createBackoff,
    clock: deps.clock,
    random: deps.random,
    signal: ctx.signal,
    maxAttempts: createTries,
    shouldRetry: (error) => error.code === 'upstream_unavailable',
    // As in the client: a 503's long Retry-After must not park the job and its project's turn.
    delayFor: (error, attempt) => hintUpToCapDelay(createBackoff, attempt, deps.random, error.retryAfterMs),
    onRetry: (error, attempt, delayMs) =>
      ctx.log.warn(
        { err: error, attempt: attempt + 1, delayMs },
        'create failed without an answer; trying again, 409 converges',
      ),
  });
}

/**
 * A write's `deleteAfterDate` is computed before it is sent, and may be as little as a minute
 * ahead (the last grant ends sooner: `deleteAfterFor`). Held back by Atlas's 429s (the client
 * retries them for up to two minutes, the same body each time), it can reach Atlas after that
 * date, which refuses it as in the past (400). Not a bad request: the job's retry computes the
 * date again. Failed for good, a revoke would leave the grant's roles on the user.
 */
function sentTooLate(error: unknown, username: string): unknown {
  if (!isConnectorError(error) || error.details['atlasErrorCode'] !== 'EXPIRATION_DATE_IN_PAST') return error;
  return new ConnectorError({
    code: 'timeout',
    message: `the write of database user ${username} reached Atlas after the deleteAfterDate it carried (held back by rate limiting); the job is retried with a new date`,
    details: { username, atlasErrorCode: 'EXPIRATION_DATE_IN_PAST' },
    cause: error,
  });
}

/** Creates the user; false when it already exists (a racing or redelivered attempt made it). */
export async function createUser(deps: AtlasDeps, ctx: AtlasCtx, user: DatabaseUserInput): Promise<boolean> {
  ctx.beforeSideEffect();
  try {
    await convergingCreate(deps, ctx, () =>
      deps.readiness.writeChange(ctx, user.groupId, () =>
        deps.atlas.databaseUsers.create(user.groupId, user, { signal: ctx.signal }),
      ),
    );
    return true;
  } catch (error) {
    if (!isConnectorError(error)) throw error;
    if (error.code === 'conflict') return false;
    if (error.details['atlasErrorCode'] === 'GROUP_USERS_LIMIT_EXCEEDED') throw usersQuotaError(user.groupId);
    throw sentTooLate(error, user.username);
  }
}

export async function updateUser(
  deps: AtlasDeps,
  ctx: AtlasCtx,
  projectId: string,
  username: string,
  update: DatabaseUserUpdate,
): Promise<void> {
  ctx.beforeSideEffect();
  try {
    await deps.readiness.writeChange(ctx, projectId, () =>
      deps.atlas.databaseUsers.update(projectId, 'admin', username, update, { signal: ctx.signal }),
    );
  } catch (error) {
    throw sentTooLate(error, username);
  }
}

/** Deletes the user; false when it was already gone. */
export async function deleteUser(
  deps: AtlasDeps,
  ctx: AtlasCtx,
  projectId: string,
  username: string,
): Promise<boolean> {
  ctx.beforeSideEffect();
  try {
    await deps.readiness.writeChange(ctx, projectId, () =>
      deps.atlas.databaseUsers.delete(projectId, 'admin', username, { signal: ctx.signal }),
    );
    return true;
  } catch (error) {
    if (isConnectorError(error) && error.code === 'not_found') return false;
    throw error;
  }
}
