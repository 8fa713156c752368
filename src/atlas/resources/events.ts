import { z } from 'zod';
import type { Page, PageOptions } from '../pagination.js';
import type { Transport } from '../transport.js';

/** The fields common to every event type; the type list itself changes too often to enumerate. */
export const atlasEventSchema = z.object({
  id: z.string(),
  created: z.string(),
  eventTypeName: z.string(),
  groupId: z.string().optional(),
  orgId: z.string().optional(),
  userId: z.string().optional(),
  username: z.string().optional(),
  apiKeyId: z.string().optional(),
  publicKey: z.string().optional(),
  remoteAddress: z.string().optional(),
  targetUsername: z.string().optional(),
  dbUserUsername: z.string().optional(),
});
export type AtlasEvent = z.infer<typeof atlasEventSchema>;

export interface EventListOptions extends PageOptions {
  readonly eventType?: readonly string[];
  /** ISO 8601. */
  readonly minDate?: string;
  readonly maxDate?: string;
}

export interface EventsApi {
  listForProject(groupId: string, options?: EventListOptions): Promise<Page<AtlasEvent>>;
  listForOrg(orgId: string, options?: EventListOptions): Promise<Page<AtlasEvent>>;
}

const eventQuery = (options: EventListOptions) => ({
  eventType: options.eventType,
  minDate: options.minDate,
  maxDate: options.maxDate,
});

export function createEventsApi(transport: Transport): EventsApi {
  return {
    listForProject: (groupId, options = {}) =>
      transport.page(
        {
          operation: 'listGroupEvents',
          params: { groupId },
          query: eventQuery(options),
          signal: options.signal,
        },
        options,
        atlasEventSchema,
      ),
    listForOrg: (orgId, options = {}) =>
      transport.page(
        { operation: 'listOrgEvents', params: { orgId }, query: eventQuery(options), signal: options.signal },
        options,
        atlasEventSchema,
      ),
  };
}
