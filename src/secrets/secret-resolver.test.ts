import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { flushMicrotasks } from '../../test/fakes/fake-clock.js';
import {
  apiKey,
  FakeBackend,
  privateKey,
  ref,
  rejection,
  scripted,
  setup,
} from '../../test/kits/resolver-test-kit.js';

describe('createSecretResolver: resolving', () => {
  it('hands the parsed reference to the backend for its scheme and returns the credentials', async () => {
    const env = scripted(apiKey());
    const { resolver } = setup({ backends: { env } });

    await expect(resolver.resolve(ref)).resolves.toEqual({
      type: 'api-key',
      publicKey: 'abcdefgh',
      privateKey,
    });
    expect(env.reads.map((read) => read.reference)).toEqual([
      { kind: 'env', reference: ref, name: 'ATLAS_CREDENTIALS' },
    ]);
  });

  it('reads env:// from the injected environment with the registered backend', async () => {
    const { resolver } = setup({ env: { ATLAS_CREDENTIALS: apiKey() } });
    await expect(resolver.resolve(ref)).resolves.toMatchObject({ type: 'api-key', privateKey });
  });

  it('resolves a service account payload', async () => {
    const clientSecret = 'mdb_sa_sk_Zq8vN3pL6tR1wX4yB7cE0hJ2kM5nQ9sU';
    const payload = JSON.stringify({
      client_id: 'mdb_sa_id_0123456789abcdef01234567',
      client_secret: clientSecret,
    });
    const { resolver } = setup({ backends: { env: scripted(payload) } });
    await expect(resolver.resolve(ref)).resolves.toMatchObject({ type: 'service-account', clientSecret });
  });

  it('uses AWS_REGION from the injected environment for a bare secret name', () => {
    const { resolver } = setup({ env: { AWS_REGION: 'eu-north-1' } });
    expect(resolver.parse('aws-sm://prod/atlas')).toMatchObject({ region: 'eu-north-1' });
  });

  it('rejects a malformed reference with config_invalid as soon as a source is asked for', () => {
    const { resolver } = setup();
    expect(() => resolver.credentialSourceFor('vault://atlas')).toThrow(
      expect.objectContaining({ code: 'config_invalid' }),
    );
  });

  it('reports a backend failure that is not a ConnectorError as internal, without its text', async () => {
    const env = new FakeBackend();
    const { resolver } = setup({ backends: { env } });
    const pending = resolver.resolve(ref);
    await flushMicrotasks();
    env.fail(new TypeError(`cannot parse ${privateKey}`));

    const error = await rejection(pending);
    expect(error.code).toBe('internal');
    expect(error.message).toBe('secret "env://ATLAS_CREDENTIALS": unexpected failure in the env backend');
  });
});

describe('createSecretResolver: secret values stay out of logs and errors', () => {
  it('registers the private key with the scrubber, so no log line can carry it', async () => {
    const { resolver, logs } = setup({ backends: { env: scripted(apiKey()) } });

    const credentials = await resolver.resolve(ref);
    logs.logger.info({ credentials, note: `key=${privateKey}` }, `resolved ${privateKey}`);
    logs.logger.error({ err: new Error(`Atlas said no to ${privateKey}`) }, 'failed');

    expect(logs.text()).toContain('[REDACTED]');
    expect(logs.text()).not.toContain(privateKey);
  });

  it('registers a value stored under a misspelt field, and keeps it out of the error', async () => {
    const payload = JSON.stringify({ public_key: 'abcdefgh', privateKey });
    const { resolver, logs } = setup({ backends: { env: scripted(payload) } });

    const error = await rejection(resolver.resolve(ref));
    logs.logger.warn({ err: error, payload: { text: payload } }, `could not use ${payload}`);

    expect(error.code).toBe('secret_invalid');
    expect(JSON.stringify(error.toSafeJSON())).not.toContain(privateKey);
    expect(logs.text()).not.toContain(privateKey);
  });

  it('reads through the real AWS SDK end to end and logs the read without the value', async () => {
    nock('https://secretsmanager.us-east-1.amazonaws.com').post('/', { SecretId: 'prod/atlas' }).reply(200, {
      ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/atlas-AbCdEf',
      SecretString: apiKey(),
    });
    const { resolver, logs } = setup({
      env: { AWS_REGION: 'us-east-1' },
      aws: {
        credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'example-secret' },
        maxAttempts: 1,
      },
    });

    await expect(resolver.resolve('aws-sm://prod/atlas')).resolves.toMatchObject({ privateKey });
    resolver.close();
    expect(logs.lines()).toContainEqual(
      expect.objectContaining({ level: 'debug', secretRef: 'aws-sm://prod/atlas', backend: 'aws-sm' }),
    );
    expect(logs.text()).not.toContain(privateKey);
  });
});
