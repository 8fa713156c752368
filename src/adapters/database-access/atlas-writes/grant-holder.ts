import { maxItemsPerPage, paginate, type DatabaseUser, type PageOptions } from '../../../atlas/index.js';
import { checkResourceKey, grantKey, readGrants, resourceKeyFor, strategyOf } from '../model/user-model.js';
import { ownedBy, readUser, type AtlasCtx, type AtlasDeps } from './user-store.js';

export interface HolderQuery {
  readonly projectId: string;
  readonly requesterId: string;
  readonly grantId: string;
  /** The user the job's own strategy and requester details name (its lease key). */
  readonly username: string;
}

/** Ours, this requester's, made by either strategy (its own `jit-strategy` label), and holding the grant. */
function holdsGrant(user: DatabaseUser, query: HolderQuery): boolean {
  const strategy = strategyOf(user.labels);
  const key = grantKey(query.grantId);
  return (
    strategy !== undefined &&
    ownedBy(user, { requesterId: query.requesterId, strategy }) &&
    readGrants(user.labels ?? []).some((grant) => grant.key === key)
  );
}

/**
 * The user holding this grant, read by the job's username first. Usernames derive from the
 * requester's e-mail or name and from the integration's `userStrategy`, so a job whose requester
 * details differ from its grant's, or one that runs after the strategy changed (per-requester ⇄
 * per-grant), would miss the holder by name and act as if the grant were gone while access
 * remains. When the name finds no holder, the project's users are searched by their labels
 * (managed, requester, grant key; any strategy): one listing, only on that path. Nothing holds
 * the grant: the user by name (which may not be ours: the caller refuses it), or undefined.
 */
export async function findGrantHolder(
  deps: AtlasDeps,
  ctx: AtlasCtx,
  query: HolderQuery,
): Promise<DatabaseUser | undefined> {
  const byName = await readUser(deps, ctx, query.projectId, query.username);
  if (byName !== undefined && holdsGrant(byName, query)) return byName;
  const list = (page: PageOptions) =>
    deps.atlas.databaseUsers.list(query.projectId, { ...page, signal: ctx.signal });
  for await (const user of paginate(list, { itemsPerPage: maxItemsPerPage })) {
    if (holdsGrant(user, query)) return user;
  }
  return byName;
}

/**
 * `findGrantHolder` under the job's lease key, checked (`invalid_job` before any write) against
 * the job's own user (`checkResourceKey`) or, when another user holds the grant (one made before
 * per-cluster users, or by the other `userStrategy`), that holder: the username the grant's result
 * named, so a control plane that keys the revoke or renew by it has the job serialized with every
 * other job on the user it writes. Any other key is refused, naming the job's own user's key.
 */
export async function findKeyedGrantHolder(
  deps: AtlasDeps,
  ctx: AtlasCtx & { readonly resourceKey?: string },
  query: HolderQuery,
): Promise<DatabaseUser | undefined> {
  const { projectId, username } = query;
  if (ctx.resourceKey === undefined || ctx.resourceKey === resourceKeyFor(projectId, username))
    return findGrantHolder(deps, ctx, query);
  const holder = await findGrantHolder(deps, ctx, query);
  const keyedByHolder =
    holder !== undefined &&
    holdsGrant(holder, query) &&
    ctx.resourceKey === resourceKeyFor(projectId, holder.username);
  if (!keyedByHolder) checkResourceKey(ctx, projectId, username);
  return holder;
}
