import nock from 'nock';
import { FakeClock } from '../fakes/fake-clock.js';
import { FakeRandom } from '../fakes/fake-random.js';
import { captureLogs, type LogCapture } from '../fakes/log-capture.js';
import { createAtlasClient, type AtlasClient, type AtlasClientOptions } from '../../src/atlas/client.js';
import type { AtlasCredentials, CredentialSource } from '../../src/atlas/credentials.js';
import { unlimitedRateLimiter } from '../../src/atlas/rate-limiter.js';
import type { RequestInfo } from '../../src/atlas/transport.js';
import { createHttpClient } from '../../src/runtime/http.js';

/** Test-only helpers for the Atlas client suites (strict nock, fake clock, captured logs). */
export const atlasBaseUrl = 'https://cloud.mongodb.com';
export const api = '/api/atlas/v2';
export const groupId = '5f1a2b3c4d5e6f7a8b9c0d1e';
export const orgId = '6a1b2c3d4e5f6a7b8c9d0e1f';

export const apiKey = {
  type: 'api-key',
  publicKey: 'pubkey01',
  privateKey: 'priv-7d9c2b44-secret-key',
} as const satisfies AtlasCredentials;

export const rotatedApiKey = {
  type: 'api-key',
  publicKey: 'pubkey01',
  privateKey: 'priv-rotated-55aa-secret',
} as const satisfies AtlasCredentials;

export const serviceAccount = {
  type: 'service-account',
  clientId: 'mdb_sa_id_0123456789abcdef01234567',
  clientSecret: 'mdb_sa_sk_client-secret-value-42',
} as const satisfies AtlasCredentials;

/**
 * Behaves like the secrets module's cache: `get()` returns the current value until `invalidate()`,
 * after which the next value in `versions` (a rotated key) is read.
 */
export class FakeCredentialSource implements CredentialSource {
  gets = 0;
  invalidations = 0;

  constructor(private readonly versions: readonly AtlasCredentials[]) {}

  get(): Promise<AtlasCredentials> {
    this.gets += 1;
    const current = this.versions[Math.min(this.invalidations, this.versions.length - 1)];
    if (!current) throw new Error('FakeCredentialSource needs at least one credential');
    return Promise.resolve(current);
  }

  invalidate(): void {
    this.invalidations += 1;
  }
}

export interface TestClient {
  readonly client: AtlasClient;
  readonly clock: FakeClock;
  readonly logs: LogCapture;
  readonly credentials: FakeCredentialSource;
  readonly requests: RequestInfo[];
}

export function createTestClient(
  options: Partial<Omit<AtlasClientOptions, 'credentials'>> & { credentials?: FakeCredentialSource } = {},
): TestClient {
  const clock = new FakeClock();
  const logs = captureLogs();
  const credentials = options.credentials ?? new FakeCredentialSource([serviceAccount]);
  const requests: RequestInfo[] = [];
  const client = createAtlasClient({
    baseUrl: atlasBaseUrl,
    fetch: createHttpClient(),
    clock,
    random: new FakeRandom([0.5]),
    logger: logs.logger,
    userAgent: 'atlas-jit-connector/0.0.0-test',
    rateLimiter: unlimitedRateLimiter,
    onRequest: (info) => requests.push(info),
    ...options,
    credentials,
  });
  return { client, clock, logs, credentials, requests };
}

/** One token mint for the default service-account credential; returns the scope to assert on. */
export function mockTokenMint(token = 'tok-1', expiresIn = 3600): nock.Scope {
  return nock(atlasBaseUrl)
    .post('/api/oauth/token', 'grant_type=client_credentials')
    .reply(200, { access_token: token, token_type: 'Bearer', expires_in: expiresIn });
}

/** Basic client authentication for a service account, as the token and revoke endpoints take it. */
export function basicAuth(account: { readonly clientId: string; readonly clientSecret: string }): string {
  return `Basic ${Buffer.from(`${account.clientId}:${account.clientSecret}`).toString('base64')}`;
}

/**
 * One revoke of `token` (RFC 7009): only matches the form body and the account's Basic client
 * credentials (default: `serviceAccount`). Returns the interceptor for `reply`.
 */
export function expectTokenRevoke(
  token: string,
  account: { readonly clientId: string; readonly clientSecret: string } = serviceAccount,
): nock.Interceptor {
  return nock(atlasBaseUrl, {
    reqheaders: {
      authorization: basicAuth(account),
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
    },
  }).post('/api/oauth/revoke', new URLSearchParams({ token, token_type_hint: 'access_token' }).toString());
}

/** An Atlas v2 mock that only answers requests carrying the given bearer token. */
export function atlas(token = 'tok-1'): nock.Scope {
  return nock(atlasBaseUrl, { reqheaders: { authorization: `Bearer ${token}` } });
}

export function atlasError(status: number, errorCode: string, detail = `${errorCode} detail`): object {
  return { error: status, errorCode, detail, reason: 'Reason', parameters: [] };
}

/** Everything an operator could see: error messages, their safe JSON, and every log line. */
export function visibleOutput(errors: readonly unknown[], logs: LogCapture): string {
  const fromErrors = errors.map((error) =>
    error instanceof Error
      ? `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`
      : String(error),
  );
  return [...fromErrors, logs.text()].join('\n');
}

export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}
