import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../test/fakes/fake-random.js';
import { captureLogs } from '../../test/fakes/log-capture.js';
import type { HttpReply } from '../runtime/http.js';
import type { AuthSession } from './auth/auth-session.js';
import type { OutgoingRequest } from './auth/authenticator.js';
import { unlimitedRateLimiter } from './rate-limiter.js';
import { createTransport, maxRateLimitObservations, type Transport } from './transport.js';

/** Answers every call 200 with an empty page and the `RateLimit-*` headers Atlas sends. */
class RateLimitHeadersSession implements AuthSession {
  readonly sent: string[] = [];

  send(request: OutgoingRequest): Promise<HttpReply> {
    this.sent.push(request.url);
    const headers = new Headers({ 'ratelimit-limit': '100', 'ratelimit-remaining': '97' });
    return Promise.resolve({
      status: 200,
      ok: true,
      statusText: 'OK',
      headers,
      text: () => Promise.resolve(JSON.stringify({ results: [], totalCount: 0 })),
    });
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  secrets(): readonly string[] {
    return [];
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function transportOver(session: AuthSession): Transport {
  return createTransport({
    baseUrl: 'https://cloud.mongodb.com',
    session,
    limiter: unlimitedRateLimiter,
    clock: new FakeClock(),
    random: new FakeRandom([0.5]),
    logger: captureLogs('warn').logger,
    userAgent: 'atlas-jit-connector/0.0.0-test',
    maxRetries: 4,
    backoff: { baseMs: 1_000, capMs: 60_000 },
    attemptTimeoutMs: 60_000,
    rateLimitBudgetMs: 120_000,
  });
}

const listClusters = (transport: Transport, groupId: string) =>
  transport.page({ operation: 'listGroupClusters', params: { groupId } }, undefined, z.unknown());

describe('rate-limit observations', () => {
  it('remembers the RateLimit headers of the scopes answered most recently only, so a daemon touching thousands of projects does not keep one for each', async () => {
    const session = new RateLimitHeadersSession();
    const transport = transportOver(session);
    const projects = Array.from({ length: maxRateLimitObservations + 50 }, (_, index) => `p${index}`);

    for (const project of projects) await listClusters(transport, project);
    // Answered again: the first project is among the most recent once more.
    await listClusters(transport, 'p0');

    expect(session.sent).toHaveLength(projects.length + 1);
    const scopes = transport.rateLimits().map((observation) => observation.scope);
    expect(scopes).toHaveLength(maxRateLimitObservations);
    expect(scopes.at(-1)).toBe('project:p0');
    expect(scopes).not.toContain('project:p1');
    expect(scopes).toContain(`project:${projects.at(-1)}`);
  });
});
