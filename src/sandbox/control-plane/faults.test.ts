import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeClock } from '../../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../../test/fakes/fake-random.js';
import { paths, ProtocolErrorBody, type HeartbeatRequest } from '../../control-plane/protocol.js';
import {
  eventually,
  type Call,
  type TestSession,
  startTestPlane,
} from '../../../test/kits/control-plane-http-test-kit.js';
import type { ReferenceControlPlane } from './reference-control-plane.js';

const enrollmentToken = 'enroll-secret';

let plane: ReferenceControlPlane;
let clock: FakeClock;
let protocol: Call;
let admin: Call;
let session: TestSession;

beforeEach(async () => {
  ({ plane, clock, protocol, admin, session } = await startTestPlane(enrollmentToken, {
    random: new FakeRandom([0.5]),
    intervals: { pollWaitMs: 0 },
  }));
});

afterEach(async () => {
  await plane.close();
});

const heartbeatBody: HeartbeatRequest = {
  sentAt: '2026-11-24T12:00:00.000Z',
  state: 'idle',
  inFlight: [],
  outboxDepth: 0,
  freeSlots: 1,
};

function heartbeat() {
  return protocol('POST', paths.heartbeat(session.sessionId), {
    token: session.accessToken,
    body: heartbeatBody,
  });
}

function claim() {
  return protocol('POST', paths.claim(session.sessionId), {
    token: session.accessToken,
    body: { maxJobs: 1, waitMs: 0 },
  });
}

describe('fault injection', () => {
  it('drops every protocol connection while unavailable, but never the admin API', async () => {
    const set = await admin('POST', '/admin/faults', { body: { unavailableForMs: 10_000 } });
    await expect(heartbeat()).rejects.toThrow();
    expect((await admin('GET', '/admin/health')).status).toBe(200);
    await clock.advance(10_000);

    expect(set.body).toMatchObject({ unavailableForMs: 10_000, unavailableRemainingMs: 10_000 });
    expect((await heartbeat()).status).toBe(200);
  });

  it('answers 503 unavailable with Retry-After on the chosen routes only', async () => {
    await admin('POST', '/admin/faults', { body: { errorRate: 1, routes: ['claim'] } });
    const claimed = await claim();
    const beat = await heartbeat();

    expect([claimed.status, ProtocolErrorBody.parse(claimed.body).error.code]).toEqual([503, 'unavailable']);
    expect(claimed.headers.get('retry-after')).toBe('1');
    expect(beat.status).toBe(200);
  });

  it('leaves requests alone when the error draw is above errorRate', async () => {
    plane.faults.set({ errorRate: 0.4 });
    expect((await heartbeat()).status).toBe(200);
  });

  it('delays each request by delayMs on the clock', async () => {
    plane.faults.set({ delayMs: 2_000 });
    let settled = false;
    const pending = heartbeat().finally(() => (settled = true));
    await eventually(() => plane.store.requestCounts().heartbeat === 1, 'the heartbeat to arrive');
    await clock.advance(1_999);
    expect(settled).toBe(false);
    await clock.advance(1);
    expect((await pending).status).toBe(200);
  });

  it('serves normally again once the faults are cleared', async () => {
    plane.faults.set({ errorRate: 1 });
    const cleared = await admin('DELETE', '/admin/faults');
    expect(cleared.status).toBe(204);
    expect((await heartbeat()).status).toBe(200);
  });

  it('refuses fault settings out of range', async () => {
    const answer = await admin('POST', '/admin/faults', { body: { errorRate: 2 } });
    expect([answer.status, ProtocolErrorBody.parse(answer.body).error.code]).toEqual([
      400,
      'invalid_request',
    ]);
  });
});
