import type { RequestContext, RouteDef } from '../context.js';
import { param, v20230101 } from '../context.js';
import { atlasError, fieldError } from '../errors.js';
import type { ProjectRec } from '../model.js';
import { parseBody, setLimitSchema } from '../request-schemas.js';
import type { SimState } from '../state.js';
import { limitView } from '../views.js';
import { requireProject } from './lookup.js';

export const usersLimit = 'atlas.project.security.databaseAccess.users';
export const customRolesLimit = 'atlas.project.security.databaseAccess.customRoles';

/** Project limits the simulator enforces or reports, with the spec's default and API ceiling. */
const limits: Record<
  string,
  { default: number; max: number; usage: (state: SimState, p: ProjectRec) => number }
> = {
  [usersLimit]: { default: 100, max: 100, usage: (_s, p) => p.dbUsers.size },
  [customRolesLimit]: { default: 100, max: 1400, usage: (_s, p) => p.customRoles.size },
  'atlas.project.deployment.clusters': { default: 25, max: 100, usage: (s, p) => s.clustersOf(p.id).length },
};

export function projectLimit(project: ProjectRec, name: string): number {
  return project.limitOverrides.get(name) ?? limits[name]?.default ?? Number.POSITIVE_INFINITY;
}

function requireLimit(ctx: RequestContext): { name: string; spec: (typeof limits)[string] } {
  const name = param(ctx, 'limitName');
  const spec = limits[name];
  if (!spec) throw atlasError('RESOURCE_NOT_FOUND', `limit ${name}`);
  return { name, spec };
}

function view(ctx: RequestContext, project: ProjectRec, name: string): object {
  const spec = limits[name];
  if (!spec) throw atlasError('RESOURCE_NOT_FOUND', `limit ${name}`);
  return limitView(name, projectLimit(project, name), spec.usage(ctx.sim.state, project), spec);
}

export const limitRoutes: RouteDef[] = [
  {
    operationId: 'listGroupLimits',
    method: 'GET',
    path: '/groups/{groupId}/limits',
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => {
      const project = requireProject(ctx);
      return { status: 200, body: Object.keys(limits).map((name) => view(ctx, project, name)) };
    },
  },
  {
    operationId: 'getGroupLimit',
    method: 'GET',
    path: '/groups/{groupId}/limits/{limitName}',
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => {
      const project = requireProject(ctx);
      return { status: 200, body: view(ctx, project, requireLimit(ctx).name) };
    },
  },
  {
    operationId: 'setGroupLimit',
    method: 'PATCH',
    path: '/groups/{groupId}/limits/{limitName}',
    versions: v20230101,
    access: 'groupOwner',
    hasBody: true,
    handler: (ctx) => {
      const project = requireProject(ctx);
      const { name, spec } = requireLimit(ctx);
      const { value } = parseBody(setLimitSchema, ctx.body);
      const usage = spec.usage(ctx.sim.state, project);
      if (value < 1 || value > spec.max || value < usage) {
        const why =
          value > spec.max ? `must be at most ${spec.max}` : `must be at least ${Math.max(1, usage)}`;
        throw fieldError('INVALID_ATTRIBUTE', 'value', why);
      }
      project.limitOverrides.set(name, value);
      return { status: 200, body: view(ctx, project, name) };
    },
  },
];
