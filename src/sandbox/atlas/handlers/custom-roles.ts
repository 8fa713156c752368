import type { HandlerResult, RequestContext, RouteDef } from '../context.js';
import { param, v20230101 } from '../context.js';
import { atlasError } from '../errors.js';
import type { CustomRoleRec, ProjectRec } from '../model.js';
import { createCustomRoleSchema, parseBody, updateCustomRoleSchema } from '../request-schemas.js';
import { customRoleView } from '../views.js';
import { customRolesLimit, projectLimit } from './limits.js';
import { requireProject } from './lookup.js';

/** MongoDB's built-in role names: a custom role may inherit them but not take their name. */
const mongoBuiltInRoles: ReadonlySet<string> = new Set([
  'read',
  'readWrite',
  'dbAdmin',
  'dbOwner',
  'userAdmin',
  'clusterAdmin',
  'clusterManager',
  'clusterMonitor',
  'hostManager',
  'backup',
  'restore',
  'readAnyDatabase',
  'readWriteAnyDatabase',
  'userAdminAnyDatabase',
  'dbAdminAnyDatabase',
  'root',
  '__system',
  'enableSharding',
  'atlasAdmin',
  'directShardOperations',
]);
const anyDatabaseInheritable: ReadonlySet<string> = new Set(['read', 'readWrite']);

function requireRole(ctx: RequestContext, project: ProjectRec): CustomRoleRec {
  const roleName = param(ctx, 'roleName');
  const role = project.customRoles.get(roleName);
  if (!role) throw atlasError('ATLAS_CUSTOM_ROLE_NOT_FOUND', roleName);
  return role;
}

function checkName(roleName: string): void {
  if (roleName.startsWith('xgen-')) throw atlasError('ATLAS_RESERVED_CUSTOM_ROLE_RESTRICTED', roleName);
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(roleName))
    throw atlasError('ATLAS_CUSTOM_ROLE_INVALID_NAME', roleName);
  if (mongoBuiltInRoles.has(roleName)) throw atlasError('ATLAS_INVALID_CUSTOM_ROLE_RESTRICTED', roleName);
}

/** Every custom role `roleName` inherits from, directly or not. */
function inheritanceClosure(project: ProjectRec, roleName: string, seen = new Set<string>()): Set<string> {
  for (const parent of project.customRoles.get(roleName)?.inheritedRoles ?? []) {
    if (seen.has(parent.role) || !project.customRoles.has(parent.role)) continue;
    seen.add(parent.role);
    inheritanceClosure(project, parent.role, seen);
  }
  return seen;
}

function checkContent(project: ProjectRec, role: CustomRoleRec): void {
  if (role.actions.length === 0 && role.inheritedRoles.length === 0) {
    throw atlasError('ATLAS_CUSTOM_ROLE_HAS_NO_PERMISSIONS');
  }
  const actions = role.actions.map((a) => a.action);
  if (new Set(actions).size !== actions.length) throw atlasError('ATLAS_DUPLICATE_CUSTOM_ROLE_ACTION');
  for (const a of role.actions) {
    const keys = a.resources.map((r) => (r.cluster ? 'cluster' : `${r.db}.${r.collection}`));
    if (new Set(keys).size !== keys.length) throw atlasError('ATLAS_DUPLICATE_CUSTOM_ROLE_RESOURCE');
  }
  for (const parent of role.inheritedRoles) {
    if (parent.role === role.roleName) throw atlasError('ATLAS_INVALID_CUSTOM_ROLE_SELF_REFERENTIAL');
    const custom = project.customRoles.has(parent.role);
    if (!custom && !mongoBuiltInRoles.has(parent.role))
      throw atlasError('ATLAS_INVALID_CUSTOM_ROLE_INHERITANCE');
    if (parent.db !== 'admin' && (custom || !anyDatabaseInheritable.has(parent.role))) {
      throw atlasError('ATLAS_INVALID_CUSTOM_ROLE_INHERITED_SCOPE');
    }
    if (custom && inheritanceClosure(project, parent.role).has(role.roleName)) {
      throw atlasError('ATLAS_INVALID_CUSTOM_ROLE_CIRCULAR_DEPENDENCY');
    }
  }
}

function recordChange(ctx: RequestContext, project: ProjectRec, eventTypeName: string): void {
  ctx.sim.state.markChanged(project.id, ctx.now);
  ctx.sim.state.recordEvent(
    { eventTypeName, kind: 'nds', orgId: project.orgId, groupId: project.id },
    ctx.now,
    ctx.actor,
  );
}

function createRole(ctx: RequestContext): HandlerResult {
  const project = requireProject(ctx);
  const body = parseBody(createCustomRoleSchema, ctx.body);
  checkName(body.roleName);
  if (project.customRoles.has(body.roleName))
    throw atlasError('ATLAS_CUSTOM_ROLE_NAME_ALREADY_EXISTS', body.roleName);
  const role: CustomRoleRec = {
    roleName: body.roleName,
    actions: body.actions ?? [],
    inheritedRoles: body.inheritedRoles ?? [],
  };
  checkContent(project, role);
  if (project.customRoles.size >= projectLimit(project, customRolesLimit))
    throw atlasError('CUSTOM_ROLES_LIMIT_EXCEEDED');
  project.customRoles.set(role.roleName, role);
  recordChange(ctx, project, 'MONGODB_ROLE_ADDED');
  return { status: 202, body: customRoleView(role) };
}

function updateRole(ctx: RequestContext): HandlerResult {
  const project = requireProject(ctx);
  const role = requireRole(ctx, project);
  const body = parseBody(updateCustomRoleSchema, ctx.body);
  const next: CustomRoleRec = {
    roleName: role.roleName,
    actions: body.actions ?? role.actions,
    inheritedRoles: body.inheritedRoles ?? role.inheritedRoles,
  };
  checkContent(project, next);
  role.actions = next.actions;
  role.inheritedRoles = next.inheritedRoles;
  recordChange(ctx, project, 'MONGODB_ROLE_UPDATED');
  return { status: 200, body: customRoleView(role) };
}

/**
 * Deleting a role some database user still holds is refused (knob `customRoleDeletion` narrows
 * that to users left with no role at all, the spec's wording), as is leaving a custom role with
 * no actions and no other parent. Otherwise the grant disappears from users and roles.
 */
function deleteRole(ctx: RequestContext): HandlerResult {
  const project = requireProject(ctx);
  const role = requireRole(ctx, project);
  const users = [...project.dbUsers.values()];
  const holders = users.filter((u) => u.roles.some((r) => r.roleName === role.roleName));
  const blocking =
    ctx.sim.knobs.customRoleDeletion === 'refuseIfAssigned'
      ? holders
      : holders.filter((u) => u.roles.every((r) => r.roleName === role.roleName));
  if (blocking.length > 0) {
    throw atlasError('ATLAS_CUSTOM_ROLE_IN_USE_BY_USERS', blocking.map((u) => u.username).join(', '));
  }
  const children = [...project.customRoles.values()].filter(
    (r) =>
      r.actions.length === 0 &&
      r.inheritedRoles.length > 0 &&
      r.inheritedRoles.every((p) => p.role === role.roleName),
  );
  if (children.length > 0) {
    throw atlasError('ATLAS_CUSTOM_ROLE_IN_USE_BY_ROLES', children.map((r) => r.roleName).join(', '));
  }
  project.customRoles.delete(role.roleName);
  for (const u of holders) u.roles = u.roles.filter((r) => r.roleName !== role.roleName);
  for (const r of project.customRoles.values()) {
    r.inheritedRoles = r.inheritedRoles.filter((p) => p.role !== role.roleName);
  }
  recordChange(ctx, project, 'MONGODB_ROLE_DELETED');
  return { status: 204 };
}

const rolePath = '/groups/{groupId}/customDBRoles/roles/{roleName}';

export const customRoleRoutes: RouteDef[] = [
  {
    operationId: 'listGroupCustomDbRoleRoles',
    method: 'GET',
    path: '/groups/{groupId}/customDBRoles/roles',
    versions: v20230101,
    access: 'groupRead',
    // Not paginated: Atlas returns a plain array.
    handler: (ctx) => ({
      status: 200,
      body: [...requireProject(ctx).customRoles.values()].map(customRoleView),
    }),
  },
  {
    operationId: 'createGroupCustomDbRoleRole',
    method: 'POST',
    path: '/groups/{groupId}/customDBRoles/roles',
    versions: v20230101,
    access: 'groupDbAdmin',
    hasBody: true,
    handler: createRole,
  },
  {
    operationId: 'getGroupCustomDbRoleRole',
    method: 'GET',
    path: rolePath,
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => ({ status: 200, body: customRoleView(requireRole(ctx, requireProject(ctx))) }),
  },
  {
    operationId: 'updateGroupCustomDbRoleRole',
    method: 'PATCH',
    path: rolePath,
    versions: v20230101,
    access: 'groupDbAdmin',
    hasBody: true,
    handler: updateRole,
  },
  {
    operationId: 'deleteGroupCustomDbRoleRole',
    method: 'DELETE',
    path: rolePath,
    versions: v20230101,
    access: 'groupDbAdmin',
    handler: deleteRole,
  },
];
