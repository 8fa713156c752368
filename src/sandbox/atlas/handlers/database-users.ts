import type { HandlerResult, RequestContext, RouteDef } from '../context.js';
import { param, v20230101 } from '../context.js';
import { atlasError, fieldError } from '../errors.js';
import { credentialsInForce } from '../login-rules.js';
import { dbUserKey, type DbUserRec, type ProjectRec } from '../model.js';
import { paginate } from '../pagination.js';
import {
  createDbUserSchema,
  parseBody,
  updateDbUserSchema,
  updateDbUserAllowingNoRolesSchema,
  type DbUserBody,
} from '../request-schemas.js';
import { deriveScramCredentials } from '../scram-credentials.js';
import { dbUserView } from '../views.js';
import {
  authTypesOf,
  checkAuthDatabase,
  checkCollectionRoles,
  checkExpiry,
  checkRoles,
  checkScopes,
  usesPassword,
} from './db-user-rules.js';
import { projectLimit, usersLimit } from './limits.js';
import { requireProject } from './lookup.js';

function requireDbUser(ctx: RequestContext, project: ProjectRec): DbUserRec {
  const username = param(ctx, 'username');
  const user = project.dbUsers.get(dbUserKey(param(ctx, 'databaseName'), username));
  if (!user) throw atlasError('USERNAME_NOT_FOUND', username);
  return user;
}

function recordChange(
  ctx: RequestContext,
  project: ProjectRec,
  eventTypeName: string,
  username: string,
): void {
  ctx.sim.state.markChanged(project.id, ctx.now);
  ctx.sim.state.recordEvent(
    { eventTypeName, kind: 'nds', orgId: project.orgId, groupId: project.id, dbUserUsername: username },
    ctx.now,
    ctx.actor,
  );
}

function checkGroupId(body: DbUserBody, project: ProjectRec): void {
  if (body.groupId !== undefined && body.groupId !== project.id)
    throw atlasError('GROUP_MISMATCH', body.groupId);
}

function createDbUser(ctx: RequestContext): HandlerResult {
  const project = requireProject(ctx);
  const body = parseBody(createDbUserSchema, ctx.body);
  checkGroupId(body, project);
  const authTypes = authTypesOf(body);
  checkAuthDatabase(authTypes, body.databaseName, body.password !== undefined);
  if (usesPassword(authTypes) && body.password === undefined) {
    throw fieldError('MISSING_ATTRIBUTE', 'password', 'is required for SCRAM users');
  }
  if (authTypes.x509Type !== 'NONE' && body.deleteAfterDate !== undefined) {
    throw atlasError('ATLAS_X509_USER_CANNOT_BE_TEMPORARY');
  }
  const key = dbUserKey(body.databaseName, body.username);
  if (project.dbUsers.has(key)) throw atlasError('USER_ALREADY_EXISTS', body.username);
  checkRoles(project, body.username, body.roles);
  checkScopes(ctx.sim.state, project, body.scopes ?? []);
  const deleteAfter =
    body.deleteAfterDate === undefined ? undefined : checkExpiry(body.deleteAfterDate, ctx.now);
  const limit = projectLimit(project, usersLimit);
  if (project.dbUsers.size >= limit) throw atlasError('GROUP_USERS_LIMIT_EXCEEDED', limit);
  checkCollectionRoles(project, undefined, body.roles, ctx.sim.knobs.collectionRolesLimit);
  const user: DbUserRec = {
    groupId: project.id,
    username: body.username,
    databaseName: body.databaseName,
    ...(body.password !== undefined
      ? { scram: deriveScramCredentials(body.username, body.password, ctx.sim.random) }
      : {}),
    passwordSetAt: ctx.now,
    roles: body.roles,
    scopes: body.scopes ?? [],
    labels: body.labels ?? [],
    ...(body.description !== undefined ? { description: body.description } : {}),
    ...(deleteAfter !== undefined ? { deleteAfter } : {}),
    ...authTypes,
  };
  project.dbUsers.set(key, user);
  recordChange(ctx, project, 'MONGODB_USER_ADDED', user.username);
  return { status: 201, body: dbUserView(ctx.sim, user) };
}

/** Username, authentication database and mechanism are fixed once a user exists. */
function checkImmutableFields(body: DbUserBody, user: DbUserRec): void {
  if (body.username !== undefined && body.username !== user.username) {
    throw atlasError('DATABASE_USERNAME_CANNOT_BE_CHANGED');
  }
  if (body.databaseName !== undefined && body.databaseName !== user.databaseName) {
    throw atlasError('DATABASE_NAME_CANNOT_BE_CHANGED');
  }
  const sent = [body.x509Type, body.awsIAMType, body.ldapAuthType, body.oidcAuthType];
  const held = [user.x509Type, user.awsIAMType, user.ldapAuthType, user.oidcAuthType];
  if (sent.some((v, i) => v !== undefined && v !== held[i])) throw atlasError('AUTH_TYPE_CANNOT_BE_CHANGED');
  if (body.password !== undefined && !usesPassword(user)) {
    throw fieldError('INVALID_ATTRIBUTE', 'password', 'only SCRAM users have a password');
  }
}

/** PATCH keeps omitted fields and replaces `roles`, `scopes` and `labels` wholesale. */
function updateDbUser(ctx: RequestContext): HandlerResult {
  const project = requireProject(ctx);
  const user = requireDbUser(ctx, project);
  const acceptsNoRoles = ctx.sim.knobs.databaseUserEmptyRoles === 'accept';
  const body = parseBody(acceptsNoRoles ? updateDbUserAllowingNoRolesSchema : updateDbUserSchema, ctx.body);
  checkGroupId(body, project);
  checkImmutableFields(body, user);
  if (body.roles !== undefined) checkRoles(project, user.username, body.roles);
  if (body.scopes !== undefined) checkScopes(ctx.sim.state, project, body.scopes);
  let deleteAfter = user.deleteAfter;
  if (body.deleteAfterDate !== undefined) {
    if (user.deleteAfter === undefined) throw atlasError('PERMANENT_ENTITY_CANNOT_BE_MADE_TEMPORARY');
    deleteAfter = checkExpiry(body.deleteAfterDate, ctx.now);
  }
  if (body.roles !== undefined) {
    checkCollectionRoles(project, user, body.roles, ctx.sim.knobs.collectionRolesLimit);
  }
  if (body.password !== undefined) {
    // Clusters keep accepting the password they know until the change propagates, as on Atlas.
    user.priorScram = credentialsInForce(user, ctx.now, ctx.sim.knobs.propagationDelayMs);
    user.scram = deriveScramCredentials(user.username, body.password, ctx.sim.random);
    user.passwordSetAt = ctx.now;
  }
  if (body.roles !== undefined) user.roles = body.roles;
  if (body.scopes !== undefined) user.scopes = body.scopes;
  if (body.labels !== undefined) user.labels = body.labels;
  if (body.description !== undefined) user.description = body.description;
  if (deleteAfter !== undefined) user.deleteAfter = deleteAfter;
  recordChange(ctx, project, 'MONGODB_USER_UPDATED', user.username);
  return { status: 200, body: dbUserView(ctx.sim, user) };
}

const userPath = '/groups/{groupId}/databaseUsers/{databaseName}/{username}';

export const databaseUserRoutes: RouteDef[] = [
  {
    operationId: 'listGroupDatabaseUsers',
    method: 'GET',
    path: '/groups/{groupId}/databaseUsers',
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => {
      const users = [...requireProject(ctx).dbUsers.values()];
      return { status: 200, body: paginate(ctx, users, (u) => dbUserView(ctx.sim, u)) };
    },
  },
  {
    operationId: 'createGroupDatabaseUser',
    method: 'POST',
    path: '/groups/{groupId}/databaseUsers',
    versions: v20230101,
    access: 'groupDbAdmin',
    hasBody: true,
    handler: createDbUser,
  },
  {
    operationId: 'getGroupDatabaseUser',
    method: 'GET',
    path: userPath,
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => ({ status: 200, body: dbUserView(ctx.sim, requireDbUser(ctx, requireProject(ctx))) }),
  },
  {
    operationId: 'updateGroupDatabaseUser',
    method: 'PATCH',
    path: userPath,
    versions: v20230101,
    access: 'groupDbAdmin',
    hasBody: true,
    handler: updateDbUser,
  },
  {
    operationId: 'deleteGroupDatabaseUser',
    method: 'DELETE',
    path: userPath,
    versions: v20230101,
    access: 'groupDbAdmin',
    handler: (ctx) => {
      const project = requireProject(ctx);
      const user = requireDbUser(ctx, project);
      project.dbUsers.delete(dbUserKey(user.databaseName, user.username));
      recordChange(ctx, project, 'MONGODB_USER_DELETED', user.username);
      return { status: 204 };
    },
  },
];
