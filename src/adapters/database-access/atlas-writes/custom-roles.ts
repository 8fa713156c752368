import { createHash } from 'node:crypto';
import { projectLimitNames, type CustomDbRole, type CustomDbRoleInput } from '../../../atlas/index.js';
import { ConnectorError, isConnectorError } from '../../../errors/connector-error.js';
import { connectorRolePrefix } from '../discover/discover-records.js';
import { convergingCreate, readUser, type AtlasCtx, type AtlasDeps } from './user-store.js';
import type { ActionsAccessEntry } from '../model/payloads.js';
import { invalidRequest, isBuiltInRole } from '../model/policy.js';
import { rolesNeeded, type GrantedRole, type GrantRecord } from '../model/user-model.js';

/**
 * Connector-made custom roles (invariant 4): an `actions` access entry is served by a role named by
 * a hash of its privileges, `jit-r-<16 hex>`, so identical grants share one role. The role is
 * created only when the project lacks it, after checking the project's custom-role quota; sweep
 * deletes the `jit-r-` roles no user holds any more.
 */

/** Atlas refuses more custom roles than this on one database user. */
export const maxCustomRolesPerUser = 20;
/** The most `atlas.project.security.databaseAccess.customRoles` can be raised to. */
const customRolesMaximum = 1400;

export interface CustomRoleSpec {
  readonly roleName: string;
  /** Sorted, unique. */
  readonly actions: readonly string[];
  readonly db: string;
  /** `''`: the whole database. */
  readonly collection: string;
}

/** The content-addressed role of an `actions` entry: same privileges, same name. */
export function customRoleSpec(entry: Pick<ActionsAccessEntry, 'actions' | 'database' | 'collection'>) {
  const actions = [...new Set(entry.actions)].sort();
  const db = entry.database;
  const collection = entry.collection ?? '';
  const canonical = JSON.stringify({ actions, db, collection });
  const hash = createHash('sha256').update(canonical).digest('hex').slice(0, 16);
  return { roleName: `${connectorRolePrefix}${hash}`, actions, db, collection } satisfies CustomRoleSpec;
}

/** Custom roles are defined project-wide and assigned on `admin`. */
export function customGrantedRole(cluster: string, spec: CustomRoleSpec): GrantedRole {
  return { cluster, roleName: spec.roleName, databaseName: 'admin' };
}

/** The Atlas definition: every action on the one database (or collection), nothing inherited. */
export function customRoleInput(spec: CustomRoleSpec): CustomDbRoleInput {
  const resources = [{ cluster: false, db: spec.db, collection: spec.collection }];
  return { roleName: spec.roleName, actions: spec.actions.map((action) => ({ action, resources })) };
}

/** Atlas allows at most 20 custom roles per user; counted over every active grant the user keeps. */
export function checkCustomRolesPerUser(username: string, grants: readonly GrantRecord[]): void {
  const custom = new Set(
    rolesNeeded(grants)
      .map((role) => role.roleName)
      .filter((name) => !isBuiltInRole(name)),
  );
  if (custom.size > maxCustomRolesPerUser) {
    throw invalidRequest(
      'access',
      `database user ${username} would hold ${custom.size} custom roles with this grant; Atlas allows at most ${maxCustomRolesPerUser} custom roles per user`,
    );
  }
}

export function customRolesQuotaError(projectId: string, used?: number, limit?: number): ConnectorError {
  const usage = used === undefined || limit === undefined ? '' : ` (${used}/${limit})`;
  return new ConnectorError({
    code: 'quota_exceeded',
    message: `custom roles quota reached in project ${projectId}${usage}; raise ${projectLimitNames.customRoles} (up to ${customRolesMaximum}) or let sweep remove unused ${connectorRolePrefix} roles`,
    details: { projectId, quota: projectLimitNames.customRoles },
  });
}

function atlasCode(error: unknown): unknown {
  return isConnectorError(error) ? error.details['atlasErrorCode'] : undefined;
}

/** Creates the role; a racing grant that created it first (409) is as good. */
async function createRole(deps: AtlasDeps, ctx: AtlasCtx, projectId: string, spec: CustomRoleSpec) {
  ctx.beforeSideEffect();
  try {
    await convergingCreate(deps, ctx, () =>
      deps.readiness.writeChange(ctx, projectId, () =>
        deps.atlas.customDbRoles.create(projectId, customRoleInput(spec), { signal: ctx.signal }),
      ),
    );
  } catch (error) {
    const code = atlasCode(error);
    if (code === 'ATLAS_CUSTOM_ROLE_NAME_ALREADY_EXISTS') return;
    if (code === 'CUSTOM_ROLES_LIMIT_EXCEEDED') throw customRolesQuotaError(projectId);
    throw error;
  }
}

/**
 * Whether a role still grants exactly what its content-addressed name promises: the spec's actions,
 * each on the one database (or collection), nothing inherited.
 */
export function roleMatchesSpec(role: CustomDbRole, spec: CustomRoleSpec): boolean {
  if (role.inheritedRoles.length > 0) return false;
  const actions = role.actions.map((entry) => entry.action).sort();
  if (JSON.stringify(actions) !== JSON.stringify(spec.actions)) return false;
  return role.actions.every(
    (entry) =>
      entry.resources.length === 1 &&
      entry.resources.every(
        (r) => r.cluster !== true && r.db === spec.db && (r.collection ?? '') === spec.collection,
      ),
  );
}

/** Puts a drifted connector role back to its spec: its name is a promise of its content. */
async function restoreRole(deps: AtlasDeps, ctx: AtlasCtx, projectId: string, spec: CustomRoleSpec) {
  ctx.log.warn(
    { projectId, roleName: spec.roleName },
    'connector custom role was changed outside the connector; restoring its privileges',
  );
  ctx.beforeSideEffect();
  const { actions } = customRoleInput(spec);
  await deps.readiness.writeChange(ctx, projectId, () =>
    deps.atlas.customDbRoles.update(
      projectId,
      spec.roleName,
      { actions, inheritedRoles: [] },
      { signal: ctx.signal },
    ),
  );
}

/**
 * Makes sure every role exists, with the privileges its name promises, before a user is given it:
 * existing ones are reused (and restored if someone changed them); the missing ones must fit the
 * project's custom-role quota, or nothing is created.
 */
export async function ensureCustomRoles(
  deps: AtlasDeps,
  ctx: AtlasCtx,
  projectId: string,
  specs: readonly CustomRoleSpec[],
): Promise<void> {
  if (specs.length === 0) return;
  const signal = ctx.signal;
  const existing = new Map(
    (await deps.atlas.customDbRoles.list(projectId, { signal })).map((role) => [role.roleName, role]),
  );
  for (const spec of specs) {
    const role = existing.get(spec.roleName);
    if (role !== undefined && !roleMatchesSpec(role, spec)) await restoreRole(deps, ctx, projectId, spec);
  }
  const missing = specs.filter((spec) => !existing.has(spec.roleName));
  if (missing.length === 0) return;
  const limit = await deps.atlas.projectLimits.get(projectId, projectLimitNames.customRoles, { signal });
  const used = limit.currentUsage ?? existing.size;
  if (used + missing.length > limit.value) throw customRolesQuotaError(projectId, used, limit.value);
  for (const spec of missing) await createRole(deps, ctx, projectId, spec);
}

/** Right before a user write: the per-user limit over the grants it will keep, then the roles. */
export async function prepareCustomRoles(
  deps: AtlasDeps,
  ctx: AtlasCtx,
  input: {
    readonly projectId: string;
    readonly username: string;
    readonly specs: readonly CustomRoleSpec[];
    readonly grants: readonly GrantRecord[];
  },
): Promise<void> {
  checkCustomRolesPerUser(input.username, input.grants);
  await ensureCustomRoles(deps, ctx, input.projectId, input.specs);
}

/**
 * Read back after the grant's write is applied: whether the user (still) holds every connector
 * role of the grant. A sweep's delete of a role no user held when it listed them strips the role
 * from a user written since, where Atlas refuses only a delete that leaves a user with no role.
 */
export async function holdsCustomRoles(
  deps: AtlasDeps,
  ctx: AtlasCtx,
  projectId: string,
  username: string,
  specs: readonly CustomRoleSpec[],
): Promise<boolean> {
  const user = await readUser(deps, ctx, projectId, username);
  const held = user?.roles ?? [];
  return specs.every((spec) =>
    held.some((role) => role.roleName === spec.roleName && role.databaseName === 'admin'),
  );
}
