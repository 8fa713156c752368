import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../../test/fakes/fake-random.js';
import { GrantLedger } from './grant-ledger.js';
import { acceptResult } from './job-results.js';
import { JobStore } from './job-store.js';

const portal = { id: 'portal', kind: 'atlas-org-portal', config: {}, secretRef: 'env://X' };
const billing = { level: 'org', role: 'ORG_BILLING_ADMIN' };

function setup() {
  const clock = new FakeClock();
  const ledger = new GrantLedger();
  const settings = {
    intervals: { heartbeatMs: 15_000, pollWaitMs: 25_000, leaseTtlMs: 60_000 },
    maxAttempts: 5,
    maxPayloadBytes: 262_144,
    accessTokenTtlMs: 1_800_000,
  };
  const jobs = new JobStore({ clock, random: new FakeRandom(), settings, ledger });
  jobs.putIntegration(portal);
  jobs.putIntegration({ ...portal, id: 'db', kind: 'atlas-project' });
  /** Enqueues, leases and (with a result) completes one job; returns the payload it was leased with. */
  const run = (type: string, payload: object, result?: unknown, integrationId = 'portal'): unknown => {
    const { jobId } = jobs.enqueue({ type, payload: JSON.stringify(payload), integrationId });
    const [envelope] = jobs.claim('s1', { maxJobs: 1 });
    if (!envelope || envelope.jobId !== jobId) throw new Error('job was not leased');
    if (result !== undefined) {
      acceptResult(jobs, clock, {
        jobId,
        attempt: envelope.attempt,
        idempotencyKey: `${jobId}:${envelope.attempt}`,
        body: { ...envelope, outcome: 'succeeded', result, startedAt: 'a', finishedAt: 'b' },
        canonical: envelope.leaseId,
      });
    }
    return JSON.parse(envelope.payload) as unknown;
  };
  return { ledger, run };
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

  it('leaves the payloads of other kinds, and payloads that already carry grants, as they are', () => {
    const { run } = setup();
    expect(run('sweep', {}, undefined, 'db')).toEqual({});
    expect(run('sweep', { grants: [] })).toEqual({ grants: [] });
  });
});
