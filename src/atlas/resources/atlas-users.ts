import { z } from 'zod';

/** ACTIVE (member), PENDING (invited), INVITATION_EXPIRED, INVITATION_REJECTED. */
export type OrgMembershipStatus = 'ACTIVE' | 'PENDING' | 'INVITATION_EXPIRED' | 'INVITATION_REJECTED';

const membershipStatus = z.string();

/** `OrgUserResponse` (2025-02-19): active and pending users share these fields. */
export const orgUserSchema = z.object({
  id: z.string(),
  username: z.string(),
  orgMembershipStatus: membershipStatus,
  roles: z
    .object({
      orgRoles: z.array(z.string()).default([]),
      groupRoleAssignments: z
        .array(z.object({ groupId: z.string(), groupRoles: z.array(z.string()).default([]) }))
        .default([]),
    })
    .default({ orgRoles: [], groupRoleAssignments: [] }),
  teamIds: z.array(z.string()).default([]),
  // Absent for ACTIVE users, null for a REJECTED invitation.
  invitationExpiresAt: z.string().nullish(),
});
export type OrgUser = z.infer<typeof orgUserSchema>;

/** `GroupUserResponse` (2025-02-19): roles are project role names (`GROUP_*`), treated as data. */
export const projectUserSchema = z.object({
  id: z.string(),
  username: z.string(),
  orgMembershipStatus: membershipStatus,
  roles: z.array(z.string()).default([]),
});
export type ProjectUser = z.infer<typeof projectUserSchema>;
