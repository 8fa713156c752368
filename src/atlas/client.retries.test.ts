import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { FakeRandom } from '../../test/fakes/fake-random.js';
import { ConnectorError, isConnectorError } from '../errors/connector-error.js';
import { guardWrites } from '../runtime/write-guard.js';
import type { AtlasClient } from './client.js';
import { FakeClock, settleUntil } from '../../test/fakes/fake-clock.js';
import type { RateLimiter } from './rate-limiter.js';
import { createDigestServer } from '../../test/kits/digest-server-test-kit.js';
import {
  api,
  apiKey,
  atlas,
  atlasBaseUrl,
  atlasError,
  createTestClient,
  expectTokenRevoke,
  FakeCredentialSource,
  groupId,
  mockTokenMint,
  rejectionOf,
} from '../../test/kits/atlas-test-kit.js';

const clustersPath = `${api}/groups/${groupId}/clusters`;
const emptyPage = { results: [], totalCount: 0 };

/** Lets the HTTP exchange settle until the retry loop is asleep on the fake clock. */
async function sleeping(clock: FakeClock): Promise<void> {
  await settleUntil(() => clock.pending > 0, 'the retry loop to sleep');
  expect(clock.pending).toBe(1);
}

/**
 * Moves time to the pending sleep's end and no further: advancing past it would also fire the next
 * retry's sleep when its attempt is answered while the clock settles, and the next `sleeping`
 * would wait for a sleep already over.
 */
async function wakeSleeper(clock: FakeClock): Promise<void> {
  await clock.advance(clock.nextDue() ?? 0);
}

describe('retries', () => {
  it('retries a read on 503 up to maxRetries, then fails as upstream_unavailable', async () => {
    mockTokenMint();
    atlas().get(clustersPath).query(true).times(3).reply(503, atlasError(503, 'SERVICE_UNAVAILABLE'));
    const { client, clock, requests } = createTestClient({ maxRetries: 2 });

    const call = rejectionOf(client.clusters.list(groupId));
    await sleeping(clock);
    await clock.advance(500);
    await sleeping(clock);
    await clock.advance(1_000);
    const error = await call;

    expect(isConnectorError(error) && error.code).toBe('upstream_unavailable');
    expect(requests.map((info) => info.status)).toEqual([503, 503, 503]);
  });

  it('waits full-jitter windows that double per attempt', async () => {
    mockTokenMint();
    atlas().get(clustersPath).query(true).times(2).reply(500, atlasError(500, 'UNEXPECTED_ERROR'));
    atlas().get(clustersPath).query(true).reply(200, emptyPage);
    const { client, clock, requests, logs } = createTestClient();

    const call = client.clusters.list(groupId);
    await sleeping(clock);
    await clock.advance(499);
    expect(clock.pending, 'still waiting').toBe(1);
    expect(requests).toHaveLength(1);
    await clock.advance(1);
    await sleeping(clock);
    await clock.advance(1_000);
    await call;

    expect(requests).toHaveLength(3);
    const delays = logs.lines().filter((line) => line.msg === 'atlas call failed; retrying');
    expect(delays.map((line) => line.delayMs)).toEqual([500, 1_000]);
  });

  it('keeps the 5xx allowance apart from 429 retries: a 503 after a 429 burst is still retried', async () => {
    mockTokenMint();
    atlas()
      .get(clustersPath)
      .query(true)
      .times(2)
      .reply(429, atlasError(429, 'RATE_LIMITED'), { 'Retry-After': '1' });
    atlas().get(clustersPath).query(true).reply(503, atlasError(503, 'SERVICE_UNAVAILABLE'));
    atlas().get(clustersPath).query(true).reply(200, emptyPage);
    const { client, clock, requests, logs } = createTestClient({ maxRetries: 1 });

    const call = client.clusters.list(groupId);
    for (let retry = 0; retry < 3; retry += 1) {
      await sleeping(clock);
      await wakeSleeper(clock);
    }
    await call;

    expect(requests.map((info) => info.status)).toEqual([429, 429, 503, 200]);
    const retries = logs.lines().filter((line) => line.msg === 'atlas call failed; retrying');
    expect(retries.at(-1), "the 503's wait is the first 5xx window").toMatchObject({
      code: 'upstream_unavailable',
      delayMs: 500,
    });
  });

  it('waits at most the backoff cap for a 5xx Retry-After, and keeps the hint on the error it ends with', async () => {
    mockTokenMint();
    atlas()
      .get(clustersPath)
      .query(true)
      .times(2)
      .reply(503, atlasError(503, 'SERVICE_UNAVAILABLE'), { 'Retry-After': '86400' });
    const { client, clock, requests } = createTestClient({ maxRetries: 1 });

    const call = rejectionOf(client.clusters.list(groupId));
    await sleeping(clock);
    expect(clock.nextDue(), 'the 60 s backoff cap, not a day').toBe(60_000);
    await clock.advance(60_000);
    const error = await call;

    expect(requests.map((info) => info.status)).toEqual([503, 503]);
    expect(error).toMatchObject({ code: 'upstream_unavailable', retryAfterMs: 86_400_000 });
  });

  it('never retries a create', async () => {
    mockTokenMint();
    atlas().post(`${api}/groups/${groupId}/databaseUsers`).reply(503, atlasError(503, 'SERVICE_UNAVAILABLE'));
    const { client, requests } = createTestClient();

    const error = await rejectionOf(
      client.databaseUsers.create(groupId, { groupId, username: 'u', databaseName: 'admin', roles: [] }),
    );

    expect(isConnectorError(error) && error.code).toBe('upstream_unavailable');
    expect(requests).toHaveLength(1);
  });

  it('retries deletes and absolute PATCHes, which are idempotent', async () => {
    mockTokenMint();
    atlas().delete(`${api}/groups/${groupId}/databaseUsers/admin/u`).reply(503).delete(/.*/).reply(204);
    atlas()
      .patch(`${api}/groups/${groupId}/limits/atlas.project.security.databaseAccess.customRoles`, {
        value: 200,
      })
      .reply(502)
      .patch(/.*/)
      .reply(200, { name: 'atlas.project.security.databaseAccess.customRoles', value: 200 });
    const { client, clock } = createTestClient();

    const deletion = client.databaseUsers.delete(groupId, 'admin', 'u');
    await sleeping(clock);
    await clock.advance(500);
    await deletion;
    const limit = client.projectLimits.set(groupId, 'atlas.project.security.databaseAccess.customRoles', 200);
    await sleeping(clock);
    await clock.advance(500);

    expect((await limit).value).toBe(200);
  });

  it('does not retry a 4xx other than 429', async () => {
    mockTokenMint();
    atlas().get(clustersPath).query(true).reply(404, atlasError(404, 'GROUP_NOT_FOUND'));
    const { client, requests } = createTestClient();

    const error = await rejectionOf(client.clusters.list(groupId));

    expect(isConnectorError(error) && error.code).toBe('not_found');
    expect(requests).toHaveLength(1);
  });
});

describe('429 Too Many Requests', () => {
  it('waits the Retry-After header plus a full-jitter window before retrying', async () => {
    mockTokenMint();
    atlas().get(clustersPath).query(true).reply(429, atlasError(429, 'RATE_LIMITED'), { 'Retry-After': '7' });
    atlas().get(clustersPath).query(true).reply(200, emptyPage);
    const { client, clock, requests } = createTestClient();

    const call = client.clusters.list(groupId);
    await sleeping(clock);
    await clock.advance(7_499);
    expect(clock.pending, 'still waiting: 7 s hint + 500 ms jitter').toBe(1);
    expect(requests).toHaveLength(1);
    await clock.advance(1);
    await call;

    expect(requests.map((info) => info.status)).toEqual([429, 200]);
  });

  it('takes the retry seconds from a token-bucket body when the header is missing', async () => {
    mockTokenMint();
    atlas()
      .get(clustersPath)
      .query(true)
      .reply(429, {
        ...atlasError(429, 'RATE_LIMITED_TOKEN_BUCKET'),
        parameters: ['api/atlas/v2/groups/x/clusters', 55, 10, 5, 60],
      });
    atlas().get(clustersPath).query(true).reply(200, emptyPage);
    const { client, clock, requests } = createTestClient();

    const call = client.clusters.list(groupId);
    await sleeping(clock);
    await clock.advance(55_499);
    expect(clock.pending, 'still waiting: 55 s hint + 500 ms jitter').toBe(1);
    expect(requests).toHaveLength(1);
    await clock.advance(1);
    await call;

    expect(requests).toHaveLength(2);
  });

  it('falls back to the jittered backoff without any hint', async () => {
    mockTokenMint();
    atlas().get(clustersPath).query(true).reply(429, atlasError(429, 'RATE_LIMITED'));
    atlas().get(clustersPath).query(true).reply(200, emptyPage);
    const { client, clock, requests } = createTestClient();

    const call = client.clusters.list(groupId);
    await sleeping(clock);
    await clock.advance(500);
    await call;

    expect(requests).toHaveLength(2);
  });

  const usersPath = `${api}/groups/${groupId}/databaseUsers`;
  const newUser = { groupId, username: 'u', databaseName: 'admin' as const, roles: [] };

  it('retries a throttled create after Retry-After plus full jitter, then succeeds', async () => {
    mockTokenMint();
    atlas().post(usersPath).reply(429, atlasError(429, 'RATE_LIMITED'), { 'Retry-After': '12' });
    atlas().post(usersPath).reply(201, { username: 'u', databaseName: 'admin', roles: [] });
    const { client, clock, requests, logs } = createTestClient();

    const call = client.databaseUsers.create(groupId, newUser);
    await sleeping(clock);
    await clock.advance(12_499);
    expect(requests, 'not before the hint and its jitter').toHaveLength(1);
    await clock.advance(1);
    await call;

    expect(requests.map((info) => info.status)).toEqual([429, 201]);
    const retries = logs.lines().filter((line) => line.msg === 'atlas call failed; retrying');
    expect(retries.map((line) => line.delayMs)).toEqual([12_500]);
  });

  it('retries 429 on a create role too (Atlas ran nothing it refused with 429)', async () => {
    mockTokenMint();
    const rolesPath = `${api}/groups/${groupId}/customDBRoles/roles`;
    atlas().post(rolesPath).reply(429, atlasError(429, 'RATE_LIMITED_TOKEN_BUCKET'));
    atlas().post(rolesPath).reply(200, { roleName: 'r', actions: [], inheritedRoles: [] });
    const { client, clock, requests } = createTestClient();

    const call = client.customDbRoles.create(groupId, { roleName: 'r', actions: [], inheritedRoles: [] });
    await sleeping(clock);
    await clock.advance(500);
    await call;

    expect(requests.map((info) => info.status)).toEqual([429, 200]);
  });

  it('gives up on a throttled create when the rate-limit budget runs out, as rate_limited with the Atlas detail', async () => {
    mockTokenMint();
    atlas()
      .post(usersPath)
      .times(3)
      .reply(429, atlasError(429, 'RATE_LIMITED', 'Resource usersPerGroup exceeded'), { 'Retry-After': '4' });
    const { client, clock, requests } = createTestClient({ rateLimitBudgetMs: 10_000 });

    const call = rejectionOf(client.databaseUsers.create(groupId, newUser));
    await sleeping(clock);
    await clock.advance(4_500);
    await sleeping(clock);
    await clock.advance(5_000);
    const error = await call;

    expect(requests.map((info) => info.status)).toEqual([429, 429, 429]);
    expect(isConnectorError(error) && error.code).toBe('rate_limited');
    expect(isConnectorError(error) && error.message).toContain(
      'RATE_LIMITED: Resource usersPerGroup exceeded',
    );
  });

  it('never waits past the rate-limit budget, jitter included', async () => {
    mockTokenMint();
    atlas()
      .post(usersPath)
      .times(3)
      .reply(429, atlasError(429, 'RATE_LIMITED', 'Resource usersPerGroup exceeded'), { 'Retry-After': '4' });
    const { client, clock, requests, logs } = createTestClient({
      rateLimitBudgetMs: 10_000,
      random: new FakeRandom([0.999]),
    });

    const call = rejectionOf(client.databaseUsers.create(groupId, newUser));
    for (let i = 0; i < 2; i += 1) {
      await sleeping(clock);
      await clock.advance(clock.nextDue() ?? 0);
    }
    const error = await call;

    expect(requests.map((info) => info.status)).toEqual([429, 429, 429]);
    expect(isConnectorError(error) && error.code).toBe('rate_limited');
    const waits = logs.lines().filter((line) => line.msg === 'atlas call failed; retrying');
    expect(waits.reduce((sum, line) => sum + Number(line.delayMs), 0)).toBeLessThanOrEqual(10_000);
  });

  it('starts the rate-limit budget at the first 429, not while the call waits in the client-side pacer', async () => {
    mockTokenMint();
    atlas().post(usersPath).reply(429, atlasError(429, 'RATE_LIMITED'), { 'Retry-After': '4' });
    atlas()
      .post(usersPath)
      .reply(201, { ...newUser, roles: [] });
    const clock = new FakeClock();
    let scheduled = 0;
    // The first attempt waits 30 s behind other calls of its project; the retry does not wait.
    const pacer: RateLimiter = {
      schedule: async (_scope, task, signal) => {
        if (scheduled++ === 0) await clock.sleep(30_000, signal);
        return task();
      },
      resize: () => undefined,
    };
    const { client, requests } = createTestClient({ clock, rateLimiter: pacer, rateLimitBudgetMs: 10_000 });

    let settled = false;
    const call = client.databaseUsers.create(groupId, newUser).then(
      () => 'created',
      (error: unknown) => error,
    );
    void call.finally(() => (settled = true));
    await sleeping(clock);
    await clock.advance(30_000);
    await settleUntil(() => clock.pending === 1 || settled, 'a retry wait or the end of the call');
    expect(settled, 'the 429 is retried, 30 s after the call was made').toBe(false);
    await clock.advance(clock.nextDue() ?? 0);

    expect(await call).toBe('created');
    expect(requests.map((info) => info.status)).toEqual([429, 201]);
  });

  it('keeps a create single-shot on a 5xx (it may have run; the adapters converge)', async () => {
    mockTokenMint();
    atlas().post(usersPath).reply(503, atlasError(503, 'SERVICE_UNAVAILABLE'));
    const { client, requests } = createTestClient();

    const error = await rejectionOf(client.databaseUsers.create(groupId, newUser));

    expect(isConnectorError(error) && error.code).toBe('upstream_unavailable');
    expect(requests.map((info) => info.status)).toEqual([503]);
  });
});

describe('observability', () => {
  it('remembers the last RateLimit headers per scope', async () => {
    mockTokenMint();
    atlas()
      .get(clustersPath)
      .query(true)
      .reply(200, emptyPage, { 'RateLimit-Limit': '100', 'RateLimit-Remaining': '97' });
    atlas().get(`${api}/groups`).query(true).reply(200, emptyPage, { 'RateLimit-Limit': '1200' });
    const { client } = createTestClient();

    await client.clusters.list(groupId);
    await client.projects.list();

    expect(client.rateLimitStatus()).toEqual([
      expect.objectContaining({ scope: `project:${groupId}`, limit: 100, remaining: 97 }),
      expect.objectContaining({ scope: 'user', limit: 1200, remaining: undefined }),
    ]);
  });

  it('reports each attempt with the path template, not the concrete path', async () => {
    mockTokenMint();
    atlas().get(`${api}/groups/${groupId}/databaseUsers/admin/alice`).reply(200, {
      username: 'alice',
      databaseName: 'admin',
      roles: [],
    });
    const { client, requests } = createTestClient();

    await client.databaseUsers.get(groupId, 'admin', 'alice');

    expect(requests).toEqual([
      expect.objectContaining({
        operation: 'getGroupDatabaseUser',
        method: 'GET',
        path: '/groups/{groupId}/databaseUsers/{databaseName}/{username}',
        status: 200,
      }),
    ]);
  });
});

describe('retry and pacing reports (metrics)', () => {
  it('reports each retry with the operation and the failed attempt’s error code', async () => {
    mockTokenMint();
    atlas().get(clustersPath).query(true).reply(503, atlasError(503, 'SERVICE_UNAVAILABLE'));
    atlas().get(clustersPath).query(true).reply(429, atlasError(429, 'RATE_LIMITED'));
    atlas().get(clustersPath).query(true).reply(200, emptyPage);
    const retries: unknown[] = [];
    const { client, clock } = createTestClient({ onRetry: (info) => retries.push(info) });

    const call = client.clusters.list(groupId);
    await sleeping(clock);
    await wakeSleeper(clock);
    await sleeping(clock);
    await wakeSleeper(clock);
    await call;

    expect(retries).toEqual([
      { operation: 'listGroupClusters', code: 'upstream_unavailable' },
      { operation: 'listGroupClusters', code: 'rate_limited' },
    ]);
  });

  it('reports how long a paced call waited in the pacer, by scope', async () => {
    mockTokenMint();
    atlas().get(clustersPath).query(true).reply(200, emptyPage);
    const paced: unknown[] = [];
    let release: () => void = () => undefined;
    const { client, clock } = createTestClient({
      onPaced: (info) => paced.push(info),
      rateLimiter: {
        // Holds every call until the test lets it go, like a pacer whose window is full.
        schedule: (_scope, task) => new Promise<void>((resolve) => (release = resolve)).then(task),
        resize: () => undefined,
      },
    });

    const call = client.clusters.list(groupId);
    await clock.advance(1_250);
    release();
    await call;

    expect(paced).toEqual([{ operation: 'listGroupClusters', scope: 'project', waitedMs: 1_250 }]);
  });
});

describe("the job's pre-write check on retries", () => {
  const usersPath = `${api}/groups/${groupId}/databaseUsers`;
  const newUser = { groupId, username: 'u', databaseName: 'admin' as const, roles: [] };

  /**
   * A job's signal with its pre-write check, as the job context attaches it: once `lapse()` is
   * called (the lease deadline passed during an event-loop stall, its keeper not run yet), the
   * check aborts the signal as lease lost and throws, as `beforeSideEffect` does.
   */
  function jobSignal() {
    const abort = new AbortController();
    const state = { lapsed: false, checks: 0 };
    guardWrites(abort.signal, () => {
      state.checks += 1;
      if (state.lapsed && !abort.signal.aborted)
        abort.abort(new ConnectorError({ code: 'lease_lost', message: 'lease on job job-1 lost' }));
      if (abort.signal.aborted) throw abort.signal.reason as Error;
    });
    return { signal: abort.signal, state };
  }

  it.each([
    {
      what: 'a create retried after a 429',
      mock: () =>
        atlas().post(usersPath).reply(429, atlasError(429, 'RATE_LIMITED'), { 'Retry-After': '12' }),
      call: (client: AtlasClient, signal: AbortSignal) =>
        client.databaseUsers.create(groupId, newUser, { signal }),
      status: 429,
    },
    {
      what: 'a delete retried after a 503',
      mock: () => atlas().delete(`${usersPath}/admin/u`).reply(503, atlasError(503, 'SERVICE_UNAVAILABLE')),
      call: (client: AtlasClient, signal: AbortSignal) =>
        client.databaseUsers.delete(groupId, 'admin', 'u', { signal }),
      status: 503,
    },
  ])(
    'runs before every attempt: $what sends nothing once the lease lapsed, and fails as lease lost',
    async ({ mock, call, status }) => {
      mockTokenMint();
      mock();
      const { client, clock, requests } = createTestClient();
      const job = jobSignal();

      const failed = rejectionOf(call(client, job.signal));
      await sleeping(clock);
      job.state.lapsed = true;
      await clock.advance(60_000);
      const error = await failed;

      expect(isConnectorError(error) && error.code).toBe('lease_lost');
      expect(requests.map((info) => info.status)).toEqual([status]);
      // Before each of the two attempts, and once more after the first one's token mint.
      expect(job.state.checks).toBe(3);
    },
  );

  it('runs before a write re-sent after a 401: the create is not sent again with the re-minted token', async () => {
    const job = jobSignal();
    mockTokenMint('tok-1');
    atlas('tok-1')
      .post(usersPath)
      .reply(() => {
        job.state.lapsed = true;
        return [401, atlasError(401, 'UNAUTHORIZED')];
      });
    mockTokenMint('tok-2');
    const revoked = expectTokenRevoke('tok-1').reply(200);
    const { client } = createTestClient();

    const error = await rejectionOf(client.databaseUsers.create(groupId, newUser, { signal: job.signal }));

    expect(isConnectorError(error) && error.code).toBe('lease_lost');
    await settleUntil(() => revoked.isDone(), 'the rejected tok-1 to be revoked');
  });

  it('runs before a write whose first send waited for a token mint: nothing is sent once the lease lapsed', async () => {
    const job = jobSignal();
    nock(atlasBaseUrl)
      .post('/api/oauth/token', 'grant_type=client_credentials')
      .reply(() => {
        job.state.lapsed = true;
        return [200, { access_token: 'tok-1', token_type: 'Bearer', expires_in: 3600 }];
      });
    // No interceptor for the create: strict nock fails the test if it is sent.
    const { client } = createTestClient();

    const error = await rejectionOf(client.databaseUsers.create(groupId, newUser, { signal: job.signal }));

    expect(isConnectorError(error) && error.code).toBe('lease_lost');
  });

  it('runs before a write re-sent with a credential read again: nothing is sent with it once the lease lapsed', async () => {
    const job = jobSignal();
    mockTokenMint('tok-1');
    atlas('tok-1').post(usersPath).reply(401, atlasError(401, 'UNAUTHORIZED'));
    mockTokenMint('tok-2');
    atlas('tok-2')
      .post(usersPath)
      .reply(() => {
        job.state.lapsed = true;
        return [401, atlasError(401, 'UNAUTHORIZED')];
      });
    const revoked = [expectTokenRevoke('tok-1').reply(200), expectTokenRevoke('tok-2').reply(200)];
    const { client, credentials } = createTestClient();

    const error = await rejectionOf(client.databaseUsers.create(groupId, newUser, { signal: job.signal }));

    expect(isConnectorError(error) && error.code).toBe('lease_lost');
    expect(credentials.invalidations).toBe(1);
    await settleUntil(() => revoked.every((r) => r.isDone()), 'the rejected tokens to be revoked');
  });

  it('runs before a write signed after a digest challenge: nothing is sent once the lease lapsed', async () => {
    const job = jobSignal();
    const server = createDigestServer(apiKey);
    nock(atlasBaseUrl)
      .post(usersPath)
      .reply(function (uri) {
        job.state.lapsed = true;
        const authorization = this.req.headers.authorization;
        return server.handle('POST', uri, typeof authorization === 'string' ? authorization : undefined);
      });
    const { client } = createTestClient({ credentials: new FakeCredentialSource([apiKey]) });

    const error = await rejectionOf(client.databaseUsers.create(groupId, newUser, { signal: job.signal }));

    expect(isConnectorError(error) && error.code).toBe('lease_lost');
    expect(server.stats.challenges).toBe(1);
  });

  it('leaves reads alone: a read retried after the lease lapsed still goes out', async () => {
    mockTokenMint();
    atlas().get(clustersPath).query(true).reply(503, atlasError(503, 'SERVICE_UNAVAILABLE'));
    atlas().get(clustersPath).query(true).reply(200, emptyPage);
    const { client, clock, requests } = createTestClient();
    const job = jobSignal();
    job.state.lapsed = true;

    const listed = client.clusters.list(groupId, { signal: job.signal });
    await sleeping(clock);
    await clock.advance(500);
    await listed;

    expect(requests.map((info) => info.status)).toEqual([503, 200]);
    expect(job.state.checks).toBe(0);
  });
});
