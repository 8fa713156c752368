import type { RequestContext } from '../context.js';
import { param } from '../context.js';
import { atlasError } from '../errors.js';
import type { ClusterRec, MembershipStatus, OrgUserRec, ProjectRec, TeamRec } from '../model.js';

/**
 * Lookups that turn a missing entity into Atlas's 404. The pipeline has already checked the
 * `groupId`/`orgId` in the path, so those two only fail if a handler is wired to the wrong route.
 */

export function requireProject(ctx: RequestContext): ProjectRec {
  const groupId = param(ctx, 'groupId');
  const project = ctx.sim.state.project(groupId);
  if (!project) throw atlasError('GROUP_NOT_FOUND', groupId);
  return project;
}

export function requireOrg(ctx: RequestContext): { id: string; name: string } {
  const orgId = param(ctx, 'orgId');
  const org = ctx.sim.state.orgs.get(orgId);
  if (!org) throw atlasError('ORG_NOT_FOUND', orgId);
  return org;
}

export function requireCluster(ctx: RequestContext, kind: 'dedicated' | 'flex', name: string): ClusterRec {
  const project = requireProject(ctx);
  const cluster = ctx.sim.state.findCluster(project.id, name, kind);
  if (!cluster) throw atlasError('CLUSTER_NOT_FOUND', name, project.id);
  return cluster;
}

/**
 * An Atlas UI user of this organization: unknown id → USER_NOT_FOUND, other org → USER_NOT_IN_ORG.
 * `listed`: the membership statuses the call asked for (`getOrgUser`/`getGroupUser` take
 * `orgMembershipStatuses`); every other operation acts on ACTIVE and PENDING users only.
 */
export function requireOrgUser(
  ctx: RequestContext,
  orgId: string,
  userId: string,
  listed: (status: MembershipStatus) => boolean = (status) => status === 'ACTIVE' || status === 'PENDING',
): OrgUserRec {
  if (!/^[a-f0-9]{24}$/.test(userId)) throw atlasError('INVALID_USER_ID', userId);
  const user = ctx.sim.state.orgUsers.get(userId);
  if (!user) throw atlasError('USER_NOT_FOUND', userId);
  if (user.orgId !== orgId) throw atlasError('USER_NOT_IN_ORG', userId, orgId);
  // The spec: a user whose only invitation EXPIRED or was REJECTED does not belong to the org.
  if (!listed(user.status)) throw atlasError('USER_NOT_IN_ORG', userId, orgId);
  return user;
}

export function requireTeam(ctx: RequestContext, orgId: string, teamId: string): TeamRec {
  if (!/^[a-f0-9]{24}$/.test(teamId)) throw atlasError('INVALID_TEAM_ID', teamId);
  const team = ctx.sim.state.teams.get(teamId);
  if (!team || team.orgId !== orgId) throw atlasError('TEAM_NOT_FOUND', teamId);
  return team;
}
