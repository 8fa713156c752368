import { describe, expect, it } from 'vitest';
import { grantAccess } from './grant.js';
import { GrantPayload, type GrantIntent } from './payloads.js';
import type { GrantCtx, PortalDeps } from './person.js';
import {
  analytics,
  baseConfig,
  bobId,
  bobReadingPayments,
  erinId,
  hourMs,
  orgId,
  otherId,
  payments,
  portalWorld,
  record,
  type PortalWorld,
} from '../../../test/kits/portal-test-kit.js';
import type { AtlasOrgPortalConfig } from './atlas-org-portal-config.js';

/**
 * A retry of a grant job refused for good before its first write (the policy, the integration's
 * allow-list or inviteUnknownUsers narrowed since an earlier attempt wrote): what that attempt wrote
 * is taken back as for a refusal by Atlas, and the intent narrowed to what is left.
 */

const bob = bobReadingPayments;
const billing = { level: 'org', role: 'ORG_BILLING_ADMIN' } as const;
const analyticsRead = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;
const paymentsRead = { level: 'project', projectId: payments, role: 'GROUP_READ_ONLY' } as const;
const nothingClaimed = { added: [], created: { invitation: false, projectMemberships: [] } };
const lookup = [
  'orgUsers.list',
  orgId,
  { username: 'bob@example.com', orgMembershipStatuses: ['ACTIVE', 'PENDING'] },
];

function payload(grants: unknown[] = [], overrides: Record<string, unknown> = {}): GrantPayload {
  return GrantPayload.parse({
    grantId: 'g-1',
    requester: { email: 'bob@example.com' },
    access: [billing, analyticsRead, paymentsRead],
    ttlSeconds: 7200,
    grants,
    ...overrides,
  });
}

/**
 * Attempt 1 writes and dies before its result (no record of g-1 in the ledger): the retry gets its
 * intent back. Returns the retry's context; `h.calls()` and `h.intents` start afresh for the retry.
 */
async function firstAttemptDied(
  h: PortalWorld,
  grants: unknown[] = [],
  overrides: Record<string, unknown> = {},
): Promise<GrantCtx> {
  await grantAccess({ config: baseConfig, payload: payload(grants, overrides) }, h.deps, h.ctx);
  const earlier = h.intents.at(-1)?.intent;
  expect(earlier?.added).toContainEqual(billing);
  h.world.calls.length = 0;
  h.intents.length = 0;
  return { ...h.ctx, intent: earlier };
}

async function retry(
  h: PortalWorld,
  ctx: GrantCtx,
  change: { config?: Partial<AtlasOrgPortalConfig>; policy?: Partial<PortalDeps['policy']> },
  grants: unknown[] = [],
  overrides: Record<string, unknown> = {},
): Promise<unknown> {
  const deps = { ...h.deps, policy: { ...h.deps.policy, ...change.policy } };
  const config = { ...baseConfig, ...change.config };
  return grantAccess({ config, payload: payload(grants, overrides) }, deps, ctx).catch((e: unknown) => e);
}

/** What the same request, refused on a first attempt, fails with: the retry fails the same way. */
async function freshRefusal(change: Parameters<typeof retry>[2]): Promise<unknown> {
  const h = portalWorld([bob]);
  const error = await retry(h, h.ctx, change);
  expect(h.calls()).toEqual([]);
  return error;
}

describe('a grant retry refused before its first write takes back what an earlier attempt wrote', () => {
  it.each([
    ['the allowed org roles narrowed', { policy: { allowedOrgRoles: ['ORG_READ_ONLY'] } }, 'access[0].role'],
    ["the integration's projectIds narrowed", { config: { projectIds: [payments] } }, 'access[1].projectId'],
    [
      'the allowed project ids narrowed',
      { policy: { allowedProjectIds: [payments] } },
      'access[1].projectId',
    ],
    ['the maximum TTL lowered', { policy: { maxGrantTtlMs: hourMs } }, 'ttlSeconds'],
  ])('%s: removes its role and membership, never the role held before', async (_name, change, field) => {
    const h = portalWorld([bob]);
    const ctx = await firstAttemptDied(h);
    const error = await retry(h, ctx, change);
    expect(error).toMatchObject({ code: 'policy_denied', retryable: false, details: { field } });
    expect((error as Error).message).toBe(((await freshRefusal(change)) as Error).message);
    expect(h.calls()).toEqual([
      lookup,
      ['orgUsers.removeRole', orgId, bobId, 'ORG_BILLING_ADMIN'],
      ['projectUsers.remove', analytics, bobId],
    ]);
    expect(h.world.orgUser(bobId)).toMatchObject({
      orgRoles: ['ORG_MEMBER'],
      projectRoles: { [payments]: ['GROUP_READ_ONLY'] },
    });
    expect(h.world.orgUser(bobId)?.projectRoles).not.toHaveProperty(analytics);
    // The record the failed job leaves (fromIntent) owns nothing of bob's.
    expect(h.intents.map((i) => i.intent)).toEqual([
      { userId: bobId, expiresAt: expect.any(String), ...nothingClaimed },
    ]);
  });

  // Another active grant keeps its role; so does an earlier successful delivery of the same grant id
  // (the control plane reuses it): the requester was told they hold that access until its expiry.
  it.each([
    ['another active grant of the person added', 'g-other'],
    ['an earlier successful delivery of the same grant id added', 'g-1'],
  ])('leaves what %s', async (_name, grantId) => {
    const h = portalWorld([{ ...bob, orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] }]);
    const grants = [record({ grantId, userId: bobId, added: [billing] })];
    const ctx = await firstAttemptDied(h, grants);
    const error = await retry(h, ctx, { config: { projectIds: [payments] } }, grants);
    expect(error).toMatchObject({ code: 'policy_denied', details: { field: 'access[1].projectId' } });
    expect(h.calls()).toEqual([lookup, ['projectUsers.remove', analytics, bobId]]);
    expect(h.world.orgUser(bobId)?.orgRoles).toEqual(['ORG_MEMBER', 'ORG_BILLING_ADMIN']);
    expect(h.intents.at(-1)?.intent).toMatchObject(nothingClaimed);
  });

  it('takes back when the grant’s end has passed since the earlier attempt', async () => {
    const h = portalWorld([bob]);
    const until = { ttlSeconds: undefined, expiresAt: '2026-12-04T13:00:00Z' };
    const ctx = await firstAttemptDied(h, [], until);
    await h.world.clock.advance(2 * hourMs);
    const error = await retry(h, ctx, {}, [], until);
    expect(error).toMatchObject({ code: 'policy_denied', details: { field: 'expiresAt' } });
    expect(h.writes()).toEqual([
      ['orgUsers.removeRole', orgId, bobId, 'ORG_BILLING_ADMIN'],
      ['projectUsers.remove', analytics, bobId],
    ]);
  });

  it.each([
    ['no earlier intent', null],
    ['an earlier intent that claims nothing', { expiresAt: '2026-12-04T14:00:00.000Z', ...nothingClaimed }],
    ['an earlier intent of another kind', { databaseUser: 'jit-bob' }],
  ])('makes no Atlas call at all with %s', async (_name, intent) => {
    const h = portalWorld([bob]);
    const error = await retry(h, { ...h.ctx, intent }, { policy: { allowedOrgRoles: ['ORG_READ_ONLY'] } });
    expect(error).toMatchObject({ code: 'policy_denied', details: { field: 'access[0].role' } });
    expect(h.calls()).toEqual([]);
    expect(h.intents).toEqual([]);
  });

  it("takes nothing back under another key than the person's: the person's other jobs may run at once", async () => {
    const h = portalWorld([bob]);
    const ctx = await firstAttemptDied(h);
    const error = await retry(h, { ...ctx, resourceKey: 'job/j-1' }, { config: { projectIds: [payments] } });
    expect(error).toMatchObject({ code: 'policy_denied' });
    expect(h.calls()).toEqual([]);
  });

  it('inviteUnknownUsers turned off, the person gone: the intent is narrowed to claim nothing', async () => {
    const h = portalWorld();
    const earlier: GrantIntent = {
      userId: erinId,
      expiresAt: '2026-12-04T14:00:00.000Z',
      added: [billing],
      created: { invitation: true, projectMemberships: [] },
    };
    const error = await retry(h, { ...h.ctx, intent: earlier }, { config: { inviteUnknownUsers: false } });
    expect(error).toMatchObject({ code: 'policy_denied', details: { field: 'requester.email' } });
    expect(h.writes()).toEqual([]);
    expect(h.intents.map((i) => i.intent)).toEqual([{ ...earlier, ...nothingClaimed }]);
  });

  // Attempt 1 invited bob and died before it recorded the invitation's user id. A retry that is not
  // refused counts that invitation as the grant's (and stamps the claim with its id); a refused one
  // must too, or the invitation and its roles stay behind under a record that cannot say which
  // invitation is the grant's: its revoke fails, and once bob accepts he holds what he was refused.
  it("withdraws the invitation of an earlier attempt that died before it recorded the invitation's id", async () => {
    const h = portalWorld();
    let recorded = 0;
    const dying: GrantCtx = {
      ...h.ctx,
      recordIntent: async (intent) => {
        recorded += 1;
        if (recorded > 1) throw new Error('killed');
        await h.ctx.recordIntent(intent);
      },
    };
    const invited = await grantAccess({ config: baseConfig, payload: payload() }, h.deps, dying);
    const earlier = h.intents.at(-1)?.intent;
    expect(earlier).not.toHaveProperty('userId');
    h.world.calls.length = 0;
    h.intents.length = 0;
    const error = await retry(h, { ...h.ctx, intent: earlier }, { config: { projectIds: [payments] } });
    expect(error).toMatchObject({ code: 'policy_denied', details: { field: 'access[1].projectId' } });
    expect(h.writes()).toEqual([['orgUsers.remove', orgId, invited.userId]]);
    expect(h.world.orgUser(invited.userId)).toBeUndefined();
    // The record the failed job leaves names the invitation and claims none of its roles.
    expect(h.intents).toHaveLength(1);
    expect(h.intents[0]?.intent).toMatchObject({
      userId: invited.userId,
      added: [],
      created: { invitation: false },
    });
  });

  // The earlier attempt wrote to an invitation that is gone; the person is invited again under
  // another id, with a role someone else gave. A record made from the old claim would own that role
  // once the new invitation is accepted, and its revoke or the sweep would remove it.
  it('removes nothing from, and claims nothing on, an invitation under another id than the claim', async () => {
    const h = portalWorld([
      {
        id: otherId,
        email: 'bob@example.com',
        status: 'PENDING',
        orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'],
      },
    ]);
    const earlier: GrantIntent = {
      userId: erinId,
      expiresAt: '2026-12-04T14:00:00.000Z',
      added: [billing],
      created: { invitation: true, projectMemberships: [] },
    };
    const error = await retry(h, { ...h.ctx, intent: earlier }, { config: { projectIds: [payments] } });
    expect(error).toMatchObject({ code: 'policy_denied' });
    expect(h.writes()).toEqual([]);
    expect(h.world.orgUser(otherId)?.orgRoles).toEqual(['ORG_MEMBER', 'ORG_BILLING_ADMIN']);
    expect(h.intents.map((i) => i.intent)).toEqual([{ ...earlier, ...nothingClaimed }]);
  });
});
