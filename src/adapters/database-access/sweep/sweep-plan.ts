import type {
  DatabaseUser,
  DatabaseUserRole,
  DatabaseUserScope,
  DatabaseUserUpdate,
  KeyValue,
} from '../../../atlas/index.js';
import {
  activeGrants,
  buildLabels,
  clustersNeeded,
  deleteAfterFor,
  integrationKey,
  isManaged,
  labelKeys,
  labelValue,
  readGrants,
  roleKey,
  rolesNeeded,
  type GrantRecord,
  type GrantedRole,
  type UserStrategy,
} from '../model/user-model.js';

/**
 * What sweep would do to one database user, decided from a copy of it and the time alone (no
 * I/O), so the same function runs on the listed copy and again on the fresh copy before a write.
 */

const dayMs = 86_400_000;

/**
 * How far apart the wall clocks of the connector replicas (and the control plane) may be. A grant
 * record's time is written by whichever replica granted; the sweep's claim time by its own: only a
 * record older than the claim by this much surely predates the configuration the sweep works from,
 * and one later than the sweep's now by more than this is no time (`refusedOwnGrants`).
 */
export const replicaClockSkewMs = 5 * 60_000;

export interface PlanOptions {
  readonly nowMs: number;
  readonly userCleanupDays: number;
  /**
   * A project the configuration no longer allows (outside the integration's allow-list or the
   * local policy's): the plan only takes away. Ended grants' roles and unexpected roles or scopes
   * go and idle users are parked or deleted as usual, but no role or cluster is added back,
   * scopes are never emptied (in Atlas that reaches every cluster), and `deleteAfterDate` is
   * never rolled forward. Drift is still reported.
   */
  readonly removeOnly?: boolean;
  /**
   * The project is off the integration's own configuration (`projectIds`), an authoritative view
   * of where its grants may be: this integration's active grants there are ended too
   * (`endedGrants`), and the plan is remove-only. Not set where only the local policy refuses the
   * project: another connector, under its own policy, may serve grants there.
   */
  readonly endsGrants?: boolean;
  /**
   * Only a refused grant whose record was written before this moment (epoch ms) is ended: the
   * sweep's configuration was resolved when its job was claimed (less a margin for clock skew),
   * so a grant written after may have been made under a wider configuration than the sweep's. A
   * later one is left remove-only, not ended (the next sweep judges it); a record without a time
   * (an earlier version's), or with one past `nowMs` by more than `replicaClockSkewMs` (a clock
   * running ahead), is old. Absent: every refused grant is ended.
   */
  readonly endsWrittenBeforeMs?: number;
  /**
   * The clusters this user's integration may still grant on, when its configuration limits them
   * (deep discovery's `clusterNames`, an `atlas-project`'s one cluster). This integration's active
   * grants naming another cluster are ended (`endedGrants`); the user is then planned from the
   * grants left. An idle user whose last grants name another cluster is planned `removeOnly`: its
   * cleanup moment is not rolled.
   */
  readonly allowedClusters?: readonly string[];
  /**
   * Whether drift repair may give this role back: the local policy would give it to a grant now.
   * A role an active grant records that the user lacks and the policy now refuses is not added
   * (`refusedRoles`); one the user still holds is kept (the grant was given it; a revoke or its
   * end takes it away). Absent: every role may be added.
   */
  readonly mayAdd?: (role: GrantedRole) => boolean;
  /**
   * The sweeping integration (`integrationKey`). A per-requester user may carry grants of several
   * integrations (an `atlas-project` and a deep-discovery sub-integration on one cluster, two
   * `atlas-multi-project` integrations on one project); only its own grants' integration may say
   * whether their access may still be handed out. So a user with another integration's active
   * grant is planned remove-only (nothing added back), but its `deleteAfterDate` is still rolled
   * to the latest end of this integration's own active grants, when `allowedClusters` allows
   * their clusters: keeping an approved grant alive hands out nothing new, and every integration
   * rolls for its own grants, whichever wrote the user last. `allowedClusters` judges only this
   * integration's grants, and this integration's own active grants that `endsGrants` or
   * `allowedClusters` refuse are ended (`endedGrants`) on any user. An idle user is this
   * integration's when all its records are. Absent: every grant is the sweep's own.
   */
  readonly integration?: string;
}

/** `clusters-gone`: every cluster the user's grants name was deleted, and no scope may be left empty. */
export type DeleteReason = 'grant-ended' | 'idle' | 'no-active-grant' | 'clusters-gone';

/** Where Atlas disagreed with the user's labels (beyond grants that merely expired). */
export interface RoleDrift {
  /** Roles no grant record (active or expired) accounts for. */
  readonly unexpectedRoles: readonly string[];
  /** Roles an active grant needs that the user lacks. */
  readonly missingRoles: readonly string[];
  readonly unexpectedScopes: readonly string[];
  readonly missingScopes: readonly string[];
  /** No scope at all: Atlas then grants every cluster of the project. */
  readonly unscoped: boolean;
}

export interface ManagedPlan {
  readonly kind: 'managed';
  readonly action: 'none' | 'update' | 'delete';
  readonly deleteReason?: DeleteReason;
  readonly update?: DatabaseUserUpdate;
  /** Roles the update takes away, as `role@db[.collection]`. */
  readonly rolesRemoved: readonly string[];
  readonly drift?: RoleDrift;
  /** The new `deleteAfterDate` when the update rolls it forward. */
  readonly rolledTo?: string;
  /**
   * Planned remove-only (`PlanOptions.removeOnly`, an idle user whose last grants name a cluster off
   * `allowedClusters`, or another integration's grant on the user): its drift is not repaired.
   */
  readonly removeOnly: boolean;
  /** Roles an active grant records, the user lacks, and `mayAdd` refuses: left missing, not in `drift`. */
  readonly refusedRoles?: readonly string[];
  /**
   * Keys of this integration's active grants its configuration no longer allows (the project
   * outside the scope, or a cluster off `allowedClusters`), ended by this plan: planned as if they
   * ended now, so their roles no other active grant needs go, their records are dropped, and a
   * user left without an active grant is parked or deleted as any idle user.
   */
  readonly endedGrants?: readonly string[];
  readonly warnings: readonly string[];
}

export type UserPlan =
  { readonly kind: 'unmanaged' } | { readonly kind: 'malformed'; readonly reason: string } | ManagedPlan;

interface Identity {
  readonly requesterId: string;
  readonly strategy: UserStrategy;
  readonly integrationId: string;
  readonly passwordRotatedAt?: string;
  readonly passwordGrant?: string;
  readonly lastRevokedAtMs?: number;
}

function toUserRole(role: GrantedRole): DatabaseUserRole {
  const { roleName, databaseName, collectionName } = role;
  return { roleName, databaseName, ...(collectionName === undefined ? {} : { collectionName }) };
}

function readIdentity(labels: readonly KeyValue[]): Identity | string {
  const requesterId = labelValue(labels, labelKeys.requester);
  const strategy = labelValue(labels, labelKeys.strategy);
  const integrationId = labelValue(labels, labelKeys.integration);
  const revoked = labelValue(labels, labelKeys.lastRevokedAt);
  const lastRevokedAtMs = revoked === undefined ? undefined : Date.parse(revoked);
  if (!requesterId) return `label ${labelKeys.requester} is missing`;
  if (strategy !== 'per-requester' && strategy !== 'per-grant')
    return `label ${labelKeys.strategy} is ${strategy === undefined ? 'missing' : `"${strategy}"`}`;
  if (!integrationId) return `label ${labelKeys.integration} is missing`;
  if (lastRevokedAtMs !== undefined && Number.isNaN(lastRevokedAtMs))
    return `label ${labelKeys.lastRevokedAt} is not a date`;
  return {
    requesterId,
    strategy,
    integrationId,
    passwordRotatedAt: labelValue(labels, labelKeys.passwordRotatedAt),
    passwordGrant: labelValue(labels, labelKeys.passwordGrant),
    ...(lastRevokedAtMs === undefined ? {} : { lastRevokedAtMs }),
  };
}

/** `readGrants` skips what it cannot parse; sweep must not act on a user with such a grant. */
function grantProblem(labels: readonly KeyValue[], grants: readonly GrantRecord[]): string | undefined {
  const keys = new Set(
    labels
      .filter((label) => label.key.startsWith(labelKeys.grantPrefix))
      .map((label) => label.key.slice(labelKeys.grantPrefix.length).split('~')[0] ?? ''),
  );
  const parsed = new Set(grants.map((grant) => grant.key));
  const unreadable = [...keys].filter((key) => !parsed.has(key)).sort();
  if (unreadable.length > 0) return `unreadable grant label(s): ${unreadable.join(', ')}`;
  const empty = grants.filter((grant) => grant.roles.length === 0).map((grant) => grant.key);
  return empty.length > 0 ? `grant(s) without roles: ${empty.join(', ')}` : undefined;
}

/** `kept`: clusters justified beyond what the grants name (a parked user's, `planIdle`). */
function driftOf(
  user: DatabaseUser,
  grants: readonly GrantRecord[],
  active: readonly GrantRecord[],
  kept: readonly string[] = [],
) {
  const actual = user.roles.map(roleKey);
  const justified = new Set(rolesNeeded(grants).map((role) => roleKey(toUserRole(role))));
  const desired = rolesNeeded(active).map((role) => roleKey(toUserRole(role)));
  const scopes = user.scopes ?? [];
  const clusters = scopes.filter((scope) => scope.type === 'CLUSTER').map((scope) => scope.name);
  const justifiedClusters = new Set([...clustersNeeded(grants), ...kept]);
  const drift: RoleDrift = {
    unexpectedRoles: actual.filter((key) => !justified.has(key)),
    missingRoles: desired.filter((key) => !actual.includes(key)),
    unexpectedScopes: [
      ...scopes.filter((scope) => scope.type !== 'CLUSTER').map((scope) => `${scope.type}:${scope.name}`),
      ...clusters.filter((name) => !justifiedClusters.has(name)),
    ],
    missingScopes:
      scopes.length === 0 ? [] : clustersNeeded(active).filter((name) => !clusters.includes(name)),
    unscoped: scopes.length === 0,
  };
  const drifted =
    drift.unscoped ||
    [drift.unexpectedRoles, drift.missingRoles, drift.unexpectedScopes, drift.missingScopes].some(
      (list) => list.length > 0,
    );
  return drifted ? drift : undefined;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((item) => right.has(item));
}

function clusterScopes(names: readonly string[]): DatabaseUserScope[] {
  return names.map((name): DatabaseUserScope => ({ name, type: 'CLUSTER' }));
}

function scopesMatch(user: DatabaseUser, clusters: readonly string[]): boolean {
  const actual = (user.scopes ?? []).map((scope) => `${scope.type}:${scope.name}`);
  return sameSet(
    actual,
    clusters.map((name) => `CLUSTER:${name}`),
  );
}

/** Labels without expired grants; labels the connector does not own are kept as they are. */
function rebuildLabels(
  user: DatabaseUser,
  identity: Identity,
  grants: readonly GrantRecord[],
  lastRevokedAtMs: number | undefined,
): KeyValue[] {
  const foreign = (user.labels ?? []).filter(
    (label) => label.key !== labelKeys.managedBy && !label.key.startsWith('jit-'),
  );
  const lastRevokedAt = lastRevokedAtMs === undefined ? undefined : new Date(lastRevokedAtMs).toISOString();
  return [...foreign, ...buildLabels({ ...identity, grants, lastRevokedAt })];
}

/** Rolls forward only when the current date is more than a day short of what is needed. */
function rollTarget(user: DatabaseUser, latestNeededMs: number, nowMs: number): string | undefined {
  const current = user.deleteAfterDate === undefined ? Number.NaN : Date.parse(user.deleteAfterDate);
  // A user without one is permanent, and Atlas cannot make a permanent user temporary.
  if (Number.isNaN(current)) return undefined;
  const target = deleteAfterFor(latestNeededMs, nowMs);
  return current < Date.parse(target) - dayMs ? target : undefined;
}

function warningsOf(user: DatabaseUser): string[] {
  return user.deleteAfterDate === undefined
    ? ['no deleteAfterDate: Atlas will not remove this user by itself']
    : [];
}

function finish(
  user: DatabaseUser,
  update: DatabaseUserUpdate,
  drift: RoleDrift | undefined,
  rolesRemoved: readonly string[],
  removeOnly: boolean,
): ManagedPlan {
  const changed = Object.keys(update).length > 0;
  return {
    kind: 'managed',
    action: changed ? 'update' : 'none',
    ...(changed ? { update } : {}),
    rolesRemoved: update.roles ? rolesRemoved : [],
    ...(drift ? { drift } : {}),
    ...(update.deleteAfterDate ? { rolledTo: update.deleteAfterDate } : {}),
    removeOnly,
    warnings: warningsOf(user),
  };
}

/** Those of these grants this sweep's integration made (`PlanOptions.integration`). */
function ownGrants(grants: readonly GrantRecord[], options: PlanOptions): readonly GrantRecord[] {
  const mine = options.integration;
  return mine === undefined ? grants : grants.filter((grant) => grant.integration === mine);
}

/** Off the integration's configuration: its project is outside it, or some of these clusters. */
function refusedByConfiguration(clusters: readonly string[], options: PlanOptions): boolean {
  const allowed = options.allowedClusters;
  return (
    options.endsGrants === true || (allowed !== undefined && clusters.some((name) => !allowed.includes(name)))
  );
}

/** Remove-only: outside the scope or the local policy, or off the integration's configuration. */
function removingOnly(clusters: readonly string[], options: PlanOptions): boolean {
  return options.removeOnly === true || refusedByConfiguration(clusters, options);
}

/** The roles the user ends with, and its scopes when they change. */
interface PlannedAccess {
  readonly roles: DatabaseUserRole[];
  readonly scopes?: DatabaseUserScope[];
}

/**
 * What drift repair works towards: the active grants with only the roles it may give them, those
 * the user holds and those `mayAdd` allows (the others are `refused`). A grant left without roles
 * names no cluster either: its cluster scope is not added back for the user's other roles.
 */
function repairTarget(user: DatabaseUser, active: readonly GrantRecord[], options: PlanOptions) {
  const { mayAdd } = options;
  if (mayAdd === undefined) return { target: active, refused: [] };
  const held = new Set(user.roles.map(roleKey));
  const given = (role: GrantedRole) => held.has(roleKey(role)) || mayAdd(role);
  const target = active
    .map((grant) => ({ ...grant, roles: grant.roles.filter(given) }))
    .filter((grant) => grant.roles.length > 0);
  const refused = rolesNeeded(active)
    .filter((role) => !given(role))
    .map(roleKey);
  return { target, refused };
}

/**
 * In scope: roles and scopes become exactly what the target grants need (drift repaired both
 * ways). With none (every role refused and missing) the user keeps no role, and its scopes only
 * narrow as remove-only would have them: never written empty.
 */
function repairedAccess(
  user: DatabaseUser,
  active: readonly GrantRecord[],
  target: readonly GrantRecord[],
): PlannedAccess {
  if (target.length === 0) return { ...removedAccess(user, active), roles: [] };
  const clusters = clustersNeeded(target);
  const roles = rolesNeeded(target).map(toUserRole);
  return scopesMatch(user, clusters) ? { roles } : { roles, scopes: clusterScopes(clusters) };
}

/**
 * Remove-only: the user keeps just the roles it holds that an active grant needs, and its scopes
 * narrow to the clusters it has that an active grant names; nothing it lacks is added. An
 * unscoped user (every cluster) is narrowed to the active grants' clusters. When none of its
 * scopes is such a cluster, emptying them would reach every cluster: they stay, and it loses
 * every role instead (parked, or deleted if Atlas refuses that), since nothing it reaches is what
 * a grant was given for.
 */
function removedAccess(user: DatabaseUser, active: readonly GrantRecord[]): PlannedAccess {
  const held = user.scopes ?? [];
  const named = clustersNeeded(active);
  if (held.length === 0) return { roles: keptRoles(user, active), scopes: clusterScopes(named) };
  const narrowed = held
    .filter((scope) => scope.type === 'CLUSTER' && named.includes(scope.name))
    .map((scope) => scope.name);
  if (narrowed.length === 0) return { roles: [] };
  const roles = keptRoles(user, active);
  return narrowed.length === held.length ? { roles } : { roles, scopes: clusterScopes(narrowed) };
}

/** The roles the user holds that an active grant needs, in its own order. */
function keptRoles(user: DatabaseUser, active: readonly GrantRecord[]): DatabaseUserRole[] {
  const needed = new Set(rolesNeeded(active).map((role) => roleKey(toUserRole(role))));
  return user.roles.filter((role) => needed.has(roleKey(role)));
}

function planActive(
  user: DatabaseUser,
  identity: Identity,
  grants: readonly GrantRecord[],
  active: readonly GrantRecord[],
  options: PlanOptions,
): ManagedPlan {
  const own = ownGrants(active, options);
  const removeOnly = own.length < active.length || removingOnly(clustersNeeded(active), options);
  const { target, refused } = removeOnly
    ? { target: active, refused: [] }
    : repairTarget(user, active, options);
  const { roles, scopes } = removeOnly ? removedAccess(user, active) : repairedAccess(user, active, target);
  // Rolled for this integration's own grants, where it may still give them.
  const rollable = own.length > 0 && !removingOnly(clustersNeeded(own), options);
  const latest = Math.max(...own.map((grant) => grant.expiresAtMs));
  const roll = rollable ? rollTarget(user, latest, options.nowMs) : undefined;
  const keep = new Set(roles.map(roleKey));
  const update: DatabaseUserUpdate = {
    ...(sameSet(user.roles.map(roleKey), [...keep]) ? {} : { roles }),
    ...(scopes === undefined ? {} : { scopes }),
    ...(grants.length > active.length
      ? { labels: rebuildLabels(user, identity, active, identity.lastRevokedAtMs) }
      : {}),
    ...(roll ? { deleteAfterDate: roll } : {}),
  };
  const removed = user.roles.map(roleKey).filter((key) => !keep.has(key));
  const plan = finish(user, update, driftOf(user, grants, target), removed, removeOnly);
  return refused.length > 0 ? { ...plan, refusedRoles: refused } : plan;
}

function deletion(
  user: DatabaseUser,
  reason: DeleteReason,
  drift: RoleDrift | undefined,
  removeOnly: boolean,
): ManagedPlan {
  return {
    kind: 'managed',
    action: 'delete',
    deleteReason: reason,
    rolesRemoved: [],
    ...(drift ? { drift } : {}),
    removeOnly,
    warnings: warningsOf(user),
  };
}

/**
 * No active grant. A per-grant user is done. A per-requester user is parked without roles until
 * `userCleanupDays` after it went idle (the moment it was last revoked, or its last grant ended).
 */
function planIdle(
  user: DatabaseUser,
  identity: Identity,
  grants: readonly GrantRecord[],
  options: PlanOptions,
): ManagedPlan {
  // Parked, it keeps the clusters its last grants named (never unscoped), also once their records
  // are gone: without a role they reach nothing, and are not drift.
  const scoped = (user.scopes ?? []).filter((scope) => scope.type === 'CLUSTER').map((scope) => scope.name);
  const drift = driftOf(user, grants, [], grants.length > 0 ? [] : scoped);
  const lastClusters = clustersNeeded(grants);
  const mine = options.integration;
  const others =
    mine !== undefined &&
    (grants.length > 0
      ? ownGrants(grants, options).length < grants.length
      : integrationKey(identity.integrationId) !== mine);
  const removeOnly = others || removingOnly(lastClusters, options);
  if (identity.strategy === 'per-grant') return deletion(user, 'grant-ended', drift, removeOnly);
  const ends = [identity.lastRevokedAtMs, ...grants.map((grant) => grant.expiresAtMs)];
  const known = ends.filter((ms): ms is number => ms !== undefined);
  const idleSince = known.length > 0 ? Math.max(...known) : undefined;
  if (idleSince === undefined) return deletion(user, 'idle', drift, removeOnly);
  const cleanupAt = idleSince + options.userCleanupDays * dayMs;
  if (options.nowMs >= cleanupAt) return deletion(user, 'idle', drift, removeOnly);
  const roll = removeOnly ? undefined : rollTarget(user, cleanupAt, options.nowMs);
  const update: DatabaseUserUpdate = {
    ...(user.roles.length > 0 ? { roles: [] } : {}),
    // Never unscoped: an idle user keeps the clusters its last grants named.
    ...((user.scopes ?? []).length === 0 && lastClusters.length > 0
      ? { scopes: clusterScopes(lastClusters) }
      : {}),
    // Expired records go; the moment they ended is kept so the cleanup clock does not reset.
    ...(grants.length > 0 ? { labels: rebuildLabels(user, identity, [], idleSince) } : {}),
    ...(roll ? { deleteAfterDate: roll } : {}),
  };
  return finish(user, update, drift, user.roles.map(roleKey), removeOnly);
}

export function planUser(user: DatabaseUser, options: PlanOptions): UserPlan {
  if (!isManaged(user.labels)) return { kind: 'unmanaged' };
  const labels = user.labels ?? [];
  const identity = readIdentity(labels);
  if (typeof identity === 'string') return { kind: 'malformed', reason: identity };
  const grants = readGrants(labels);
  const problem = grantProblem(labels, grants);
  if (problem !== undefined) return { kind: 'malformed', reason: problem };
  const refused = refusedOwnGrants(activeGrants(grants, options.nowMs), options);
  // Ended now: their records go like an expired grant's, and nothing keeps their roles.
  const judged = grants.map((grant) =>
    refused.includes(grant.key) ? { ...grant, expiresAtMs: options.nowMs } : grant,
  );
  const active = activeGrants(judged, options.nowMs);
  const plan =
    active.length > 0
      ? planActive(user, identity, judged, active, options)
      : planIdle(user, identity, judged, options);
  return refused.length > 0 ? { ...plan, endedGrants: refused } : plan;
}

/**
 * This integration's active grants its configuration no longer allows: every one in a project off
 * its configuration (`endsGrants`; not one the local policy alone refuses, which is no
 * authoritative view of the integration's grants), each naming a cluster off `allowedClusters`. Narrowing
 * the configuration is meant to end that access at the next sweep, on any user: left active, such
 * a grant would keep its roles until the user's `deleteAfterDate` (up to 7 days, this sweep no
 * longer rolls it), or, on a user another integration's sweep keeps rolling for its own grants,
 * until its own end, however far. So it is ended now. Another integration's grants are its own
 * sweep's to judge, and so is one written after `endsWrittenBeforeMs` (a configuration newer than
 * the sweep's may allow it): left active, remove-only, until the next sweep.
 */
function refusedOwnGrants(active: readonly GrantRecord[], options: PlanOptions): string[] {
  const before = options.endsWrittenBeforeMs;
  // A time past now by more than the tolerated skew comes from a clock running ahead: believed, the
  // grant would outlive the narrowing by as long (days, past its end). It counts as no time.
  const written = ({ writtenAtMs = 0 }: GrantRecord) =>
    writtenAtMs > options.nowMs + replicaClockSkewMs ? 0 : writtenAtMs;
  const judged = (grant: GrantRecord) => before === undefined || written(grant) < before;
  return ownGrants(active, options)
    .filter((grant) => judged(grant) && refusedByConfiguration(clustersNeeded([grant]), options))
    .map((grant) => grant.key);
}
