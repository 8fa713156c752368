import { z } from 'zod';
import type { Page, PageOptions } from '../pagination.js';
import type { Transport } from '../transport.js';

/** `ApiHostViewAtlas`. It has no cluster name: map by hostname against the connection strings. */
export const processSchema = z.object({
  id: z.string(),
  hostname: z.string().optional(),
  port: z.number().optional(),
  userAlias: z.string().optional(),
  replicaSetName: z.string().optional(),
  shardName: z.string().optional(),
  typeName: z.string().optional(),
  version: z.string().optional(),
});
export type AtlasProcess = z.infer<typeof processSchema>;

export const processDatabaseSchema = z.object({ databaseName: z.string() });
export type ProcessDatabase = z.infer<typeof processDatabaseSchema>;

export interface ProcessesApi {
  list(groupId: string, options?: PageOptions): Promise<Page<AtlasProcess>>;
  /** `processId` is `hostname:port` of a mongod. */
  listDatabases(groupId: string, processId: string, options?: PageOptions): Promise<Page<ProcessDatabase>>;
}

export function createProcessesApi(transport: Transport): ProcessesApi {
  return {
    list: (groupId, options = {}) =>
      transport.page(
        { operation: 'listGroupProcesses', params: { groupId }, signal: options.signal },
        options,
        processSchema,
      ),
    listDatabases: (groupId, processId, options = {}) =>
      transport.page(
        { operation: 'listGroupProcessDatabases', params: { groupId, processId }, signal: options.signal },
        options,
        processDatabaseSchema,
      ),
  };
}
