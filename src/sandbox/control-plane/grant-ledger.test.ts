import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../../test/fakes/fake-random.js';
import { GrantLedger } from './grant-ledger.js';
import type { JobEnvelope } from '../../control-plane/protocol.js';
import { acceptResult } from './job-results.js';
import { JobStore } from './job-store.js';

const portal = { id: 'portal', kind: 'atlas-org-portal', config: {}, secretRef: 'env://X' };
const billing = { level: 'org', role: 'ORG_BILLING_ADMIN' };

type Outcome =
  | { readonly outcome: 'succeeded'; readonly result: unknown }
  | {
      readonly outcome: 'failed';
      readonly error: { code: 'policy_denied'; message: string; retryable: false };
    };

function setup(maxPayloadBytes = 262_144) {
  const clock = new FakeClock();
  const ledger = new GrantLedger({ clock, maxPayloadBytes });
  const settings = {
    intervals: { heartbeatMs: 15_000, pollWaitMs: 25_000, leaseTtlMs: 60_000 },
    maxAttempts: 5,
    maxPayloadBytes,
    accessTokenTtlMs: 1_800_000,
  };
  const jobs = new JobStore({ clock, random: new FakeRandom(), settings, ledger });
  jobs.putIntegration(portal);
  jobs.putIntegration({ ...portal, id: 'db', kind: 'atlas-project' });
  /** Reports the outcome of a leased attempt, as the connector's result would. */
  const report = (lease: JobEnvelope, outcome: Outcome): void => {
    acceptResult(jobs, clock, {
      jobId: lease.jobId,
      attempt: lease.attempt,
      idempotencyKey: `${lease.jobId}:${lease.attempt}`,
      body: { ...lease, ...outcome, startedAt: 'a', finishedAt: 'b' },
      canonical: lease.leaseId,
    });
  };
  /** Enqueues, leases and (with a result) completes one job; returns the payload it was leased with. */
  const run = (type: string, payload: object, result?: unknown, integrationId = 'portal'): unknown => {
    const { jobId } = jobs.enqueue({ type, payload: JSON.stringify(payload), integrationId });
    const [envelope] = jobs.claim('s1', { maxJobs: 1 });
    if (!envelope || envelope.jobId !== jobId) throw new Error('job was not leased');
    if (result !== undefined) report(envelope, { outcome: 'succeeded', result });
    return JSON.parse(envelope.payload) as unknown;
  };
  return { ledger, run, report, jobs, clock };
}

const grantResult = (expiresAt: string) => ({
  userId: 'u1',
  expiresAt,
  added: [billing],
  created: { invitation: false },
});

describe('grant ledger', () => {
  it('hands a revoke the person’s unrevoked grants, then forgets the revoked one', () => {
    const { ledger, run } = setup();
    run(
      'grant',
      { grantId: 'g-1', requester: { email: 'Bob@example.com' } },
      grantResult('2026-11-24T14:00:00.000Z'),
    );
    run(
      'grant',
      { grantId: 'g-x', requester: { email: 'eve@example.com' } },
      grantResult('2026-11-24T14:00:00.000Z'),
    );
    const revoke = run('revoke', { grantId: 'g-1' }, { outcome: 'revoked' });
    expect(revoke).toEqual({
      grantId: 'g-1',
      grants: [
        {
          grantId: 'g-1',
          email: 'bob@example.com',
          userId: 'u1',
          expiresAt: '2026-11-24T14:00:00.000Z',
          added: [billing],
          created: { invitation: false },
        },
      ],
    });
    expect(ledger.grants('portal').map((g) => g.grantId)).toEqual(['g-x']);
    expect(run('revoke', { grantId: 'g-1' })).toEqual({ grantId: 'g-1', grants: [] });
  });

  it('gives a sweep every unrevoked grant, applies renewals, and closes the grants a sweep cleared', () => {
    const { ledger, run } = setup();
    run(
      'grant',
      { grantId: 'g-1', requester: { email: 'bob@example.com' } },
      grantResult('2026-11-24T14:00:00.000Z'),
    );
    run(
      'grant',
      { grantId: 'g-2', requester: { email: 'eve@example.com' } },
      grantResult('2026-11-24T14:00:00.000Z'),
    );
    run(
      'renew',
      { grantId: 'g-2', ttlSeconds: 60 },
      { grantId: 'g-2', expiresAt: '2026-11-24T18:00:00.000Z' },
    );
    const sweep = run('sweep', {}, { clearedGrants: ['g-1'] }) as {
      grants: { grantId: string; expiresAt: string }[];
    };
    expect(sweep.grants.map((g) => [g.grantId, g.expiresAt])).toEqual([
      ['g-1', '2026-11-24T14:00:00.000Z'],
      ['g-2', '2026-11-24T18:00:00.000Z'],
    ]);
    expect(ledger.grants('portal').map((g) => g.grantId)).toEqual(['g-2']);
  });

  it('hands a sweep what fits the payload limit: everyone with an expired grant first, then the rest in turn', () => {
    const limit = 8_192;
    const { run, clock } = setup(limit);
    const expired = new Date(clock.now() - 60_000).toISOString();
    const active = new Date(clock.now() + 3_600_000).toISOString();
    // 60 people with an active grant (about 9 KB of records), then 3 with an expired one too.
    for (let i = 0; i < 60; i += 1) {
      const email = `p${String(i).padStart(2, '0')}@example.com`;
      run('grant', { grantId: `a-${i}`, requester: { email } }, grantResult(active));
    }
    for (const i of [7, 30, 51]) {
      const email = `p${String(i).padStart(2, '0')}@example.com`;
      run('grant', { grantId: `x-${i}`, requester: { email } }, grantResult(expired));
    }
    const swept = new Set<string>();
    // Each sweep: within the limit, every expired grant with its person's other grants, then others.
    const sweeps = [0, 1, 2, 3].map(
      () => run('sweep', {}, { clearedGrants: [] }) as { grants: { grantId: string; email: string }[] },
    );
    for (const sweep of sweeps) {
      expect(Buffer.byteLength(JSON.stringify(sweep))).toBeLessThanOrEqual(limit);
      const ids = sweep.grants.map((g) => g.grantId);
      expect(ids.slice(0, 6).sort()).toEqual(['a-30', 'a-51', 'a-7', 'x-30', 'x-51', 'x-7']);
      expect(ids.length).toBeGreaterThan(6);
      expect(ids.length).toBeLessThan(63);
      for (const id of ids) swept.add(id);
    }
    // Successive sweeps reach every person for drift.
    expect(swept.size).toBe(63);
  });

  it('hands a sweep leased again (a retried claim, a redelivery after a lost lease) the same people, and moves on once it succeeds', async () => {
    const sample = { grantId: 'g-p0', email: 'p0@example.com', ...grantResult('2026-11-24T14:00:00.000Z') };
    // Room for two people's records (each alike in size), no more; nothing has expired.
    const person = Buffer.byteLength(JSON.stringify([sample]));
    const { run, report, jobs, clock } = setup(1_024 + 2 + 2 * person + 10);
    for (let i = 0; i < 6; i += 1)
      run('grant', { grantId: `g-p${i}`, requester: { email: `p${i}@example.com` } }, sample);
    const people = (lease: JobEnvelope | undefined): string[] =>
      (JSON.parse(lease?.payload ?? '{}') as { grants: { email: string }[] }).grants.map((g) =>
        g.email.slice(0, 2),
      );
    const { jobId } = jobs.enqueue({ type: 'sweep', payload: '{}', integrationId: 'portal' });
    const [first] = jobs.claim('s1', { maxJobs: 1 });
    if (first?.jobId !== jobId) throw new Error('the sweep was not leased');
    expect(people(first)).toEqual(['p0', 'p1']);
    // The claim's answer was lost and the connector retries it: the same lease, the same people.
    expect(people(jobs.reclaim('s1', jobId, first.leaseId))).toEqual(['p0', 'p1']);
    // The lease is lost (the connector stalled) and the sweep is redelivered: still the same
    // people, who were never reported on; moving on would skip them until the turn comes round.
    await clock.advance(61_000);
    const [again] = jobs.claim('s1', { maxJobs: 1 });
    expect(again?.jobId).toBe(jobId);
    expect(people(again)).toEqual(['p0', 'p1']);
    if (again) report(again, { outcome: 'succeeded', result: { clearedGrants: [] } });
    // It succeeded: the next sweep goes on from where it stopped.
    const next = run('sweep', {}, { clearedGrants: [] }) as { grants: { email: string }[] };
    expect(next.grants.map((g) => g.email.slice(0, 2))).toEqual(['p2', 'p3']);
  });

  it('starts the next sweep with the people a successful one deferred (its result was full), not past them', () => {
    const sample = { grantId: 'g-p0', email: 'p0@example.com', ...grantResult('2026-11-24T14:00:00.000Z') };
    // Room for three people's records (each alike in size), no more; nothing has expired.
    const person = Buffer.byteLength(JSON.stringify([sample]));
    const { run } = setup(1_024 + 2 + 3 * person + 10);
    for (let i = 0; i < 6; i += 1)
      run('grant', { grantId: `g-p${i}`, requester: { email: `p${i}@example.com` } }, sample);
    const people = (payload: unknown): string[] =>
      (payload as { grants: { email: string }[] }).grants.map((g) => g.email.slice(0, 2));
    // The sweep's result reached its size budget after p0: p1 and p2 were not read (no drift report).
    const first = run('sweep', {}, { clearedGrants: [], deferred: 2 });
    expect(people(first)).toEqual(['p0', 'p1', 'p2']);
    // The next sweep takes them first, as docs/org-portal.md says, not p3 to p5.
    expect(people(run('sweep', {}, { clearedGrants: [] }))).toEqual(['p1', 'p2', 'p3']);
    expect(people(run('sweep', {}, { clearedGrants: [] }))).toEqual(['p4', 'p5', 'p0']);
  });

  it('puts a person the last sweep failed after the others due, so failing removals cannot take the room every time', () => {
    const expiresAt = '2026-11-24T12:00:00.000Z';
    const sample = { grantId: 'g-f0', email: 'f0@example.com', ...grantResult(expiresAt) };
    // Room for four people's records (each alike in size), no more.
    const person = Buffer.byteLength(JSON.stringify([sample]));
    const { run, report, jobs, clock } = setup(1_024 + 2 + 4 * person + 10);
    const at = (minutesAgo: number) => new Date(clock.now() - minutesAgo * 60_000).toISOString();
    // Five people whose removal Atlas refuses every time, the most overdue, then three others.
    const names = ['f0', 'f1', 'f2', 'f3', 'f4', 'o0', 'o1', 'o2'];
    for (const [i, name] of names.entries())
      run(
        'grant',
        { grantId: `g-${name}`, requester: { email: `${name}@example.com` } },
        grantResult(at(90 - i)),
      );
    /** One sweep as the connector runs it: the `f` people fail, the others' grants are cleared. */
    const sweep = (): string[] => {
      const { jobId } = jobs.enqueue({ type: 'sweep', payload: '{}', integrationId: 'portal' });
      const [lease] = jobs.claim('s1', { maxJobs: 1 });
      if (lease?.jobId !== jobId) throw new Error('the sweep was not leased');
      const { grants } = JSON.parse(lease.payload) as { grants: { grantId: string; email: string }[] };
      report(lease, {
        outcome: 'succeeded',
        result: {
          clearedGrants: grants.filter((g) => g.email.startsWith('o')).map((g) => g.grantId),
          failures: grants
            .filter((g) => g.email.startsWith('f'))
            .map((g) => ({ email: g.email, code: 'forbidden', message: 'refused' })),
        },
      });
      return grants.map((g) => g.email.slice(0, 2));
    };
    expect(sweep()).toEqual(['f0', 'f1', 'f2', 'f3']);
    // f0–f3 failed: those not tried yet go first, so the others are no longer starved.
    expect(sweep()).toEqual(['f4', 'o0', 'o1', 'o2']);
    // Then the failing ones in turn, the longest failed first.
    expect(sweep()).toEqual(['f0', 'f1', 'f2', 'f3']);
    expect(sweep()).toEqual(['f4', 'f0', 'f1', 'f2']);
  });

  it('keeps a grant renewed after the sweep was leased, though the sweep cleared it', () => {
    const { ledger, run, report, jobs } = setup();
    const before = '2026-11-24T14:00:00.000Z';
    run('grant', { grantId: 'g-1', requester: { email: 'bob@example.com' } }, grantResult(before));
    run('grant', { grantId: 'g-2', requester: { email: 'eve@example.com' } }, grantResult(before));
    const { jobId } = jobs.enqueue({ type: 'sweep', payload: '{}', integrationId: 'portal' });
    const [sweep] = jobs.claim('s1', { maxJobs: 1 });
    if (sweep?.jobId !== jobId) throw new Error('the sweep was not leased');
    // g-1 is renewed while the sweep runs on the ledger as it was leased.
    run(
      'renew',
      { grantId: 'g-1', ttlSeconds: 60 },
      { grantId: 'g-1', expiresAt: '2026-11-24T18:00:00.000Z' },
    );
    const overdue = (grantId: string, email: string) => ({
      grantId,
      email,
      expiresAt: before,
      overdueSeconds: 1,
    });
    report(sweep, {
      outcome: 'succeeded',
      result: {
        clearedGrants: ['g-1', 'g-2'],
        overdue: [overdue('g-1', 'bob@example.com'), overdue('g-2', 'eve@example.com')],
      },
    });
    expect(ledger.grants('portal').map((g) => [g.grantId, g.expiresAt])).toEqual([
      ['g-1', '2026-11-24T18:00:00.000Z'],
    ]);
  });

  it('leaves the payloads of other kinds, and payloads that already carry grants, as they are', () => {
    const { run } = setup();
    expect(run('sweep', {}, undefined, 'db')).toEqual({});
    expect(run('sweep', { grants: [] })).toEqual({ grants: [] });
  });

  describe('job intents (feature job-intent)', () => {
    const grantPayload = { grantId: 'g-1', requester: { email: 'bob@example.com' } };
    const intent = {
      userId: 'u1',
      expiresAt: '2026-11-24T14:00:00.000Z',
      added: [billing],
      created: { invitation: false, projectMemberships: [] },
    };

    function leasedGrant(h: ReturnType<typeof setup>, maxAttempts = 5) {
      const { jobId } = h.jobs.enqueue({
        type: 'grant',
        payload: JSON.stringify(grantPayload),
        integrationId: 'portal',
        maxAttempts,
      });
      const [first] = h.jobs.claim('s1', { maxJobs: 1 });
      if (!first) throw new Error('not leased');
      return { jobId, first };
    }

    /** A one-attempt grant that recorded its intent, then let its lease expire: dead. */
    async function deadAfterIntent(h: ReturnType<typeof setup>) {
      const { jobId, first } = leasedGrant(h, 1);
      h.jobs.recordIntent(jobId, 1, first, intent);
      await h.clock.advance(60_000);
      h.jobs.tick();
      expect(h.jobs.record(jobId)?.state).toBe('dead');
      return { jobId, first };
    }

    it('hands the next attempt the intent of the earlier one, never an attempt its own', async () => {
      const h = setup();
      const { jobId, first } = leasedGrant(h);
      expect(first.intent).toBeNull();
      h.jobs.recordIntent(jobId, 1, first, intent);
      await h.clock.advance(60_000);
      const [second] = h.jobs.claim('s2', { maxJobs: 1 });
      expect(second).toMatchObject({ attempt: 2, intent });
      h.jobs.recordIntent(jobId, 2, second!, { ...intent, added: [] });
      expect(h.jobs.reclaim('s2', jobId, second!.leaseId)?.intent).toEqual(intent);
    });

    it('refuses an intent from a stale lease or under another attempt number, keeping the newer one', async () => {
      const h = setup();
      const { jobId, first } = leasedGrant(h);
      await h.clock.advance(60_000);
      const [second] = h.jobs.claim('s2', { maxJobs: 1 });
      h.jobs.recordIntent(jobId, 2, second!, intent);
      expect(() => h.jobs.recordIntent(jobId, 1, first, { ...intent, added: [] })).toThrow(
        expect.objectContaining({ code: 'lease_lost' }),
      );
      expect(() => h.jobs.recordIntent(jobId, 1, second!, { ...intent, added: [] })).toThrow(
        expect.objectContaining({ code: 'lease_lost' }),
      );
      expect(h.jobs.record(jobId)?.intent).toMatchObject({ attempt: 2, value: intent });
    });

    it('turns the intent of a grant that died into a fromIntent record that the revoke receives', async () => {
      const h = setup();
      await deadAfterIntent(h);
      const revoke = h.run('revoke', { grantId: 'g-1' }) as { grants: unknown[] };
      expect(revoke.grants).toEqual([
        {
          grantId: 'g-1',
          email: 'bob@example.com',
          userId: 'u1',
          expiresAt: intent.expiresAt,
          added: [billing],
          created: { invitation: false, projectMemberships: [] },
          fromIntent: true,
        },
      ]);
    });

    it('keeps the late result of a grant whose revoke already ran as expired at the revoke, so it pins nothing', async () => {
      const h = setup();
      const { first } = await deadAfterIntent(h);
      h.run('revoke', { grantId: 'g-1' }, { outcome: 'revoked' });
      const revokedAt = new Date(h.clock.now()).toISOString();
      expect(h.ledger.grants('portal')).toEqual([]);
      await h.clock.advance(5_000);
      // The dead grant's held result comes in after its revoke (§4.7 takes it: nobody leased the job since).
      h.report(first, { outcome: 'succeeded', result: grantResult(intent.expiresAt) });
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({ grantId: 'g-1', expiresAt: revokedAt, revokedAt, added: [billing] }),
      ]);
      // A new grant of the same id, enqueued after the revoke, is a grant like any other.
      h.run('grant', grantPayload, grantResult(intent.expiresAt));
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({ grantId: 'g-1', expiresAt: intent.expiresAt }),
      ]);
      expect(h.ledger.grants('portal')[0]).not.toHaveProperty('revokedAt');
    });

    it('keeps the end a later renew set when the dead grant reports late, whether it succeeded or failed', async () => {
      const h = setup();
      const { first } = await deadAfterIntent(h);
      // The fromIntent record is renewed to end sooner than the grant asked.
      const shortened = '2026-11-24T12:30:00.000Z';
      h.run('renew', { grantId: 'g-1', expiresAt: shortened }, { grantId: 'g-1', expiresAt: shortened });
      // The dead grant's held result comes in (§4.7 takes it: nobody leased the job since).
      h.report(first, { outcome: 'succeeded', result: grantResult(intent.expiresAt) });
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({ grantId: 'g-1', expiresAt: shortened, added: [billing] }),
      ]);

      const second = leasedGrant(h, 1);
      const g2 = { ...intent, expiresAt: '2026-11-24T15:00:00.000Z' };
      h.jobs.recordIntent(second.jobId, 1, second.first, g2);
      await h.clock.advance(60_000);
      h.jobs.tick();
      const sooner = '2026-11-24T13:30:00.000Z';
      h.run('renew', { grantId: 'g-1', expiresAt: sooner }, { grantId: 'g-1', expiresAt: sooner });
      // A late non-retryable failure ends the dead job again: its intent must not move the end back.
      h.report(second.first, {
        outcome: 'failed',
        error: { code: 'policy_denied', message: 'no', retryable: false },
      });
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({ grantId: 'g-1', expiresAt: sooner }),
      ]);
    });

    it('ignores a late renew result once a later renew has set the end', async () => {
      const h = setup();
      h.run('grant', grantPayload, grantResult(intent.expiresAt));
      const { jobId } = h.jobs.enqueue({
        type: 'renew',
        payload: JSON.stringify({ grantId: 'g-1', ttlSeconds: 60 }),
        integrationId: 'portal',
        maxAttempts: 1,
      });
      const [stale] = h.jobs.claim('s1', { maxJobs: 1 });
      if (stale?.jobId !== jobId) throw new Error('the renew was not leased');
      await h.clock.advance(60_000);
      h.jobs.tick();
      expect(h.jobs.record(jobId)?.state).toBe('dead');
      const shortened = '2026-11-24T12:30:00.000Z';
      h.run('renew', { grantId: 'g-1', expiresAt: shortened }, { grantId: 'g-1', expiresAt: shortened });
      h.report(stale, {
        outcome: 'succeeded',
        result: { grantId: 'g-1', expiresAt: '2026-11-24T19:00:00.000Z' },
      });
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({ grantId: 'g-1', expiresAt: shortened }),
      ]);
    });

    it('widens, never narrows, a record a later grant of the same id made when the older grant reports late', async () => {
      const h = setup();
      const readOnly = { level: 'org', role: 'ORG_READ_ONLY' };
      const { first } = await deadAfterIntent(h);
      // The requester grants again under the same id, with one more role.
      const later = '2026-11-24T15:00:00.000Z';
      h.run('grant', grantPayload, { ...grantResult(later), added: [billing, readOnly] });
      h.report(first, { outcome: 'succeeded', result: grantResult(intent.expiresAt) });
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({ grantId: 'g-1', expiresAt: later, added: [billing, readOnly] }),
      ]);
    });

    it('keeps the end of the record a failed regrant widens: a grant job that failed never extends a grant', async () => {
      const h = setup();
      const readOnly = { level: 'org', role: 'ORG_READ_ONLY' };
      const ends = '2026-11-24T13:00:00.000Z';
      h.run('grant', grantPayload, grantResult(ends));
      // Granted again under the same id for longer; the job wrote ORG_READ_ONLY, then died.
      const { jobId, first } = leasedGrant(h, 1);
      h.jobs.recordIntent(jobId, 1, first, { ...intent, added: [billing, readOnly] });
      await h.clock.advance(60_000);
      h.jobs.tick();
      expect(h.jobs.record(jobId)?.state).toBe('dead');
      // Taking the failed job's end, the earlier grant's roles would outlive what it promised.
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({
          grantId: 'g-1',
          expiresAt: ends,
          added: [billing, readOnly],
          fromIntent: true,
        }),
      ]);
    });

    it('keeps the end a renew enqueued before a failed regrant sets when it reports after that regrant died', async () => {
      const h = setup();
      const ends = '2026-11-24T13:00:00.000Z';
      const renewedTo = '2026-11-24T18:00:00.000Z';
      h.run('grant', grantPayload, grantResult(ends));
      const renew = h.jobs.enqueue({
        type: 'renew',
        payload: JSON.stringify({ grantId: 'g-1', ttlSeconds: 60 }),
        integrationId: 'portal',
        maxAttempts: 1,
      });
      const [renewing] = h.jobs.claim('s1', { maxJobs: 1 });
      if (renewing?.jobId !== renew.jobId) throw new Error('the renew was not leased');
      // The renew extends the grant in Atlas, but its connector loses touch: the job dies.
      await h.clock.advance(60_000);
      h.jobs.tick();
      expect(h.jobs.record(renew.jobId)?.state).toBe('dead');
      // Granted again under the same id; that job recorded its intent, then failed.
      const { jobId, first } = leasedGrant(h, 1);
      h.jobs.recordIntent(jobId, 1, first, { ...intent, expiresAt: '2026-11-24T15:00:00.000Z' });
      h.report(first, {
        outcome: 'failed',
        error: { code: 'policy_denied', message: 'no', retryable: false },
      });
      expect(h.jobs.record(jobId)?.state).toBe('failed');
      // The renew's held result comes in (§4.7 takes it: nobody leased the job since). The failed
      // regrant set no end: the renew's, told to the requester, stands.
      h.report(renewing, { outcome: 'succeeded', result: { grantId: 'g-1', expiresAt: renewedTo } });
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({ grantId: 'g-1', expiresAt: renewedTo }),
      ]);
    });

    it('keeps a record a failed regrant widened after the sweep that cleared it was leased', () => {
      const h = setup();
      const readOnly = { level: 'org', role: 'ORG_READ_ONLY' };
      const ended = new Date(h.clock.now() - 60_000).toISOString();
      h.run('grant', grantPayload, grantResult(ended));
      const sweep = h.jobs.enqueue({ type: 'sweep', payload: '{}', integrationId: 'portal' });
      const [sweeping] = h.jobs.claim('s1', { maxJobs: 1 });
      if (sweeping?.jobId !== sweep.jobId) throw new Error('the sweep was not leased');
      // Granted again under the same id while the sweep runs: the job added ORG_READ_ONLY, then failed.
      const { jobId, first } = leasedGrant(h, 1);
      h.jobs.recordIntent(jobId, 1, first, { ...intent, added: [billing, readOnly] });
      h.report(first, {
        outcome: 'failed',
        error: { code: 'policy_denied', message: 'no', retryable: false },
      });
      expect(h.jobs.record(jobId)?.state).toBe('failed');
      // The sweep removed what its payload named (ORG_BILLING_ADMIN), never ORG_READ_ONLY.
      h.report(sweeping, {
        outcome: 'succeeded',
        result: {
          clearedGrants: ['g-1'],
          overdue: [{ grantId: 'g-1', email: 'bob@example.com', expiresAt: ended, overdueSeconds: 60 }],
        },
      });
      // Forgotten, the record would leave ORG_READ_ONLY to bob with nothing to ever remove it.
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({ grantId: 'g-1', added: [billing, readOnly], fromIntent: true }),
      ]);
    });

    it('does not carry the invitation an older record of the grant sent onto a record of another invitation', async () => {
      // g-1 invited bob (user id u1); that invitation went, an admin invited bob again (u2), and a
      // second grant job of g-1 added a role to the admin's invitation, then died.
      const h = setup();
      h.run('grant', grantPayload, { ...grantResult(intent.expiresAt), created: { invitation: true } });
      const { jobId, first } = leasedGrant(h, 1);
      h.jobs.recordIntent(jobId, 1, first, { ...intent, userId: 'u2' });
      await h.clock.advance(60_000);
      h.jobs.tick();
      // The record names u2: claiming u2's invitation as the grant's, its revoke would delete it.
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({ userId: 'u2', created: { invitation: false, projectMemberships: [] } }),
      ]);
    });

    it('nor the roles an older record of the grant added on another invitation', async () => {
      // g-1 invited bob (u1) with ORG_BILLING_ADMIN; that invitation went, an admin invited bob again
      // (u2) with ORG_BILLING_ADMIN of their own, and a second grant job of g-1 meant to add
      // ORG_READ_ONLY to u2, then died. The connector counted nothing of u1 on u2 (its intent).
      const h = setup();
      const readOnly = { level: 'org', role: 'ORG_READ_ONLY' };
      h.run('grant', grantPayload, { ...grantResult(intent.expiresAt), created: { invitation: true } });
      const { jobId, first } = leasedGrant(h, 1);
      h.jobs.recordIntent(jobId, 1, first, { ...intent, userId: 'u2', added: [readOnly] });
      await h.clock.advance(60_000);
      h.jobs.tick();
      // Claimed on u2, the admin's ORG_BILLING_ADMIN would be removed by g-1's revoke or the sweep.
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({ userId: 'u2', added: [readOnly] }),
      ]);
    });

    it('leaves a record made from an intent with no user id without one, whatever an older record named', async () => {
      // g-1 invited bob (u1); that invitation went. A second grant job of g-1 found bob absent, sent
      // an invitation (u2, its id never recorded: the answer was lost) and died. Named u1, the record
      // would count on no pending invitation: its revoke would close it and remove nothing, and the
      // grant's own invitation would give its roles for good once accepted.
      const h = setup();
      h.run('grant', grantPayload, { ...grantResult(intent.expiresAt), created: { invitation: true } });
      const { jobId, first } = leasedGrant(h, 1);
      const { userId: _u1, ...noUserId } = intent;
      h.jobs.recordIntent(jobId, 1, first, {
        ...noUserId,
        created: { invitation: true, projectMemberships: [] },
      });
      await h.clock.advance(60_000);
      h.jobs.tick();
      const [recorded] = h.ledger.grants('portal');
      expect(recorded).toMatchObject({ added: [billing], created: { invitation: true }, fromIntent: true });
      expect(recorded).not.toHaveProperty('userId');
    });

    it('nor onto a later grant’s record of another invitation when the older grant reports late', async () => {
      const h = setup();
      const { first } = leasedGrant(h);
      h.run('grant', grantPayload, { ...grantResult(intent.expiresAt), userId: 'u2' });
      h.report(first, {
        outcome: 'succeeded',
        result: { ...grantResult(intent.expiresAt), created: { invitation: true } },
      });
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({ userId: 'u2', created: { invitation: false, projectMemberships: [] } }),
      ]);
    });

    it('nor the roles the older grant added on another invitation, when it reports late', async () => {
      const h = setup();
      const readOnly = { level: 'org', role: 'ORG_READ_ONLY' };
      const { first } = leasedGrant(h);
      h.run('grant', grantPayload, { ...grantResult(intent.expiresAt), userId: 'u2', added: [readOnly] });
      h.report(first, { outcome: 'succeeded', result: grantResult(intent.expiresAt) });
      expect(h.ledger.grants('portal')).toEqual([
        expect.objectContaining({ userId: 'u2', added: [readOnly] }),
      ]);
    });

    it('records nothing from the intent when the grant succeeds (its result is the record) or never wrote', () => {
      const h = setup();
      const { jobId, first } = leasedGrant(h);
      h.jobs.recordIntent(jobId, 1, first, {
        ...intent,
        added: [billing, { level: 'org', role: 'ORG_READ_ONLY' }],
      });
      h.report(first, { outcome: 'succeeded', result: grantResult(intent.expiresAt) });
      expect(h.ledger.grants('portal').map((g) => [g.added, g.fromIntent])).toEqual([[[billing], undefined]]);
      const failed = h.jobs.enqueue({
        type: 'grant',
        payload: JSON.stringify({ ...grantPayload, grantId: 'g-2' }),
        integrationId: 'portal',
      });
      const [lease] = h.jobs.claim('s1', { maxJobs: 1 });
      if (lease?.jobId !== failed.jobId) throw new Error('the failing grant was not leased');
      h.report(lease, {
        outcome: 'failed',
        error: { code: 'policy_denied', message: 'no', retryable: false },
      });
      expect(h.ledger.grants('portal').map((g) => g.grantId)).toEqual(['g-1']);
    });
  });
});
