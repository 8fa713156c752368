import type { HandlerResult, RequestContext, RouteDef } from '../context.js';
import { param, v20250219 } from '../context.js';
import { atlasError } from '../errors.js';
import type { MembershipStatus, OrgUserRec, ProjectRec } from '../model.js';
import { paginate } from '../pagination.js';
import { groupRoleBodySchema, groupUserRequestSchema, parseBody } from '../request-schemas.js';
import { groupUserView } from '../views.js';
import { requireOrgUser, requireProject } from './lookup.js';
import {
  checkGroupRole,
  dropLapsedInvitations,
  findByUsername,
  newPendingUser,
  refuseLastProjectOwner,
  refuseLastRole,
  statusFilter,
  takeInvitation,
  usernameFilter,
} from './ui-user-rules.js';

function recordEvent(
  ctx: RequestContext,
  project: ProjectRec,
  user: OrgUserRec,
  eventTypeName: string,
): void {
  ctx.sim.state.recordEvent(
    { eventTypeName, kind: 'user', orgId: project.orgId, groupId: project.id, targetUsername: user.username },
    ctx.now,
    ctx.actor,
  );
}

/** Roles a user holds in the project: direct ones, plus (when asked) via teams and org roles. */
function rolesIn(ctx: RequestContext, project: ProjectRec, user: OrgUserRec): string[] {
  const roles = new Set(user.groupRoles.get(project.id) ?? []);
  if (ctx.query.get('flattenTeams') === 'true') {
    for (const teamId of user.teamIds) {
      for (const r of ctx.sim.state.teams.get(teamId)?.projectRoles.get(project.id) ?? []) roles.add(r);
    }
  }
  if (ctx.query.get('includeOrgUsers') === 'true') {
    if (user.orgRoles.includes('ORG_OWNER')) roles.add('GROUP_OWNER');
    if (user.orgRoles.includes('ORG_READ_ONLY')) roles.add('GROUP_READ_ONLY');
  }
  return [...roles];
}

function requireProjectUser(
  ctx: RequestContext,
  project: ProjectRec,
  listed?: (status: MembershipStatus) => boolean,
): OrgUserRec {
  const userId = param(ctx, 'userId');
  const user = requireOrgUser(ctx, project.orgId, userId, listed);
  if (!user.groupRoles.has(project.id)) throw atlasError('USER_NOT_IN_GROUP', userId, project.id);
  return user;
}

function listGroupUsers(ctx: RequestContext): HandlerResult {
  const project = requireProject(ctx);
  const statusOk = statusFilter(ctx.query, { deprecatedName: true });
  const nameOk = usernameFilter(ctx.query);
  const members = ctx.sim.state
    .orgUsersOf(project.orgId)
    .map((u) => ({ u, roles: rolesIn(ctx, project, u) }))
    .filter(({ u, roles }) => roles.length > 0 && statusOk(u.status) && nameOk(u.username));
  return { status: 200, body: paginate(ctx, members, ({ u, roles }) => groupUserView(u, roles)) };
}

/** An ACTIVE org member gets access at once; anyone else gets (or extends) an invitation. */
function addGroupUser(ctx: RequestContext): HandlerResult {
  const project = requireProject(ctx);
  const body = parseBody(groupUserRequestSchema, ctx.body);
  body.roles.forEach((r) => checkGroupRole(r, project.id));
  const existing = findByUsername(ctx, project.orgId, body.username);
  if (existing?.groupRoles.has(project.id)) throw atlasError('USER_ALREADY_EXISTS', body.username);
  if (!existing) {
    takeInvitation(ctx);
    dropLapsedInvitations(ctx, project.orgId, body.username);
  }
  const user = existing ?? newPendingUser(ctx, project.orgId, body.username, ['ORG_MEMBER']);
  const roles = [...new Set(body.roles)];
  user.groupRoles.set(project.id, roles);
  ctx.sim.state.orgUsers.set(user.id, user);
  recordEvent(ctx, project, user, user.status === 'ACTIVE' ? 'JOINED_GROUP' : 'INVITED_TO_GROUP');
  return { status: 201, body: groupUserView(user, roles) };
}

function changeGroupRole(ctx: RequestContext, add: boolean): HandlerResult {
  const project = requireProject(ctx);
  const user = requireProjectUser(ctx, project);
  const { groupRole } = parseBody(groupRoleBodySchema, ctx.body);
  checkGroupRole(groupRole, project.id);
  const current = user.groupRoles.get(project.id) ?? [];
  const next = add ? [...new Set([...current, groupRole])] : current.filter((r) => r !== groupRole);
  refuseLastRole(next);
  if (!add && groupRole === 'GROUP_OWNER')
    refuseLastProjectOwner(ctx, project.id, user, 'CANNOT_DEMOTE_LAST_OWNER');
  user.groupRoles.set(project.id, next);
  recordEvent(ctx, project, user, 'USER_ROLES_CHANGED_AUDIT');
  return { status: 200, body: groupUserView(user, next) };
}

const userPath = '/groups/{groupId}/users/{userId}';

export const projectUserRoutes: RouteDef[] = [
  {
    operationId: 'listGroupUsers',
    method: 'GET',
    path: '/groups/{groupId}/users',
    versions: v20250219,
    access: 'groupRead',
    handler: listGroupUsers,
  },
  {
    operationId: 'addGroupUsers',
    method: 'POST',
    path: '/groups/{groupId}/users',
    versions: v20250219,
    access: 'groupAccessManager',
    hasBody: true,
    handler: addGroupUser,
  },
  {
    operationId: 'getGroupUser',
    method: 'GET',
    path: userPath,
    versions: v20250219,
    access: 'groupRead',
    handler: (ctx) => {
      const project = requireProject(ctx);
      const user = requireProjectUser(ctx, project, statusFilter(ctx.query, { deprecatedName: false }));
      return { status: 200, body: groupUserView(user, user.groupRoles.get(project.id) ?? []) };
    },
  },
  {
    operationId: 'removeGroupUser',
    method: 'DELETE',
    path: userPath,
    versions: v20250219,
    access: 'groupAccessManager',
    handler: (ctx) => {
      const project = requireProject(ctx);
      const user = requireProjectUser(ctx, project);
      refuseLastProjectOwner(ctx, project.id, user, 'CANNOT_DELETE_LAST_OWNER');
      user.groupRoles.delete(project.id);
      recordEvent(ctx, project, user, 'REMOVED_FROM_GROUP');
      return { status: 204 };
    },
  },
  {
    operationId: 'addGroupUserRole',
    method: 'POST',
    path: `${userPath}:addRole`,
    versions: v20250219,
    access: 'groupAccessManager',
    hasBody: true,
    handler: (ctx) => changeGroupRole(ctx, true),
  },
  {
    operationId: 'removeGroupUserRole',
    method: 'POST',
    path: `${userPath}:removeRole`,
    versions: v20250219,
    access: 'groupAccessManager',
    hasBody: true,
    handler: (ctx) => changeGroupRole(ctx, false),
  },
];
