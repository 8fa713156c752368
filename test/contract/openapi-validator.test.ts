import { describe, expect, it } from 'vitest';
import {
  loadAtlasSpec,
  validateRequest,
  validateResponse,
  type AtlasSpec,
  type HttpExchange,
} from './openapi-validator.js';
import { defaultSpecPath, specSuiteTitle } from './spec-loader.js';

const spec = loadAtlasSpec();
if (!spec) console.warn(`skipping the OpenAPI validator tests: the spec is not at ${defaultSpecPath}`);

const groupId = '660200000000000000000001';
const v1 = 'application/vnd.atlas.2023-01-01+json';

/** A well-formed createDatabaseUser exchange; each test tweaks one thing. */
function baseline(overrides: Partial<HttpExchange> = {}): HttpExchange {
  return {
    method: 'POST',
    url: `/api/atlas/v2/groups/${groupId}/databaseUsers`,
    requestHeaders: { accept: v1, 'content-type': v1 },
    requestBody: {
      groupId,
      databaseName: 'admin',
      username: 'jit-1',
      password: 'long-enough',
      roles: [{ roleName: 'read', databaseName: 'sales' }],
    },
    status: 201,
    responseHeaders: { 'content-type': v1 },
    responseBody: {
      groupId,
      databaseName: 'admin',
      username: 'jit-1',
      roles: [{ roleName: 'read', databaseName: 'sales' }],
    },
    ...overrides,
  };
}

describe('loadAtlasSpec', () => {
  it('returns undefined when the spec file is absent', () => {
    expect(loadAtlasSpec('/nonexistent/atlas-admin-api-v2.yaml')).toBeUndefined();
  });
});

describe.skipIf(!spec)(specSuiteTitle('validating exchanges against the Atlas spec', Boolean(spec)), () => {
  const s = spec as AtlasSpec;

  it('accepts the well-formed baseline on both sides', () => {
    expect([...validateRequest(s, baseline()), ...validateResponse(s, baseline())]).toEqual([]);
  });

  it.each([
    ['an unknown path', { url: '/api/atlas/v2/groups/x/nothing' }, /matches no operation/],
    [
      'an Accept without a version',
      { requestHeaders: { accept: 'application/json', 'content-type': v1 } },
      /Accept names no versioned media type/,
    ],
    [
      'an undeclared version',
      { requestHeaders: { accept: 'application/vnd.atlas.2024-08-05+json', 'content-type': v1 } },
      /declares 2023-01-01/,
    ],
    [
      'a plain JSON Content-Type',
      { requestHeaders: { accept: v1, 'content-type': 'application/json' } },
      /Content-Type application\/json is not one of/,
    ],
    [
      'an undeclared query parameter',
      { url: `/api/atlas/v2/groups/${groupId}/databaseUsers?pagenum=2` },
      /query parameter pagenum is not declared/,
    ],
    [
      'a malformed group id',
      { url: '/api/atlas/v2/groups/not-hex/databaseUsers' },
      /path \{groupId\} must match pattern/,
    ],
    [
      'a short password',
      { requestBody: { ...(baseline().requestBody as object), password: 'short' } },
      /password must NOT have fewer than 8/,
    ],
    [
      'an invented attribute',
      { requestBody: { ...(baseline().requestBody as object), nickname: 'x' } },
      /nickname is not declared/,
    ],
    [
      'a missing required attribute',
      { requestBody: { groupId, databaseName: 'admin', username: 'jit-1' } },
      /must have required property 'roles'/,
    ],
  ])('flags a request with %s', (_name, tweak, expected) => {
    expect(validateRequest(s, baseline(tweak)).join('\n')).toMatch(expected);
  });

  it('flags an out-of-range itemsPerPage on a list call', () => {
    const list = baseline({
      method: 'GET',
      url: `/api/atlas/v2/groups/${groupId}/databaseUsers?itemsPerPage=501`,
      requestBody: undefined,
    });
    expect(validateRequest(s, list).join('\n')).toMatch(/itemsPerPage must be <= 500/);
  });

  it('reads an array query parameter repeated, as the spec declares it, never comma-joined', () => {
    const list = (query: string): HttpExchange =>
      baseline({
        method: 'GET',
        url: `/api/atlas/v2/orgs/${groupId}/users?${query}`,
        requestHeaders: { accept: 'application/vnd.atlas.2025-02-19+json' },
        requestBody: undefined,
      });
    expect(validateRequest(s, list('orgMembershipStatuses=ACTIVE&orgMembershipStatuses=PENDING'))).toEqual(
      [],
    );
    expect(validateRequest(s, list('orgMembershipStatuses=ACTIVE,PENDING')).join('\n')).toMatch(
      /orgMembershipStatuses\/0 must be equal to one of the allowed values/,
    );
  });

  it.each([
    ['an undeclared success status', { status: 200 }, /status 200 is not declared/],
    [
      'a password in the response',
      { responseBody: { ...(baseline().responseBody as object), password: 'x' } },
      /password is writeOnly/,
    ],
    [
      'an error without the JSON envelope type',
      {
        status: 409,
        responseHeaders: { 'content-type': v1 },
        responseBody: { error: 409, errorCode: 'USER_ALREADY_EXISTS' },
      },
      /should be application\/json/,
    ],
    [
      'an error missing errorCode',
      { status: 409, responseHeaders: { 'content-type': 'application/json' }, responseBody: { error: 409 } },
      /required property 'errorCode'/,
    ],
    [
      'a 204 with a body',
      { method: 'DELETE', url: `/api/atlas/v2/groups/${groupId}/databaseUsers/admin/jit-1`, status: 204 },
      /204 carries a body/,
    ],
  ])('flags a response with %s', (_name, tweak, expected) => {
    expect(validateResponse(s, baseline(tweak)).join('\n')).toMatch(expected);
  });

  it('leaves the OAuth endpoints, which the spec does not describe, alone', () => {
    const token = baseline({
      url: '/api/oauth/token',
      requestHeaders: { accept: 'application/json' },
      requestBody: 'grant_type=client_credentials',
      status: 200,
    });
    expect([...validateRequest(s, token), ...validateResponse(s, token)]).toEqual([]);
  });

  it('accepts an error status every operation may answer even where the spec omits it', () => {
    const gone = baseline({
      status: 410,
      responseHeaders: { 'content-type': 'application/json' },
      responseBody: { error: 410, errorCode: 'VERSION_GONE' },
    });
    expect(validateResponse(s, gone)).toEqual([]);
  });
});
