import { z } from 'zod';

/**
 * A connector's id: CONNECTOR_ID, and anything that must equal one (deep discovery's config
 * `connectorId`, which names the connector serving untagged clusters). One rule for both, so a
 * value no connector can have is refused where it is written, not routed to nobody.
 */
export const connectorIdSchema = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, dot, dash or underscore');
