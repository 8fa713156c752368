import {
  maxItemsPerPage,
  paginateComplete,
  type DatabaseUser,
  type PageOptions,
} from '../../../atlas/index.js';
import {
  checkResourceKey,
  grantKey,
  integrationLabel,
  labelKeys,
  labelValue,
  readGrants,
  resourceKeyFor,
  strategyOf,
} from '../model/user-model.js';
import { ownedBy, readUser, type AtlasCtx, type AtlasDeps } from './user-store.js';

export interface HolderQuery {
  readonly projectId: string;
  readonly requesterId: string;
  readonly grantId: string;
  /** The user the job's own strategy and requester details name (its lease key). */
  readonly username: string;
}

export interface KeyedHolderQuery extends HolderQuery {
  readonly integrationId: string;
}

/** Ours and this requester's, made by either strategy (its own `jit-strategy` label). */
function isRequesters(user: DatabaseUser, requesterId: string): boolean {
  const strategy = strategyOf(user.labels);
  return strategy !== undefined && ownedBy(user, { requesterId, strategy });
}

/** Ours, this requester's, made by either strategy, and holding the grant. */
function holdsGrant(user: DatabaseUser, query: HolderQuery): boolean {
  const key = grantKey(query.grantId);
  return (
    isRequesters(user, query.requesterId) && readGrants(user.labels ?? []).some((grant) => grant.key === key)
  );
}

/** Every username the connector makes (`usernameFor`): nothing else is read by a job's key. */
const connectorUsername = /^jit-[a-z0-9-]+$/;

/**
 * The user `resourceKey` names, when nothing holds the grant and that user is ours, this
 * requester's and this integration's (its `jit-integration` label, which the revoke's own write
 * set): the user a revoke keyed by the grant's holder wrote on an earlier attempt, which took the
 * grant off and ended `not_ready`. Its redelivery answers for that user (and waits for its
 * clusters) rather than refuse the key the first attempt was accepted under. Any other name:
 * undefined (refused by the caller).
 */
async function formerHolderByKey(
  deps: AtlasDeps,
  ctx: AtlasCtx,
  query: KeyedHolderQuery,
  resourceKey: string,
): Promise<DatabaseUser | undefined> {
  const prefix = `${query.projectId}/`;
  const name = resourceKey.startsWith(prefix) ? resourceKey.slice(prefix.length) : '';
  if (!connectorUsername.test(name)) return undefined;
  const user = await readUser(deps, ctx, query.projectId, name);
  const ours =
    user !== undefined &&
    isRequesters(user, query.requesterId) &&
    labelValue(user.labels, labelKeys.integration) === integrationLabel(query.integrationId);
  return ours ? user : undefined;
}

/**
 * The user holding this grant, read by the job's username first. Usernames derive from the
 * requester's e-mail or name and from the integration's `userStrategy`, so a job whose requester
 * details differ from its grant's, or one that runs after the strategy changed (per-requester ⇄
 * per-grant), would miss the holder by name and act as if the grant were gone while access
 * remains. When the name finds no holder, the project's users are searched by their labels
 * (managed, requester, grant key; any strategy): one listing (read again when it took more than
 * one page and found no holder), only on that path. Nothing holds
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
  // Complete: Atlas pages by offset, and a holder a deletion moved up out of the listing would
  // read as no holder, a revoke answering already_revoked while the access remains.
  const keyOf = (user: DatabaseUser) => `${user.databaseName}/${user.username}`;
  for await (const user of paginateComplete(list, { itemsPerPage: maxItemsPerPage, keyOf })) {
    if (holdsGrant(user, query)) return user;
  }
  return byName;
}

/**
 * `findGrantHolder` under the job's lease key, checked (`invalid_job` before any write) against
 * the job's own user (`checkResourceKey`) or, when another user holds the grant (one made before
 * per-cluster users, or by the other `userStrategy`), that holder: the username the grant's result
 * named, so a control plane that keys the revoke or renew by it has the job serialized with every
 * other job on the user it writes. When nothing holds the grant any more, the key may name the
 * user that held it (`formerHolderByKey`): that user is returned, holding no grant, so a revoke
 * answers `already_revoked` once its clusters applied and a renew an inactive grant. Any other key
 * is refused, naming the job's own user's key.
 */
export async function findKeyedGrantHolder(
  deps: AtlasDeps,
  ctx: AtlasCtx & { readonly resourceKey?: string },
  query: KeyedHolderQuery,
): Promise<DatabaseUser | undefined> {
  const { projectId, username } = query;
  const { resourceKey } = ctx;
  if (resourceKey === undefined || resourceKey === resourceKeyFor(projectId, username))
    return findGrantHolder(deps, ctx, query);
  const holder = await findGrantHolder(deps, ctx, query);
  if (holder !== undefined && holdsGrant(holder, query)) {
    if (resourceKey === resourceKeyFor(projectId, holder.username)) return holder;
  } else {
    const former = await formerHolderByKey(deps, ctx, query, resourceKey);
    if (former !== undefined) return former;
  }
  checkResourceKey(ctx, projectId, username);
  return holder;
}
