import { describe, expect, it } from 'vitest';
import { canonicalJson, type SnapshotUpload } from '../snapshot-uploader.js';
import { discoverOrg, type DiscoverDeps } from './discover.js';
import {
  aliceId,
  analytics,
  baseConfig,
  basePolicy,
  bobId,
  nowMs,
  orgId,
  payments,
} from '../../../test/kits/portal-test-kit.js';
import { AtlasWorld } from '../../../test/kits/atlas-world-test-kit.js';
import { FakeClock } from '../../../test/fakes/fake-clock.js';

const carolId = '6603000000000000000000c1';

/** Atlas answers at most 500 items a page: 498 more members make the user listing two pages. */
const fillers = Array.from({ length: 498 }, (_, i) => ({
  id: `6604${String(i).padStart(20, '0')}`,
  username: `member-${i}@example.com`,
  status: 'ACTIVE' as const,
  orgRoles: ['ORG_MEMBER' as const],
}));

function harness() {
  const uploads: SnapshotUpload[] = [];
  const world = new AtlasWorld(new FakeClock(nowMs))
    .addProject(payments, 'payments', [{ key: 'owner', value: 'payments-team' }])
    .addProject(analytics, 'analytics')
    .addOrgUser({ id: aliceId, username: 'alice@example.com', status: 'ACTIVE', orgRoles: ['ORG_OWNER'] })
    .addOrgUser({
      id: bobId,
      username: 'bob@example.com',
      status: 'ACTIVE',
      orgRoles: ['ORG_MEMBER'],
      projectRoles: [{ projectId: payments, roles: ['GROUP_READ_ONLY'] }],
    })
    .addOrgUser({ id: carolId, username: 'carol@example.com', status: 'PENDING', orgRoles: ['ORG_MEMBER'] })
    .addTeam({ id: '6605000000000000000000a1', name: 'oncall', userIds: [bobId] });
  for (const filler of fillers) world.addOrgUser(filler);
  const deps: DiscoverDeps = {
    policy: basePolicy,
    atlas: world.client,
    snapshots: {
      upload: async (s) => {
        if (!('records' in s)) throw new Error('the portal uploads records, not lines');
        uploads.push(s);
        return { snapshotId: 'snap-1', skipped: false, sha256: 'x', lines: s.records.length };
      },
    },
  };
  const calls = () =>
    world.calls
      .filter((c) => c.method === 'orgUsers.list')
      .map((c) => `orgUsers.list page ${String(c.options['pageNum'] ?? 1)}`);
  return { world, deps, uploads, calls };
}

const ctx = { signal: new AbortController().signal, beforeSideEffect: () => undefined };
const job = { integrationId: 'portal', jobId: 'j1', generation: 7 };

describe('discover', () => {
  it('uploads the organization, projects with owners, teams, users and grantable roles as one snapshot, page by page', async () => {
    const h = harness();
    const result = await discoverOrg({ config: { ...baseConfig, projectIds: [payments] }, job }, h.deps, ctx);
    expect(result).toMatchObject({ snapshotId: 'snap-1', projects: 1, teams: 1, users: 3 + fillers.length });
    // The listing, then the check that it left no member out (paginateComplete).
    expect(h.calls()).toEqual([
      'orgUsers.list page 1',
      'orgUsers.list page 2',
      'orgUsers.list page 1',
      'orgUsers.list page 2',
    ]);
    const records = h.uploads[0]?.records ?? [];
    expect(h.uploads[0]).toMatchObject({ integrationId: 'portal', jobId: 'j1', generation: 7 });
    expect(records).toContainEqual({ type: 'organization', id: orgId, name: 'World Org' });
    expect(records).toContainEqual({
      type: 'project',
      id: payments,
      name: 'payments',
      tags: [{ key: 'owner', value: 'payments-team' }],
      owners: ['payments-team'],
    });
    expect(records).toContainEqual(
      expect.objectContaining({ type: 'user', username: 'carol@example.com', membership: 'PENDING' }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        type: 'user',
        username: 'bob@example.com',
        projectRoles: [{ projectId: payments, roles: ['GROUP_READ_ONLY'] }],
      }),
    );
    const orgRoles = records.find((r) => (r as { level?: string }).level === 'org') as { roles: string[] };
    expect(orgRoles.roles).not.toContain('ORG_OWNER');
  });

  it('reports only the projects POLICY_ALLOWED_PROJECT_IDS lets a grant name, as the other kinds do', async () => {
    const h = harness();
    const deps = { ...h.deps, policy: { ...basePolicy, allowedProjectIds: [analytics] } };
    expect(await discoverOrg({ config: baseConfig, job }, deps, ctx)).toMatchObject({ projects: 1 });
    const projects = (h.uploads[0]?.records ?? []).filter((r) => (r as { type: string }).type === 'project');
    expect(projects).toEqual([expect.objectContaining({ id: analytics })]);
  });
});

describe('discover: a member removed while the users are listed', () => {
  it('still reports every user of the organization, though one removed behind the cursor moved page 2 up', async () => {
    const h = harness();
    // A revoke takes carol's invitation back (page 1) just before page 2 is read.
    h.world.beforeNext('orgUsers.list', async () => undefined);
    h.world.beforeNext('orgUsers.list', async () => {
      h.world.removeOrgUser(carolId);
    });
    await discoverOrg({ config: baseConfig, job }, h.deps, ctx);
    const reported = new Set(
      (h.uploads[0]?.records ?? [])
        .filter((r) => (r as { type: string }).type === 'user')
        .map((r) => (r as { id: string }).id),
    );
    expect(reported.has(aliceId) && reported.has(bobId)).toBe(true);
    for (const filler of fillers) expect(reported).toContain(filler.id);
  });
});

describe('discover: the same organization, the same snapshot', () => {
  it('reports the same lines when Atlas lists the same roles of a user in another order', async () => {
    const world = new AtlasWorld(new FakeClock(nowMs))
      .addProject(payments, 'payments', [
        { key: 'owner', value: 'payments-team' },
        { key: 'env', value: 'production' },
      ])
      .addProject(analytics, 'analytics')
      .addOrgUser({
        id: bobId,
        username: 'bob@example.com',
        status: 'ACTIVE',
        orgRoles: ['ORG_MEMBER'],
        projectRoles: [{ projectId: payments, roles: ['GROUP_READ_ONLY', 'GROUP_DATA_ACCESS_READ_ONLY'] }],
      });
    const lines: string[][] = [];
    const deps: DiscoverDeps = {
      policy: basePolicy,
      atlas: world.client,
      snapshots: {
        upload: async (s) => {
          if (!('records' in s)) throw new Error('the portal uploads records, not lines');
          lines.push(s.records.map(canonicalJson).sort());
          return { snapshotId: 'snap', skipped: false, sha256: 'x', lines: s.records.length };
        },
      },
    };
    await discoverOrg({ config: baseConfig, job }, deps, ctx);
    // A role taken back and given again: the same roles, listed in another order.
    await world.client.projectUsers.removeRole(payments, bobId, 'GROUP_READ_ONLY');
    await world.client.projectUsers.addRole(payments, bobId, 'GROUP_READ_ONLY');
    await discoverOrg({ config: baseConfig, job }, deps, ctx);
    expect(lines[1]).toEqual(lines[0]);
  });
});
