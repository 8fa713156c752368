import type { HandlerResult, RequestContext, RouteDef } from '../context.js';
import { param, v20230101, v20250219 } from '../context.js';
import { atlasError } from '../errors.js';
import type { EventRec } from '../model.js';
import { paginate } from '../pagination.js';
import { parseBody, teamUserBodySchema } from '../request-schemas.js';
import { eventsFor, eventView, orgUserView, teamRoleView, teamView } from '../views.js';
import { requireOrg, requireOrgUser, requireProject, requireTeam } from './lookup.js';
import { statusFilter, usernameFilter } from './ui-user-rules.js';

/**
 * `:addUser`/`:removeUser` are idempotent here: the spec declares no 409 for them, so adding a
 * member or removing a non-member simply returns the user.
 */
function changeMembership(ctx: RequestContext, add: boolean): HandlerResult {
  const org = requireOrg(ctx);
  const team = requireTeam(ctx, org.id, param(ctx, 'teamId'));
  const { id } = parseBody(teamUserBodySchema, ctx.body);
  const user = requireOrgUser(ctx, org.id, id);
  const changed = add ? !team.userIds.has(user.id) : team.userIds.has(user.id);
  if (add) {
    team.userIds.add(user.id);
    user.teamIds.add(team.id);
  } else {
    team.userIds.delete(user.id);
    user.teamIds.delete(team.id);
  }
  if (changed) {
    ctx.sim.state.recordEvent(
      {
        eventTypeName: add ? 'JOINED_TEAM' : 'REMOVED_FROM_TEAM',
        kind: 'user',
        orgId: org.id,
        targetUsername: user.username,
      },
      ctx.now,
      ctx.actor,
    );
  }
  return { status: 200, body: orgUserView(user) };
}

function dateParam(ctx: RequestContext, name: string): number | undefined {
  const raw = ctx.query.get(name);
  if (raw === null) return undefined;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) throw atlasError('INVALID_QUERY_PARAMETER', name);
  return at;
}

/** Newest first, filtered by `eventType`, `minDate` and `maxDate` as Atlas does. */
function listEvents(ctx: RequestContext, scope: { groupId?: string; orgId?: string }): HandlerResult {
  const types = new Set(ctx.query.getAll('eventType'));
  const excluded = new Set(ctx.query.getAll('excludedEventType'));
  const min = dateParam(ctx, 'minDate');
  const max = dateParam(ctx, 'maxDate');
  const keep = (e: EventRec): boolean => {
    const at = Date.parse(e.created);
    return (
      (types.size === 0 || types.has(e.eventTypeName)) &&
      !excluded.has(e.eventTypeName) &&
      (min === undefined || at >= min) &&
      (max === undefined || at <= max)
    );
  };
  const events = eventsFor(ctx.sim.state, scope).filter(keep).reverse();
  return { status: 200, body: paginate(ctx, events, (e) => eventView(ctx.sim, e)) };
}

export const teamAndEventRoutes: RouteDef[] = [
  {
    operationId: 'listOrgTeams',
    method: 'GET',
    path: '/orgs/{orgId}/teams',
    versions: v20230101,
    access: 'orgMember',
    handler: (ctx) => {
      const org = requireOrg(ctx);
      const teams = [...ctx.sim.state.teams.values()].filter((t) => t.orgId === org.id);
      return { status: 200, body: paginate(ctx, teams, (t) => teamView(ctx.sim, t)) };
    },
  },
  {
    operationId: 'listOrgTeamUsers',
    method: 'GET',
    path: '/orgs/{orgId}/teams/{teamId}/users',
    versions: v20250219,
    access: 'orgMember',
    handler: (ctx) => {
      const org = requireOrg(ctx);
      const team = requireTeam(ctx, org.id, param(ctx, 'teamId'));
      // The same filters as listOrgUsers (ACTIVE and PENDING by default), plus `userId`.
      const statusOk = statusFilter(ctx.query, { deprecatedName: true });
      const nameOk = usernameFilter(ctx.query);
      const userId = ctx.query.get('userId');
      const users = [...team.userIds]
        .flatMap((id) => ctx.sim.state.orgUsers.get(id) ?? [])
        .filter((u) => statusOk(u.status) && nameOk(u.username) && (userId === null || u.id === userId));
      return { status: 200, body: paginate(ctx, users, orgUserView) };
    },
  },
  {
    operationId: 'addOrgTeamUser',
    method: 'POST',
    path: '/orgs/{orgId}/teams/{teamId}:addUser',
    versions: v20250219,
    access: 'orgOwner',
    hasBody: true,
    handler: (ctx) => changeMembership(ctx, true),
  },
  {
    operationId: 'removeOrgTeamUser',
    method: 'POST',
    path: '/orgs/{orgId}/teams/{teamId}:removeUser',
    versions: v20250219,
    access: 'orgOwner',
    hasBody: true,
    handler: (ctx) => changeMembership(ctx, false),
  },
  {
    operationId: 'listGroupTeams',
    method: 'GET',
    path: '/groups/{groupId}/teams',
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => {
      const project = requireProject(ctx);
      const teams = [...ctx.sim.state.teams.values()].flatMap((t) => {
        const roles = t.projectRoles.get(project.id);
        return roles ? [{ t, roles }] : [];
      });
      return {
        status: 200,
        body: paginate(ctx, teams, ({ t, roles }) => teamRoleView(ctx.sim, project.id, t, roles)),
      };
    },
  },
  {
    operationId: 'listGroupEvents',
    method: 'GET',
    path: '/groups/{groupId}/events',
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => listEvents(ctx, { groupId: requireProject(ctx).id }),
  },
  {
    operationId: 'listOrgEvents',
    method: 'GET',
    path: '/orgs/{orgId}/events',
    versions: v20230101,
    access: 'orgMember',
    handler: (ctx) => listEvents(ctx, { orgId: requireOrg(ctx).id }),
  },
];
