import { FakeClock } from '../fakes/fake-clock.js';
import { captureLogs } from '../fakes/log-capture.js';
import { ConnectorError } from '../../src/errors/connector-error.js';
import type { SecretBackend } from '../../src/secrets/secret-backend.js';
import type { SecretReference } from '../../src/secrets/secret-reference.js';
import { createSecretResolver, type SecretResolverOptions } from '../../src/secrets/secret-resolver.js';

/** Test-only helpers for the resolver suites: a controllable backend, fake clock, captured logs. */
export const privateKey = '3f2c8a1e-5b7d-4c9e-a1f0-7e6d5c4b3a21';
export const rotatedKey = '9d8c7b6a-5f4e-4d3c-b2a1-0f1e2d3c4b5a';
export const apiKey = (key = privateKey) => JSON.stringify({ public_key: 'abcdefgh', private_key: key });
export const ref = 'env://ATLAS_CREDENTIALS';

interface PendingRead {
  readonly reference: SecretReference;
  readonly signal: AbortSignal;
  resolve(text: string): void;
  reject(error: unknown): void;
}

/**
 * A backend that records every read. With a script, each read is answered at once with the next
 * text (the last one repeats); without, reads stay pending until the test answers them.
 */
export class FakeBackend implements SecretBackend<SecretReference> {
  readonly reads: PendingRead[] = [];

  constructor(private readonly script: readonly string[] = []) {}

  read(reference: SecretReference, signal: AbortSignal): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.reads.push({ reference, signal, resolve, reject });
      const text = this.script[Math.min(this.reads.length, this.script.length) - 1];
      if (text !== undefined) resolve(text);
    });
  }

  count(): number {
    return this.reads.length;
  }

  /** Answers the latest read. */
  answer(text: string): void {
    this.latest().resolve(text);
  }

  fail(error: unknown): void {
    this.latest().reject(error);
  }

  private latest(): PendingRead {
    const read = this.reads.at(-1);
    if (!read) throw new Error('no read is pending');
    return read;
  }
}

export const scripted = (...texts: string[]): FakeBackend => new FakeBackend(texts);

export function setup(overrides: Partial<SecretResolverOptions> = {}) {
  const clock = new FakeClock();
  const logs = captureLogs();
  const resolver = createSecretResolver({
    env: {},
    clock,
    scrubber: logs.scrubber,
    logger: logs.logger,
    ...overrides,
  });
  return { clock, logs, resolver };
}

export async function rejection(promise: Promise<unknown>): Promise<ConnectorError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error instanceof ConnectorError) return error;
  throw new Error(`expected a ConnectorError, got ${String(error)}`);
}
