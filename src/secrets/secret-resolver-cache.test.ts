import { describe, expect, it } from 'vitest';
import { flushMicrotasks } from '../../test/fakes/fake-clock.js';
import { ConnectorError } from '../errors/connector-error.js';
import {
  apiKey,
  FakeBackend,
  privateKey,
  ref,
  rotatedKey,
  scripted,
  setup,
} from '../../test/kits/resolver-test-kit.js';

describe('createSecretResolver: cache', () => {
  it('serves the cached credentials until the TTL has passed on the monotonic clock', async () => {
    const env = scripted(apiKey(), apiKey(rotatedKey));
    const { clock, resolver } = setup({ backends: { env }, ttlMs: 60_000 });

    await resolver.resolve(ref);
    await clock.advance(59_999);
    await expect(resolver.resolve(ref)).resolves.toMatchObject({ privateKey });
    expect(env.count()).toBe(1);

    await clock.advance(1);
    await expect(resolver.resolve(ref)).resolves.toMatchObject({ privateKey: rotatedKey });
    expect(env.count()).toBe(2);
  });

  it('keeps values for five minutes by default', async () => {
    const env = scripted(apiKey());
    const { clock, resolver } = setup({ backends: { env } });

    await resolver.resolve(ref);
    await clock.advance(299_999);
    await resolver.resolve(ref);
    expect(env.count()).toBe(1);
    await clock.advance(1);
    await resolver.resolve(ref);
    expect(env.count()).toBe(2);
  });

  it('reads every time with a TTL of 0', async () => {
    const env = scripted(apiKey());
    const { resolver } = setup({ backends: { env }, ttlMs: 0 });

    await resolver.resolve(ref);
    await resolver.resolve(ref);
    expect(env.count()).toBe(2);
  });

  it('makes one backend call for concurrent resolutions of one reference', async () => {
    const env = new FakeBackend();
    const { resolver } = setup({ backends: { env } });
    const source = resolver.credentialSourceFor(ref);

    const results = Promise.all([
      source.get(),
      source.get(),
      resolver.resolve(ref),
      resolver.resolve(` ${ref} `),
    ]);
    await flushMicrotasks();
    expect(env.reads).toHaveLength(1);
    env.answer(apiKey());

    expect((await results).map((credentials) => credentials.type)).toEqual([
      'api-key',
      'api-key',
      'api-key',
      'api-key',
    ]);
    expect(env.reads).toHaveLength(1);
  });

  it('shares one entry between two spellings of the same Key Vault secret', async () => {
    const azure = scripted(apiKey());
    const { resolver } = setup({ backends: { 'azure-kv': azure } });

    await resolver.resolve('azure-kv://myvault/atlas');
    await resolver.resolve('azure-kv://https://myvault.vault.azure.net/atlas');
    expect(azure.count()).toBe(1);
  });

  it('does not cache a failed read: every waiter sees the failure and the next get reads again', async () => {
    const env = new FakeBackend();
    const { resolver } = setup({ backends: { env } });
    const source = resolver.credentialSourceFor(ref);

    const first = Promise.allSettled([source.get(), source.get()]);
    await flushMicrotasks();
    env.fail(new ConnectorError({ code: 'upstream_unavailable', message: 'store down' }));
    expect((await first).map((result) => result.status)).toEqual(['rejected', 'rejected']);

    const second = source.get();
    await flushMicrotasks();
    expect(env.reads).toHaveLength(2);
    env.answer(apiKey());
    await expect(second).resolves.toMatchObject({ privateKey });
  });

  it('does not cache a payload that fails validation', async () => {
    const env = scripted('{"public_key":"abc"}', apiKey());
    const { resolver } = setup({ backends: { env } });

    await expect(resolver.resolve(ref)).rejects.toMatchObject({ code: 'secret_invalid' });
    await expect(resolver.resolve(ref)).resolves.toMatchObject({ privateKey });
  });
});

describe('createSecretResolver: invalidation and cancellation', () => {
  it('re-reads after invalidate(), so a rotated key is picked up without a restart', async () => {
    const env = scripted(apiKey(), apiKey(rotatedKey));
    const { resolver, logs } = setup({ backends: { env } });
    const source = resolver.credentialSourceFor(ref);

    await expect(source.get()).resolves.toMatchObject({ privateKey });
    source.invalidate();
    await expect(source.get()).resolves.toMatchObject({ privateKey: rotatedKey });
    expect(env.count()).toBe(2);
    expect(logs.lines()).toContainEqual(
      expect.objectContaining({
        secretRef: ref,
        msg: expect.stringContaining('dropped the cached Atlas credential'),
      }),
    );
  });

  it('does not keep the answer of a read that was in flight when invalidate() was called', async () => {
    const env = new FakeBackend();
    const { resolver } = setup({ backends: { env } });
    const source = resolver.credentialSourceFor(ref);

    const stale = source.get();
    await flushMicrotasks();
    source.invalidate();
    const fresh = source.get();
    await flushMicrotasks();
    expect(env.reads).toHaveLength(2);

    // The fresh read lands first, so a stale answer arriving later would overwrite it if kept.
    env.reads[1]?.resolve(apiKey(rotatedKey));
    await expect(fresh).resolves.toMatchObject({ privateKey: rotatedKey });
    env.reads[0]?.resolve(apiKey());
    await expect(stale).resolves.toMatchObject({ privateKey });
    await expect(source.get()).resolves.toMatchObject({ privateKey: rotatedKey });
    expect(env.reads).toHaveLength(2);
  });

  it('lets one caller give up without cancelling the read the others wait for', async () => {
    const env = new FakeBackend();
    const { resolver } = setup({ backends: { env } });
    const source = resolver.credentialSourceFor(ref);
    const impatient = new AbortController();

    const abandoned = source.get(impatient.signal);
    const patient = source.get(new AbortController().signal);
    await flushMicrotasks();
    impatient.abort();

    await expect(abandoned).rejects.toMatchObject({ code: 'cancelled' });
    expect(env.reads[0]?.signal.aborted).toBe(false);
    env.answer(apiKey());
    await expect(patient).resolves.toMatchObject({ privateKey });
  });

  it('cancels the backend read once every caller has given up', async () => {
    const env = new FakeBackend();
    const { resolver } = setup({ backends: { env } });
    const first = new AbortController();
    const second = new AbortController();

    const gets = Promise.allSettled([
      resolver.resolve(ref, first.signal),
      resolver.resolve(ref, second.signal),
    ]);
    await flushMicrotasks();
    first.abort();
    second.abort();

    expect((await gets).map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(env.reads[0]?.signal.aborted).toBe(true);
  });
});
