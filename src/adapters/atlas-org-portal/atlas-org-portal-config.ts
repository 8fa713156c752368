import { z } from 'zod';
import { projectIdSchema } from './roles.js';

/** `atlas-org-portal` integration config: one organization, reached with an ORG_OWNER credential. */
export const AtlasOrgPortalConfig = z
  .object({
    orgId: z
      .string()
      .regex(/^[a-f0-9]{24}$/, 'must be a 24-character lowercase hex Atlas organization id')
      .describe('The Atlas organization whose UI roles this integration grants.'),
    projectIds: z
      .array(projectIdSchema)
      .min(1)
      .optional()
      .describe(
        'Allow-list of projects whose roles may be granted; default: every project of the organization.',
      ),
    inviteUnknownUsers: z
      .boolean()
      .default(true)
      .describe('Invite a requester who is not yet a member (Atlas e-mails them); false: such grants fail.'),
    customAccessDetails: z
      .string()
      .max(400)
      .optional()
      .describe(
        'Free text (at most 400 characters) echoed in every grant result, e.g. the Atlas UI address.',
      ),
    ownerTagKey: z
      .string()
      .min(1)
      .max(255)
      .default('owner')
      .describe('Project tag key reported as the resource owner in discovery.'),
    credentialRotationDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .optional()
      .describe('Shared setting; unused by this kind (it issues no credentials).'),
    userCleanupDays: z
      .number()
      .int()
      .min(0)
      .max(365)
      .optional()
      .describe('Shared setting; unused by this kind (it creates no users of its own).'),
  })
  .strict();
export type AtlasOrgPortalConfig = z.infer<typeof AtlasOrgPortalConfig>;
