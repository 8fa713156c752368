import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../../src/runtime/clock.js';

/**
 * Real time plus an offset the test can move forward: lets an end-to-end test jump a simulator
 * past a `deleteAfterDate` while everything else keeps running on real time.
 */
export class ShiftedClock implements Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  monotonic(): number {
    return performance.now() + this.offsetMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }

  shift(ms: number): void {
    this.offsetMs += ms;
  }
}
