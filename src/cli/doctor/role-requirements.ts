import type { RoleAssignment } from '../../atlas/index.js';

/**
 * What each integration kind needs from its Atlas credential (atlas-api.md §7, ARCHITECTURE §3)
 * and the command that grants it. Pure functions: the role check feeds them what Atlas reported.
 */
export type RoleTarget =
  | { readonly scope: 'project'; readonly projectId: string; readonly orgId?: string; readonly name?: string }
  | { readonly scope: 'org'; readonly orgId: string; readonly name?: string };

export type CredentialIdentity =
  | { readonly type: 'api-key'; readonly publicKey: string; readonly apiKeyId?: string }
  | { readonly type: 'service-account'; readonly clientId: string };

export interface RoleVerdict {
  readonly target: RoleTarget;
  /** Roles granted on the target itself. */
  readonly direct: readonly string[];
  /** Project roles that organization roles imply (Organization Owner acts as Project Owner). */
  readonly implied: readonly string[];
  /** `owner`: the full role; `least-privilege`: the documented minimum; `missing`: neither. */
  readonly outcome: 'owner' | 'least-privilege' | 'missing';
}

export const projectNeed = 'GROUP_OWNER, or at least GROUP_DATABASE_ACCESS_ADMIN + GROUP_READ_ONLY';
export const orgNeed = 'ORG_OWNER';

const impliedByOrgRole: Readonly<Record<string, string>> = {
  ORG_OWNER: 'GROUP_OWNER',
  ORG_READ_ONLY: 'GROUP_READ_ONLY',
};

export function evaluateRoles(target: RoleTarget, assignments: readonly RoleAssignment[]): RoleVerdict {
  const orgRoles = assignments.filter((a) => a.orgId === target.orgId && a.orgId !== undefined);
  if (target.scope === 'org') {
    const direct = orgRoles.map((a) => a.roleName);
    return { target, direct, implied: [], outcome: direct.includes('ORG_OWNER') ? 'owner' : 'missing' };
  }
  const direct = assignments.filter((a) => a.groupId === target.projectId).map((a) => a.roleName);
  const implied = orgRoles.flatMap((a) => impliedByOrgRole[a.roleName] ?? []);
  const held = new Set([...direct, ...implied]);
  const outcome = held.has('GROUP_OWNER')
    ? 'owner'
    : held.has('GROUP_DATABASE_ACCESS_ADMIN') && held.has('GROUP_READ_ONLY')
      ? 'least-privilege'
      : 'missing';
  return { target, direct, implied, outcome };
}

export function describeTarget(target: RoleTarget): string {
  const id = target.scope === 'org' ? target.orgId : target.projectId;
  const label = target.name ? `${target.name} (${id})` : id;
  return `${target.scope === 'org' ? 'organization' : 'project'} ${label}`;
}

/** One line per target: what the credential holds there and whether that is enough. */
export function describeVerdict(verdict: RoleVerdict): string {
  const held = [
    ...verdict.direct,
    ...verdict.implied.map((role) => `${role} (from ${orgRoleImplying(role)})`),
  ];
  const holds = held.length > 0 ? `holds ${held.join(', ')}` : 'holds no role';
  const need = verdict.target.scope === 'org' ? orgNeed : projectNeed;
  switch (verdict.outcome) {
    case 'owner':
      return `${describeTarget(verdict.target)}: ${holds}: enough`;
    case 'least-privilege':
      return `${describeTarget(verdict.target)}: ${holds}: enough for database users and custom roles (X.509 certificates and raising project limits need GROUP_OWNER)`;
    case 'missing':
      return `${describeTarget(verdict.target)}: ${holds}; needs ${need}`;
  }
}

function orgRoleImplying(projectRole: string): string {
  return (
    Object.entries(impliedByOrgRole).find(([, implied]) => implied === projectRole)?.[0] ?? 'an org role'
  );
}

/**
 * The command that grants the missing role. Both Atlas CLI `assign` commands replace the key's
 * roles at that scope; the owner role includes every other one, so nothing is lost.
 */
export function grantCommand(target: RoleTarget, identity: CredentialIdentity, inProject = false): string {
  if (identity.type === 'api-key') {
    const keyId = identity.apiKeyId ?? '<apiKeyId>';
    return target.scope === 'org'
      ? `atlas organizations apiKeys assign ${keyId} --orgId ${target.orgId} --role ORG_OWNER`
      : `atlas projects apiKeys assign ${keyId} --projectId ${target.projectId} --role GROUP_OWNER`;
  }
  const { clientId } = identity;
  if (target.scope === 'org') {
    return `echo '{"roles":["ORG_OWNER"]}' | atlas api serviceAccounts updateOrgServiceAccount --orgId ${target.orgId} --clientId ${clientId}`;
  }
  const operation = inProject ? 'updateGroupServiceAccount' : 'inviteGroupServiceAccount';
  return `echo '{"roles":["GROUP_OWNER"]}' | atlas api serviceAccounts ${operation} --groupId ${target.projectId} --clientId ${clientId}`;
}

/**
 * A dedicated organization key for the org kinds: atlas-org-portal changes people's Atlas UI roles,
 * which only Organization Owner may do, so an existing lower key is better replaced than widened.
 */
export function createOrgKeyCommand(orgId: string): string {
  return `atlas organizations apiKeys create --orgId ${orgId} --desc atlas-jit-connector --role ORG_OWNER`;
}

/** The fix for every target that falls short, one command per line. */
export function grantRemedy(verdicts: readonly RoleVerdict[], identity: CredentialIdentity): string {
  const lines = verdicts.map((v) => grantCommand(v.target, identity, v.direct.length > 0));
  for (const v of verdicts) {
    if (v.target.scope === 'org')
      lines.push(`or create a dedicated key: ${createOrgKeyCommand(v.target.orgId)}`);
  }
  if (identity.type === 'api-key' && identity.apiKeyId === undefined) {
    lines.push('(atlas organizations apiKeys list shows the key id for the public key)');
  }
  return lines.join('\n');
}
