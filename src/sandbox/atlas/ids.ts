import type { Clock } from '../../runtime/clock.js';

/**
 * ObjectId-shaped 24-hex ids for entities created at runtime (events, invited users, teams). The
 * first 8 hex digits are the creation second, as in a MongoDB ObjectId, and the rest is a counter,
 * so ids sort by creation and repeat exactly between runs on a FakeClock.
 */
export interface IdGenerator {
  next(): string;
}

export function objectIdGenerator(clock: Clock, seed = 0x5a5a00): IdGenerator {
  let counter = seed;
  return {
    next: () => {
      counter += 1;
      const seconds = Math.floor(clock.now() / 1000) >>> 0;
      return seconds.toString(16).padStart(8, '0') + counter.toString(16).padStart(16, '0');
    },
  };
}

export function isObjectId(value: string): boolean {
  return /^[a-f0-9]{24}$/.test(value);
}

/** Atlas timestamps: ISO 8601 UTC without milliseconds. */
export function isoSeconds(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
