import { describe, expect, it } from 'vitest';
import { AtlasWorld, settleWorld } from '../../../../test/kits/atlas-world-test-kit.js';
import { clusterFixture, projectId } from '../../../../test/kits/grant-test-kit.js';
import { fineStep, nextPollDelay, probeEarlierBy, Readiness, readinessPolling } from './readiness.js';

/** A project with clusters A and B in the simulator; status reads go through the real client. */
function world(): AtlasWorld {
  const atlas = new AtlasWorld().addProject(projectId);
  return atlas.addCluster(projectId, clusterFixture('A')).addCluster(projectId, clusterFixture('B'));
}

function setup(readyTimeoutMs = 60_000) {
  const atlas = world();
  const { clock } = atlas;
  const controller = new AbortController();
  const readiness = new Readiness({ atlas: atlas.client, clock, readyTimeoutMs });
  const wait = (clusters: string[]) =>
    readiness.waitUntilApplied({ signal: controller.signal }, projectId, clusters);
  return { clock, atlas, controller, wait };
}

/** Lets `promise` finish, moving the fake clock only while no request is on the wire. */
const settle = <T>(atlas: AtlasWorld, promise: Promise<T>) => settleWorld(atlas, promise);

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
    atlas.changeAppliesAfter(projectId, 4_500);
    await settle(atlas, wait(['A']));
    // 31 reads fall in [0, 3000] ms at 100 ms spacing; the 32nd and 33rd come 500 ms apart after that.
    expect(atlas.callsTo('clusters.status')).toHaveLength(34);
    expect(clock.monotonic()).toBe(3_000 + 3 * 500);
  });

  it('re-reads only the clusters still pending', async () => {
    const { atlas, wait } = setup();
    atlas.pendingNext(1); // the first read (A's) lags; B's is APPLIED
    await settle(atlas, wait(['A', 'B']));
    expect(atlas.callsTo('clusters.status').map(([, c]) => c)).toEqual(['A', 'B', 'A']);
  });

  it('gives up with a retryable not_ready after readyTimeoutMs', async () => {
    const { clock, atlas, wait } = setup(2_000);
    atlas.neverApplied = true;
    const failure = settle(atlas, wait(['A']));
    await expect(failure).rejects.toMatchObject({ code: 'not_ready', retryable: true });
    await expect(failure).rejects.toThrow(/cluster A in project .* did not apply the change within 2 s/);
    expect(clock.monotonic()).toBe(2_000);
  });

  it('stops at once when the job is cancelled', async () => {
    const { atlas, controller, wait } = setup();
    atlas.neverApplied = true;
    const failure = wait(['A']);
    await settle(atlas, Promise.resolve());
    controller.abort(new Error('lease lost'));
    await expect(failure).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('has nothing to wait for on a cluster deleted since the write', async () => {
    const { atlas, wait } = setup();
    atlas.deleteCluster(projectId, 'B');
    await settle(atlas, wait(['A', 'B']));
    expect(atlas.callsTo('clusters.status').map(([, c]) => c)).toEqual(['A', 'B']);
  });

  it('passes an Atlas failure through', async () => {
    const { atlas, wait } = setup();
    atlas.failNext('clusters.status', 'SERVICE_UNAVAILABLE');
    await expect(wait(['A'])).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});

/** Makes a change to the project now whose propagation takes `ms` (a status poll from then on sees APPLIED). */
function appliesAfter(atlas: AtlasWorld, ms: number): void {
  atlas.changeAppliesAfter(projectId, ms);
}

/** Moves the clock to each sleep as it falls due (5 ms at most), so poll times are observed exactly. */
const finely = <T>(atlas: AtlasWorld, promise: Promise<T>) => settleWorld(atlas, promise, 5);

describe('adaptive readiness polling', () => {
  it('learns how long changes take and then waits about that long before the first poll', async () => {
    const { clock, atlas, wait } = setup();
    appliesAfter(atlas, 800);
    await finely(atlas, wait(['A'])); // cold: polls at 0, 100, …, 800 ms
    expect(atlas.callsTo('clusters.status')).toHaveLength(9);
    const before = atlas.callsTo('clusters.status').length;
    const started = clock.monotonic();
    appliesAfter(atlas, 800);
    await finely(atlas, wait(['A'])); // one poll, sent at the learned 800 ms
    const polls = atlas.callsTo('clusters.status').length - before;
    expect(polls).toBe(1);
    expect(clock.monotonic() - started).toBe(800);
  });

  it('steps in proportion to a long apply time, so a slow project is not polled 40 times a second', async () => {
    const { clock, atlas, wait } = setup();
    appliesAfter(atlas, 5_000);
    await finely(atlas, wait(['A'])); // cold: 100 ms, then 500 ms after 3 s
    const before = atlas.callsTo('clusters.status').length;
    const started = clock.monotonic();
    appliesAfter(atlas, 5_600);
    await finely(atlas, wait(['A']));
    // Learned about 5 s: the first poll one 250 ms step before it, then 250 ms steps.
    const polls = atlas.callsTo('clusters.status').length - before;
    expect(polls).toBeLessThanOrEqual(5);
    expect(clock.monotonic() - started).toBeLessThan(5_600 + 260);
    expect(nextPollDelay(5_000, 5_000, 1)).toBe(fineStep(5_000));
    expect(fineStep(5_000)).toBe(250);
    expect(fineStep(300)).toBe(readinessPolling.fineMs);
  });

  it('does not drift later when the round trip to Atlas is longer than the fine step', async () => {
    const { clock, atlas } = setup();
    // 30 ms each way: a status read answers 60 ms after it is sent, more than the 25 ms step.
    const status: typeof atlas.client.clusters.status = async (groupId, cluster, options) => {
      await clock.sleep(30);
      const answer = await atlas.client.clusters.status(groupId, cluster, options);
      await clock.sleep(30);
      return answer;
    };
    const slow = { ...atlas.client, clusters: { ...atlas.client.clusters, status } };
    const deps = { atlas: slow, clock, readyTimeoutMs: 60_000 };
    const elapsed: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      appliesAfter(atlas, 300);
      const started = clock.monotonic();
      await finely(
        atlas,
        new Readiness(deps).waitUntilApplied({ signal: new AbortController().signal }, projectId, ['A']),
      );
      elapsed.push(clock.monotonic() - started);
    }
    // The change is seen by a read sent at most about one step after it applied, answered 60 ms later.
    for (const ms of elapsed.slice(10))
      expect(ms).toBeLessThanOrEqual(300 + 30 + readinessPolling.fineMs + 30 + 5);
  });

  it('converges to one or two polls per change when changes take the same time', async () => {
    const { clock, atlas, wait } = setup();
    for (let i = 0; i < 8; i += 1) {
      appliesAfter(atlas, 400);
      await finely(atlas, wait(['A']));
    }
    const before = atlas.callsTo('clusters.status').length;
    const started = clock.monotonic();
    appliesAfter(atlas, 400);
    await finely(atlas, wait(['A']));
    expect(atlas.callsTo('clusters.status').length - before).toBeLessThanOrEqual(2);
    expect(clock.monotonic() - started).toBeLessThan(400 + readinessPolling.fineMs + 10);
  });

  /** Runs `changes` changes that each apply after `ms`; returns the polls and wait of each. */
  async function changesTaking(h: ReturnType<typeof setup>, ms: number, changes: number) {
    const out: { polls: number; waitedMs: number }[] = [];
    for (let i = 0; i < changes; i += 1) {
      const before = h.atlas.callsTo('clusters.status').length;
      const started = h.clock.monotonic();
      appliesAfter(h.atlas, ms);
      await finely(h.atlas, h.wait(['A']));
      out.push({
        polls: h.atlas.callsTo('clusters.status').length - before,
        waitedMs: h.clock.monotonic() - started,
      });
    }
    return out;
  }

  it('keeps most first polls on time while changes take the same time (probing earlier costs few second polls)', async () => {
    const h = setup();
    await changesTaking(h, 300, 10);
    const steady = await changesTaking(h, 300, 60);
    // A fixed half-step probe sent every third first poll too early: 20 of 60 changes polled twice.
    const twice = steady.filter((c) => c.polls > 1).length;
    expect(twice).toBeGreaterThan(0); // it still probes: a project that gets faster is noticed
    expect(twice).toBeLessThanOrEqual(12);
    for (const c of steady) expect(c.polls).toBeLessThanOrEqual(2);
    for (const c of steady) expect(c.waitedMs).toBeLessThanOrEqual(300 + readinessPolling.fineMs + 5);
  });

  it('catches up within tens of changes when the project gets faster (3 s → 300 ms)', async () => {
    const h = setup();
    await changesTaking(h, 3_000, 6);
    const faster = await changesTaking(h, 300, 40);
    // The fixed half-step probe moved the first poll about 20 ms earlier per change: 2.25 s after 40.
    expect(faster.at(-1)?.waitedMs).toBeLessThanOrEqual(300 + 2 * readinessPolling.fineMs + 5);
    for (const c of faster.slice(-10)) expect(c.polls).toBeLessThanOrEqual(2);
  });

  it('probes earlier by a small part of a step, growing while first polls keep seeing APPLIED, at most half the estimate', () => {
    const step = fineStep(300);
    expect(probeEarlierBy(300, 0)).toBeCloseTo(step / readinessPolling.probeDivisor);
    expect(probeEarlierBy(300, 2)).toBeCloseTo((step / readinessPolling.probeDivisor) * 2);
    expect(probeEarlierBy(300, 1_000)).toBe(150);
    expect(probeEarlierBy(0, 5)).toBe(0);
  });
});

describe('jobs waiting in one project', () => {
  function twoJobs() {
    const atlas = world();
    const { clock } = atlas;
    const deps = { atlas: atlas.client, clock, readyTimeoutMs: 60_000 };
    const readiness = new Readiness(deps);
    const events: string[] = [];
    const at = (what: string) => events.push(`${clock.monotonic()} ${what}`);
    /** A write that takes `ms` on the fake clock, through the project's write gate. */
    const write = (name: string, ms = 0) =>
      readiness.writeChange({ signal: new AbortController().signal }, projectId, async () => {
        at(`${name} writes`);
        if (ms > 0) await clock.sleep(ms);
      });
    const wait = (name: string, clusters: string[], ctx = { signal: new AbortController().signal }) =>
      readiness.waitUntilApplied(ctx, projectId, clusters).then(() => {
        at(`${name} ready`);
      });
    return { clock, atlas, deps, readiness, events, write, wait };
  }

  it('share each status read: one poll per cluster settles every job whose write came before it', async () => {
    const { atlas, write, wait } = twoJobs();
    await Promise.all([write('x'), write('y')]);
    await settle(atlas, Promise.all([wait('x', ['A']), wait('y', ['A', 'B'])]));
    expect(atlas.callsTo('clusters.status')).toEqual([
      [projectId, 'A'],
      [projectId, 'B'],
    ]);
  });

  it('hold a new write back until the waiting batch is settled, so the project can report APPLIED', async () => {
    const { clock, atlas, events, write, wait } = twoJobs();
    atlas.pendingNext(1);
    await write('x');
    const x = wait('x', ['A']); // polls at 0 (PENDING) and 100 ms (APPLIED)
    await clock.advance(10);
    const y = write('y', 50).then(() => wait('y', ['A']));
    await settle(atlas, Promise.all([x, y]));
    // x taught the project 100 ms, so y's first poll comes 100 ms after its write ended (and applies).
    expect(events).toEqual(['0 x writes', '100 x ready', '100 y writes', '250 y ready']);
  });

  it('let a held write go after holdMs when the project never settles', async () => {
    const { clock, atlas, events, write, wait } = twoJobs();
    atlas.neverApplied = true;
    await write('x');
    const x = wait('x', ['A']).catch(() => undefined);
    await clock.advance(10);
    const y = write('y');
    await settle(atlas, y);
    // Cold: holdMs is 2 × 100 ms + 500 ms from the write's arrival at 10 ms.
    expect(events).toEqual(['0 x writes', '710 y writes']);
    atlas.neverApplied = false;
    await settle(atlas, x);
  });

  it('fail only the jobs waiting on a cluster whose status read failed', async () => {
    const { atlas, write, wait } = twoJobs();
    await write('x');
    atlas.failNext('clusters.status', 'SERVICE_UNAVAILABLE');
    const onA = wait('x', ['A']);
    const onB = wait('y', ['B']);
    await expect(settle(atlas, onA)).rejects.toMatchObject({ code: 'upstream_unavailable' });
    await expect(settle(atlas, onB)).resolves.toBeUndefined();
  });

  it('give the job’s worker slot back while it waits', async () => {
    const { atlas, wait } = twoJobs();
    let released = 0;
    await settle(
      atlas,
      wait('x', ['A'], { signal: new AbortController().signal, releaseSlot: () => (released += 1) } as never),
    );
    expect(released).toBe(1);
  });

  it('give the slot back while a write is held, and write once the batch settled', async () => {
    const { clock, atlas, readiness, events, write, wait } = twoJobs();
    atlas.pendingNext(1);
    await write('x');
    const x = wait('x', ['A']);
    await clock.advance(10);
    let released = 0;
    const ctx = { signal: new AbortController().signal, releaseSlot: () => (released += 1) };
    const y = readiness.writeChange(ctx, projectId, async () => {
      events.push(`${clock.monotonic()} y writes`);
    });
    await clock.advance(0);
    expect(released, 'released while held').toBe(1);
    await settle(atlas, Promise.all([x, y]));
    expect(events).toEqual(['0 x writes', '100 x ready', '100 y writes']);
  });

  it('keep serving jobs that start waiting just as the poller stops', async () => {
    const { atlas, wait } = twoJobs();
    // y begins waiting inside x's settlement, before the first poller has wound down; z later.
    const chain = wait('x', ['A']).then(() => wait('y', ['A']));
    await settle(atlas, chain);
    await settle(atlas, wait('z', ['A']));
    expect(atlas.callsTo('clusters.status')).toHaveLength(3);
  });

  it('cut a status read that hangs at the job’s deadline and end the job as not_ready', async () => {
    const { clock, atlas, deps } = twoJobs();
    atlas.stallNext('clusters.status');
    const job = new Readiness({ ...deps, readyTimeoutMs: 2_000 }).waitUntilApplied(
      { signal: new AbortController().signal },
      projectId,
      ['A'],
    );
    await expect(settle(atlas, job)).rejects.toMatchObject({ code: 'not_ready' });
    expect(clock.monotonic()).toBe(2_000);
  });
});
