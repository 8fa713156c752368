import { describe, expect, it } from 'vitest';
import { maxJsonBodyBytes } from '../../control-plane/protocol.js';
import { SweepPayload } from './payloads.js';
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
  portalWorld,
  record,
  type PortalWorld,
} from '../../../test/kits/portal-test-kit.js';
import { sweepAccess } from './sweep.js';

const billing = { level: 'org', role: 'ORG_BILLING_ADMIN' } as const;
const readOnly = { level: 'org', role: 'ORG_READ_ONLY' } as const;
const readWrite = { level: 'project', projectId: payments, role: 'GROUP_DATA_ACCESS_READ_WRITE' } as const;
const past = new Date(nowMs - 2 * hourMs).toISOString();

describe('sweep', () => {
  it('removes what an expired grant added, reports it overdue, and leaves active grants untouched', async () => {
    const h = portalWorld([
      {
        id: bobId,
        email: 'bob@example.com',
        orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN', 'ORG_READ_ONLY'],
      },
      {
        id: aliceId,
        email: 'alice@example.com',
        projects: { [payments]: ['GROUP_READ_ONLY', 'GROUP_DATA_ACCESS_READ_WRITE'] },
      },
    ]);
    const grants = [
      record({ grantId: 'g-old', added: [billing], expiresAt: past }),
      record({ grantId: 'g-live', added: [readOnly] }),
      record({ grantId: 'g-alice', email: 'alice@example.com', added: [readWrite] }),
    ];
    const result = await sweepAccess(
      { config: baseConfig, payload: SweepPayload.parse({ grants }) },
      h.deps,
      h.ctx,
    );
    expect(h.writes()).toEqual([['orgUsers.removeRole', orgId, bobId, 'ORG_BILLING_ADMIN']]);
    expect(result).toMatchObject({
      people: 2,
      clearedGrants: ['g-old'],
      overdue: [{ grantId: 'g-old', email: 'bob@example.com', overdueSeconds: 7200 }],
      removed: [{ email: 'bob@example.com', access: billing }],
      drift: [],
      failures: [],
    });
    expect(h.sweepFailures).toEqual([0]);
  });

  it('judges expiry when it starts: a grant that expires while it runs is the next sweep’s', async () => {
    const h = portalWorld([
      { id: aliceId, email: 'alice@example.com', orgRoles: ['ORG_MEMBER', 'ORG_READ_ONLY'] },
      { id: bobId, email: 'bob@example.com', orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] },
    ]);
    const soon = new Date(nowMs + hourMs).toISOString();
    const grants = [
      record({ grantId: 'g-alice', email: 'alice@example.com', added: [readOnly], expiresAt: soon }),
      // Renewed after this sweep was leased, bob's grant would still show this expiry here.
      record({ grantId: 'g-bob', added: [billing], expiresAt: soon }),
    ];
    // The sweep is slow: by the time it reaches bob, his grant's old expiry has passed.
    h.world.beforeNext('orgUsers.list', () => h.world.clock.advance(2 * hourMs));
    const result = await sweepAccess(
      { config: baseConfig, payload: SweepPayload.parse({ grants }) },
      h.deps,
      h.ctx,
    );
    expect(h.writes()).toEqual([]);
    expect(result).toMatchObject({ clearedGrants: [], overdue: [], removed: [] });
  });

  it('keeps a role an expired grant shares with an active one', async () => {
    const h = portalWorld([
      { id: bobId, email: 'bob@example.com', orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] },
    ]);
    const grants = [
      record({ grantId: 'g-old', added: [billing], expiresAt: past }),
      record({ grantId: 'g-new', added: [billing] }),
    ];
    const result = await sweepAccess({ config: baseConfig, payload: { grants } }, h.deps, h.ctx);
    expect(h.writes()).toEqual([]);
    expect(result.clearedGrants).toEqual(['g-old']);
  });

  it('reports drift when a role an active grant added was removed by someone in Atlas', async () => {
    const h = portalWorld([{ id: bobId, email: 'bob@example.com' }]);
    const result = await sweepAccess(
      { config: baseConfig, payload: { grants: [record({ grantId: 'g-1', added: [billing] })] } },
      h.deps,
      h.ctx,
    );
    expect(result.drift).toEqual([
      { grantId: 'g-1', email: 'bob@example.com', access: billing, change: 'removed' },
    ]);
    expect(h.writes()).toEqual([]);
  });

  it('reports no drift on a new invitation for a grant made on the person’s earlier, gone one', async () => {
    // g-1 was granted on bob's invitation bobId; it was withdrawn and someone invited bob again
    // (erinId) with ORG_MEMBER only. g-1's role is not missing from the new invitation: it was
    // never on it.
    const h = portalWorld([{ id: erinId, email: 'bob@example.com', status: 'PENDING' }]);
    const grants = [
      record({ grantId: 'g-1', userId: bobId, added: [billing] }),
      record({ grantId: 'g-2', userId: erinId, added: [readOnly] }),
    ];
    const result = await sweepAccess(
      { config: baseConfig, payload: SweepPayload.parse({ grants }) },
      h.deps,
      h.ctx,
    );
    // g-2 was granted on the current invitation: its missing role is drift.
    expect(result.drift).toEqual([
      { grantId: 'g-2', email: 'bob@example.com', access: readOnly, change: 'removed' },
    ]);
    expect(h.writes()).toEqual([]);
  });

  it('goes on with the next person when one fails, and reports the failure', async () => {
    const h = portalWorld([
      { id: bobId, email: 'bob@example.com', orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] },
      { id: aliceId, email: 'alice@example.com', orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] },
    ]);
    h.world.failNext('orgUsers.removeRole', 'UNEXPECTED_ERROR');
    const grants = [
      record({ grantId: 'g-b', added: [billing], expiresAt: past }),
      record({ grantId: 'g-a', email: 'alice@example.com', added: [billing], expiresAt: past }),
    ];
    const result = await sweepAccess({ config: baseConfig, payload: { grants } }, h.deps, h.ctx);
    expect(result.failures).toMatchObject([{ email: 'bob@example.com', code: 'upstream_unavailable' }]);
    expect(result.clearedGrants).toEqual(['g-a']);
    // Counted for atlas_connector_sweep_failures_total: bob's access may outlive its end.
    expect(h.sweepFailures).toEqual([1]);
  });

  describe('a person’s failure whose error echoes a secret', () => {
    // Test-only stand-ins: a value registered with the daemon's scrubber and a URI's password.
    const registered = 'Qz9-registered-test-value';
    const uriPassword = 'uri-test-password';
    const echo = `cannot reach mongodb+srv://jit-user:${uriPassword}@cluster0.example.net with ${registered}`;

    it.each([
      [
        'Atlas’s answer',
        (h: PortalWorld) =>
          h.world.answerNext('orgUsers.removeRole', 500, {
            error: 500,
            errorCode: 'UNEXPECTED_ERROR',
            detail: echo,
            reason: 'Internal Server Error',
          }),
      ],
      [
        'an unexpected error',
        (h: PortalWorld) =>
          h.world.beforeNext('orgUsers.removeRole', () => {
            throw new Error(echo);
          }),
      ],
    ])('is reported without either when it comes from %s', async (_name, fail) => {
      const h = portalWorld([
        { id: bobId, email: 'bob@example.com', orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] },
      ]);
      h.scrubber.add(registered);
      fail(h);
      const grants = [record({ grantId: 'g-b', added: [billing], expiresAt: past })];
      const result = await sweepAccess({ config: baseConfig, payload: { grants } }, h.deps, h.ctx);
      expect(result.failures).toHaveLength(1);
      expect(result.failures[0]?.message).toContain('mongodb+srv://[REDACTED]@cluster0.example.net');
      expect(JSON.stringify(result)).not.toContain(registered);
      expect(JSON.stringify(result)).not.toContain(uriPassword);
    });
  });

  it('reports the roles it removed before a later write for the same person failed', async () => {
    const h = portalWorld([
      { id: bobId, email: 'bob@example.com', orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN', 'ORG_READ_ONLY'] },
    ]);
    // The first removal lands; the second fails.
    h.world.beforeNext('orgUsers.removeRole', () => undefined);
    h.world.beforeNext('orgUsers.removeRole', () =>
      h.world.failNext('orgUsers.removeRole', 'UNEXPECTED_ERROR'),
    );
    const grants = [record({ grantId: 'g-b', added: [billing, readOnly], expiresAt: past })];
    const result = await sweepAccess({ config: baseConfig, payload: { grants } }, h.deps, h.ctx);
    expect(h.world.orgUser(bobId)?.orgRoles.slice().sort()).toEqual(['ORG_MEMBER', 'ORG_READ_ONLY']);
    expect(result.removed).toEqual([{ email: 'bob@example.com', access: billing }]);
    expect(result.failures).toMatchObject([{ email: 'bob@example.com', code: 'upstream_unavailable' }]);
    // Not cleared: the next sweep retries what is left.
    expect(result.clearedGrants).toEqual([]);
  });

  it('keeps a project role Atlas refuses as the last owner (CANNOT_DELETE_LAST_ADMIN) and clears the grant', async () => {
    const owner = { level: 'project', projectId: payments, role: 'GROUP_OWNER' } as const;
    const analyticsRole = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;
    const h = portalWorld([
      {
        id: bobId,
        email: 'bob@example.com',
        projects: { [payments]: ['GROUP_OWNER', 'GROUP_READ_ONLY'], [analytics]: ['GROUP_READ_ONLY'] },
      },
    ]);
    h.world.failNext('projectUsers.removeRole', 'CANNOT_DELETE_LAST_ADMIN');
    const grants = [
      record({
        grantId: 'g-b',
        added: [owner, analyticsRole],
        created: { invitation: false, projectMemberships: [analytics] },
        expiresAt: past,
      }),
    ];
    const result = await sweepAccess({ config: baseConfig, payload: { grants } }, h.deps, h.ctx);
    expect(result).toMatchObject({
      removed: [{ email: 'bob@example.com', access: analyticsRole }],
      kept: [{ email: 'bob@example.com', access: owner, reason: 'last_project_owner' }],
      failures: [],
      clearedGrants: ['g-b'],
    });
  });

  it('still removes the person’s other roles when Atlas refuses one of them unexpectedly', async () => {
    const analyticsRole = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' } as const;
    const h = portalWorld([
      {
        id: bobId,
        email: 'bob@example.com',
        orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN', 'ORG_READ_ONLY'],
        projects: {
          [payments]: ['GROUP_READ_ONLY', 'GROUP_DATA_ACCESS_READ_WRITE'],
          [analytics]: ['GROUP_READ_ONLY'],
        },
      },
    ]);
    // The first removal (billing) is refused with a code nothing maps; the others must still go.
    h.world.failNext('orgUsers.removeRole', 'USER_CANNOT_ACCESS_ORG');
    const grants = [
      record({
        grantId: 'g-b',
        added: [billing, readOnly, readWrite, analyticsRole],
        created: { invitation: false, projectMemberships: [analytics] },
        expiresAt: past,
      }),
    ];
    const sweep = () => sweepAccess({ config: baseConfig, payload: { grants } }, h.deps, h.ctx);
    const first = await sweep();
    expect(first.removed.map((r) => r.access)).toEqual([readOnly, readWrite, analyticsRole]);
    expect(first.failures).toMatchObject([{ email: 'bob@example.com', code: 'forbidden' }]);
    // Not cleared: the next sweep retries what is left.
    expect(first.clearedGrants).toEqual([]);
    expect(h.world.orgUser(bobId)).toMatchObject({
      orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'],
      projectRoles: { [payments]: ['GROUP_READ_ONLY'] },
    });
    expect(await sweep()).toMatchObject({
      removed: [{ access: billing }],
      failures: [],
      clearedGrants: ['g-b'],
    });
  });

  it('stops taking people before its result outgrows the protocol body limit; the next sweep takes the rest', async () => {
    // 3 200 people whose grants expired (a large MAX_PAYLOAD_BYTES after sweeps were down), with
    // grant ids of 150 characters (the protocol allows 200): reporting all of them at once is over
    // 1 MiB, a result the control plane refuses. Such a sweep would fail every time, and its grants
    // would never close. (Long ids rather than more people: each person is one Atlas lookup.)
    const h = portalWorld();
    const grantIdOf = (i: number) => `grant-${String(i).padStart(6, '0')}-${'4f7e9b1a2c3d'.repeat(12)}`;
    let grants = Array.from({ length: 3_200 }, (_, i) =>
      record({
        grantId: grantIdOf(i),
        email: `firstname.lastname.${i}@example.com`,
        expiresAt: past,
        added: [billing],
      }),
    );
    const deferred: number[] = [];
    let reportedBytes = 0;
    // As the control plane does: each sweep carries the grants the earlier ones did not clear.
    for (let sweeps = 0; grants.length > 0 && sweeps < 6; sweeps += 1) {
      const result = await sweepAccess({ config: baseConfig, payload: { grants } }, h.deps, h.ctx);
      const bytes = Buffer.byteLength(JSON.stringify(result));
      reportedBytes += bytes;
      expect(bytes).toBeLessThan(maxJsonBodyBytes);
      expect(result.failures).toEqual([]);
      expect(result.clearedGrants.length + result.deferred).toBe(grants.length);
      deferred.push(result.deferred);
      const cleared = new Set(result.clearedGrants);
      grants = grants.filter((g) => !cleared.has(g.grantId));
    }
    expect(grants).toEqual([]);
    // The premise: what the sweeps reported, in one result, would be over the limit.
    expect(reportedBytes).toBeGreaterThan(maxJsonBodyBytes);
    expect(deferred[0]).toBeGreaterThan(0);
    expect(deferred.at(-1)).toBe(0);
  }, 90_000); // 3 200 lookups through the real client and simulator: seconds, more on a loaded CI host

  it('bounds one person’s share of the result: thousands of expired grants close over a few sweeps, none forgotten', async () => {
    // One person's 8 000 expired records (sweeps were down, MAX_PAYLOAD_BYTES is large): their ids
    // and overdue entries alone are over 1 MiB. The budget is checked between people, so such a
    // result used to go out whole, be refused, and the next sweep carried the same person again.
    const h = portalWorld([
      { id: bobId, email: 'bob@example.com', orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN', 'ORG_READ_ONLY'] },
      { id: aliceId, email: 'alice@example.com', orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] },
    ]);
    const all = Array.from({ length: 8_000 }, (_, i) =>
      record({
        grantId: `grant-${String(i).padStart(6, '0')}-4f7e-9b1a-2c3d4e5f6a7b`,
        expiresAt: new Date(nowMs - (9_000 - i) * 1000).toISOString(),
        added: [i % 2 === 0 ? billing : readOnly],
      }),
    );
    let grants = [
      ...all,
      record({ grantId: 'g-alice', email: 'alice@example.com', added: [billing], expiresAt: past }),
    ];
    const results = [];
    // As the control plane does: each sweep carries the grants the earlier ones did not clear.
    for (let sweeps = 0; grants.length > 0 && sweeps < 30; sweeps += 1) {
      const result = await sweepAccess({ config: baseConfig, payload: { grants } }, h.deps, h.ctx);
      expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(maxJsonBodyBytes);
      expect(result.clearedGrants.length + result.truncated.clearedGrants).toBe(
        grants.filter((g) => g.email === 'bob@example.com').length + (sweeps === 0 ? 1 : 0),
      );
      expect(result.overdue.map((o) => o.grantId)).toEqual(result.clearedGrants);
      results.push(result);
      const cleared = new Set(result.clearedGrants);
      grants = grants.filter((g) => !cleared.has(g.grantId));
    }
    expect(grants).toEqual([]);
    const [first] = results;
    // The first sweep removed both roles and closed alice's grant and bob's most overdue ones.
    expect(first?.removed).toEqual([
      { email: 'bob@example.com', access: billing },
      { email: 'bob@example.com', access: readOnly },
      { email: 'alice@example.com', access: billing },
    ]);
    expect(first?.clearedGrants.slice(0, 2)).toEqual([all[0]?.grantId, all[1]?.grantId]);
    expect(first?.clearedGrants).toContain('g-alice');
    expect(first?.truncated.clearedGrants).toBeGreaterThan(0);
    expect(h.world.orgUser(bobId)?.orgRoles).toEqual(['ORG_MEMBER']);
    // The later sweeps only close what is left: nothing more to remove.
    expect(results.slice(1).flatMap((r) => r.removed)).toEqual([]);
    expect(results.flatMap((r) => r.failures)).toEqual([]);
  });

  it('bounds one person’s drift: what is left out is counted, and reported again while it lasts', async () => {
    const h = portalWorld([{ id: bobId, email: 'bob@example.com' }]);
    const grants = Array.from({ length: 8_000 }, (_, i) =>
      record({ grantId: `grant-${String(i).padStart(6, '0')}-4f7e-9b1a-2c3d4e5f6a7b`, added: [billing] }),
    );
    const result = await sweepAccess({ config: baseConfig, payload: { grants } }, h.deps, h.ctx);
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(maxJsonBodyBytes);
    expect(result.drift.length).toBeGreaterThan(0);
    expect(result.drift.length + result.truncated.drift).toBe(8_000);
    expect(h.writes()).toEqual([]);
  });

  it('requires the ledger in the payload', () => {
    expect(SweepPayload.safeParse({}).success).toBe(false);
  });

  it('takes a ledger of more than 10 000 records that fits the payload limit (MAX_PAYLOAD_BYTES up to 16 MiB)', () => {
    // The control plane fills a sweep up to the payload limit (protocol §4.10): 4 MiB holds about
    // 20 000 of these records. A count cap would fail every sweep invalid_job, and no expired role
    // would ever be removed again.
    const grants = Array.from({ length: 12_000 }, (_, i) =>
      record({ grantId: `g-${i}`, email: `p${i}@example.com`, expiresAt: past, added: [billing] }),
    );
    const payload = JSON.stringify({ grants });
    expect(Buffer.byteLength(payload)).toBeLessThan(4 * 1024 * 1024);
    const parsed = SweepPayload.safeParse(JSON.parse(payload));
    expect(parsed.success, parsed.error?.message).toBe(true);
  });
});
