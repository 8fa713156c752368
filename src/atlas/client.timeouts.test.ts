import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settleUntil } from '../../test/fakes/fake-clock.js';
import { atlasBaseUrl, createTestClient, groupId, rejectionOf } from '../../test/kits/atlas-test-kit.js';
import type { Fetch, HttpReply } from '../runtime/http.js';
import { defaultAtlasAttemptTimeoutMs } from './client.js';

const newUser = { groupId, username: 'u', databaseName: 'admin', roles: [] } as const;

/**
 * Mints tokens at once; Atlas API calls are held (like a peer that accepts and never answers)
 * unless `answer` is set, and end only when their signal aborts. Records every API call's signal.
 */
function stallingAtlas(answer?: { readonly status: number; readonly body: unknown }) {
  const apiSignals: AbortSignal[] = [];
  const fetch: Fetch = (url, init) => {
    if (url === `${atlasBaseUrl}/api/oauth/token`)
      return Promise.resolve(reply(200, { access_token: 'tok-1', expires_in: 3600 }));
    const signal = init?.signal;
    if (!signal) throw new Error('an Atlas call was sent without a signal');
    apiSignals.push(signal);
    if (answer) return Promise.resolve(reply(answer.status, answer.body));
    return new Promise<HttpReply>((_resolve, reject) =>
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
    );
  };
  return { fetch, apiSignals };
}

function reply(status: number, body: unknown): HttpReply {
  return new Response(JSON.stringify(body), { status });
}

// Attempt deadlines are real timers (they guard real I/O); the retry waits stay on the FakeClock.
describe('an Atlas attempt that gets no answer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is abandoned at the attempt timeout as a retryable timeout, and a read is retried', async () => {
    const atlas = stallingAtlas();
    const { client, clock } = createTestClient({ fetch: atlas.fetch, maxRetries: 1 });

    const call = rejectionOf(client.clusters.list(groupId));
    await settleUntil(() => atlas.apiSignals.length === 1, 'the first attempt to be sent');
    await vi.advanceTimersByTimeAsync(defaultAtlasAttemptTimeoutMs - 1);
    expect(atlas.apiSignals[0]?.aborted, 'still waiting one ms before the timeout').toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await settleUntil(() => clock.pending === 1, 'the retry wait');
    await clock.advance(clock.nextDue() ?? 0);
    await settleUntil(() => atlas.apiSignals.length === 2, 'the retry to be sent');
    await vi.advanceTimersByTimeAsync(defaultAtlasAttemptTimeoutMs);
    const error = await call;

    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(atlas.apiSignals.map((signal) => signal.aborted)).toEqual([true, true]);
    expect(vi.getTimerCount(), 'no attempt timer left behind').toBe(0);
  });

  it('fails a create at once as a retryable timeout, which the adapters reconcile on redelivery', async () => {
    const atlas = stallingAtlas();
    const { client } = createTestClient({ fetch: atlas.fetch, attemptTimeoutMs: 5_000 });

    const call = rejectionOf(client.databaseUsers.create(groupId, newUser));
    await settleUntil(() => atlas.apiSignals.length === 1, 'the create to be sent');
    await vi.advanceTimersByTimeAsync(5_000);
    const error = await call;

    expect(error).toMatchObject({
      code: 'timeout',
      retryable: true,
      message: 'createGroupDatabaseUser: no answer within 5000 ms',
    });
    expect(atlas.apiSignals).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends as cancelled, not timeout, when the caller aborts first', async () => {
    const atlas = stallingAtlas();
    const { client } = createTestClient({ fetch: atlas.fetch });
    const caller = new AbortController();

    const call = rejectionOf(client.clusters.list(groupId, { signal: caller.signal }));
    await settleUntil(() => atlas.apiSignals.length === 1, 'the call to be sent');
    caller.abort();
    const error = await call;

    expect(error).toMatchObject({ code: 'cancelled' });
    expect(atlas.apiSignals[0]?.aborted).toBe(true);
    expect(vi.getTimerCount(), 'the attempt timer is cleared with the call').toBe(0);
  });

  it.each([
    ['answered', { status: 200, body: { results: [], totalCount: 0 } }],
    ['refused', { status: 404, body: { error: 404, errorCode: 'GROUP_NOT_FOUND' } }],
  ])('leaves no timer behind once an attempt is %s', async (_name, answer) => {
    const atlas = stallingAtlas(answer);
    const { client } = createTestClient({ fetch: atlas.fetch, maxRetries: 0 });

    await client.clusters.list(groupId).catch(() => undefined);

    expect(atlas.apiSignals).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
