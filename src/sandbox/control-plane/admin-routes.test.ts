import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../../test/fakes/fake-random.js';
import {
  ClaimResponse,
  ExtendResponse,
  JobEnvelope,
  paths,
  ProtocolErrorBody,
} from '../../control-plane/protocol.js';
import {
  callers,
  registerSession,
  type Call,
  type TestSession,
} from '../../../test/kits/control-plane-http-test-kit.js';
import { startReferenceControlPlane, type ReferenceControlPlane } from './reference-control-plane.js';

const enrollmentToken = 'enroll-secret';
const JobCreated = z.object({ jobId: z.string() });
const JobList = z.object({ jobs: z.array(z.object({ jobId: z.string() })) });

let plane: ReferenceControlPlane;
let protocol: Call;
let admin: Call;
let session: TestSession;

beforeEach(async () => {
  plane = await startReferenceControlPlane({
    enrollmentToken,
    clock: new FakeClock(),
    random: new FakeRandom(),
    intervals: { pollWaitMs: 0 },
  });
  ({ protocol, admin } = callers(plane));
  session = await registerSession(protocol, enrollmentToken);
});

afterEach(async () => {
  await plane.close();
});

async function claimOne(): Promise<JobEnvelope> {
  const answer = await protocol('POST', paths.claim(session.sessionId), {
    token: session.accessToken,
    body: { maxJobs: 1, waitMs: 0 },
  });
  return JobEnvelope.parse(ClaimResponse.parse(answer.body).jobs[0]);
}

async function postJob(body: Record<string, unknown>): Promise<string> {
  const answer = await admin('POST', '/admin/jobs', { body });
  if (answer.status !== 201) throw new Error(`POST /admin/jobs answered ${answer.status}`);
  return JobCreated.parse(answer.body).jobId;
}

function errorOf(answer: { status: number; body: unknown }): [number, string] {
  return [answer.status, ProtocolErrorBody.parse(answer.body).error.code];
}

describe('admin API', () => {
  it('answers health checks', async () => {
    expect(await admin('GET', '/admin/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('registers integrations after checking their shape and hands them out with jobs', async () => {
    const invalid = await admin('PUT', '/admin/integrations/int-1', {
      body: { kind: 'atlas-project', config: {} },
    });
    const valid = await admin('PUT', '/admin/integrations/int-1', {
      body: { kind: 'atlas-project', config: { projectId: 'p' }, secretRef: 'env://ATLAS' },
    });
    await postJob({ type: 'grant', integrationId: 'int-1' });

    expect(errorOf(invalid)).toEqual([400, 'invalid_request']);
    expect(ProtocolErrorBody.parse(invalid.body).error.message).toMatch(/^secretRef:/);
    expect(valid.status).toBe(200);
    expect((await claimOne()).integration).toEqual({
      id: 'int-1',
      kind: 'atlas-project',
      config: { projectId: 'p' },
      secretRef: 'env://ATLAS',
    });
  });

  it.each([
    ['POST', '/admin/jobs', { type: 'grant', integrationID: 'int-1' }, 'integrationID'],
    [
      'PUT',
      '/admin/integrations/int-1',
      { kind: 'atlas-project', config: {}, secretRef: 'env://A', secretref: 'x' },
      'secretref',
    ],
    ['POST', '/admin/faults', { unavailableForMS: 10 }, 'unavailableForMS'],
    ['PUT', '/admin/intervals', { leaseTTLMs: 1_000 }, 'leaseTTLMs'],
  ] as const)('answers 400 naming an unknown key: %s %s', async (method, path, body, key) => {
    const answer = await admin(method, path, { body });
    expect(errorOf(answer)).toEqual([400, 'invalid_request']);
    expect(ProtocolErrorBody.parse(answer.body).error.message).toContain(`"${key}"`);
  });

  it('refuses a job for an unknown integration', async () => {
    expect(
      errorOf(await admin('POST', '/admin/jobs', { body: { type: 'grant', integrationId: 'x' } })),
    ).toEqual([404, 'not_found']);
  });

  it('refuses a notAfterMs that ends past the last date a job can carry, and keeps leasing the others', async () => {
    // new Date() holds ±8.64e15 ms: the envelope's notAfter of such a job could not be written, so
    // every claim reaching it answered 500 and kept the leases it had taken on the way.
    const refused = await admin('POST', '/admin/jobs', { body: { type: 'revoke', notAfterMs: 8.64e15 } });
    const jobId = await postJob({ type: 'revoke' });

    expect(errorOf(refused)).toEqual([400, 'invalid_request']);
    expect(ProtocolErrorBody.parse(refused.body).error.message).toMatch(/^notAfterMs:/);
    expect((await claimOne()).jobId).toBe(jobId);
  });

  it('sends payloadRaw verbatim, even when it is not JSON', async () => {
    await postJob({ type: 'grant', payloadRaw: '{"unterminated' });
    expect((await claimOne()).payload).toBe('{"unterminated');
  });

  it('shows a job with its state, attempts and lease history, and lists jobs by state', async () => {
    const jobId = await postJob({ type: 'revoke', resourceKey: 'p/alice' });
    await claimOne();
    const job = await admin('GET', `/admin/jobs/${jobId}`);
    const leased = await admin('GET', '/admin/jobs?state=leased');
    const queued = await admin('GET', '/admin/jobs?state=queued');
    const invalid = await admin('GET', '/admin/jobs?state=sleeping');

    expect(job.body).toMatchObject({
      jobId,
      type: 'revoke',
      state: 'leased',
      attempts: 1,
      resourceKey: 'p/alice',
      history: [{ attempt: 1, sessionId: session.sessionId, leasedAt: expect.any(String) }],
    });
    expect(JobList.parse(leased.body).jobs.map((j) => j.jobId)).toEqual([jobId]);
    expect(queued.body).toEqual({ jobs: [] });
    expect(errorOf(invalid)).toEqual([400, 'invalid_request']);
    expect(errorOf(await admin('GET', '/admin/jobs/unknown'))).toEqual([404, 'not_found']);
  });

  it('flags a leased job for cancellation, which its holder sees on the next extend', async () => {
    const jobId = await postJob({ type: 'grant' });
    const lease = await claimOne();
    const cancelled = await admin('POST', `/admin/jobs/${jobId}:cancel`);
    const extended = await protocol('POST', paths.extend(jobId), {
      token: session.accessToken,
      body: { leaseId: lease.leaseId, fencingToken: lease.fencingToken },
    });
    expect(cancelled.body).toMatchObject({ jobId, cancelRequested: true });
    expect(ExtendResponse.parse(extended.body).cancelRequested).toBe(true);
  });

  it('lists sessions and queues heartbeat actions for one of them', async () => {
    const queued = await admin('POST', `/admin/sessions/${session.sessionId}/actions`, {
      body: { action: 'pause' },
    });
    const unknownAction = await admin('POST', `/admin/sessions/${session.sessionId}/actions`, {
      body: { action: 'explode' },
    });
    const sessions = await admin('GET', '/admin/sessions');

    expect(queued.status).toBe(200);
    expect(errorOf(unknownAction)).toEqual([400, 'invalid_request']);
    expect(sessions.body).toMatchObject({
      sessions: [
        { sessionId: session.sessionId, connectorId: 'conn-1', state: 'starting', pendingActions: ['pause'] },
      ],
    });
    expect(
      errorOf(await admin('POST', '/admin/sessions/nope/actions', { body: { action: 'drain' } })),
    ).toEqual([404, 'not_found']);
  });

  it('counts protocol requests per route', async () => {
    await postJob({ type: 'grant' });
    await claimOne();
    expect((await admin('GET', '/admin/requests')).body).toEqual({ counts: { register: 1, claim: 1 } });
  });
});
