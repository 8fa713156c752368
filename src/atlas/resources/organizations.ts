import { z } from 'zod';
import type { CallOptions, Page, PageOptions } from '../pagination.js';
import type { Transport } from '../transport.js';

export const organizationSchema = z.object({
  id: z.string(),
  name: z.string(),
  isDeleted: z.boolean().optional(),
});
export type Organization = z.infer<typeof organizationSchema>;

export interface OrganizationListOptions extends PageOptions {
  /** Case-insensitive name prefix. */
  readonly name?: string;
}

export interface OrganizationsApi {
  list(options?: OrganizationListOptions): Promise<Page<Organization>>;
  get(orgId: string, options?: CallOptions): Promise<Organization>;
}

export function createOrganizationsApi(transport: Transport): OrganizationsApi {
  return {
    list: (options = {}) =>
      transport.page(
        { operation: 'listOrgs', query: { name: options.name }, signal: options.signal },
        options,
        organizationSchema,
      ),
    get: (orgId, options = {}) =>
      transport.json({ operation: 'getOrg', params: { orgId }, signal: options.signal }, organizationSchema),
  };
}
