import { describe, expect, it } from 'vitest';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { collectorFrom, compactAfterStartup } from './heap-compaction.js';

describe('compactAfterStartup', () => {
  it('collects once and logs the RSS before and after and how long it took', () => {
    const { logger, lines } = captureLogs();
    const rss = [88.24, 76.11];
    const times = [1_000, 1_026.44];
    let collections = 0;

    compactAfterStartup(() => (collections += 1), {
      logger,
      rssMb: () => rss.shift() ?? Number.NaN,
      monotonic: () => times.shift() ?? Number.NaN,
    });

    expect(collections).toBe(1);
    expect(lines()).toMatchObject([
      { msg: 'heap compacted after start-up', rssBeforeMb: 88.2, rssAfterMb: 76.1, durationMs: 26.4 },
    ]);
  });

  it('does nothing, and logs nothing, without a collector (node started without --expose-gc)', () => {
    const { logger, lines } = captureLogs();
    compactAfterStartup(undefined, {
      logger,
      rssMb: () => expect.unreachable('no RSS read without a collector'),
      monotonic: () => 0,
    });
    expect(lines()).toEqual([]);
  });
});

describe('collectorFrom', () => {
  it('asks V8 for a synchronous, memory-reducing ("last-resort") major collection', () => {
    const calls: unknown[] = [];
    const gc = ((options?: unknown) => {
      calls.push(options);
    }) as NodeJS.GCFunction;

    collectorFrom(gc)?.();

    expect(calls).toEqual([{ type: 'major', execution: 'sync', flavor: 'last-resort' }]);
  });

  it('gives no collector when node has no gc', () => {
    expect(collectorFrom(undefined)).toBeUndefined();
  });
});
