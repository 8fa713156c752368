import { describe, expect, it } from 'vitest';
import type { OrgUser, Page, Project } from '../../atlas/index.js';
import type { SnapshotUpload } from '../snapshot-uploader.js';
import { discoverOrg, type DiscoverDeps } from './discover.js';
import {
  analytics,
  baseConfig,
  basePolicy,
  orgId,
  payments,
  person,
} from '../../../test/kits/portal-test-kit.js';

function pages<T>(items: readonly T[], size: number) {
  return (options: { pageNum?: number } = {}): Promise<Page<T>> => {
    const pageNum = options.pageNum ?? 1;
    const results = items.slice((pageNum - 1) * size, pageNum * size);
    return Promise.resolve({ results, pageNum, hasNext: pageNum * size < items.length });
  };
}

function harness() {
  const uploads: SnapshotUpload[] = [];
  const calls: string[] = [];
  const projects: Project[] = [
    { id: payments, orgId, name: 'payments', tags: [{ key: 'owner', value: 'payments-team' }] },
    { id: analytics, orgId, name: 'analytics', tags: [] },
  ];
  const users: OrgUser[] = [
    person({ id: 'u1', email: 'alice@example.com', orgRoles: ['ORG_OWNER'] }),
    person({ id: 'u2', email: 'bob@example.com', projects: { [payments]: ['GROUP_READ_ONLY'] } }),
    person({ id: 'u3', email: 'carol@example.com', status: 'PENDING' }),
  ];
  const listUsers = pages(users, 2);
  const deps: DiscoverDeps = {
    policy: basePolicy,
    atlas: {
      organizations: {
        list: () => Promise.reject(new Error('not used')),
        get: async (id) => ({ id, name: 'Org' }),
      },
      projects: { listForOrg: async (_org, o) => pages(projects, 1)(o) } as DiscoverDeps['atlas']['projects'],
      teams: {
        list: async () => ({ results: [{ id: 't1', name: 'oncall' }], pageNum: 1, hasNext: false }),
      } as unknown as DiscoverDeps['atlas']['teams'],
      orgUsers: {
        list: async (_org, o = {}) => {
          calls.push(`orgUsers.list page ${o.pageNum ?? 1}`);
          return listUsers(o);
        },
      } as DiscoverDeps['atlas']['orgUsers'],
    },
    snapshots: {
      upload: async (s) => {
        if (!('records' in s)) throw new Error('the portal uploads records, not lines');
        uploads.push(s);
        return { snapshotId: 'snap-1', skipped: false, sha256: 'x', lines: s.records.length };
      },
    },
  };
  return { deps, uploads, calls };
}

const ctx = { signal: new AbortController().signal, beforeSideEffect: () => undefined };
const job = { integrationId: 'portal', jobId: 'j1', generation: 7 };

describe('discover', () => {
  it('uploads the organization, projects with owners, teams, users and grantable roles as one snapshot, page by page', async () => {
    const h = harness();
    const result = await discoverOrg({ config: { ...baseConfig, projectIds: [payments] }, job }, h.deps, ctx);
    expect(result).toMatchObject({ snapshotId: 'snap-1', projects: 1, teams: 1, users: 3 });
    expect(h.calls).toEqual(['orgUsers.list page 1', 'orgUsers.list page 2']);
    const records = h.uploads[0]?.records ?? [];
    expect(h.uploads[0]).toMatchObject({ integrationId: 'portal', jobId: 'j1', generation: 7 });
    expect(records).toContainEqual({ type: 'organization', id: orgId, name: 'Org' });
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
});
