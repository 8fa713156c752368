import { describe, expect, it } from 'vitest';
import { FakeAtlasClient, fakeAtlasError } from '../../../test/fakes/fake-atlas-client.js';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { clusterFixture, projectId, settle } from './grant-test-kit.js';
import { readinessPolling, waitUntilApplied } from './readiness.js';

function setup(readyTimeoutMs = 60_000) {
  const clock = new FakeClock();
  const atlas = new FakeAtlasClient(clock).addProject(projectId);
  atlas.addCluster(projectId, clusterFixture('A')).addCluster(projectId, clusterFixture('B'));
  const controller = new AbortController();
  const wait = (clusters: string[]) =>
    waitUntilApplied(
      { atlas: atlas.client, clock, readyTimeoutMs },
      { signal: controller.signal },
      projectId,
      clusters,
    );
  return { clock, atlas, controller, wait };
}

/** Status answers PENDING `n` times (whatever cluster asks), then APPLIED. */
function pendingTimes(atlas: FakeAtlasClient, n: number): void {
  let left = n;
  const step = (): void => {
    atlas.neverApplied = left > 0;
    left -= 1;
    atlas.beforeNext('clusters.status', step);
  };
  atlas.beforeNext('clusters.status', step);
}

describe('waitUntilApplied', () => {
  it('returns after one status read per cluster when the change already applied, without sleeping', async () => {
    const { clock, atlas, wait } = setup();
    await wait(['A', 'B', 'A']);
    expect(atlas.callsTo('clusters.status')).toEqual([
      [projectId, 'A'],
      [projectId, 'B'],
    ]);
    expect(clock.monotonic()).toBe(0);
  });

  it('polls every 100 ms for the first 3 s, then every 500 ms', async () => {
    const { clock, atlas, wait } = setup();
    pendingTimes(atlas, 33);
    await settle(clock, wait(['A']));
    // 31 reads fall in [0, 3000] ms at 100 ms spacing; the 32nd and 33rd come 500 ms apart after that.
    expect(atlas.callsTo('clusters.status')).toHaveLength(34);
    expect(clock.monotonic()).toBe(3_000 + 3 * 500);
  });

  it('re-reads only the clusters still pending', async () => {
    const { clock, atlas, wait } = setup();
    pendingTimes(atlas, 1);
    await settle(clock, wait(['A', 'B']));
    expect(atlas.callsTo('clusters.status').map(([, c]) => c)).toEqual(['A', 'B', 'A']);
  });

  it('gives up with a retryable not_ready after readyTimeoutMs', async () => {
    const { clock, atlas, wait } = setup(2_000);
    atlas.neverApplied = true;
    const failure = settle(clock, wait(['A']));
    await expect(failure).rejects.toMatchObject({ code: 'not_ready', retryable: true });
    await expect(failure).rejects.toThrow(/cluster A in project .* did not apply the change within 2 s/);
    expect(clock.monotonic()).toBe(2_000);
  });

  it('stops at once when the job is cancelled', async () => {
    const { clock, atlas, controller, wait } = setup();
    atlas.neverApplied = true;
    const failure = wait(['A']);
    await settle(clock, Promise.resolve());
    controller.abort(new Error('lease lost'));
    await expect(failure).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('passes an Atlas failure through', async () => {
    const { atlas, wait } = setup();
    atlas.failNext('clusters.status', fakeAtlasError(503, 'SERVICE_UNAVAILABLE'));
    await expect(wait(['A'])).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});

/** Makes the next change apply `ms` after now; earlier "applies after" hooks stop acting. */
let generation = 0;
function appliesAfter(clock: FakeClock, atlas: FakeAtlasClient, ms: number): void {
  const mine = (generation += 1);
  const started = clock.monotonic();
  atlas.neverApplied = ms > 0;
  const check = (): void => {
    if (mine !== generation) return;
    atlas.neverApplied = clock.monotonic() - started < ms;
    atlas.beforeNext('clusters.status', check);
  };
  atlas.beforeNext('clusters.status', check);
}

/** Steps the clock 5 ms at a time so poll times are observed exactly. */
async function finely<T>(clock: FakeClock, promise: Promise<T>): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => (done = true));
  while (!done) await clock.advance(5);
  return tracked;
}

describe('adaptive readiness polling', () => {
  it('learns how long changes take and then waits about that long before the first poll', async () => {
    const { clock, atlas, wait } = setup();
    appliesAfter(clock, atlas, 800);
    await finely(clock, wait(['A'])); // cold: polls at 0, 100, …, 800 ms
    expect(atlas.callsTo('clusters.status')).toHaveLength(9);
    const before = atlas.callsTo('clusters.status').length;
    const started = clock.monotonic();
    appliesAfter(clock, atlas, 800);
    await finely(clock, wait(['A'])); // first poll one 25 ms step before 800 ms (PENDING), then at 800
    const polls = atlas.callsTo('clusters.status').length - before;
    expect(polls).toBe(2);
    expect(clock.monotonic() - started).toBe(800);
  });

  it('converges to one or two polls per change when changes take the same time', async () => {
    const { clock, atlas, wait } = setup();
    for (let i = 0; i < 8; i += 1) {
      appliesAfter(clock, atlas, 400);
      await finely(clock, wait(['A']));
    }
    const before = atlas.callsTo('clusters.status').length;
    const started = clock.monotonic();
    appliesAfter(clock, atlas, 400);
    await finely(clock, wait(['A']));
    expect(atlas.callsTo('clusters.status').length - before).toBeLessThanOrEqual(2);
    expect(clock.monotonic() - started).toBeLessThan(400 + readinessPolling.fineMs + 10);
  });
});
