import { z } from 'zod';

export const projectIdSchema = z
  .string()
  .regex(/^[a-f0-9]{24}$/, 'must be a 24-character lowercase hex Atlas project id');
export const clusterNameSchema = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9-]*$/, 'must be an Atlas cluster name (letters, digits and dashes)')
  .max(64);

/** Settings shared by the database-access kinds (the product docs' common integration settings). */
const commonShape = {
  userStrategy: z
    .enum(['per-requester', 'per-grant'])
    .default('per-requester')
    .describe(
      'per-requester: one stable user per requester and project, grants add roles; per-grant: a fresh user per grant, deleted on revoke.',
    ),
  credentialRotationDays: z
    .number()
    .int()
    .min(1)
    .max(365)
    .optional()
    .describe('Rotate a per-requester password at the next grant once it is older than this many days.'),
  userCleanupDays: z
    .number()
    .int()
    .min(0)
    .max(365)
    .default(1)
    .describe('Delete a per-requester user this many days after its last grant ended.'),
  customAccessDetails: z
    .string()
    .max(400)
    .optional()
    .describe(
      'Free text (at most 400 characters) echoed in every grant result, e.g. how to reach the cluster.',
    ),
  connectionType: z
    .enum(['standard', 'private', 'privateEndpoint'])
    .default('standard')
    .describe(
      'Which connection string grants return: standard SRV, private (VPC peering) SRV, or a private endpoint.',
    ),
  privateEndpointId: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe('With connectionType privateEndpoint: the endpoint id whose connection string grants return.'),
  ownerTagKey: z
    .string()
    .min(1)
    .max(255)
    .default('owner')
    .describe('Cluster tag key reported as the resource owner in discovery.'),
} as const;

function requireEndpointId(
  config: { connectionType: string; privateEndpointId?: string },
  ctx: z.RefinementCtx,
): void {
  if (config.connectionType === 'privateEndpoint' && !config.privateEndpointId) {
    ctx.addIssue({
      code: 'custom',
      path: ['privateEndpointId'],
      message: 'is required when connectionType is privateEndpoint',
    });
  }
}

export const AtlasProjectConfig = z
  .object({
    projectId: projectIdSchema.describe('The Atlas project (group) id.'),
    clusterName: clusterNameSchema.describe('The cluster this integration grants access to.'),
    clusterType: z
      .enum(['REPLICASET', 'SHARDED', 'GEOSHARDED', 'FLEX'])
      .optional()
      .describe('The cluster type, as discovered; informational.'),
    ...commonShape,
  })
  .strict()
  .superRefine(requireEndpointId);
export type AtlasProjectConfig = z.infer<typeof AtlasProjectConfig>;

export const AtlasMultiProjectConfig = z
  .object({
    projectIds: z
      .array(projectIdSchema)
      .max(500)
      .optional()
      .describe('Allow-list of project ids; omitted means every project the key can see.'),
    ...commonShape,
  })
  .strict()
  .superRefine(requireEndpointId);
export type AtlasMultiProjectConfig = z.infer<typeof AtlasMultiProjectConfig>;

/** What the shared database-access logic needs from either kind's config. */
export type DatabaseAccessConfig = Omit<AtlasProjectConfig, 'projectId' | 'clusterName' | 'clusterType'> & {
  /** Projects this integration may touch; undefined means any the key can see. */
  readonly projectIds?: readonly string[];
  /** atlas-project: the one cluster grants may name. */
  readonly clusterName?: string;
};
