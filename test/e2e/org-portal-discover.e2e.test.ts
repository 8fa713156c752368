import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxIds } from '../../src/sandbox/atlas/index.js';
import { analytics, payments, startSandbox, type Sandbox, putPortalIntegration } from './sandbox-harness.js';

const { org, alice, bob, carol, oncallTeam } = sandboxIds;

function discover() {
  return { type: 'discover', integrationId: 'portal', resourceKey: 'org-portal/discover', payload: {} };
}

describe('atlas-org-portal discover end to end', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox();
    // The seed tags projects with `env`; using it as the owner tag shows owners end to end.
    putPortalIntegration(sb, { ownerTagKey: 'env' });
    await sb.connector({ POLICY_ALLOWED_ORG_ROLES: 'ORG_READ_ONLY,ORG_BILLING_ADMIN' });
  });
  afterAll(async () => sb.close());

  it('uploads the organization, projects, teams, people and grantable roles, and skips an unchanged rerun', async () => {
    const first = await sb.run(discover());
    expect(first.error, JSON.stringify(first.error)).toBeUndefined();
    expect(first.result).toMatchObject({ skipped: false, teams: 1, users: 3 });
    const snapshots = sb.cp.store.snapshots('portal');
    expect(snapshots).toHaveLength(1);
    const records = snapshots[0]?.records as Record<string, unknown>[];
    const ofType = (type: string) => records.filter((r) => r.type === type);

    expect(ofType('organization')).toEqual([{ type: 'organization', id: org, name: 'Sandbox Org' }]);
    expect(ofType('project')).toEqual(
      expect.arrayContaining([
        {
          type: 'project',
          id: payments,
          name: 'payments',
          tags: [{ key: 'env', value: 'production' }],
          owners: ['production'],
        },
        {
          type: 'project',
          id: analytics,
          name: 'analytics',
          tags: [{ key: 'env', value: 'staging' }],
          owners: ['staging'],
        },
      ]),
    );
    expect(ofType('team')).toEqual([{ type: 'team', id: oncallTeam, name: 'payments-oncall' }]);
    const users = new Map(ofType('user').map((u) => [u.username, u]));
    expect(users.get('alice@example.com')).toMatchObject({
      id: alice,
      membership: 'ACTIVE',
      orgRoles: ['ORG_OWNER'],
      projectRoles: [],
    });
    expect(users.get('bob@example.com')).toMatchObject({
      id: bob,
      membership: 'ACTIVE',
      orgRoles: ['ORG_MEMBER'],
      projectRoles: [{ projectId: payments, roles: ['GROUP_READ_ONLY'] }],
      teamIds: [oncallTeam],
    });
    expect(users.get('carol@example.com')).toMatchObject({
      id: carol,
      membership: 'PENDING',
      projectRoles: [{ projectId: analytics, roles: ['GROUP_DATA_ACCESS_READ_ONLY'] }],
      invitationExpiresAt: expect.any(String),
    });
    expect(ofType('grantable-roles')).toEqual([
      { type: 'grantable-roles', level: 'org', roles: ['ORG_READ_ONLY', 'ORG_BILLING_ADMIN'] },
      {
        type: 'grantable-roles',
        level: 'project',
        roles: expect.not.arrayContaining(['GROUP_OWNER']) as unknown,
      },
    ]);
    expect((ofType('grantable-roles')[1]?.roles as string[]).length).toBeGreaterThan(5);

    const again = await sb.run(discover());
    expect(again.result).toMatchObject({
      skipped: true,
      sha256: (first.result as { sha256: string }).sha256,
    });
    expect(sb.cp.store.snapshots('portal')).toHaveLength(1);

    // A change in Atlas is uploaded as a new snapshot.
    expect(sb.sim.acceptInvitation('carol@example.com')).toBe(true);
    const changed = await sb.run(discover());
    expect(changed.result).toMatchObject({ skipped: false });
    const latest = sb.cp.store.snapshots('portal').at(-1)?.records as Record<string, unknown>[];
    expect(latest.find((r) => r.username === 'carol@example.com')).toMatchObject({ membership: 'ACTIVE' });
  });
});
