import type { OrgUser } from '../../atlas/index.js';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import { addedKeys, onMembership, sentInvitation } from './ledger.js';
import type { GrantRecord } from './payloads.js';
import {
  findPerson,
  heldAccess,
  isAtlasCode,
  isConflict,
  isPersonGone,
  projectRolesOf,
  type PortalCtx,
  type PortalDeps,
} from './person.js';
import { accessKey, baselineOrgRole, distinctAccess, type Access } from './roles.js';

/** Why a connector-added role stays: Atlas's invariants, reported as an outcome, never retried. */
export type KeptReason = 'last_org_role' | 'last_org_owner' | 'last_project_role' | 'last_project_owner';

export interface RemovalOutcome {
  readonly removed: Access[];
  /** Added by the ending grants, still needed by another active grant of the same person. */
  readonly stillNeeded: Access[];
  readonly kept: { access: Access; reason: KeptReason }[];
  invitationDeleted: boolean;
  readonly projectMembershipsDeleted: string[];
  /** The person left the organization (or the invitation lapsed) while we worked. */
  personGone: boolean;
}

export interface Removal {
  readonly orgId: string;
  readonly person: OrgUser;
  /** The grants that end now (a revoke's one, a sweep's expired ones). */
  readonly ending: readonly GrantRecord[];
  /** The same person's other active grants: what they added stays. */
  readonly keeping: readonly GrantRecord[];
}

export function emptyOutcome(): RemovalOutcome {
  return {
    removed: [],
    stillNeeded: [],
    kept: [],
    invitationDeleted: false,
    projectMembershipsDeleted: [],
    personGone: false,
  };
}

/** Runs one Atlas write; a "person is gone" answer ends the removal instead of failing it. */
async function write(out: RemovalOutcome, ctx: PortalCtx, call: () => Promise<unknown>): Promise<boolean> {
  if (out.personGone) return false;
  ctx.beforeSideEffect();
  try {
    await call();
    return true;
  } catch (error) {
    if (!isPersonGone(error)) throw error;
    out.personGone = true;
    return false;
  }
}

/**
 * Atlas refuses to remove a person's last role at a level ("A user must have at least one role at
 * all times": 400 `VALIDATION_ERROR`). The removal checked that against its read, so another writer
 * took the other roles since: a sweep of the same person (it runs under its own key) or someone in
 * Atlas. A race, not a refusal of the request: failed for good, a revoke would leave the role until
 * the grant's expiry. The job is retried, reads the person again, and the last-role rules apply to
 * what it finds.
 */
function lastRoleRaced(error: unknown, access: Access): ConnectorError | undefined {
  // The spec declares a 409 on :removeRole and does not say what it means; a concurrent change is
  // the only reading, so it is retried like the 400 seen for a last role.
  if (!isConflict(error) && !isAtlasCode(error, 'VALIDATION_ERROR')) return undefined;
  const where = access.level === 'org' ? 'the organization' : `project ${access.projectId}`;
  return new ConnectorError({
    code: 'conflict',
    retryable: true,
    message: `access: Atlas refused to remove ${access.role}, the person's last role in ${where}: another change took the others since the read; the job is retried and reads the person again`,
    details: {
      field: 'access',
      atlasErrorCode: isConnectorError(error) ? error.details.atlasErrorCode : undefined,
    },
    cause: error,
  });
}

/**
 * The person holds nothing in the project any more: removed from it (`USER_NOT_IN_GROUP`: this
 * delete's retry after a lost answer, a sweep that got there first), or the project itself deleted
 * since the read (`GROUP_NOT_FOUND`, `INVALID_GROUP_ID`), its roles with it. The removal has
 * converged there; failed for good, a revoke would leave its record open and unexpired, keeping the
 * roles it shares alive through the other grants' revokes until its end.
 */
function projectMembershipGone(error: unknown): boolean {
  return isAtlasCode(error, 'USER_NOT_IN_GROUP', 'GROUP_NOT_FOUND', 'INVALID_GROUP_ID');
}

/** Runs one role's removal: an unexpected failure is kept for later, so the other roles still go. */
type Step = (remove: () => Promise<void>) => Promise<void>;

/**
 * Adds ORG_MEMBER before a removal that would leave the person no org role. A 409 says the person
 * holds it after all (someone gave it since the read, as a grant's `:addRole` meets): the removal
 * goes on. Failed for good instead, a revoke would leave the grant's role until its expiry.
 */
async function addBaseline(deps: PortalDeps, ctx: PortalCtx, r: Removal, out: RemovalOutcome) {
  try {
    return await write(out, ctx, () =>
      deps.atlas.orgUsers.addRole(r.orgId, r.person.id, baselineOrgRole, { signal: ctx.signal }),
    );
  } catch (error) {
    if (isConflict(error)) return true;
    throw error;
  }
}

async function removeOrgRole(
  deps: PortalDeps,
  ctx: PortalCtx,
  r: Removal,
  out: RemovalOutcome,
  access: Access & { level: 'org' },
) {
  const { orgId, person } = r;
  const remaining = person.roles.orgRoles.filter(
    (role) => role !== access.role && !out.removed.some((a) => a.level === 'org' && a.role === role),
  );
  if (remaining.length === 0) {
    // A person keeps at least one org role: ORG_MEMBER goes in first, unless it is the role itself.
    if (access.role === baselineOrgRole) return void out.kept.push({ access, reason: 'last_org_role' });
    if (!(await addBaseline(deps, ctx, r, out))) return;
  }
  try {
    if (
      await write(out, ctx, () =>
        deps.atlas.orgUsers.removeRole(orgId, person.id, access.role, { signal: ctx.signal }),
      )
    )
      out.removed.push(access);
  } catch (error) {
    if (!isAtlasCode(error, 'CANNOT_DEMOTE_LAST_ORG_OWNER', 'CANNOT_DELETE_LAST_ADMIN'))
      throw lastRoleRaced(error, access) ?? error;
    out.kept.push({ access, reason: 'last_org_owner' });
  }
}

async function removeProjectRoles(
  deps: PortalDeps,
  ctx: PortalCtx,
  r: Removal,
  out: RemovalOutcome,
  projectId: string,
  roles: Access[],
  step: Step,
) {
  const { person } = r;
  const current = projectRolesOf(person, projectId);
  const leaving = new Set(roles.map((a) => (a.level === 'project' ? a.role : '')));
  const createdHere = r.ending.some((g) => g.created.projectMemberships.includes(projectId));
  // Only roles still held here pin the membership: one someone removed in Atlas needs nothing.
  const neededHere = r.keeping.some((g) =>
    g.added.some((a) => a.level === 'project' && a.projectId === projectId && current.includes(a.role)),
  );
  if (current.every((role) => leaving.has(role)) && createdHere && !neededHere) {
    try {
      if (
        await write(out, ctx, () =>
          deps.atlas.projectUsers.remove(projectId, person.id, { signal: ctx.signal }),
        )
      ) {
        out.removed.push(...roles);
        out.projectMembershipsDeleted.push(projectId);
      }
    } catch (error) {
      // Already gone (removeGroupUser is idempotent): the roles are no longer held.
      if (projectMembershipGone(error)) {
        out.removed.push(...roles);
        return;
      }
      if (!isAtlasCode(error, 'CANNOT_DELETE_LAST_OWNER', 'CANNOT_DELETE_LAST_ADMIN')) throw error;
      out.kept.push(...roles.map((access) => ({ access, reason: 'last_project_owner' as const })));
    }
    return;
  }
  let left = current.length;
  for (const access of roles) {
    if (access.level !== 'project') continue;
    if (left <= 1) {
      out.kept.push({ access, reason: 'last_project_role' });
      continue;
    }
    await step(async () => {
      try {
        const done = await write(out, ctx, () =>
          deps.atlas.projectUsers.removeRole(projectId, person.id, access.role, { signal: ctx.signal }),
        );
        if (done) {
          out.removed.push(access);
          left -= 1;
        }
      } catch (error) {
        if (projectMembershipGone(error)) return;
        if (!isAtlasCode(error, 'CANNOT_DEMOTE_LAST_OWNER', 'CANNOT_DELETE_LAST_ADMIN'))
          throw lastRoleRaced(error, access) ?? error;
        out.kept.push({ access, reason: 'last_project_owner' });
      }
    });
  }
}

/**
 * A pending invitation this connector sent with nothing on it but ORG_MEMBER and the roles being
 * removed (so no role another unrevoked grant still needs, ORG_MEMBER included): delete it. A role or a team someone else added to the
 * invitation keeps it (the ending grants' roles then go one by one; deleting it would take the team
 * membership too). So does another invitation than the one the grant recorded: someone re-invited
 * the person after the grant's own was withdrawn, declined or lapsed. (A pending invitation has not
 * been accepted, so its user id is the one the grant saw; a record that carries none never gets
 * here: `onMembership` leaves it out.)
 */
function ownsWholeInvitation(
  r: Removal,
  held: ReadonlySet<string>,
  toRemove: readonly Access[],
  needed: ReadonlySet<string>,
): boolean {
  const { person } = r;
  // Another unrevoked grant pins the invitation only through a role of its own still on it, which
  // the check below refuses (as `neededHere` does for a membership): one that holds nothing there
  // must not keep an invitation alive that no revoke could then delete.
  if (person.orgMembershipStatus !== 'PENDING') return false;
  if ((person.teamIds ?? []).length > 0) return false;
  if (!r.ending.some((g) => sentInvitation(g, person.id))) return false;
  // ORG_MEMBER that another grant still needs is that grant's invitation to the organization: it
  // keeps the invitation, as in withdrawEmptiedInvitation.
  const member = accessKey({ level: 'org', role: baselineOrgRole });
  if (needed.has(member)) return false;
  const ours = new Set([...toRemove.map(accessKey), member]);
  return [...held].every((key) => ours.has(key));
}

/**
 * Withdraws an invitation an ending grant sent once the roles removed one by one leave nothing on
 * it but ORG_MEMBER (read again: the read before the removals saw more). A revoke and a sweep of the
 * person run at once (under different keys) each see the other's role on it, so neither deletes it
 * whole; left pending under no record, it would let the person join the organization long after
 * every grant ended. Whichever of them removes last finds it empty here.
 */
async function withdrawEmptiedInvitation(
  deps: PortalDeps,
  ctx: PortalCtx,
  r: Removal,
  out: RemovalOutcome,
  needed: ReadonlySet<string>,
) {
  const { person } = r;
  const member = accessKey({ level: 'org', role: baselineOrgRole });
  if (out.removed.length === 0 || out.personGone || needed.has(member)) return;
  if (person.orgMembershipStatus !== 'PENDING' || !r.ending.some((g) => sentInvitation(g, person.id))) return;
  const now = await findPerson(deps, ctx, r.orgId, person.username);
  if (now?.id !== person.id || now.orgMembershipStatus !== 'PENDING' || (now.teamIds ?? []).length > 0)
    return;
  const held = heldAccess(now);
  if (held.size !== 1 || !held.has(member)) return;
  if (await write(out, ctx, () => deps.atlas.orgUsers.remove(r.orgId, person.id, { signal: ctx.signal })))
    out.invitationDeleted = true;
}

/** The baseline role last: by then it is known whether it is the person's last org role. */
const baselineLast = (a: Access, b: Access): number =>
  Number(a.role === baselineOrgRole) - Number(b.role === baselineOrgRole);

/**
 * Removes what the ending grants added and no kept grant still needs, as far as the person still
 * holds it: never a role held before (it is in no `added`), never the last org role, and a project
 * membership or invitation only when one of the ending grants created it. `out` collects what was
 * done as it is done, so a caller still has it when a later write fails.
 */
export async function removeGrants(
  deps: PortalDeps,
  ctx: PortalCtx,
  removal: Removal,
  out: RemovalOutcome = emptyOutcome(),
): Promise<RemovalOutcome> {
  // A grant made on an invitation that is gone added nothing to this one: its roles here are not
  // ours to remove, nor ours to keep (kept for it, a role no revoke could ever remove would stay).
  const onIt = (g: GrantRecord) => onMembership(g, removal.person);
  const r = { ...removal, ending: removal.ending.filter(onIt), keeping: removal.keeping.filter(onIt) };
  const needed = addedKeys(r.keeping);
  const ending = distinctAccess(r.ending.flatMap((g) => g.added));
  out.stillNeeded.push(...ending.filter((a) => needed.has(accessKey(a))));
  const held = heldAccess(r.person);
  const toRemove = ending.filter((a) => !needed.has(accessKey(a)) && held.has(accessKey(a)));
  if (ownsWholeInvitation(r, held, toRemove, needed)) {
    ctx.beforeSideEffect();
    try {
      await deps.atlas.orgUsers.remove(r.orgId, r.person.id, { signal: ctx.signal });
    } catch (error) {
      // Already gone: this delete's retry after a lost answer (the client retries an idempotent
      // DELETE), or the invitation lapsed or was declined meanwhile. Either way the invitation and
      // the roles on it are gone: the revoke has converged, as for a membership below.
      if (!isPersonGone(error)) throw error;
    }
    out.invitationDeleted = true;
    out.removed.push(...toRemove);
    return out;
  }
  // One role Atlas refuses unexpectedly does not keep the person's other roles in place (a sweep
  // would otherwise meet the same refusal every time and never remove the rest): every removal
  // runs, and a failure is rethrown at the end, with `out` saying what went. A retryable one comes
  // first: failed for good with an earlier refusal, a revoke would leave the role a 5xx or a 429
  // kept until the grant's expiry, where its retry removes it (and then fails with the refusal).
  const failures: ConnectorError[] = [];
  const step: Step = async (remove) => {
    try {
      await remove();
    } catch (error) {
      if (ctx.signal.aborted || !isConnectorError(error)) throw error;
      if (error.code === 'cancelled' || error.code === 'lease_lost') throw error;
      failures.push(error);
    }
  };
  const orgRemovals = toRemove.filter((a): a is Access & { level: 'org' } => a.level === 'org');
  for (const a of orgRemovals.sort(baselineLast)) await step(() => removeOrgRole(deps, ctx, r, out, a));
  const projects = new Map<string, Access[]>();
  for (const a of toRemove)
    if (a.level === 'project') projects.set(a.projectId, [...(projects.get(a.projectId) ?? []), a]);
  for (const [projectId, roles] of projects)
    await step(() => removeProjectRoles(deps, ctx, r, out, projectId, roles, step));
  const failure = failures.find((error) => error.retryable) ?? failures[0];
  if (failure) throw failure;
  await withdrawEmptiedInvitation(deps, ctx, r, out, needed);
  return out;
}
