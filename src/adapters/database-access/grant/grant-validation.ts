import type { Cluster } from '../../../atlas/index.js';
import { isConnectorError } from '../../../errors/connector-error.js';
import type { AdapterDeps } from '../../adapter.js';
import type { DatabaseAccessConfig } from '../model/settings.js';
import { connectionStringFor } from '../model/connection-string.js';
import { importRecipientKey, type RecipientKey } from '../model/credential.js';
import { customGrantedRole, customRoleSpec, type CustomRoleSpec } from '../atlas-writes/custom-roles.js';
import type { AtlasCtx } from '../atlas-writes/user-store.js';
import { isActionsEntry, type AccessEntry, type GrantPayload } from '../model/payloads.js';
import {
  checkAccessPolicy,
  grantExpiryMs,
  invalidRequest,
  isBuiltInRole,
  normalizeAccess,
} from '../model/policy.js';
import { projectForAccess } from '../scope/project-scope.js';
import { grantKey, type GrantRecord } from '../model/user-model.js';

/**
 * Everything a grant checks before its first Atlas write: the local policy, Atlas's role rules,
 * the recipient key, that every cluster exists (and can serve the connection type) and that every
 * custom role named by `role` exists. A grant that fails here has changed nothing. The custom roles
 * `actions` entries need are only named here; the strategy creates them right before its user write.
 */
export interface ValidatedGrant {
  readonly projectId: string;
  readonly nowMs: number;
  readonly record: GrantRecord;
  /** Per cluster, for the integration's connection type. */
  readonly connectionStrings: Readonly<Record<string, string>>;
  /** The first access entry's cluster's. */
  readonly connectionString: string;
  readonly recipient: RecipientKey | undefined;
  /** The connector-made custom roles (`jit-r-…`) the `actions` entries need, one per name. */
  readonly customRoles: readonly CustomRoleSpec[];
}

type ClusterView = Pick<Cluster, 'name' | 'stateName' | 'connectionStrings'>;

const projectMissingCodes: ReadonlySet<unknown> = new Set(['GROUP_NOT_FOUND', 'INVALID_GROUP_ID']);

function isNotFound(error: unknown): boolean {
  return isConnectorError(error) && error.code === 'not_found';
}

/**
 * Clusters seen recently, per Atlas client (one per credential): grants on a busy cluster do not
 * each spend a read of the project's rate budget on it. A cluster deleted within the window makes
 * Atlas refuse the user's scope, so nothing is granted on a stale answer.
 */
export const clusterCacheTtlMs = 60_000;
const recentClusters = new WeakMap<
  object,
  Map<string, { readonly at: number; readonly cluster: ClusterView }>
>();

/**
 * The cluster a grant names. Dedicated clusters first; a 404 there may still be a Flex cluster,
 * served by its own endpoint. Unknown project or cluster, or one being deleted: `invalid_request`.
 */
export async function findCluster(
  deps: Pick<AdapterDeps, 'atlas' | 'clock'>,
  ctx: AtlasCtx,
  projectId: string,
  name: string,
  field: string,
): Promise<ClusterView> {
  const cache = recentClusters.get(deps.atlas) ?? new Map<string, { at: number; cluster: ClusterView }>();
  recentClusters.set(deps.atlas, cache);
  const key = `${projectId}/${name}`;
  const hit = cache.get(key);
  if (hit && deps.clock.monotonic() - hit.at < clusterCacheTtlMs) return hit.cluster;
  const cluster = await readCluster(deps, ctx, projectId, name, field);
  cache.set(key, { at: deps.clock.monotonic(), cluster });
  return cluster;
}

async function readCluster(
  deps: Pick<AdapterDeps, 'atlas'>,
  ctx: AtlasCtx,
  projectId: string,
  name: string,
  field: string,
): Promise<ClusterView> {
  const signal = ctx.signal;
  let cluster: ClusterView;
  try {
    cluster = await deps.atlas.clusters.get(projectId, name, { signal });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (isConnectorError(error) && projectMissingCodes.has(error.details['atlasErrorCode'])) {
      throw invalidRequest(
        'projectId',
        `project ${projectId} not found (or not visible to this integration's API key)`,
      );
    }
    cluster = await deps.atlas.flexClusters.get(projectId, name, { signal }).catch((flexError: unknown) => {
      throw isNotFound(flexError)
        ? invalidRequest(field, `cluster ${name} not found in project ${projectId}`)
        : flexError;
    });
  }
  if (cluster.stateName === 'DELETING') {
    throw invalidRequest(field, `cluster ${name} in project ${projectId} is being deleted`);
  }
  return cluster;
}

/** One `clusters.get` per distinct cluster, in request order; errors name the first entry using it. */
async function loadConnectionStrings(
  config: DatabaseAccessConfig,
  deps: Pick<AdapterDeps, 'atlas' | 'clock'>,
  ctx: AtlasCtx,
  projectId: string,
  access: readonly AccessEntry[],
): Promise<Record<string, string>> {
  const fieldByCluster = new Map<string, string>();
  access.forEach((entry, i) => {
    if (!fieldByCluster.has(entry.cluster)) fieldByCluster.set(entry.cluster, `access[${i}].cluster`);
  });
  const strings: Record<string, string> = {};
  for (const [name, field] of fieldByCluster) {
    const cluster = await findCluster(deps, ctx, projectId, name, field);
    strings[name] = connectionStringFor(cluster, config, field);
  }
  return strings;
}

/** A role that is not built in must be one of the project's custom roles. */
async function checkCustomRoles(
  deps: Pick<AdapterDeps, 'atlas'>,
  ctx: AtlasCtx,
  projectId: string,
  access: readonly AccessEntry[],
): Promise<void> {
  const custom = access.flatMap((entry, i) =>
    isActionsEntry(entry) || isBuiltInRole(entry.role) ? [] : [{ role: entry.role, i }],
  );
  if (custom.length === 0) return;
  const roles = await deps.atlas.customDbRoles.list(projectId, { signal: ctx.signal });
  const existing = new Set(roles.map((role) => role.roleName));
  for (const { role, i } of custom) {
    if (!existing.has(role)) {
      throw invalidRequest(
        `access[${i}].role`,
        `${role} is neither a built-in role nor a custom role of project ${projectId}`,
      );
    }
  }
}

export async function validateGrant(
  config: DatabaseAccessConfig,
  payload: GrantPayload,
  deps: Pick<AdapterDeps, 'atlas' | 'clock' | 'policy'>,
  ctx: AtlasCtx,
): Promise<ValidatedGrant> {
  const nowMs = deps.clock.now();
  const projectId = projectForAccess(config, deps.policy, payload.projectId);
  checkAccessPolicy(deps.policy, payload.access);
  const expiresAtMs = grantExpiryMs(payload, nowMs, deps.policy);
  const customRoles = new Map<string, CustomRoleSpec>();
  const roles = normalizeAccess(config, payload.access, (entry) => {
    const spec = customRoleSpec(entry);
    customRoles.set(spec.roleName, spec);
    return customGrantedRole(entry.cluster, spec);
  });
  const recipient = payload.recipientPublicKey && (await importRecipientKey(payload.recipientPublicKey));
  const connectionStrings = await loadConnectionStrings(config, deps, ctx, projectId, payload.access);
  await checkCustomRoles(deps, ctx, projectId, payload.access);
  const firstCluster = payload.access[0]?.cluster ?? '';
  return {
    projectId,
    nowMs,
    record: { key: grantKey(payload.grantId), expiresAtMs, roles },
    connectionStrings,
    connectionString: connectionStrings[firstCluster] ?? '',
    recipient,
    customRoles: [...customRoles.values()],
  };
}
