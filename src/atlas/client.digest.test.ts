import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { isConnectorError } from '../errors/connector-error.js';
import { createDigestServer, type DigestServer } from '../../test/kits/digest-server-test-kit.js';
import {
  api,
  apiKey,
  atlasBaseUrl,
  createTestClient,
  FakeCredentialSource,
  groupId,
  rejectionOf,
  rotatedApiKey,
  visibleOutput,
} from '../../test/kits/atlas-test-kit.js';

const usersPath = `${api}/groups/${groupId}/databaseUsers`;

/** Exactly `roundTrips` requests must reach Atlas: fewer leaves the mock pending, more is unmatched. */
function serveDigest(server: DigestServer, roundTrips: number): nock.Scope {
  return nock(atlasBaseUrl)
    .get(usersPath)
    .query(true)
    .times(roundTrips)
    .reply(function (uri) {
      const authorization = this.req.headers.authorization;
      return server.handle('GET', uri, typeof authorization === 'string' ? authorization : undefined);
    });
}

function apiKeyClient(...versions: (typeof apiKey | typeof rotatedApiKey)[]) {
  return createTestClient({ credentials: new FakeCredentialSource(versions.length ? versions : [apiKey]) });
}

describe('HTTP Digest with an API key', () => {
  it('pays the challenge once, then reuses the nonce so each further call costs one round trip', async () => {
    const server = createDigestServer(apiKey);
    serveDigest(server, 2 + 3);
    const { client } = apiKeyClient();

    for (let call = 0; call < 4; call += 1) await client.databaseUsers.list(groupId);

    expect(server.stats.challenges).toBe(1);
    expect(server.stats.ncs).toEqual([1, 2, 3, 4]);
  });

  it('draws a fresh cnonce for every signed request from the random port (a UUID, as hex)', async () => {
    const server = createDigestServer(apiKey);
    const cnonces: string[] = [];
    nock(atlasBaseUrl)
      .get(usersPath)
      .query(true)
      .times(2 + 2)
      .reply(function (uri) {
        const authorization = this.req.headers.authorization;
        const header = typeof authorization === 'string' ? authorization : undefined;
        const cnonce = /cnonce="([^"]*)"/.exec(header ?? '')?.[1];
        if (cnonce) cnonces.push(cnonce);
        return server.handle('GET', uri, header);
      });
    const { client } = apiKeyClient();

    for (let call = 0; call < 3; call += 1) await client.databaseUsers.list(groupId);

    expect(server.stats.accepted).toBe(3);
    expect(cnonces).toHaveLength(3);
    expect(new Set(cnonces).size).toBe(3);
    for (const cnonce of cnonces) expect(cnonce).toMatch(/^[0-9a-f]{8}0{4}40{3}80{3}[0-9]{12}$/);
  });

  it('gives concurrent calls on one nonce distinct request counters', async () => {
    const server = createDigestServer(apiKey);
    serveDigest(server, 2 + 4);
    const { client } = apiKeyClient();
    await client.databaseUsers.list(groupId);

    await Promise.all([1, 2, 3, 4].map(() => client.databaseUsers.list(groupId)));

    expect(server.stats.challenges).toBe(1);
    expect(new Set(server.stats.ncs).size).toBe(5);
  });

  it('answers a stale-nonce challenge once and carries on with the new nonce', async () => {
    const server = createDigestServer(apiKey);
    serveDigest(server, 2 + 2 + 1);
    const { client, credentials } = apiKeyClient();
    await client.databaseUsers.list(groupId);

    server.rotateNonce('nonce-2');
    await client.databaseUsers.list(groupId);
    await client.databaseUsers.list(groupId);

    expect(server.stats.challenges).toBe(2);
    expect(server.stats.accepted).toBe(3);
    expect(credentials.invalidations).toBe(0);
  });

  it('signs with the realm of each new challenge (the H(A1) kept per challenge is renewed)', async () => {
    const server = createDigestServer(apiKey);
    serveDigest(server, 2 + 2 + 1);
    const { client, credentials } = apiKeyClient();
    await client.databaseUsers.list(groupId);

    server.rotateNonce('nonce-2', 'Another Realm');
    await client.databaseUsers.list(groupId);
    await client.databaseUsers.list(groupId);

    expect(server.stats.challenges).toBe(2);
    expect(server.stats.accepted).toBe(3);
    expect(credentials.invalidations).toBe(0);
  });

  it('fails a wrong key as auth_failed after re-reading the credential once, without looping', async () => {
    const server = createDigestServer(apiKey);
    serveDigest(server, 4);
    const wrong = { ...apiKey, privateKey: 'priv-wrong-0000-secret' };
    const { client, credentials, logs } = createTestClient({
      credentials: new FakeCredentialSource([wrong]),
    });

    const error = await rejectionOf(client.databaseUsers.list(groupId));

    expect(isConnectorError(error) && error.code).toBe('auth_failed');
    expect(isConnectorError(error) && error.details).toMatchObject({
      httpStatus: 401,
      atlasErrorCode: 'UNAUTHORIZED',
    });
    expect(credentials.invalidations).toBe(1);
    expect(credentials.gets).toBe(2);
    expect(visibleOutput([error], logs)).not.toContain(wrong.privateKey);
  });

  it('passes up a signed call refused 401 USER_CANNOT_ACCESS_GROUP without re-reading the key', async () => {
    const server = createDigestServer(apiKey);
    let refused = false;
    // The challenge, the signed call Atlas refuses for a project the key has no role in, the next call.
    nock(atlasBaseUrl)
      .get(usersPath)
      .query(true)
      .times(3)
      .reply(function (uri) {
        const authorization = this.req.headers.authorization;
        const answer = server.handle(
          'GET',
          uri,
          typeof authorization === 'string' ? authorization : undefined,
        );
        if (answer[0] !== 200 || refused) return answer;
        refused = true;
        return [
          401,
          { error: 401, errorCode: 'USER_CANNOT_ACCESS_GROUP', detail: 'User cannot access this group.' },
        ];
      });
    const { client, credentials } = apiKeyClient();

    const error = await rejectionOf(client.databaseUsers.list(groupId));
    await client.databaseUsers.list(groupId);

    expect(isConnectorError(error) && error.details).toMatchObject({
      httpStatus: 401,
      atlasErrorCode: 'USER_CANNOT_ACCESS_GROUP',
    });
    expect(credentials.invalidations).toBe(0);
    expect(credentials.gets).toBe(1);
  });

  it('reads the store again for a key refused after a re-read only once a minute has passed', async () => {
    const server = createDigestServer(apiKey);
    // The first call: challenge, refused, re-read, challenge, refused. The second, within the
    // minute: refused, without a re-read. The third, after it: refused, re-read (the key is fixed
    // by then), challenge, accepted.
    serveDigest(server, 4 + 1 + 3);
    const wrong = { ...apiKey, privateKey: 'priv-wrong-0000-secret' };
    const { client, clock, credentials } = createTestClient({
      credentials: new FakeCredentialSource([wrong, wrong, apiKey]),
    });

    const first = await rejectionOf(client.databaseUsers.list(groupId));
    expect(isConnectorError(first) && first.code).toBe('auth_failed');
    expect(credentials.gets).toBe(2);

    await clock.advance(59_000);
    const second = await rejectionOf(client.databaseUsers.list(groupId));
    expect(isConnectorError(second) && second.code).toBe('auth_failed');
    expect(credentials.invalidations).toBe(1);
    expect(credentials.gets).toBe(2);

    await clock.advance(1_000);
    await client.databaseUsers.list(groupId);
    expect(credentials.invalidations).toBe(2);
    expect(credentials.gets).toBe(3);
    expect(server.stats.accepted).toBe(1);
  });

  it('picks up a rotated key without a restart', async () => {
    const server = createDigestServer(rotatedApiKey);
    serveDigest(server, 2 + 2 + 1);
    const { client, credentials, logs } = apiKeyClient(apiKey, rotatedApiKey);

    await client.databaseUsers.list(groupId);
    await client.databaseUsers.list(groupId);

    expect(credentials.invalidations).toBe(1);
    expect(server.stats.accepted).toBe(2);
    expect(visibleOutput([], logs)).not.toContain(apiKey.privateKey);
    expect(visibleOutput([], logs)).not.toContain(rotatedApiKey.privateKey);
  });

  it('signs the path with its query string', async () => {
    const server = createDigestServer(apiKey);
    let signedUri = '';
    nock(atlasBaseUrl)
      .get(usersPath)
      .query({ pageNum: '2', itemsPerPage: '5' })
      .times(2)
      .reply(function (uri) {
        const authorization = this.req.headers.authorization;
        if (typeof authorization === 'string') signedUri = /uri="([^"]*)"/.exec(authorization)?.[1] ?? '';
        return server.handle('GET', uri, typeof authorization === 'string' ? authorization : undefined);
      });
    const { client } = apiKeyClient();

    await client.databaseUsers.list(groupId, { pageNum: 2, itemsPerPage: 5 });

    expect(signedUri).toBe(`${usersPath}?pageNum=2&itemsPerPage=5`);
  });
});
