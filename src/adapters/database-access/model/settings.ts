import { z } from 'zod';

export const projectIdSchema = z
  .string()
  .regex(/^[a-f0-9]{24}$/, 'must be a 24-character lowercase hex Atlas project id');
export const clusterNameSchema = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9-]*$/, 'must be an Atlas cluster name (letters, digits and dashes)')
  .max(64);

/**
 * Config fields every database-access kind shares (the product docs' common integration settings).
 * A kind spreads them into its own config schema, next to the fields that define its scope.
 */
export const databaseAccessShape = {
  userStrategy: z
    .enum(['per-requester', 'per-grant'])
    .default('per-requester')
    .describe(
      'per-requester: one stable user per requester and project (and cluster, in atlas-project and atlas-org-deep-discovery), grants add roles; per-grant: a fresh user per grant, deleted on revoke.',
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

/** With connectionType privateEndpoint the endpoint id is required (a `superRefine` for kind configs). */
export function requireEndpointId(
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

/** The shared config fields a kind's config carries (`databaseAccessShape`), connection aside. */
export type SharedSettings = Omit<
  z.output<z.ZodObject<typeof databaseAccessShape>>,
  'connectionType' | 'privateEndpointId'
>;

/**
 * How database access behaves for an integration, apart from its scope (the connection choice is
 * part of the resolved scope: a discovered cluster's tags may set it).
 */
export type DatabaseAccessSettings = SharedSettings & {
  /**
   * The clusters this integration's grants may name, when its configuration limits them
   * (`atlas-org-deep-discovery`'s `clusterNames`, an `atlas-project`'s `clusterName`); absent:
   * any. Sweep only takes away from this integration's users whose grants name another cluster.
   */
  readonly clusterNames?: readonly string[];
};

/** The settings part of a kind's config (the config keeps its scope fields for the resolver). */
export function settingsOf(config: SharedSettings): DatabaseAccessSettings {
  const { userStrategy, credentialRotationDays, userCleanupDays, customAccessDetails, ownerTagKey } = config;
  return {
    userStrategy,
    userCleanupDays,
    ownerTagKey,
    ...(credentialRotationDays === undefined ? {} : { credentialRotationDays }),
    ...(customAccessDetails === undefined ? {} : { customAccessDetails }),
  };
}
