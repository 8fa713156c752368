import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { isConnectorError, type ConnectorError } from '../errors/connector-error.js';
import { settleUntil } from '../../test/fakes/fake-clock.js';
import type { AtlasClient } from './client.js';
import type { DatabaseUserInput } from './resources/database-users.js';
import {
  api,
  apiKey,
  atlas,
  atlasError,
  createTestClient,
  FakeCredentialSource,
  groupId,
  mockTokenMint,
  orgId,
  rejectionOf,
  visibleOutput,
} from '../../test/kits/atlas-test-kit.js';

const usersPath = `${api}/groups/${groupId}/databaseUsers`;
const newUser: DatabaseUserInput = {
  groupId,
  username: 'jit-alice',
  databaseName: 'admin',
  password: 'Pw-very-secret-123',
  roles: [{ roleName: 'read', databaseName: 'sales' }],
};

async function connectorError(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await rejectionOf(promise);
  if (!isConnectorError(error)) throw new Error(`expected a ConnectorError, got ${String(error)}`);
  return error;
}

describe('Atlas error mapping', () => {
  it('maps 404 USERNAME_NOT_FOUND to not_found with the Atlas code in safe details', async () => {
    mockTokenMint();
    atlas()
      .get(`${usersPath}/admin/ghost`)
      .reply(404, atlasError(404, 'USERNAME_NOT_FOUND', 'No user with username ghost exists.'));
    const { client } = createTestClient();

    const error = await connectorError(client.databaseUsers.get(groupId, 'admin', 'ghost'));

    expect(error.code).toBe('not_found');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'getGroupDatabaseUser: USERNAME_NOT_FOUND: No user with username ghost exists.',
    );
    expect(error.details).toEqual({
      httpStatus: 404,
      atlasErrorCode: 'USERNAME_NOT_FOUND',
      operation: 'getGroupDatabaseUser',
    });
  });

  it.each([
    [409, 'USER_ALREADY_EXISTS', 'conflict'],
    [400, 'ATLAS_INVALID_ROLE', 'invalid_request'],
    [403, 'GROUP_USERS_LIMIT_EXCEEDED', 'quota_exceeded'],
    [403, 'CUSTOM_ROLES_LIMIT_EXCEEDED', 'quota_exceeded'],
    [403, 'COLLECTION_ROLES_LIMIT_EXCEEDED', 'quota_exceeded'],
    [403, 'USER_CANNOT_ACCESS_GROUP', 'forbidden'],
    [410, 'VERSION_GONE', 'gone'],
    [500, 'UNEXPECTED_ERROR', 'upstream_unavailable'],
  ])('maps a create answered %i %s to %s, without retrying', async (status, atlasCode, code) => {
    mockTokenMint();
    atlas().post(usersPath).reply(status, atlasError(status, atlasCode));
    const { client, requests } = createTestClient();

    const error = await connectorError(client.databaseUsers.create(groupId, newUser));

    expect(error.code).toBe(code);
    expect(error.details).toMatchObject({ httpStatus: status, atlasErrorCode: atlasCode });
    expect(requests).toHaveLength(1);
  });

  it.each(['INVITATIONS_RATE_LIMITED_IP', 'RATE_LIMITED_IP'])(
    'treats an invitation answered 400 %s as a retryable rate limit with a 60 s hint, sent once',
    async (atlasCode) => {
      mockTokenMint();
      atlas()
        .post(`${api}/orgs/${orgId}/users`)
        .reply(400, atlasError(400, atlasCode, 'Rate limit of 10 invitations per 1 minutes exceeded.'));
      const { client, requests } = createTestClient();

      const error = await connectorError(
        client.orgUsers.invite(orgId, { username: 'bob@example.com', roles: { orgRoles: ['ORG_MEMBER'] } }),
      );

      expect(error.toSafeJSON()).toMatchObject({
        code: 'rate_limited',
        retryable: true,
        retryAfterMs: 60_000,
      });
      expect(requests).toHaveLength(1);
    },
  );

  it('names the HTTP status when the error body is not an Atlas envelope', async () => {
    mockTokenMint();
    atlas().post(usersPath).reply(502, '<html>Bad gateway</html>');
    const { client } = createTestClient();

    const error = await connectorError(client.databaseUsers.create(groupId, newUser));

    expect(error.code).toBe('upstream_unavailable');
    expect(error.message).toBe('createGroupDatabaseUser: HTTP_502: ');
  });

  // A caller reads not_found as "already gone" (a revoke's delete, a read before it): a 404 that
  // something other than Atlas answered (a wrong base URL, a proxy's page) must not say that.
  it.each([
    ['a read answered with an HTML page', 'get', '<html>Not Found</html>'],
    ['a delete answered with no body', 'delete', ''],
    ['a delete answered with another service’s JSON', 'delete', { error: { code: 'not_found' } }],
  ] as const)(
    'does not take a 404 without an Atlas error envelope for not_found: %s',
    async (_case, method, body) => {
      mockTokenMint();
      atlas()[method](`${usersPath}/admin/alice`).reply(404, body);
      const { client } = createTestClient();

      const error = await connectorError(
        method === 'get'
          ? client.databaseUsers.get(groupId, 'admin', 'alice')
          : client.databaseUsers.delete(groupId, 'admin', 'alice'),
      );

      expect(error.code).toBe('invalid_response');
      expect(error.retryable).toBe(false);
      expect(error.details).toMatchObject({ httpStatus: 404, atlasErrorCode: 'HTTP_404' });
      expect(error.message).toContain('not an Atlas error');
    },
  );

  it('truncates the Atlas detail to 300 characters, marking the cut', async () => {
    mockTokenMint();
    atlas()
      .post(usersPath)
      .reply(400, atlasError(400, 'VALIDATION_ERROR', 'detail '.repeat(150)));
    const { client } = createTestClient();

    const error = await connectorError(client.databaseUsers.create(groupId, newUser));

    // 43 words of 6 characters and the 42 spaces between them: 300 characters.
    expect(error.message).toBe(
      `createGroupDatabaseUser: VALIDATION_ERROR: ${'detail '.repeat(43).trimEnd()}…`,
    );
  });

  it('drops a word of the Atlas detail the 300-character cut goes through, whole', async () => {
    mockTokenMint();
    atlas()
      .post(usersPath)
      .reply(400, atlasError(400, 'VALIDATION_ERROR', `${'a'.repeat(295)} ${'x'.repeat(1000)}`));
    const { client } = createTestClient();

    const error = await connectorError(client.databaseUsers.create(groupId, newUser));

    expect(error.message).toBe(`createGroupDatabaseUser: VALIDATION_ERROR: ${'a'.repeat(295)}…`);
  });

  it('removes a password Atlas echoes back in the detail', async () => {
    mockTokenMint();
    atlas()
      .post(usersPath)
      .reply(400, atlasError(400, 'COMMON_PASSWORD', `Password ${newUser.password ?? ''} is too common.`));
    const { client, logs } = createTestClient();

    const error = await connectorError(client.databaseUsers.create(groupId, newUser));

    expect(error.message).toContain('[REDACTED]');
    expect(visibleOutput([error], logs)).not.toContain(newUser.password);
  });

  it('maps a network failure to upstream_unavailable', async () => {
    mockTokenMint();
    atlas()
      .post(usersPath)
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const { client } = createTestClient();

    const error = await connectorError(client.databaseUsers.create(groupId, newUser));

    expect(error.code).toBe('upstream_unavailable');
    expect(error.message).toBe('createGroupDatabaseUser: network error (ECONNRESET)');
  });

  it('fails a 2xx body that does not match its schema as invalid_response', async () => {
    mockTokenMint();
    atlas().get(`${usersPath}/admin/alice`).reply(200, { databaseName: 'admin', roles: [] });
    const { client } = createTestClient();

    const error = await connectorError(client.databaseUsers.get(groupId, 'admin', 'alice'));

    expect(error.code).toBe('invalid_response');
    expect(error.message).toContain('username');
  });

  it('fails a 2xx body that is not JSON as invalid_response', async () => {
    mockTokenMint();
    atlas().get(`${usersPath}/admin/alice`).reply(200, 'OK');
    const { client } = createTestClient();

    const error = await connectorError(client.databaseUsers.get(groupId, 'admin', 'alice'));

    expect(error.code).toBe('invalid_response');
  });

  it.each([
    [
      'a database user',
      (c: AtlasClient) => c.databaseUsers.delete(groupId, 'admin', 'jit-alice'),
      `${usersPath}/admin/jit-alice`,
    ],
    [
      'an organization user',
      (c: AtlasClient) => c.orgUsers.remove(orgId, 'u1'),
      `${api}/orgs/${orgId}/users/u1`,
    ],
  ])(
    'fails %s delete that a proxy answers 200 with an HTML page as invalid_response, not as done',
    async (_name, call, path) => {
      mockTokenMint();
      atlas()
        .delete(path)
        .reply(200, '<html><body>Sign in to continue</body></html>', { 'Content-Type': 'text/html' });
      const { client } = createTestClient();

      const error = await connectorError(call(client));

      expect(error.code).toBe('invalid_response');
      expect(error.details.httpStatus).toBe(200);
    },
  );

  it('takes an empty or JSON answer to a delete as done', async () => {
    mockTokenMint();
    atlas().delete(`${usersPath}/admin/jit-alice`).reply(204);
    atlas().delete(`${api}/orgs/${orgId}/users/u1`).reply(200, {});
    const { client } = createTestClient();

    await client.databaseUsers.delete(groupId, 'admin', 'jit-alice');
    await client.orgUsers.remove(orgId, 'u1');
  });

  it.each([
    ['a project user', (c: AtlasClient) => c.projectUsers.remove(groupId, '..')],
    ['an organization user', (c: AtlasClient) => c.orgUsers.remove(orgId, '..')],
    ['a database user', (c: AtlasClient) => c.databaseUsers.delete(groupId, 'admin', '..')],
  ])(
    'refuses to remove %s named by a dot segment, which the URL would resolve to a parent path',
    async (_name, call) => {
      // An API key: a request would go out at once, unsigned (strict nock then reports its path).
      const credentials = new FakeCredentialSource([apiKey]);
      const { client } = createTestClient({ credentials, maxRetries: 0 });

      const error = await connectorError(call(client));

      expect(error.code).toBe('invalid_request');
    },
  );

  it('refuses an empty path segment before sending anything', async () => {
    const { client } = createTestClient();

    const error = await connectorError(client.databaseUsers.get(groupId, 'admin', ''));

    expect(error.code).toBe('invalid_request');
  });
});

describe('cancellation', () => {
  it('fails as cancelled without a request when the signal is already aborted', async () => {
    const { client } = createTestClient();

    const error = await connectorError(client.clusters.list(groupId, { signal: AbortSignal.abort() }));

    expect(error.code).toBe('cancelled');
  });

  it('fails as cancelled when aborted while the request is in flight', async () => {
    mockTokenMint();
    atlas().get(`${api}/groups/${groupId}/clusters`).query(true).delay(60_000).reply(200, { results: [] });
    const { client } = createTestClient();
    const controller = new AbortController();
    const call = client.clusters.list(groupId, { signal: controller.signal });
    await nockRequestStarted();

    controller.abort();

    expect((await connectorError(call)).code).toBe('cancelled');
  });

  it('fails as cancelled when aborted during a retry wait', async () => {
    mockTokenMint();
    atlas()
      .get(`${api}/groups/${groupId}/clusters`)
      .query(true)
      .reply(503, atlasError(503, 'SERVICE_UNAVAILABLE'));
    const { client, clock } = createTestClient();
    const controller = new AbortController();
    const call = client.clusters.list(groupId, { signal: controller.signal });
    await settleUntil(() => clock.pending === 1, 'the retry loop to sleep');

    controller.abort();

    expect((await connectorError(call)).code).toBe('cancelled');
  });
});

async function nockRequestStarted(): Promise<void> {
  await settleUntil(() => nock.pendingMocks().length === 0, 'the request to reach nock');
}
