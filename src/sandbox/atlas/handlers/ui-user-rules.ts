import type { RequestContext } from '../context.js';
import { atlasError } from '../errors.js';
import { isoSeconds } from '../ids.js';
import type { MembershipStatus, OrgUserRec } from '../model.js';

/** Rules shared by the organization-user, project-user and team endpoints (Atlas UI access). */

export const orgRoleNames: ReadonlySet<string> = new Set([
  'ORG_OWNER',
  'ORG_GROUP_CREATOR',
  'ORG_BILLING_ADMIN',
  'ORG_BILLING_READ_ONLY',
  'ORG_STREAM_PROCESSING_ADMIN',
  'ORG_READ_ONLY',
  'ORG_MEMBER',
]);

/** Project roles as the current Atlas docs list them; the spec treats them as free strings. */
export const groupRoleNames: ReadonlySet<string> = new Set([
  'GROUP_OWNER',
  'GROUP_CLUSTER_MANAGER',
  'GROUP_STREAM_PROCESSING_OWNER',
  'GROUP_DATA_ACCESS_ADMIN',
  'GROUP_DATA_ACCESS_READ_WRITE',
  'GROUP_DATA_ACCESS_READ_ONLY',
  'GROUP_READ_ONLY',
  'GROUP_SEARCH_INDEX_EDITOR',
  'GROUP_BACKUP_MANAGER',
  'GROUP_OBSERVABILITY_VIEWER',
  'GROUP_DATABASE_ACCESS_ADMIN',
  'GROUP_REPLICA_SET_MANAGER',
  'GROUP_CLUSTER_CREATOR',
  'GROUP_CLUSTER_LOG_VIEWER',
  'GROUP_CLUSTER_RESILIENCE_TESTER',
  'GROUP_ACCESS_MANAGER',
  'GROUP_BACKUP_CREATOR',
  'GROUP_BACKUP_RECOVERY_OPERATOR',
  'GROUP_BACKUP_EXPORT_OPERATOR',
  'GROUP_NETWORK_ACCESS_MANAGER',
  'GROUP_TRIGGER_MANAGER',
  'GROUP_INDEX_MANAGER',
  'GROUP_REAL_TIME_PERFORMANCE_OPERATOR',
  'GROUP_SUPPORT_ACCESS_MANAGER',
  'GROUP_ALERTS_MANAGER',
  'GROUP_MODEL_OWNER',
]);

const invitationLifetimeMs = 30 * 86_400_000;

export function checkOrgRole(role: string, orgId: string): void {
  if (!orgRoleNames.has(role)) throw atlasError('INVALID_ROLE_FOR_ORG', role, orgId);
}

export function checkGroupRole(role: string, groupId: string): void {
  if (!groupRoleNames.has(role)) throw atlasError('INVALID_ROLE_FOR_GROUP', role, groupId);
}

/** "A user must have at least one role at all times" — Atlas's wording for `:removeRole`. */
export function refuseLastRole(remaining: readonly string[]): void {
  if (remaining.length === 0)
    throw atlasError('VALIDATION_ERROR', 'a user must have at least one role at all times');
}

/** Demoting (`:removeRole`) or deleting the organization's only active owner is refused. */
export function refuseLastOrgOwner(
  ctx: RequestContext,
  user: OrgUserRec,
  code: 'CANNOT_DEMOTE_LAST_ORG_OWNER' | 'CANNOT_DELETE_LAST_ADMIN' = 'CANNOT_DEMOTE_LAST_ORG_OWNER',
): void {
  if (!user.orgRoles.includes('ORG_OWNER')) return;
  const owners = ctx.sim.state
    .orgUsersOf(user.orgId)
    .filter((u) => u.status === 'ACTIVE' && u.orgRoles.includes('ORG_OWNER'));
  if (owners.length <= 1 && user.status === 'ACTIVE') throw atlasError(code);
}

/** The same rule for a project's only active `GROUP_OWNER`. */
export function refuseLastProjectOwner(
  ctx: RequestContext,
  projectId: string,
  user: OrgUserRec,
  code: 'CANNOT_DEMOTE_LAST_OWNER' | 'CANNOT_DELETE_LAST_OWNER',
): void {
  if (user.status !== 'ACTIVE' || !user.groupRoles.get(projectId)?.includes('GROUP_OWNER')) return;
  const owners = ctx.sim.state
    .orgUsersOf(user.orgId)
    .filter((u) => u.status === 'ACTIVE' && u.groupRoles.get(projectId)?.includes('GROUP_OWNER'));
  if (owners.length <= 1) throw atlasError(code);
}

/**
 * Atlas sends at most `invitationsPerMinute` invitations per client IP per window (a minute), whatever
 * the organization or key (`INVITATIONS_RATE_LIMITED_IP`); every loopback client counts as one.
 */
export function takeInvitation(ctx: RequestContext): void {
  const { invitations, knobs } = ctx.sim;
  const client = ctx.actor.clientAddress;
  const recent = (invitations.get(client) ?? []).filter((t) => t > ctx.now - knobs.invitationWindowMs);
  if (recent.length >= knobs.invitationsPerMinute) {
    invitations.set(client, recent);
    throw atlasError(
      'INVITATIONS_RATE_LIMITED_IP',
      knobs.invitationsPerMinute,
      Math.ceil(knobs.invitationWindowMs / 60_000),
    );
  }
  invitations.set(client, [...recent, ctx.now]);
}

/** The inviter an invitation shows; an API key has no e-mail, so it gets a recognisable stand-in. */
function inviterOf(ctx: RequestContext): string {
  const { credential } = ctx.actor;
  return `${credential.name.replace(/[^A-Za-z0-9._-]/g, '-')}@api-keys.atlas-simulator.invalid`;
}

export function newPendingUser(
  ctx: RequestContext,
  orgId: string,
  username: string,
  orgRoles: string[],
): OrgUserRec {
  return {
    id: ctx.sim.state.ids.next(),
    orgId,
    username,
    status: 'PENDING',
    firstName: '',
    lastName: '',
    createdAt: isoSeconds(ctx.now),
    invitationCreatedAt: isoSeconds(ctx.now),
    invitationExpiresAt: isoSeconds(ctx.now + invitationLifetimeMs),
    inviterUsername: inviterOf(ctx),
    orgRoles,
    groupRoles: new Map(),
    teamIds: new Set(),
  };
}

/** The ACTIVE or PENDING user with that e-mail; lapsed invitations do not count as members. */
export function findByUsername(ctx: RequestContext, orgId: string, username: string): OrgUserRec | undefined {
  return ctx.sim.state
    .orgUsersOf(orgId)
    .find(
      (u) =>
        (u.status === 'ACTIVE' || u.status === 'PENDING') &&
        u.username.toLowerCase() === username.toLowerCase(),
    );
}

/** "Replaces INVITATION_EXPIRED and INVITATION_REJECTED user with the same email" (createOrgUser). */
export function dropLapsedInvitations(ctx: RequestContext, orgId: string, username: string): void {
  for (const u of ctx.sim.state.orgUsersOf(orgId)) {
    if (u.status === 'ACTIVE' || u.status === 'PENDING') continue;
    if (u.username.toLowerCase() !== username.toLowerCase()) continue;
    for (const teamId of u.teamIds) ctx.sim.state.teams.get(teamId)?.userIds.delete(u.id);
    ctx.sim.state.orgUsers.delete(u.id);
  }
}

/**
 * What the invited person does by clicking the e-mail link: PENDING becomes ACTIVE with the roles
 * the invitation carried. Not an API call; tests and the sandbox demo use it (`/__sim/invitations:accept`).
 */
export function acceptInvitation(user: OrgUserRec): void {
  user.status = 'ACTIVE';
  user.firstName = user.username.split('@')[0] ?? 'Invited';
  user.lastName = 'User';
  delete user.invitationCreatedAt;
  delete user.invitationExpiresAt;
  delete user.inviterUsername;
}

/**
 * `orgMembershipStatuses` query filter; Atlas defaults to ACTIVE and PENDING. The listings also take
 * the deprecated single-valued `orgMembershipStatus` (`deprecatedName`), which the spec says
 * "cannot be combined" with the new one: both is a 400. `getOrgUser`/`getGroupUser` declare only
 * `orgMembershipStatuses`, so the old name is an unknown parameter there and changes nothing.
 */
export function statusFilter(
  query: URLSearchParams,
  { deprecatedName }: { deprecatedName: boolean },
): (status: MembershipStatus) => boolean {
  const current = query.getAll('orgMembershipStatuses');
  const deprecated = deprecatedName ? query.getAll('orgMembershipStatus') : [];
  if (current.length > 0 && deprecated.length > 0)
    throw atlasError('INVALID_QUERY_PARAMETER', 'orgMembershipStatus');
  const values = [...current, ...deprecated].flatMap((v) => v.split(',')).filter((v) => v !== '');
  const allowed = new Set(values.length > 0 ? values : ['ACTIVE', 'PENDING']);
  for (const v of allowed) {
    if (!['ACTIVE', 'PENDING', 'INVITATION_EXPIRED', 'INVITATION_REJECTED'].includes(v)) {
      throw atlasError('INVALID_QUERY_PARAMETER', 'orgMembershipStatuses');
    }
  }
  return (status) => allowed.has(status);
}

export function usernameFilter(query: URLSearchParams): (username: string) => boolean {
  const wanted = query.get('username')?.toLowerCase();
  return (username) => wanted === undefined || username.toLowerCase() === wanted;
}
