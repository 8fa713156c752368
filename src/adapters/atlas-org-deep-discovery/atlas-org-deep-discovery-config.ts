import { z } from 'zod';
import { connectorIdSchema } from '../../config/connector-id.js';
import { clusterNameSchema, projectIdSchema } from '../database-access/model/settings.js';

/** Atlas organization ids are 24-hex, like project ids. */
const orgIdSchema = z
  .string()
  .regex(/^[a-f0-9]{24}$/, 'must be a 24-character lowercase hex Atlas organization id');
const tagKey = z.string().min(1).max(255);

/** The tags that route a cluster, in order: each must be its own key (one cannot say two things). */
const routingTagKeys = ['connectorId', 'connectionType', 'privateEndpointId'] as const;

/**
 * `atlas-org-deep-discovery`: one organization key (Organization Owner, API key or service
 * account, from any secret store); every cluster of every project becomes a sub-integration.
 * Field descriptions are what `atlas-jit-connector schema` prints.
 */
export const DeepDiscoveryConfig = z
  .object({
    orgId: orgIdSchema.describe('The Atlas organization whose projects and clusters are discovered.'),
    connectorId: connectorIdSchema
      .optional()
      .describe(
        "The integration's own connector: serves the clusters without a connector-id tag. Defaults to the CONNECTOR_ID of the connector running the job; set it when several connectors (one per network) serve one organization. A CONNECTOR_ID: 1-63 letters, digits, dot, dash or underscore.",
      ),
    tagKeys: z
      .object({
        connectorId: tagKey
          .default('apono-connector-id')
          .describe('Cluster tag naming the connector that serves the cluster.'),
        connectionType: tagKey
          .default('apono-connection-type')
          .describe('Cluster tag choosing the connection type: absent → standard, Private, PrivateEndpoint.'),
        privateEndpointId: tagKey
          .default('apono_private_endpoint_id')
          .describe('Cluster tag naming the private endpoint id for PrivateEndpoint.'),
        owner: tagKey.default('owner').describe('Cluster tag reported as the sub-integration owner.'),
      })
      .strict()
      .superRefine((keys, ctx) => {
        routingTagKeys.forEach((field, index) => {
          const same = routingTagKeys.slice(0, index).find((earlier) => keys[earlier] === keys[field]);
          if (same !== undefined) {
            ctx.addIssue({ code: 'custom', path: [field], message: `must differ from tagKeys.${same}` });
          }
        });
      })
      .prefault({})
      .describe(
        'Tag key names (matched exactly and case-sensitively, as the product docs spell them); connectorId, connectionType and privateEndpointId must be three different keys.',
      ),
    collectionDiscovery: z
      .enum(['backup-snapshot', 'driver', 'off'])
      .default('backup-snapshot')
      .describe(
        'backup-snapshot: collections from the latest completed Cloud Backup snapshot (Admin API only, no network path, no credential created); driver: log in with a short-lived discovery user and list them live; off: databases only.',
      ),
    projectIds: z
      .array(projectIdSchema)
      .max(5000)
      .optional()
      .describe('Allow-list of project ids; omitted means every project of the organization.'),
    clusterNames: z
      .array(clusterNameSchema)
      .max(5000)
      .optional()
      .describe('Allow-list of cluster names (in any project); omitted means every cluster.'),
    discoveryConcurrency: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(16)
      .describe(
        'Atlas calls discovery keeps in flight at once (projects are walked in parallel beneath it); with collectionDiscovery driver, also the discovery users and driver sessions alive at once.',
      ),
    userStrategy: z
      .enum(['per-requester', 'per-grant'])
      .default('per-requester')
      .describe('Database users on a sub-integration: as for atlas-project.'),
    credentialRotationDays: z.number().int().min(1).max(365).optional().describe('As for atlas-project.'),
    userCleanupDays: z.number().int().min(0).max(365).default(1).describe('As for atlas-project.'),
    customAccessDetails: z
      .string()
      .max(400)
      .optional()
      .describe('Free text (at most 400 characters) echoed in every grant result.'),
  })
  .strict();
export type DeepDiscoveryConfig = z.infer<typeof DeepDiscoveryConfig>;
export type TagKeys = DeepDiscoveryConfig['tagKeys'];
