import http from 'node:http';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/e2e/daemon-process.js';
import type { FakeClock } from '../../../test/fakes/fake-clock.js';
import {
  basePath,
  ClaimResponse,
  ExtendResponse,
  HeartbeatResponse,
  JobEnvelope,
  paths,
  ProtocolErrorBody,
  RefreshResponse,
  RegisterResponse,
  type HeartbeatRequest,
  type ResultRequest,
} from '../../control-plane/protocol.js';
import {
  registration,
  type Call,
  type TestSession,
  startTestPlane,
} from '../../../test/kits/control-plane-http-test-kit.js';
import type { ReferenceControlPlane } from './reference-control-plane.js';

const enrollmentToken = 'enroll-secret';
const leaseTtlMs = 30_000;

let plane: ReferenceControlPlane;
let clock: FakeClock;
let protocol: Call;
let session: TestSession;

beforeEach(async () => {
  ({ plane, clock, protocol, session } = await startTestPlane(enrollmentToken, {
    // Leases end at their TTL here; session-grace.test.ts covers the grace period.
    intervals: { leaseTtlMs, pollWaitMs: 0, sessionGraceMs: 0 },
    accessTokenTtlMs: 600_000,
  }));
});

afterEach(async () => {
  await plane.close();
});

function errorCode(body: unknown): string {
  return ProtocolErrorBody.parse(body).error.code;
}

const heartbeatBody: HeartbeatRequest = {
  sentAt: '2026-11-24T12:00:00.000Z',
  state: 'idle',
  inFlight: [],
  outboxDepth: 0,
  freeSlots: 4,
};

async function claimOne(): Promise<JobEnvelope> {
  const answer = await protocol('POST', paths.claim(session.sessionId), {
    token: session.accessToken,
    body: { maxJobs: 1, waitMs: 0 },
  });
  return JobEnvelope.parse(ClaimResponse.parse(answer.body).jobs[0]);
}

describe('requests it cannot take apart', () => {
  it('answers a path no URL parser accepts (//) with 400 and keeps serving', async () => {
    // A raw socket: HTTP clients (and nock's interceptor) refuse to send such a path at all.
    const port = Number(new URL(plane.url).port);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end('GET // HTTP/1.1\r\nHost: x\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    // §1: every answer carries the protocol version and is never cached, this one too.
    expect(answer).toMatch(/\r\nx-connector-protocol: 1\r\n/i);
    expect(answer).toMatch(/\r\ncache-control: no-store\r\n/i);
    const health = await fetch(`${plane.url}/admin/health`);
    expect(health.status).toBe(200);
  });

  it('refuses a body nested deeper than it can store, naming the field, so no later answer fails', async () => {
    // JSON.parse takes any depth; writing such a value out again (a claim answer carrying the
    // intent, the admin listing) overflows the stack: every claim leasing the job answered 500.
    const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const jobId = plane.store.enqueueJob({ type: 'grant' });
    const lease = await claimOne();
    const fence = { leaseId: lease.leaseId, fencingToken: lease.fencingToken };
    const intent = await protocol('PUT', paths.intent(jobId, 1), {
      token: session.accessToken,
      rawBody: `{"leaseId":"${fence.leaseId}","fencingToken":${fence.fencingToken},"intent":${nested}}`,
    });
    const result = await protocol('PUT', paths.result(jobId, 1), {
      token: session.accessToken,
      headers: { 'idempotency-key': `${jobId}:1` },
      rawBody: `{"leaseId":"${fence.leaseId}","fencingToken":${fence.fencingToken},"outcome":"succeeded","startedAt":"a","finishedAt":"b","result":${nested}}`,
    });
    await protocol('POST', paths.release(jobId), {
      token: session.accessToken,
      body: { ...fence, reason: 'error' },
    });
    const again = await claimOne();

    expect([intent.status, ProtocolErrorBody.parse(intent.body).error]).toEqual([
      400,
      { code: 'invalid_request', message: expect.stringMatching(/^intent: nested deeper than 64 levels/) },
    ]);
    expect([result.status, ProtocolErrorBody.parse(result.body).error]).toEqual([
      400,
      { code: 'invalid_request', message: expect.stringMatching(/^result: nested deeper than 64 levels/) },
    ]);
    expect(again).toMatchObject({ jobId, attempt: 2, intent: null });
  });
});

describe('register and authentication', () => {
  it('exchanges the enrollment token for a session, an access token and the server intervals', async () => {
    const answer = await protocol('POST', paths.register, { token: enrollmentToken, body: registration() });
    expect(answer.status).toBe(201);
    expect(RegisterResponse.parse(answer.body)).toMatchObject({
      expiresInMs: 600_000,
      intervals: { heartbeatMs: 15_000, pollWaitMs: 0, leaseTtlMs },
      limits: { maxPayloadBytes: 262_144 },
      serverTime: new Date(clock.now()).toISOString(),
    });
    expect(answer.headers.get('x-connector-protocol')).toBe('1');
  });

  it('refuses registration without the enrollment token', async () => {
    for (const token of [undefined, 'wrong', session.accessToken]) {
      const answer = await protocol('POST', paths.register, { token, body: registration() });
      expect([answer.status, errorCode(answer.body)]).toEqual([401, 'unauthorized']);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('names the offending field of a malformed body', async () => {
    const answer = await protocol('POST', paths.register, {
      token: enrollmentToken,
      body: { ...registration(), capacity: { maxJobs: 0 } },
    });
    expect(answer.status).toBe(400);
    expect(ProtocolErrorBody.parse(answer.body).error).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^capacity\.maxJobs:/),
    });
  });

  it('answers 401 to a wrong token and 404 session_unknown to an unknown session', async () => {
    const wrongToken = await protocol('POST', paths.heartbeat(session.sessionId), {
      token: 'x',
      body: heartbeatBody,
    });
    const unknown = await protocol('POST', paths.heartbeat('nope'), {
      token: session.accessToken,
      body: heartbeatBody,
    });
    expect([wrongToken.status, errorCode(wrongToken.body)]).toEqual([401, 'unauthorized']);
    expect([unknown.status, errorCode(unknown.body)]).toEqual([404, 'session_unknown']);
  });

  it('replaces the access token on refresh and stops accepting the old one', async () => {
    const refreshed = await protocol('POST', paths.refreshToken(session.sessionId), {
      token: session.accessToken,
      body: {},
    });
    const { accessToken } = RefreshResponse.parse(refreshed.body);
    const withOld = await protocol('POST', paths.heartbeat(session.sessionId), {
      token: session.accessToken,
      body: heartbeatBody,
    });
    const withNew = await protocol('POST', paths.heartbeat(session.sessionId), {
      token: accessToken,
      body: heartbeatBody,
    });
    expect(refreshed.status).toBe(200);
    expect([withOld.status, withNew.status]).toEqual([401, 200]);
  });

  it('stops accepting an access token once it expires', async () => {
    await clock.advance(600_000);
    const answer = await protocol('POST', paths.heartbeat(session.sessionId), {
      token: session.accessToken,
      body: heartbeatBody,
    });
    expect([answer.status, errorCode(answer.body)]).toEqual([401, 'unauthorized']);
  });

  it('refuses a client that speaks another protocol version', async () => {
    const answer = await protocol('POST', paths.heartbeat(session.sessionId), {
      token: session.accessToken,
      body: heartbeatBody,
      headers: { 'x-connector-protocol': '2' },
    });
    expect([answer.status, errorCode(answer.body)]).toEqual([400, 'invalid_request']);
  });

  it('answers 413 to a body larger than 1 MiB and 404 to an unknown route', async () => {
    const huge = await protocol('POST', paths.heartbeat(session.sessionId), {
      token: session.accessToken,
      rawBody: JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }),
    });
    const unknown = await protocol('GET', '/nothing/here', { token: session.accessToken });
    expect([huge.status, errorCode(huge.body)]).toEqual([413, 'invalid_request']);
    expect([unknown.status, errorCode(unknown.body)]).toEqual([404, 'not_found']);
  });
});

describe('heartbeat and deregistration', () => {
  it('records the reported state and hands queued actions out exactly once', async () => {
    plane.store.queueAction(session.sessionId, 'drain');
    const beat = () =>
      protocol('POST', paths.heartbeat(session.sessionId), {
        token: session.accessToken,
        body: { ...heartbeatBody, state: 'busy', outboxDepth: 2, freeSlots: 1 },
      });
    const first = HeartbeatResponse.parse((await beat()).body);
    const second = HeartbeatResponse.parse((await beat()).body);

    expect(first.actions).toEqual(['drain']);
    expect(second.actions).toEqual([]);
    expect(plane.store.sessions()[0]).toMatchObject({ state: 'busy', outboxDepth: 2, freeSlots: 1 });
  });

  it('asks for the release of a lease an operator wants back and sends changed intervals', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    const lease = await claimOne();
    plane.store.requestLeaseRelease(jobId);
    plane.store.setIntervals({ heartbeatMs: 5_000 });
    const answer = await protocol('POST', paths.heartbeat(session.sessionId), {
      token: session.accessToken,
      body: {
        ...heartbeatBody,
        inFlight: [{ jobId, leaseId: lease.leaseId, fencingToken: lease.fencingToken }],
      },
    });
    expect(HeartbeatResponse.parse(answer.body)).toMatchObject({
      releaseLeases: [lease.leaseId],
      intervals: { heartbeatMs: 5_000, leaseTtlMs },
    });
  });

  it('keeps a lease claimed under an earlier session current after the connector registers again', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    const lease = await claimOne();
    // The access token lapsed and could not be refreshed: the connector registers again (§3.6).
    const again = await protocol('POST', paths.register, { token: enrollmentToken, body: registration() });
    const next = again.body as { sessionId: string; accessToken: string };
    const inFlight = [{ jobId, leaseId: lease.leaseId, fencingToken: lease.fencingToken }];
    const beat = async () =>
      HeartbeatResponse.parse(
        (
          await protocol('POST', paths.heartbeat(next.sessionId), {
            token: next.accessToken,
            body: { ...heartbeatBody, state: 'busy', inFlight },
          })
        ).body,
      );

    expect((await beat()).releaseLeases).toEqual([]);
    // An operator's release request, recorded on the claiming session, reaches the new one.
    plane.store.requestLeaseRelease(jobId);
    expect((await beat()).releaseLeases).toEqual([lease.leaseId]);
  });

  it('tells a session to let go of an in-flight lease the server has moved on from', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    const lost = await claimOne();
    await clock.advance(leaseTtlMs);
    const current = await claimOne();
    const inFlight = [lost, current].map((l) => ({
      jobId,
      leaseId: l.leaseId,
      fencingToken: l.fencingToken,
    }));
    const answer = await protocol('POST', paths.heartbeat(session.sessionId), {
      token: session.accessToken,
      body: { ...heartbeatBody, inFlight },
    });
    const body = HeartbeatResponse.parse(answer.body);
    expect(body.releaseLeases).toEqual([lost.leaseId]);
    expect(body.intervals).toBeUndefined();
  });

  it('re-queues the leases of a deregistered session and forgets the session', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    await claimOne();
    const deleted = await protocol('DELETE', paths.deregister(session.sessionId), {
      token: session.accessToken,
    });
    const after = await protocol('POST', paths.heartbeat(session.sessionId), {
      token: session.accessToken,
      body: heartbeatBody,
    });
    expect(deleted.status).toBe(204);
    expect(plane.store.job(jobId)?.state).toBe('queued');
    expect([after.status, errorCode(after.body)]).toEqual([404, 'session_unknown']);
  });

  it('leases nothing to a session that deregistered while its claim body was arriving', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    const body = JSON.stringify({ maxJobs: 1, waitMs: 0 });
    const answer = new Promise<number>((resolve, reject) => {
      const request = http.request(
        `${plane.url}${basePath}${paths.claim(session.sessionId)}`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${session.accessToken}`,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      request.on('error', reject);
      request.write(body.slice(0, 5));
      // The rest of the body goes once the session is gone.
      void eventually(() => (plane.store.requestCounts().claim === 1 ? true : undefined), 5_000, 'the claim')
        .then(() => protocol('DELETE', paths.deregister(session.sessionId), { token: session.accessToken }))
        .then(() => request.end(body.slice(5)), reject);
    });
    expect(await answer).toBe(404);
    expect(plane.store.job(jobId)?.state).toBe('queued');
  });

  it('refuses to hand jobs to a draining session', async () => {
    await protocol('POST', paths.heartbeat(session.sessionId), {
      token: session.accessToken,
      body: { ...heartbeatBody, state: 'draining' },
    });
    const answer = await protocol('POST', paths.claim(session.sessionId), {
      token: session.accessToken,
      body: { maxJobs: 1, waitMs: 0 },
    });
    expect([answer.status, errorCode(answer.body)]).toEqual([409, 'session_draining']);
  });
});

describe('leases and results over HTTP', () => {
  it('answers lease_lost to extending a lease that expired and went to another attempt', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    const first = await claimOne();
    await clock.advance(leaseTtlMs);
    await claimOne();
    const answer = await protocol('POST', paths.extend(jobId), {
      token: session.accessToken,
      body: { leaseId: first.leaseId, fencingToken: first.fencingToken },
    });
    expect([answer.status, errorCode(answer.body)]).toEqual([409, 'lease_lost']);
  });

  it('extends a current lease and answers job_gone once the job has finished', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    const lease = await claimOne();
    const fence = { leaseId: lease.leaseId, fencingToken: lease.fencingToken };
    const extended = await protocol('POST', paths.extend(jobId), { token: session.accessToken, body: fence });
    await submit(lease, {});
    const gone = await protocol('POST', paths.extend(jobId), { token: session.accessToken, body: fence });

    expect(ExtendResponse.parse(extended.body)).toEqual({ leaseTtlMs, cancelRequested: false });
    expect([gone.status, errorCode(gone.body)]).toEqual([410, 'job_gone']);
  });

  it('records an intent under the current lease, hands it to the next attempt, and refuses a stale one', async () => {
    const jobId = plane.store.enqueueJob({ type: 'grant' });
    const first = await claimOne();
    const fence = { leaseId: first.leaseId, fencingToken: first.fencingToken };
    const intent = { added: ['x'] };
    const recorded = await protocol('PUT', paths.intent(jobId, 1), {
      token: session.accessToken,
      body: { ...fence, intent },
    });
    const missing = await protocol('PUT', paths.intent(jobId, 1), {
      token: session.accessToken,
      body: fence,
    });
    const badAttempt = await protocol('PUT', `/jobs/${jobId}/attempts/0/intent`, {
      token: session.accessToken,
      body: { ...fence, intent },
    });
    await clock.advance(leaseTtlMs);
    const second = await claimOne();
    const stale = await protocol('PUT', paths.intent(jobId, 1), {
      token: session.accessToken,
      body: { ...fence, intent: { added: [] } },
    });

    expect([recorded.status, recorded.body]).toEqual([200, { recorded: true }]);
    expect([missing.status, errorCode(missing.body)]).toEqual([400, 'invalid_request']);
    expect([badAttempt.status, errorCode(badAttempt.body)]).toEqual([400, 'invalid_request']);
    expect([stale.status, errorCode(stale.body)]).toEqual([409, 'lease_lost']);
    expect(second).toMatchObject({ attempt: 2, intent });
    expect(plane.store.requestCounts().intent).toBe(4);
  });

  it('releases a lease with 204 and puts the job back in the queue', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    const lease = await claimOne();
    const answer = await protocol('POST', paths.release(jobId), {
      token: session.accessToken,
      body: { leaseId: lease.leaseId, fencingToken: lease.fencingToken, reason: 'shutdown' },
    });
    expect(answer.status).toBe(204);
    expect(plane.store.job(jobId)?.state).toBe('queued');
  });

  it('accepts a result, replays it identically and refuses a different body under the same key', async () => {
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    const lease = await claimOne();
    const first = await submit(lease, {});
    const replay = await submit(lease, {});
    const changed = await submit(lease, { result: { removed: false } });

    expect([first.status, first.body]).toEqual([200, { accepted: true, jobState: 'succeeded' }]);
    expect([replay.status, replay.body]).toEqual([200, { accepted: true, jobState: 'succeeded' }]);
    expect([changed.status, errorCode(changed.body)]).toEqual([422, 'idempotency_mismatch']);
    expect(plane.store.results()).toMatchObject([{ jobId, attempt: 1, result: { removed: true } }]);
  });

  it('refuses a result fenced by a superseded lease', async () => {
    plane.store.enqueueJob({ type: 'revoke' });
    const stale = await claimOne();
    await clock.advance(leaseTtlMs);
    await claimOne();
    const answer = await submit(stale, {});
    expect([answer.status, errorCode(answer.body)]).toEqual([409, 'stale_fence']);
  });
});

function submit(lease: JobEnvelope, tweak: Partial<ResultRequest>) {
  const body: ResultRequest = {
    leaseId: lease.leaseId,
    fencingToken: lease.fencingToken,
    outcome: 'succeeded',
    result: { removed: true },
    startedAt: '2026-11-24T12:00:00.000Z',
    finishedAt: '2026-11-24T12:00:01.000Z',
    ...tweak,
  };
  return protocol('PUT', paths.result(lease.jobId, lease.attempt), {
    token: session.accessToken,
    body,
    headers: { 'idempotency-key': `${lease.jobId}:${lease.attempt}` },
  });
}
