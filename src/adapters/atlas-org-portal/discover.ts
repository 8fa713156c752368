import { maxItemsPerPage, paginateComplete, type AtlasClient, type KeyValue } from '../../atlas/index.js';
import { allowedByPolicy } from '../../config/env.js';
import type { SnapshotUploader } from '../snapshot-uploader.js';
import type { AtlasOrgPortalConfig } from './atlas-org-portal-config.js';
import type { PortalCtx, PortalDeps } from './person.js';
import { knownProjectRoles, orgRoles, ownerRoles } from './roles.js';

export interface DiscoverDeps extends Pick<PortalDeps, 'policy'> {
  readonly atlas: Pick<AtlasClient, 'organizations' | 'projects' | 'teams' | 'orgUsers'>;
  readonly snapshots: SnapshotUploader;
}

export interface DiscoverJob {
  readonly integrationId: string;
  readonly jobId: string;
  readonly generation: number;
}

/** The roles a grant may ask for at each level under the local policy (validate.ts applies the same rule). */
export function grantableRoles(policy: PortalDeps['policy']): { org: string[]; project: string[] } {
  const pick = (all: readonly string[], allowed: readonly string[]) =>
    allowed.length > 0 ? [...allowed] : all.filter((r) => !ownerRoles.has(r));
  return {
    org: pick(orgRoles, policy.allowedOrgRoles),
    project: pick(knownProjectRoles, policy.allowedProjectRoles),
  };
}

/**
 * Atlas promises no order for a project's tags or a user's roles, projects and teams (a role taken
 * back and given again comes last): each list is sorted, so the same organization always hashes
 * the same and the control plane skips the upload.
 */
const sorted = (values: readonly string[]): string[] => [...values].sort();
const byKeyValue = (a: KeyValue, b: KeyValue): number =>
  a.key < b.key ? -1 : a.key > b.key ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0;

async function projectRecords(deps: DiscoverDeps, ctx: PortalCtx, config: AtlasOrgPortalConfig) {
  const records: Record<string, unknown>[] = [];
  const list = (page: object) =>
    deps.atlas.projects.listForOrg(config.orgId, {
      ...page,
      itemsPerPage: maxItemsPerPage,
      signal: ctx.signal,
    });
  for await (const p of paginateComplete(list)) {
    // Both allow-lists, as a grant applies them: a project no grant may name is not offered.
    if (config.projectIds !== undefined && !config.projectIds.includes(p.id)) continue;
    if (!allowedByPolicy(p.id, deps.policy)) continue;
    const tags = [...(p.tags ?? [])].sort(byKeyValue);
    const owners = sorted(tags.filter((t) => t.key === config.ownerTagKey).map((t) => t.value));
    records.push({ type: 'project', id: p.id, name: p.name, tags, owners });
  }
  return records;
}

async function peopleRecords(deps: DiscoverDeps, ctx: PortalCtx, orgId: string) {
  const records: Record<string, unknown>[] = [];
  const teams = (page: object) =>
    deps.atlas.teams.list(orgId, { ...page, itemsPerPage: maxItemsPerPage, signal: ctx.signal });
  for await (const t of paginateComplete(teams)) records.push({ type: 'team', id: t.id, name: t.name });
  const users = (page: object) =>
    deps.atlas.orgUsers.list(orgId, {
      ...page,
      itemsPerPage: maxItemsPerPage,
      orgMembershipStatuses: ['ACTIVE', 'PENDING'],
      signal: ctx.signal,
    });
  for await (const u of paginateComplete(users)) {
    records.push({
      type: 'user',
      id: u.id,
      username: u.username,
      membership: u.orgMembershipStatus,
      orgRoles: sorted(u.roles.orgRoles),
      projectRoles: u.roles.groupRoleAssignments
        .map((a) => ({ projectId: a.groupId, roles: sorted(a.groupRoles) }))
        .sort((a, b) => (a.projectId < b.projectId ? -1 : a.projectId > b.projectId ? 1 : 0)),
      teamIds: sorted(u.teamIds),
      ...(u.invitationExpiresAt ? { invitationExpiresAt: u.invitationExpiresAt } : {}),
    });
  }
  return records;
}

/**
 * The organization, its projects (tags, owners from the owner tag), teams, users with roles and
 * membership, and the grantable roles per level — uploaded as one content-hashed snapshot, which
 * the control plane skips when unchanged. Listings go page by page through the rate-limited client,
 * each of more than one page read again once it ends (`paginateComplete`): a member removed behind
 * the cursor moves the next page up, and the member at its head, left out, would be taken as gone.
 */
export async function discoverOrg(
  input: { readonly config: AtlasOrgPortalConfig; readonly job: DiscoverJob },
  deps: DiscoverDeps,
  ctx: PortalCtx,
) {
  const { config, job } = input;
  const org = await deps.atlas.organizations.get(config.orgId, { signal: ctx.signal });
  const roles = grantableRoles(deps.policy);
  const records = [
    { type: 'organization', id: org.id, name: org.name },
    ...(await projectRecords(deps, ctx, config)),
    ...(await peopleRecords(deps, ctx, config.orgId)),
    { type: 'grantable-roles', level: 'org', roles: roles.org },
    { type: 'grantable-roles', level: 'project', roles: roles.project },
  ];
  const upload = await deps.snapshots.upload({ ...job, records, signal: ctx.signal });
  const count = (type: string) => records.filter((r) => r.type === type).length;
  return {
    snapshotId: upload.snapshotId,
    skipped: upload.skipped,
    sha256: upload.sha256,
    projects: count('project'),
    teams: count('team'),
    users: count('user'),
  };
}
