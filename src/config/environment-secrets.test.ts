import { describe, expect, it } from 'vitest';
import { createSecretScrubber } from '../runtime/secret-scrubber.js';
import { environmentSecrets } from './environment-secrets.js';

// Test-only stand-ins, none shaped like a real credential.
const awsSecret = 'test-aws-secret-value-0001';
const azureSecret = 'test-azure-secret-value-0002';

describe('environmentSecrets', () => {
  it('takes each cloud credential variable whole, and nothing from other variables', () => {
    const env = {
      AWS_SECRET_ACCESS_KEY: awsSecret,
      AWS_SESSION_TOKEN: 'test-aws-session-value-0003',
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'test-aws-container-value-0004',
      AWS_BEARER_TOKEN_SECRETSMANAGER: 'test-aws-bearer-value-0005',
      AZURE_CLIENT_SECRET: azureSecret,
      AZURE_CLIENT_CERTIFICATE_PASSWORD: 'test-azure-cert-value-0006',
      AZURE_PASSWORD: 'test-azure-password-0007',
      CONTROL_PLANE_TOKEN: 'test-enrollment-value-0008',
      AWS_REGION: 'eu-west-1',
      AZURE_CLIENT_ID: 'client-id-is-not-secret',
      EMPTY_ONE: '',
    };
    expect(environmentSecrets(env).sort()).toEqual(
      [
        awsSecret,
        'test-aws-session-value-0003',
        'test-aws-container-value-0004',
        'test-aws-bearer-value-0005',
        azureSecret,
        'test-azure-cert-value-0006',
        'test-azure-password-0007',
        'test-enrollment-value-0008',
      ].sort(),
    );
  });

  it('takes a proxy URL’s user:password and password, as written and decoded, in either case', () => {
    const secrets = environmentSecrets({
      HTTPS_PROXY: 'http://ops:test%2Fproxy%40pw@proxy.internal:3128',
      http_proxy: 'http://svc:plain-proxy-pw@proxy.internal:3128/',
      ALL_PROXY: 'http://only-a-user-name@proxy.internal:3128',
      NO_PROXY: 'user:pw@not-a-url',
    });
    expect(secrets.sort()).toEqual(
      [
        'ops:test%2Fproxy%40pw',
        'ops:test/proxy@pw',
        'test%2Fproxy%40pw',
        'test/proxy@pw',
        'svc:plain-proxy-pw',
        'plain-proxy-pw',
      ].sort(),
    );
  });
});

describe('the scrubber with the environment’s secrets', () => {
  it('redacts each one in a library error’s text, and a proxy URL’s userinfo even unregistered', () => {
    const scrubber = createSecretScrubber();
    const env = {
      HTTPS_PROXY: 'http://ops:test-proxy-pw-9@proxy.internal:3128',
      AWS_SECRET_ACCESS_KEY: awsSecret,
      AZURE_CLIENT_SECRET: azureSecret,
    };
    for (const value of environmentSecrets(env)) scrubber.add(value);
    const text = scrubber.scrub(
      `407 from http://ops:test-proxy-pw-9@proxy.internal:3128 (password test-proxy-pw-9); signing with ${awsSecret}; AADSTS7000215 ${azureSecret}`,
    );
    for (const secret of ['test-proxy-pw-9', awsSecret, azureSecret]) expect(text).not.toContain(secret);
    expect(text).toContain('http://[REDACTED]@proxy.internal:3128');
    expect(createSecretScrubber().scrub('via https://u:p@ss-w0rd@proxy.internal:3128/x')).toBe(
      'via https://[REDACTED]@proxy.internal:3128/x',
    );
  });

  it.each([0, 100])(
    'redacts the same once they are registered twice (the CLI, then the daemon), with %i other values',
    (others) => {
      // The CLI registers them as its logger starts; the composition root registers them again.
      const once = createSecretScrubber();
      const twice = createSecretScrubber();
      for (let i = 0; i < others; i += 1) {
        once.add(`issued-test-value-${i}`);
        twice.add(`issued-test-value-${i}`);
      }
      const env = {
        HTTPS_PROXY: 'http://ops:test-proxy-pw-9@proxy.internal:3128',
        AWS_SECRET_ACCESS_KEY: awsSecret,
      };
      for (const value of environmentSecrets(env)) once.add(value);
      for (const value of [...environmentSecrets(env), ...environmentSecrets(env)]) twice.add(value);
      const text = `signing with ${awsSecret} through ops:test-proxy-pw-9 (password test-proxy-pw-9)`;
      expect(twice.scrub(text)).toBe(once.scrub(text));
      expect(twice.scrub(text)).toBe('signing with [REDACTED] through [REDACTED] (password [REDACTED])');
    },
  );
});
