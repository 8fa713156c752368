import type { SimContext } from './context.js';
import { isoSeconds } from './ids.js';
import type {
  CredentialRec,
  CustomRoleRec,
  DbUserRec,
  EventRec,
  OrgUserRec,
  ProjectRec,
  TeamRec,
} from './model.js';
import type { Link } from './pagination.js';
import { apiPrefix } from './router.js';
import type { SimState } from './state.js';

/** Renders records the way Atlas's responses show them. Never includes secrets. */

export function selfLinks(sim: SimContext, path: string): Link[] {
  return [{ href: `${sim.baseUrl}${apiPrefix}${path}`, rel: 'self' }];
}

export function orgView(sim: SimContext, org: { id: string; name: string }): object {
  return {
    id: org.id,
    isDeleted: false,
    links: selfLinks(sim, `/orgs/${org.id}`),
    name: org.name,
    skipDefaultAlertsSettings: false,
  };
}

export function groupView(sim: SimContext, project: ProjectRec): object {
  return {
    clusterCount: sim.state.clustersOf(project.id).length,
    created: project.created,
    id: project.id,
    links: selfLinks(sim, `/groups/${project.id}`),
    name: project.name,
    orgId: project.orgId,
    tags: project.tags,
    withDefaultAlertsSettings: true,
  };
}

export function dbUserView(sim: SimContext, user: DbUserRec): object {
  const path = `/groups/${user.groupId}/databaseUsers/${encodeURIComponent(user.databaseName)}/${encodeURIComponent(user.username)}`;
  return {
    awsIAMType: user.awsIAMType,
    databaseName: user.databaseName,
    ...(user.deleteAfter !== undefined ? { deleteAfterDate: isoSeconds(user.deleteAfter) } : {}),
    ...(user.description !== undefined ? { description: user.description } : {}),
    groupId: user.groupId,
    labels: user.labels,
    ldapAuthType: user.ldapAuthType,
    links: selfLinks(sim, path),
    oidcAuthType: user.oidcAuthType,
    roles: user.roles,
    scopes: user.scopes,
    username: user.username,
    x509Type: user.x509Type,
  };
}

export function customRoleView(role: CustomRoleRec): object {
  return { actions: role.actions, inheritedRoles: role.inheritedRoles, roleName: role.roleName };
}

export function limitView(
  name: string,
  value: number,
  currentUsage: number,
  defaults: { default: number; max: number },
): object {
  return { currentUsage, defaultLimit: defaults.default, maximumLimit: defaults.max, name, value };
}

function memberFields(user: OrgUserRec): object {
  return user.status === 'ACTIVE'
    ? { createdAt: user.createdAt, firstName: user.firstName, lastName: user.lastName }
    : {
        invitationCreatedAt: user.invitationCreatedAt,
        invitationExpiresAt: user.invitationExpiresAt,
        inviterUsername: user.inviterUsername,
      };
}

export function orgUserView(user: OrgUserRec): object {
  return {
    id: user.id,
    orgMembershipStatus: user.status,
    roles: {
      groupRoleAssignments: [...user.groupRoles].map(([groupId, groupRoles]) => ({ groupId, groupRoles })),
      orgRoles: user.orgRoles,
    },
    teamIds: [...user.teamIds],
    username: user.username,
    ...memberFields(user),
  };
}

export function groupUserView(user: OrgUserRec, roles: readonly string[]): object {
  return {
    id: user.id,
    orgMembershipStatus: user.status,
    roles,
    username: user.username,
    ...memberFields(user),
  };
}

export function teamView(sim: SimContext, team: TeamRec): object {
  return { id: team.id, links: selfLinks(sim, `/orgs/${team.orgId}/teams/${team.id}`), name: team.name };
}

export function teamRoleView(sim: SimContext, groupId: string, team: TeamRec, roleNames: string[]): object {
  return { links: selfLinks(sim, `/groups/${groupId}/teams/${team.id}`), roleNames, teamId: team.id };
}

export function eventView(sim: SimContext, event: EventRec): object {
  const path = event.groupId
    ? `/groups/${event.groupId}/events/${event.id}`
    : `/orgs/${event.orgId}/events/${event.id}`;
  const { kind: _kind, ...fields } = event;
  return { ...fields, isGlobalAdmin: false, links: selfLinks(sim, path) };
}

function maskedSecret(secret: string): string {
  return `********-****-****-${secret.slice(-12).padStart(12, '*')}`;
}

export function apiKeyView(sim: SimContext, orgId: string, key: CredentialRec): object {
  return {
    desc: key.desc,
    id: key.id,
    links: selfLinks(sim, `/orgs/${orgId}/apiKeys/${key.id}`),
    privateKey: maskedSecret(key.secret),
    publicKey: key.name,
    roles: key.roles,
  };
}

/**
 * `OrgServiceAccount`: `roles` are the organization role names only (project roles are listed
 * per project by `/groups`); the secret is masked, as Atlas shows it after creation.
 */
export function serviceAccountView(orgId: string, account: CredentialRec): object {
  return {
    clientId: account.name,
    createdAt: '2025-01-10T08:00:00Z',
    description: account.desc,
    name: account.desc,
    roles: account.roles.flatMap((role) => ('orgId' in role && role.orgId === orgId ? [role.roleName] : [])),
    secrets: [
      {
        createdAt: '2025-01-10T08:00:00Z',
        expiresAt: '2026-01-10T08:00:00Z',
        id: account.id,
        maskedSecretValue: maskedSecret(account.secret),
      },
    ],
  };
}

/** `ServiceAccountGroup`s: the projects of the organization the account holds a role in. */
export function serviceAccountGroupViews(state: SimState, orgId: string, account: CredentialRec): object[] {
  const byGroup = new Map<string, string[]>();
  for (const role of account.roles) {
    if (!('groupId' in role) || state.projects.get(role.groupId)?.orgId !== orgId) continue;
    byGroup.set(role.groupId, [...(byGroup.get(role.groupId) ?? []), role.roleName]);
  }
  return [...byGroup].map(([groupId, roles]) => ({ groupId, roles }));
}

/** `SystemStatus.apiKey` for the caller; a service account shows its client id's last 8 chars. */
export function callerKeyView(key: CredentialRec): object {
  return {
    accessList: [],
    id: key.id,
    publicKey: key.kind === 'apiKey' ? key.name : key.name.slice(-8),
    roles: key.roles,
  };
}

export function eventsFor(state: SimState, scope: { groupId?: string; orgId?: string }): EventRec[] {
  return state.events.filter((e) =>
    scope.groupId !== undefined
      ? e.groupId === scope.groupId
      : e.orgId === scope.orgId && e.groupId === undefined,
  );
}
