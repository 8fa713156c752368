import { describe, expect, it } from 'vitest';
import { settleUntil } from '../../test/fakes/fake-clock.js';
import { ConnectorError } from '../errors/connector-error.js';
import type { SecretFetchInfo } from './secret-resolver.js';
import { apiKey, FakeBackend, ref, rejection, setup } from '../../test/kits/resolver-test-kit.js';

describe('createSecretResolver: fetch reports (metrics)', () => {
  it('reports each read of the store with its backend, outcome and duration; cache hits are not reads', async () => {
    const fetches: SecretFetchInfo[] = [];
    const env = new FakeBackend();
    const { resolver, clock } = setup({ backends: { env }, onFetch: (info) => fetches.push(info) });

    const first = resolver.resolve(ref);
    await settleUntil(() => env.count() === 1, 'the read to reach the backend');
    await clock.advance(40);
    env.answer(apiKey());
    await first;
    await resolver.resolve(ref);

    expect(fetches).toEqual([{ backend: 'env', outcome: 'success', durationMs: 40 }]);
  });

  it('reports a failed read with the error code as its outcome', async () => {
    const fetches: SecretFetchInfo[] = [];
    const env = new FakeBackend();
    const { resolver } = setup({ backends: { env }, onFetch: (info) => fetches.push(info) });

    const read = rejection(resolver.resolve(ref));
    await settleUntil(() => env.count() === 1, 'the read to reach the backend');
    env.fail(new ConnectorError({ code: 'secret_not_found', message: 'no such secret' }));
    expect((await read).code).toBe('secret_not_found');

    expect(fetches).toEqual([{ backend: 'env', outcome: 'secret_not_found', durationMs: 0 }]);
  });

  it('reports a secret that was read but is not a credential as secret_invalid, not success', async () => {
    const fetches: SecretFetchInfo[] = [];
    const env = new FakeBackend();
    const { resolver } = setup({ backends: { env }, onFetch: (info) => fetches.push(info) });

    const read = rejection(resolver.resolve(ref));
    await settleUntil(() => env.count() === 1, 'the read to reach the backend');
    env.answer('{"public_key": "abc"}');
    expect((await read).code).toBe('secret_invalid');

    expect(fetches).toEqual([{ backend: 'env', outcome: 'secret_invalid', durationMs: 0 }]);
  });
});
