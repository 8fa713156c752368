import type { OrgUser, ProjectUser } from '../../atlas/index.js';
import { invitationRetryAfterMs, isInvitationLimit } from '../../atlas/atlas-error.js';
import { ConnectorError } from '../../errors/connector-error.js';
import type { GrantIntent } from './payloads.js';
import { isConflict, projectRolesOf, type PortalCtx, type PortalDeps } from './person.js';
import { baselineOrgRole, type Access } from './roles.js';
import type { ValidatedGrant } from './validate.js';

/**
 * The org-portal grant's Atlas writes: the invitation and the role and membership writes to a
 * member, each claimed by the grant's intent before it is sent (grant.ts drives them).
 */

/** The project roles of `access`, by project. */
export function byProject(access: readonly Access[]): Map<string, string[]> {
  const projects = new Map<string, string[]>();
  for (const a of access) {
    if (a.level === 'project') projects.set(a.projectId, [...(projects.get(a.projectId) ?? []), a.role]);
  }
  return projects;
}

/**
 * A write Atlas counts as an invitation (`createOrgUser`; `addGroupUsers` for a pending invitee):
 * it takes a slot of the daemon-wide invitation pacer, and Atlas's invitation limit (per IP) holds
 * every invitation of the daemon off for a minute. `claim` records the intent that claims the
 * write once the slot is taken: the wait for it can last minutes, and a job that ends in it
 * (cancelled, its lease lost) must leave no intent, made into a record, claiming a write never sent.
 */
async function asInvitation<T>(
  deps: PortalDeps,
  ctx: PortalCtx,
  write: () => Promise<T>,
  claim?: () => Promise<void>,
): Promise<T> {
  const done = await deps.invitations.acquire(ctx.signal);
  try {
    await claim?.();
    ctx.beforeSideEffect();
    return await write();
  } catch (error) {
    if (isInvitationLimit(error)) deps.invitations.holdOff(invitationRetryAfterMs);
    throw error;
  } finally {
    done();
  }
}

/**
 * `createOrgUser` with every requested role: one write, one invitation e-mail. ORG_MEMBER is always
 * among the org roles, so revoking the granted org roles later never meets the last-role rule.
 * Returns undefined when Atlas answers 409 (someone invited or added the person meanwhile).
 */
export async function invite(
  deps: PortalDeps,
  ctx: PortalCtx,
  orgId: string,
  grant: ValidatedGrant,
  claim: () => Promise<void>,
) {
  const orgRoles = [baselineOrgRole, ...grant.access.flatMap((a) => (a.level === 'org' ? [a.role] : []))];
  const groupRoleAssignments = [...byProject(grant.access)].map(([groupId, groupRoles]) => ({
    groupId,
    groupRoles,
  }));
  const roles = { orgRoles: [...new Set(orgRoles)], groupRoleAssignments };
  try {
    return await asInvitation(
      deps,
      ctx,
      () => deps.atlas.orgUsers.invite(orgId, { username: grant.email, roles }, { signal: ctx.signal }),
      claim,
    );
  } catch (error) {
    if (isConflict(error)) return undefined;
    throw error;
  }
}

/**
 * What an attempt's writes did, filled in as each one lands, so that the caller still has it when
 * a later write fails.
 */
export interface Landed {
  /** Roles written. */
  readonly roles: Access[];
  /** Projects whose membership `addGroupUsers` created. */
  readonly projectMemberships: string[];
  /** Roles someone else gave the person between the read and the write (`:addRole` answered 409). */
  readonly raced: Access[];
  /** An `addGroupUsers` that landed on another membership than the one read (`landedElsewhere`). */
  elsewhere?: GrantIntent;
}

/** One `:addRole`; a 409 (the person holds the role after all: someone added it meanwhile) is noted. */
async function addRole(ctx: PortalCtx, landed: Landed, access: Access, call: () => Promise<unknown>) {
  ctx.beforeSideEffect();
  try {
    await call();
    landed.roles.push(access);
  } catch (error) {
    if (!isConflict(error)) throw error;
    landed.raced.push(access);
  }
}

/**
 * Records the intent that claims a pending invitee's first roles in a project (an invitation
 * write), once its pacer slot is taken.
 */
export type ClaimProject = (projectId: string) => Promise<void>;

/**
 * `addGroupUsers` names the person by e-mail: one who left the organization between the read and
 * the write is invited anew with the project (Atlas sends an invitation to an e-mail with none),
 * and one whose invitation was withdrawn and sent again gets the project on the new one. The write
 * landed, on a membership the grant never read: the intent claims that membership's project roles
 * and, when it is pending, the invitation, so that the retry (which reads the person again) counts
 * them as this grant's and its revoke removes them, as for an invitation the grant sent itself.
 */
function landedElsewhere(
  landed: Landed,
  person: OrgUser,
  projectId: string,
  member: ProjectUser,
  roles: readonly string[],
  expiresAt: string,
): ConnectorError {
  landed.elsewhere = {
    userId: member.id,
    expiresAt,
    added: roles.map((role) => ({ level: 'project', projectId, role })),
    created: { invitation: member.orgMembershipStatus === 'PENDING', projectMemberships: [projectId] },
  };
  return new ConnectorError({
    code: 'conflict',
    retryable: true,
    message: `requester.email: ${person.username} left the organization between the read and the write; Atlas put project ${projectId} on another membership (user ${member.id}); the job is retried and reads the person again`,
    details: { field: 'requester.email' },
  });
}

/** Adds one project's missing roles; a first role in the project creates the membership. */
async function addProjectRoles(
  deps: PortalDeps,
  ctx: PortalCtx,
  person: OrgUser,
  projectId: string,
  roles: readonly string[],
  landed: Landed,
  claimProject: ClaimProject,
  expiresAt: string,
): Promise<void> {
  const access = (role: string): Access => ({ level: 'project', projectId, role });
  if (projectRolesOf(person, projectId).length === 0) {
    const add = () =>
      deps.atlas.projectUsers.add(projectId, { username: person.username, roles }, { signal: ctx.signal });
    let member: ProjectUser | undefined;
    try {
      // For a pending invitee this adds the project to the invitation: an invitation to Atlas.
      if (person.orgMembershipStatus === 'PENDING')
        member = await asInvitation(deps, ctx, add, () => claimProject(projectId));
      else {
        ctx.beforeSideEffect();
        member = await add();
      }
    } catch (error) {
      // 409: the person is in the project after all (a concurrent change); fall back to :addRole.
      if (!isConflict(error)) throw error;
    }
    if (member !== undefined) {
      if (member.id !== person.id) throw landedElsewhere(landed, person, projectId, member, roles, expiresAt);
      landed.roles.push(...roles.map(access));
      landed.projectMemberships.push(projectId);
      return;
    }
  }
  for (const role of roles) {
    await addRole(ctx, landed, access(role), () =>
      deps.atlas.projectUsers.addRole(projectId, person.id, role, { signal: ctx.signal }),
    );
  }
}

export async function addMissing(
  deps: PortalDeps,
  ctx: PortalCtx,
  orgId: string,
  person: OrgUser,
  toAdd: readonly Access[],
  landed: Landed,
  claimProject: ClaimProject,
  expiresAt: string,
): Promise<void> {
  for (const a of toAdd) {
    if (a.level !== 'org') continue;
    await addRole(ctx, landed, a, () =>
      deps.atlas.orgUsers.addRole(orgId, person.id, a.role, { signal: ctx.signal }),
    );
  }
  for (const [projectId, roles] of byProject(toAdd)) {
    await addProjectRoles(deps, ctx, person, projectId, roles, landed, claimProject, expiresAt);
  }
}
