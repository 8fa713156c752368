import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bearerCall,
  digestAuthorization,
  DigestClient,
  field,
  mintToken,
  parseChallenge,
} from '../../../test/contract/digest-client.js';
import {
  startHarness,
  testKey,
  testServiceAccount,
  type Harness,
} from '../../../test/contract/sim-harness.js';
import { readOnlyApiKey, sandboxIds } from './default-fixture.js';

const run = promisify(execFile);
const accept = 'application/vnd.atlas.2023-01-01+json';

async function curlAvailable(): Promise<boolean> {
  try {
    await run('curl', ['--version']);
    return true;
  } catch {
    return false;
  }
}

describe('Digest authentication', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('challenges an unauthenticated request with Atlas realm, MD5, qop=auth and stale=false', async () => {
    const response = await fetch(`${h.sim.url}/api/atlas/v2/groups`, { headers: { accept } });
    expect(response.status).toBe(401);
    const header = response.headers.get('www-authenticate') ?? '';
    expect(header).toMatch(
      /^Digest realm="MMS Public API", domain="", nonce="[^"]+", algorithm=MD5, qop="auth", stale=false$/,
    );
    expect(await response.json()).toMatchObject({
      error: 401,
      errorCode: 'UNAUTHORIZED',
      reason: 'Unauthorized',
    });
  });

  it('reuses a nonce so that later calls take a single round trip', async () => {
    const first = await h.client.call('GET', '/groups');
    const second = await h.client.call('GET', '/groups');
    const third = await h.client.call('GET', `/groups/${sandboxIds.payments}`);
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
    expect([first.roundTrips, second.roundTrips, third.roundTrips]).toEqual([2, 1, 1]);
  });

  it('answers stale=true once the nonce lifetime has passed and accepts the fresh nonce', async () => {
    h.sim.knobs.nonceLifetimeSeconds = 60;
    await h.client.call('GET', '/groups');
    await h.clock.advance(61_000);
    const raw = await fetch(`${h.sim.url}/api/atlas/v2/groups`, { headers: { accept } });
    const challenge = parseChallenge(raw.headers.get('www-authenticate'));
    const stale = await fetch(`${h.sim.url}/api/atlas/v2/groups`, {
      headers: {
        accept,
        authorization: digestAuthorization({
          method: 'GET',
          uri: '/api/atlas/v2/groups',
          ...testKey,
          realm: 'MMS Public API',
          nonce: challenge?.nonce ?? '',
          nc: 1,
        }),
      },
    });
    expect(stale.status).toBe(200);
    await h.clock.advance(61_000);
    const expired = await fetch(`${h.sim.url}/api/atlas/v2/groups`, {
      headers: {
        accept,
        authorization: digestAuthorization({
          method: 'GET',
          uri: '/api/atlas/v2/groups',
          ...testKey,
          realm: 'MMS Public API',
          nonce: challenge?.nonce ?? '',
          nc: 2,
        }),
      },
    });
    expect(expired.status).toBe(401);
    expect(parseChallenge(expired.headers.get('www-authenticate'))?.stale).toBe(true);
    const retried = await h.client.call('GET', '/groups');
    expect(retried.status).toBe(200);
  });

  it('refuses a replayed nonce count', async () => {
    const raw = await fetch(`${h.sim.url}/api/atlas/v2/groups`, { headers: { accept } });
    const nonce = parseChallenge(raw.headers.get('www-authenticate'))?.nonce ?? '';
    const authorization = digestAuthorization({
      method: 'GET',
      uri: '/api/atlas/v2/groups',
      ...testKey,
      realm: 'MMS Public API',
      nonce,
      nc: 1,
      cnonce: 'abc',
    });
    const first = await fetch(`${h.sim.url}/api/atlas/v2/groups`, { headers: { accept, authorization } });
    const replay = await fetch(`${h.sim.url}/api/atlas/v2/groups`, { headers: { accept, authorization } });
    expect(first.status).toBe(200);
    expect(replay.status).toBe(401);
  });

  it('refuses a digest signed for a different URI than the one requested', async () => {
    const raw = await fetch(`${h.sim.url}/api/atlas/v2/groups`, { headers: { accept } });
    const nonce = parseChallenge(raw.headers.get('www-authenticate'))?.nonce ?? '';
    const authorization = digestAuthorization({
      method: 'GET',
      uri: '/api/atlas/v2/orgs',
      ...testKey,
      realm: 'MMS Public API',
      nonce,
      nc: 1,
    });
    const response = await fetch(`${h.sim.url}/api/atlas/v2/groups`, { headers: { accept, authorization } });
    expect(response.status).toBe(401);
  });

  it('answers a wrong private key with 401 and the Atlas error envelope', async () => {
    const wrong = new DigestClient(h.sim.url, testKey.publicKey, 'not-the-key');
    const result = await wrong.call('GET', '/groups');
    expect(result.status).toBe(401);
    expect(result.json).toMatchObject({ error: 401, errorCode: 'UNAUTHORIZED', parameters: [] });
    expect(result.headers.get('content-type')).toBe('application/json');
  });

  it('refuses a revoked API key with 401 from then on, and keeps serving the others', async () => {
    const ro = new DigestClient(h.sim.url, readOnlyApiKey.publicKey, readOnlyApiKey.privateKey);
    expect((await ro.call('GET', `/groups/${sandboxIds.payments}/clusters`)).status).toBe(200);

    h.sim.revokeApiKey(readOnlyApiKey.publicKey);

    const refused = await ro.call('GET', `/groups/${sandboxIds.payments}/clusters`);
    expect(refused.status).toBe(401);
    const owner = new DigestClient(h.sim.url, testKey.publicKey, testKey.privateKey);
    expect((await owner.call('GET', `/groups/${sandboxIds.payments}/clusters`)).status).toBe(200);
  });

  it('works with curl --digest, a standard Digest client', async (context) => {
    context.skip(
      !(await curlAvailable()),
      'curl is not installed on this machine, so the curl --digest check is skipped',
    );
    const { stdout } = await run('curl', [
      '--silent',
      '--digest',
      '--user',
      `${testKey.publicKey}:${testKey.privateKey}`,
      '--header',
      `Accept: ${accept}`,
      '--write-out',
      '\n%{http_code}',
      `${h.sim.url}/api/atlas/v2/groups/${sandboxIds.payments}`,
    ]);
    const [body, status] = stdout.split('\n');
    expect(status).toBe('200');
    expect(JSON.parse(body ?? '{}')).toMatchObject({ id: sandboxIds.payments, name: 'payments' });
  });
});

describe('OAuth service accounts', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('mints a one-hour bearer token that the API accepts', async () => {
    const minted = await mintToken(h.sim.url, testServiceAccount.clientId, testServiceAccount.clientSecret);
    expect(minted.status).toBe(200);
    expect(minted.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const token = String(field(minted.json, 'access_token'));
    const groups = await bearerCall(h.sim.url, token, 'GET', '/groups');
    expect(groups.status).toBe(200);
    expect(field(groups.json, 'totalCount')).toBe(2);
  });

  it('stops accepting a token once it expires', async () => {
    h.sim.knobs.tokenLifetimeSeconds = 120;
    const minted = await mintToken(h.sim.url, testServiceAccount.clientId, testServiceAccount.clientSecret);
    const token = String(field(minted.json, 'access_token'));
    await h.clock.advance(119_000);
    expect((await bearerCall(h.sim.url, token, 'GET', '/groups')).status).toBe(200);
    await h.clock.advance(1_000);
    const expired = await bearerCall(h.sim.url, token, 'GET', '/groups');
    expect(expired.status).toBe(401);
    expect(expired.json).toMatchObject({ errorCode: 'UNAUTHORIZED' });
  });

  it('answers a wrong client secret with 401 invalid_client', async () => {
    const minted = await mintToken(h.sim.url, testServiceAccount.clientId, 'wrong');
    expect(minted.status).toBe(401);
    expect(minted.json).toMatchObject({ error: 'invalid_client' });
  });

  it('refuses a grant type other than client_credentials', async () => {
    const response = await fetch(`${h.sim.url}/api/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${testServiceAccount.clientId}:${testServiceAccount.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=password',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('revokes a token so the API refuses it afterwards', async () => {
    const minted = await mintToken(h.sim.url, testServiceAccount.clientId, testServiceAccount.clientSecret);
    const token = String(field(minted.json, 'access_token'));
    const revoked = await fetch(`${h.sim.url}/api/oauth/revoke`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${testServiceAccount.clientId}:${testServiceAccount.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(revoked.status).toBe(200);
    expect((await bearerCall(h.sim.url, token, 'GET', '/groups')).status).toBe(401);
  });

  /** RFC 7009: form body `token` (+ `token_type_hint`), Basic client credentials. */
  function revokeCall(token: string, secret: string = testServiceAccount.clientSecret): Promise<Response> {
    return fetch(`${h.sim.url}/api/oauth/revoke`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${testServiceAccount.clientId}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    });
  }

  it('revokes with token_type_hint=access_token, as the connector sends it, and only that token', async () => {
    const [first, second] = await Promise.all(
      [1, 2].map(async () => {
        const minted = await mintToken(
          h.sim.url,
          testServiceAccount.clientId,
          testServiceAccount.clientSecret,
        );
        return String(field(minted.json, 'access_token'));
      }),
    );
    expect((await revokeCall(String(first))).status).toBe(200);
    expect((await bearerCall(h.sim.url, String(first), 'GET', '/groups')).status).toBe(401);
    expect((await bearerCall(h.sim.url, String(second), 'GET', '/groups')).status).toBe(200);
  });

  it('refuses a revoke with wrong client credentials with 401 invalid_client and keeps the token', async () => {
    const minted = await mintToken(h.sim.url, testServiceAccount.clientId, testServiceAccount.clientSecret);
    const token = String(field(minted.json, 'access_token'));

    const refused = await revokeCall(token, 'wrong');

    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
    expect((await bearerCall(h.sim.url, token, 'GET', '/groups')).status).toBe(200);
  });

  it('answers a revoke of an unknown, or already revoked, token with 200 (RFC 7009)', async () => {
    expect((await revokeCall('sim_never-issued')).status).toBe(200);
    const minted = await mintToken(h.sim.url, testServiceAccount.clientId, testServiceAccount.clientSecret);
    const token = String(field(minted.json, 'access_token'));
    expect((await revokeCall(token)).status).toBe(200);
    expect((await revokeCall(token)).status).toBe(200);
  });

  it('limits token requests to ten per minute per client with RATE_LIMITED', async () => {
    for (let i = 0; i < 10; i += 1) {
      expect(
        (await mintToken(h.sim.url, testServiceAccount.clientId, testServiceAccount.clientSecret)).status,
      ).toBe(200);
    }
    const limited = await mintToken(h.sim.url, testServiceAccount.clientId, testServiceAccount.clientSecret);
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({
      errorCode: 'RATE_LIMITED',
      parameters: ['/api/oauth/token', 10, 1],
    });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    await h.clock.advance(60_000);
    expect(
      (await mintToken(h.sim.url, testServiceAccount.clientId, testServiceAccount.clientSecret)).status,
    ).toBe(200);
  });
});

describe('credential roles', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('lets the read-only key read its project but not write to it', async () => {
    const ro = new DigestClient(h.sim.url, readOnlyApiKey.publicKey, readOnlyApiKey.privateKey);
    expect((await ro.call('GET', `/groups/${sandboxIds.payments}/databaseUsers`)).status).toBe(200);
    const write = await ro.call('POST', `/groups/${sandboxIds.payments}/databaseUsers`, {
      body: {
        groupId: sandboxIds.payments,
        databaseName: 'admin',
        username: 'x',
        password: 'password1',
        roles: [{ roleName: 'read', databaseName: 'sales' }],
      },
    });
    expect(write.status).toBe(401);
    expect(write.json).toMatchObject({ errorCode: 'USER_UNAUTHORIZED' });
  });

  it('answers 403 USER_CANNOT_ACCESS_GROUP for a project the key has no role in', async () => {
    const ro = new DigestClient(h.sim.url, readOnlyApiKey.publicKey, readOnlyApiKey.privateKey);
    const result = await ro.call('GET', `/groups/${sandboxIds.analytics}/databaseUsers`);
    expect(result.status).toBe(403);
    expect(result.json).toMatchObject({ error: 403, errorCode: 'USER_CANNOT_ACCESS_GROUP' });
  });

  it('reads a service account for Organization Read Only, not for a mere Organization Member', async () => {
    const ro = new DigestClient(h.sim.url, readOnlyApiKey.publicKey, readOnlyApiKey.privateKey);
    const account = `/orgs/${sandboxIds.org}/serviceAccounts/${testServiceAccount.clientId}`;
    const v = { version: '2024-08-05' } as const;
    for (const path of [account, `${account}/groups`]) {
      expect((await h.client.call('GET', path, v)).status).toBe(200);
      const refused = await ro.call('GET', path, v);
      expect([refused.status, field(refused.json, 'errorCode')]).toEqual([401, 'USER_UNAUTHORIZED']);
    }
  });

  it('lists only the projects a key can see', async () => {
    const ro = new DigestClient(h.sim.url, readOnlyApiKey.publicKey, readOnlyApiKey.privateKey);
    const groups = await ro.call('GET', '/groups');
    expect(field(groups.json, 'results', 0, 'name')).toBe('payments');
    expect(field(groups.json, 'totalCount')).toBe(1);
  });

  it('shows a key its own roles at the API root and in the organization key list', async () => {
    const root = await h.client.call('GET', '');
    expect(root.json).toMatchObject({
      appName: 'MongoDB Atlas',
      apiKey: { publicKey: testKey.publicKey, roles: [{ orgId: sandboxIds.org, roleName: 'ORG_OWNER' }] },
    });
    const keys = await h.client.call('GET', `/orgs/${sandboxIds.org}/apiKeys`);
    const listed = field(keys.json, 'results');
    expect(Array.isArray(listed) ? listed.map((k) => field(k, 'publicKey')) : []).toEqual([
      testKey.publicKey,
      readOnlyApiKey.publicKey,
    ]);
    expect(keys.text).not.toContain(testKey.privateKey);
  });
});
