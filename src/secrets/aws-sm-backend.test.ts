import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { testTempDir } from '../../test/kits/temp-dir-test-kit.js';
import { ConnectorError } from '../errors/connector-error.js';
import { createAwsSmBackend, type AwsSmSettings } from './aws-sm-backend.js';
import type { SecretBackendSettings } from './secret-backend.js';
import { parseSecretReference, type AwsSmReference } from './secret-reference.js';

const accessKeyId = 'AKIAIOSFODNN7EXAMPLE';
const secretAccessKey = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const privateKey = '3f2c8a1e-5b7d-4c9e-a1f0-7e6d5c4b3a21';
const payload = JSON.stringify({ public_key: 'abcdefgh', private_key: privateKey });
const secretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/atlas-AbCdEf';
const requestId = 'c0ffee00-1234-4abc-9def-0123456789ab';

function backend(aws: AwsSmSettings = {}, env: SecretBackendSettings['env'] = {}) {
  return createAwsSmBackend({
    env,
    clock: new FakeClock(),
    aws: { credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1, ...aws },
  });
}

function reference(text = 'aws-sm://prod/atlas?region=us-east-1'): AwsSmReference {
  const parsed = parseSecretReference(text);
  if (parsed.kind !== 'aws-sm') throw new Error('expected an aws-sm reference');
  return parsed;
}

/** GetSecretValue as the SDK sends it: JSON 1.1 RPC, SigV4-signed with the injected key. */
function secretsManager(region = 'us-east-1', host = `https://secretsmanager.${region}.amazonaws.com`) {
  return nock(host)
    .matchHeader('x-amz-target', 'secretsmanager.GetSecretValue')
    .matchHeader('content-type', 'application/x-amz-json-1.1')
    .matchHeader(
      'authorization',
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${accessKeyId}/\\d{8}/${region}/secretsmanager/aws4_request, `,
      ),
    );
}

interface AwsReply {
  readonly status: number;
  readonly body: string | Record<string, string>;
  readonly headers: Record<string, string>;
}

function awsError(type: string, message: string, status = 400): AwsReply {
  return { status, body: { __type: type, message }, headers: { 'x-amzn-requestid': requestId } };
}

interface ErrorCase {
  readonly name: string;
  readonly reply: AwsReply;
  readonly code: string;
  readonly retryable: boolean;
  readonly says: readonly string[];
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

describe('aws-sm backend: reading', () => {
  it('shares one client per region between two first reads at once', async () => {
    secretsManager()
      .post('/')
      .twice()
      .reply(200, { ARN: secretArn, Name: 'prod/atlas', SecretString: payload });
    const send = vi.spyOn(SecretsManagerClient.prototype, 'send');
    try {
      const b = backend();
      await Promise.all([
        b.read(reference('aws-sm://team-a/atlas?region=us-east-1'), new AbortController().signal),
        b.read(reference('aws-sm://team-b/atlas?region=us-east-1'), new AbortController().signal),
      ]);
      expect(send.mock.contexts).toHaveLength(2);
      // Two clients would mean one that close() never destroys, with its own connections.
      expect(new Set(send.mock.contexts).size).toBe(1);
    } finally {
      send.mockRestore();
    }
  });

  it('reads SecretString through the real SDK client, signed with SigV4', async () => {
    secretsManager()
      .post('/', { SecretId: 'prod/atlas' })
      .reply(200, { ARN: secretArn, Name: 'prod/atlas', SecretString: payload, VersionId: 'v1' });

    await expect(backend().read(reference(), signal())).resolves.toBe(payload);
  });

  it("sends a full ARN as the secret id to the ARN's region", async () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/atlas-AbCdEf';
    secretsManager('eu-west-1')
      .post('/', { SecretId: arn })
      .reply(200, { ARN: arn, Name: 'prod/atlas', SecretString: payload });

    await expect(backend({ region: 'us-east-1' }).read(reference(`aws-sm://${arn}`), signal())).resolves.toBe(
      payload,
    );
  });

  it('asks for the version stage and version id of the reference', async () => {
    const versionId = 'EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE';
    secretsManager()
      .post('/', { SecretId: 'prod/atlas', VersionStage: 'AWSPREVIOUS', VersionId: versionId })
      .reply(200, { ARN: secretArn, Name: 'prod/atlas', SecretString: payload });

    const ref = reference(
      `aws-sm://prod/atlas?region=us-east-1&versionStage=AWSPREVIOUS&versionId=${versionId}`,
    );
    await expect(backend().read(ref, signal())).resolves.toBe(payload);
  });

  it('decodes SecretBinary as UTF-8 text', async () => {
    secretsManager()
      .post('/')
      .reply(200, {
        ARN: secretArn,
        Name: 'prod/atlas',
        SecretBinary: Buffer.from(payload).toString('base64'),
      });

    await expect(backend().read(reference(), signal())).resolves.toBe(payload);
  });

  it('rejects SecretBinary that is not UTF-8 text', async () => {
    secretsManager()
      .post('/')
      .reply(200, { ARN: secretArn, SecretBinary: Buffer.from([0xff, 0xfe, 0x00, 0xc3]).toString('base64') });

    const error = await readError(backend().read(reference(), signal()));
    expect(error.code).toBe('secret_invalid');
    expect(error.message).toContain('holds a SecretBinary that is not UTF-8 text');
  });

  it('rejects a secret with neither SecretString nor SecretBinary', async () => {
    secretsManager().post('/').reply(200, { ARN: secretArn, Name: 'prod/atlas' });

    const error = await readError(backend().read(reference(), signal()));
    expect(error.code).toBe('secret_invalid');
    expect(error.message).toBe(
      'secret "aws-sm://prod/atlas?region=us-east-1" has no SecretString or SecretBinary value',
    );
  });

  it('sends requests to AWS_ENDPOINT_URL_SECRETS_MANAGER from the injected environment', async () => {
    secretsManager('us-east-1', 'https://vpce-sm.internal.example:8443')
      .post('/', { SecretId: 'prod/atlas' })
      .reply(200, { ARN: secretArn, SecretString: payload });

    const env = { AWS_ENDPOINT_URL_SECRETS_MANAGER: 'https://vpce-sm.internal.example:8443' };
    await expect(backend({}, env).read(reference(), signal())).resolves.toBe(payload);
  });

  it('refuses an endpoint that is not a URL when the backend is built', () => {
    expect(() => backend({}, { AWS_ENDPOINT_URL_SECRETS_MANAGER: 'not a url' })).toThrow(
      expect.objectContaining({ code: 'config_invalid' }),
    );
  });

  it.each(['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_ENDPOINT_URL'])(
    'names %s, the variable the bad endpoint came from (LocalStack users write localhost:4566)',
    (name) => {
      expect(() => backend({}, { [name]: 'localhost:4566' })).toThrow(
        expect.objectContaining({
          message: expect.stringMatching(new RegExp(`^${name}: must be an absolute`)),
        }),
      );
    },
  );

  it('reports an abort as cancelled without sending anything', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await readError(backend().read(reference(), controller.signal));
    expect(error.code).toBe('cancelled');
  });
});

describe('aws-sm backend: errors', () => {
  it.each([
    ['cn-north-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
    ['us-iso-east-1', 'aws-iso'],
    ['us-isob-east-1', 'aws-iso-b'],
    ['eusc-de-east-1', 'aws-eusc'],
  ])('names the secret in %s with its partition %s in the IAM hint', async (region, partition) => {
    const endpoint = 'https://vpce-sm.internal.example';
    const denied = awsError('AccessDeniedException', 'not authorized', 400);
    secretsManager(region, endpoint).post('/').reply(denied.status, denied.body, denied.headers);
    const read = backend({}, { AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint }).read(
      reference(`aws-sm://prod/atlas?region=${region}`),
      signal(),
    );
    expect((await readError(read)).message).toContain(
      `secretsmanager:GetSecretValue on arn:${partition}:secretsmanager:${region}:<account-id>:secret:prod/atlas-??????`,
    );
  });

  const denial =
    'User: arn:aws:sts::123456789012:assumed-role/atlas-jit-connector/session is not authorized to perform: secretsmanager:GetSecretValue on resource: prod/atlas because no identity-based policy allows the secretsmanager:GetSecretValue action';

  it.each<ErrorCase>([
    {
      name: 'ResourceNotFoundException is secret_not_found',
      reply: awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret."),
      code: 'secret_not_found',
      retryable: false,
      says: ['not found in Secrets Manager in us-east-1'],
    },
    {
      name: 'AccessDeniedException is forbidden, naming the IAM action, the resource and the principal',
      reply: awsError('AccessDeniedException', denial),
      code: 'forbidden',
      retryable: false,
      says: [
        'secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:<account-id>:secret:prod/atlas-??????',
        'assumed-role/atlas-jit-connector',
      ],
    },
    {
      name: 'an AccessDeniedException about KMS adds kms:Decrypt',
      reply: awsError('AccessDeniedException', 'Access to KMS is not allowed'),
      code: 'forbidden',
      retryable: false,
      says: ['secretsmanager:GetSecretValue', "kms:Decrypt on the secret's customer-managed KMS key"],
    },
    {
      name: 'DecryptionFailure is forbidden with the KMS hint',
      reply: awsError('DecryptionFailure', 'Secrets Manager cannot decrypt the protected secret text'),
      code: 'forbidden',
      retryable: false,
      says: ['kms:Decrypt'],
    },
    {
      name: 'a bare 403 is forbidden with the IAM hint',
      reply: { status: 403, body: '', headers: {} },
      code: 'forbidden',
      retryable: false,
      says: ['secretsmanager:GetSecretValue'],
    },
    {
      name: 'UnrecognizedClientException is auth_failed: the credentials themselves are wrong',
      reply: awsError(
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      ),
      code: 'auth_failed',
      retryable: false,
      says: ["AWS rejected the connector's credentials (UnrecognizedClientException)"],
    },
    {
      name: 'ThrottlingException is rate_limited and retryable',
      reply: awsError('ThrottlingException', 'Rate exceeded'),
      code: 'rate_limited',
      retryable: true,
      says: ['throttled'],
    },
    {
      name: 'InternalServiceError is upstream_unavailable and retryable',
      reply: awsError('InternalServiceError', 'An error occurred on the server side.', 500),
      code: 'upstream_unavailable',
      retryable: true,
      says: ['unavailable'],
    },
    {
      name: 'a 503 without a body is upstream_unavailable and retryable',
      reply: { status: 503, body: '', headers: {} },
      code: 'upstream_unavailable',
      retryable: true,
      says: ['unavailable'],
    },
  ])('maps $name', async ({ reply, code, retryable, says }) => {
    secretsManager().post('/').reply(reply.status, reply.body, reply.headers);

    const error = await readError(backend().read(reference(), signal()));
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.message).toContain('secret "aws-sm://prod/atlas?region=us-east-1": ');
    for (const text of says) expect(error.message).toContain(text);
  });

  it('reports a 403 whose body is not AWS JSON (a proxy block page) as not from Secrets Manager, quoting none of it', async () => {
    // The SDK's JSON.parse fails on it, and V8's SyntaxError quotes the body's first characters.
    const page = '<html><body>Blocked by the egress proxy policy</body></html>';
    secretsManager().post('/').reply(403, page, { 'content-type': 'text/html' });

    const error = await readError(backend().read(reference(), signal()));
    expect(error.code).toBe('forbidden');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('answered HTTP 403 with a body that is not AWS JSON');
    expect(error.message).toContain('HTTPS_PROXY');
    for (const text of ['<html', 'Unexpected token', 'AWS said', 'secretsmanager:GetSecretValue']) {
      expect(error.message).not.toContain(text);
    }
  });

  it.each(['ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN'])(
    'maps the network failure %s to retryable upstream_unavailable',
    async (code) => {
      // nock 14 needs an Error instance to fail the request the way a socket does.
      secretsManager()
        .post('/')
        .replyWithError(Object.assign(new Error('socket failure'), { code }));

      const error = await readError(backend().read(reference(), signal()));
      expect(error.code).toBe('upstream_unavailable');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain(`could not reach Secrets Manager in us-east-1 (${code})`);
    },
  );

  it.each([
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'],
    ['CERT_HAS_EXPIRED', 'certificate has expired'],
  ])(
    'maps a TLS certificate the connector does not trust (%s) to upstream_unavailable naming CA_BUNDLE_FILE, not to internal',
    async (code, message) => {
      secretsManager()
        .post('/')
        .replyWithError(Object.assign(new Error(message), { code }));

      const error = await readError(backend().read(reference(), signal()));
      expect(error.code).toBe('upstream_unavailable');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain(
        `the TLS certificate presented for Secrets Manager in us-east-1 (${code})`,
      );
      expect(error.message).toContain('CA_BUNDLE_FILE');
      expect(error.message).not.toContain('unexpected error');
    },
  );

  it('maps a credential chain with nothing to offer to auth_failed with the IRSA hint', async () => {
    const noCredentials = () =>
      Promise.reject(
        Object.assign(new Error('Could not load credentials from any providers'), {
          name: 'CredentialsProviderError',
        }),
      );

    const error = await readError(backend({ credentials: noCredentials }).read(reference(), signal()));
    expect(error.code).toBe('auth_failed');
    expect(error.message).toContain('eks.amazonaws.com/role-arn');
    expect(error.message).toContain('AWS_ACCESS_KEY_ID');
  });

  it('maps a credential chain that supplied credentials earlier in this process and none now to a retryable outage', async () => {
    // EKS Pod Identity / ECS: the SDK wraps any failed request to the credentials endpoint (the
    // agent restarting, a 5xx) as CredentialsProviderError, as it does a chain with nothing set up.
    let outage = false;
    const credentials = () =>
      outage
        ? Promise.reject(
            Object.assign(new Error('Could not load credentials from any providers'), {
              name: 'CredentialsProviderError',
            }),
          )
        : // Expiring within the SDK's refresh window: the next read asks the chain again.
          Promise.resolve({ accessKeyId, secretAccessKey, expiration: new Date(Date.now() + 60_000) });
    const store = backend({ credentials });
    secretsManager().post('/').reply(200, { ARN: secretArn, Name: 'prod/atlas', SecretString: payload });
    expect(await store.read(reference(), signal())).toBe(payload);
    outage = true;

    const error = await readError(store.read(reference(), signal()));
    expect(error.code).toBe('upstream_unavailable');
    expect(error.retryable).toBe(true);
    expect(error.details.awsError).toBe('CredentialsProviderError');
    expect(error.message).toContain('supplied credentials earlier');
    expect(error.message).not.toContain(secretAccessKey);
  });

  it('carries no request id, credential or SDK error in the error', async () => {
    const reply = awsError(
      'AccessDeniedException',
      `${denial} (Request ID: ${requestId}) key ${accessKeyId}`,
    );
    secretsManager().post('/').reply(reply.status, reply.body, reply.headers);

    const error = await readError(backend().read(reference(), signal()));
    const everything = JSON.stringify({
      message: error.message,
      details: error.details,
      safe: error.toSafeJSON(),
    });
    expect(everything).not.toContain(requestId);
    expect(everything).not.toContain(accessKeyId);
    expect(everything).not.toContain(secretAccessKey);
    expect(error.cause).toBeUndefined();
    expect(error.details).toMatchObject({
      backend: 'aws-sm',
      awsError: 'AccessDeniedException',
      httpStatus: 400,
    });
  });
});

describe('aws-sm backend: the IRSA web identity step', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  /** The SDK's default chain as EKS sets it up for IRSA: a projected token file and a role to assume. */
  function irsa(): void {
    const dir = testTempDir('irsa-');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2ln');
    vi.stubEnv('AWS_WEB_IDENTITY_TOKEN_FILE', tokenFile);
    vi.stubEnv('AWS_ROLE_ARN', 'arn:aws:iam::123456789012:role/atlas-jit-connector');
    vi.stubEnv('AWS_ROLE_SESSION_NAME', 'atlas-jit-connector');
    // Nothing earlier in the chain answers: no keys, no profile.
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
      vi.stubEnv(name, undefined);
    }
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'no-config'));
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'no-credentials'));
  }

  /**
   * STS answers AssumeRoleWithWebIdentity with an error, in its query protocol's XML, however often
   * it is asked: the STS client makes attempts of its own for an error the SDK models as retryable.
   */
  function stsRefuses(code: string, message: string, status = 400): void {
    nock(/^https:\/\/sts(\.[a-z0-9-]+)?\.amazonaws\.com/)
      .persist()
      .post('/', /Action=AssumeRoleWithWebIdentity/)
      .reply(
        status,
        `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
        { 'content-type': 'text/xml' },
      );
  }

  function irsaBackend() {
    return createAwsSmBackend({ env: {}, clock: new FakeClock(), aws: { maxAttempts: 1 } });
  }

  it.each([
    [
      'InvalidIdentityToken',
      'No OpenIDConnect provider found in your account for https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE',
    ],
    ['IDPRejectedClaim', 'Token audience does not match'],
  ])('maps STS %s, as the SDK names it, to auth_failed with the trust-policy hint', async (code, message) => {
    irsa();
    stsRefuses(code, message);

    const error = await readError(irsaBackend().read(reference(), signal()));
    expect(error.code).toBe('auth_failed');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("AWS STS refused the connector's web identity");
    expect(error.message).toContain("the IAM role's trust policy");
  });

  it.each([
    [
      'is missing (the projected token not mounted)',
      (dir: string) => join(dir, 'absent'),
      'the file',
      'ENOENT',
    ],
    // Node reports reading a directory without its path.
    ['names a directory', (dir: string) => dir, 'a file', 'EISDIR'],
  ])(
    'maps a web identity token file that %s to auth_failed naming the file, not to Secrets Manager out of reach',
    async (_case, tokenPath, what, errno) => {
      irsa();
      const tokenFile = tokenPath(testTempDir('irsa-token-'));
      vi.stubEnv('AWS_WEB_IDENTITY_TOKEN_FILE', tokenFile);

      const error = await readError(irsaBackend().read(reference(), signal()));
      expect(error.code).toBe('auth_failed');
      expect(error.retryable).toBe(false);
      const file = what === 'the file' ? `the file ${JSON.stringify(tokenFile)}` : what;
      expect(error.message).toContain(`the AWS credential chain could not read ${file} (${errno})`);
      expect(error.message).toContain('AWS_WEB_IDENTITY_TOKEN_FILE');
      expect(error.message).not.toContain('could not reach Secrets Manager');
    },
  );

  it.each([
    ['EACCES', 'auth_failed', false, 'fsGroup'],
    ['EMFILE', 'upstream_unavailable', true, 'the read is retried'],
  ])('maps the token file read failing with %s to %s', async (errno, code, retryable, says) => {
    // What readFileSync throws; root, as tests may run, reads any file, so EACCES cannot be staged.
    const tokenFile = '/var/run/secrets/eks.amazonaws.com/serviceaccount/token';
    const unreadable = () =>
      Promise.reject(
        Object.assign(new Error(`${errno}: could not open, open '${tokenFile}'`), {
          code: errno,
          syscall: 'open',
          path: tokenFile,
        }),
      );

    const error = await readError(backend({ credentials: unreadable }).read(reference(), signal()));
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.message).toContain(
      `the AWS credential chain could not read the file ${JSON.stringify(tokenFile)} (${errno})`,
    );
    expect(error.message).toContain(says);
  });

  it('maps STS ExpiredTokenException, the projected token past its expiry, to auth_failed naming the token file and the kubelet that renews it', async () => {
    irsa();
    stsRefuses(
      'ExpiredTokenException',
      'Token expired: current date/time 1796688000 must be before the expiration date/time 1796601600',
    );

    const error = await readError(irsaBackend().read(reference(), signal()));
    expect(error.code).toBe('auth_failed');
    expect(error.retryable).toBe(false);
    expect(error.details.awsError).toBe('ExpiredTokenException');
    expect(error.message).toContain('AWS_WEB_IDENTITY_TOKEN_FILE');
    expect(error.message).toContain('kubelet');
  });

  it('maps STS IDPCommunicationError, its identity provider out of reach, to a retryable outage', async () => {
    irsa();
    stsRefuses(
      'IDPCommunicationError',
      "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements",
    );

    const error = await readError(irsaBackend().read(reference(), signal()));
    expect(error.code).toBe('upstream_unavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('STS could not reach the cluster');
  });

  it('maps STS Throttling, its query-protocol code, to retryable rate_limited', async () => {
    irsa();
    stsRefuses('Throttling', 'Rate exceeded');

    const error = await readError(irsaBackend().read(reference(), signal()));
    expect(error.code).toBe('rate_limited');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('AWS STS throttled');
  });

  it('maps STS RegionDisabledException to auth_failed naming STS and the region, not the secret policy', async () => {
    irsa();
    stsRefuses(
      'RegionDisabledException',
      'STS is not activated in this region for account:123456789012. Your account administrator can activate STS in this region using the IAM Console.',
      403,
    );

    const error = await readError(irsaBackend().read(reference(), signal()));
    expect(error.code).toBe('auth_failed');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('AWS STS is not activated in us-east-1');
    expect(error.message).not.toContain('secretsmanager:GetSecretValue');
  });
});
