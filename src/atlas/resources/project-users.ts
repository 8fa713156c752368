import type { CallOptions, Page, PageOptions } from '../pagination.js';
import type { Transport } from '../transport.js';
import { projectUserSchema, type OrgMembershipStatus, type ProjectUser } from './atlas-users.js';

export interface ProjectUserListOptions extends PageOptions {
  readonly username?: string;
  readonly orgMembershipStatuses?: readonly OrgMembershipStatus[];
  /** Include users who reach the project through a team. */
  readonly flattenTeams?: boolean;
  /** Include Organization Owners / Read Only users who see the project implicitly. */
  readonly includeOrgUsers?: boolean;
}

export interface ProjectUserAdd {
  /** Email address. */
  readonly username: string;
  readonly roles: readonly string[];
}

export interface ProjectUsersApi {
  list(groupId: string, options?: ProjectUserListOptions): Promise<Page<ProjectUser>>;
  get(groupId: string, userId: string, options?: CallOptions): Promise<ProjectUser>;
  /** Immediate for ACTIVE org members; otherwise an org invitation carrying the project roles. */
  add(groupId: string, user: ProjectUserAdd, options?: CallOptions): Promise<ProjectUser>;
  addRole(groupId: string, userId: string, groupRole: string, options?: CallOptions): Promise<ProjectUser>;
  /** The last project role cannot be removed: use `remove` to revoke access entirely. */
  removeRole(groupId: string, userId: string, groupRole: string, options?: CallOptions): Promise<ProjectUser>;
  remove(groupId: string, userId: string, options?: CallOptions): Promise<void>;
}

export function createProjectUsersApi(transport: Transport): ProjectUsersApi {
  return {
    list: (groupId, options = {}) =>
      transport.page(
        {
          operation: 'listGroupUsers',
          params: { groupId },
          query: {
            username: options.username,
            orgMembershipStatuses: options.orgMembershipStatuses,
            flattenTeams: options.flattenTeams,
            includeOrgUsers: options.includeOrgUsers,
          },
          signal: options.signal,
        },
        options,
        projectUserSchema,
      ),
    get: (groupId, userId, options = {}) =>
      transport.json(
        { operation: 'getGroupUser', params: { groupId, userId }, signal: options.signal },
        projectUserSchema,
      ),
    add: (groupId, user, options = {}) =>
      transport.json(
        { operation: 'addGroupUsers', params: { groupId }, body: user, signal: options.signal },
        projectUserSchema,
      ),
    addRole: (groupId, userId, groupRole, options = {}) =>
      transport.json(
        {
          operation: 'addGroupUserRole',
          params: { groupId, userId },
          body: { groupRole },
          signal: options.signal,
        },
        projectUserSchema,
      ),
    removeRole: (groupId, userId, groupRole, options = {}) =>
      transport.json(
        {
          operation: 'removeGroupUserRole',
          params: { groupId, userId },
          body: { groupRole },
          signal: options.signal,
        },
        projectUserSchema,
      ),
    remove: (groupId, userId, options = {}) =>
      transport.none({ operation: 'removeGroupUser', params: { groupId, userId }, signal: options.signal }),
  };
}
