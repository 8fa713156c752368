import { allowedByPolicy } from '../../config/env.js';
import { grantExpiryMs } from '../grant-expiry.js';
import type { AtlasOrgPortalConfig } from './atlas-org-portal-config.js';
import type { GrantPayload } from './payloads.js';
import { fieldError, type PortalDeps } from './person.js';
import { distinctAccess, knownProjectRoles, ownerRoles, type Access } from './roles.js';

/**
 * Everything a grant checks before its first Atlas call: the integration's project allow-list and
 * the connector's local policy (ARCHITECTURE §6: no job can override it). Each error names the
 * payload field and the rule, so the requester can fix the request.
 */

const documentedProjectRoles: ReadonlySet<string> = new Set(knownProjectRoles);

/** Empty list: the default set minus owners; a non-empty list is exact (and may name an owner role). */
function roleAllowed(
  role: string,
  allowList: readonly string[],
  defaults: (role: string) => boolean,
): boolean {
  if (allowList.length > 0) return allowList.includes(role);
  return defaults(role) && !ownerRoles.has(role);
}

function checkOrgAccess(role: string, field: string, deps: Pick<PortalDeps, 'policy'>): void {
  if (roleAllowed(role, deps.policy.allowedOrgRoles, () => true)) return;
  const owner = ownerRoles.has(role) && deps.policy.allowedOrgRoles.length === 0;
  throw fieldError(
    'policy_denied',
    field,
    owner
      ? `${role} is denied unless POLICY_ALLOWED_ORG_ROLES names it`
      : `${role} is not in the connector policy's allowed org roles (POLICY_ALLOWED_ORG_ROLES)`,
    owner ? 'admin_role' : 'role',
  );
}

function checkProjectRole(role: string, field: string, deps: Pick<PortalDeps, 'policy'>): void {
  const { allowedProjectRoles } = deps.policy;
  if (roleAllowed(role, allowedProjectRoles, (r) => documentedProjectRoles.has(r))) return;
  if (allowedProjectRoles.length === 0 && !documentedProjectRoles.has(role)) {
    throw fieldError('invalid_request', field, `${role} is not a known Atlas project role`);
  }
  const owner = ownerRoles.has(role) && allowedProjectRoles.length === 0;
  throw fieldError(
    'policy_denied',
    field,
    owner
      ? `${role} is denied unless POLICY_ALLOWED_PROJECT_ROLES names it`
      : `${role} is not in the connector policy's allowed project roles (POLICY_ALLOWED_PROJECT_ROLES)`,
    owner ? 'admin_role' : 'role',
  );
}

function checkProject(
  projectId: string,
  field: string,
  config: AtlasOrgPortalConfig,
  deps: Pick<PortalDeps, 'policy'>,
) {
  if (config.projectIds !== undefined && !config.projectIds.includes(projectId)) {
    throw fieldError(
      'policy_denied',
      field,
      `project ${projectId} is outside the integration's projectIds allow-list`,
      'project',
    );
  }
  if (!allowedByPolicy(projectId, deps.policy)) {
    throw fieldError(
      'policy_denied',
      field,
      `project ${projectId} is not in POLICY_ALLOWED_PROJECT_IDS`,
      'project',
    );
  }
}

export function checkAccess(
  access: readonly Access[],
  config: AtlasOrgPortalConfig,
  deps: Pick<PortalDeps, 'policy'>,
) {
  access.forEach((a, i) => {
    if (a.level === 'org') {
      checkOrgAccess(a.role, `access[${i}].role`, deps);
      return;
    }
    checkProject(a.projectId, `access[${i}].projectId`, config, deps);
    checkProjectRole(a.role, `access[${i}].role`, deps);
  });
}

export interface ValidatedGrant {
  readonly email: string;
  readonly access: readonly Access[];
  readonly expiresAtMs: number;
}

export function validateGrant(
  payload: GrantPayload,
  config: AtlasOrgPortalConfig,
  deps: Pick<PortalDeps, 'policy' | 'clock'>,
): ValidatedGrant {
  checkAccess(payload.access, config, deps);
  const expiresAtMs = grantExpiryMs(payload, deps.clock.now(), deps.policy);
  return {
    email: payload.requester.email.toLowerCase(),
    access: distinctAccess(payload.access),
    expiresAtMs,
  };
}
