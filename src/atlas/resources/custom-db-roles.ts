import { z } from 'zod';
import type { CallOptions } from '../pagination.js';
import type { Transport } from '../transport.js';

/** Atlas requires all three fields: `cluster: true` ignores db/collection, `collection: ''` means the db. */
export interface PrivilegeResource {
  readonly cluster: boolean;
  readonly db: string;
  readonly collection: string;
}

export interface PrivilegeAction {
  readonly action: string;
  readonly resources: readonly PrivilegeResource[];
}

export interface InheritedRole {
  readonly db: string;
  readonly role: string;
}

export interface CustomDbRoleInput {
  /** Unique in the project; letters, digits, `-`, `_`; not a built-in name, not `xgen-…`. */
  readonly roleName: string;
  readonly actions?: readonly PrivilegeAction[];
  readonly inheritedRoles?: readonly InheritedRole[];
}

export type CustomDbRoleUpdate = Omit<CustomDbRoleInput, 'roleName'>;

export const customDbRoleSchema = z.object({
  roleName: z.string(),
  actions: z
    .array(
      z.object({
        action: z.string(),
        resources: z
          .array(
            z.object({
              cluster: z.boolean().optional(),
              db: z.string().optional(),
              collection: z.string().optional(),
            }),
          )
          .default([]),
      }),
    )
    .default([]),
  inheritedRoles: z.array(z.object({ db: z.string(), role: z.string() })).default([]),
});
export type CustomDbRole = z.infer<typeof customDbRoleSchema>;

export interface CustomDbRolesApi {
  /** A plain array: this endpoint is not paginated. */
  list(groupId: string, options?: CallOptions): Promise<CustomDbRole[]>;
  get(groupId: string, roleName: string, options?: CallOptions): Promise<CustomDbRole>;
  /** 202: the role deploys asynchronously (up to ~30 s on M0/Flex). Never retried. */
  create(groupId: string, role: CustomDbRoleInput, options?: CallOptions): Promise<CustomDbRole>;
  update(
    groupId: string,
    roleName: string,
    update: CustomDbRoleUpdate,
    options?: CallOptions,
  ): Promise<CustomDbRole>;
  /** Refused (409) while a user or another role still uses it. */
  delete(groupId: string, roleName: string, options?: CallOptions): Promise<void>;
}

export function createCustomDbRolesApi(transport: Transport): CustomDbRolesApi {
  return {
    list: (groupId, options = {}) =>
      transport.array(
        { operation: 'listGroupCustomDbRoleRoles', params: { groupId }, signal: options.signal },
        customDbRoleSchema,
      ),
    get: (groupId, roleName, options = {}) =>
      transport.json(
        { operation: 'getGroupCustomDbRoleRole', params: { groupId, roleName }, signal: options.signal },
        customDbRoleSchema,
      ),
    create: (groupId, role, options = {}) =>
      transport.json(
        { operation: 'createGroupCustomDbRoleRole', params: { groupId }, body: role, signal: options.signal },
        customDbRoleSchema,
      ),
    update: (groupId, roleName, update, options = {}) =>
      transport.json(
        {
          operation: 'updateGroupCustomDbRoleRole',
          params: { groupId, roleName },
          body: { actions: update.actions, inheritedRoles: update.inheritedRoles },
          signal: options.signal,
        },
        customDbRoleSchema,
      ),
    delete: (groupId, roleName, options = {}) =>
      transport.none({
        operation: 'deleteGroupCustomDbRoleRole',
        params: { groupId, roleName },
        signal: options.signal,
      }),
  };
}
