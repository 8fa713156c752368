import { describe, expect, it } from 'vitest';
import { grantAccess } from './grant.js';
import { revokeAccess } from './revoke.js';
import { sweepAccess } from './sweep.js';
import {
  GrantPayload,
  RenewPayload,
  RevokePayload,
  SweepPayload,
  type GrantRecord,
  type GrantResult,
} from './payloads.js';
import { renewAccess } from './renew.js';
import type { GrantCtx } from './person.js';
import type { Access } from './roles.js';
import {
  analytics,
  baseConfig,
  bobId,
  hourMs,
  nowMs,
  orgId,
  payments,
  portalWorld,
  type PortalWorld,
} from '../../../test/kits/portal-test-kit.js';

/**
 * Ownership across grants and outside changes: sequences of grants, revokes, sweeps, redeliveries
 * and Atlas changes made by someone else, each once a case where a rule was broken (a review found
 * them; docs/org-portal.md "revoke").
 */

const email = 'bob@example.com';
const member = { level: 'org', role: 'ORG_MEMBER' } as const;
const orgReadOnly = { level: 'org', role: 'ORG_READ_ONLY' } as const;
const billing = { level: 'org', role: 'ORG_BILLING_ADMIN' } as const;
const analyticsReadOnly = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;
const paymentsReadOnly = { level: 'project', projectId: payments, role: 'GROUP_READ_ONLY' } as const;

function grant(
  h: PortalWorld,
  grantId: string,
  access: readonly Access[],
  grants: readonly GrantRecord[],
  options: { ttlSeconds?: number; ctx?: GrantCtx } = {},
): Promise<GrantResult> {
  const payload = GrantPayload.parse({
    grantId,
    requester: { email },
    access,
    ttlSeconds: options.ttlSeconds ?? 3600,
    grants,
  });
  return grantAccess({ config: baseConfig, payload }, h.deps, options.ctx ?? h.ctx);
}

/** The ledger record the control plane keeps from a grant result (protocol §4.10). */
function recordOf(result: GrantResult): GrantRecord {
  return {
    grantId: result.grantId,
    email,
    userId: result.userId,
    expiresAt: result.expiresAt,
    added: [...result.added],
    created: result.created,
  };
}

function revoke(h: PortalWorld, grantId: string, grants: readonly GrantRecord[]) {
  return revokeAccess(
    { config: baseConfig, payload: RevokePayload.parse({ grantId, grants }) },
    h.deps,
    h.ctx,
  );
}

function sweep(h: PortalWorld, grants: readonly GrantRecord[]) {
  return sweepAccess({ config: baseConfig, payload: SweepPayload.parse({ grants }) }, h.deps, h.ctx);
}

describe('a membership or invitation the connector created is shared by the grants that use it', () => {
  it('the sweep removes a shared project role once both grants expired, the creating one first', async () => {
    const h = portalWorld([{ id: bobId, email }]);
    // g-1 (1 h) puts bob in analytics (creates the membership); g-2 (2 h) asks for the same role.
    const first = recordOf(await grant(h, 'g-1', [analyticsReadOnly], [], { ttlSeconds: 3600 }));
    expect(first.created.projectMemberships).toEqual([analytics]);
    const second = recordOf(await grant(h, 'g-2', [analyticsReadOnly], [first], { ttlSeconds: 7200 }));
    expect(second.added).toEqual([analyticsReadOnly]);
    expect(second.created.projectMemberships).toEqual([analytics]);

    await h.world.clock.advance(1.5 * hourMs);
    expect(await sweep(h, [first, second])).toMatchObject({ clearedGrants: ['g-1'], removed: [] });

    await h.world.clock.advance(1 * hourMs);
    const last = await sweep(h, [second]);
    expect(last.clearedGrants).toEqual(['g-2']);
    // Both grants are over and the connector added the role: it goes, with the membership g-2
    // shares (without the shared creation it was kept forever as `last_project_role`).
    expect(last.kept).toEqual([]);
    expect(h.world.orgUser(bobId)?.projectRoles).not.toHaveProperty(analytics);
  });

  it('the pending invitation goes with the last revoke when the creating grant is revoked first', async () => {
    const h = portalWorld();
    const first = recordOf(await grant(h, 'g-1', [orgReadOnly], []));
    expect(first.created.invitation).toBe(true);
    const second = recordOf(await grant(h, 'g-2', [billing], [first]));
    const userId = second.userId ?? '';

    expect(await revoke(h, 'g-1', [first, second])).toMatchObject({ outcome: 'revoked' });
    expect(await revoke(h, 'g-2', [second])).toMatchObject({ outcome: 'revoked' });
    // Every grant of bob is revoked: the invitation only the connector ever sent is gone (left
    // pending, bob could accept it long after all his access ended).
    expect(h.world.orgUser(userId)).toBeUndefined();
  });
});

describe('a revoke and a sweep of the same person at once', () => {
  it('leave no invitation the connector sent behind, though each saw the other’s role on it', async () => {
    const h = portalWorld();
    const first = recordOf(await grant(h, 'g-1', [orgReadOnly], []));
    const second = recordOf(await grant(h, 'g-2', [billing], [first]));
    const userId = second.userId ?? '';
    const expired = { ...first, expiresAt: new Date(nowMs - hourMs).toISOString() };
    // The sweep (its own key) reads bob, then g-2's revoke runs before the sweep's first write:
    // each sees the other grant's role on the invitation, so neither may delete it whole.
    h.world.beforeNext('orgUsers.removeRole', async () => {
      expect(await revoke(h, 'g-2', [expired, second])).toMatchObject({ outcome: 'revoked' });
    });
    expect(await sweep(h, [expired, second])).toMatchObject({ clearedGrants: ['g-1'], failures: [] });
    // Both grants ended: left pending with ORG_MEMBER, bob could still accept it and join the org.
    expect(h.world.orgUser(userId)).toBeUndefined();
  });
});

describe('only roles still held pin a created membership', () => {
  it('the membership goes once every grant ended, though the other grant’s role there was removed in Atlas', async () => {
    const h = portalWorld([{ id: bobId, email }]);
    const clusterManager = { level: 'project', projectId: analytics, role: 'GROUP_CLUSTER_MANAGER' } as const;
    const first = recordOf(await grant(h, 'g-1', [analyticsReadOnly], []));
    expect(first.created.projectMemberships).toEqual([analytics]);
    const second = recordOf(await grant(h, 'g-2', [clusterManager], [first]));
    expect(second.added).toEqual([clusterManager]);
    // Someone removes g-2's role in Atlas (drift); g-1's role is now bob's only role in analytics.
    await h.world.client.projectUsers.removeRole(analytics, bobId, 'GROUP_CLUSTER_MANAGER');

    await revoke(h, 'g-1', [first, second]);
    await revoke(h, 'g-2', [second]);
    // Both grants are revoked; GROUP_READ_ONLY (added by g-1 with the membership) must be gone.
    expect(h.world.orgUser(bobId)?.projectRoles).not.toHaveProperty(analytics);
  });
});

describe('an invitation carrying someone else’s role is not deleted', () => {
  it('keeps a pending invitation an admin added a role to, and removes only the grant’s role', async () => {
    const h = portalWorld();
    const first = recordOf(await grant(h, 'g-1', [orgReadOnly], []));
    const userId = first.userId ?? '';
    // While the invitation is pending, an admin adds a role of their own to it.
    await h.world.client.orgUsers.addRole(orgId, userId, 'ORG_GROUP_CREATOR');

    const result = await revoke(h, 'g-1', [first]);
    // Only what g-1 added goes; ORG_GROUP_CREATOR and the invitation carrying it stay.
    expect(h.world.orgUser(userId)).toMatchObject({ status: 'PENDING' });
    expect(h.world.orgUser(userId)?.orgRoles.slice().sort()).toEqual(['ORG_GROUP_CREATOR', 'ORG_MEMBER']);
    expect(result).toMatchObject({ outcome: 'revoked', removed: [orgReadOnly], invitationDeleted: false });
  });
});

describe('an invitation is deleted only when it is the one the grant sent, with nothing of anyone else on it', () => {
  it('keeps a pending invitation an admin put on a team, and removes only the grant’s role', async () => {
    const teamId = '6604000000000000000000c1';
    const h = portalWorld();
    h.world.addTeam({
      id: teamId,
      name: 'oncall',
      projectRoles: [{ projectId: analytics, roles: ['GROUP_READ_ONLY'] }],
    });
    const first = recordOf(await grant(h, 'g-1', [orgReadOnly], []));
    const userId = first.userId ?? '';
    // While the invitation is pending, an admin adds the invitee to a team (Atlas allows it).
    await h.world.client.teams.addUser(orgId, teamId, userId);

    const result = await revoke(h, 'g-1', [first]);
    // Deleting the invitation would take the team membership with it.
    expect(result).toMatchObject({ outcome: 'revoked', removed: [orgReadOnly], invitationDeleted: false });
    expect(h.world.orgUser(userId)).toMatchObject({ status: 'PENDING', orgRoles: ['ORG_MEMBER'] });
    const team = await h.world.client.teams.listUsers(orgId, teamId);
    expect(team.results.map((u) => u.id)).toEqual([userId]);
  });

  it('leaves alone an invitation someone else sent after the grant’s own was withdrawn', async () => {
    const h = portalWorld();
    const first = recordOf(await grant(h, 'g-1', [orgReadOnly], []));
    // The grant's invitation is withdrawn, and an admin invites the person again (a new user id).
    await h.world.client.orgUsers.remove(orgId, first.userId ?? '');
    const theirs = await h.world.client.orgUsers.invite(orgId, {
      username: email,
      roles: { orgRoles: ['ORG_MEMBER'] },
    });
    expect(theirs.id).not.toBe(first.userId);

    expect(await revoke(h, 'g-1', [first])).toMatchObject({ removed: [], invitationDeleted: false });
    expect(h.world.orgUser(theirs.id)).toMatchObject({ status: 'PENDING' });
    expect(h.writes().filter(([method]) => method === 'orgUsers.remove')).toHaveLength(1);
  });

  /** The grant's invitation is withdrawn, and an admin invites the person again with the same role. */
  async function reinvitedByAnAdmin() {
    const h = portalWorld();
    const first = recordOf(await grant(h, 'g-1', [orgReadOnly], []));
    await h.world.client.orgUsers.remove(orgId, first.userId ?? '');
    const theirs = await h.world.client.orgUsers.invite(orgId, {
      username: email,
      roles: { orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'] },
    });
    return { h, first, theirs };
  }

  it('leaves an admin’s new invitation its own role, though the grant’s withdrawn one carried it too', async () => {
    const { h, first, theirs } = await reinvitedByAnAdmin();
    expect(await revoke(h, 'g-1', [first])).toMatchObject({ removed: [], invitationDeleted: false });
    expect(await sweep(h, [{ ...first, expiresAt: new Date(0).toISOString() }])).toMatchObject({
      clearedGrants: ['g-1'],
      removed: [],
    });
    expect(h.world.orgUser(theirs.id)).toMatchObject({
      status: 'PENDING',
      orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'],
    });
  });

  it('does not take the role an admin’s new invitation carries as shared with the grant’s withdrawn one', async () => {
    const { h, first, theirs } = await reinvitedByAnAdmin();
    const second = await grant(h, 'g-2', [orgReadOnly], [first]);
    expect(second).toMatchObject({ userId: theirs.id, added: [], alreadyHeld: [orgReadOnly] });
    await revoke(h, 'g-2', [first, recordOf(second)]);
    expect(h.world.orgUser(theirs.id)).toMatchObject({ orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'] });
  });

  it('leaves alone an admin’s invitation that replaced the grant’s lapsed one, at the sweep', async () => {
    const h = portalWorld();
    const first = recordOf(await grant(h, 'g-1', [orgReadOnly], []));
    await h.world.clock.advance(31 * 24 * hourMs);
    const theirs = await h.world.client.orgUsers.invite(orgId, {
      username: email,
      roles: { orgRoles: ['ORG_MEMBER'] },
    });
    expect(await sweep(h, [first])).toMatchObject({ clearedGrants: ['g-1'], removed: [] });
    expect(h.world.orgUser(theirs.id)).toMatchObject({ status: 'PENDING' });
  });
});

/** g-1 invites bob with ORG_READ_ONLY; that invitation is withdrawn; an admin invites bob again. */
async function adminReinvitesAfterWithdrawal() {
  const h = portalWorld();
  const g1 = recordOf(await grant(h, 'g-1', [orgReadOnly], []));
  await h.world.client.orgUsers.remove(orgId, g1.userId ?? '');
  const theirs = await h.world.client.orgUsers.invite(orgId, {
    username: email,
    roles: { orgRoles: ['ORG_MEMBER'] },
  });
  return { h, g1, theirs };
}

describe('an invitation the connector sent goes with the last grant that holds something on it', () => {
  it('a re-sent invitation is not kept alive by an older grant that holds nothing on it', async () => {
    const h = portalWorld();
    const g1 = recordOf(await grant(h, 'g-1', [orgReadOnly], []));
    // g-1's invitation is withdrawn (or declined); g-2 invites bob again (a new user id).
    await h.world.client.orgUsers.remove(orgId, g1.userId ?? '');
    const g2 = recordOf(await grant(h, 'g-2', [billing], [g1]));
    expect(g2).toMatchObject({ created: { invitation: true } });
    expect(g2.userId).not.toBe(g1.userId);

    expect(await revoke(h, 'g-2', [g1, g2])).toMatchObject({ invitationDeleted: true });
    await revoke(h, 'g-1', [g1]);
    // Every grant is revoked: no invitation the connector sent is left for bob to accept.
    expect(h.world.orgUser(g2.userId ?? '')).toBeUndefined();
  });

  it('a grant does not share an invitation someone else sent after the connector’s was gone', async () => {
    const { h, g1, theirs } = await adminReinvitesAfterWithdrawal();
    const g2 = recordOf(await grant(h, 'g-2', [billing], [g1]));
    expect(g2).toMatchObject({ userId: theirs.id, created: { invitation: false } });

    await revoke(h, 'g-1', [g1, g2]);
    expect(await revoke(h, 'g-2', [g2])).toMatchObject({ removed: [billing], invitationDeleted: false });
    // Only g-2's role went; the admin's invitation, with its ORG_MEMBER, stays.
    expect(h.world.orgUser(theirs.id)).toMatchObject({ status: 'PENDING', orgRoles: ['ORG_MEMBER'] });
  });
});

describe('a grant made on an invitation that is gone pins nothing on the current one', () => {
  /** g-1's invitation is withdrawn; an admin invites bob again; g-2 adds the role g-1 had. */
  async function sameRoleOnTheAdminsInvitation() {
    const { h, g1, theirs } = await adminReinvitesAfterWithdrawal();
    const g2 = recordOf(await grant(h, 'g-2', [orgReadOnly], [g1]));
    expect(g2).toMatchObject({ userId: theirs.id, added: [orgReadOnly] });
    return { h, g1, g2, theirs };
  }

  it('the revoke of the grant that added the role removes it, though the older grant lists it too', async () => {
    const { h, g1, g2, theirs } = await sameRoleOnTheAdminsInvitation();
    expect(await revoke(h, 'g-2', [g1, g2])).toMatchObject({ removed: [orgReadOnly], stillNeeded: [] });
    await revoke(h, 'g-1', [g1]);
    // Both grants are revoked: nothing the connector added is left for bob to accept.
    expect(h.world.orgUser(theirs.id)).toMatchObject({ status: 'PENDING', orgRoles: ['ORG_MEMBER'] });
  });

  it('the sweep removes it too when the older grant is still unexpired', async () => {
    const { h, g1, g2, theirs } = await sameRoleOnTheAdminsInvitation();
    const expired = { ...g2, expiresAt: new Date(0).toISOString() };
    expect(await sweep(h, [g1, expired])).toMatchObject({
      clearedGrants: ['g-2'],
      removed: [{ email, access: orgReadOnly }],
    });
    expect(h.world.orgUser(theirs.id)).toMatchObject({ orgRoles: ['ORG_MEMBER'] });
  });
});

describe('a grant id granted again', () => {
  it('keeps what its earlier delivery added when asked for fewer roles, so its revoke still removes it', async () => {
    const h = portalWorld([{ id: bobId, email }]);
    const first = recordOf(await grant(h, 'g-1', [orgReadOnly, billing], []));
    expect(first.added).toEqual([orgReadOnly, billing]);
    const again = recordOf(await grant(h, 'g-1', [orgReadOnly], [first]));
    expect(again.added).toEqual([orgReadOnly, billing]);
    await revoke(h, 'g-1', [again]);
    expect(h.world.orgUser(bobId)).toMatchObject({ orgRoles: ['ORG_MEMBER'] });
  });

  it('does not take a role the person lost since as its own', async () => {
    const h = portalWorld([{ id: bobId, email }]);
    const first = recordOf(await grant(h, 'g-1', [orgReadOnly, billing], []));
    await h.world.client.orgUsers.removeRole(orgId, bobId, 'ORG_BILLING_ADMIN');
    expect((await grant(h, 'g-1', [orgReadOnly], [first])).added).toEqual([orgReadOnly]);
  });
});

describe('every job about a person runs under the person’s one key', () => {
  const wrongKeys = ['org-portal/Bob@example.com', 'job/7f3c', 'org-portal/alice@example.com'];

  it.each(wrongKeys)(
    'refuses a grant, revoke or renew under %s before any Atlas call',
    async (resourceKey) => {
      const h = portalWorld([{ id: bobId, email }]);
      const first = recordOf(await grant(h, 'g-1', [orgReadOnly], []));
      const callsBefore = h.calls().length;
      const refused = {
        code: 'invalid_job',
        details: { field: 'resourceKey', expected: 'org-portal/bob@example.com' },
      };
      await expect(
        grant(h, 'g-2', [billing], [first], { ctx: { ...h.ctx, resourceKey } }),
      ).rejects.toMatchObject(refused);
      await expect(
        revokeAccess(
          { config: baseConfig, payload: RevokePayload.parse({ grantId: 'g-1', grants: [first] }) },
          h.deps,
          { ...h.ctx, resourceKey },
        ),
      ).rejects.toMatchObject(refused);
      expect(() =>
        renewAccess(
          {
            config: baseConfig,
            payload: RenewPayload.parse({ grantId: 'g-1', ttlSeconds: 60, grants: [first] }),
          },
          h.deps,
          { resourceKey },
        ),
      ).toThrow(expect.objectContaining(refused));
      expect(h.calls().length).toBe(callsBefore);
    },
  );

  it('runs them under org-portal/<e-mail, lower-cased>, whatever the requester’s case', async () => {
    const h = portalWorld([{ id: bobId, email }]);
    const payload = GrantPayload.parse({
      grantId: 'g-1',
      requester: { email: 'Bob@Example.com' },
      access: [orgReadOnly],
      ttlSeconds: 3600,
      grants: [],
    });
    const result = await grantAccess({ config: baseConfig, payload }, h.deps, {
      ...h.ctx,
      resourceKey: 'org-portal/bob@example.com',
    });
    expect(result).toMatchObject({ added: [orgReadOnly] });
  });
});

describe('redelivery after an invitation 409', () => {
  it('a redelivered grant keeps a role the first attempt found held independently out of added and created', async () => {
    const h = portalWorld();
    // Just before the connector's invitation reaches Atlas, an admin invites bob to payments with
    // the same role: createOrgUser answers 409 and the grant falls back to the member path.
    h.world.beforeNext('orgUsers.invite', () => h.world.joinProject(payments, email, ['GROUP_READ_ONLY']));
    const attempt1 = await grant(h, 'g-1', [paymentsReadOnly], []);
    expect(attempt1).toMatchObject({
      added: [],
      alreadyHeld: [paymentsReadOnly],
      created: { invitation: false, projectMemberships: [] },
    });

    // Attempt 1's result is lost (crash, lease lost, outbox dropped); attempt 2 gets its latest intent.
    const intent = h.intents.at(-1)?.intent ?? null;
    const attempt2 = await grant(h, 'g-1', [paymentsReadOnly], [], { ctx: { ...h.ctx, intent } });
    // Redelivery must converge on attempt 1's classification: the admin's role and invitation are not ours.
    expect(attempt2).toMatchObject({
      added: [],
      alreadyHeld: [paymentsReadOnly],
      created: { invitation: false, projectMemberships: [] },
    });
  });
});

describe('ORG_MEMBER as an added role', () => {
  it('reports ORG_MEMBER kept as the last org role, not removed, when it comes before the grant’s other org role', async () => {
    const h = portalWorld();
    const first = recordOf(await grant(h, 'g-1', [member, orgReadOnly], []));
    expect(first.added).toEqual([member, orgReadOnly]);
    expect(h.world.sim.acceptInvitation(email)).toBe(true);
    const userId = first.userId ?? '';

    const result = await revoke(h, 'g-1', [first]);
    expect(h.world.orgUser(userId)?.orgRoles).toEqual(['ORG_MEMBER']);
    // ORG_MEMBER is the person's last org role after the revoke: reported kept (last_org_role),
    // not removed.
    expect(result).toMatchObject({
      removed: [orgReadOnly],
      kept: [{ access: member, reason: 'last_org_role' }],
    });
  });
});

describe('ORG_MEMBER another grant still needs on a pending invitation', () => {
  it('keeps the invitation when the revoked grant sent it, removing only what no other grant needs', async () => {
    const h = portalWorld();
    const first = recordOf(await grant(h, 'g-1', [member, orgReadOnly], []));
    // g-2 asks for ORG_MEMBER alone: the invitation g-1 sent carries it, and the two share it.
    const second = recordOf(await grant(h, 'g-2', [member], [first]));
    expect(second).toMatchObject({ added: [member], created: { invitation: true } });
    const userId = first.userId ?? '';

    const result = await revoke(h, 'g-1', [first, second]);
    // g-2 still runs: its ORG_MEMBER, the invitation itself, stays.
    expect(result).toMatchObject({
      outcome: 'revoked',
      removed: [orgReadOnly],
      stillNeeded: [member],
      invitationDeleted: false,
    });
    expect(h.world.orgUser(userId)).toMatchObject({ status: 'PENDING', orgRoles: ['ORG_MEMBER'] });

    // g-2 ends last: the invitation only the connector sent goes with it.
    expect(await revoke(h, 'g-2', [second])).toMatchObject({ outcome: 'revoked', invitationDeleted: true });
    expect(h.world.orgUser(userId)).toBeUndefined();
  });
});

/** The record the control plane makes from a failed grant's last intent (protocol §4.10). */
function recordFromIntent(h: PortalWorld, grantId: string, expiresAt?: string): GrantRecord {
  const intent = h.intents.at(-1)?.intent;
  if (!intent) throw new Error('no intent recorded');
  return {
    grantId,
    email,
    ...(intent.userId === undefined ? {} : { userId: intent.userId }),
    expiresAt: expiresAt ?? intent.expiresAt,
    added: intent.added,
    created: intent.created,
    fromIntent: true,
  };
}

describe('a grant write Atlas refuses outright', () => {
  const typo = { level: 'project', projectId: analytics, role: 'GROUP_TYPO' } as const;
  const expired = new Date(Date.UTC(2026, 11, 4, 11)).toISOString();

  it('claims what landed only, takes that back, so the sweep spares a membership an admin gives later', async () => {
    // A role the policy lists but Atlas does not know: addGroupUsers answers 400 after the org role landed.
    const h = portalWorld([{ id: bobId, email }], {
      allowedProjectRoles: ['GROUP_READ_ONLY', 'GROUP_TYPO'],
    });
    await expect(grant(h, 'g-1', [billing, analyticsReadOnly, typo], [])).rejects.toMatchObject({
      code: 'invalid_request',
    });
    const claims = h.intents.map((i) => i.intent);
    // Right after the refusal: what landed only. Once the grant took that back: nothing.
    expect(claims.at(-2)).toEqual({
      userId: bobId,
      expiresAt: expect.any(String),
      added: [billing],
      created: { invitation: false, projectMemberships: [] },
    });
    expect(claims.at(-1)).toMatchObject({
      added: [],
      created: { invitation: false, projectMemberships: [] },
    });
    expect(h.world.orgUser(bobId)).toMatchObject({ orgRoles: ['ORG_MEMBER'] });

    // The job fails; the control plane keeps a record made from the intent. An admin then puts
    // bob in analytics with GROUP_READ_ONLY, and the grant expires.
    const failed = recordFromIntent(h, 'g-1', expired);
    h.world.joinProject(analytics, email, ['GROUP_READ_ONLY']);
    const result = await sweep(h, [failed]);
    expect(result).toMatchObject({ removed: [], failures: [] });
    expect(h.world.orgUser(bobId)).toMatchObject({
      orgRoles: ['ORG_MEMBER'],
      projectRoles: { [analytics]: ['GROUP_READ_ONLY'] },
    });
  });
});

describe('a record with no user id: the grant invited the person and ended before it recorded the invitation’s id', () => {
  const expired = new Date(Date.UTC(2026, 11, 4, 11)).toISOString();

  /** g-1 invites bob; recording the invitation's id fails, and the job ends: its record has none. */
  async function grantWithoutItsInvitationId() {
    const h = portalWorld();
    let recorded = 0;
    const ctx: GrantCtx = {
      ...h.ctx,
      recordIntent: async (intent) => {
        recorded += 1;
        if (recorded > 1) throw new Error('control plane unreachable');
        await h.ctx.recordIntent(intent);
      },
    };
    const sent = await grant(h, 'g-1', [orgReadOnly], [], { ctx });
    const failed = recordFromIntent(h, 'g-1', expired);
    expect(failed).not.toHaveProperty('userId');
    return { h, sent, failed };
  }

  it('takes nothing from an invitation an admin sent after the grant’s was withdrawn, and keeps the grant open', async () => {
    const { h, sent, failed } = await grantWithoutItsInvitationId();
    await h.world.client.orgUsers.remove(orgId, sent.userId);
    const theirs = await h.world.client.orgUsers.invite(orgId, {
      username: email,
      roles: { orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'] },
    });
    const writes = h.writes().length;

    await expect(revoke(h, 'g-1', [failed])).rejects.toMatchObject({
      code: 'conflict',
      retryable: false,
      message: expect.stringMatching(/^grantId: /),
    });
    expect(await sweep(h, [failed])).toMatchObject({
      clearedGrants: [],
      overdue: [],
      removed: [],
      drift: [],
      failures: [{ email, code: 'conflict' }],
    });
    expect(h.writes()).toHaveLength(writes);
    expect(h.world.orgUser(theirs.id)).toMatchObject({
      status: 'PENDING',
      orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'],
    });
  });

  it('removes the grant’s roles once its invitation is accepted', async () => {
    const { h, failed } = await grantWithoutItsInvitationId();
    expect(await sweep(h, [failed])).toMatchObject({ clearedGrants: [], removed: [] });
    expect(h.world.sim.acceptInvitation(email)).toBe(true);
    expect(await sweep(h, [failed])).toMatchObject({
      clearedGrants: ['g-1'],
      removed: [{ email, access: orgReadOnly }],
      failures: [],
    });
  });

  it('closes the grant once its invitation is gone', async () => {
    const { h, failed } = await grantWithoutItsInvitationId();
    await h.world.clock.advance(31 * 24 * hourMs);
    expect(await sweep(h, [failed])).toMatchObject({ clearedGrants: ['g-1'], removed: [], failures: [] });
  });
});

describe('an earlier attempt’s intent made on an invitation that is gone', () => {
  /**
   * Attempt 1 of g-1 invited bob with ORG_READ_ONLY, recorded the invitation's user id, and died
   * before its result. Within the job's retry window, that invitation is withdrawn and an admin
   * invites bob again (a new user id) with `adminRoles`.
   */
  async function retriedAfterTheAdminReinvited(adminRoles: ('ORG_MEMBER' | 'ORG_READ_ONLY')[]) {
    const h = portalWorld();
    const sent = await h.world.client.orgUsers.invite(orgId, {
      username: email,
      roles: { orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'] },
    });
    const earlier = {
      userId: sent.id,
      expiresAt: new Date(nowMs + hourMs).toISOString(),
      added: [orgReadOnly],
      created: { invitation: true, projectMemberships: [] },
    };
    await h.world.client.orgUsers.remove(orgId, sent.id);
    const theirs = await h.world.client.orgUsers.invite(orgId, {
      username: email,
      roles: { orgRoles: adminRoles },
    });
    return { h, earlier, theirs, ctx: { ...h.ctx, intent: earlier } };
  }

  it('takes neither the admin’s invitation nor the role it carries as the grant’s, so the revoke leaves both', async () => {
    const { h, theirs, ctx } = await retriedAfterTheAdminReinvited(['ORG_MEMBER', 'ORG_READ_ONLY']);
    const retry = await grant(h, 'g-1', [orgReadOnly], [], { ctx });
    expect(retry).toMatchObject({
      userId: theirs.id,
      added: [],
      alreadyHeld: [orgReadOnly],
      created: { invitation: false, projectMemberships: [] },
    });
    // The earlier intent's claims are replaced: a record made from it (the job failing) has none.
    expect(h.intents.map((i) => i.intent)).toEqual([
      { userId: theirs.id, expiresAt: retry.expiresAt, added: [], created: retry.created },
    ]);
    await revoke(h, 'g-1', [recordOf(retry)]);
    expect(h.world.orgUser(theirs.id)).toMatchObject({
      status: 'PENDING',
      orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'],
    });
  });

  it('does not delete the admin’s invitation at the revoke, only the role the retry added to it', async () => {
    const { h, theirs, ctx } = await retriedAfterTheAdminReinvited(['ORG_MEMBER']);
    const retry = await grant(h, 'g-1', [orgReadOnly], [], { ctx });
    expect(retry).toMatchObject({ userId: theirs.id, added: [orgReadOnly], created: { invitation: false } });
    expect(await revoke(h, 'g-1', [recordOf(retry)])).toMatchObject({
      removed: [orgReadOnly],
      invitationDeleted: false,
    });
    expect(h.world.orgUser(theirs.id)).toMatchObject({ status: 'PENDING', orgRoles: ['ORG_MEMBER'] });
  });

  it('nor does a redelivery of the grant whose record names the invitation that is gone', async () => {
    const { h, earlier, theirs } = await retriedAfterTheAdminReinvited(['ORG_MEMBER']);
    const record: GrantRecord = { grantId: 'g-1', email, ...earlier };
    const again = await grant(h, 'g-1', [orgReadOnly], [record]);
    expect(again).toMatchObject({ userId: theirs.id, added: [orgReadOnly], created: { invitation: false } });
    expect(await revoke(h, 'g-1', [recordOf(again)])).toMatchObject({ invitationDeleted: false });
    expect(h.world.orgUser(theirs.id)).toMatchObject({ status: 'PENDING', orgRoles: ['ORG_MEMBER'] });
  });

  it('claims nothing of it when bob is no longer invited at all and the new invitation is refused', async () => {
    const h = portalWorld();
    const sent = await h.world.client.orgUsers.invite(orgId, {
      username: email,
      roles: { orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'] },
    });
    const earlier = {
      userId: sent.id,
      expiresAt: new Date(nowMs + hourMs).toISOString(),
      added: [orgReadOnly],
      created: { invitation: true, projectMemberships: [] },
    };
    await h.world.client.orgUsers.remove(orgId, sent.id);
    h.world.failNext('orgUsers.invite', 'INVITATIONS_RATE_LIMITED_IP');
    await expect(
      grant(h, 'g-1', [orgReadOnly], [], { ctx: { ...h.ctx, intent: earlier } }),
    ).rejects.toMatchObject({
      code: 'rate_limited',
    });
    // Made into a record with no user id, the old claim would take an invitation an admin sends
    // later, with its ORG_READ_ONLY, as the grant's once bob accepts it.
    expect(h.intents.at(-1)?.intent).toMatchObject({
      added: [],
      created: { invitation: false, projectMemberships: [] },
    });
  });
});
