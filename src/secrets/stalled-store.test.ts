import { createServer, type Server, type Socket } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/identity';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { isConnectorError } from '../errors/connector-error.js';
import { createSecretScrubber } from '../runtime/secret-scrubber.js';
import { createSecretResolver, type SecretResolverOptions } from './secret-resolver.js';

/**
 * A secret store that accepts the TCP connection and then never says anything (a stalled proxy, a
 * half-broken private endpoint). The read must end on its own: the Atlas client waits on the
 * credential without a deadline of its own, and every job of that secret joins the same read.
 */
let server: Server;
let port = 0;
let connections = 0;
const sockets: Socket[] = [];

beforeAll(async () => {
  // Real sockets: nock's socket emulation turns the timed-out TLS handshake into stray errors.
  nock.restore();
  server = createServer((socket) => {
    connections += 1;
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  nock.activate();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const credential: TokenCredential = {
  getToken: (): Promise<AccessToken> =>
    Promise.resolve({ token: 'eyJ.stalled.test', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/** The outcome of `read`, or 'pending' when it is still open after `boundMs` (a liveness bound). */
async function outcome(read: Promise<unknown>, boundMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('pending'), boundMs);
  });
  const settled = read.then(
    () => 'resolved',
    (error: unknown) => (isConnectorError(error) ? `${error.code} (retryable: ${error.retryable})` : 'bug'),
  );
  try {
    return await Promise.race([settled, pending]);
  } finally {
    clearTimeout(timer);
  }
}

type StoreSettings = Omit<SecretResolverOptions, 'clock' | 'scrubber'>;

describe('a secret store that never answers', () => {
  it.each([
    [
      'AWS Secrets Manager',
      (): StoreSettings => ({
        env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: `https://localhost:${port}` },
        aws: {
          credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x'.repeat(40) },
          maxAttempts: 1,
          requestTimeoutMs: 300,
        },
      }),
      () => 'aws-sm://prod/atlas?region=us-east-1',
    ],
    [
      'Azure Key Vault',
      (): StoreSettings => ({
        env: {},
        azure: { credential, requestTimeoutMs: 300, clientOptions: { retryOptions: { maxRetries: 0 } } },
      }),
      () => `azure-kv://https://localhost:${port}/atlas`,
    ],
  ])(
    'ends a %s read at its request timeout, and the next read connects again',
    async (_store, settings, ref) => {
      const resolver = createSecretResolver({
        clock: new FakeClock(),
        scrubber: createSecretScrubber(),
        ...settings(),
      });
      try {
        const before = connections;
        // As the Atlas client waits: no signal of its own.
        const source = resolver.credentialSourceFor(ref());
        expect(await outcome(source.get(), 10_000)).toBe('timeout (retryable: true)');
        expect(await outcome(source.get(), 10_000)).toBe('timeout (retryable: true)');
        expect(connections - before).toBe(2);
      } finally {
        resolver.close();
      }
    },
    30_000,
  );
});
