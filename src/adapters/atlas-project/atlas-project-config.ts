import { z } from 'zod';
import {
  clusterNameSchema,
  databaseAccessShape,
  projectIdSchema,
  requireEndpointId,
} from '../database-access/model/settings.js';

/** `atlas-project`: one cluster of one project, plus the shared database-access settings. */
export const AtlasProjectConfig = z
  .object({
    projectId: projectIdSchema.describe('The Atlas project (group) id.'),
    clusterName: clusterNameSchema.describe('The cluster this integration grants access to.'),
    clusterType: z
      .enum(['REPLICASET', 'SHARDED', 'GEOSHARDED', 'FLEX'])
      .optional()
      .describe('The cluster type, as discovered; informational.'),
    ...databaseAccessShape,
  })
  .strict()
  .superRefine(requireEndpointId);
export type AtlasProjectConfig = z.infer<typeof AtlasProjectConfig>;
