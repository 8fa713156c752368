import { z } from 'zod';
import type { CallOptions, Page, PageOptions } from '../pagination.js';
import type { Transport } from '../transport.js';
import { orgUserSchema, type OrgUser } from './atlas-users.js';

export const teamSchema = z.object({ id: z.string(), name: z.string() });
export type Team = z.infer<typeof teamSchema>;

/** A team's roles in one project (`TeamRole`). */
export const projectTeamSchema = z.object({ teamId: z.string(), roleNames: z.array(z.string()).default([]) });
export type ProjectTeam = z.infer<typeof projectTeamSchema>;

/** Membership changes need Organization Owner: a high privilege, see docs/atlas-client.md. */
export interface TeamsApi {
  list(orgId: string, options?: PageOptions): Promise<Page<Team>>;
  listUsers(orgId: string, teamId: string, options?: PageOptions): Promise<Page<OrgUser>>;
  addUser(orgId: string, teamId: string, userId: string, options?: CallOptions): Promise<OrgUser>;
  removeUser(orgId: string, teamId: string, userId: string, options?: CallOptions): Promise<OrgUser>;
  listForProject(groupId: string, options?: PageOptions): Promise<Page<ProjectTeam>>;
}

export function createTeamsApi(transport: Transport): TeamsApi {
  return {
    list: (orgId, options = {}) =>
      transport.page(
        { operation: 'listOrgTeams', params: { orgId }, signal: options.signal },
        options,
        teamSchema,
      ),
    listUsers: (orgId, teamId, options = {}) =>
      transport.page(
        { operation: 'listOrgTeamUsers', params: { orgId, teamId }, signal: options.signal },
        options,
        orgUserSchema,
      ),
    addUser: (orgId, teamId, userId, options = {}) =>
      transport.json(
        {
          operation: 'addOrgTeamUser',
          params: { orgId, teamId },
          body: { id: userId },
          signal: options.signal,
        },
        orgUserSchema,
      ),
    removeUser: (orgId, teamId, userId, options = {}) =>
      transport.json(
        {
          operation: 'removeOrgTeamUser',
          params: { orgId, teamId },
          body: { id: userId },
          signal: options.signal,
        },
        orgUserSchema,
      ),
    listForProject: (groupId, options = {}) =>
      transport.page(
        { operation: 'listGroupTeams', params: { groupId }, signal: options.signal },
        options,
        projectTeamSchema,
      ),
  };
}
