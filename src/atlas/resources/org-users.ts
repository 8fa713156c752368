import type { CallOptions, Page, PageOptions } from '../pagination.js';
import type { Transport } from '../transport.js';
import { orgUserSchema, type OrgMembershipStatus, type OrgUser } from './atlas-users.js';

export interface OrgUserListOptions extends PageOptions {
  /** Email address; the way to find a user id. */
  readonly username?: string;
  /** Defaults upstream to ACTIVE and PENDING. */
  readonly orgMembershipStatuses?: readonly OrgMembershipStatus[];
}

/** `OrgUserRequest`: an invitation the user must accept within 30 days. */
export interface OrgUserInvite {
  readonly username: string;
  readonly roles: {
    readonly orgRoles: readonly string[];
    readonly groupRoleAssignments?: readonly {
      readonly groupId: string;
      readonly groupRoles: readonly string[];
    }[];
  };
  readonly teamIds?: readonly string[];
}

export interface OrgUsersApi {
  list(orgId: string, options?: OrgUserListOptions): Promise<Page<OrgUser>>;
  get(orgId: string, userId: string, options?: CallOptions): Promise<OrgUser>;
  /** `createOrgUser`: 409 when a PENDING or ACTIVE user with that email exists. */
  invite(orgId: string, invite: OrgUserInvite, options?: CallOptions): Promise<OrgUser>;
  addRole(orgId: string, userId: string, orgRole: string, options?: CallOptions): Promise<OrgUser>;
  /** A user keeps at least one role: add the new one before removing the old. */
  removeRole(orgId: string, userId: string, orgRole: string, options?: CallOptions): Promise<OrgUser>;
  remove(orgId: string, userId: string, options?: CallOptions): Promise<void>;
}

export function createOrgUsersApi(transport: Transport): OrgUsersApi {
  return {
    list: (orgId, options = {}) =>
      transport.page(
        {
          operation: 'listOrgUsers',
          params: { orgId },
          query: { username: options.username, orgMembershipStatuses: options.orgMembershipStatuses },
          signal: options.signal,
        },
        options,
        orgUserSchema,
      ),
    get: (orgId, userId, options = {}) =>
      transport.json(
        { operation: 'getOrgUser', params: { orgId, userId }, signal: options.signal },
        orgUserSchema,
      ),
    invite: (orgId, invite, options = {}) =>
      transport.json(
        { operation: 'createOrgUser', params: { orgId }, body: invite, signal: options.signal },
        orgUserSchema,
      ),
    addRole: (orgId, userId, orgRole, options = {}) =>
      transport.json(
        { operation: 'addOrgUserRole', params: { orgId, userId }, body: { orgRole }, signal: options.signal },
        orgUserSchema,
      ),
    removeRole: (orgId, userId, orgRole, options = {}) =>
      transport.json(
        {
          operation: 'removeOrgUserRole',
          params: { orgId, userId },
          body: { orgRole },
          signal: options.signal,
        },
        orgUserSchema,
      ),
    remove: (orgId, userId, options = {}) =>
      transport.none({ operation: 'removeOrgUser', params: { orgId, userId }, signal: options.signal }),
  };
}
