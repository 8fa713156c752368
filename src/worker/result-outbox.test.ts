import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../test/fakes/fake-random.js';
import { FakeControlPlane, httpError } from '../../test/fakes/fake-control-plane.js';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { serialiseResult } from '../control-plane/protocol.js';
import { ResultOutbox } from './result-outbox.js';

const body = serialiseResult({
  leaseId: 'lease-1',
  fencingToken: 1,
  outcome: 'succeeded',
  result: { echo: 'x' },
  startedAt: '2026-11-24T00:00:00.000Z',
  finishedAt: '2026-11-24T00:00:01.000Z',
});

function setup() {
  const clock = new FakeClock();
  const cp = new FakeControlPlane(clock);
  const depths: number[] = [];
  const logs = captureLogs();
  const outbox = new ResultOutbox({
    client: cp,
    clock,
    random: new FakeRandom([0.5]),
    log: logs.logger,
    onDepth: (d) => depths.push(d),
  });
  return { clock, cp, outbox, depths, logs };
}

describe('ResultOutbox', () => {
  it('retries with full jitter until the control plane accepts the result', async () => {
    const { clock, cp, outbox, depths } = setup();
    cp.resultBehaviour = (call) =>
      call <= 5 ? httpError('upstream_unavailable') : { accepted: true, jobState: 'succeeded' };
    const delivered = outbox.deliver('job-1', 1, body);
    await clock.advance(0);
    expect(outbox.depth).toBe(1);
    // 0.5 × (1, 2, 4, 8, 16) s
    await clock.advance(500 + 1_000 + 2_000 + 4_000 + 8_000 - 1);
    expect(cp.calls.results).toHaveLength(5);
    await clock.advance(1);
    await expect(delivered).resolves.toBe('accepted');
    expect(cp.calls.results).toHaveLength(6);
    expect(cp.calls.results.every((c) => c.jobId === 'job-1' && c.attempt === 1)).toBe(true);
    expect(depths.at(-1)).toBe(0);
  });

  it('warns of a result held through an hour-long outage a few times, not at every attempt', async () => {
    const { clock, cp, outbox, logs } = setup();
    cp.resultBehaviour = () => httpError('upstream_unavailable');
    const delivered = outbox.deliver('job-1', 1, body);
    for (let waited = 0; waited < 3_600_000; waited += 60_000) await clock.advance(60_000);
    await expect(delivered).resolves.toBe('dropped');
    const warned = logs
      .lines()
      .filter((l) => l.level === 'warn' && l.msg === 'result not delivered; will retry');
    // Every attempt is still made (each logged at debug).
    expect(cp.calls.results.length).toBeGreaterThan(60);
    expect(warned.length).toBeGreaterThanOrEqual(1);
    expect(warned.length).toBeLessThanOrEqual(13);
  });

  it('waits at least Retry-After before the next attempt', async () => {
    const { clock, cp, outbox } = setup();
    cp.resultBehaviour = (call) =>
      call === 1 ? httpError('rate_limited', undefined, 20_000) : { accepted: true, jobState: 'succeeded' };
    const delivered = outbox.deliver('job-1', 1, body);
    await clock.advance(19_999);
    expect(cp.calls.results).toHaveLength(1);
    await clock.advance(1);
    await expect(delivered).resolves.toBe('accepted');
  });

  it('takes a Retry-After far beyond the result’s life as 15 minutes, and drops the result after 1 h', async () => {
    const { clock, cp, outbox } = setup();
    // A misconfigured load balancer's day-long hint: the worker claims nothing while a result is held.
    cp.resultBehaviour = () => httpError('upstream_unavailable', 'unavailable', 86_400_000);
    let settled: string | undefined;
    void outbox.deliver('job-1', 1, body).then((result) => (settled = result));
    await clock.advance(15 * 60_000);
    expect(cp.calls.results).toHaveLength(2);
    await clock.advance(45 * 60_000);
    expect(settled).toBe('dropped');
    expect(outbox.depth).toBe(0);
  });

  it('retries every held result at once when woken (contact is back), not after its backoff', async () => {
    const { clock, cp, outbox } = setup();
    let reachable = false;
    cp.resultBehaviour = () =>
      reachable ? { accepted: true, jobState: 'succeeded' } : httpError('upstream_unavailable');
    const first = outbox.deliver('job-1', 1, body);
    const second = outbox.deliver('job-2', 1, body);
    await clock.advance(30_000);
    const failedCalls = cp.calls.results.length;
    reachable = true;

    outbox.wake();

    await expect(Promise.all([first, second])).resolves.toEqual(['accepted', 'accepted']);
    expect(cp.calls.results.length - failedCalls).toBe(2);
    await expect(outbox.whenEmpty()).resolves.toBeUndefined();
  });

  it('wakes the other held results when one of them gets through', async () => {
    const { clock, cp, outbox } = setup();
    let reachable = false;
    cp.resultBehaviour = () =>
      reachable ? { accepted: true, jobState: 'succeeded' } : httpError('upstream_unavailable');
    const longHeld = outbox.deliver('job-2', 1, body);
    // Five failures: job-2 now sleeps 0.5 × 16 s.
    await clock.advance(500 + 1_000 + 2_000 + 4_000);
    const fresh = outbox.deliver('job-1', 1, body);
    await clock.advance(0);
    reachable = true;

    await clock.advance(500);

    await expect(fresh).resolves.toBe('accepted');
    await expect(longHeld).resolves.toBe('accepted');
    expect(clock.monotonic()).toBeLessThan(10_000);
  });

  it('stops at once when the server refuses the result for good', async () => {
    const { cp, outbox } = setup();
    cp.resultBehaviour = () => httpError('conflict', 'stale_fence');
    await expect(outbox.deliver('job-1', 1, body)).resolves.toBe('rejected');
    expect(cp.calls.results).toHaveLength(1);
  });

  it('keeps a result the control plane would not take for want of credentials, and retries it', async () => {
    const { clock, cp, outbox } = setup();
    // auth_failed says nothing about the result: the lease may be valid, and the token fixable.
    cp.resultBehaviour = (call) =>
      call === 1 ? httpError('auth_failed', 'unauthorized') : { accepted: true, jobState: 'succeeded' };
    const delivered = outbox.deliver('job-1', 1, body);
    await clock.advance(500);
    await expect(delivered).resolves.toBe('accepted');
    expect(cp.calls.results).toHaveLength(2);
  });

  it('drops pending results only when abandoned', async () => {
    const { clock, cp, outbox } = setup();
    cp.resultBehaviour = () => httpError('upstream_unavailable');
    const delivered = outbox.deliver('job-1', 1, body);
    await clock.advance(600_000);
    expect(outbox.depth).toBe(1);
    outbox.abandonAll();
    await expect(delivered).resolves.toBe('dropped');
    expect(outbox.depth).toBe(0);
  });
});
