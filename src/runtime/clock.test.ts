import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from './clock.js';

const overTimerLimitMs = 2 ** 31 + 5_000;

describe('systemClock.sleep', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sleeps the whole delay when it is longer than a timer can hold', async () => {
    let woke = false;
    const sleeping = systemClock.sleep(overTimerLimitMs).then(() => (woke = true));

    await vi.advanceTimersByTimeAsync(overTimerLimitMs - 1);
    expect(woke, 'one ms early').toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(woke).toBe(true);
  });

  it('stops a long sleep as cancelled when its signal aborts, leaving no timer behind', async () => {
    const controller = new AbortController();
    const sleeping = systemClock.sleep(overTimerLimitMs, controller.signal).then(
      () => 'woke',
      (error: unknown) => error,
    );

    await vi.advanceTimersByTimeAsync(2 ** 31);
    controller.abort();

    expect(await sleeping).toMatchObject({ code: 'cancelled' });
    expect(vi.getTimerCount()).toBe(0);
  });
});
