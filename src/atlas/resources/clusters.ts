import { z } from 'zod';
import type { CallOptions, Page, PageOptions } from '../pagination.js';
import type { Transport } from '../transport.js';
import { keyValueSchema } from './common.js';

const privateEndpointSchema = z.object({
  connectionString: z.string().optional(),
  srvConnectionString: z.string().optional(),
  srvShardOptimizedConnectionString: z.string().optional(),
  type: z.string().optional(),
  endpoints: z
    .array(
      z.object({
        endpointId: z.string().optional(),
        providerName: z.string().optional(),
        region: z.string().optional(),
      }),
    )
    .optional(),
});

/** Connection strings hold hosts only, never credentials. */
export const connectionStringsSchema = z.object({
  standard: z.string().optional(),
  standardSrv: z.string().optional(),
  private: z.string().optional(),
  privateSrv: z.string().optional(),
  privateEndpoint: z.array(privateEndpointSchema).optional(),
});
export type ConnectionStrings = z.infer<typeof connectionStringsSchema>;

/** `ClusterDescription20240805`, the fields the connector uses. Enums stay strings: Atlas adds values. */
export const clusterSchema = z.object({
  id: z.string().optional(),
  name: z.string(),
  groupId: z.string().optional(),
  clusterType: z.string().optional(),
  stateName: z.string().optional(),
  paused: z.boolean().optional(),
  mongoDBVersion: z.string().optional(),
  /** `NONE` for customer clusters; system and shadow clusters are never discovered or granted on. */
  internalClusterRole: z.string().optional(),
  backupEnabled: z.boolean().optional(),
  tags: z.array(keyValueSchema).optional(),
  connectionStrings: connectionStringsSchema.optional(),
});
export type Cluster = z.infer<typeof clusterSchema>;

/** PENDING until every node has applied database-user changes; new users cannot log in before. */
export const clusterStatusSchema = z.object({ changeStatus: z.enum(['PENDING', 'APPLIED']) });
export type ClusterStatus = z.infer<typeof clusterStatusSchema>;

export const flexClusterSchema = z.object({
  id: z.string().optional(),
  name: z.string(),
  groupId: z.string().optional(),
  clusterType: z.string().optional(),
  stateName: z.string().optional(),
  mongoDBVersion: z.string().optional(),
  terminationProtectionEnabled: z.boolean().optional(),
  backupSettings: z.object({ enabled: z.boolean().optional() }).optional(),
  tags: z.array(keyValueSchema).optional(),
  connectionStrings: z
    .object({ standard: z.string().optional(), standardSrv: z.string().optional() })
    .optional(),
});
export type FlexCluster = z.infer<typeof flexClusterSchema>;

export interface ClustersApi {
  list(groupId: string, options?: PageOptions): Promise<Page<Cluster>>;
  get(groupId: string, clusterName: string, options?: CallOptions): Promise<Cluster>;
  status(groupId: string, clusterName: string, options?: CallOptions): Promise<ClusterStatus>;
}

export interface FlexClustersApi {
  list(groupId: string, options?: PageOptions): Promise<Page<FlexCluster>>;
  get(groupId: string, name: string, options?: CallOptions): Promise<FlexCluster>;
}

export function createClustersApi(transport: Transport): ClustersApi {
  return {
    list: (groupId, options = {}) =>
      transport.page(
        { operation: 'listGroupClusters', params: { groupId }, signal: options.signal },
        options,
        clusterSchema,
      ),
    get: (groupId, clusterName, options = {}) =>
      transport.json(
        { operation: 'getGroupCluster', params: { groupId, clusterName }, signal: options.signal },
        clusterSchema,
      ),
    status: (groupId, clusterName, options = {}) =>
      transport.json(
        { operation: 'getGroupClusterStatus', params: { groupId, clusterName }, signal: options.signal },
        clusterStatusSchema,
      ),
  };
}

export function createFlexClustersApi(transport: Transport): FlexClustersApi {
  return {
    list: (groupId, options = {}) =>
      transport.page(
        { operation: 'listGroupFlexClusters', params: { groupId }, signal: options.signal },
        options,
        flexClusterSchema,
      ),
    get: (groupId, name, options = {}) =>
      transport.json(
        { operation: 'getGroupFlexCluster', params: { groupId, name }, signal: options.signal },
        flexClusterSchema,
      ),
  };
}
