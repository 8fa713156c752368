import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { isConnectorError } from '../errors/connector-error.js';
import { rereadIntervalMs } from './auth/auth-session.js';
import { createOAuthAuthenticator, tokenRefreshMarginMs } from './auth/oauth.js';
import type { Fetch } from '../runtime/http.js';
import { FakeClock, flushMicrotasks, settleUntil } from '../../test/fakes/fake-clock.js';
import { captureLogs } from '../../test/fakes/log-capture.js';
import {
  api,
  atlas,
  atlasBaseUrl,
  atlasError,
  basicAuth,
  createTestClient,
  expectTokenRevoke,
  FakeCredentialSource,
  groupId,
  mockTokenMint,
  rejectionOf,
  serviceAccount,
  visibleOutput,
} from '../../test/kits/atlas-test-kit.js';

const clustersPath = `${api}/groups/${groupId}/clusters`;
const emptyPage = { results: [], totalCount: 0 };
const basic = `Basic ${Buffer.from(`${serviceAccount.clientId}:${serviceAccount.clientSecret}`).toString('base64')}`;

describe('OAuth client credentials with a service account', () => {
  it('mints a token with Basic client credentials as a form post', async () => {
    nock(atlasBaseUrl, {
      reqheaders: {
        authorization: basic,
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
      },
    })
      .post('/api/oauth/token', 'grant_type=client_credentials')
      .reply(200, { access_token: 'tok-1', token_type: 'Bearer', expires_in: 3600 });
    atlas('tok-1').get(clustersPath).query(true).reply(200, emptyPage);
    const { client } = createTestClient();

    await client.clusters.list(groupId);
  });

  it('reuses the cached token until a minute before it expires', async () => {
    mockTokenMint('tok-1', 3600);
    atlas('tok-1').get(clustersPath).query(true).times(2).reply(200, emptyPage);
    mockTokenMint('tok-2', 3600);
    atlas('tok-2').get(clustersPath).query(true).reply(200, emptyPage);
    const revoked = expectTokenRevoke('tok-1').reply(200);
    const { client, clock } = createTestClient();

    await client.clusters.list(groupId);
    await clock.advance(3600_000 - tokenRefreshMarginMs - 1);
    await client.clusters.list(groupId);
    await clock.advance(1);
    await client.clusters.list(groupId);
    await settleUntil(() => revoked.isDone(), 'the replaced tok-1 to be revoked');
  });

  it('reuses a token that lives a minute or less for half its life, rather than mint one per call', async () => {
    mockTokenMint('tok-1', 60);
    atlas('tok-1').get(clustersPath).query(true).times(2).reply(200, emptyPage);
    mockTokenMint('tok-2', 60);
    atlas('tok-2').get(clustersPath).query(true).reply(200, emptyPage);
    const revoked = expectTokenRevoke('tok-1').reply(200);
    const { client, clock } = createTestClient();

    await client.clusters.list(groupId);
    await clock.advance(30_000 - 1);
    await client.clusters.list(groupId);
    await clock.advance(1);
    await client.clusters.list(groupId);
    await settleUntil(() => revoked.isDone(), 'the replaced tok-1 to be revoked');
  });

  it('re-mints once when Atlas rejects the token, without re-reading the credential', async () => {
    mockTokenMint('tok-1');
    atlas('tok-1').get(clustersPath).query(true).reply(401, atlasError(401, 'UNAUTHORIZED'));
    mockTokenMint('tok-2');
    atlas('tok-2').get(clustersPath).query(true).reply(200, emptyPage);
    const revoked = expectTokenRevoke('tok-1').reply(200);
    const { client, credentials } = createTestClient();

    await client.clusters.list(groupId);

    expect(credentials.invalidations).toBe(0);
    await settleUntil(() => revoked.isDone(), 'the rejected tok-1 to be revoked');
  });

  it('hands every minted token to onSecret (the log scrubber) before Atlas sees it', async () => {
    const registered: string[] = [];
    const registeredWhenSent: string[][] = [];
    mockTokenMint('tok-minted-1');
    atlas('tok-minted-1')
      .get(clustersPath)
      .query(true)
      .reply(() => {
        registeredWhenSent.push([...registered]);
        return [401, atlasError(401, 'UNAUTHORIZED')];
      });
    mockTokenMint('tok-minted-2');
    atlas('tok-minted-2')
      .get(clustersPath)
      .query(true)
      .reply(() => {
        registeredWhenSent.push([...registered]);
        return [200, emptyPage];
      });
    const revoked = expectTokenRevoke('tok-minted-1').reply(200);
    const { client } = createTestClient({ onSecret: (value) => registered.push(value) });

    await client.clusters.list(groupId);

    expect(registeredWhenSent).toEqual([['tok-minted-1'], ['tok-minted-1', 'tok-minted-2']]);
    await settleUntil(() => revoked.isDone(), 'the rejected tok-minted-1 to be revoked');
  });

  it('shares one mint between concurrent calls', async () => {
    mockTokenMint('tok-1');
    atlas('tok-1').get(clustersPath).query(true).times(3).reply(200, emptyPage);
    const { client } = createTestClient();

    await Promise.all([1, 2, 3].map(() => client.clusters.list(groupId)));
  });

  it('revokes the token on close, once, and refuses calls afterwards', async () => {
    mockTokenMint('tok-1');
    atlas('tok-1').get(clustersPath).query(true).reply(200, emptyPage);
    nock(atlasBaseUrl, {
      reqheaders: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    })
      .post('/api/oauth/revoke', 'token=tok-1&token_type_hint=access_token')
      .reply(200);
    const { client } = createTestClient();
    await client.clusters.list(groupId);

    await client.close();
    await client.close();

    const error = await rejectionOf(client.clusters.list(groupId));
    expect(isConnectorError(error) && error.code).toBe('cancelled');
  });

  it('closes without a request when no token was minted', async () => {
    const { client } = createTestClient();

    await client.close();
  });

  it('invalidates and re-reads the credential when 401 survives a re-mint, then fails as auth_failed', async () => {
    // Each credential read gets the authenticator's own re-mint: two mints per read, two reads.
    const tokens = ['tok-1', 'tok-2', 'tok-3', 'tok-4'];
    for (const token of tokens) {
      mockTokenMint(token);
      atlas(token).get(clustersPath).query(true).reply(401, atlasError(401, 'UNAUTHORIZED'));
    }
    // Every token but the current credential's last (held until close) is revoked.
    const revoked = ['tok-1', 'tok-2', 'tok-3'].map((token) => expectTokenRevoke(token).reply(200));
    const { client, credentials, logs } = createTestClient();

    const error = await rejectionOf(client.clusters.list(groupId));
    await settleUntil(() => revoked.every((scope) => scope.isDone()), 'the replaced tokens to be revoked');

    expect(isConnectorError(error) && error.code).toBe('auth_failed');
    expect(credentials.invalidations).toBe(1);
    expect(credentials.gets).toBe(2);
    const output = visibleOutput([error], logs);
    for (const secret of [serviceAccount.clientSecret, ...tokens]) {
      expect(output).not.toContain(secret);
    }
  });

  // Atlas refuses a credential without a role in one project with 401 USER_CANNOT_ACCESS_GROUP: a
  // new token or a credential read again changes nothing, and each mint revokes a token other calls
  // are using, against Atlas's 10 token requests a minute.
  it.each(['USER_CANNOT_ACCESS_GROUP', 'NOT_IN_GROUP'])(
    'passes up a 401 %s (no role in that project) without minting again or re-reading the credential',
    async (atlasCode) => {
      mockTokenMint('tok-1');
      atlas('tok-1').get(clustersPath).query(true).reply(401, atlasError(401, atlasCode));
      atlas('tok-1').get(clustersPath).query(true).reply(200, emptyPage);
      const { client, credentials } = createTestClient();

      const error = await rejectionOf(client.clusters.list(groupId));
      await client.clusters.list(groupId);

      expect(isConnectorError(error) && error.details).toMatchObject({
        httpStatus: 401,
        atlasErrorCode: atlasCode,
      });
      expect(credentials.invalidations).toBe(0);
      expect(credentials.gets).toBe(1);
    },
  );

  it('treats a refused client secret as auth_failed and picks up a rotated secret', async () => {
    const rotated = { ...serviceAccount, clientSecret: 'mdb_sa_sk_rotated-secret-77' };
    nock(atlasBaseUrl)
      .post('/api/oauth/token')
      .reply(400, { error: 'invalid_client', error_description: 'Invalid client credentials' });
    mockTokenMint('tok-new');
    atlas('tok-new').get(clustersPath).query(true).reply(200, emptyPage);
    const { client, credentials } = createTestClient({
      credentials: new FakeCredentialSource([serviceAccount, rotated]),
    });

    await client.clusters.list(groupId);

    expect(credentials.invalidations).toBe(1);
  });

  it('reports a secret refused twice as auth_failed without leaking it', async () => {
    nock(atlasBaseUrl)
      .post('/api/oauth/token')
      .times(2)
      .reply(401, { error: 'invalid_client', error_description: 'Invalid client credentials' });
    const { client, logs } = createTestClient();

    const error = await rejectionOf(client.clusters.list(groupId));

    expect(isConnectorError(error) && error.code).toBe('auth_failed');
    expect(isConnectorError(error) && error.message).toBe(
      'oauthToken: invalid_client: Invalid client credentials',
    );
    expect(visibleOutput([error], logs)).not.toContain(serviceAccount.clientSecret);
  });

  // Atlas takes 10 token requests a minute: one per call for a secret it refused would soon turn
  // the calls' auth_failed into 429s, retried for up to the rate-limit budget.
  it('asks the token endpoint again for a refused secret only when the credential is read again, a minute later', async () => {
    const refuse = (times: number) =>
      nock(atlasBaseUrl)
        .post('/api/oauth/token')
        .times(times)
        .reply(401, { error: 'invalid_client', error_description: 'Invalid client credentials' });
    refuse(2);
    const { client, clock, credentials } = createTestClient();

    for (let call = 0; call < 3; call += 1) {
      const error = await rejectionOf(client.clusters.list(groupId));
      expect(isConnectorError(error) && error.code).toBe('auth_failed');
    }
    expect(credentials.gets).toBe(2);

    refuse(1);
    await clock.advance(rereadIntervalMs);
    const error = await rejectionOf(client.clusters.list(groupId));

    expect(isConnectorError(error) && error.code).toBe('auth_failed');
    expect(credentials.gets).toBe(3);
  });

  it('removes the client secret from a token endpoint error that echoes it', async () => {
    nock(atlasBaseUrl)
      .post('/api/oauth/token')
      .times(2)
      .reply(401, {
        error: 'invalid_client',
        error_description: `no client with secret ${serviceAccount.clientSecret}`,
      });
    const { client } = createTestClient();

    const error = await rejectionOf(client.clusters.list(groupId));

    expect(isConnectorError(error) && error.message).toBe(
      'oauthToken: invalid_client: no client with secret [REDACTED]',
    );
  });

  it('waits the Retry-After of a throttled token request before minting again', async () => {
    // Atlas allows 10 token requests per minute per client and address, and says when to return.
    nock(atlasBaseUrl)
      .post('/api/oauth/token')
      .reply(429, atlasError(429, 'RATE_LIMITED'), { 'Retry-After': '30' });
    mockTokenMint('tok-1');
    atlas('tok-1').get(clustersPath).query(true).reply(200, emptyPage);
    const { client, clock } = createTestClient();

    const call = client.clusters.list(groupId);
    await settleUntil(() => clock.pending > 0, 'the retry loop to sleep');
    expect(clock.nextDue(), '30 s hint + 500 ms jitter').toBe(30_500);
    await clock.advance(30_500);
    await call;
  });

  it('fails a token response without a token as invalid_response', async () => {
    nock(atlasBaseUrl).post('/api/oauth/token').reply(200, { token_type: 'Bearer' });
    const { client } = createTestClient();

    const error = await rejectionOf(
      client.databaseUsers.create(groupId, { groupId, username: 'u', databaseName: 'admin', roles: [] }),
    );

    expect(isConnectorError(error) && error.code).toBe('invalid_response');
  });
});

describe('OAuth token requests that never answer', () => {
  it('give up after the request timeout, so the next call mints again instead of waiting for good', async () => {
    const calls: string[] = [];
    const fetch: Fetch = (url, init) => {
      calls.push(url);
      if (calls.length === 1) {
        // Accepts the connection and never answers: only the request's own signal ends it.
        return new Promise((_resolve, reject) =>
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)),
        );
      }
      const body = JSON.stringify({ access_token: 'tok-2', expires_in: 3600 });
      return Promise.resolve(new Response(url.endsWith('/api/oauth/token') ? body : '{}'));
    };
    const auth = createOAuthAuthenticator(serviceAccount, {
      baseUrl: atlasBaseUrl,
      fetch,
      clock: new FakeClock(),
      userAgent: 'test',
      logger: captureLogs().logger,
      requestTimeoutMs: 50,
    });
    const request = { method: 'GET', url: `${atlasBaseUrl}${clustersPath}`, headers: {} };
    const stuck = await rejectionOf(auth.send(request, AbortSignal.timeout(5_000)));
    expect(stuck).toMatchObject({
      code: 'upstream_unavailable',
      message: expect.stringMatching(/^oauthToken: /),
    });
    expect((await auth.send(request)).ok).toBe(true);
    expect(calls.filter((url) => url.endsWith('/api/oauth/token'))).toHaveLength(2);
  });
});

describe('Revoking the OAuth tokens the client no longer uses', () => {
  /** A nock reply held until `release` (RFC 7009 success, or the given status). */
  function heldReply(): {
    readonly reply: (uri: string, body: unknown, cb: (error: null, result: [number, string]) => void) => void;
    readonly arrived: () => boolean;
    readonly release: (status?: number) => void;
  } {
    let answer: ((error: null, result: [number, string]) => void) | undefined;
    return {
      reply: (_uri, _body, cb) => {
        answer = cb;
      },
      arrived: () => answer !== undefined,
      release: (status = 200) => answer?.(null, [status, '']),
    };
  }

  it('revokes the token an expiry re-mint replaced in the background, with Basic auth and a form body', async () => {
    mockTokenMint('tok-old-1');
    atlas('tok-old-1').get(clustersPath).query(true).reply(200, emptyPage);
    mockTokenMint('tok-new-2');
    atlas('tok-new-2').get(clustersPath).query(true).reply(200, emptyPage);
    const held = heldReply();
    const revoked = expectTokenRevoke('tok-old-1').reply(held.reply);
    expectTokenRevoke('tok-new-2').reply(200);
    const { client, clock, logs } = createTestClient();
    await client.clusters.list(groupId);
    await clock.advance(3600_000 - tokenRefreshMarginMs);

    // The call that needed the new token completes while the old one's revoke is unanswered.
    await client.clusters.list(groupId);
    await settleUntil(held.arrived, 'the revoke of tok-old-1 to be sent');
    expect(revoked.isDone()).toBe(true);
    held.release();
    await client.close(); // waits for the background revoke; tok-new-2 is revoked too
    expect(logs.text()).not.toContain('tok-old-1');
  });

  it('revokes a token Atlas rejected once its successor is minted, and keeps the call on the new one', async () => {
    mockTokenMint('tok-1');
    atlas('tok-1').post(`${api}/groups/${groupId}/databaseUsers`).reply(401, atlasError(401, 'UNAUTHORIZED'));
    mockTokenMint('tok-2');
    atlas('tok-2').post(`${api}/groups/${groupId}/databaseUsers`).reply(201, {
      groupId,
      username: 'u',
      databaseName: 'admin',
      roles: [],
    });
    const revoked = expectTokenRevoke('tok-1').reply(200);
    const { client } = createTestClient();

    await client.databaseUsers.create(groupId, { groupId, username: 'u', databaseName: 'admin', roles: [] });

    await settleUntil(() => revoked.isDone(), 'the rejected tok-1 to be revoked');
  });

  it.each([
    ['refused', (i: nock.Interceptor) => i.reply(500, { error: 'server_error' }), { httpStatus: 500 }],
    [
      'unreachable',
      (i: nock.Interceptor) => i.replyWithError('connect ECONNRESET'),
      { code: 'upstream_unavailable' },
    ],
  ] as const)(
    'a revoke that is %s is logged at warn without the token, counted, and not retried; the call succeeds',
    async (_case, answer, logged) => {
      mockTokenMint('tok-secret-old');
      atlas('tok-secret-old').get(clustersPath).query(true).reply(200, emptyPage);
      mockTokenMint('tok-secret-new');
      atlas('tok-secret-new').get(clustersPath).query(true).times(2).reply(200, emptyPage);
      // Strict nock: a second revoke of the same token would be a request that matched nothing.
      answer(expectTokenRevoke('tok-secret-old'));
      let failures = 0;
      const { client, clock, logs } = createTestClient({ onTokenRevokeFailed: () => (failures += 1) });
      await client.clusters.list(groupId);
      await clock.advance(3600_000);

      await client.clusters.list(groupId);
      await settleUntil(() => failures > 0, 'the failed revoke to be counted');
      await client.clusters.list(groupId);

      expect(failures).toBe(1);
      const warned = logs.lines().filter((line) => String(line.msg).startsWith('atlas oauth token revoke'));
      expect(warned).toEqual([expect.objectContaining({ level: 'warn', reason: 'replaced', ...logged })]);
      const output = visibleOutput([], logs);
      for (const secret of ['tok-secret-old', 'tok-secret-new', serviceAccount.clientSecret]) {
        expect(output).not.toContain(secret);
      }
    },
  );

  it("revokes a rotated-out credential's tokens with that credential's own client credentials", async () => {
    const rotated = { ...serviceAccount, clientSecret: 'mdb_sa_sk_rotated-secret-77' };
    for (const token of ['tok-1', 'tok-2']) {
      mockTokenMint(token);
      atlas(token).get(clustersPath).query(true).reply(401, atlasError(401, 'UNAUTHORIZED'));
    }
    nock(atlasBaseUrl, { reqheaders: { authorization: basicAuth(rotated) } })
      .post('/api/oauth/token', 'grant_type=client_credentials')
      .reply(200, { access_token: 'tok-3', expires_in: 3600 });
    atlas('tok-3').get(clustersPath).query(true).reply(200, emptyPage);
    const revoked = [expectTokenRevoke('tok-1').reply(200), expectTokenRevoke('tok-2').reply(200)];
    const { client, credentials } = createTestClient({
      credentials: new FakeCredentialSource([serviceAccount, rotated]),
    });

    await client.clusters.list(groupId);

    expect(credentials.invalidations).toBe(1);
    await settleUntil(() => revoked.every((scope) => scope.isDone()), 'the old credential tokens revoked');
  });

  it('revokes a replaced credential only once a call still using it is done', async () => {
    const rotated = { ...serviceAccount, clientSecret: 'mdb_sa_sk_rotated-secret-77' };
    const slowCall = heldReply();
    mockTokenMint('tok-1');
    atlas('tok-1').get(`${api}/groups/${groupId}`).reply(slowCall.reply);
    atlas('tok-1').get(clustersPath).query(true).reply(401, atlasError(401, 'UNAUTHORIZED'));
    mockTokenMint('tok-2');
    atlas('tok-2').get(clustersPath).query(true).reply(401, atlasError(401, 'UNAUTHORIZED'));
    nock(atlasBaseUrl, { reqheaders: { authorization: basicAuth(rotated) } })
      .post('/api/oauth/token', 'grant_type=client_credentials')
      .reply(200, { access_token: 'tok-3', expires_in: 3600 });
    atlas('tok-3').get(clustersPath).query(true).reply(200, emptyPage);
    const replacedRevoked = expectTokenRevoke('tok-1').reply(200);
    const closedRevoked = expectTokenRevoke('tok-2').reply(200);
    const { client } = createTestClient({ credentials: new FakeCredentialSource([serviceAccount, rotated]) });

    const slow = client.projects.get(groupId);
    await settleUntil(slowCall.arrived, 'the slow call to reach Atlas');
    await client.clusters.list(groupId);
    await settleUntil(() => replacedRevoked.isDone(), 'the replaced tok-1 to be revoked');
    expect(closedRevoked.isDone(), 'the old credential is still in use').toBe(false);

    slowCall.release();
    await slow.catch(() => undefined);
    await settleUntil(() => closedRevoked.isDone(), 'the old credential to be closed once unused');
  });

  it('mints nothing for a call in flight at close that meets a 401: that token would never be revoked', async () => {
    const slowCall = heldReply();
    mockTokenMint('tok-1');
    atlas('tok-1').get(clustersPath).query(true).reply(slowCall.reply);
    const revoked = expectTokenRevoke('tok-1').reply(200);
    // Strict nock: no second mint is declared, so one would be a request that matched nothing.
    const { client } = createTestClient();

    const inFlight = rejectionOf(client.clusters.list(groupId));
    await settleUntil(slowCall.arrived, 'the call to reach Atlas');
    const closing = client.close();
    await settleUntil(() => revoked.isDone(), 'tok-1 to be revoked on close');
    slowCall.release(401);

    const error = await inFlight;
    expect(isConnectorError(error) && [error.code, error.retryable]).toEqual(['cancelled', false]);
    await closing;
  });

  it('close waits for a replaced token revoke still under way', async () => {
    let releaseFirst: (() => void) | undefined;
    const minted = ['tok-1', 'tok-2'];
    const revoked: string[] = [];
    // Answers in microtasks only, so "close has not settled" cannot be a matter of I/O turns.
    const fetch: Fetch = (url, init) => {
      if (url.endsWith('/api/oauth/token')) {
        return Promise.resolve(
          new Response(JSON.stringify({ access_token: minted.shift(), expires_in: 3600 })),
        );
      }
      if (url.endsWith('/api/oauth/revoke')) {
        const token = new URLSearchParams(String(init?.body)).get('token') ?? '';
        if (token !== 'tok-1') {
          revoked.push(token);
          return Promise.resolve(new Response(''));
        }
        return new Promise((resolve) => {
          releaseFirst = () => {
            revoked.push(token);
            resolve(new Response(''));
          };
        });
      }
      return Promise.resolve(new Response('{}'));
    };
    const clock = new FakeClock();
    const auth = createOAuthAuthenticator(serviceAccount, {
      baseUrl: atlasBaseUrl,
      fetch,
      clock,
      userAgent: 'test',
      logger: captureLogs().logger,
    });
    const request = { method: 'GET', url: `${atlasBaseUrl}${clustersPath}`, headers: {} };
    await auth.send(request);
    await clock.advance(3600_000);
    await auth.send(request);
    await settleUntil(() => releaseFirst !== undefined, 'the revoke of tok-1 to be sent');

    let closed = false;
    const closing = auth.close().then(() => (closed = true));
    await settleUntil(() => revoked.includes('tok-2'), 'the current tok-2 to be revoked');
    await flushMicrotasks();
    expect(closed, 'close is still waiting for the revoke of tok-1').toBe(false);
    releaseFirst?.();
    await closing;
    expect(revoked).toEqual(['tok-2', 'tok-1']);
  });
});
