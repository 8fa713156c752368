import {
  maxItemsPerPage,
  paginateComplete,
  type AuthDatabase,
  type CustomDbRole,
  type DatabaseUser,
  type DatabaseUserRole,
  type DatabaseUserUpdate,
  type PageOptions,
} from '../../../atlas/index.js';
import { cancelledError, isConnectorError } from '../../../errors/connector-error.js';
import { databaseOperation } from '../database-operation.js';
import { writeScoped } from '../atlas-writes/gone-clusters.js';
import {
  forEachBounded,
  projectConcurrency,
  sweepTargets,
  unreachableCode,
} from '../scope/projects-in-scope.js';
import { policyGives } from '../atlas-writes/withheld-roles.js';
import {
  integrationKey,
  integrationLabel,
  isDiscoveryUser,
  isManaged,
  labelKeys,
  labelValue,
  readGrants,
} from '../model/user-model.js';
import { SweepPayload } from '../model/payloads.js';
import {
  planUser,
  replicaClockSkewMs,
  type DeleteReason,
  type ManagedPlan,
  type UserPlan,
} from './sweep-plan.js';
import {
  isStopping,
  recordError,
  type SweepDeps,
  type SweepEnv,
  type SweepInput,
  type SweepContext,
} from './sweep-env.js';
import { collectCustomRoles, isUndefinedConnectorRole, recreateRoles, strippedRoles } from './sweep-roles.js';
import { emptySweepReport, sortSweepReport, type SweepResult } from './sweep-report.js';

export type { SweepResult } from './sweep-report.js';
export type { SweepAtlas, SweepContext, SweepDeps, SweepInput } from './sweep-env.js';

function authDatabase(name: string): AuthDatabase | undefined {
  return name === 'admin' || name === '$external' ? name : undefined;
}

/**
 * A user this integration has a stake in: its `jit-integration` label (the last writer) is the
 * job's integration, or one of its grant records is this integration's (a per-requester user
 * another integration wrote since).
 */
function isOwn(env: SweepEnv, user: DatabaseUser): boolean {
  if (!isManaged(user.labels)) return false;
  if (labelValue(user.labels, labelKeys.integration) === integrationLabel(env.integrationId)) return true;
  const mine = integrationKey(env.integrationId);
  return readGrants(user.labels ?? []).some((grant) => grant.integration === mine);
}

/**
 * The configuration a sweep works from was resolved when its job was leased, and a sweep may run
 * for minutes: a grant made since, under a configuration widened since, is not ended (it stays
 * remove-only until the next sweep judges it). Outside the scope the plan only takes away; in a project off the integration's own configuration
 * (not one only the local policy refuses: another connector may serve grants there) this
 * integration's active grants are ended too; so it does for this integration's grants naming
 * a cluster its configuration no longer allows (`clusterNames`). On a user holding another
 * integration's active grant, only that integration's configuration says whether its grant's
 * access may still be handed out, so there ended grants lose their roles but nothing is added
 * back, and `deleteAfterDate` is rolled for this integration's own grants only
 * (`PlanOptions.integration`).
 */
function plan(env: SweepEnv, user: DatabaseUser): UserPlan {
  const { clusterNames } = env.settings;
  return planUser(user, {
    nowMs: env.deps.clock.now(),
    userCleanupDays: env.settings.userCleanupDays,
    removeOnly: env.reach !== 'full',
    endsGrants: env.outsideConfiguration,
    endsWrittenBeforeMs: env.ctx.claimedAtMs - replicaClockSkewMs,
    ...(clusterNames === undefined ? {} : { allowedClusters: clusterNames }),
    mayAdd: (role) => policyGives(env.deps.policy, role, env.customRoles),
    integration: integrationKey(env.integrationId),
  });
}

/**
 * Reports what a plan says about a user; writes are reported by `apply` once they succeed. Drift
 * on a user planned remove-only (outside the scope, or on a cluster off `clusterNames`) is
 * reported as found, written or not: a missing role or cluster is never added back there, so it
 * is not `repaired`.
 */
function classify(env: SweepEnv, username: string, userPlan: UserPlan): void {
  const { report, projectId } = env;
  if (userPlan.kind === 'unmanaged') report.drift.unmanaged.push({ projectId, username });
  if (userPlan.kind === 'malformed')
    report.drift.malformed.push({ projectId, username, reason: userPlan.reason });
  if (userPlan.kind !== 'managed') return;
  for (const reason of userPlan.warnings) report.drift.malformed.push({ projectId, username, reason });
  if (userPlan.removeOnly && userPlan.drift)
    report.drift.outsideScope.push({ projectId, username, ...userPlan.drift });
  const refused = userPlan.refusedRoles ?? [];
  const gone = refused.filter((key) => isUndefinedConnectorRole(env, key));
  const byPolicy = refused.filter((key) => !gone.includes(key));
  if (byPolicy.length > 0) report.drift.refusedByPolicy.push({ projectId, username, roles: byPolicy });
  if (gone.length > 0) report.drift.connectorRolesGone.push({ projectId, username, roles: gone });
}

/**
 * Whether the sweep may act on this user here: anyone in scope; outside it (a project the
 * configuration stopped allowing), only a user this integration wrote last or holds a grant of.
 */
function inReach(env: SweepEnv, user: DatabaseUser): boolean {
  return env.reach === 'full' || isOwn(env, user);
}

function ignoreNotFound(error: unknown): void {
  if (!isConnectorError(error) || error.code !== 'not_found') throw error;
}

const roleNames = (roles: readonly DatabaseUserRole[]): string[] => roles.map((role) => role.roleName);

/**
 * The update, scoped to the clusters that still exist (`writeScoped`); false when it was not sent
 * because none of them exists any more: the user must then go, not be left reaching every cluster.
 */
async function sendUpdate(env: SweepEnv, authDb: AuthDatabase, username: string, update: DatabaseUserUpdate) {
  const { atlas } = env.deps;
  const send = (scoped: DatabaseUserUpdate) => {
    env.ctx.beforeSideEffect();
    return atlas.databaseUsers.update(env.projectId, authDb, username, scoped, { signal: env.ctx.signal });
  };
  if (update.scopes === undefined) return send(update).then(() => true);
  const clusters = await writeScoped(atlas, env.ctx.signal, {
    projectId: env.projectId,
    clusters: update.scopes.map((scope) => scope.name),
    send: (scopes) => send({ ...update, scopes }).then(() => undefined),
  });
  return clusters.length > 0;
}

/**
 * Carries out a plan; returns why the user was deleted, or undefined when it was updated.
 * Parking a user needs `roles: []`, which Atlas may refuse (400: a user must hold a role there);
 * the user is then deleted instead — access goes either way, and the next grant recreates it. A
 * user whose every cluster is gone is deleted too.
 */
async function write(
  env: SweepEnv,
  authDb: AuthDatabase,
  username: string,
  decided: ManagedPlan,
): Promise<DeleteReason | undefined> {
  const { atlas } = env.deps;
  let reason = decided.deleteReason ?? 'no-active-grant';
  if (decided.action === 'update') {
    const update = decided.update ?? {};
    try {
      if (await sendUpdate(env, authDb, username, update)) return undefined;
      reason = 'clusters-gone';
    } catch (error) {
      const refusedEmpty =
        update.roles?.length === 0 && isConnectorError(error) && error.code === 'invalid_request';
      if (!refusedEmpty) throw error;
    }
  }
  env.ctx.beforeSideEffect();
  await atlas.databaseUsers
    .delete(env.projectId, authDb, username, { signal: env.ctx.signal })
    .catch(ignoreNotFound);
  return reason;
}

function reportWrite(
  env: SweepEnv,
  fresh: DatabaseUser,
  decided: ManagedPlan,
  deleted: DeleteReason | undefined,
): void {
  const { projectId, report } = env;
  const { username } = fresh;
  if (deleted !== undefined) report.usersDeleted.push({ projectId, username, reason: deleted });
  if (decided.endedGrants !== undefined)
    report.grantsEnded.push({ projectId, username, grants: [...decided.endedGrants].sort() });
  if (deleted === undefined && decided.rolesRemoved.length > 0)
    report.rolesRemoved.push({ projectId, username, roles: [...decided.rolesRemoved].sort() });
  if (deleted === undefined && decided.rolledTo !== undefined)
    report.deleteAfterRolled.push({ projectId, username, from: fresh.deleteAfterDate, to: decided.rolledTo });
  if (decided.drift && !decided.removeOnly)
    report.drift.repaired.push({ projectId, username, ...decided.drift });
}

/** Re-reads the user and carries out what the fresh copy calls for; returns the roles it keeps. */
async function apply(env: SweepEnv, listed: DatabaseUser, authDb: AuthDatabase): Promise<readonly string[]> {
  const { username } = listed;
  let fresh: DatabaseUser;
  try {
    fresh = await env.deps.atlas.databaseUsers.get(env.projectId, authDb, username, {
      signal: env.ctx.signal,
    });
  } catch (error) {
    if (isConnectorError(error) && error.code === 'not_found') return [];
    throw error;
  }
  // Outside the scope, a user that has since become another integration's is left alone.
  if (!inReach(env, fresh)) return roleNames(fresh.roles);
  const decided = plan(env, fresh);
  classify(env, username, decided);
  if (decided.kind !== 'managed' || decided.action === 'none') return roleNames(fresh.roles);
  const deleted = await write(env, authDb, username, decided);
  reportWrite(env, fresh, decided, deleted);
  return deleted === undefined ? roleNames(decided.update?.roles ?? fresh.roles) : [];
}

/**
 * One user: plan from the listed copy (most users need nothing, at no extra call); when a write
 * is due, `apply` re-reads and re-plans so a grant that landed since the listing is respected.
 */
async function sweepUser(env: SweepEnv, listed: DatabaseUser): Promise<readonly string[]> {
  const listedRoles = roleNames(listed.roles);
  const first = plan(env, listed);
  const authDb = authDatabase(listed.databaseName);
  if (first.kind !== 'managed' || first.action === 'none' || authDb === undefined) {
    classify(env, listed.username, first);
    return listedRoles;
  }
  try {
    return await apply(env, listed, authDb);
  } catch (error) {
    recordError(env, error, { username: listed.username });
    // Unknown outcome: keep counting the roles it had so none is collected from under it.
    return listedRoles;
  }
}

/**
 * Buffers the project's users before writing: deleting while paging would shift later pages. A
 * user deleted meanwhile by someone else (a revoke, another integration's sweep) shifts them too,
 * and the user after it would keep an ended grant's access until the next sweep: a listing of
 * more than one page (a project whose 100-user cap Support raised) is read again until it brings
 * no user not yet listed (`paginateComplete`). 500 a page: a project at the cap is one page, read once.
 */
async function listUsers(env: SweepEnv): Promise<DatabaseUser[]> {
  const users: DatabaseUser[] = [];
  const list = (page: PageOptions) => env.deps.atlas.databaseUsers.list(env.projectId, page);
  const listing = {
    itemsPerPage: maxItemsPerPage,
    signal: env.ctx.signal,
    keyOf: (user: DatabaseUser) => `${user.databaseName}/${user.username}`,
  };
  for await (const user of paginateComplete(list, listing)) users.push(user);
  return users;
}

async function sweepProject(env: SweepEnv): Promise<void> {
  let roles: CustomDbRole[];
  let users: DatabaseUser[];
  try {
    // Roles first: a role created after this listing is never a deletion candidate. Outside the
    // scope no role is collected: roles carry no integration, and an unused one grants nothing.
    roles =
      env.reach === 'full'
        ? await env.deps.atlas.customDbRoles.list(env.projectId, { signal: env.ctx.signal })
        : [];
    users = await listUsers(env);
  } catch (error) {
    // A project found by listing the key's projects whose users the key cannot read: not ours.
    if (env.reach === 'listed' && unreachableCode(error) !== undefined && !isStopping(error, env.ctx)) return;
    recordError(env, error, {});
    return;
  }
  if (env.reach === 'full') env.report.projects += 1;
  else env.report.projectsOutsideScope += 1;
  const referenced = new Set<string>();
  const withRoles: SweepEnv = { ...env, customRoles: roles };
  for (const user of users) {
    if (env.ctx.signal.aborted) throw cancelledError(env.ctx.signal.reason);
    // A discovery may be using it right now; it is deleted after use, or by Atlas at its
    // deleteAfterDate. It has no requester or grant: planned, it would read as malformed.
    if (isDiscoveryUser(user)) continue;
    if (!inReach(env, user)) continue;
    env.report.usersChecked += 1;
    for (const roleName of await sweepUser(withRoles, user)) referenced.add(roleName);
  }
  if (env.reach !== 'full') return;
  const deleted = await collectCustomRoles(env, roles, referenced);
  if (deleted.length > 0) await restoreStrippedRoles(withRoles, deleted);
}

/**
 * A grant that assigned a role between the users' listing and the role's delete lost it where
 * Atlas refuses only a delete that would leave a user with no role. Its write landed before the
 * delete, so a listing after the deletes shows it (a later write was refused, `ATLAS_INVALID_ROLE`,
 * and its grant recreates the role): the deleted roles an active grant there records are created
 * again as listed, and those users swept again, so drift repair gives the roles back.
 */
async function restoreStrippedRoles(env: SweepEnv, deleted: readonly CustomDbRole[]): Promise<void> {
  let users: DatabaseUser[];
  try {
    users = await listUsers(env);
  } catch (error) {
    recordError(env, error, {});
    return;
  }
  const holders = strippedRoles(env, deleted, users);
  if (holders.size === 0) return;
  const restored = await recreateRoles(
    env,
    deleted.filter((role) => holders.has(role.roleName)),
    holders,
  );
  const gone = new Set(deleted.map((role) => role.roleName).filter((name) => !restored.includes(name)));
  const defined = (env.customRoles ?? []).filter((role) => !gone.has(role.roleName));
  const again: SweepEnv = { ...env, customRoles: defined };
  const stripped = new Set(restored.flatMap((name) => holders.get(name) ?? []));
  for (const user of users) if (stripped.has(user.username)) await sweepUser(again, user);
}

/**
 * Reconciles every managed user in scope with its labels (expired roles out, idle users deleted;
 * on users whose active grants are all this integration's, drift repaired short of a role the
 * local policy now refuses; `deleteAfterDate` rolled forward for this integration's own grants;
 * another integration's grants only lose access; this integration's active grants its
 * configuration refuses end, on any user), reports unmanaged users without touching them,
 * and deletes connector-made custom roles nobody uses (putting back, as listed, one its delete
 * stripped from a grant that assigned it meanwhile: `restoreStrippedRoles`). In a project the configuration no longer
 * allows (the scope's `removalReach`, or one the local policy refuses) it reconciles this
 * integration's own users only, and only takes away (`removeOnly`: no role or cluster added back,
 * no roll; off the integration's own configuration, `endsGrants`, its active grants ended):
 * tightening the configuration ends the access there at once, and never hands out access.
 */
export async function sweep(input: SweepInput, deps: SweepDeps, ctx: SweepContext): Promise<SweepResult> {
  const report = emptySweepReport();
  const { settings, integrationId } = input;
  const targets = sweepTargets(deps.atlas, input.scope, deps.policy, {
    signal: ctx.signal,
    // Listing the key's projects to reach beyond the scope failed: reported, with no project.
    onReachFailure: (error) =>
      recordError(
        {
          projectId: '',
          reach: 'listed',
          outsideConfiguration: true,
          integrationId,
          settings,
          deps,
          ctx,
          report,
        },
        error,
        {},
      ),
  });
  await forEachBounded(targets, projectConcurrency, (target) =>
    sweepProject({ ...target, integrationId, settings, deps, ctx, report }),
  );
  ctx.countSweepFailures(report.errors.length);
  return sortSweepReport(report);
}

export const sweepOperation = databaseOperation(SweepPayload, sweep);
