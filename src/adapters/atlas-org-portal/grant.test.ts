import { describe, expect, it } from 'vitest';
import { cancelledError, ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import { grantAccess } from './grant.js';
import { GrantPayload, RevokePayload } from './payloads.js';
import { revokeAccess } from './revoke.js';
import type { GrantCtx, PortalDeps } from './person.js';
import {
  analytics,
  baseConfig,
  orgId,
  payments,
  bobId,
  bobReadingPayments,
  erinId,
  portalWorld,
  record,
  type PortalWorld,
} from '../../../test/kits/portal-test-kit.js';

const bob = bobReadingPayments;

function payload(overrides: Record<string, unknown> = {}): GrantPayload {
  return GrantPayload.parse({
    grantId: 'g-1',
    requester: { email: 'bob@example.com' },
    access: [{ level: 'project', projectId: payments, role: 'GROUP_DATA_ACCESS_READ_WRITE' }],
    ttlSeconds: 7200,
    ...overrides,
  });
}

describe('grant to an active member', () => {
  it('reads the person once and adds exactly the roles they lack', async () => {
    const h = portalWorld([bob]);
    const access = [
      { level: 'org', role: 'ORG_BILLING_ADMIN' },
      { level: 'project', projectId: payments, role: 'GROUP_READ_ONLY' },
      { level: 'project', projectId: payments, role: 'GROUP_DATA_ACCESS_READ_WRITE' },
    ];
    const result = await grantAccess({ config: baseConfig, payload: payload({ access }) }, h.deps, h.ctx);
    expect(h.calls()).toEqual([
      ['orgUsers.list', orgId, { username: 'bob@example.com', orgMembershipStatuses: ['ACTIVE', 'PENDING'] }],
      ['orgUsers.addRole', orgId, bobId, 'ORG_BILLING_ADMIN'],
      ['projectUsers.addRole', payments, bobId, 'GROUP_DATA_ACCESS_READ_WRITE'],
    ]);
    expect(result).toMatchObject({
      userId: bobId,
      username: 'bob@example.com',
      membership: 'active',
      added: [access[0], access[2]],
      alreadyHeld: [access[1]],
      created: { invitation: false, projectMemberships: [] },
      expiresAt: new Date(Date.UTC(2026, 11, 4, 14)).toISOString(),
    });
  });

  it('adds a first role in a project with addGroupUsers and records the membership as created', async () => {
    const h = portalWorld([bob]);
    const access = [{ level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' }];
    const result = await grantAccess({ config: baseConfig, payload: payload({ access }) }, h.deps, h.ctx);
    expect(h.writes()).toEqual([
      ['projectUsers.add', analytics, { username: 'bob@example.com', roles: ['GROUP_READ_ONLY'] }],
    ]);
    expect(result.created.projectMemberships).toEqual([analytics]);
  });

  it('records a role another active grant of ours added as added (shared), without writing', async () => {
    const h = portalWorld([{ ...bob, orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'] }]);
    const access = [{ level: 'org', role: 'ORG_READ_ONLY' }];
    const grants = [record({ grantId: 'g-0', added: [{ level: 'org', role: 'ORG_READ_ONLY' }] })];
    const result = await grantAccess(
      { config: baseConfig, payload: payload({ access, grants }) },
      h.deps,
      h.ctx,
    );
    expect(h.writes()).toEqual([]);
    expect(result.added).toEqual(access);
    expect(result.alreadyHeld).toEqual([]);
  });

  it('converges on a redelivery: the earlier delivery’s record keeps its roles as added', async () => {
    const h = portalWorld([bob]);
    const first = await grantAccess({ config: baseConfig, payload: payload() }, h.deps, h.ctx);
    const grants = [record({ grantId: 'g-1', added: [...first.added], created: first.created })];
    const again = await grantAccess({ config: baseConfig, payload: payload({ grants }) }, h.deps, h.ctx);
    expect(h.writes()).toHaveLength(1);
    expect(again.added).toEqual(first.added);
  });

  it('falls back to :addRole when addGroupUsers answers 409', async () => {
    const h = portalWorld([bob]);
    // Someone adds bob to the project just before the connector does: Atlas answers 409.
    h.world.beforeNext('projectUsers.add', () =>
      h.world.joinProject(analytics, 'bob@example.com', ['GROUP_CLUSTER_MANAGER']),
    );
    const access = [{ level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' }];
    const result = await grantAccess({ config: baseConfig, payload: payload({ access }) }, h.deps, h.ctx);
    expect(h.writes().map(([m]) => m)).toEqual(['projectUsers.add', 'projectUsers.addRole']);
    expect(result.created.projectMemberships).toEqual([]);
  });
});

describe('grant to someone who is not an active member', () => {
  it('invites an unknown person with every requested role plus ORG_MEMBER, paced by the daemon-wide invitation pacer', async () => {
    const h = portalWorld();
    const access = [
      { level: 'org', role: 'ORG_READ_ONLY' },
      { level: 'project', projectId: payments, role: 'GROUP_READ_ONLY' },
    ];
    const result = await grantAccess(
      { config: baseConfig, payload: payload({ access, requester: { email: 'Erin@Example.com' } }) },
      h.deps,
      h.ctx,
    );
    expect(h.invitations.acquired).toBe(1);
    expect(h.writes()).toEqual([
      [
        'orgUsers.invite',
        orgId,
        {
          username: 'erin@example.com',
          roles: {
            orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'],
            groupRoleAssignments: [{ groupId: payments, groupRoles: ['GROUP_READ_ONLY'] }],
          },
        },
      ],
    ]);
    expect(result).toMatchObject({
      membership: 'invited',
      added: access,
      created: { invitation: true, projectMemberships: [payments] },
    });
    expect(result.note).toMatch(/accepts the Atlas invitation/);
  });

  it('adds the roles to a pending invitation instead of inviting again', async () => {
    const h = portalWorld([{ id: erinId, email: 'bob@example.com', status: 'PENDING' }]);
    const result = await grantAccess(
      { config: baseConfig, payload: payload({ access: [{ level: 'org', role: 'ORG_READ_ONLY' }] }) },
      h.deps,
      h.ctx,
    );
    expect(h.writes()).toEqual([['orgUsers.addRole', orgId, erinId, 'ORG_READ_ONLY']]);
    expect(result).toMatchObject({ membership: 'invited', invitationExpiresAt: '2027-01-03T12:00:00Z' });
  });

  it('refuses an unknown person when inviteUnknownUsers is false, before any write', async () => {
    const h = portalWorld();
    const config = { ...baseConfig, inviteUnknownUsers: false };
    await expect(grantAccess({ config, payload: payload() }, h.deps, h.ctx)).rejects.toMatchObject({
      code: 'policy_denied',
      message: expect.stringMatching(/^requester\.email: /),
    });
    expect(h.writes()).toEqual([]);
  });

  it('treats INVITATIONS_RATE_LIMITED_IP as a retryable rate limit and holds the daemon’s invitations off for 60 s', async () => {
    const h = portalWorld();
    h.world.failNext('orgUsers.invite', 'INVITATIONS_RATE_LIMITED_IP');
    const error: unknown = await grantAccess({ config: baseConfig, payload: payload() }, h.deps, h.ctx).catch(
      (e: unknown) => e,
    );
    expect(isConnectorError(error) && error.toSafeJSON()).toMatchObject({
      code: 'rate_limited',
      retryable: true,
      retryAfterMs: 60_000,
    });
    expect(h.invitations.heldOff).toEqual([60_000]);
  });

  it('holds the daemon’s invitations off for 60 s too when addGroupUsers for a pending invitee meets the invitation limit', async () => {
    const h = portalWorld([{ id: bobId, email: 'bob@example.com', status: 'PENDING' }]);
    h.world.failNext('projectUsers.add', 'INVITATIONS_RATE_LIMITED_IP');
    const error: unknown = await grantAccess({ config: baseConfig, payload: payload() }, h.deps, h.ctx).catch(
      (e: unknown) => e,
    );
    expect(isConnectorError(error) && error.toSafeJSON()).toMatchObject({
      code: 'rate_limited',
      retryAfterMs: 60_000,
    });
    expect(h.invitations.heldOff).toEqual([60_000]);
  });

  it("paces addGroupUsers for a pending invitee as an invitation, and an active member's not at all", async () => {
    const toAnalytics = payload({
      access: [{ level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' }],
    });
    const methods = (h: PortalWorld) => h.calls().map(([method]) => method);

    const pending = portalWorld([{ id: bobId, email: 'bob@example.com', status: 'PENDING' }]);
    await grantAccess({ config: baseConfig, payload: toAnalytics }, pending.deps, pending.ctx);
    expect(methods(pending)).toContain('projectUsers.add');
    expect(pending.invitations.acquired).toBe(1);

    const active = portalWorld([{ id: bobId, email: 'bob@example.com', status: 'ACTIVE' }]);
    await grantAccess({ config: baseConfig, payload: toAnalytics }, active.deps, active.ctx);
    expect(methods(active)).toContain('projectUsers.add');
    expect(active.invitations.acquired).toBe(0);
  });

  it('gives back the pacer slot of a pending invitee’s addGroupUsers that the lost lease stops', async () => {
    // A slot never given back stays "in flight" for good: after a few such jobs the pacer sends no
    // invitation again until a restart.
    const h = portalWorld([{ id: bobId, email: 'bob@example.com', status: 'PENDING' }]);
    let outstanding = 0;
    const deps = {
      ...h.deps,
      invitations: {
        ...h.deps.invitations,
        acquire: async () => {
          outstanding += 1;
          return () => void (outstanding -= 1);
        },
      },
    };
    const lost = new ConnectorError({ code: 'lease_lost', message: 'lease lost' });
    const ctx: GrantCtx = {
      ...h.ctx,
      beforeSideEffect: () => {
        throw lost;
      },
    };
    const toAnalytics = payload({
      access: [{ level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' }],
    });
    await expect(grantAccess({ config: baseConfig, payload: toAnalytics }, deps, ctx)).rejects.toBe(lost);
    expect(h.writes()).toEqual([]);
    expect(outstanding).toBe(0);
  });
});

describe('grant validation (before any Atlas call)', () => {
  it.each([
    [
      'an unknown project role',
      { access: [{ level: 'project', projectId: payments, role: 'GROUP_EMPEROR' }] },
      {},
      'invalid_request',
      'access[0].role',
    ],
    [
      'ORG_OWNER under the default policy',
      { access: [{ level: 'org', role: 'ORG_OWNER' }] },
      {},
      'policy_denied',
      'access[0].role',
    ],
    [
      'GROUP_OWNER under the default policy',
      { access: [{ level: 'project', projectId: payments, role: 'GROUP_OWNER' }] },
      {},
      'policy_denied',
      'access[0].role',
    ],
    [
      'a role outside POLICY_ALLOWED_ORG_ROLES',
      { access: [{ level: 'org', role: 'ORG_BILLING_ADMIN' }] },
      { allowedOrgRoles: ['ORG_READ_ONLY'] },
      'policy_denied',
      'access[0].role',
    ],
    ['a TTL over the maximum', { ttlSeconds: 13 * 3600 }, {}, 'policy_denied', 'ttlSeconds'],
    [
      'an expiry in the past',
      { ttlSeconds: undefined, expiresAt: '2026-01-01T00:00:00Z' },
      {},
      'policy_denied',
      'expiresAt',
    ],
    [
      'an end after year 9999 under a policy with no practical maximum',
      { ttlSeconds: Number.MAX_SAFE_INTEGER },
      { maxGrantTtlMs: Number.POSITIVE_INFINITY },
      'invalid_request',
      'ttlSeconds',
    ],
    [
      'a project outside POLICY_ALLOWED_PROJECT_IDS',
      {},
      { allowedProjectIds: [analytics] },
      'policy_denied',
      'access[0].projectId',
    ],
  ])('refuses %s', async (_name, tweak, policy, code, field) => {
    const h = portalWorld([bob], policy);
    const error: unknown = await grantAccess(
      { config: baseConfig, payload: payload(tweak) },
      h.deps,
      h.ctx,
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code, details: { field } });
    expect(h.calls()).toEqual([]);
  });

  it('refuses a project outside the integration’s projectIds allow-list', async () => {
    const h = portalWorld([bob]);
    const config = { ...baseConfig, projectIds: [analytics] };
    await expect(grantAccess({ config, payload: payload() }, h.deps, h.ctx)).rejects.toMatchObject({
      code: 'policy_denied',
      details: { field: 'access[0].projectId' },
    });
    expect(h.calls()).toEqual([]);
  });

  it('grants an owner role the policy names explicitly', async () => {
    const h = portalWorld([bob], { allowedOrgRoles: ['ORG_OWNER'] });
    await grantAccess(
      { config: baseConfig, payload: payload({ access: [{ level: 'org', role: 'ORG_OWNER' }] }) },
      h.deps,
      h.ctx,
    );
    expect(h.writes()).toEqual([['orgUsers.addRole', orgId, bobId, 'ORG_OWNER']]);
  });

  it.each([
    ['an active member', [bob]],
    ['an unknown person (invited)', []],
  ])(
    'refuses a well-formed project id no project has (%s) as invalid_request naming access[i].projectId',
    async (_who, seeds) => {
      const h = portalWorld(seeds);
      const missing = '6602000000000000000000cc';
      const access = [
        { level: 'org', role: 'ORG_BILLING_ADMIN' },
        { level: 'project', projectId: missing, role: 'GROUP_READ_ONLY' },
      ];
      const error: unknown = await grantAccess(
        { config: baseConfig, payload: payload({ access }) },
        h.deps,
        h.ctx,
      ).catch((e: unknown) => e);
      // A typo in a project id is the request's fault, not a missing Atlas object to retry or page on.
      expect(error).toMatchObject({
        code: 'invalid_request',
        retryable: false,
        details: { field: 'access[1].projectId', atlasErrorCode: 'GROUP_NOT_FOUND' },
      });
      expect((error as Error).message).toMatch(/^access\[1\]\.projectId: /);
    },
  );

  // The policy may name a role the connector does not know; Atlas's 400 speaks for it, on its field.
  it.each([
    ['an active member', [bob]],
    ['an unknown person (invited)', []],
  ])(
    'refuses a role the policy names but Atlas does not accept (%s) as invalid_request naming access[i].role',
    async (_who, seeds) => {
      const h = portalWorld(seeds, {
        allowedOrgRoles: ['ORG_READ_ONLY'],
        allowedProjectRoles: ['GROUP_READ_ONLY', 'GROUP_READ_ONLY_EXTRA'],
      });
      // The refused role's name holds the other's: the field is the whole word Atlas names.
      const access = [
        { level: 'org', role: 'ORG_READ_ONLY' },
        { level: 'project', projectId: payments, role: 'GROUP_READ_ONLY' },
        { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY_EXTRA' },
      ];
      const error: unknown = await grantAccess(
        { config: baseConfig, payload: payload({ access }) },
        h.deps,
        h.ctx,
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'invalid_request',
        retryable: false,
        details: { field: 'access[2].role', atlasErrorCode: 'INVALID_ROLE_FOR_GROUP' },
      });
      expect((error as Error).message).toMatch(
        /^access\[2\]\.role: Atlas does not accept this role on a project/,
      );
    },
  );

  it.each([
    ['a malformed e-mail', { requester: { email: 'not-an-email' } }, 'requester.email'],
    ['an unknown org role', { access: [{ level: 'org', role: 'ORG_KING' }] }, 'access.0.role'],
    ['both ttlSeconds and expiresAt', { expiresAt: '2026-12-04T13:00:00Z' }, 'ttlSeconds'],
    [
      'a project id that is not 24-hex',
      { access: [{ level: 'project', projectId: 'p1', role: 'GROUP_READ_ONLY' }] },
      'access.0.projectId',
    ],
  ])('rejects a payload with %s, naming the field', (_name, tweak, path) => {
    const parsed = GrantPayload.safeParse({
      grantId: 'g',
      requester: { email: 'bob@example.com' },
      access: [{ level: 'org', role: 'ORG_READ_ONLY' }],
      ttlSeconds: 60,
      ...tweak,
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });
});

describe('a grant Atlas refuses for good partway takes back what it wrote', () => {
  const missing = '6602000000000000000000cc';
  const billing = { level: 'org', role: 'ORG_BILLING_ADMIN' } as const;
  const analyticsRead = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;
  const unknownProject = { level: 'project', projectId: missing, role: 'GROUP_READ_ONLY' } as const;

  async function refused(h: PortalWorld, access: readonly unknown[], grants: unknown[] = []) {
    return grantAccess({ config: baseConfig, payload: payload({ access, grants }) }, h.deps, h.ctx).catch(
      (e: unknown) => e,
    );
  }

  it('removes the org role and deletes the project membership it added before the refusal', async () => {
    const h = portalWorld([bob]);
    const error = await refused(h, [billing, analyticsRead, unknownProject]);
    expect(error).toMatchObject({ code: 'invalid_request', details: { field: 'access[2].projectId' } });
    expect(h.writes()).toEqual([
      ['orgUsers.addRole', orgId, bobId, 'ORG_BILLING_ADMIN'],
      ['projectUsers.add', analytics, { username: 'bob@example.com', roles: ['GROUP_READ_ONLY'] }],
      ['projectUsers.add', missing, { username: 'bob@example.com', roles: ['GROUP_READ_ONLY'] }],
      ['orgUsers.removeRole', orgId, bobId, 'ORG_BILLING_ADMIN'],
      ['projectUsers.remove', analytics, bobId],
    ]);
    // bob is back to what he held before the grant: his own payments role stays.
    expect(h.world.orgUser(bobId)).toMatchObject({
      orgRoles: ['ORG_MEMBER'],
      projectRoles: { [payments]: ['GROUP_READ_ONLY'] },
    });
    expect(h.world.orgUser(bobId)?.projectRoles).not.toHaveProperty(analytics);
    // The last intent claims nothing: the record a failed job leaves owns nothing of bob's.
    expect(h.intents.at(-1)?.intent).toMatchObject({
      added: [],
      created: { invitation: false, projectMemberships: [] },
    });
  });

  it('keeps claiming, and warns about, what it could not take back, so the sweep removes it at expiry', async () => {
    const h = portalWorld([bob]);
    h.world.failNext('orgUsers.removeRole', 'UNEXPECTED_ERROR', 10);
    const error = await refused(h, [billing, unknownProject]);
    expect(error).toMatchObject({ code: 'invalid_request', details: { field: 'access[1].projectId' } });
    expect(h.world.orgUser(bobId)?.orgRoles).toContain('ORG_BILLING_ADMIN');
    expect(h.intents.at(-1)?.intent.added).toEqual([billing]);
    expect(h.warnings.map(([, message]) => message)).toEqual([
      'could not take back every write of a grant Atlas refused; the sweep removes the rest at its expiry',
    ]);
  });

  it('takes back nothing when the refusal is one a retry can get past (the invitation limit)', async () => {
    const h = portalWorld([{ ...bob, status: 'PENDING' }]);
    h.world.failNext('projectUsers.add', 'INVITATIONS_RATE_LIMITED_IP');
    const error = await refused(h, [billing, analyticsRead]);
    expect(error).toMatchObject({ code: 'rate_limited', retryable: true });
    expect(h.writes()).toEqual([
      ['orgUsers.addRole', orgId, bobId, 'ORG_BILLING_ADMIN'],
      ['projectUsers.add', analytics, { username: 'bob@example.com', roles: ['GROUP_READ_ONLY'] }],
    ]);
    expect(h.intents.at(-1)?.intent.added).toEqual([billing]);
  });

  // Another active grant of the person keeps its role; so does the same grant id granted again (the
  // control plane reuses it): its earlier delivery succeeded, its record stays in the ledger (a failed
  // job widens it, never narrows it), and the requester was told they hold that access until its
  // expiry. A failed grant takes back its own writes only, and never the person's own roles.
  it.each([
    ['another active grant of the person added', 'g-other'],
    ['an earlier delivery of the same grant id added, whose record stays', 'g-1'],
  ])('leaves what %s', async (_name, grantId) => {
    const h = portalWorld([{ ...bob, orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] }]);
    const other = record({ grantId, userId: bobId, added: [billing] });
    const readOnly = { level: 'org', role: 'ORG_READ_ONLY' } as const;
    const error = await refused(h, [billing, readOnly, unknownProject], [other]);
    expect(error).toMatchObject({ code: 'invalid_request', details: { field: 'access[2].projectId' } });
    expect(h.writes()).toEqual([
      ['orgUsers.addRole', orgId, bobId, 'ORG_READ_ONLY'],
      ['projectUsers.add', missing, { username: 'bob@example.com', roles: ['GROUP_READ_ONLY'] }],
      ['orgUsers.removeRole', orgId, bobId, 'ORG_READ_ONLY'],
    ]);
    expect(h.world.orgUser(bobId)?.orgRoles).toEqual(['ORG_MEMBER', 'ORG_BILLING_ADMIN']);
    // What the other record holds stays claimed there: this grant's intent claims nothing.
    expect(h.intents.at(-1)?.intent.added).toEqual([]);
  });

  it('never deletes the invitation an earlier delivery of the same grant id sent', async () => {
    const h = portalWorld([
      {
        id: bobId,
        email: 'bob@example.com',
        status: 'PENDING',
        orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'],
      },
    ]);
    const delivered = record({
      grantId: 'g-1',
      userId: bobId,
      added: [billing],
      created: { invitation: true, projectMemberships: [] },
    });
    const error = await refused(h, [billing, unknownProject], [delivered]);
    expect(error).toMatchObject({ code: 'invalid_request', details: { field: 'access[1].projectId' } });
    expect(h.writes()).toEqual([
      ['projectUsers.add', missing, { username: 'bob@example.com', roles: ['GROUP_READ_ONLY'] }],
    ]);
    expect(h.world.orgUser(bobId)).toMatchObject({ orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] });
  });
});

describe('grant intent (write-ahead record in the control plane)', () => {
  const readWrite = { level: 'project', projectId: payments, role: 'GROUP_DATA_ACCESS_READ_WRITE' } as const;
  const billing = { level: 'org', role: 'ORG_BILLING_ADMIN' } as const;

  it('records the roles and memberships it is about to add before its first Atlas write', async () => {
    const h = portalWorld([bob]);
    const access = [billing, { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' }];
    await grantAccess({ config: baseConfig, payload: payload({ access }) }, h.deps, h.ctx);
    expect(h.intents).toEqual([
      {
        writesBefore: 0,
        intent: {
          userId: bobId,
          expiresAt: new Date(Date.UTC(2026, 11, 4, 14)).toISOString(),
          added: access,
          created: { invitation: false, projectMemberships: [analytics] },
        },
      },
    ]);
    expect(h.writes()).toHaveLength(2);
  });

  it('records the invitation it is about to send before inviting, then the invitation’s user id', async () => {
    const h = portalWorld();
    const result = await grantAccess(
      { config: baseConfig, payload: payload({ access: [readWrite] }) },
      h.deps,
      h.ctx,
    );
    const intent = {
      expiresAt: new Date(Date.UTC(2026, 11, 4, 14)).toISOString(),
      added: [readWrite],
      created: { invitation: true, projectMemberships: [payments] },
    };
    // Made into a record (the result lost), an intent with no user id could not tell the grant's
    // invitation from one someone sends after it is gone: the id is recorded as soon as it is known.
    expect(h.intents).toEqual([
      { writesBefore: 0, intent },
      { writesBefore: 1, intent: { userId: result.userId, ...intent } },
    ]);
    expect(h.writes().map(([m]) => m)).toEqual(['orgUsers.invite']);
  });

  it('still reports the invitation it sent, and warns, when recording its user id fails', async () => {
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
    const result = await grantAccess(
      { config: baseConfig, payload: payload({ access: [readWrite] }) },
      h.deps,
      ctx,
    );
    expect(result).toMatchObject({
      membership: 'invited',
      added: [readWrite],
      created: { invitation: true },
    });
    expect(h.warnings).toEqual([
      [{ err: expect.any(Error) }, 'could not record the user id of the invitation the grant sent'],
    ]);
  });

  it('a redelivered attempt stamps an earlier invitation intent with the invitation’s user id, though nothing is left to write', async () => {
    // Attempt 1 invited bob and died before it recorded the invitation's user id.
    const h = portalWorld();
    const earlier = {
      expiresAt: new Date(Date.UTC(2026, 11, 4, 14)).toISOString(),
      added: [readWrite],
      created: { invitation: true, projectMemberships: [payments] },
    };
    const invitation = await h.world.client.orgUsers.invite(orgId, {
      username: 'bob@example.com',
      roles: {
        orgRoles: ['ORG_MEMBER'],
        groupRoleAssignments: [{ groupId: payments, groupRoles: [readWrite.role] }],
      },
    });
    const writes = h.writes().length;
    const result = await grantAccess(
      { config: baseConfig, payload: payload({ access: [readWrite] }) },
      h.deps,
      {
        ...h.ctx,
        intent: earlier,
      },
    );
    expect(h.writes()).toHaveLength(writes);
    expect(result).toMatchObject({ userId: invitation.id, added: [readWrite], created: earlier.created });
    expect(h.intents.map((i) => i.intent)).toEqual([{ userId: invitation.id, ...earlier }]);
  });

  describe('a job that ends while it waits for an invitation slot (cancelled, lease lost) claims no invitation write', () => {
    // The pacer may hold an invitation for a minute or more; an intent recorded before that wait
    // would outlive a job cancelled in it as a record (fromIntent) claiming an invitation, roles and
    // a membership nobody sent, and its revoke or the sweep would remove them once someone else
    // gives them (an admin's invitation to the same project, accepted).
    const cancelled = cancelledError('cancelled by an operator');
    const waitEnds = (h: PortalWorld): PortalDeps => ({
      ...h.deps,
      invitations: { ...h.deps.invitations, acquire: () => Promise.reject(cancelled) },
    });
    const expiresAt = new Date(Date.UTC(2026, 11, 4, 14)).toISOString();

    it('an unknown person: no intent is recorded', async () => {
      const h = portalWorld();
      await expect(
        grantAccess({ config: baseConfig, payload: payload({ access: [readWrite] }) }, waitEnds(h), h.ctx),
      ).rejects.toBe(cancelled);
      expect(h.writes()).toEqual([]);
      expect(h.intents).toEqual([]);
    });

    it('a pending invitee: the intent claims the writes made before the wait only', async () => {
      const h = portalWorld([{ id: bobId, email: 'bob@example.com', status: 'PENDING' }]);
      const toAnalytics = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;
      await expect(
        grantAccess(
          { config: baseConfig, payload: payload({ access: [billing, toAnalytics] }) },
          waitEnds(h),
          h.ctx,
        ),
      ).rejects.toBe(cancelled);
      expect(h.writes()).toEqual([['orgUsers.addRole', orgId, bobId, 'ORG_BILLING_ADMIN']]);
      expect(h.intents.map((i) => i.intent)).toEqual([
        {
          userId: bobId,
          expiresAt,
          added: [billing],
          created: { invitation: false, projectMemberships: [] },
        },
      ]);
    });

    it('a pending invitee: what an earlier attempt claimed in a paced project stays claimed', async () => {
      // The earlier attempt took its slot, claimed the project and sent its write, then lost its
      // lease; the write may land after this attempt's read. Dropped from the intent, the record a
      // job cancelled in the wait leaves (fromIntent) would never remove what that write gave.
      const h = portalWorld([{ id: bobId, email: 'bob@example.com', status: 'PENDING' }]);
      const toAnalytics = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;
      const earlier = {
        userId: bobId,
        expiresAt,
        added: [billing, toAnalytics],
        created: { invitation: false, projectMemberships: [analytics] },
      };
      await expect(
        grantAccess(
          { config: baseConfig, payload: payload({ access: [billing, toAnalytics] }) },
          waitEnds(h),
          { ...h.ctx, intent: earlier },
        ),
      ).rejects.toBe(cancelled);
      expect(h.intents.map((i) => i.intent)).toEqual([earlier]);
    });

    it('a pending invitee: the project is claimed once its slot is taken, before its write', async () => {
      const h = portalWorld([{ id: bobId, email: 'bob@example.com', status: 'PENDING' }]);
      const toAnalytics = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;
      const result = await grantAccess(
        { config: baseConfig, payload: payload({ access: [billing, toAnalytics] }) },
        h.deps,
        h.ctx,
      );
      expect(result).toMatchObject({
        added: [billing, toAnalytics],
        created: { invitation: false, projectMemberships: [analytics] },
      });
      expect(h.intents).toEqual([
        {
          writesBefore: 0,
          intent: {
            userId: bobId,
            expiresAt,
            added: [billing],
            created: { invitation: false, projectMemberships: [] },
          },
        },
        {
          writesBefore: 1,
          intent: {
            userId: bobId,
            expiresAt,
            added: [billing, toAnalytics],
            created: { invitation: false, projectMemberships: [analytics] },
          },
        },
      ]);
    });
  });

  it('writes nothing to Atlas when the intent cannot be recorded', async () => {
    const h = portalWorld([bob]);
    const refused = new Error('control plane unreachable');
    const ctx = { ...h.ctx, recordIntent: () => Promise.reject(refused) };
    await expect(grantAccess({ config: baseConfig, payload: payload() }, h.deps, ctx)).rejects.toBe(refused);
    expect(h.writes()).toEqual([]);
  });

  it('records no intent when there is nothing to write', async () => {
    const h = portalWorld([{ ...bob, projects: { [payments]: ['GROUP_DATA_ACCESS_READ_WRITE'] } }]);
    const result = await grantAccess({ config: baseConfig, payload: payload() }, h.deps, h.ctx);
    expect(h.intents).toEqual([]);
    expect(result.alreadyHeld).toEqual([readWrite]);
  });

  it('a redelivered attempt counts the intended roles it finds held as added, not alreadyHeld', async () => {
    // Attempt 1 wrote the role and died before its result: the role is held, no ledger record exists.
    const h = portalWorld([
      { ...bob, projects: { [payments]: ['GROUP_READ_ONLY', 'GROUP_DATA_ACCESS_READ_WRITE'] } },
    ]);
    const earlier = {
      userId: bobId,
      expiresAt: new Date(Date.UTC(2026, 11, 4, 14)).toISOString(),
      added: [readWrite],
      created: { invitation: false, projectMemberships: [] },
    };
    const access = [readWrite, { level: 'project', projectId: payments, role: 'GROUP_READ_ONLY' }];
    const result = await grantAccess({ config: baseConfig, payload: payload({ access }) }, h.deps, {
      ...h.ctx,
      intent: earlier,
    });
    expect(h.writes()).toEqual([]);
    expect(result.added).toEqual([readWrite]);
    expect(result.alreadyHeld).toEqual([access[1]]);
  });

  it('a redelivered attempt keeps the earlier intent’s roles and creations in its own intent and result', async () => {
    const h = portalWorld([
      { ...bob, projects: { [payments]: ['GROUP_READ_ONLY'], [analytics]: ['GROUP_READ_ONLY'] } },
    ]);
    const analyticsRole = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;
    const earlier = {
      expiresAt: new Date(Date.UTC(2026, 11, 4, 14)).toISOString(),
      added: [analyticsRole, billing],
      created: { invitation: false, projectMemberships: [analytics] },
    };
    const result = await grantAccess(
      { config: baseConfig, payload: payload({ access: [analyticsRole, billing] }) },
      h.deps,
      { ...h.ctx, intent: earlier },
    );
    expect(h.intents.map((i) => i.intent)).toMatchObject([
      { added: [billing, analyticsRole], created: { projectMemberships: [analytics] } },
    ]);
    expect(h.writes()).toEqual([['orgUsers.addRole', orgId, bobId, 'ORG_BILLING_ADMIN']]);
    expect(result.added).toEqual([billing, analyticsRole]);
    expect(result.created.projectMemberships).toEqual([analytics]);
  });

  const claimed = {
    expiresAt: expect.any(String),
    added: [readWrite],
    created: { invitation: true, projectMemberships: [payments] },
  };
  const withdrawn = {
    expiresAt: expect.any(String),
    added: [],
    created: { invitation: false, projectMemberships: [] },
  };
  const grantReadWrite = (h: ReturnType<typeof portalWorld>, ctx: GrantCtx = h.ctx) =>
    grantAccess({ config: baseConfig, payload: payload({ access: [readWrite] }) }, h.deps, ctx);

  it('withdraws its claim when Atlas refuses the invitation, so a retry takes no one else’s invitation', async () => {
    const h = portalWorld();
    h.world.failNext('orgUsers.invite', 'INVITATIONS_RATE_LIMITED_IP');
    await expect(grantReadWrite(h)).rejects.toMatchObject({ code: 'rate_limited' });
    expect(h.intents.map((i) => i.intent)).toEqual([claimed, withdrawn]);

    // Before the retry (at least 60 s later), an admin invites bob to payments with the same role.
    h.world.joinProject(payments, 'bob@example.com', ['GROUP_DATA_ACCESS_READ_WRITE']);
    const retry = await grantReadWrite(h, { ...h.ctx, intent: h.intents.at(-1)?.intent ?? null });
    // The only write is the refused invitation: bob already holds the role through the admin's.
    expect(h.writes().map(([method]) => method)).toEqual(['orgUsers.invite']);
    expect(retry).toMatchObject({
      membership: 'invited',
      added: [],
      alreadyHeld: [readWrite],
      created: { invitation: false, projectMemberships: [] },
    });
  });

  it('keeps its claim when it cannot tell whether the invitation was created (a 5xx)', async () => {
    const h = portalWorld();
    h.world.failNext('orgUsers.invite', 'SERVICE_UNAVAILABLE');
    await expect(grantReadWrite(h)).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(h.intents.map((i) => i.intent)).toEqual([claimed]);
  });

  // Attempt 1 recorded its claim and died before its invitation went out; the retry's invitation is
  // refused for good (the project was deleted meanwhile). Bob is neither member nor invited: nothing
  // of the grant is in Atlas, and the record the failed job leaves (fromIntent) must claim nothing,
  // or its revoke fails and, once an admin invites bob and he accepts, the sweep removes the admin's
  // roles. As under `inviteUnknownUsers: false` (grant-refused-retry.test.ts).
  it('claims nothing once Atlas refuses for good the invitation of a retry whose earlier attempt sent none', async () => {
    const h = portalWorld();
    const earlier = { expiresAt: '2026-12-04T14:00:00.000Z', added: [readWrite], created: claimed.created };
    h.world.failNext('orgUsers.invite', 'GROUP_NOT_FOUND');
    await expect(grantReadWrite(h, { ...h.ctx, intent: earlier })).rejects.toMatchObject({
      code: 'invalid_request',
      retryable: false,
      details: { field: 'access[0].projectId' },
    });
    expect(h.writes().map(([method]) => method)).toEqual(['orgUsers.invite']);
    expect(h.intents.at(-1)?.intent).toEqual(withdrawn);
  });

  // The organization will not take this person (its federation's domain allow-list, the person's
  // own organization restrictions): the request's fault, named by its field, not the credential's.
  it.each([
    [400, 'DOMAIN_NOT_IN_ALLOW_LIST'],
    [403, 'USER_ORGS_RESTRICTED'],
  ])(
    'fails invalid_request naming requester.email when Atlas refuses the invitation with %i %s',
    async (status, code) => {
      const h = portalWorld();
      h.world.answerNext('orgUsers.invite', status, { error: status, errorCode: code, detail: 'refused' });
      await expect(grantReadWrite(h)).rejects.toMatchObject({
        code: 'invalid_request',
        retryable: false,
        details: { field: 'requester.email', atlasErrorCode: code },
      });
      expect(h.intents.at(-1)?.intent).toEqual(withdrawn);
    },
  );

  it('withdraws its claim right after a 409, before anything else can fail', async () => {
    const h = portalWorld();
    // An admin invites bob just before the connector does; then reading bob again fails.
    h.world.beforeNext('orgUsers.invite', () => {
      h.world.joinProject(payments, 'bob@example.com', ['GROUP_READ_ONLY']);
      h.world.failNext('orgUsers.list', 'CANNOT_DEMOTE_LAST_ORG_OWNER'); // any refusal will do
    });
    await expect(grantReadWrite(h)).rejects.toMatchObject({ code: 'forbidden' });
    expect(h.intents.map((i) => i.intent)).toEqual([claimed, withdrawn]);
  });

  it('still reports the refusal, and warns, when withdrawing its claim fails too', async () => {
    const h = portalWorld();
    h.world.failNext('orgUsers.invite', 'INVITATIONS_RATE_LIMITED_IP');
    let recorded = 0;
    const ctx = {
      ...h.ctx,
      recordIntent: () =>
        (recorded += 1) === 1 ? Promise.resolve() : Promise.reject(new Error('control plane unreachable')),
    };
    await expect(grantReadWrite(h, ctx)).rejects.toMatchObject({ code: 'rate_limited' });
    expect(recorded).toBe(2);
    expect(h.warnings).toEqual([
      [
        { err: new Error('control plane unreachable') },
        'could not withdraw the intent of a refused invitation',
      ],
    ]);
  });

  it.each([
    ['an org role', 'orgUsers.addRole', billing],
    ['a project role', 'projectUsers.addRole', readWrite],
  ] as const)(
    'counts %s whose :addRole answers 409 (someone added it meanwhile) as alreadyHeld, not added',
    async (_name, method, access) => {
      const h = portalWorld([bob]);
      const conflict = { error: 409, errorCode: 'CONFLICT', detail: 'conflict', reason: 'Conflict' };
      h.world.answerNext(method, 409, conflict);
      const other = { level: 'org', role: 'ORG_READ_ONLY' } as const;
      const result = await grantAccess(
        { config: baseConfig, payload: payload({ access: [access, other] }) },
        h.deps,
        h.ctx,
      );
      expect(result).toMatchObject({ added: [other], alreadyHeld: [access] });
      // The intent that claimed the role before the write no longer does.
      expect(h.intents.map((i) => i.intent.added)).toEqual([[access, other], [other]]);
    },
  );

  it("keeps a role as added when its 409 may be an earlier attempt's own write, landed after this attempt's read", async () => {
    // Attempt 1 sent :addRole, lost the answer and failed; its write reached Atlas only after
    // attempt 2 had read bob, so attempt 2's own :addRole meets 409. Counted as someone else's,
    // the role would leave every record, and no revoke or sweep would ever remove it.
    const h = portalWorld([bob]);
    const earlier = {
      userId: bobId,
      expiresAt: new Date(Date.UTC(2026, 11, 4, 14)).toISOString(),
      added: [billing],
      created: { invitation: false, projectMemberships: [] },
    };
    const conflict = { error: 409, errorCode: 'CONFLICT', detail: 'conflict', reason: 'Conflict' };
    h.world.answerNext('orgUsers.addRole', 409, conflict);
    const result = await grantAccess(
      { config: baseConfig, payload: payload({ access: [billing] }) },
      h.deps,
      {
        ...h.ctx,
        intent: earlier,
      },
    );
    expect(result).toMatchObject({ added: [billing], alreadyHeld: [] });
    expect(h.intents.map((i) => i.intent.added)).toEqual([[billing]]);
  });

  it('retries a grant whose person left between the read and the write, and the retry invites them', async () => {
    const h = portalWorld([bob]);
    h.world.beforeNext('orgUsers.addRole', () => h.world.removeOrgUser(bobId));
    const grantBilling = (ctx: GrantCtx) =>
      grantAccess({ config: baseConfig, payload: payload({ access: [billing] }) }, h.deps, ctx);
    const error: unknown = await grantBilling(h.ctx).catch((e: unknown) => e);
    expect(isConnectorError(error) && error.toSafeJSON()).toMatchObject({
      code: 'conflict',
      retryable: true,
      message: expect.stringMatching(/^requester\.email: /),
    });
    // Nothing landed: the intent claims nothing any more.
    expect(h.intents.at(-1)?.intent).toMatchObject({
      added: [],
      created: { invitation: false, projectMemberships: [] },
    });
    const retry = await grantBilling({ ...h.ctx, intent: h.intents.at(-1)?.intent ?? null });
    expect(retry).toMatchObject({ membership: 'invited', added: [billing], created: { invitation: true } });
  });

  it('claims the invitation addGroupUsers sent when the person left between the read and the write, so the revoke withdraws it', async () => {
    // Atlas answers addGroupUsers for an e-mail that is no longer a member with a new invitation
    // carrying the project: the write lands, on another membership than the one read.
    const h = portalWorld([bob]);
    h.world.beforeNext('projectUsers.add', () => h.world.removeOrgUser(bobId));
    const analyticsReadOnly = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;
    const grantIt = (ctx: GrantCtx) =>
      grantAccess({ config: baseConfig, payload: payload({ access: [analyticsReadOnly] }) }, h.deps, ctx);
    const error: unknown = await grantIt(h.ctx).catch((e: unknown) => e);
    expect(isConnectorError(error) && error.toSafeJSON()).toMatchObject({
      code: 'conflict',
      retryable: true,
      message: expect.stringMatching(/^requester\.email: /),
    });
    const invitation = h.world.sim.state.snapshot().orgUsers.find((u) => u.username === 'bob@example.com');
    expect(invitation).toMatchObject({
      status: 'PENDING',
      projectRoles: { [analytics]: ['GROUP_READ_ONLY'] },
    });
    expect(h.intents.at(-1)?.intent).toMatchObject({
      userId: invitation?.id,
      added: [analyticsReadOnly],
      created: { invitation: true, projectMemberships: [analytics] },
    });
    const retry = await grantIt({ ...h.ctx, intent: h.intents.at(-1)?.intent ?? null });
    expect(retry).toMatchObject({
      userId: invitation?.id,
      membership: 'invited',
      added: [analyticsReadOnly],
      alreadyHeld: [],
      created: { invitation: true, projectMemberships: [analytics] },
    });
    const revoked = await revokeAccess(
      {
        config: baseConfig,
        payload: RevokePayload.parse({
          grantId: 'g-1',
          grants: [
            record({ grantId: 'g-1', userId: retry.userId, added: [...retry.added], created: retry.created }),
          ],
        }),
      },
      h.deps,
      h.ctx,
    );
    expect(revoked).toMatchObject({ outcome: 'revoked', invitationDeleted: true });
    expect(
      h.world.sim.state.snapshot().orgUsers.find((u) => u.username === 'bob@example.com'),
    ).toBeUndefined();
  });

  it('ignores an intent that is not a grant intent', async () => {
    const h = portalWorld([
      { ...bob, projects: { [payments]: ['GROUP_READ_ONLY', 'GROUP_DATA_ACCESS_READ_WRITE'] } },
    ]);
    const result = await grantAccess({ config: baseConfig, payload: payload() }, h.deps, {
      ...h.ctx,
      intent: { something: 'else' },
    });
    expect(result.alreadyHeld).toEqual([readWrite]);
  });
});
