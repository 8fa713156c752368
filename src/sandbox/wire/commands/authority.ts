import { checkLogin } from '../../atlas/login-rules.js';
import { commandErrors } from '../command-error.js';
import { currentCluster } from '../endpoint-context.js';
import { authorityOf, type UserAuthority } from '../privileges.js';
import type { CommandRequest } from './command.js';

/**
 * The connection's user with their roles as they stand now: a user deleted, expired or moved out
 * of this cluster's scope since logging in has no authority left, as after a server's user-cache
 * invalidation.
 */
export function requireAuthority(request: CommandRequest): UserAuthority {
  const { ctx, session } = request;
  const user = session.user;
  if (!user) throw commandErrors.requiresAuthentication(request.name);
  const cluster = currentCluster(ctx);
  const check = checkLogin(ctx.state, cluster, user.username, ctx.clock.now(), 0);
  const project = ctx.state.project(cluster.projectId);
  if (!('user' in check) || !project) {
    session.user = undefined;
    throw commandErrors.requiresAuthentication(request.name);
  }
  return authorityOf(project, check.user);
}

/** Refuses with the server's Unauthorized wording unless `allowed`. */
export function demand(allowed: boolean, request: CommandRequest): void {
  if (!allowed) throw commandErrors.unauthorized(request.db, request.name, request.body[request.name]);
}
