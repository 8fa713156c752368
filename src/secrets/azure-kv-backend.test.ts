import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AggregateAuthenticationError,
  AuthenticationError,
  AuthenticationRequiredError,
  CredentialUnavailableError,
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
} from '@azure/identity';
import nock from 'nock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { testTempDir } from '../../test/kits/temp-dir-test-kit.js';
import { ConnectorError } from '../errors/connector-error.js';
import { createAzureKvBackend } from './azure-kv-backend.js';
import { parseSecretReference, type AzureKvReference } from './secret-reference.js';

const vault = 'https://myvault.vault.azure.net';
const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const token = 'eyJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL3ZhdWx0LmF6dXJlLm5ldCJ9.';
const privateKey = '3f2c8a1e-5b7d-4c9e-a1f0-7e6d5c4b3a21';
const payload = JSON.stringify({ public_key: 'abcdefgh', private_key: privateKey });
const version = '0123456789abcdef0123456789abcdef';
const challenge = `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="https://vault.azure.net"`;

/** A TokenCredential port that hands out one token and records what it was asked for. */
class FakeTokenCredential implements TokenCredential {
  readonly requests: { scopes: string[]; tenantId: string | undefined }[] = [];

  constructor(private readonly failure?: Error) {}

  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.requests.push({ scopes: [scopes].flat(), tenantId: options?.tenantId });
    if (this.failure) return Promise.reject(this.failure);
    return Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3_600_000 });
  }
}

function backend(credential: TokenCredential) {
  return createAzureKvBackend({
    env: {},
    clock: new FakeClock(),
    azure: { credential, clientOptions: { retryOptions: { maxRetries: 0 } } },
  });
}

function reference(text = 'azure-kv://myvault/atlas-api-key'): AzureKvReference {
  const parsed = parseSecretReference(text);
  if (parsed.kind !== 'azure-kv') throw new Error('expected an azure-kv reference');
  return parsed;
}

const secretPath = (name: string, ver = '') => new RegExp(`^/secrets/${name}/${ver}$`);

/** Key Vault's first answer to a request without a token: 401 naming the tenant and resource. */
function challengeFirst(path: RegExp) {
  nock(vault, { badheaders: ['authorization'] })
    .get(path)
    .query(true)
    .reply(
      401,
      { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer token.' } },
      {
        'WWW-Authenticate': challenge,
      },
    );
}

function authorized(path: RegExp) {
  return nock(vault, { reqheaders: { authorization: `Bearer ${token}` } })
    .get(path)
    .query((query) => typeof query['api-version'] === 'string');
}

async function readError(promise: Promise<unknown>): Promise<ConnectorError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error instanceof ConnectorError) return error;
  throw new Error(`expected a ConnectorError, got ${String(error)}`);
}

const signal = () => new AbortController().signal;

describe('azure-kv backend: reading', () => {
  it('completes the challenge, then reads the secret with a token for the challenged tenant', async () => {
    const credential = new FakeTokenCredential();
    challengeFirst(secretPath('atlas-api-key'));
    authorized(secretPath('atlas-api-key')).reply(200, {
      value: payload,
      id: `${vault}/secrets/atlas-api-key/${version}`,
      attributes: { enabled: true },
    });

    await expect(backend(credential).read(reference(), signal())).resolves.toBe(payload);
    expect(credential.requests).toEqual([{ scopes: ['https://vault.azure.net/.default'], tenantId }]);
  });

  it('reads the version named by the reference', async () => {
    challengeFirst(secretPath('atlas-api-key', version));
    authorized(secretPath('atlas-api-key', version)).reply(200, {
      value: payload,
      id: `${vault}/secrets/atlas-api-key/${version}`,
    });

    const ref = reference(`azure-kv://myvault/atlas-api-key?version=${version}`);
    await expect(backend(new FakeTokenCredential()).read(ref, signal())).resolves.toBe(payload);
  });

  it('reuses the token for the next read, without a second challenge', async () => {
    const credential = new FakeTokenCredential();
    const kv = backend(credential);
    challengeFirst(secretPath('atlas-api-key'));
    authorized(secretPath('atlas-api-key'))
      .times(2)
      .reply(200, { value: payload, id: `${vault}/secrets/atlas-api-key/${version}` });

    await kv.read(reference(), signal());
    await expect(kv.read(reference(), signal())).resolves.toBe(payload);
    expect(credential.requests).toHaveLength(1);
  });

  it('rejects a secret without a value', async () => {
    challengeFirst(secretPath('atlas-api-key'));
    authorized(secretPath('atlas-api-key')).reply(200, { id: `${vault}/secrets/atlas-api-key/${version}` });

    const error = await readError(backend(new FakeTokenCredential()).read(reference(), signal()));
    expect(error.code).toBe('secret_invalid');
    expect(error.message).toBe('secret "azure-kv://myvault/atlas-api-key" has no value');
  });
});

interface ErrorCase {
  readonly name: string;
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
  readonly code: string;
  readonly retryable: boolean;
  readonly says: readonly string[];
}

describe('azure-kv backend: errors', () => {
  const denial =
    "Caller is not authorized to perform action on resource. Caller: appid=0a1b2c3d-0000-4000-8000-000000000001;oid=0a1b2c3d-0000-4000-8000-000000000002 Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'";

  it.each<ErrorCase>([
    {
      name: '404 SecretNotFound is secret_not_found',
      status: 404,
      body: {
        error: {
          code: 'SecretNotFound',
          message: 'A secret with (name/id) atlas-api-key was not found in this key vault.',
        },
      },
      headers: {},
      code: 'secret_not_found',
      retryable: false,
      says: [`not found in Key Vault ${vault}`],
    },
    {
      name: '403 Forbidden without an inner code is forbidden, naming both grants and the denied principal',
      status: 403,
      body: { error: { code: 'Forbidden', message: denial } },
      headers: {},
      code: 'forbidden',
      retryable: false,
      says: [
        '"Key Vault Secrets User" role on the secret',
        '/secrets/atlas-api-key',
        '"get" secret permission',
        'oid=0a1b2c3d',
      ],
    },
    {
      name: '403 ForbiddenByFirewall points at the network rules',
      status: 403,
      body: {
        error: {
          code: 'ForbiddenByFirewall',
          message: 'Client address is not authorized and caller is not a trusted service.',
        },
      },
      headers: {},
      code: 'forbidden',
      retryable: false,
      says: ["Key Vault's network rules refused the connector"],
    },
    {
      name: '401 after the token is auth_failed',
      status: 401,
      body: { error: { code: 'Unauthorized', message: 'AKV10032: Invalid issuer.' } },
      headers: {},
      code: 'auth_failed',
      retryable: false,
      says: ["Key Vault rejected the connector's token", "vault's tenant"],
    },
    {
      name: '429 is rate_limited, retryable, with Retry-After',
      status: 429,
      body: {
        error: {
          code: 'Throttled',
          message: 'Request was not processed because too many requests were received.',
        },
      },
      headers: { 'Retry-After': '7' },
      code: 'rate_limited',
      retryable: true,
      says: ['throttled'],
    },
    {
      name: '503 is upstream_unavailable and retryable',
      status: 503,
      body: { error: { code: 'ServiceUnavailable', message: 'The service is unavailable.' } },
      headers: {},
      code: 'upstream_unavailable',
      retryable: true,
      says: ['Key Vault is unavailable (HTTP 503)'],
    },
  ])('maps $name', async ({ status, body, headers, code, retryable, says }) => {
    challengeFirst(secretPath('atlas-api-key'));
    authorized(secretPath('atlas-api-key')).reply(status, body, {
      'x-ms-request-id': 'req-0001',
      ...headers,
    });

    const error = await readError(backend(new FakeTokenCredential()).read(reference(), signal()));
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.message).toContain('secret "azure-kv://myvault/atlas-api-key": ');
    for (const text of says) expect(error.message).toContain(text);
    expect(error.message).not.toContain(token);
    expect(error.cause).toBeUndefined();
    if (status === 429) expect(error.retryAfterMs).toBe(7_000);
  });

  it.each([
    [
      'SecretDisabled',
      'Operation get is not allowed on a disabled secret.',
      'the secret is disabled in Key Vault',
    ],
    [
      'ForbiddenByFirewall',
      'Client address is not authorized and caller is not a trusted service.',
      "Key Vault's network rules refused the connector",
    ],
  ])('tells a 403 Forbidden with inner code %s from a missing role', async (innerCode, message, says) => {
    challengeFirst(secretPath('atlas-api-key'));
    authorized(secretPath('atlas-api-key')).reply(403, {
      error: { code: 'Forbidden', message, innererror: { code: innerCode } },
    });

    const error = await readError(backend(new FakeTokenCredential()).read(reference(), signal()));
    expect(error.code).toBe('forbidden');
    expect(error.message).toContain(says);
    expect(error.message).not.toContain('Key Vault Secrets User');
    expect(error.details.azureError).toBe(innerCode);
  });

  it.each([
    [
      'AccessDenied',
      "The user, group or application 'appid=0a1b2c3d-0000-4000-8000-000000000001;oid=0a1b2c3d-0000-4000-8000-000000000002' does not have secrets get permission on key vault 'myvault;location=westeurope'.",
      [
        'the "get" secret permission in its access policies',
        'az keyvault set-policy -n myvault',
        'oid=0a1b2c3d',
      ],
      ['Key Vault Secrets User'],
    ],
    [
      'ForbiddenByRbac',
      denial,
      ['"Key Vault Secrets User" role on the secret', '/secrets/atlas-api-key', 'oid=0a1b2c3d'],
      ['access polic', '"get" secret permission'],
    ],
  ])(
    'names only the permission model Key Vault refused under (inner code %s)',
    async (innerCode, message, says, saysNot) => {
      challengeFirst(secretPath('atlas-api-key'));
      authorized(secretPath('atlas-api-key')).reply(403, {
        error: { code: 'Forbidden', message, innererror: { code: innerCode } },
      });

      const error = await readError(backend(new FakeTokenCredential()).read(reference(), signal()));
      expect(error.code).toBe('forbidden');
      expect(error.details.azureError).toBe(innerCode);
      for (const text of says) expect(error.message).toContain(text);
      for (const text of saysNot) expect(error.message).not.toContain(text);
    },
  );

  it('maps a credential that cannot produce a token to auth_failed with the workload identity hint', async () => {
    const unavailable = Object.assign(
      new Error('WorkloadIdentityCredential: AZURE_FEDERATED_TOKEN_FILE is not set'),
      {
        name: 'CredentialUnavailableError',
      },
    );
    challengeFirst(secretPath('atlas-api-key'));

    const error = await readError(backend(new FakeTokenCredential(unavailable)).read(reference(), signal()));
    expect(error.code).toBe('auth_failed');
    expect(error.message).toContain('azure.workload.identity/client-id');
    expect(error.message).toContain('AZURE_FEDERATED_TOKEN_FILE is not set');
  });

  it.each([
    ['vault.azure.cn', 'https://login.chinacloudapi.cn'],
    ['vault.usgovcloudapi.net', 'https://login.microsoftonline.us'],
  ])(
    'says which authority a %s vault needs when Entra ID refuses the identity',
    async (suffix, authority) => {
      const host = `https://myvault.${suffix}`;
      nock(host, { badheaders: ['authorization'] })
        .get(secretPath('atlas-api-key'))
        .query(true)
        .reply(401, undefined, {
          'WWW-Authenticate': `Bearer authorization="${authority}/${tenantId}", resource="https://${suffix}"`,
        });
      const refused = new AuthenticationRequiredError({
        scopes: [`https://${suffix}/.default`],
        message: `invalid_request: AADSTS90002: Tenant '${tenantId}' not found.`,
      });

      const error = await readError(
        backend(new FakeTokenCredential(refused)).read(
          reference(`azure-kv://${host}/atlas-api-key`),
          signal(),
        ),
      );
      expect(error.code).toBe('auth_failed');
      expect(error.message).toContain('AADSTS90002');
      expect(error.message).toContain(`set AZURE_AUTHORITY_HOST=${authority}`);
    },
  );

  it('names no other authority for a public-cloud vault', async () => {
    challengeFirst(secretPath('atlas-api-key'));
    const refused = new AuthenticationRequiredError({
      scopes: ['https://vault.azure.net/.default'],
      message: 'invalid_client: AADSTS7000215: Invalid client secret provided.',
    });
    const error = await readError(backend(new FakeTokenCredential(refused)).read(reference(), signal()));
    expect(error.code).toBe('auth_failed');
    expect(error.message).not.toContain('AZURE_AUTHORITY_HOST');
  });

  it.each([
    ['429 Too Many Requests', 'rate_limited', 429, 'Too Many Requests', 60_000],
    [
      '503 temporarily_unavailable',
      'upstream_unavailable',
      503,
      JSON.stringify({
        error: 'temporarily_unavailable',
        error_description: 'AADSTS90033: A transient error has occurred.',
      }),
      undefined,
    ],
  ] as const)(
    'maps a token endpoint that answered %s to a retryable %s (AuthenticationError keeps the status)',
    async (_name, code, status, body, retryAfterMs) => {
      challengeFirst(secretPath('atlas-api-key'));
      const credential = new FakeTokenCredential(new AuthenticationError(status, body));

      const error = await readError(backend(credential).read(reference(), signal()));
      expect(error.code).toBe(code);
      expect(error.retryable).toBe(true);
      expect(error.retryAfterMs).toBe(retryAfterMs);
      expect(error.message).toContain(`Microsoft Entra ID did not issue a token (HTTP ${status})`);
      expect(error.details.azureError).toBe(`HTTP ${status}`);
      expect(error.message).not.toContain(token);
    },
  );

  it.each(['ENOTFOUND', 'EAI_AGAIN'])(
    'maps an unreachable vault (%s) to retryable upstream_unavailable',
    async (code) => {
      nock(vault)
        .get(secretPath('atlas-api-key'))
        .query(true)
        .replyWithError(Object.assign(new Error(`getaddrinfo ${code} myvault.vault.azure.net`), { code }));

      const error = await readError(backend(new FakeTokenCredential()).read(reference(), signal()));
      expect(error.code).toBe('upstream_unavailable');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain(`could not reach Key Vault ${vault} (${code})`);
    },
  );

  it.each([
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'],
    [
      'ERR_TLS_CERT_ALTNAME_INVALID',
      "Hostname/IP does not match certificate's altnames: Host: myvault.vault.azure.net. is not in the cert's altnames: DNS:proxy.internal",
    ],
  ])(
    'maps a TLS certificate the connector does not trust (%s) to upstream_unavailable naming CA_BUNDLE_FILE, not to internal',
    async (code, message) => {
      nock(vault)
        .get(secretPath('atlas-api-key'))
        .query(true)
        .replyWithError(Object.assign(new Error(message), { code }));

      const error = await readError(backend(new FakeTokenCredential()).read(reference(), signal()));
      expect(error.code).toBe('upstream_unavailable');
      expect(error.message).toContain(`the TLS certificate presented for Key Vault ${vault} (${code})`);
      expect(error.message).toContain('CA_BUNDLE_FILE');
      expect(error.message).not.toContain('unexpected error');
      expect(error.details.azureError).toBe(code);
    },
  );

  const blockPage = '<html><body>Blocked by the egress proxy policy: myvault.vault.azure.net</body></html>';

  it.each([
    [403, 'text/html', 'forbidden'],
    // The SDK's JSON.parse fails on it, and its error quotes the whole body after V8's SyntaxError.
    [403, 'application/json; charset=utf-8', 'forbidden'],
    [200, 'application/json', 'invalid_response'],
  ])(
    'reports a %i %s answer that is not Key Vault JSON (a proxy block page) as not from Key Vault, quoting none of it',
    async (status, contentType, code) => {
      const credential = new FakeTokenCredential();
      // The proxy answers the SDK's first request, the one that should draw Key Vault's challenge.
      nock(vault, { badheaders: ['authorization'] })
        .get(secretPath('atlas-api-key'))
        .query(true)
        .reply(status, blockPage, { 'content-type': contentType });

      const error = await readError(backend(credential).read(reference(), signal()));
      expect(error.code).toBe(code);
      expect(error.retryable).toBe(false);
      expect(error.message).toContain(
        `Key Vault ${vault} answered HTTP ${status} with a body that is not Key Vault JSON`,
      );
      expect(error.message).toContain('HTTPS_PROXY, NO_PROXY and the vault URL');
      for (const text of [
        '<html',
        'Blocked by',
        'SyntaxError',
        'Azure said',
        'Key Vault Secrets User',
        'set-policy',
      ]) {
        expect(error.message).not.toContain(text);
      }
      expect(error.details).toMatchObject({ azureError: 'NotKeyVaultJson', httpStatus: status });
      expect(credential.requests).toEqual([]);
    },
  );

  it("keeps a proxy's 502 page retryable upstream_unavailable, as Key Vault's own 5xx", async () => {
    nock(vault, { badheaders: ['authorization'] })
      .get(secretPath('atlas-api-key'))
      .query(true)
      .reply(502, blockPage, { 'content-type': 'text/html' });

    const error = await readError(backend(new FakeTokenCredential()).read(reference(), signal()));
    expect(error.code).toBe('upstream_unavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).not.toContain('<html');
  });

  it.each<[string, number, string, Record<string, string>, string, boolean]>([
    ['an empty 503 from a gateway', 503, '', {}, 'upstream_unavailable', true],
    ['an empty 502 from a gateway', 502, '', {}, 'upstream_unavailable', true],
    ['an empty 429', 429, '', { 'Retry-After': '2' }, 'rate_limited', true],
    ['an empty 404', 404, '', {}, 'not_found', false],
    ['a 200 HTML page', 200, blockPage, { 'content-type': 'text/html' }, 'invalid_response', false],
    [
      "a 403 proxy's JSON without Key Vault's error object",
      403,
      '{"message":"Request blocked by policy"}',
      { 'content-type': 'application/json' },
      'forbidden',
      false,
    ],
  ])(
    'reports %s by its own status as not Key Vault JSON (the SDK fails on an empty or a 200 one with a TypeError that keeps none)',
    async (_name, status, body, headers, code, retryable) => {
      nock(vault, { badheaders: ['authorization'] })
        .get(secretPath('atlas-api-key'))
        .query(true)
        .reply(status, body, headers);

      const error = await readError(backend(new FakeTokenCredential()).read(reference(), signal()));
      expect(error.code).toBe(code);
      expect(error.retryable).toBe(retryable);
      expect(error.details).toMatchObject({ azureError: 'NotKeyVaultJson', httpStatus: status });
      for (const text of [
        'TypeError',
        'unexpected error',
        'Cannot read',
        'not found in Key Vault',
        'blocked',
      ]) {
        expect(error.message).not.toContain(text);
      }
      if (!retryable) expect(error.message).toContain('HTTPS_PROXY, NO_PROXY and the vault URL');
      if (status === 429) expect(error.retryAfterMs).toBe(2_000);
    },
  );

  it('ends a read whose token request never answers as a retryable timeout, and the next read asks again', async () => {
    // An Entra ID endpoint (or proxy) that accepts the connection and never answers: MSAL's token
    // request has no timeout and ignores the abort signal.
    let asked = 0;
    const stalled: TokenCredential = {
      getToken: () => {
        asked += 1;
        return new Promise<AccessToken | null>(() => undefined);
      },
    };
    const kv = createAzureKvBackend({
      env: {},
      clock: new FakeClock(),
      azure: {
        credential: stalled,
        tokenTimeoutMs: 100,
        requestTimeoutMs: 300,
        clientOptions: { retryOptions: { maxRetries: 0 } },
      },
    });
    for (const attempt of [1, 2]) {
      challengeFirst(secretPath('atlas-api-key'));
      // A liveness bound, not a timing assertion: without a deadline the read never settles.
      const outcome = await Promise.race([
        readError(kv.read(reference(), signal())),
        new Promise<'still pending'>((resolve) => setTimeout(() => resolve('still pending'), 10_000).unref()),
      ]);
      if (outcome === 'still pending') throw new Error(`read ${attempt} still pending after 10 s`);
      expect(outcome.code).toBe('timeout');
      expect(outcome.retryable).toBe(true);
      expect(outcome.message).toContain('Microsoft Entra ID');
      expect(asked).toBe(attempt);
    }
  }, 30_000);

  it.each([
    ['a private endpoint host name', 'https://myvault.privatelink.vaultcore.azure.net'],
    ['a custom DNS name', 'https://secrets.contoso.com'],
  ])(
    'refuses a vault URL outside the domain Key Vault names (%s) as config_invalid, asking for the vault URL',
    async (_name, host) => {
      const credential = new FakeTokenCredential();
      nock(host, { badheaders: ['authorization'] })
        .get(secretPath('atlas-api-key'))
        .query(true)
        .reply(
          401,
          { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer token.' } },
          {
            'WWW-Authenticate': challenge,
          },
        );

      const error = await readError(
        backend(credential).read(reference(`azure-kv://${host}/atlas-api-key`), signal()),
      );
      expect(error.code).toBe('config_invalid');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain(`secret "azure-kv://${host}/atlas-api-key": `);
      expect(error.message).toContain(`${new URL(host).host} is not a host of vault.azure.net`);
      expect(error.message).toContain('https://<vault name>.vault.azure.net');
      expect(error.message).not.toContain('disableChallengeResourceVerification');
      expect(error.details.azureError).toBe('ChallengeResourceMismatch');
      // No token was asked for the resource: the SDK checks the host before it asks.
      expect(credential.requests).toEqual([]);
    },
  );

  it.each([
    [429, 'rate_limited'],
    [503, 'upstream_unavailable'],
  ] as const)(
    "ends a read answered %i with a Retry-After beyond the SDK's own backoff at once, as %s with that wait",
    async (status, code) => {
      // The connector's own SDK retry settings, not the other tests' maxRetries: 0.
      const kv = createAzureKvBackend({
        env: {},
        clock: new FakeClock(),
        azure: { credential: new FakeTokenCredential() },
      });
      challengeFirst(secretPath('atlas-api-key'));
      authorized(secretPath('atlas-api-key')).reply(
        status,
        {
          error: {
            code: 'Throttled',
            message: 'Request was not processed because too many requests were received.',
          },
        },
        { 'Retry-After': '120' },
      );

      // A liveness bound, not a timing assertion: the SDK would sleep 120 s twice inside the read.
      const outcome = await Promise.race([
        readError(kv.read(reference(), signal())),
        new Promise<'still pending'>((resolve) => setTimeout(() => resolve('still pending'), 10_000).unref()),
      ]);
      if (outcome === 'still pending')
        throw new Error('the read was still waiting inside the SDK after 10 s');
      expect(outcome.code).toBe(code);
      expect(outcome.retryable).toBe(true);
      expect(outcome.retryAfterMs).toBe(120_000);
      expect(outcome.details.httpStatus).toBe(status);
    },
    30_000,
  );

  it('leaves a short Retry-After to the SDK, which waits and asks again', async () => {
    const kv = createAzureKvBackend({
      env: {},
      clock: new FakeClock(),
      azure: { credential: new FakeTokenCredential() },
    });
    challengeFirst(secretPath('atlas-api-key'));
    authorized(secretPath('atlas-api-key')).reply(
      429,
      { error: { code: 'Throttled', message: 'Too many requests.' } },
      { 'Retry-After': '0' },
    );
    authorized(secretPath('atlas-api-key')).reply(200, {
      value: payload,
      id: `${vault}/secrets/atlas-api-key/${version}`,
    });

    await expect(kv.read(reference(), signal())).resolves.toBe(payload);
  });

  it('reports an abort as cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await readError(backend(new FakeTokenCredential()).read(reference(), controller.signal));
    expect(error.code).toBe('cancelled');
  });
});

/** Every variable DefaultAzureCredential reads to pick an identity; each test sets its own. */
const identityVariables = [
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_CLIENT_CERTIFICATE_PASSWORD',
  'AZURE_USERNAME',
  'AZURE_PASSWORD',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_AUTHORITY_HOST',
  'AZURE_REGIONAL_AUTHORITY_NAME',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'IDENTITY_SERVER_THUMBPRINT',
  'IMDS_ENDPOINT',
  'MSI_ENDPOINT',
  'MSI_SECRET',
];
const clientId = '11111111-2222-3333-4444-555555555555';
const clientSecret = 'entra-client-secret-value-0001';
const federatedToken = 'projected-federated-token-0001';

/**
 * The identity the connector's own DefaultAzureCredential finds. `prod` keeps the chain to the
 * environment, workload identity and managed identity: the developer credentials that follow run
 * local tools (az, pwsh, azd), which would make the outcome depend on the machine.
 */
function identity(kind: 'none' | 'workload identity' | 'client secret') {
  for (const name of identityVariables) vi.stubEnv(name, undefined);
  vi.stubEnv('AZURE_TOKEN_CREDENTIALS', 'prod');
  if (kind === 'none') return;
  vi.stubEnv('AZURE_TENANT_ID', tenantId);
  vi.stubEnv('AZURE_CLIENT_ID', clientId);
  if (kind === 'client secret') {
    vi.stubEnv('AZURE_CLIENT_SECRET', clientSecret);
    return;
  }
  const tokenFile = join(testTempDir('workload-identity-'), 'token');
  writeFileSync(tokenFile, federatedToken);
  vi.stubEnv('AZURE_FEDERATED_TOKEN_FILE', tokenFile);
}

/** Entra ID's token endpoint for the challenged tenant, answering every request the same way. */
function entraToken() {
  return nock('https://login.microsoftonline.com')
    .persist()
    .post(`/${tenantId}/oauth2/v2.0/token`)
    .query(true);
}

/**
 * The backend with the SDK's own DefaultAzureCredential: the one the daemon builds when none is
 * given, or one made here with no retries of its own, which only shortens an outage's test.
 */
async function entraBackend(sdkRetries: 'default' | 'none') {
  const { DefaultAzureCredential } = await import('@azure/identity');
  const credential =
    sdkRetries === 'none' ? new DefaultAzureCredential({ retryOptions: { maxRetries: 0 } }) : undefined;
  return createAzureKvBackend({
    env: {},
    clock: new FakeClock(),
    azure: { credential, clientOptions: { retryOptions: { maxRetries: 0 } } },
  });
}

function expectNoSecrets(error: ConnectorError) {
  const text = `${error.message} ${JSON.stringify(error.details)}`;
  for (const secret of [clientSecret, federatedToken]) expect(text).not.toContain(secret);
}

describe('azure-kv backend: Microsoft Entra ID through DefaultAzureCredential', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('keeps no identity at all (IMDS unreachable too) as auth_failed with the setup hint', async () => {
    identity('none');
    challengeFirst(secretPath('atlas-api-key'));
    nock('http://169.254.169.254')
      .persist()
      .get(/^\/metadata\/identity\/oauth2\/token/)
      .query(true)
      .replyWithError(
        Object.assign(new Error('connect EHOSTUNREACH 169.254.169.254:80'), { code: 'EHOSTUNREACH' }),
      );

    const error = await readError((await entraBackend('default')).read(reference(), signal()));
    expect(error.code).toBe('auth_failed');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('no usable Azure identity');
    expect(error.message).toContain('azure.workload.identity/client-id');
  }, 30_000);

  it.each<[string, 'workload identity' | 'client secret', (scope: nock.Interceptor) => nock.Scope, string]>([
    [
      'workload identity, Entra ID unreachable (ECONNREFUSED)',
      'workload identity',
      (scope) =>
        scope.replyWithError(
          Object.assign(new Error('connect ECONNREFUSED 20.190.0.1:443'), { code: 'ECONNREFUSED' }),
        ),
      'network_error',
    ],
    [
      'workload identity, Entra ID answers 500 server_error',
      'workload identity',
      (scope) =>
        scope.reply(500, {
          error: 'server_error',
          error_description: 'AADSTS50000: There was an error issuing a token.',
          error_codes: [50000],
        }),
      'server_error',
    ],
    [
      'workload identity, Entra ID throttles (429 Too Many Requests, Retry-After)',
      'workload identity',
      (scope) => scope.reply(429, 'Too Many Requests', { 'Retry-After': '1' }),
      'network_error',
    ],
    [
      'client secret, Entra ID not resolvable (ENOTFOUND)',
      'client secret',
      (scope) =>
        scope.replyWithError(
          Object.assign(new Error('getaddrinfo ENOTFOUND login.microsoftonline.com'), { code: 'ENOTFOUND' }),
        ),
      'network_error',
    ],
  ])(
    'maps %s to retryable upstream_unavailable',
    async (_name, kind, answer, reason) => {
      identity(kind);
      challengeFirst(secretPath('atlas-api-key'));
      answer(entraToken());

      const error = await readError((await entraBackend('none')).read(reference(), signal()));
      expect(error.code).toBe('upstream_unavailable');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain(`Microsoft Entra ID did not issue a token (${reason})`);
      expect(error.message).toContain('login.microsoftonline.com, or AZURE_AUTHORITY_HOST');
      expect(error.details.azureError).toBe(reason);
      expect(error.details.httpStatus).toBeUndefined();
      expectNoSecrets(error);
    },
    30_000,
  );

  it.each(['workload identity', 'client secret'] as const)(
    'keeps the outage retryable while MSAL replays the 503 from its throttle cache (%s)',
    async (kind) => {
      identity(kind);
      const kv = await entraBackend('none');
      let asked = 0;
      entraToken().reply(() => {
        asked += 1;
        return [
          503,
          {
            error: 'temporarily_unavailable',
            error_description: 'AADSTS90033: A transient error has occurred. Please try again.',
            error_codes: [90033],
          },
        ];
      });
      for (const attempt of [1, 2]) {
        challengeFirst(secretPath('atlas-api-key'));
        const error = await readError(kv.read(reference(), signal()));
        expect(error.code, `read ${attempt}`).toBe('upstream_unavailable');
        expect(error.message).toContain('Microsoft Entra ID did not issue a token');
        if (attempt === 1) asked = 0;
      }
      // MSAL answered the second read from its throttle cache, without asking Entra ID. (Workload
      // identity asks again: the managed-identity credential after it builds a fresh MSAL client.)
      if (kind === 'client secret') expect(asked).toBe(0);
    },
    30_000,
  );

  it.each([
    [
      'workload identity',
      400,
      'invalid_client',
      "AADSTS700016: Application with identifier '11111111-2222-3333-4444-555555555555' was not found in the directory.",
      [700016],
    ],
    [
      'workload identity',
      400,
      'invalid_request',
      'AADSTS70021: No matching federated identity record found for presented assertion.',
      [70021],
    ],
    ['client secret', 401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.', [7000215]],
  ] as const)(
    'keeps a rejection by Entra ID (%s, HTTP %i %s) as auth_failed',
    async (kind, status, code, description, codes) => {
      identity(kind);
      challengeFirst(secretPath('atlas-api-key'));
      entraToken().reply(status, { error: code, error_description: description, error_codes: codes });

      const error = await readError((await entraBackend('default')).read(reference(), signal()));
      expect(error.code).toBe('auth_failed');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain(description.slice(0, 14));
      expectNoSecrets(error);
    },
    30_000,
  );
});

/**
 * A TokenCredential port that answers each request with the next scripted outcome. Its tokens are
 * already expired, as a real one is some hours later: the next read must ask for a new one.
 */
class ScriptedTokenCredential implements TokenCredential {
  asked = 0;

  constructor(private readonly outcomes: readonly (Error | 'token')[]) {}

  getToken(): Promise<AccessToken | null> {
    const outcome = this.outcomes[this.asked];
    this.asked += 1;
    if (outcome === undefined) return Promise.reject(new Error(`unscripted token request ${this.asked}`));
    if (outcome === 'token') return Promise.resolve({ token, expiresOnTimestamp: Date.now() - 1 });
    return Promise.reject(outcome);
  }
}

const imdsDown = 'connect EHOSTUNREACH 169.254.169.254:80';

/** How the identity SDK reports a managed identity whose endpoint does not answer, alone and in DefaultAzureCredential's chain. */
const unavailableIdentities: readonly [string, () => Error][] = [
  [
    'ManagedIdentityCredential alone',
    () =>
      new CredentialUnavailableError(`ManagedIdentityCredential: Network unreachable. Message: ${imdsDown}`),
  ],
  [
    "DefaultAzureCredential's chain",
    () =>
      new AggregateAuthenticationError(
        [
          new CredentialUnavailableError(
            'EnvironmentCredential is unavailable. No underlying credential could be used.',
          ),
          new CredentialUnavailableError(
            'ManagedIdentityCredential: Authentication failed. Message Attempted to use the IMDS endpoint, but it is not available.',
          ),
        ],
        'ChainedTokenCredential authentication failed.',
      ),
  ],
];

function readOnce(kv: ReturnType<typeof backend>, answer: 'value' | 'challenge only') {
  challengeFirst(secretPath('atlas-api-key'));
  if (answer === 'value')
    authorized(secretPath('atlas-api-key')).reply(200, {
      value: payload,
      id: `${vault}/secrets/atlas-api-key/${version}`,
    });
  return kv.read(reference(), signal());
}

describe('azure-kv backend: an identity that has issued a token in this process', () => {
  it.each(unavailableIdentities)(
    'keeps an identity that never issued a token and is unavailable (%s) as auth_failed with the setup hint',
    async (_name, unavailable) => {
      const error = await readError(
        readOnce(backend(new ScriptedTokenCredential([unavailable()])), 'challenge only'),
      );
      expect(error.code).toBe('auth_failed');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('no usable Azure identity');
      expect(error.message).toContain('azure.workload.identity/client-id');
    },
  );

  it.each(unavailableIdentities)(
    'reads its later unavailability (%s) as a retryable upstream_unavailable, not as a missing identity',
    async (_name, unavailable) => {
      const credential = new ScriptedTokenCredential(['token', unavailable()]);
      const kv = backend(credential);
      await expect(readOnce(kv, 'value')).resolves.toBe(payload);

      // The token has expired: the second read asks the identity before it sends anything to Key Vault.
      const error = await readError(kv.read(reference(), signal()));
      expect(credential.asked).toBe(2);
      expect(error.code).toBe('upstream_unavailable');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('secret "azure-kv://myvault/atlas-api-key": ');
      expect(error.message).toContain('the Azure identity that issued this process');
      expect(error.message).not.toContain('no usable Azure identity');
      expect(error.message).not.toContain(token);
      expect(error.message).not.toContain(payload);
      expect(error.details.azureError).toBe('CredentialUnavailableError');
      expect(error.cause).toBeUndefined();
    },
  );

  it('keeps a rejection by Entra ID after a first token as auth_failed: the identity itself was refused', async () => {
    const rejected = new AggregateAuthenticationError(
      [
        new CredentialUnavailableError('WorkloadIdentityCredential: AZURE_FEDERATED_TOKEN_FILE is not set'),
        new AuthenticationRequiredError({
          scopes: ['https://vault.azure.net/.default'],
          message: 'invalid_client: AADSTS7000215: Invalid client secret provided.',
        }),
      ],
      'ChainedTokenCredential authentication failed.',
    );
    const kv = backend(new ScriptedTokenCredential(['token', rejected]));
    await readOnce(kv, 'value');

    const error = await readError(kv.read(reference(), signal()));
    expect(error.code).toBe('auth_failed');
    expect(error.message).toContain('AADSTS7000215');
  });
});

/** The managed identity endpoint (IMDS) of an Azure VM or AKS node. */
const imdsTokenPath = /^\/metadata\/identity\/oauth2\/token/;

/**
 * IMDS answering the SDK's availability probe (a request without the Metadata header), then one
 * token that lasts a second: gone by the next read, as a real one is some hours later.
 */
function imdsIssuesOneToken() {
  nock('http://169.254.169.254', { badheaders: ['metadata'] })
    .get(imdsTokenPath)
    .query(true)
    .reply(400, { error: 'invalid_request', error_description: 'Required metadata header not specified' });
  nock('http://169.254.169.254', { reqheaders: { metadata: 'true' } })
    .get(imdsTokenPath)
    .query(true)
    .reply(200, {
      access_token: token,
      expires_in: '1',
      expires_on: String(Math.floor(Date.now() / 1000) + 1),
      resource: 'https://vault.azure.net',
      token_type: 'Bearer',
    });
}

describe('azure-kv backend: a managed identity through DefaultAzureCredential', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('reads an IMDS outage after its first token as retryable upstream_unavailable', async () => {
    identity('none');
    const kv = await entraBackend('none');
    imdsIssuesOneToken();
    challengeFirst(secretPath('atlas-api-key'));
    authorized(secretPath('atlas-api-key')).reply(200, {
      value: payload,
      id: `${vault}/secrets/atlas-api-key/${version}`,
    });
    await expect(kv.read(reference(), signal())).resolves.toBe(payload);

    nock('http://169.254.169.254')
      .persist()
      .get(imdsTokenPath)
      .query(true)
      .replyWithError(Object.assign(new Error(imdsDown), { code: 'EHOSTUNREACH' }));
    const error = await readError(kv.read(reference(), signal()));
    expect(error.code).toBe('upstream_unavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('the Azure identity that issued this process');
    expect(error.message).toContain('check the managed identity endpoint (IMDS');
    expect(error.message).not.toContain(token);
    expect(error.message).not.toContain(payload);
  }, 30_000);
});
