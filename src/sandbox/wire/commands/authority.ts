import { checkLogin } from '../../atlas/login-rules.js';
import { commandErrors } from '../command-error.js';
import { currentCluster } from '../endpoint-context.js';
import { authorityOf, type UserAuthority } from '../privileges.js';
import type { CommandRequest } from './command.js';

/**
 * The connection's user with their roles as they stand now, if any: a user deleted (or deleted and
 * created again under the same name), expired or moved out of this cluster's scope since logging
 * in has no authority left and the connection is logged out, as after a server's user-cache
 * invalidation.
 */
export function currentAuthority(request: CommandRequest): UserAuthority | undefined {
  const { ctx, session } = request;
  const user = session.user;
  if (!user) return undefined;
  const cluster = currentCluster(ctx);
  const check = checkLogin(ctx.state, cluster, user.username, ctx.clock.now(), 0);
  const project = ctx.state.project(cluster.projectId);
  if (!('user' in check) || check.user !== user.record || !project) {
    session.user = undefined;
    return undefined;
  }
  return authorityOf(project, check.user);
}

/** {@link currentAuthority}, refused as unauthenticated when there is none. */
export function requireAuthority(request: CommandRequest): UserAuthority {
  const authority = currentAuthority(request);
  if (!authority) throw commandErrors.requiresAuthentication(request.name);
  return authority;
}

/** Refuses with the server's Unauthorized wording unless `allowed`. */
export function demand(allowed: boolean, request: CommandRequest): void {
  if (!allowed) throw commandErrors.unauthorized(request.db, request.name, request.body[request.name]);
}
