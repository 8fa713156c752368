// The cloud SDKs use Node's http/https modules, not fetch: the proxy and CA bundle must reach them
// through their own request handlers. Each case sends the real SDK through a loopback forward proxy
// to an HTTPS server whose certificate only the test CA (CA_BUNDLE_FILE) vouches for.
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOutboundAgent } from '../../src/runtime/outbound-agent.js';
import { createAwsSmBackend } from '../../src/secrets/aws-sm-backend.js';
import { createAzureKvBackend } from '../../src/secrets/azure-kv-backend.js';
import { parseSecretReference, type SecretReference } from '../../src/secrets/secret-reference.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { testTempDir } from '../kits/temp-dir-test-kit.js';
import { loopbackServers, testCaFile } from './loopback-servers.js';

const payload = JSON.stringify({
  public_key: 'abcdefgh',
  private_key: '3f2c8a1e-5b7d-4c9e-a1f0-7e6d5c4b3a21',
});
const servers = loopbackServers();
const signal = () => AbortSignal.timeout(15_000);

// Real sockets end to end: nock's interceptor hands proxy agents a connection of its own making,
// which is not what runs in production, so it is switched off for this file.
beforeAll(() => nock.restore());
afterAll(() => nock.activate());

afterEach(async () => {
  vi.unstubAllEnvs();
  await servers.closeAll();
});

function referenceOf<K extends SecretReference['kind']>(
  text: string,
  kind: K,
): Extract<SecretReference, { kind: K }> {
  const parsed = parseSecretReference(text);
  if (parsed.kind !== kind) throw new Error(`expected a ${kind} reference`);
  return parsed as Extract<SecretReference, { kind: K }>;
}

/** Secrets Manager (JSON RPC) and STS (query protocol) as far as the SDK needs them. */
function awsApis(calls: string[]) {
  return (req: IncomingMessage, body: string, res: ServerResponse) => {
    const target = req.headers['x-amz-target'];
    if (target === 'secretsmanager.GetSecretValue') {
      calls.push(
        `GetSecretValue signed by ${/Credential=(\w+)\//.exec(req.headers.authorization ?? '')?.[1]}`,
      );
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ Name: 'prod/atlas', SecretString: payload }));
      return;
    }
    if (new URLSearchParams(body).get('Action') === 'AssumeRoleWithWebIdentity') {
      calls.push(`AssumeRoleWithWebIdentity ${new URLSearchParams(body).get('WebIdentityToken')}`);
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(stsAnswer);
      return;
    }
    res.writeHead(400).end();
  };
}

const stsAnswer = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>ASIAWEBIDENTITYKEY01</AccessKeyId>
      <SecretAccessKey>web-identity-secret-access-key</SecretAccessKey>
      <SessionToken>web-identity-session-token</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/atlas-connector/session</Arn>
      <AssumedRoleId>AROAEXAMPLE:session</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>`;

async function proxiedAgent(seen: string[]) {
  const proxy = await servers.proxy(seen);
  const agent = createOutboundAgent({
    httpsProxy: proxy,
    httpProxy: proxy,
    noProxy: '',
    caBundleFile: testCaFile,
  });
  if (!agent) throw new Error('expected an outbound agent');
  return agent;
}

describe('AWS SDK behind HTTPS_PROXY with CA_BUNDLE_FILE', () => {
  it('reads Secrets Manager through the proxy, trusting the extra CA', async () => {
    const calls: string[] = [];
    const seen: string[] = [];
    const endpoint = await servers.tls(awsApis(calls));
    const backend = createAwsSmBackend({
      env: {},
      clock: new FakeClock(),
      agent: await proxiedAgent(seen),
      aws: {
        endpoint,
        credentials: { accessKeyId: 'AKIASTATICKEY0000001', secretAccessKey: 's' },
        maxAttempts: 1,
      },
    });

    await expect(
      backend.read(referenceOf('aws-sm://prod/atlas?region=us-east-1', 'aws-sm'), signal()),
    ).resolves.toBe(payload);
    expect(calls).toEqual(['GetSecretValue signed by AKIASTATICKEY0000001']);
    expect(seen).toEqual([`CONNECT ${new URL(endpoint).host}`]);
    backend.close?.();
  });

  it('takes the IRSA web-identity STS call through the same proxy and CA', async () => {
    const calls: string[] = [];
    const seen: string[] = [];
    const endpoint = await servers.tls(awsApis(calls));
    const dir = testTempDir('irsa-');
    writeFileSync(join(dir, 'token'), 'projected-service-account-token');
    for (const [name, value] of Object.entries({
      AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token'),
      AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/atlas-connector',
      AWS_ENDPOINT_URL_STS: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_CONFIG_FILE: join(dir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_PROFILE: '',
    })) {
      vi.stubEnv(name, value);
    }
    const backend = createAwsSmBackend({
      env: {},
      clock: new FakeClock(),
      agent: await proxiedAgent(seen),
      aws: { endpoint, maxAttempts: 1 },
    });

    await expect(
      backend.read(referenceOf('aws-sm://prod/atlas?region=us-east-1', 'aws-sm'), signal()),
    ).resolves.toBe(payload);
    expect(calls).toEqual([
      'AssumeRoleWithWebIdentity projected-service-account-token',
      'GetSecretValue signed by ASIAWEBIDENTITYKEY01',
    ]);
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(new Set(seen)).toEqual(new Set([`CONNECT ${new URL(endpoint).host}`]));
    backend.close?.();
  });

  it('fails the TLS handshake without the extra CA: the CA bundle is what makes the server trusted', async () => {
    const endpoint = await servers.tls(awsApis([]));
    const backend = createAwsSmBackend({
      env: {},
      clock: new FakeClock(),
      agent: createOutboundAgent({ httpsProxy: await servers.proxy([]), noProxy: '' }),
      aws: {
        endpoint,
        credentials: { accessKeyId: 'AKIASTATICKEY0000001', secretAccessKey: 's' },
        maxAttempts: 1,
      },
    });
    await expect(
      backend.read(referenceOf('aws-sm://prod/atlas?region=us-east-1', 'aws-sm'), signal()),
    ).rejects.toThrow(/certificate/);
    backend.close?.();
  });
});

/** Key Vault's challenge flow: 401 naming tenant and resource, then the secret for a bearer token. */
function keyVault(calls: string[]) {
  return (req: IncomingMessage, _body: string, res: ServerResponse) => {
    if (!req.headers.authorization) {
      calls.push('challenge');
      res.writeHead(401, {
        'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"`,
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ error: { code: 'Unauthorized', message: 'missing token' } }));
      return;
    }
    calls.push(`read with ${req.headers.authorization}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ value: payload, id: `https://127.0.0.1/secrets/atlas-api-key/v1` }));
  };
}

const fixedToken: TokenCredential = {
  getToken: (): Promise<AccessToken> =>
    Promise.resolve({ token: 'kv-token', expiresOnTimestamp: 4_102_444_800_000 }),
};

describe('Azure SDK behind HTTPS_PROXY with CA_BUNDLE_FILE', () => {
  it('reads Key Vault through the proxy, trusting the extra CA', async () => {
    const calls: string[] = [];
    const seen: string[] = [];
    const vaultUrl = await servers.tls(keyVault(calls));
    const backend = createAzureKvBackend({
      env: {},
      clock: new FakeClock(),
      agent: await proxiedAgent(seen),
      azure: {
        credential: fixedToken,
        clientOptions: { retryOptions: { maxRetries: 0 }, disableChallengeResourceVerification: true },
      },
    });
    const reference = referenceOf('azure-kv://myvault/atlas-api-key', 'azure-kv');

    await expect(backend.read({ ...reference, vaultUrl }, signal())).resolves.toBe(payload);
    expect(calls).toEqual(['challenge', 'read with Bearer kv-token']);
    expect(new Set(seen)).toEqual(new Set([`CONNECT ${new URL(vaultUrl).host}`]));
  });

  it('asks Entra ID for the workload-identity token through the proxy, trusting the extra CA', async () => {
    const calls: string[] = [];
    const seen: string[] = [];
    // Entra ID's real host name: the proxy stands in for DNS, the test CA's certificate names it.
    const entra = await servers.tls(entraTokenEndpoint(calls));
    const vaultUrl = await servers.tls(keyVault(calls));
    const proxy = await servers.proxy(seen, { [entraHost]: new URL(entra).host });
    const dir = testTempDir('workload-identity-');
    writeFileSync(join(dir, 'token'), 'projected-federated-token');
    for (const [name, value] of Object.entries({
      AZURE_TENANT_ID: tenantId,
      AZURE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
      AZURE_FEDERATED_TOKEN_FILE: join(dir, 'token'),
      AZURE_AUTHORITY_HOST: '',
      AZURE_CLIENT_SECRET: '',
    })) {
      vi.stubEnv(name, value);
    }
    const backend = createAzureKvBackend({
      env: {},
      clock: new FakeClock(),
      agent: createOutboundAgent({ httpsProxy: proxy, noProxy: '', caBundleFile: testCaFile }),
      azure: {
        clientOptions: { retryOptions: { maxRetries: 0 }, disableChallengeResourceVerification: true },
      },
    });
    const reference = referenceOf('azure-kv://myvault/atlas-api-key', 'azure-kv');

    await expect(backend.read({ ...reference, vaultUrl }, signal())).resolves.toBe(payload);
    expect(calls).toEqual([
      'challenge',
      `token for 11111111-2222-3333-4444-555555555555 with projected-federated-token`,
      'read with Bearer entra-access-token',
    ]);
    expect(new Set(seen)).toEqual(new Set([`CONNECT ${new URL(vaultUrl).host}`, `CONNECT ${entraHost}`]));
    backend.close?.();
  });
});

const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const entraHost = 'login.microsoftonline.com:443';

/** Entra ID's token endpoint for a federated client assertion (the workload-identity exchange). */
function entraTokenEndpoint(calls: string[]) {
  return (req: IncomingMessage, body: string, res: ServerResponse) => {
    const form = new URLSearchParams(body);
    if (req.method !== 'POST' || !req.url?.startsWith(`/${tenantId}/oauth2/v2.0/token`)) {
      res.writeHead(404).end('{}');
      return;
    }
    calls.push(`token for ${form.get('client_id')} with ${form.get('client_assertion')}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        token_type: 'Bearer',
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: 'entra-access-token',
      }),
    );
  };
}
