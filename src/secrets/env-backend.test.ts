import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { createEnvBackend } from './env-backend.js';
import { parseSecretReference, type EnvReference } from './secret-reference.js';

const payload = JSON.stringify({
  public_key: 'abcdefgh',
  private_key: '3f2c8a1e-5b7d-4c9e-a1f0-7e6d5c4b3a21',
});

function reference(name: string): EnvReference {
  const parsed = parseSecretReference(`env://${name}`);
  if (parsed.kind !== 'env') throw new Error('expected an env reference');
  return parsed;
}

const read = (env: Record<string, string | undefined>, name: string) =>
  createEnvBackend({ env, clock: new FakeClock() }).read(reference(name), new AbortController().signal);

describe('env backend', () => {
  it('reads the variable from the injected environment', async () => {
    await expect(read({ ATLAS_CREDENTIALS: payload }, 'ATLAS_CREDENTIALS')).resolves.toBe(payload);
  });

  it('reports an unset variable as secret_not_found, by name', async () => {
    await expect(read({}, 'ATLAS_CREDENTIALS')).rejects.toMatchObject({
      code: 'secret_not_found',
      message: 'secret "env://ATLAS_CREDENTIALS": environment variable ATLAS_CREDENTIALS is not set',
    });
  });

  it('reports an empty variable as secret_not_found', async () => {
    await expect(read({ ATLAS_CREDENTIALS: '  ' }, 'ATLAS_CREDENTIALS')).rejects.toMatchObject({
      code: 'secret_not_found',
      message: 'secret "env://ATLAS_CREDENTIALS": environment variable ATLAS_CREDENTIALS is empty',
    });
  });
});
