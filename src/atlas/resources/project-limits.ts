import { z } from 'zod';
import type { CallOptions } from '../pagination.js';
import type { Transport } from '../transport.js';

/** Limits the connector watches: users and custom roles per project. */
export const projectLimitNames = {
  databaseUsers: 'atlas.project.security.databaseAccess.users',
  customRoles: 'atlas.project.security.databaseAccess.customRoles',
} as const;

export const projectLimitSchema = z.object({
  name: z.string(),
  value: z.number(),
  currentUsage: z.number().optional(),
  defaultLimit: z.number().optional(),
  maximumLimit: z.number().optional(),
});
export type ProjectLimit = z.infer<typeof projectLimitSchema>;

export interface ProjectLimitsApi {
  list(groupId: string, options?: CallOptions): Promise<ProjectLimit[]>;
  get(groupId: string, limitName: string, options?: CallOptions): Promise<ProjectLimit>;
  /** Sets an absolute value (Project Owner), so it is safe to retry. */
  set(groupId: string, limitName: string, value: number, options?: CallOptions): Promise<ProjectLimit>;
}

export function createProjectLimitsApi(transport: Transport): ProjectLimitsApi {
  return {
    list: (groupId, options = {}) =>
      transport.array(
        { operation: 'listGroupLimits', params: { groupId }, signal: options.signal },
        projectLimitSchema,
      ),
    get: (groupId, limitName, options = {}) =>
      transport.json(
        { operation: 'getGroupLimit', params: { groupId, limitName }, signal: options.signal },
        projectLimitSchema,
      ),
    set: (groupId, limitName, value, options = {}) =>
      transport.json(
        {
          operation: 'setGroupLimit',
          params: { groupId, limitName },
          body: { value },
          signal: options.signal,
        },
        projectLimitSchema,
      ),
  };
}
