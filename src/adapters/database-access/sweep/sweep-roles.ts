import type { CustomDbRole, CustomDbRoleInput, DatabaseUser } from '../../../atlas/index.js';
import { isConnectorError } from '../../../errors/connector-error.js';
import { connectorRolePrefix } from '../discover/discover-records.js';
import { policyGives } from '../atlas-writes/withheld-roles.js';
import { activeGrants, isManaged, readGrants, rolesNeeded } from '../model/user-model.js';
import { recordError, type SweepEnv } from './sweep-env.js';

/** Atlas's refusals that mean "still used": the role stays, and the sweep says why. */
const inUseCodes: ReadonlySet<string> = new Set([
  'ATLAS_CUSTOM_ROLE_IN_USE_BY_USERS',
  'ATLAS_CUSTOM_ROLE_IN_USE_BY_ROLES',
]);

function inUseCode(error: unknown): string | undefined {
  if (!isConnectorError(error) || error.code !== 'conflict') return undefined;
  const code = error.details.atlasErrorCode;
  return typeof code === 'string' && inUseCodes.has(code) ? code : undefined;
}

/**
 * Deletes the connector's custom roles (`jit-r-…`) that no user holds and no role inherits; returns
 * the deleted ones as listed (their definitions). The reference set is what the sweep saw (and
 * left) on every user. A grant that assigned the role after the listing makes Atlas answer 409
 * only where it refuses to delete a role any user holds; where it refuses only for a user left
 * with no role, the delete strips the role from that user, and `restoreStrippedRoles` puts it back.
 */
export async function collectCustomRoles(
  env: SweepEnv,
  roles: readonly CustomDbRole[],
  referencedByUsers: ReadonlySet<string>,
): Promise<CustomDbRole[]> {
  const { projectId, report, ctx } = env;
  const inherited = new Set(roles.flatMap((role) => role.inheritedRoles.map((parent) => parent.role)));
  const unused = roles
    .filter((role) => role.roleName.startsWith(connectorRolePrefix))
    .filter((role) => !referencedByUsers.has(role.roleName) && !inherited.has(role.roleName))
    .sort((a, b) => a.roleName.localeCompare(b.roleName));
  const deleted: CustomDbRole[] = [];
  for (const role of unused) {
    const { roleName } = role;
    try {
      ctx.beforeSideEffect();
      await env.deps.atlas.customDbRoles.delete(projectId, roleName, { signal: ctx.signal });
      report.customRolesDeleted.push({ projectId, roleName });
      deleted.push(role);
    } catch (error) {
      if (isConnectorError(error) && error.code === 'not_found') continue;
      const reason = inUseCode(error);
      if (reason !== undefined) report.customRolesKept.push({ projectId, roleName, reason });
      else recordError(env, error, { roleName });
    }
  }
  return deleted;
}

/**
 * A connector role (by `roleKey`, `jit-r-…@admin`) the project's listing does not hold: no policy
 * judged it, the definition to judge (and to recreate it) is gone.
 */
export function isUndefinedConnectorRole(env: SweepEnv, key: string): boolean {
  const roleName = key.split('@')[0] ?? '';
  return (
    env.customRoles !== undefined &&
    roleName.startsWith(connectorRolePrefix) &&
    !env.customRoles.some((role) => role.roleName === roleName)
  );
}

/**
 * Of the deleted roles, those an active grant on one of these users (listed after the deletes)
 * records and the local policy would still give, by role name → the users' names: a grant
 * assigned the role between the sweep's listing and its delete.
 */
export function strippedRoles(
  env: SweepEnv,
  deleted: readonly CustomDbRole[],
  users: readonly DatabaseUser[],
): Map<string, string[]> {
  const nowMs = env.deps.clock.now();
  const holders = new Map<string, string[]>();
  for (const user of users) {
    if (!isManaged(user.labels)) continue;
    const recorded = rolesNeeded(activeGrants(readGrants(user.labels ?? []), nowMs));
    for (const role of recorded) {
      const definition = deleted.find((candidate) => candidate.roleName === role.roleName);
      if (definition === undefined || !policyGives(env.deps.policy, role, [definition])) continue;
      const names = holders.get(role.roleName) ?? [];
      if (!names.includes(user.username)) holders.set(role.roleName, [...names, user.username]);
    }
  }
  return holders;
}

/** The listed definition as Atlas takes it back: every resource field present. */
function asInput({ roleName, actions, inheritedRoles }: CustomDbRole): CustomDbRoleInput {
  const resource = (r: CustomDbRole['actions'][number]['resources'][number]) => ({
    cluster: r.cluster ?? false,
    db: r.db ?? '',
    collection: r.collection ?? '',
  });
  return {
    roleName,
    actions: actions.map(({ action, resources }) => ({ action, resources: resources.map(resource) })),
    inheritedRoles,
  };
}

function alreadyExists(error: unknown): boolean {
  return (
    isConnectorError(error) && error.details['atlasErrorCode'] === 'ATLAS_CUSTOM_ROLE_NAME_ALREADY_EXISTS'
  );
}

/**
 * Creates each role again with the definition it was listed with (its name promises exactly that
 * content); returns the names now defined. A 409 (a grant's retry recreated it first) is as good.
 */
export async function recreateRoles(
  env: SweepEnv,
  roles: readonly CustomDbRole[],
  holders: ReadonlyMap<string, readonly string[]>,
): Promise<string[]> {
  const { projectId, report, ctx } = env;
  const restored: string[] = [];
  for (const role of roles) {
    const { roleName } = role;
    try {
      ctx.beforeSideEffect();
      await env.deps.atlas.customDbRoles.create(projectId, asInput(role), { signal: ctx.signal });
    } catch (error) {
      if (!alreadyExists(error)) {
        recordError(env, error, { roleName });
        continue;
      }
    }
    const usernames = [...(holders.get(roleName) ?? [])].sort();
    report.customRolesRestored.push({ projectId, roleName, usernames });
    restored.push(roleName);
  }
  return restored;
}
