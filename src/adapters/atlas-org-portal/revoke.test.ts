import { describe, expect, it } from 'vitest';
import { isConnectorError } from '../../errors/connector-error.js';
import { RenewPayload, RevokePayload, type GrantRecord } from './payloads.js';
import {
  baseConfig,
  hourMs,
  nowMs,
  orgId,
  payments,
  analytics,
  aliceId,
  bobId,
  erinId,
  otherId,
  portalWorld,
  record,
  type PersonSeed,
} from '../../../test/kits/portal-test-kit.js';
import { revokeAccess } from './revoke.js';
import { sweepAccess } from './sweep.js';

const billing = { level: 'org', role: 'ORG_BILLING_ADMIN' } as const;
const readWrite = { level: 'project', projectId: payments, role: 'GROUP_DATA_ACCESS_READ_WRITE' } as const;

function revoke(h: ReturnType<typeof portalWorld>, grants: GrantRecord[], grantId = 'g-1') {
  return revokeAccess(
    { config: baseConfig, payload: RevokePayload.parse({ grantId, grants }) },
    h.deps,
    h.ctx,
  );
}

describe('revoke', () => {
  it.each([
    ['revoke', RevokePayload, { grantId: 'g-1' }],
    ['renew', RenewPayload, { grantId: 'g-1', ttlSeconds: 3600 }],
  ] as const)(
    'refuses a %s payload without the ledger (grants), naming the field',
    (_op, schema, payload) => {
      // Without it every grant would look unknown: a revoke would answer already_revoked and leave
      // the access in place for good.
      const parsed = schema.safeParse(payload);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues).toMatchObject([
        { path: ['grants'], message: expect.stringMatching(/^is required for this kind/) },
      ]);
    },
  );

  it('removes exactly what the grant added and leaves the roles held before', async () => {
    const h = portalWorld([
      {
        id: bobId,
        email: 'bob@example.com',
        orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'],
        projects: { [payments]: ['GROUP_READ_ONLY', 'GROUP_DATA_ACCESS_READ_WRITE'] },
      },
    ]);
    const result = await revoke(h, [record({ grantId: 'g-1', added: [billing, readWrite] })]);
    expect(h.calls()).toEqual([
      ['orgUsers.list', orgId, { username: 'bob@example.com', orgMembershipStatuses: ['ACTIVE', 'PENDING'] }],
      ['orgUsers.removeRole', orgId, bobId, 'ORG_BILLING_ADMIN'],
      ['projectUsers.removeRole', payments, bobId, 'GROUP_DATA_ACCESS_READ_WRITE'],
    ]);
    expect(result).toMatchObject({ outcome: 'revoked', removed: [billing, readWrite], kept: [] });
    expect(h.world.orgUser(bobId)).toEqual({
      status: 'ACTIVE',
      orgRoles: ['ORG_MEMBER'],
      projectRoles: { [payments]: ['GROUP_READ_ONLY'] },
    });
  });

  it('retries, instead of failing for good, when another removal took the other role of a project between its read and its write', async () => {
    // A sweep (another resource key) removes an expired grant's role in the same project at once:
    // this revoke's read still saw two roles there, and Atlas refuses to remove the last one.
    const clusterManager = { level: 'project', projectId: payments, role: 'GROUP_CLUSTER_MANAGER' } as const;
    const h = portalWorld([
      {
        id: bobId,
        email: 'bob@example.com',
        projects: { [payments]: ['GROUP_CLUSTER_MANAGER', 'GROUP_DATA_ACCESS_READ_WRITE'] },
      },
    ]);
    h.world.beforeNext('projectUsers.removeRole', () =>
      h.world.removeProjectRole(payments, bobId, 'GROUP_CLUSTER_MANAGER'),
    );
    const grants = [
      record({
        grantId: 'g-1',
        added: [readWrite],
        created: { invitation: false, projectMemberships: [payments] },
      }),
      record({ grantId: 'g-0', added: [clusterManager], expiresAt: new Date(nowMs - hourMs).toISOString() }),
    ];
    const error: unknown = await revoke(h, grants).catch((e: unknown) => e);
    expect(isConnectorError(error) && error.toSafeJSON()).toMatchObject({
      code: 'conflict',
      retryable: true,
    });
    // The retry reads again: the grant's role is the membership's last, and the grant created it.
    expect(await revoke(h, grants)).toMatchObject({
      outcome: 'revoked',
      removed: [readWrite],
      projectMembershipsDeleted: [payments],
    });
    expect(h.world.orgUser(bobId)?.projectRoles).toEqual({});
  });

  // The spec declares a 409 on :removeRole without saying what it means; the last-role refusal
  // has been seen as 400 VALIDATION_ERROR. Either way the race is retried, not failed for good.
  it('retries, instead of failing for good, a removal Atlas answers 409', async () => {
    const h = portalWorld([
      {
        id: bobId,
        email: 'bob@example.com',
        projects: { [payments]: ['GROUP_CLUSTER_MANAGER', 'GROUP_DATA_ACCESS_READ_WRITE'] },
      },
    ]);
    h.world.answerNext('projectUsers.removeRole', 409, {
      error: 409,
      errorCode: 'CONFLICT',
      detail: 'Conflict.',
      reason: 'Conflict',
    });
    const grants = [record({ grantId: 'g-1', added: [readWrite] })];
    const error: unknown = await revoke(h, grants).catch((e: unknown) => e);
    expect(isConnectorError(error) && error.toSafeJSON()).toMatchObject({
      code: 'conflict',
      retryable: true,
    });
    expect(await revoke(h, grants)).toMatchObject({ outcome: 'revoked', removed: [readWrite] });
  });

  it.each(['revoke', 'sweep'] as const)(
    '%s removes what a grant added after the allow-list and the policy stopped allowing it',
    async (job) => {
      const bob: PersonSeed = {
        id: bobId,
        email: 'bob@example.com',
        orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'],
        projects: { [payments]: ['GROUP_READ_ONLY', 'GROUP_DATA_ACCESS_READ_WRITE'] },
      };
      // Tightened since the grant: payments is off both project lists, neither role is allowed.
      const h = portalWorld([bob], {
        allowedProjectIds: [analytics],
        allowedOrgRoles: ['ORG_READ_ONLY'],
        allowedProjectRoles: ['GROUP_READ_ONLY'],
      });
      const config = { ...baseConfig, projectIds: [analytics] };
      const expiresAt = new Date(nowMs - (job === 'sweep' ? hourMs : -hourMs)).toISOString();
      const grants = [record({ grantId: 'g-1', expiresAt, added: [billing, readWrite] })];

      const result =
        job === 'revoke'
          ? await revokeAccess(
              { config, payload: RevokePayload.parse({ grantId: 'g-1', grants }) },
              h.deps,
              h.ctx,
            )
          : await sweepAccess({ config, payload: { grants } }, h.deps, h.ctx);

      expect(result).toMatchObject({ removed: expect.arrayContaining([expect.anything()]) });
      expect(h.world.orgUser(bobId)).toEqual({
        status: 'ACTIVE',
        orgRoles: ['ORG_MEMBER'],
        projectRoles: { [payments]: ['GROUP_READ_ONLY'] },
      });
    },
  );

  it('keeps a role another active grant of the same person still needs, and removes it with the last one', async () => {
    const h = portalWorld([
      { id: bobId, email: 'bob@example.com', orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] },
    ]);
    const first = record({ grantId: 'g-1', added: [billing] });
    const second = record({ grantId: 'g-2', added: [billing] });
    expect(await revoke(h, [first, second], 'g-1')).toMatchObject({ removed: [], stillNeeded: [billing] });
    expect(h.writes()).toEqual([]);
    expect(await revoke(h, [second], 'g-2')).toMatchObject({ removed: [billing] });
    expect(h.writes()).toEqual([['orgUsers.removeRole', orgId, bobId, 'ORG_BILLING_ADMIN']]);
  });

  it('does not hold a role for another grant of the same person that has already expired', async () => {
    const h = portalWorld([
      { id: bobId, email: 'bob@example.com', orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] },
    ]);
    const expired = record({
      grantId: 'g-0',
      added: [billing],
      expiresAt: new Date(nowMs - hourMs).toISOString(),
    });
    expect(await revoke(h, [record({ grantId: 'g-1', added: [billing] }), expired])).toMatchObject({
      removed: [billing],
    });
  });

  it.each([
    ['the control plane holds no record of the grant', [], []],
    [
      'the person left the organization',
      [{ id: otherId, email: 'someone-else@example.com' }],
      [record({ grantId: 'g-1', added: [billing] })],
    ],
  ])('answers already_revoked when %s, without writing', async (_name, seeds, grants) => {
    const h = portalWorld(seeds);
    expect(await revoke(h, grants)).toMatchObject({ outcome: 'already_revoked', grantId: 'g-1' });
    expect(h.writes()).toEqual([]);
  });

  it('accepts an empty ledger: the person has no other unrevoked grant', () => {
    expect(RevokePayload.safeParse({ grantId: 'g-1', grants: [] }).success).toBe(true);
    expect(RenewPayload.safeParse({ grantId: 'g-1', ttlSeconds: 3600, grants: [] }).success).toBe(true);
  });

  it('takes a person ledger of more than 10 000 records: a revoke is never refused for its size', async () => {
    // Bounded by MAX_PAYLOAD_BYTES (up to 16 MiB) alone, as a sweep's: refused invalid_job, the
    // revoke could never run and the access would stay until its expiry and the next sweep.
    const billing = { level: 'org', role: 'ORG_BILLING_ADMIN' } as const;
    const grants = Array.from({ length: 10_001 }, (_, i) => record({ grantId: `g-${i}`, added: [billing] }));
    const parsed = RevokePayload.safeParse({ grantId: 'g-0', grants });
    expect(parsed.success, parsed.error?.message).toBe(true);
  });

  it('deletes a still-pending invitation the grant created', async () => {
    const h = portalWorld([
      { id: erinId, email: 'bob@example.com', status: 'PENDING', orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'] },
    ]);
    const grant = record({
      grantId: 'g-1',
      userId: erinId,
      added: [{ level: 'org', role: 'ORG_READ_ONLY' }],
      created: { invitation: true, projectMemberships: [] },
    });
    expect(await revoke(h, [grant])).toMatchObject({ outcome: 'revoked', invitationDeleted: true });
    expect(h.writes()).toEqual([['orgUsers.remove', orgId, erinId]]);
  });

  it('converges when the invitation it deletes is already gone (a retried delete after a lost answer)', async () => {
    const h = portalWorld([
      { id: erinId, email: 'bob@example.com', status: 'PENDING', orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'] },
    ]);
    // The first DELETE landed but its answer was lost; the client's retry meets 404 USER_NOT_IN_ORG.
    h.world.beforeNext('orgUsers.remove', () => h.world.removeOrgUser(erinId));
    const readOnly = { level: 'org', role: 'ORG_READ_ONLY' } as const;
    const grant = record({
      grantId: 'g-1',
      userId: erinId,
      added: [readOnly],
      created: { invitation: true, projectMemberships: [] },
    });
    expect(await revoke(h, [grant])).toMatchObject({
      outcome: 'revoked',
      invitationDeleted: true,
      removed: [readOnly],
    });
    expect(h.world.orgUser(erinId)).toBeUndefined();
  });

  it('says why when a later attempt finds the invitation it sent gone', async () => {
    const grant = record({
      grantId: 'g-1',
      added: [{ level: 'org', role: 'ORG_READ_ONLY' }],
      created: { invitation: true, projectMemberships: [] },
    });
    const h = portalWorld([]);
    const result = await revoke(h, [grant]);
    expect(result).toMatchObject({ outcome: 'already_revoked' });
    expect(result.outcome === 'already_revoked' && result.reason).toMatch(
      /the invitation this grant sent is gone: deleted by an earlier attempt of this revoke/,
    );
    expect(h.writes()).toEqual([]);
  });

  it('removes roles from an accepted invitation but keeps the person a member', async () => {
    const h = portalWorld([
      { id: erinId, email: 'bob@example.com', orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'] },
    ]);
    const grant = record({
      grantId: 'g-1',
      added: [{ level: 'org', role: 'ORG_READ_ONLY' }],
      created: { invitation: true, projectMemberships: [] },
    });
    await revoke(h, [grant]);
    expect(h.writes()).toEqual([['orgUsers.removeRole', orgId, erinId, 'ORG_READ_ONLY']]);
  });

  it('adds ORG_MEMBER before removing what would be the last org role, and never removes ORG_MEMBER as the last one', async () => {
    const h = portalWorld([{ id: bobId, email: 'bob@example.com', orgRoles: ['ORG_BILLING_ADMIN'] }]);
    await revoke(h, [record({ grantId: 'g-1', added: [billing] })]);
    expect(h.writes()).toEqual([
      ['orgUsers.addRole', orgId, bobId, 'ORG_MEMBER'],
      ['orgUsers.removeRole', orgId, bobId, 'ORG_BILLING_ADMIN'],
    ]);
    const member = { level: 'org', role: 'ORG_MEMBER' } as const;
    const last = portalWorld([{ id: bobId, email: 'bob@example.com', orgRoles: ['ORG_MEMBER'] }]);
    expect(await revoke(last, [record({ grantId: 'g-1', added: [member] })])).toMatchObject({
      kept: [{ access: member, reason: 'last_org_role' }],
    });
    expect(last.writes()).toEqual([]);
  });

  it('removes the role when its ORG_MEMBER write answers 409: someone gave the person ORG_MEMBER since the read', async () => {
    const h = portalWorld([{ id: bobId, email: 'bob@example.com', orgRoles: ['ORG_BILLING_ADMIN'] }]);
    const conflict = { error: 409, errorCode: 'CONFLICT', detail: 'conflict', reason: 'Conflict' };
    h.world.beforeNext('orgUsers.addRole', async () => {
      await h.world.client.orgUsers.addRole(orgId, bobId, 'ORG_MEMBER');
      h.world.answerNext('orgUsers.addRole', 409, conflict);
    });
    // ORG_MEMBER is there either way: the role goes, rather than the revoke failing for good.
    expect(await revoke(h, [record({ grantId: 'g-1', added: [billing] })])).toMatchObject({
      outcome: 'revoked',
      removed: [billing],
    });
    expect(h.world.orgUser(bobId)?.orgRoles).toEqual(['ORG_MEMBER']);
  });

  it('reports the last organization owner as kept instead of failing', async () => {
    const owner = { level: 'org', role: 'ORG_OWNER' } as const;
    const h = portalWorld([{ id: aliceId, email: 'bob@example.com', orgRoles: ['ORG_MEMBER', 'ORG_OWNER'] }]);
    // No scripted refusal: the person is the organization's only owner, so Atlas's own rule refuses.
    expect(await revoke(h, [record({ grantId: 'g-1', added: [owner] })])).toMatchObject({
      outcome: 'revoked',
      removed: [],
      kept: [{ access: owner, reason: 'last_org_owner' }],
    });
  });

  it('deletes a project membership the grant created once its roles are all the grant’s', async () => {
    const readOnly = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;
    const h = portalWorld([
      { id: bobId, email: 'bob@example.com', projects: { [analytics]: ['GROUP_READ_ONLY'] } },
    ]);
    const grant = record({
      grantId: 'g-1',
      added: [readOnly],
      created: { invitation: false, projectMemberships: [analytics] },
    });
    expect(await revoke(h, [grant])).toMatchObject({
      removed: [readOnly],
      projectMembershipsDeleted: [analytics],
    });
    expect(h.writes()).toEqual([['projectUsers.remove', analytics, bobId]]);
  });

  it('converges when the membership it deletes is already gone (a retried delete, a sweep first)', async () => {
    const readOnly = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;
    const h = portalWorld([
      { id: bobId, email: 'bob@example.com', projects: { [analytics]: ['GROUP_READ_ONLY'] } },
    ]);
    h.world.failNext('projectUsers.remove', 'USER_NOT_IN_GROUP');
    const grant = record({
      grantId: 'g-1',
      added: [readOnly],
      created: { invitation: false, projectMemberships: [analytics] },
    });
    expect(await revoke(h, [grant])).toMatchObject({ outcome: 'revoked', removed: [readOnly] });
  });

  it('keeps the only project role of a membership the grant did not create', async () => {
    const h = portalWorld([
      { id: bobId, email: 'bob@example.com', projects: { [payments]: ['GROUP_DATA_ACCESS_READ_WRITE'] } },
    ]);
    expect(await revoke(h, [record({ grantId: 'g-1', added: [readWrite] })])).toMatchObject({
      kept: [{ access: readWrite, reason: 'last_project_role' }],
    });
    expect(h.writes()).toEqual([]);
  });

  it('stops without failing when the person leaves the organization mid-revoke', async () => {
    const h = portalWorld([
      { id: bobId, email: 'bob@example.com', orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] },
    ]);
    h.world.failNext('orgUsers.removeRole', 'USER_NOT_IN_ORG');
    expect(await revoke(h, [record({ grantId: 'g-1', added: [billing] })])).toMatchObject({
      outcome: 'already_revoked',
    });
  });
});

describe('revoke, a project deleted between its read and its write', () => {
  const analyticsReadOnly = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;

  it.each([
    [
      'a role among others there',
      ['GROUP_READ_ONLY', 'GROUP_CLUSTER_MANAGER'],
      [],
      'projectUsers.removeRole',
    ],
    ['a membership the grant created', ['GROUP_READ_ONLY'], [analytics], 'projectUsers.remove'],
  ] as const)(
    'has converged, not failed for good, when removing %s meets 404 GROUP_NOT_FOUND',
    async (_name, roles, createdHere, method) => {
      // Failed for good, the revoke would leave g-1 open and unexpired: it would keep the billing
      // role g-2 shares alive through g-2's revoke, until g-1's end.
      const h = portalWorld([
        {
          id: bobId,
          email: 'bob@example.com',
          orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'],
          projects: { [analytics]: [...roles] },
        },
      ]);
      h.world.failNext(method, 'GROUP_NOT_FOUND');
      const grants = [
        record({
          grantId: 'g-1',
          added: [billing, analyticsReadOnly],
          created: { invitation: false, projectMemberships: [...createdHere] },
        }),
        record({ grantId: 'g-2', added: [billing] }),
      ];
      expect(await revoke(h, grants, 'g-1')).toMatchObject({ outcome: 'revoked', stillNeeded: [billing] });
    },
  );
});

describe('revoke, several removals failing', () => {
  it('is retried when one removal failed for a while (503), though another was refused for good first', async () => {
    // Failed for good, the revoke would leave the project role the 503 kept until the grant's expiry.
    const h = portalWorld([
      {
        id: bobId,
        email: 'bob@example.com',
        orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'],
        projects: { [payments]: ['GROUP_READ_ONLY', 'GROUP_DATA_ACCESS_READ_WRITE'] },
      },
    ]);
    h.world.failNext('orgUsers.removeRole', 'USER_CANNOT_ACCESS_ORG');
    h.world.failNext('projectUsers.removeRole', 'SERVICE_UNAVAILABLE');
    const grants = [record({ grantId: 'g-1', added: [billing, readWrite] })];
    const error: unknown = await revoke(h, grants).catch((e: unknown) => e);
    expect(isConnectorError(error) && error.toSafeJSON()).toMatchObject({
      code: 'upstream_unavailable',
      retryable: true,
    });
    // The retry removes the project role, and fails for good with the refusal that is left.
    h.world.failNext('orgUsers.removeRole', 'USER_CANNOT_ACCESS_ORG');
    const again: unknown = await revoke(h, grants).catch((e: unknown) => e);
    expect(isConnectorError(again) && again.toSafeJSON()).toMatchObject({
      code: 'forbidden',
      retryable: false,
    });
    expect(h.world.orgUser(bobId)?.projectRoles).toEqual({ [payments]: ['GROUP_READ_ONLY'] });
  });
});
