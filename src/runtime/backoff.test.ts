import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../errors/connector-error.js';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../test/fakes/fake-random.js';
import { fullJitterDelay, withRetry } from './backoff.js';

const policy = { baseMs: 1_000, capMs: 60_000 };
const transient = () => new ConnectorError({ code: 'upstream_unavailable', message: 'down' });

describe('fullJitterDelay', () => {
  it('draws uniformly below the exponential window', () => {
    expect(fullJitterDelay(policy, 0, { float: () => 0.999 })).toBe(999);
    expect(fullJitterDelay(policy, 3, { float: () => 0.5 })).toBe(4_000);
    expect(fullJitterDelay(policy, 0, { float: () => 0 })).toBe(0);
  });

  it('never exceeds the cap however many attempts failed', () => {
    expect(fullJitterDelay(policy, 40, { float: () => 0.999999 })).toBeLessThan(60_000);
  });

  it('never waits less than Retry-After', () => {
    expect(fullJitterDelay(policy, 0, { float: () => 0.1 }, 30_000)).toBe(30_000);
  });
});

describe('withRetry', () => {
  it('retries retryable errors until the operation succeeds', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const result = withRetry(
      async () => {
        calls += 1;
        if (calls < 3) throw transient();
        return 'ok';
      },
      { ...policy, clock, random: new FakeRandom([0.5]), maxAttempts: 5 },
    );
    await clock.advance(500); // first wait: 0.5 × 1 s
    await clock.advance(1_000); // second: 0.5 × 2 s
    await expect(result).resolves.toBe('ok');
    expect(calls).toBe(3);
  });

  it('gives up at once on a non-retryable error', async () => {
    let calls = 0;
    const failing = withRetry(
      async () => {
        calls += 1;
        throw new ConnectorError({ code: 'forbidden', message: 'no' });
      },
      { ...policy, clock: new FakeClock(), random: new FakeRandom(), maxAttempts: 5 },
    );
    await expect(failing).rejects.toMatchObject({ code: 'forbidden' });
    expect(calls).toBe(1);
  });

  it('stops after maxAttempts and rethrows the last error', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const failing = withRetry(
      async () => {
        calls += 1;
        throw transient();
      },
      { ...policy, clock, random: new FakeRandom([0]), maxAttempts: 3 },
    );
    const settled = failing.catch((error: unknown) => error);
    await clock.advance(10);
    expect(await settled).toMatchObject({ code: 'upstream_unavailable' });
    expect(calls).toBe(3);
  });

  it('honours Retry-After from the error', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const result = withRetry(
      async () => {
        calls += 1;
        if (calls === 1)
          throw new ConnectorError({ code: 'rate_limited', message: 'slow down', retryAfterMs: 7_000 });
        return calls;
      },
      { ...policy, clock, random: new FakeRandom([0]), maxAttempts: 3 },
    );
    await clock.advance(6_999);
    expect(calls).toBe(1);
    await clock.advance(1);
    await expect(result).resolves.toBe(2);
  });

  it('does not start an attempt that would begin after the deadline', async () => {
    const clock = new FakeClock();
    const failing = withRetry(
      async () => {
        throw transient();
      },
      { ...policy, clock, random: new FakeRandom([0.9]), maxAttempts: Infinity, deadlineMs: 500 },
    );
    await expect(failing).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });

  it('rejects with cancelled when the signal aborts during a wait', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const failing = withRetry(
      async () => {
        throw transient();
      },
      { ...policy, clock, random: new FakeRandom([0.5]), maxAttempts: 5, signal: controller.signal },
    );
    await clock.advance(1);
    controller.abort();
    await expect(failing).rejects.toMatchObject({ code: 'cancelled' });
  });
});
