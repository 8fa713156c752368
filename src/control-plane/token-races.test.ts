import { describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../test/fakes/fake-random.js';
import { captureLogs } from '../../test/fakes/log-capture.js';
import type { Fetch, HttpRequestInit } from '../runtime/http.js';
import { ConnectorError } from '../errors/connector-error.js';
import { ResultOutbox } from '../worker/result-outbox.js';
import { ControlPlaneClient } from './control-plane-client.js';
import { serialiseResult } from './protocol.js';

/**
 * Calls that overlap a token change. The fake server checks a request's token when the test lets
 * it arrive, so the interleavings below are exactly the ones a real server can see.
 */

interface Pending {
  readonly url: string;
  readonly init: HttpRequestInit;
  readonly resolve: (response: Response) => void;
}

const serverTime = '2026-11-24T00:00:00.000Z';
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function controlPlane() {
  const pending: Pending[] = [];
  const seen: string[] = [];
  let issued = 0;
  let current: string | undefined;
  const issue = (): string => (current = `t${(issued += 1)}`);

  const answer = (request: Pending): Response => {
    const path = new URL(request.url).pathname;
    const token = request.init.headers?.authorization?.replace('Bearer ', '');
    seen.push(`${path.split('/').at(-1) ?? ''} with ${token ?? '-'}`);
    if (path.endsWith('/connectors/register')) {
      return json(201, {
        sessionId: 's1',
        accessToken: issue(),
        expiresInMs: 1_800_000,
        intervals: { heartbeatMs: 15_000, pollWaitMs: 25_000, leaseTtlMs: 60_000 },
        limits: { maxPayloadBytes: 262_144 },
        serverTime,
      });
    }
    if (token !== current) return json(401, { error: { code: 'unauthorized', message: 'bad token' } });
    if (path.endsWith('token:refresh')) return json(200, { accessToken: issue(), expiresInMs: 1_800_000 });
    if (path.endsWith('/heartbeat')) {
      return json(200, { serverTime, receivedAt: serverTime, actions: [], releaseLeases: [] });
    }
    return json(200, { accepted: true, jobState: 'succeeded' });
  };

  const fetch: Fetch = (url, init = {}) =>
    new Promise((resolve) => pending.push({ url, init, resolve: resolve as (r: Response) => void }));

  /** Lets the oldest request to a path ending in `suffix` arrive, once it has been sent. */
  const arrive = async (suffix: string): Promise<void> => {
    const index = () => pending.findIndex((p) => new URL(p.url).pathname.endsWith(suffix));
    await vi.waitFor(() => expect(index(), `${suffix} after ${seen.join(', ')}`).toBeGreaterThanOrEqual(0), {
      timeout: 5_000,
    });
    const [request] = pending.splice(index(), 1);
    if (request) request.resolve(answer(request));
  };

  /** Answers every request as it is sent until `done` settles (bounded by the test's timeout). */
  const serveUntil = async (done: Promise<unknown>): Promise<void> => {
    let settled = false;
    void done.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) {
      const request = pending.shift();
      if (request) request.resolve(answer(request));
      else await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };

  return { fetch, arrive, serveUntil, seen, expireToken: () => (current = undefined) };
}

async function registered(
  cp: ReturnType<typeof controlPlane>,
  clock: FakeClock,
  enrollmentToken = () => Promise.resolve('enrollment-token-0123456789'),
) {
  const logs = captureLogs();
  const client = new ControlPlaneClient({
    baseUrl: 'https://cp.test',
    enrollmentToken,
    fetch: cp.fetch,
    clock,
    logger: logs.logger,
    userAgent: 'test',
  });
  const registering = client.register({
    connectorId: 'c1',
    instanceId: 'i1',
    version: '0',
    protocol: 1,
    capacity: { maxJobs: 4 },
    features: [],
    jobTypes: [],
    startedAt: serverTime,
  });
  await cp.arrive('/connectors/register');
  await registering;
  const outbox = new ResultOutbox({ client, clock, random: new FakeRandom([0.5]), log: logs.logger });
  const result = () =>
    outbox.deliver(
      'j1',
      1,
      serialiseResult({
        leaseId: 'l1',
        fencingToken: 1,
        outcome: 'succeeded',
        result: {},
        startedAt: serverTime,
        finishedAt: serverTime,
      }),
    );
  const heartbeat = () =>
    client.heartbeat({ sentAt: serverTime, state: 'busy', inFlight: [], outboxDepth: 1, freeSlots: 3 });
  return { client, logs, result, heartbeat };
}

describe('control-plane calls that overlap a token change', () => {
  it('a call whose token another call already replaced retries with the new one, renewing nothing', async () => {
    const clock = new FakeClock();
    const cp = controlPlane();
    const { result, heartbeat, logs } = await registered(cp, clock);
    const delivered = result(); // sent with t1
    await clock.advance(1_800_000 - 59_000);
    const beat = heartbeat(); // due for refresh: refreshes ahead (t1 → t2), then goes with t2
    await cp.arrive('token:refresh');
    await cp.arrive('/heartbeat');
    await beat;
    await cp.arrive('/result'); // t1 is gone: 401; t2 is already there, so only the retry goes
    await cp.arrive('/result');
    expect(await delivered).toBe('accepted');
    expect(cp.seen).toEqual([
      'register with enrollment-token-0123456789',
      'token:refresh with t1',
      'heartbeat with t2',
      'result with t1',
      'result with t2',
    ]);
    expect(logs.lines().filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('after an outage longer than the token’s life, a held result is delivered once the client registers again', async () => {
    const clock = new FakeClock();
    const cp = controlPlane();
    const { result, heartbeat } = await registered(cp, clock);
    await clock.advance(1_900_000);
    cp.expireToken();
    const delivered = result(); // its refresh ahead fails (401); it goes with the stale t1
    await cp.arrive('token:refresh');
    const beat = heartbeat();
    await cp.arrive('/result');
    // From here on every request is answered as it comes, until both calls are done.
    await cp.serveUntil(Promise.all([delivered, beat]));
    expect(await delivered).toBe('accepted');
    expect(cp.seen.filter((line) => line.startsWith('register'))).toHaveLength(2);
  });

  it('keeps a held result when registering again fails for a reason of its own (a token file mid-rotation)', async () => {
    const clock = new FakeClock();
    const cp = controlPlane();
    let reads = 0;
    const enrollmentToken = async () => {
      reads += 1;
      if (reads === 2)
        throw new ConnectorError({
          code: 'config_invalid',
          message: 'CONTROL_PLANE_TOKEN_FILE: cannot read /var/run/secrets/token',
        });
      return 'enrollment-token-0123456789';
    };
    const { result } = await registered(cp, clock, enrollmentToken);
    await clock.advance(1_900_000);
    cp.expireToken();
    const delivered = result();
    let settled = false;
    void delivered.finally(() => (settled = true));
    // Every request is answered as it comes; the outbox's backoff runs on the fake clock.
    const started = Date.now();
    while (!settled) {
      if (Date.now() - started > 10_000) throw new Error(`result not settled after ${cp.seen.join(', ')}`);
      await cp.serveUntil(new Promise((resolve) => setTimeout(resolve, 1)));
      await clock.advance(100);
    }
    expect(await delivered).toBe('accepted');
    expect(reads).toBe(3);
  });

  it('refreshes the token before its next call when the control plane asks (refresh_token)', async () => {
    const clock = new FakeClock();
    const cp = controlPlane();
    const { client, heartbeat } = await registered(cp, clock);
    client.refreshSoon();
    const beat = heartbeat();
    await cp.arrive('token:refresh');
    await cp.arrive('/heartbeat');
    await beat;
    expect(cp.seen.slice(1)).toEqual(['token:refresh with t1', 'heartbeat with t2']);
  });
});
