import type { CustomDbRole } from '../../../atlas/index.js';
import { isConnectorError } from '../../../errors/connector-error.js';
import { connectorRolePrefix } from '../discover/discover-records.js';
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
 * Deletes the connector's custom roles (`jit-r-…`) that no user holds and no role inherits. The
 * reference set is what the sweep saw (and left) on every user; Atlas's 409 covers a grant that
 * assigned the role after the listing.
 */
export async function collectCustomRoles(
  env: SweepEnv,
  roles: readonly CustomDbRole[],
  referencedByUsers: ReadonlySet<string>,
): Promise<void> {
  const { projectId, report, ctx } = env;
  const inherited = new Set(roles.flatMap((role) => role.inheritedRoles.map((parent) => parent.role)));
  const unused = roles
    .map((role) => role.roleName)
    .filter((name) => name.startsWith(connectorRolePrefix))
    .filter((name) => !referencedByUsers.has(name) && !inherited.has(name))
    .sort();
  for (const roleName of unused) {
    try {
      ctx.beforeSideEffect();
      await env.deps.atlas.customDbRoles.delete(projectId, roleName, { signal: ctx.signal });
      report.customRolesDeleted.push({ projectId, roleName });
    } catch (error) {
      if (isConnectorError(error) && error.code === 'not_found') continue;
      const reason = inUseCode(error);
      if (reason !== undefined) report.customRolesKept.push({ projectId, roleName, reason });
      else recordError(env, error, { roleName });
    }
  }
}
