import { canSeeGroup, canSeeOrg, orgRolesOf } from '../authz.js';
import type { RequestContext, RouteDef } from '../context.js';
import { param, v20230101 } from '../context.js';
import { atlasError } from '../errors.js';
import type { CredentialRec, ProjectRec } from '../model.js';
import { paginate } from '../pagination.js';
import {
  apiKeyView,
  callerKeyView,
  groupView,
  orgView,
  selfLinks,
  serviceAccountGroupViews,
  serviceAccountView,
} from '../views.js';
import { requireOrg, requireProject } from './lookup.js';

function nameFilter(ctx: RequestContext): (name: string) => boolean {
  const prefix = ctx.query.get('name')?.toLowerCase();
  return (name) => prefix === undefined || name.toLowerCase().startsWith(prefix);
}

function visibleProjects(ctx: RequestContext): ProjectRec[] {
  const { state } = ctx.sim;
  return [...state.projects.values()].filter((p) => canSeeGroup(state, ctx.actor.credential, p.id));
}

function systemStatus(ctx: RequestContext): object {
  return {
    apiKey: callerKeyView(ctx.actor.credential),
    appName: 'MongoDB Atlas',
    build: 'atlas-simulator',
    links: selfLinks(ctx.sim, ''),
    throttling: false,
  };
}

function getGroupByName(ctx: RequestContext): object {
  const name = param(ctx, 'groupName');
  const matches = visibleProjects(ctx).filter((p) => p.name === name);
  const [first] = matches;
  if (!first) throw atlasError('GROUP_NAME_NOT_FOUND', name);
  if (matches.length > 1) throw atlasError('MULTIPLE_GROUPS');
  return groupView(ctx.sim, first);
}

/** A service account of the organization by client id (one with a role in it). */
function requireServiceAccount(ctx: RequestContext, orgId: string): CredentialRec {
  const clientId = param(ctx, 'clientId');
  const account = ctx.sim.state.credentials.find(
    (c) => c.kind === 'serviceAccount' && c.name === clientId && orgRolesOf(c, orgId).length > 0,
  );
  if (!account) throw atlasError('RESOURCE_NOT_FOUND', `service account ${clientId}`);
  return account;
}

const v20240805 = [{ date: '2024-08-05' }];

/** Endpoint sets as `GET /rateLimits` describes them: one per bucket scope the simulator runs. */
function rateLimitSets(ctx: RequestContext): object[] {
  const { knobs, routes } = ctx.sim;
  const endpoints = (placeholder: string): object[] =>
    routes
      .filter((r) => r.path.includes(placeholder))
      .map((r) => ({ method: r.method, path: `/api/atlas/v2${r.path}` }));
  const set = (
    id: string,
    scope: 'GROUP' | 'ORGANIZATION',
    bucket: typeof knobs.rateLimit.project,
  ): object => ({
    capacity: { defaultValue: bucket.capacity, value: bucket.capacity },
    endpointSetId: id,
    endpointSetName: `Simulator ${scope.toLowerCase()} endpoints`,
    endpoints: endpoints(scope === 'GROUP' ? '{groupId}' : '{orgId}'),
    refillDurationSeconds: {
      defaultValue: bucket.refillIntervalSeconds,
      value: bucket.refillIntervalSeconds,
    },
    refillRate: { defaultValue: bucket.refillAmount, value: bucket.refillAmount },
    scope,
  });
  return [
    set('sim-group-endpoints', 'GROUP', knobs.rateLimit.project),
    set('sim-org-endpoints', 'ORGANIZATION', knobs.rateLimit.organization),
  ];
}

export const discoveryRoutes: RouteDef[] = [
  {
    operationId: 'getSystemStatus',
    method: 'GET',
    path: '',
    versions: v20230101,
    access: 'public',
    handler: (ctx) => ({ status: 200, body: systemStatus(ctx) }),
  },
  {
    operationId: 'listOrgs',
    method: 'GET',
    path: '/orgs',
    versions: v20230101,
    access: 'public',
    handler: (ctx) => {
      const { state } = ctx.sim;
      const keep = nameFilter(ctx);
      const orgs = [...state.orgs.values()].filter(
        (o) => canSeeOrg(state, ctx.actor.credential, o.id) && keep(o.name),
      );
      return { status: 200, body: paginate(ctx, orgs, (o) => orgView(ctx.sim, o)) };
    },
  },
  {
    operationId: 'getOrg',
    method: 'GET',
    path: '/orgs/{orgId}',
    versions: v20230101,
    access: 'orgMember',
    handler: (ctx) => ({ status: 200, body: orgView(ctx.sim, requireOrg(ctx)) }),
  },
  {
    operationId: 'getOrgGroups',
    method: 'GET',
    path: '/orgs/{orgId}/groups',
    versions: v20230101,
    access: 'orgMember',
    handler: (ctx) => {
      const org = requireOrg(ctx);
      const keep = nameFilter(ctx);
      const projects = visibleProjects(ctx).filter((p) => p.orgId === org.id && keep(p.name));
      return { status: 200, body: paginate(ctx, projects, (p) => groupView(ctx.sim, p)) };
    },
  },
  {
    operationId: 'listGroups',
    method: 'GET',
    path: '/groups',
    versions: v20230101,
    access: 'public',
    handler: (ctx) => {
      return { status: 200, body: paginate(ctx, visibleProjects(ctx), (p) => groupView(ctx.sim, p)) };
    },
  },
  {
    operationId: 'getGroup',
    method: 'GET',
    path: '/groups/{groupId}',
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => ({ status: 200, body: groupView(ctx.sim, requireProject(ctx)) }),
  },
  {
    operationId: 'getGroupByName',
    method: 'GET',
    path: '/groups/byName/{groupName}',
    versions: v20230101,
    access: 'public',
    handler: (ctx) => ({ status: 200, body: getGroupByName(ctx) }),
  },
  {
    operationId: 'listOrgApiKeys',
    method: 'GET',
    path: '/orgs/{orgId}/apiKeys',
    versions: v20230101,
    access: 'orgMember',
    handler: (ctx) => {
      const org = requireOrg(ctx);
      const keys = ctx.sim.state.credentials.filter(
        (c) => c.kind === 'apiKey' && orgRolesOf(c, org.id).length > 0,
      );
      return { status: 200, body: paginate(ctx, keys, (k) => apiKeyView(ctx.sim, org.id, k)) };
    },
  },
  {
    operationId: 'getOrgServiceAccount',
    method: 'GET',
    path: '/orgs/{orgId}/serviceAccounts/{clientId}',
    versions: v20240805,
    access: 'orgReadOnly',
    handler: (ctx) => {
      const org = requireOrg(ctx);
      return { status: 200, body: serviceAccountView(org.id, requireServiceAccount(ctx, org.id)) };
    },
  },
  {
    operationId: 'getOrgServiceAccountGroups',
    method: 'GET',
    path: '/orgs/{orgId}/serviceAccounts/{clientId}/groups',
    versions: v20240805,
    access: 'orgReadOnly',
    handler: (ctx) => {
      const org = requireOrg(ctx);
      const account = requireServiceAccount(ctx, org.id);
      const groups = serviceAccountGroupViews(ctx.sim.state, org.id, account);
      return { status: 200, body: paginate(ctx, groups, (g) => g) };
    },
  },
  {
    operationId: 'listRateLimits',
    method: 'GET',
    path: '/rateLimits',
    versions: [{ date: '2025-03-12' }, { date: 'preview', sunset: '2026-04-21' }],
    access: 'public',
    handler: (ctx) => ({ status: 200, body: paginate(ctx, rateLimitSets(ctx), (s) => s) }),
  },
];
