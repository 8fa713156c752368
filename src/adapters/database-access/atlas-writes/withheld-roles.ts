import type { CustomDbRole, DatabaseUser } from '../../../atlas/index.js';
import type { Policy } from '../../../config/env.js';
import { isConnectorError } from '../../../errors/connector-error.js';
import type { AdapterDeps } from '../../adapter.js';
import { connectorRolePrefix } from '../discover/discover-records.js';
import { checkConnectorRoleDefinition, checkRolePolicy, isBuiltInRole } from '../model/policy.js';
import { roleKey, rolesNeeded, type GrantedRole, type GrantRecord } from '../model/user-model.js';
import type { AtlasCtx } from './user-store.js';

/**
 * Whether the local policy would give this recorded role to a grant now, as renew re-checks it: a
 * connector role by its definition among the project's custom roles, any other role by name. A
 * custom role (the connector's or the project's own) the project no longer defines cannot be
 * assigned (Atlas refuses the whole write, 400 `ATLAS_INVALID_ROLE`): no.
 */
export function policyGives(
  policy: Policy,
  role: GrantedRole,
  customRoles: readonly CustomDbRole[] | undefined,
): boolean {
  try {
    const defined = customRoles?.find((custom) => custom.roleName === role.roleName);
    if (!isBuiltInRole(role.roleName) && defined === undefined) return false;
    if (defined === undefined || !role.roleName.startsWith(connectorRolePrefix)) {
      checkRolePolicy(policy, role.roleName, 'role', role.databaseName);
      return true;
    }
    checkConnectorRoleDefinition(policy, defined, 'role');
    return true;
  } catch (error) {
    // Refused by the policy, or a definition it cannot judge (an action it does not know).
    if (isConnectorError(error)) return false;
    throw error;
  }
}

/**
 * The roles `others` (a user's other active grants) record that the user lacks (removed by hand)
 * and the policy would not give a grant now (`policyGives`), by `roleKey`. A grant, renew or
 * revoke rewrites the user's roles from its grant labels; it leaves these out, as sweep's drift
 * repair does, so a role cut short by hand after the policy was tightened is not handed back by
 * the next write on the user (and a custom role the project no longer defines, a connector role
 * sweep has since deleted or one an operator took off the user to delete it, is not named, which
 * Atlas refuses, failing the write). The project's custom roles are read only when a custom role
 * is missing.
 */
export async function withheldRoles(
  deps: Pick<AdapterDeps, 'atlas' | 'policy'>,
  ctx: AtlasCtx,
  projectId: string,
  user: DatabaseUser,
  others: readonly GrantRecord[],
): Promise<ReadonlySet<string>> {
  const held = new Set(user.roles.map(roleKey));
  const missing = rolesNeeded(others).filter((role) => !held.has(roleKey(role)));
  if (missing.length === 0) return new Set();
  const customRoles = missing.some((role) => !isBuiltInRole(role.roleName))
    ? await deps.atlas.customDbRoles.list(projectId, { signal: ctx.signal })
    : undefined;
  return new Set(missing.filter((role) => !policyGives(deps.policy, role, customRoles)).map(roleKey));
}
