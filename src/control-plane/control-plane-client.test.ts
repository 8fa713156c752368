import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { ControlPlaneClient } from './control-plane-client.js';
import { serialiseResult, type RegisterRequest } from './protocol.js';
import { createHttpClient } from '../runtime/http.js';

const base = 'https://cp.example.test';
const api = '/connector/v1';
const enrollment = 'enrollment-token-abcdef';

const registerRequest: RegisterRequest = {
  connectorId: 'c1',
  instanceId: 'i1',
  version: '0.1.0',
  protocol: 1,
  capacity: { maxJobs: 4 },
  features: [],
  jobTypes: ['ping'],
  startedAt: '2026-11-24T00:00:00.000Z',
};

/** A succeeded result, as the outbox sends it. */
const succeeded = {
  leaseId: 'l1',
  fencingToken: 1,
  outcome: 'succeeded' as const,
  startedAt: 'a',
  finishedAt: 'b',
};

const registration = (sessionId: string, accessToken: string) => ({
  sessionId,
  accessToken,
  expiresInMs: 1_800_000,
  intervals: { heartbeatMs: 15_000, pollWaitMs: 25_000, leaseTtlMs: 60_000 },
  limits: { maxPayloadBytes: 262_144 },
  serverTime: '2026-11-24T00:00:00.000Z',
});

function client() {
  const logs = captureLogs();
  const secrets: string[] = [];
  const clock = new FakeClock();
  const cp = new ControlPlaneClient({
    baseUrl: base,
    enrollmentToken: async () => enrollment,
    fetch: createHttpClient(),
    clock,
    logger: logs.logger,
    userAgent: 'atlas-jit-connector/test',
    onSecret: (s) => secrets.push(s),
  });
  return { cp, logs, secrets, clock };
}

async function registered() {
  const parts = client();
  nock(base)
    .post(`${api}/connectors/register`)
    .matchHeader('authorization', `Bearer ${enrollment}`)
    .reply(201, registration('s1', 'access-1'));
  await parts.cp.register(registerRequest);
  return parts;
}

describe('ControlPlaneClient', () => {
  it('registers with the enrollment token and then uses the session token', async () => {
    const { cp, secrets } = await registered();
    expect(secrets).toEqual(['access-1']);
    nock(base)
      .post(`${api}/sessions/s1/heartbeat`)
      .matchHeader('authorization', 'Bearer access-1')
      .matchHeader('x-connector-session', 's1')
      .matchHeader('x-connector-protocol', '1')
      .reply(200, {
        serverTime: '2026-11-24T00:00:01Z',
        receivedAt: '2026-11-24T00:00:01Z',
        actions: ['drain', 'teleport'],
        releaseLeases: [],
      });
    const beat = await cp.heartbeat({
      sentAt: 'x',
      state: 'idle',
      inFlight: [],
      outboxDepth: 0,
      freeSlots: 4,
    });
    expect(beat.actions).toEqual(['drain']);
  });

  it('treats 204 on claim as no jobs and sends the idempotency key', async () => {
    const { cp } = await registered();
    nock(base)
      .post(`${api}/sessions/s1/jobs:claim`, { maxJobs: 2, waitMs: 100 })
      .matchHeader('idempotency-key', 'claim-1')
      .reply(204);
    expect(await cp.claim({ maxJobs: 2, waitMs: 100 }, 'claim-1')).toEqual([]);
  });

  it('extends and releases a lease with fenced POSTs naming the lease (protocol §4.5, §4.6)', async () => {
    const { cp } = await registered();
    const lease = { jobId: 'j1', leaseId: 'l-2', fencingToken: 9 };
    nock(base)
      .post(`${api}/jobs/j1/lease:extend`, { leaseId: 'l-2', fencingToken: 9 })
      .matchHeader('authorization', 'Bearer access-1')
      .reply(200, { leaseTtlMs: 60_000, cancelRequested: true });
    nock(base)
      .post(`${api}/jobs/j1/lease:release`, { leaseId: 'l-2', fencingToken: 9, reason: 'shutdown' })
      .matchHeader('authorization', 'Bearer access-1')
      .reply(204);
    expect(await cp.extend(lease)).toEqual({ leaseTtlMs: 60_000, cancelRequested: true });
    await expect(cp.release(lease, 'shutdown')).resolves.toBeUndefined();
  });

  it('refreshes the session token once on 401 and retries the call', async () => {
    const { cp } = await registered();
    nock(base)
      .post(`${api}/jobs/j1/lease:extend`)
      .matchHeader('authorization', 'Bearer access-1')
      .reply(401, { error: { code: 'unauthorized', message: 'expired' } });
    nock(base)
      .post(`${api}/sessions/s1/token:refresh`)
      .reply(200, { accessToken: 'access-2', expiresInMs: 1_800_000 });
    nock(base)
      .post(`${api}/jobs/j1/lease:extend`)
      .matchHeader('authorization', 'Bearer access-2')
      .reply(200, { leaseTtlMs: 60_000, cancelRequested: false });
    await expect(cp.extend({ jobId: 'j1', leaseId: 'l1', fencingToken: 1 })).resolves.toEqual({
      leaseTtlMs: 60_000,
      cancelRequested: false,
    });
  });

  it('refreshes the access token while it still works, a minute before it expires, keeping the session', async () => {
    const { cp, clock, secrets } = await registered();
    await clock.advance(1_800_000 - 60_000);
    nock(base)
      .post(`${api}/sessions/s1/token:refresh`)
      .matchHeader('authorization', 'Bearer access-1')
      .reply(200, { accessToken: 'access-2', expiresInMs: 1_800_000 });
    nock(base)
      .post(`${api}/jobs/j1/lease:extend`)
      .matchHeader('authorization', 'Bearer access-2')
      .reply(200, { leaseTtlMs: 60_000, cancelRequested: false });
    await cp.extend({ jobId: 'j1', leaseId: 'l1', fencingToken: 1 });
    expect(cp.current?.sessionId).toBe('s1');
    expect(secrets).toEqual(['access-1', 'access-2']);
  });

  it('keeps using a token it could not refresh ahead of time while it still works', async () => {
    const { cp, clock } = await registered();
    await clock.advance(1_800_000 - 60_000);
    nock(base)
      .post(`${api}/sessions/s1/token:refresh`)
      .reply(503, { error: { code: 'unavailable', message: 'busy' } });
    nock(base)
      .post(`${api}/jobs/j1/lease:extend`)
      .matchHeader('authorization', 'Bearer access-1')
      .reply(200, { leaseTtlMs: 60_000, cancelRequested: false });
    await cp.extend({ jobId: 'j1', leaseId: 'l1', fencingToken: 1 });
    expect(cp.current?.sessionId).toBe('s1');
  });

  it('registers again when the session is unknown', async () => {
    const { cp } = await registered();
    nock(base)
      .put(`${api}/jobs/j1/attempts/1/result`)
      .reply(404, { error: { code: 'session_unknown', message: 'gone' } });
    nock(base).post(`${api}/connectors/register`).reply(201, registration('s2', 'access-9'));
    nock(base)
      .put(`${api}/jobs/j1/attempts/1/result`)
      .matchHeader('authorization', 'Bearer access-9')
      .matchHeader('idempotency-key', 'j1:1')
      .reply(200, { accepted: true, jobState: 'succeeded' });
    const body = {
      leaseId: 'l1',
      fencingToken: 1,
      outcome: 'succeeded' as const,
      result: {},
      startedAt: 'a',
      finishedAt: 'b',
    };
    await expect(cp.submitResult('j1', 1, serialiseResult(body))).resolves.toEqual({
      accepted: true,
      jobState: 'succeeded',
    });
    expect(cp.current?.sessionId).toBe('s2');
  });

  it('sends a serialised result as the text it was given, never serialising it again', async () => {
    const { cp } = await registered();
    // Not JSON.stringify's own spacing: a body serialised again would not match.
    const json =
      '{ "leaseId": "l1", "fencingToken": 1, "outcome": "succeeded", "startedAt": "a", "finishedAt": "b" }';
    nock(base)
      .put(`${api}/jobs/j1/attempts/1/result`, json)
      .matchHeader('content-type', 'application/json')
      .matchHeader('idempotency-key', 'j1:1')
      .reply(200, { accepted: true, jobState: 'succeeded' });
    await expect(cp.submitResult('j1', 1, { json })).resolves.toEqual({
      accepted: true,
      jobState: 'succeeded',
    });
  });

  it('takes an accepted result whose job state this build does not know (a newer server’s)', async () => {
    const { cp } = await registered();
    nock(base).put(`${api}/jobs/j1/attempts/1/result`).reply(200, { accepted: true, jobState: 'archived' });
    await expect(cp.submitResult('j1', 1, serialiseResult(succeeded))).resolves.toEqual({
      accepted: true,
      jobState: 'archived',
    });
  });

  it('maps 409 stale_fence to a non-retryable conflict that names the protocol code', async () => {
    const { cp } = await registered();
    nock(base)
      .put(`${api}/jobs/j1/attempts/2/result`)
      .reply(409, { error: { code: 'stale_fence', message: 'superseded' } });
    await expect(cp.submitResult('j1', 2, serialiseResult(succeeded))).rejects.toMatchObject({
      code: 'conflict',
      retryable: false,
      details: { protocolCode: 'stale_fence' },
    });
  });

  it('records an intent with a fenced PUT and maps a lost lease to a non-retryable conflict', async () => {
    const { cp } = await registered();
    const lease = { jobId: 'j1', leaseId: 'l-2', fencingToken: 9 };
    const intent = {
      added: [{ level: 'org', role: 'ORG_READ_ONLY' }],
      expiresAt: '2026-12-04T18:00:00.000Z',
    };
    nock(base)
      .put(`${api}/jobs/j1/attempts/2/intent`, { leaseId: 'l-2', fencingToken: 9, intent })
      .matchHeader('authorization', 'Bearer access-1')
      .reply(200, { recorded: true });
    await expect(cp.recordIntent(lease, 2, intent)).resolves.toBeUndefined();
    nock(base)
      .put(`${api}/jobs/j1/attempts/2/intent`)
      .reply(409, { error: { code: 'lease_lost', message: 'not the current lease' } });
    await expect(cp.recordIntent(lease, 2, intent)).rejects.toMatchObject({
      code: 'conflict',
      retryable: false,
      details: { endpoint: 'intent', protocolCode: 'lease_lost' },
    });
  });

  it('treats a proxy error page and 503 with Retry-After as retryable', async () => {
    const { cp } = await registered();
    nock(base).post(`${api}/jobs/j1/lease:extend`).reply(502, '<html>bad gateway</html>');
    await expect(cp.extend({ jobId: 'j1', leaseId: 'l', fencingToken: 1 })).rejects.toMatchObject({
      code: 'upstream_unavailable',
      retryable: true,
    });
    nock(base)
      .post(`${api}/jobs/j1/lease:extend`)
      .reply(503, { error: { code: 'unavailable', message: 'later' } }, { 'retry-after': '7' });
    await expect(cp.extend({ jobId: 'j1', leaseId: 'l', fencingToken: 1 })).rejects.toMatchObject({
      retryable: true,
      retryAfterMs: 7_000,
    });
  });

  it('treats a redirect, never followed, as retryable, so a result is not refused on it', async () => {
    const { cp } = await registered();
    // A proxy's sign-in redirect or a load balancer's move carries no protocol body: like any such
    // answer (§2), it is retried; taken as a refusal, the outbox would drop the result.
    nock(base)
      .put(`${api}/jobs/j1/attempts/1/result`)
      .reply(302, '<html>sign in</html>', { location: 'https://sso.example.test/' });
    await expect(cp.submitResult('j1', 1, serialiseResult(succeeded))).rejects.toMatchObject({
      retryable: true,
      details: { endpoint: 'result', httpStatus: 302 },
    });
  });

  it('treats a 2xx body that does not match the protocol as a retryable invalid_response', async () => {
    const { cp } = await registered();
    nock(base).post(`${api}/jobs/j1/lease:extend`).reply(200, { surprise: true });
    await expect(cp.extend({ jobId: 'j1', leaseId: 'l', fencingToken: 1 })).rejects.toMatchObject({
      code: 'invalid_response',
      retryable: true,
    });
  });

  it('treats a 200 claim answer with no body as retryable, not as "no jobs" (the jobs were leased)', async () => {
    const { cp } = await registered();
    // A 200 carries `{"jobs": […]}`: an empty one (an intermediary's) is no protocol body, and taking
    // it for an empty claim would leave the leased jobs unrun and the claim's key unused for them.
    nock(base).post(`${api}/sessions/s1/jobs:claim`).reply(200, '');
    await expect(cp.claim({ maxJobs: 2, waitMs: 100 }, 'claim-1')).rejects.toMatchObject({
      code: 'invalid_response',
      retryable: true,
    });
  });

  it('treats a 204 to a call answered with a body (a result, an extend) as retryable, not as done', async () => {
    const { cp } = await registered();
    // Only a claim is answered 204 by the protocol; a result taken as delivered on an empty 204
    // (an intermediary's) would be dropped from the outbox while the server never saw it.
    nock(base).put(`${api}/jobs/j1/attempts/1/result`).reply(204);
    await expect(cp.submitResult('j1', 1, serialiseResult(succeeded))).rejects.toMatchObject({
      code: 'invalid_response',
      retryable: true,
      details: { endpoint: 'result', httpStatus: 204 },
    });
    nock(base).post(`${api}/jobs/j1/lease:extend`).reply(204);
    await expect(cp.extend({ jobId: 'j1', leaseId: 'l1', fencingToken: 1 })).rejects.toMatchObject({
      code: 'invalid_response',
      retryable: true,
    });
  });

  it('maps a network failure to upstream_unavailable and never puts a token in an error', async () => {
    const { cp, logs } = await registered();
    nock(base).post(`${api}/sessions/s1/heartbeat`).replyWithError('socket hang up');
    const error = await cp
      .heartbeat({ sentAt: 'x', state: 'idle', inFlight: [], outboxDepth: 0, freeSlots: 1 })
      .catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'upstream_unavailable' });
    expect(JSON.stringify(error) + String((error as Error).message)).not.toContain('access-1');
    expect(logs.text()).not.toContain(enrollment);
  });

  it('ends a call at its deadline as timeout, and a call its caller aborts as cancelled', async () => {
    const { cp } = await registered();
    // Deregister's deadline is 1 s; the server answers after 3 s.
    nock(base).delete(`${api}/sessions/s1`).delay(3_000).reply(204);
    await expect(cp.deregister()).rejects.toMatchObject({ code: 'timeout' });

    const caller = new AbortController();
    // Aborted once the request is out, long before the 30 s deadline.
    nock(base)
      .post(`${api}/sessions/s1/heartbeat`)
      .delay(3_000)
      .reply(200, {})
      .on('request', () => caller.abort());
    const beat = cp.heartbeat(
      { sentAt: 'x', state: 'idle', inFlight: [], outboxDepth: 0, freeSlots: 1 },
      caller.signal,
    );
    await expect(beat).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('drops the whole session token from an error envelope whose message is cut through it', async () => {
    const { cp } = client();
    const token = 'Q7XK9ZPW3VNM5RJT';
    nock(base).post(`${api}/connectors/register`).reply(201, registration('s1', token));
    await cp.register(registerRequest);
    // The cut is at 300 characters of the message: the token runs from 295 to 311.
    const head = 'the heartbeat was refused because the session '.repeat(7).slice(0, 294);
    nock(base)
      .post(`${api}/sessions/s1/heartbeat`)
      .reply(400, { error: { code: 'invalid_request', message: `${head} ${token} is not valid here` } });
    const error = (await cp
      .heartbeat({ sentAt: 'x', state: 'idle', inFlight: [], outboxDepth: 0, freeSlots: 1 })
      .catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'invalid_request', details: { protocolCode: 'invalid_request' } });
    const pieces: string[] = [];
    for (let from = 0; from < token.length - 1; from += 1) {
      for (let to = from + 2; to <= token.length; to += 1) pieces.push(token.slice(from, to));
    }
    expect(pieces.filter((piece) => error.message.includes(piece))).toEqual([]);
    expect(error.message).toMatch(new RegExp(`: ${head.trimEnd()}…$`));
  });

  it('refuses a wrong enrollment token with auth_failed', async () => {
    const { cp } = client();
    nock(base)
      .post(`${api}/connectors/register`)
      .reply(401, { error: { code: 'unauthorized', message: 'bad token' } });
    await expect(cp.register(registerRequest)).rejects.toMatchObject({
      code: 'auth_failed',
      retryable: false,
    });
  });
});
