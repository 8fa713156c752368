import type { Access } from './context.js';
import { atlasError } from './errors.js';
import type { CredentialRec } from './model.js';
import type { SimState } from './state.js';

/** Project roles that satisfy each project-level requirement (Atlas roles are not hierarchical). */
const groupAccess: Record<
  'groupRead' | 'groupDbAdmin' | 'groupAccessManager' | 'groupBackupManager' | 'groupOwner',
  ReadonlySet<string> | 'any'
> = {
  groupRead: 'any',
  groupDbAdmin: new Set(['GROUP_OWNER', 'GROUP_DATABASE_ACCESS_ADMIN', 'GROUP_STREAM_PROCESSING_OWNER']),
  groupAccessManager: new Set(['GROUP_OWNER', 'GROUP_ACCESS_MANAGER', 'GROUP_USER_ADMIN']),
  groupBackupManager: new Set(['GROUP_OWNER', 'GROUP_BACKUP_MANAGER']),
  groupOwner: new Set(['GROUP_OWNER']),
};

/** Organization roles that satisfy each org-level requirement beyond membership. */
const orgAccess: Record<'orgReadOnly' | 'orgOwner', ReadonlySet<string>> = {
  orgReadOnly: new Set(['ORG_OWNER', 'ORG_READ_ONLY']),
  orgOwner: new Set(['ORG_OWNER']),
};

export function orgRolesOf(credential: CredentialRec, orgId: string): string[] {
  return credential.roles.flatMap((r) => ('orgId' in r && r.orgId === orgId ? [r.roleName] : []));
}

/**
 * The project roles a credential effectively holds: its own, plus what org roles imply
 * (Organization Owner acts as Project Owner everywhere in the org, Organization Read Only as
 * Project Read Only).
 */
export function groupRolesOf(state: SimState, credential: CredentialRec, groupId: string): Set<string> {
  const roles = new Set(
    credential.roles.flatMap((r) => ('groupId' in r && r.groupId === groupId ? [r.roleName] : [])),
  );
  const orgId = state.project(groupId)?.orgId;
  if (orgId === undefined) return roles;
  const orgRoles = orgRolesOf(credential, orgId);
  if (orgRoles.includes('ORG_OWNER')) roles.add('GROUP_OWNER');
  if (orgRoles.includes('ORG_READ_ONLY')) roles.add('GROUP_READ_ONLY');
  return roles;
}

export function canSeeOrg(state: SimState, credential: CredentialRec, orgId: string): boolean {
  if (orgRolesOf(credential, orgId).length > 0) return true;
  return state.projectsOf(orgId).some((p) => groupRolesOf(state, credential, p.id).size > 0);
}

export function canSeeGroup(state: SimState, credential: CredentialRec, groupId: string): boolean {
  return groupRolesOf(state, credential, groupId).size > 0;
}

/**
 * Refuses a call the credential may not make: no role at all in the org/project is 403
 * `USER_CANNOT_ACCESS_*`; a role that is too weak is 401 `USER_UNAUTHORIZED`, which is what Atlas
 * answers when, say, a Project Read Only key tries to create a database user.
 */
export function authorize(
  state: SimState,
  credential: CredentialRec,
  access: Access,
  scope: { orgId?: string; groupId?: string },
): void {
  if (access === 'public') return;
  if (access === 'orgMember' || access === 'orgReadOnly' || access === 'orgOwner') {
    const orgId = scope.orgId ?? '';
    if (!canSeeOrg(state, credential, orgId)) throw atlasError('USER_CANNOT_ACCESS_ORG');
    const required = access === 'orgMember' ? undefined : orgAccess[access];
    if (required && !orgRolesOf(credential, orgId).some((r) => required.has(r))) {
      throw atlasError('USER_UNAUTHORIZED');
    }
    return;
  }
  const roles = groupRolesOf(state, credential, scope.groupId ?? '');
  if (roles.size === 0) throw atlasError('USER_CANNOT_ACCESS_GROUP');
  const allowed = groupAccess[access];
  if (allowed !== 'any' && ![...roles].some((r) => allowed.has(r))) throw atlasError('USER_UNAUTHORIZED');
}
