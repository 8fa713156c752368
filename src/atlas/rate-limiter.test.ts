import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isConnectorError } from '../errors/connector-error.js';
import type { RateScope } from './operations.js';
import { burstFor, createRateLimiter, windowFor, type RateLimiter } from './rate-limiter.js';
import {
  api,
  atlas,
  createTestClient,
  groupId,
  mockTokenMint,
  orgId,
  rejectionOf,
} from '../../test/kits/atlas-test-kit.js';

const projectA: RateScope = { kind: 'project', id: 'a' };
const projectB: RateScope = { kind: 'project', id: 'b' };
const org: RateScope = { kind: 'org', id: 'o' };

/** Starts `count` tasks on `scope` and records which have begun. */
function startTasks(limiter: RateLimiter, scope: RateScope | undefined, count: number) {
  const started: number[] = [];
  const done = Array.from({ length: count }, (_, index) =>
    limiter.schedule(scope, async () => {
      started.push(index);
      return index;
    }),
  );
  return { started, done };
}

interface Start {
  readonly at: number;
  readonly pace: 'before' | 'after';
}

/** The most starts in any window of `windowMs` that holds at least one start at `pace`. */
function busiestWindow(starts: readonly Start[], windowMs: number, pace: Start['pace']): number {
  let busiest = 0;
  for (const anchor of starts) {
    const inWindow = starts.filter((start) => start.at >= anchor.at && start.at < anchor.at + windowMs);
    if (inWindow.some((start) => start.pace === pace)) busiest = Math.max(busiest, inWindow.length);
  }
  return busiest;
}

describe('createRateLimiter (p-queue on fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('bursts at most a small bucket for one project, then paces at the per-minute rate', async () => {
    // 20 per minute: bursts of 2, one burst every 6 s plus a 2 % margin (120 ms).
    const limiter = createRateLimiter({ orgRequestsPerMinute: 100, projectRequestsPerMinute: 20 });

    const { started, done } = startTasks(limiter, projectA, 5);
    await vi.advanceTimersByTimeAsync(6_119);
    expect(started).toEqual([0, 1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(started).toEqual([0, 1, 2, 3]);
    await vi.advanceTimersByTimeAsync(6_120);

    expect(await Promise.all(done)).toEqual([0, 1, 2, 3, 4]);
  });

  it('never bursts more than ten calls, however high the rate', async () => {
    const limiter = createRateLimiter({ orgRequestsPerMinute: 100, projectRequestsPerMinute: 6_000 });

    // Windows of 100 ms plus the 20 ms minimum margin.
    const { started, done } = startTasks(limiter, projectA, 25);
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toHaveLength(10);
    await vi.advanceTimersByTimeAsync(119);
    expect(started).toHaveLength(10);
    await vi.advanceTimersByTimeAsync(1);
    expect(started).toHaveLength(20);
    await vi.advanceTimersByTimeAsync(120);
    await Promise.all(done);
  });

  it('paces each project separately', async () => {
    const limiter = createRateLimiter({ orgRequestsPerMinute: 10, projectRequestsPerMinute: 1 });

    const a = startTasks(limiter, projectA, 2);
    const b = startTasks(limiter, projectB, 1);
    await vi.advanceTimersByTimeAsync(0);

    expect(a.started).toEqual([0]);
    expect(b.started).toEqual([0]);
    await vi.advanceTimersByTimeAsync(61_200);
    await Promise.all(a.done);
  });

  it('uses the organization cap for organization scopes', async () => {
    const limiter = createRateLimiter({ orgRequestsPerMinute: 30, projectRequestsPerMinute: 1 });

    const { started, done } = startTasks(limiter, org, 4);
    await vi.advanceTimersByTimeAsync(0);

    expect(started).toEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(done);
  });

  it('does not pace calls without a scope', async () => {
    const limiter = createRateLimiter({ orgRequestsPerMinute: 1, projectRequestsPerMinute: 1 });

    const { started, done } = startTasks(limiter, undefined, 3);
    await Promise.all(done);

    expect(started).toEqual([0, 1, 2]);
  });

  it('applies a resized cap to later calls', async () => {
    const limiter = createRateLimiter({ orgRequestsPerMinute: 10, projectRequestsPerMinute: 1 });

    limiter.resize(projectA, 30);
    const { started, done } = startTasks(limiter, projectA, 4);
    await vi.advanceTimersByTimeAsync(0);

    expect(started).toEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(done);
  });

  it.each([
    [600, 600],
    [600, 100],
    [100, 600],
  ])(
    'starts at most one burst per window across a resize from %i to %i per minute',
    async (before, after) => {
      const limiter = createRateLimiter({ orgRequestsPerMinute: 1, projectRequestsPerMinute: before });
      const starts: Start[] = [];
      const run = (count: number, pace: Start['pace']) =>
        Array.from({ length: count }, () =>
          limiter.schedule(projectA, async () => {
            starts.push({ at: Date.now(), pace });
          }),
        );

      const first = run(15, 'before');
      await vi.advanceTimersByTimeAsync(0);
      // As sizeOnFirstUse does once GET /rateLimits answers, while the first burst is out.
      limiter.resize(projectA, after);
      const second = run(15, 'after');
      await vi.advanceTimersByTimeAsync(60_000);
      await Promise.all([...first, ...second]);

      expect(starts).toHaveLength(30);
      expect(busiestWindow(starts, windowFor(before), 'before')).toBeLessThanOrEqual(burstFor(before));
      expect(busiestWindow(starts, windowFor(after), 'after')).toBeLessThanOrEqual(burstFor(after));
    },
  );

  it('forgets the queue of a project idle for a whole window, so a daemon touching thousands of projects does not keep one for each', async () => {
    // 20 per minute: bursts of 2 in windows of 6 120 ms.
    const limiter = createRateLimiter({ orgRequestsPerMinute: 20, projectRequestsPerMinute: 20 });
    const scopes = Array.from({ length: 100 }, (_, index): RateScope => ({
      kind: 'project',
      id: `p${index}`,
    }));

    await Promise.all(scopes.map((scope) => limiter.schedule(scope, () => Promise.resolve())));
    await limiter.schedule(org, () => Promise.resolve());
    expect(limiter.pacedScopes).toBe(101);
    await vi.advanceTimersByTimeAsync(6_120);

    expect(limiter.pacedScopes).toBe(0);
  });

  it('keeps a queue whose window still holds a start, so a call after a burst still waits for it', async () => {
    const limiter = createRateLimiter({ orgRequestsPerMinute: 20, projectRequestsPerMinute: 20 });
    await Promise.all(startTasks(limiter, projectA, 2).done);
    await vi.advanceTimersByTimeAsync(6_000);

    const { started, done } = startTasks(limiter, projectA, 3);
    await vi.advanceTimersByTimeAsync(0);
    expect(started, 'the burst at 0 ms fills the window until 6 120 ms').toEqual([]);
    await vi.advanceTimersByTimeAsync(120);
    expect(started).toEqual([0, 1]);
    await vi.advanceTimersByTimeAsync(6_120);
    await Promise.all(done);
  });

  it('paces a forgotten project at its resized pace when it is used again', async () => {
    const limiter = createRateLimiter({ orgRequestsPerMinute: 10, projectRequestsPerMinute: 1 });
    limiter.resize(projectA, 30);
    await Promise.all(startTasks(limiter, projectA, 1).done);
    await vi.advanceTimersByTimeAsync(6_120);
    expect(limiter.pacedScopes).toBe(0);

    const { started, done } = startTasks(limiter, projectA, 4);
    await vi.advanceTimersByTimeAsync(0);
    expect(started, 'bursts of 3 at 30 per minute, not 1 at the configured 1').toEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(6_120);
    await Promise.all(done);
  });

  it('gives up a queued call when its signal aborts', async () => {
    const limiter = createRateLimiter({ orgRequestsPerMinute: 10, projectRequestsPerMinute: 1 });
    const controller = new AbortController();
    const { done } = startTasks(limiter, projectA, 1);
    let ran = false;
    const waiting = limiter
      .schedule(
        projectA,
        async () => {
          ran = true;
          return 'late';
        },
        controller.signal,
      )
      .catch((error: unknown) => error);

    controller.abort();
    await vi.advanceTimersByTimeAsync(windowFor(1));

    expect(await waiting).toBe(controller.signal.reason);
    expect(ran, 'the aborted call never runs, even once its window opens').toBe(false);
    await Promise.all(done);
  });
});

describe('the client and its limiter', () => {
  it('draws project calls from the project scope and organization calls from the org scope', async () => {
    mockTokenMint();
    atlas().get(`${api}/groups/${groupId}/clusters`).query(true).reply(200, { results: [] });
    atlas().get(`${api}/orgs/${orgId}/teams`).query(true).reply(200, { results: [] });
    atlas().get(`${api}/groups`).query(true).reply(200, { results: [] });
    const scopes: (RateScope | undefined)[] = [];
    const recording: RateLimiter = {
      schedule: (scope, task) => {
        scopes.push(scope);
        return task();
      },
      resize: () => undefined,
    };
    const { client } = createTestClient({ rateLimiter: recording });

    await client.clusters.list(groupId);
    await client.teams.list(orgId);
    await client.projects.list();

    expect(scopes).toEqual([{ kind: 'project', id: groupId }, { kind: 'org', id: orgId }, undefined]);
  });

  it('turns an abort while queued into cancelled', async () => {
    const controller = new AbortController();
    const { client } = createTestClient({
      rateLimiter: createRateLimiter({ orgRequestsPerMinute: 1, projectRequestsPerMinute: 1 }),
    });
    mockTokenMint();
    atlas().get(`${api}/groups/${groupId}/clusters`).query(true).reply(200, { results: [] });
    await client.clusters.list(groupId);

    const queued = rejectionOf(client.clusters.list(groupId, { signal: controller.signal }));
    controller.abort();

    const error = await queued;
    expect(isConnectorError(error) && error.code).toBe('cancelled');
  });

  it('sizes a project from GET /rateLimits at the slowest refill among the endpoints it calls', async () => {
    mockTokenMint();
    const set = (name: string, path: string, rate: number, seconds: number, scope = 'GROUP') => ({
      endpointSetName: name,
      scope,
      endpoints: [{ method: 'GET', path }],
      capacity: { value: rate * 2 },
      refillRate: { value: rate },
      refillDurationSeconds: { value: seconds },
    });
    atlas()
      .get(`${api}/rateLimits`)
      .query({ groupId, pageNum: '1', itemsPerPage: '500' })
      .reply(200, {
        results: [
          set('clusters', '/api/atlas/v2/groups/{groupId}/clusters', 5000, 60),
          set('users', '/api/atlas/v2/groups/{groupId}/databaseUsers', 30, 30),
          set('not ours', '/api/atlas/v2/groups/{groupId}/backup/exportBuckets', 1, 60),
          set('org scoped', '/api/atlas/v2/groups/{groupId}/clusters', 2, 60, 'ORGANIZATION'),
        ],
      });
    const resized: [RateScope, number][] = [];
    const { client } = createTestClient({
      rateLimiter: {
        schedule: (_scope, task) => task(),
        resize: (scope, perMinute) => resized.push([scope, perMinute]),
      },
    });

    const perMinute = await client.rateLimits.sizeFromApi({ groupId });

    expect(perMinute).toBe(60);
    expect(resized).toEqual([[{ kind: 'project', id: groupId }, 60]]);
  });

  it('sizes each project once, in the background, on its first call when asked to', async () => {
    mockTokenMint();
    atlas()
      .get(`${api}/rateLimits`)
      .query({ groupId, pageNum: '1', itemsPerPage: '500' })
      .reply(200, {
        results: [
          {
            endpointSetName: 'users',
            scope: 'GROUP',
            endpoints: [{ method: 'GET', path: '/api/atlas/v2/groups/{groupId}/databaseUsers' }],
            capacity: { value: 60 },
            refillRate: { value: 120 },
            refillDurationSeconds: { value: 60 },
          },
        ],
      });
    atlas()
      .get(`${api}/groups/${groupId}/databaseUsers`)
      .query(true)
      .times(2)
      .reply(200, { results: [], totalCount: 0 });
    const resized: [RateScope, number][] = [];
    const { client } = createTestClient({
      sizeRateLimitsFromApi: true,
      rateLimiter: {
        schedule: (_scope, task) => task(),
        resize: (scope, perMinute) => resized.push([scope, perMinute]),
      },
    });

    await client.databaseUsers.list(groupId);
    await client.databaseUsers.list(groupId);
    await vi.waitFor(() => expect(resized).toEqual([[{ kind: 'project', id: groupId }, 120]]));
  });
});
