import { z } from 'zod';
import {
  databaseAccessShape,
  projectIdSchema,
  requireEndpointId,
} from '../database-access/model/settings.js';

/** `atlas-multi-project`: an optional project allow-list, plus the shared database-access settings. */
export const AtlasMultiProjectConfig = z
  .object({
    projectIds: z
      .array(projectIdSchema)
      .max(500)
      .optional()
      .describe('Allow-list of project ids; omitted means every project the key can see.'),
    ...databaseAccessShape,
  })
  .strict()
  .superRefine(requireEndpointId);
export type AtlasMultiProjectConfig = z.infer<typeof AtlasMultiProjectConfig>;
