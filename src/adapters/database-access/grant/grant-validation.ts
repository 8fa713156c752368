import type { AdapterDeps } from '../../adapter.js';
import { connectorRolePrefix } from '../discover/discover-records.js';
import { clusterLimit, type OneProjectScope } from '../../scope.js';
import { findCluster, pausedCluster } from '../scope/cluster-lookup.js';
import { connectionStringFor } from '../model/connection-string.js';
import { importRecipientKey, type RecipientKey } from '../model/credential.js';
import { customGrantedRole, customRoleSpec, type CustomRoleSpec } from '../atlas-writes/custom-roles.js';
import type { AtlasCtx } from '../atlas-writes/user-store.js';
import { isActionsEntry, type AccessEntry, type GrantPayload } from '../model/payloads.js';
import {
  checkAccessPolicy,
  checkProjectPolicy,
  invalidRequest,
  isBuiltInRole,
  normalizeAccess,
} from '../model/policy.js';
import { grantKey, type GrantRecord } from '../model/user-model.js';
import { grantExpiryMs } from '../../grant-expiry.js';

/**
 * Everything a grant checks before its first Atlas write: the local policy, Atlas's role rules,
 * the recipient key, that every cluster exists, is not paused (and can serve the connection type) and that every
 * custom role named by `role` exists. A grant that fails here has changed nothing. The custom roles
 * `actions` entries need are only named here; the strategy creates them right before its user write.
 */
export interface ValidatedGrant {
  readonly projectId: string;
  readonly nowMs: number;
  readonly record: GrantRecord;
  /** Per cluster, for the scope's connection choice. */
  readonly connectionStrings: Readonly<Record<string, string>>;
  /** The first access entry's cluster's. */
  readonly connectionString: string;
  readonly recipient: RecipientKey | undefined;
  /** The connector-made custom roles (`jit-r-…`) the `actions` entries need, one per name. */
  readonly customRoles: readonly CustomRoleSpec[];
}

/** One `clusters.get` per distinct cluster, in request order; errors name the first entry using it. */
async function loadConnectionStrings(
  scope: OneProjectScope,
  deps: Pick<AdapterDeps, 'atlas' | 'recentClusters'>,
  ctx: AtlasCtx,
  access: readonly AccessEntry[],
): Promise<Record<string, string>> {
  const fieldByCluster = new Map<string, string>();
  access.forEach((entry, i) => {
    if (!fieldByCluster.has(entry.cluster)) fieldByCluster.set(entry.cluster, `access[${i}].cluster`);
  });
  const strings: Record<string, string> = {};
  for (const [name, field] of fieldByCluster) {
    const cluster = await findCluster(deps, ctx, scope.projectId, name, field);
    if (cluster.paused === true) throw pausedCluster(field, scope.projectId, name);
    strings[name] = connectionStringFor(cluster, scope, field);
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
  for (const { role, i } of custom) {
    // The connector's own roles carry `actions` grants; named directly, their privileges would
    // escape the actions policy (data-plane only, no system database) they were made under.
    if (role.startsWith(connectorRolePrefix)) {
      throw invalidRequest(
        `access[${i}].role`,
        `${role} is a role this connector makes for an \`actions\` grant; ask for the privileges with \`actions\` instead`,
      );
    }
  }
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
  scope: OneProjectScope,
  payload: GrantPayload,
  deps: Pick<AdapterDeps, 'atlas' | 'clock' | 'policy' | 'recentClusters'>,
  ctx: AtlasCtx,
): Promise<ValidatedGrant> {
  const nowMs = deps.clock.now();
  const projectId = scope.projectId;
  checkProjectPolicy(deps.policy, projectId);
  checkAccessPolicy(deps.policy, payload.access);
  const expiresAtMs = grantExpiryMs(payload, nowMs, deps.policy);
  const customRoles = new Map<string, CustomRoleSpec>();
  const roles = normalizeAccess(clusterLimit(scope), payload.access, (entry) => {
    const spec = customRoleSpec(entry);
    customRoles.set(spec.roleName, spec);
    return customGrantedRole(entry.cluster, spec);
  });
  const recipient = payload.recipientPublicKey && (await importRecipientKey(payload.recipientPublicKey));
  const connectionStrings = await loadConnectionStrings(scope, deps, ctx, payload.access);
  await checkCustomRoles(deps, ctx, projectId, payload.access);
  const firstCluster = payload.access[0]?.cluster ?? '';
  return {
    projectId,
    nowMs,
    // Written now: a sweep claimed before this moment, whose configuration may predate this
    // grant's, does not end it (`GrantRecord.writtenAtMs`).
    record: { key: grantKey(payload.grantId), expiresAtMs, roles, writtenAtMs: nowMs },
    connectionStrings,
    connectionString: connectionStrings[firstCluster] ?? '',
    recipient,
    customRoles: [...customRoles.values()],
  };
}
