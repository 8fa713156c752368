import { z } from 'zod';
import type { CallOptions, Page, PageOptions } from '../pagination.js';
import type { Transport } from '../transport.js';

/** One role grant: on an organization or on a project, never both. */
export const roleAssignmentSchema = z.object({
  orgId: z.string().optional(),
  groupId: z.string().optional(),
  roleName: z.string(),
});
export type RoleAssignment = z.infer<typeof roleAssignmentSchema>;

/** `SystemStatus`: `apiKey` describes the calling API key (null for service accounts). */
export const systemStatusSchema = z.object({
  appName: z.string(),
  build: z.string(),
  throttling: z.boolean(),
  apiKey: z
    .object({ id: z.string(), publicKey: z.string(), roles: z.array(roleAssignmentSchema).default([]) })
    .nullish(),
});
export type SystemStatus = z.infer<typeof systemStatusSchema>;

/** `ApiKeyUserDetails` without `privateKey`, which zod strips on parse. */
export const apiKeySchema = z.object({
  id: z.string(),
  desc: z.string().optional(),
  publicKey: z.string(),
  roles: z.array(roleAssignmentSchema).default([]),
});
export type ApiKey = z.infer<typeof apiKeySchema>;

export const serviceAccountSchema = z.object({
  clientId: z.string(),
  name: z.string().optional(),
  description: z.string().optional(),
  roles: z.array(z.string()).default([]),
});
export type ServiceAccount = z.infer<typeof serviceAccountSchema>;

export const serviceAccountProjectSchema = z.object({
  groupId: z.string(),
  roles: z.array(z.string()).default([]),
});
export type ServiceAccountProject = z.infer<typeof serviceAccountProjectSchema>;

/**
 * What the credential itself is allowed to do, for a `doctor` command. API keys see their own
 * roles in `status()`; a service account reads its org roles and project roles by client id.
 */
export interface IdentityApi {
  /** `GET /api/atlas/v2`: the cheapest authenticated call, and the API key's own roles. */
  status(options?: CallOptions): Promise<SystemStatus>;
  listOrgApiKeys(orgId: string, options?: PageOptions): Promise<Page<ApiKey>>;
  getServiceAccount(orgId: string, clientId: string, options?: CallOptions): Promise<ServiceAccount>;
  listServiceAccountProjects(
    orgId: string,
    clientId: string,
    options?: PageOptions,
  ): Promise<Page<ServiceAccountProject>>;
}

export function createIdentityApi(transport: Transport): IdentityApi {
  return {
    status: (options = {}) =>
      transport.json({ operation: 'getSystemStatus', signal: options.signal }, systemStatusSchema),
    listOrgApiKeys: (orgId, options = {}) =>
      transport.page(
        { operation: 'listOrgApiKeys', params: { orgId }, signal: options.signal },
        options,
        apiKeySchema,
      ),
    getServiceAccount: (orgId, clientId, options = {}) =>
      transport.json(
        { operation: 'getOrgServiceAccount', params: { orgId, clientId }, signal: options.signal },
        serviceAccountSchema,
      ),
    listServiceAccountProjects: (orgId, clientId, options = {}) =>
      transport.page(
        { operation: 'getOrgServiceAccountGroups', params: { orgId, clientId }, signal: options.signal },
        options,
        serviceAccountProjectSchema,
      ),
  };
}
