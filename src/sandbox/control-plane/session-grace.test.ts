import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeClock } from '../../../test/fakes/fake-clock.js';
import {
  ClaimResponse,
  JobEnvelope,
  paths,
  RegisterResponse,
  type HeartbeatRequest,
} from '../../control-plane/protocol.js';
import {
  registerSession,
  registration,
  type Call,
  type TestSession,
  startTestPlane,
} from '../../../test/kits/control-plane-http-test-kit.js';
import type { ReferenceControlPlane } from './reference-control-plane.js';

const enrollmentToken = 'enroll-secret';
const leaseTtlMs = 10_000;
const sessionGraceMs = 30_000;

let plane: ReferenceControlPlane;
let clock: FakeClock;
let protocol: Call;
let session: TestSession;

beforeEach(async () => {
  ({ plane, clock, protocol, session } = await startTestPlane(enrollmentToken, {
    intervals: { leaseTtlMs, pollWaitMs: 0, sessionGraceMs },
    accessTokenTtlMs: 600_000,
  }));
});

afterEach(async () => {
  await plane.close();
});

async function claimOne(by: TestSession = session): Promise<JobEnvelope | undefined> {
  const answer = await protocol('POST', paths.claim(by.sessionId), {
    token: by.accessToken,
    body: { maxJobs: 1, waitMs: 0 },
  });
  if (answer.status === 204) return undefined;
  const [job] = ClaimResponse.parse(answer.body).jobs;
  return job === undefined ? undefined : JobEnvelope.parse(job);
}

function heartbeat(inFlight: HeartbeatRequest['inFlight']) {
  return protocol('POST', paths.heartbeat(session.sessionId), {
    token: session.accessToken,
    body: { sentAt: '2026-11-24T12:00:00.000Z', state: 'busy', inFlight, outboxDepth: 0, freeSlots: 3 },
  });
}

function submit(lease: JobEnvelope) {
  return protocol('PUT', paths.result(lease.jobId, lease.attempt), {
    token: session.accessToken,
    body: {
      leaseId: lease.leaseId,
      fencingToken: lease.fencingToken,
      outcome: 'succeeded',
      result: { ok: true },
      startedAt: '2026-11-24T12:00:00.000Z',
      finishedAt: '2026-11-24T12:00:01.000Z',
    },
    headers: { 'idempotency-key': `${lease.jobId}:${lease.attempt}` },
  });
}

const ref = (lease: JobEnvelope) => ({
  jobId: lease.jobId,
  leaseId: lease.leaseId,
  fencingToken: lease.fencingToken,
});

describe('a silent session keeps its leases for the grace period', () => {
  it('advertises sessionGraceMs with the intervals at registration', async () => {
    const answer = await protocol('POST', paths.register, { token: enrollmentToken, body: registration() });
    expect(RegisterResponse.parse(answer.body).intervals.sessionGraceMs).toBe(sessionGraceMs);
  });

  it('does not redeliver a lease past its TTL while its session is silent, and takes the held result', async () => {
    const other = await registerSession(protocol, enrollmentToken, { instanceId: 'pod-2:boot-1' });
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    const lease = await claimOne();
    await clock.advance(2 * leaseTtlMs);

    expect(await claimOne(other), 'another session cannot take it').toBeUndefined();
    expect((await submit(lease!)).status).toBe(200);
    expect(plane.store.job(jobId)).toMatchObject({ state: 'succeeded', attempts: 1 });
  });

  it('redelivers once the session is declared dead (silent for the grace period)', async () => {
    const other = await registerSession(protocol, enrollmentToken, { instanceId: 'pod-2:boot-1' });
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    await claimOne();
    await clock.advance(sessionGraceMs);

    expect((await claimOne(other))?.attempt).toBe(2);
    expect(plane.store.job(jobId)?.attempts).toBe(2);
  });

  it('keeps a lease past its TTL while the session heartbeats and lists it, and lets it go when it stops listing it', async () => {
    const other = await registerSession(protocol, enrollmentToken, { instanceId: 'pod-2:boot-1' });
    plane.store.enqueueJob({ type: 'revoke' });
    const lease = await claimOne();
    await clock.advance(leaseTtlMs);
    await heartbeat([ref(lease!)]);
    expect(await claimOne(other), 'listed in flight: still held').toBeUndefined();

    await clock.advance(1);
    await heartbeat([]);
    expect((await claimOne(other))?.attempt, 'not listed after its TTL: redelivered').toBe(2);
  });
});

function heartbeatAs(by: TestSession, inFlight: HeartbeatRequest['inFlight']) {
  return protocol('POST', paths.heartbeat(by.sessionId), {
    token: by.accessToken,
    body: { sentAt: '2026-11-24T12:00:00.000Z', state: 'busy', inFlight, outboxDepth: 0, freeSlots: 3 },
  });
}

function extendAs(by: TestSession, lease: JobEnvelope) {
  return protocol('POST', paths.extend(lease.jobId), {
    token: by.accessToken,
    body: { leaseId: lease.leaseId, fencingToken: lease.fencingToken },
  });
}

describe('the grace period at its edges (protocol §5.1)', () => {
  it('refuses an extend once the session was declared dead, though no sweep has run since', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    await clock.advance(300); // sweeps run at whole seconds; the claim is at t=300
    const lease = await claimOne();
    // Silent from t=300: declared dead at t=30_300. The last sweep before now ran at t=30_000.
    await clock.advance(30_300);
    expect(clock.monotonic()).toBe(30_600);
    const answer = await extendAs(session, lease!);
    expect(answer.status).toBe(409);
    expect(plane.store.job(jobId)?.history[0]?.outcome).toBe('expired');
  });

  it("does not bring a dead session's lease back on its late heartbeat: the job is redelivered", async () => {
    const other = await registerSession(protocol, enrollmentToken, { instanceId: 'pod-2:boot-1' });
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    await clock.advance(300);
    const lease = await claimOne();
    await clock.advance(30_300);
    await heartbeatAs(session, [ref(lease!)]);
    await clock.advance(5_000); // sweeps run
    const got = await claimOne(other);
    expect(got?.jobId, 'the session was dead at t=30_300: its lease must have been redelivered').toBe(jobId);
  });

  it("keeps the grace for a lease claimed under an earlier session that the connector's new session still lists", async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    const lease = await claimOne(); // under session S1
    // The connector registers again (S1 not deregistered: e.g. its refresh answer was lost).
    const s2 = await registerSession(protocol, enrollmentToken);
    const replica2 = await registerSession(protocol, enrollmentToken, { instanceId: 'pod-2:boot-1' });
    // S2 keeps the lease alive and lists it in every heartbeat for longer than the grace.
    for (let i = 0; i < 8; i += 1) {
      await clock.advance(5_000);
      expect((await extendAs(s2, lease!)).status).toBe(200);
      expect((await heartbeatAs(s2, [ref(lease!)])).body).toMatchObject({ releaseLeases: [] });
      await heartbeatAs(replica2, []);
    }
    // Outage of TTL + 1 s: far less than sessionGraceMs since the connector's last answered request.
    await clock.advance(leaseTtlMs + 1_000);
    const stolen = await claimOne(replica2);
    expect(
      stolen,
      'the connector believes the server holds this lease until lastAnswered + grace',
    ).toBeUndefined();
    expect(plane.store.job(jobId)).toMatchObject({ state: 'leased', attempts: 1 });
  });

  it('charges a lease held only by the grace as expired when its session deregisters', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    await claimOne();
    await clock.advance(leaseTtlMs + 1_000); // past TTL, within grace: held
    expect(plane.store.job(jobId)?.state).toBe('leased');
    const answer = await protocol('DELETE', paths.deregister(session.sessionId), {
      token: session.accessToken,
    });
    expect(answer.status).toBe(204);
    const job = plane.store.job(jobId);
    expect(job?.history[0]?.outcome).toBe('expired');
  });
});

describe('the default grace when an operator changes the lease TTL', () => {
  it('stays three lease TTLs when PUT /admin/intervals changes the TTL, unless the grace was set', async () => {
    const own = await startTestPlane(enrollmentToken, { intervals: { leaseTtlMs: 30_000, pollWaitMs: 0 } });
    try {
      const changed = await own.admin('PUT', '/admin/intervals', { body: { leaseTtlMs: 2_000 } });
      expect(changed.body).toMatchObject({ intervals: { leaseTtlMs: 2_000, sessionGraceMs: 6_000 } });
      const jobId = own.plane.store.enqueueJob({ type: 'revoke' });
      const claimed = await own.protocol('POST', paths.claim(own.session.sessionId), {
        token: own.session.accessToken,
        body: { maxJobs: 1, waitMs: 0 },
      });
      expect(claimed.status).toBe(200);
      await own.clock.advance(6_000);
      expect(own.plane.store.job(jobId), 'a silent session is dead after 3 × the new TTL').toMatchObject({
        state: 'queued',
        history: [{ outcome: 'expired' }],
      });

      await own.admin('PUT', '/admin/intervals', { body: { sessionGraceMs: 10_000 } });
      const again = await own.admin('PUT', '/admin/intervals', { body: { leaseTtlMs: 1_000 } });
      expect(again.body, 'an explicit grace is kept').toMatchObject({
        intervals: { leaseTtlMs: 1_000, sessionGraceMs: 10_000 },
      });
    } finally {
      await own.plane.close();
    }
  });
});
