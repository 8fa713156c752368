import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../test/fakes/fake-random.js';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { setup } from '../../test/kits/resolver-test-kit.js';
import type { SecretResolver } from '../secrets/secret-resolver.js';
import { createAtlasClientPool } from './atlas-client-pool.js';
import { createCredentialState } from './credential-state.js';

/** A pool whose clients are never asked to call Atlas: these tests only look at what it keeps. */
function poolOver(resolver: SecretResolver) {
  const clock = new FakeClock();
  return createAtlasClientPool(
    resolver,
    {
      fetch: () => Promise.reject(new Error('no Atlas call is expected')),
      clock,
      random: new FakeRandom([0.5]),
      logger: captureLogs().logger,
      userAgent: 'atlas-jit-connector/0.0.0-test',
    },
    (atlas) => createCredentialState(atlas, { clock, readyTimeoutMs: 60_000 }),
  );
}

describe('createAtlasClientPool', () => {
  it('keeps one credential, client and state for every spelling of one secret, as the secret cache does', () => {
    const { resolver } = setup({ env: { AWS_REGION: 'eu-west-1' } });
    const pool = poolOver(resolver);

    const credential = pool.credentialFor('aws-sm://atlas/prod-key');
    expect(pool.credentialFor('aws-sm://atlas/prod-key')).toBe(credential);
    expect(pool.credentialFor('aws-sm://atlas/prod-key?region=eu-west-1')).toBe(credential);
    expect(pool.credentialFor(' AWS-SM://atlas/prod-key ')).toBe(credential);
  });

  it('keeps a credential of its own for each other secret', () => {
    const { resolver } = setup({ env: { AWS_REGION: 'eu-west-1' } });
    const pool = poolOver(resolver);

    const credential = pool.credentialFor('aws-sm://atlas/prod-key');
    expect(pool.credentialFor('aws-sm://atlas/prod-key?region=us-east-1')).not.toBe(credential);
    expect(pool.credentialFor('aws-sm://atlas/other-key')).not.toBe(credential);
    expect(pool.credentialFor('env://ATLAS_CREDENTIALS')).not.toBe(credential);
  });

  it('reads a spelling it has seen from its own map: the reference is not parsed again for every job', () => {
    const { resolver } = setup({ env: { AWS_REGION: 'eu-west-1' } });
    const parsed: string[] = [];
    const pool = poolOver({
      ...resolver,
      secretKey: (reference) => (parsed.push(reference), resolver.secretKey(reference)),
    });

    const credential = pool.credentialFor('aws-sm://atlas/prod-key');
    expect(pool.credentialFor('aws-sm://atlas/prod-key')).toBe(credential);
    expect(pool.credentialFor('aws-sm://atlas/prod-key?region=eu-west-1')).toBe(credential);
    expect(parsed).toEqual(['aws-sm://atlas/prod-key', 'aws-sm://atlas/prod-key?region=eu-west-1']);
  });
});
