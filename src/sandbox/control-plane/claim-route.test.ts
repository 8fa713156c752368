import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { FakeClock } from '../../../test/fakes/fake-clock.js';
import { basePath, ClaimResponse, JobEnvelope, paths } from '../../control-plane/protocol.js';
import {
  eventually,
  type Call,
  type TestSession,
  startTestPlane,
} from '../../../test/kits/control-plane-http-test-kit.js';
import type { ReferenceControlPlane } from './reference-control-plane.js';

const enrollmentToken = 'enroll-secret';
const JobCreated = z.object({ jobId: z.string() });
const pollWaitMs = 20_000;
const leaseTtlMs = 5_000;

let plane: ReferenceControlPlane;
let clock: FakeClock;
let protocol: Call;
let admin: Call;
let session: TestSession;

beforeEach(async () => {
  ({ plane, clock, protocol, admin, session } = await startTestPlane(enrollmentToken, {
    intervals: { pollWaitMs, leaseTtlMs, sessionGraceMs: 0 },
  }));
});

afterEach(async () => {
  await plane.close();
});

function claim(
  body: { maxJobs: number; waitMs: number; types?: string[] },
  key?: string,
  signal?: AbortSignal,
) {
  return protocol('POST', paths.claim(session.sessionId), {
    token: session.accessToken,
    body,
    headers: key === undefined ? {} : { 'idempotency-key': key },
    ...(signal ? { signal } : {}),
  });
}

function jobsOf(body: unknown): JobEnvelope[] {
  return ClaimResponse.parse(body).jobs.map((job) => JobEnvelope.parse(job));
}

/**
 * Sends a claim on a raw socket that reads no more than the answer's first bytes and then goes
 * away: an answer too large for the socket buffers is left unwritten.
 */
function claimAndVanish(body: { maxJobs: number; waitMs: number }, key: string): Promise<void> {
  const { hostname, port } = new URL(plane.url);
  const text = JSON.stringify(body);
  const request = [
    `POST ${basePath}${paths.claim(session.sessionId)} HTTP/1.1`,
    `host: ${hostname}:${port}`,
    `authorization: Bearer ${session.accessToken}`,
    `idempotency-key: ${key}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(text)}`,
    '',
    text,
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    socket.once('data', () => socket.destroy());
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
}

/** A job whose envelope is larger than any socket buffer: its answer takes many writes. */
function enqueueLargeJob(): string {
  return plane.store.enqueueJob({
    type: 'revoke',
    payloadRaw: JSON.stringify({ pad: 'x'.repeat(16 << 20) }),
  });
}

async function held(count = 1): Promise<void> {
  await eventually(() => plane.store.waitingClaims() === count, `${count} held claim(s)`);
}

describe('jobs:claim long-poll', () => {
  it('answers ready jobs at once with complete envelopes', async () => {
    plane.store.putIntegration({
      id: 'int-1',
      kind: 'atlas-project',
      config: { projectId: 'p' },
      secretRef: 'env://K',
    });
    const jobId = plane.store.enqueueJob({
      type: 'grant',
      integrationId: 'int-1',
      resourceKey: 'p/alice',
      payload: { a: 1 },
    });
    const answer = await claim({ maxJobs: 2, waitMs: pollWaitMs });

    expect(answer.status).toBe(200);
    expect(jobsOf(answer.body)).toEqual([
      {
        jobId,
        type: 'grant',
        attempt: 1,
        leaseId: expect.any(String),
        fencingToken: 1,
        leaseTtlMs,
        notAfter: new Date(clock.now() + 15 * 60_000).toISOString(),
        resourceKey: 'p/alice',
        integration: { id: 'int-1', kind: 'atlas-project', config: { projectId: 'p' }, secretRef: 'env://K' },
        payload: '{"a":1}',
        intent: null,
      },
    ]);
  });

  it('holds an empty claim for pollWaitMs and then answers 204', async () => {
    const pending = claim({ maxJobs: 1, waitMs: 60_000 });
    await held();
    await clock.advance(pollWaitMs - 1);
    expect(plane.store.waitingClaims()).toBe(1);
    await clock.advance(1);
    const answer = await pending;
    expect([answer.status, answer.body]).toEqual([204, undefined]);
  });

  it('holds no longer than the waitMs the client asked for', async () => {
    const pending = claim({ maxJobs: 1, waitMs: 1_000 });
    await held();
    await clock.advance(1_000);
    expect((await pending).status).toBe(204);
  });

  it('answers a held claim as soon as a job is posted', async () => {
    const pending = claim({ maxJobs: 1, waitMs: pollWaitMs });
    await held();
    const posted = await admin('POST', '/admin/jobs', { body: { type: 'revoke', resourceKey: 'p/bob' } });
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(jobsOf(answer.body).map((job) => job.jobId)).toEqual([JobCreated.parse(posted.body).jobId]);
  });

  it('answers a held claim when another holder releases its lease', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    const [lease] = jobsOf((await claim({ maxJobs: 1, waitMs: 0 })).body);
    const pending = claim({ maxJobs: 1, waitMs: pollWaitMs });
    await held();
    await protocol('POST', paths.release(jobId), {
      token: session.accessToken,
      body: { leaseId: lease!.leaseId, fencingToken: lease!.fencingToken, reason: 'capacity' },
    });
    expect(jobsOf((await pending).body)).toMatchObject([{ jobId, attempt: 2 }]);
  });

  it('answers a held claim when a lease expires', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    await claim({ maxJobs: 1, waitMs: 0 });
    const pending = claim({ maxJobs: 1, waitMs: pollWaitMs });
    await held();
    await clock.advance(leaseTtlMs);
    expect(jobsOf((await pending).body)).toMatchObject([{ jobId, attempt: 2 }]);
  });

  it('returns the same leased jobs to a retried claim with the same Idempotency-Key', async () => {
    plane.store.enqueueJob({ type: 'revoke' });
    plane.store.enqueueJob({ type: 'revoke' });
    const first = jobsOf((await claim({ maxJobs: 1, waitMs: 0 }, 'claim-1')).body);
    const retried = jobsOf((await claim({ maxJobs: 1, waitMs: 0 }, 'claim-1')).body);
    const fresh = jobsOf((await claim({ maxJobs: 1, waitMs: 0 }, 'claim-2')).body);

    expect(retried).toEqual(first);
    expect(fresh[0]?.jobId).not.toBe(first[0]?.jobId);
    expect(plane.store.jobs('queued')).toEqual([]);
  });

  it('renews the leases a retried claim hands back to a full TTL from the retry', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    await claim({ maxJobs: 1, waitMs: 0 }, 'claim-1');
    await clock.advance(leaseTtlMs - 1_000);
    const [retried] = jobsOf((await claim({ maxJobs: 1, waitMs: 0 }, 'claim-1')).body);
    await clock.advance(leaseTtlMs - 1_000);
    plane.store.tick();

    expect(retried).toMatchObject({ jobId, attempt: 1 });
    expect(plane.store.job(jobId)).toMatchObject({ state: 'leased', attempts: 1 });
  });

  it('answers a retried claim 204 once the session holds none of its leases, and leases nothing new', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    await claim({ maxJobs: 1, waitMs: 0 }, 'claim-1');
    await clock.advance(leaseTtlMs);
    plane.store.tick();
    const retried = await claim({ maxJobs: 1, waitMs: 0 }, 'claim-1');

    expect(retried.status).toBe(204);
    expect(plane.store.job(jobId)).toMatchObject({ state: 'queued', attempts: 1 });
  });

  it('ends a claim still held under a key with 204 when a retry with that key arrives', async () => {
    const first = claim({ maxJobs: 1, waitMs: pollWaitMs }, 'claim-1');
    await held();
    const retry = claim({ maxJobs: 1, waitMs: pollWaitMs }, 'claim-1');
    expect((await first).status).toBe(204);
    await held();
    const jobId = plane.store.enqueueJob({ type: 'revoke' });

    expect(jobsOf((await retry).body)).toMatchObject([{ jobId, attempt: 1 }]);
  });

  it('never answers a claim with more jobs than it asked for, held or retried with a smaller maxJobs', async () => {
    const pending = claim({ maxJobs: 2, waitMs: pollWaitMs }, 'claim-1');
    await held();
    const ids = [1, 2, 3].map((n) => plane.store.enqueueJob({ type: 'revoke', resourceKey: `p/u${n}` }));
    const first = jobsOf((await pending).body);
    expect(first.map((job) => job.jobId)).toEqual(ids.slice(0, 2));

    // The answer was lost; the retry has fewer free slots to offer.
    const retried = jobsOf((await claim({ maxJobs: 1, waitMs: 0 }, 'claim-1')).body);
    expect(retried).toEqual([{ ...first[0], leaseTtlMs }]);
    // The surplus lease is taken back, uncharged, not left with a session that never saw it.
    expect(plane.store.job(ids[1]!)).toMatchObject({
      state: 'queued',
      history: [{ outcome: 'undelivered' }],
    });
    const next = jobsOf((await claim({ maxJobs: 5, waitMs: 0 }, 'claim-2')).body);
    expect(next.map((job) => job.jobId)).toEqual([ids[1], ids[2]]);
  });

  it('takes the leases back when the client goes while the claim answer is being written', async () => {
    const jobId = enqueueLargeJob();
    await claimAndVanish({ maxJobs: 1, waitMs: 0 }, 'claim-1');
    await eventually(() => plane.store.job(jobId)?.state === 'queued', 'the lost lease taken back');
    expect(plane.store.job(jobId)).toMatchObject({ history: [{ outcome: 'undelivered' }] });
    // The key is forgotten: a retry with it leases afresh.
    expect(jobsOf((await claim({ maxJobs: 1, waitMs: 0 }, 'claim-1')).body)).toMatchObject([
      { jobId, attempt: 2 },
    ]);
  });

  it('takes the leases back when a replayed claim answer cannot be written', async () => {
    const jobId = enqueueLargeJob();
    const [first] = jobsOf((await claim({ maxJobs: 1, waitMs: 0 }, 'claim-1')).body);
    expect(first?.jobId).toBe(jobId);

    // The connector retries the claim (its first answer was lost) and dies mid-answer.
    await claimAndVanish({ maxJobs: 1, waitMs: 0 }, 'claim-1');
    await eventually(() => plane.store.job(jobId)?.state === 'queued', 'the replayed lease taken back');
    expect(plane.store.job(jobId)).toMatchObject({ history: [{ outcome: 'undelivered' }] });
    // The key is forgotten: a further retry leases afresh instead of replaying a lease now gone.
    const [again] = jobsOf((await claim({ maxJobs: 1, waitMs: 0 }, 'claim-1')).body);
    expect(again).toMatchObject({ jobId, attempt: 2 });
    expect(again?.leaseId).not.toBe(first?.leaseId);
  });

  it('never leases a job to a claim whose client has gone away', async () => {
    const aborted = new AbortController();
    const pending = claim({ maxJobs: 1, waitMs: pollWaitMs }, undefined, aborted.signal);
    await held();
    aborted.abort();
    await expect(pending).rejects.toThrow();
    await held(0);
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    await clock.advance(0);

    expect(plane.store.job(jobId)).toMatchObject({ state: 'queued', attempts: 0 });
  });

  it('ends a held claim with 204 when its session deregisters', async () => {
    const pending = claim({ maxJobs: 1, waitMs: pollWaitMs });
    await held();
    await protocol('DELETE', paths.deregister(session.sessionId), { token: session.accessToken });
    expect((await pending).status).toBe(204);
  });

  it('only hands out the job types the claim asks for', async () => {
    plane.store.enqueueJob({ type: 'discover' });
    const revoke = plane.store.enqueueJob({ type: 'revoke' });
    expect(
      jobsOf((await claim({ maxJobs: 5, waitMs: 0, types: ['revoke'] })).body).map((j) => j.jobId),
    ).toEqual([revoke]);
  });

  it('ends held claims with 204 on close and leaves no timer behind', async () => {
    const pending = claim({ maxJobs: 1, waitMs: pollWaitMs });
    await held();
    await plane.close();
    expect((await pending).status).toBe(204);
    expect(clock.pending).toBe(0);
  });
});
