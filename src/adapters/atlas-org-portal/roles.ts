import { z } from 'zod';

/**
 * The Atlas UI role vocabulary, in one place. Org roles are a closed enum in the spec; project
 * roles are free strings there, so this list is the documented set (docs/org-portal.md) and the
 * policy may name others explicitly — Atlas's 400 `INVALID_ROLE_FOR_GROUP` then speaks for them.
 */
export const orgRoles = [
  'ORG_OWNER',
  'ORG_GROUP_CREATOR',
  'ORG_BILLING_ADMIN',
  'ORG_BILLING_READ_ONLY',
  'ORG_STREAM_PROCESSING_ADMIN',
  'ORG_READ_ONLY',
  'ORG_MEMBER',
] as const;
export type OrgRole = (typeof orgRoles)[number];

export const knownProjectRoles = [
  'GROUP_OWNER',
  'GROUP_CLUSTER_MANAGER',
  'GROUP_DATA_ACCESS_ADMIN',
  'GROUP_DATA_ACCESS_READ_WRITE',
  'GROUP_DATA_ACCESS_READ_ONLY',
  'GROUP_READ_ONLY',
  'GROUP_SEARCH_INDEX_EDITOR',
  'GROUP_STREAM_PROCESSING_OWNER',
  'GROUP_BACKUP_MANAGER',
  'GROUP_OBSERVABILITY_VIEWER',
  'GROUP_DATABASE_ACCESS_ADMIN',
] as const;

/** Owner roles: never grantable unless the local policy names them explicitly. */
export const ownerRoles: ReadonlySet<string> = new Set(['ORG_OWNER', 'GROUP_OWNER']);

/** The baseline org role: every person keeps at least one org role, and this is the one to keep. */
export const baselineOrgRole: OrgRole = 'ORG_MEMBER';

export const projectIdSchema = z
  .string()
  .regex(/^[a-f0-9]{24}$/, 'must be a 24-character lowercase hex Atlas project id');

export const OrgAccess = z.object({
  level: z.literal('org'),
  role: z.enum(orgRoles, { message: `must be one of ${orgRoles.join(', ')}` }),
});
export const ProjectAccess = z.object({
  level: z.literal('project'),
  projectId: projectIdSchema,
  role: z.string().regex(/^GROUP_[A-Z_]+$/, 'must be an Atlas project role name (GROUP_…)'),
});
/** One Atlas UI role at one level: what a grant asks for and what its result records. */
export const Access = z.discriminatedUnion('level', [OrgAccess, ProjectAccess]);
export type Access = z.infer<typeof Access>;

/** `org:ROLE` or `project:<id>:ROLE`: the identity of a role held at one level. */
export function accessKey(access: Access): string {
  return access.level === 'org' ? `org:${access.role}` : `project:${access.projectId}:${access.role}`;
}

export function describeAccess(access: Access): string {
  return access.level === 'org'
    ? `${access.role} (organization)`
    : `${access.role} in project ${access.projectId}`;
}

/** Distinct by key, first occurrence kept. */
export function distinctAccess(list: readonly Access[]): Access[] {
  const seen = new Map<string, Access>();
  for (const a of list) if (!seen.has(accessKey(a))) seen.set(accessKey(a), a);
  return [...seen.values()];
}
