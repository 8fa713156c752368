import type { HandlerResult, RequestContext, RouteDef, VersionDef } from '../context.js';
import { param, v20250219 } from '../context.js';
import { atlasError } from '../errors.js';
import type { OrgUserRec } from '../model.js';
import { paginate } from '../pagination.js';
import { orgRoleBodySchema, orgUserRequestSchema, parseBody } from '../request-schemas.js';
import { orgUserView } from '../views.js';
import { requireOrg, requireOrgUser, requireTeam } from './lookup.js';
import {
  checkGroupRole,
  checkOrgRole,
  dropLapsedInvitations,
  findByUsername,
  newPendingUser,
  refuseLastOrgOwner,
  refuseLastRole,
  statusFilter,
  takeInvitation,
  usernameFilter,
} from './ui-user-rules.js';

/** The 2023-01-01 representations of these two are not simulated (they sunset 2027-07-01). */
const listVersions: readonly VersionDef[] = v20250219;

function recordUserEvent(ctx: RequestContext, user: OrgUserRec, eventTypeName: string): void {
  ctx.sim.state.recordEvent(
    { eventTypeName, kind: 'user', orgId: user.orgId, targetUsername: user.username },
    ctx.now,
    ctx.actor,
  );
}

function listOrgUsers(ctx: RequestContext): HandlerResult {
  const org = requireOrg(ctx);
  const statusOk = statusFilter(ctx.query, { deprecatedName: true });
  const nameOk = usernameFilter(ctx.query);
  const users = ctx.sim.state.orgUsersOf(org.id).filter((u) => statusOk(u.status) && nameOk(u.username));
  return { status: 200, body: paginate(ctx, users, orgUserView) };
}

/** Invites a user; Atlas answers 409 while a PENDING or ACTIVE user with that name exists. */
function createOrgUser(ctx: RequestContext): HandlerResult {
  const org = requireOrg(ctx);
  const body = parseBody(orgUserRequestSchema, ctx.body);
  if (body.roles.orgRoles.length === 0) throw atlasError('MISSING_ATTRIBUTE', 'roles.orgRoles');
  body.roles.orgRoles.forEach((r) => checkOrgRole(r, org.id));
  const assignments = body.roles.groupRoleAssignments ?? [];
  for (const a of assignments) {
    if (ctx.sim.state.project(a.groupId)?.orgId !== org.id) throw atlasError('GROUP_NOT_FOUND', a.groupId);
    a.groupRoles.forEach((r) => checkGroupRole(r, a.groupId));
  }
  const teams = (body.teamIds ?? []).map((id) => requireTeam(ctx, org.id, id));
  if (findByUsername(ctx, org.id, body.username)) throw atlasError('USER_ALREADY_EXISTS', body.username);
  takeInvitation(ctx);
  dropLapsedInvitations(ctx, org.id, body.username);
  const user = newPendingUser(ctx, org.id, body.username, [...new Set(body.roles.orgRoles)]);
  for (const a of assignments)
    if (a.groupRoles.length > 0) user.groupRoles.set(a.groupId, [...new Set(a.groupRoles)]);
  for (const team of teams) {
    team.userIds.add(user.id);
    user.teamIds.add(team.id);
  }
  ctx.sim.state.orgUsers.set(user.id, user);
  recordUserEvent(ctx, user, 'INVITED_TO_ORG');
  return { status: 201, body: orgUserView(user) };
}

function changeOrgRole(ctx: RequestContext, add: boolean): HandlerResult {
  const org = requireOrg(ctx);
  const user = requireOrgUser(ctx, org.id, param(ctx, 'userId'));
  const { orgRole } = parseBody(orgRoleBodySchema, ctx.body);
  checkOrgRole(orgRole, org.id);
  if (add && !user.orgRoles.includes(orgRole)) user.orgRoles = [...user.orgRoles, orgRole];
  if (!add && user.orgRoles.includes(orgRole)) {
    const remaining = user.orgRoles.filter((r) => r !== orgRole);
    refuseLastRole(remaining);
    if (orgRole === 'ORG_OWNER') refuseLastOrgOwner(ctx, user);
    user.orgRoles = remaining;
  }
  recordUserEvent(ctx, user, 'USER_ROLES_CHANGED_AUDIT');
  return { status: 200, body: orgUserView(user) };
}

function removeOrgUser(ctx: RequestContext): HandlerResult {
  const org = requireOrg(ctx);
  const user = requireOrgUser(ctx, org.id, param(ctx, 'userId'));
  refuseLastOrgOwner(ctx, user, 'CANNOT_DELETE_LAST_ADMIN');
  for (const teamId of user.teamIds) ctx.sim.state.teams.get(teamId)?.userIds.delete(user.id);
  ctx.sim.state.orgUsers.delete(user.id);
  recordUserEvent(ctx, user, user.status === 'PENDING' ? 'ORG_INVITATION_DELETED' : 'REMOVED_FROM_ORG');
  return { status: 204 };
}

const userPath = '/orgs/{orgId}/users/{userId}';

export const orgUserRoutes: RouteDef[] = [
  {
    operationId: 'listOrgUsers',
    method: 'GET',
    path: '/orgs/{orgId}/users',
    versions: listVersions,
    access: 'orgMember',
    handler: listOrgUsers,
  },
  {
    operationId: 'createOrgUser',
    method: 'POST',
    path: '/orgs/{orgId}/users',
    versions: v20250219,
    access: 'orgOwner',
    hasBody: true,
    handler: createOrgUser,
  },
  {
    operationId: 'getOrgUser',
    method: 'GET',
    path: userPath,
    versions: v20250219,
    access: 'orgMember',
    handler: (ctx) => ({
      status: 200,
      body: orgUserView(
        requireOrgUser(
          ctx,
          requireOrg(ctx).id,
          param(ctx, 'userId'),
          statusFilter(ctx.query, { deprecatedName: false }),
        ),
      ),
    }),
  },
  {
    operationId: 'removeOrgUser',
    method: 'DELETE',
    path: userPath,
    versions: listVersions,
    access: 'orgOwner',
    handler: removeOrgUser,
  },
  {
    operationId: 'addOrgUserRole',
    method: 'POST',
    path: `${userPath}:addRole`,
    versions: v20250219,
    access: 'orgOwner',
    hasBody: true,
    handler: (ctx) => changeOrgRole(ctx, true),
  },
  {
    operationId: 'removeOrgUserRole',
    method: 'POST',
    path: `${userPath}:removeRole`,
    versions: v20250219,
    access: 'orgOwner',
    hasBody: true,
    handler: (ctx) => changeOrgRole(ctx, false),
  },
];
