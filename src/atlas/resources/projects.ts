import { z } from 'zod';
import type { CallOptions, Page, PageOptions } from '../pagination.js';
import type { Transport } from '../transport.js';
import { keyValueSchema } from './common.js';

/** Atlas calls projects "groups"; `groupId` is a project id everywhere in the API. */
export const projectSchema = z.object({
  id: z.string(),
  name: z.string(),
  orgId: z.string(),
  created: z.string().optional(),
  clusterCount: z.number().optional(),
  tags: z.array(keyValueSchema).optional(),
});
export type Project = z.infer<typeof projectSchema>;

export interface OrgProjectListOptions extends PageOptions {
  /** Case-insensitive name prefix. */
  readonly name?: string;
}

export interface ProjectsApi {
  /** Projects visible to the credential. */
  list(options?: PageOptions): Promise<Page<Project>>;
  get(groupId: string, options?: CallOptions): Promise<Project>;
  getByName(groupName: string, options?: CallOptions): Promise<Project>;
  listForOrg(orgId: string, options?: OrgProjectListOptions): Promise<Page<Project>>;
}

export function createProjectsApi(transport: Transport): ProjectsApi {
  return {
    list: (options = {}) =>
      transport.page({ operation: 'listGroups', signal: options.signal }, options, projectSchema),
    get: (groupId, options = {}) =>
      transport.json({ operation: 'getGroup', params: { groupId }, signal: options.signal }, projectSchema),
    getByName: (groupName, options = {}) =>
      transport.json(
        { operation: 'getGroupByName', params: { groupName }, signal: options.signal },
        projectSchema,
      ),
    listForOrg: (orgId, options = {}) =>
      transport.page(
        {
          operation: 'getOrgGroups',
          params: { orgId },
          query: { name: options.name },
          signal: options.signal,
        },
        options,
        projectSchema,
      ),
  };
}
