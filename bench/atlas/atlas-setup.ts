import { createAtlasClient, type AtlasClient } from '../../src/atlas/index.js';
import { apiPrefix, atlasOperations, expandPath, mediaType } from '../../src/atlas/operations.js';
import { systemClock } from '../../src/runtime/clock.js';
import { createLogger } from '../../src/runtime/logger.js';
import { cryptoRandom } from '../../src/runtime/random.js';
import { createSecretScrubber } from '../../src/runtime/secret-scrubber.js';
import {
  sandboxIds,
  startAtlasSimulator,
  type AtlasSimulator,
  type KnobsPatch,
} from '../../src/sandbox/atlas/index.js';
import { userAgent } from '../../src/version.js';
import { createHttpClient } from '../../src/runtime/http.js';

/** The simulator's programmatic API key (Digest): 8 lowercase letters, like an Atlas public key. */
export const benchKey = {
  publicKey: 'benchkey',
  privateKey: '6a1f0c2e-bench-4000-8000-00000000b3c4',
} as const;

/** Every call in this scenario is `projects.get` on one seeded project (`GET /groups/{groupId}`). */
export const projectId = sandboxIds.payments;
export const projectUrlPath = `${apiPrefix}${expandPath('getGroup', { groupId: projectId })}`;
export const acceptHeader = mediaType(atlasOperations.getGroup.version);
export { userAgent };

/** Limits high enough that the client's limiter runs but never waits. */
export const unpaced = { orgRequestsPerMinute: 100_000, projectRequestsPerMinute: 100_000 } as const;

export function startBenchSimulator(knobs: KnobsPatch): Promise<AtlasSimulator> {
  return startAtlasSimulator({ ...benchKey, knobs });
}

/** The production client (Digest, limiter, retries), built the way the daemon builds it. */
export function benchClient(
  baseUrl: string,
  limits: { readonly orgRequestsPerMinute: number; readonly projectRequestsPerMinute: number },
): AtlasClient {
  return createAtlasClient({
    baseUrl,
    credentials: {
      get: () => Promise.resolve({ type: 'api-key', ...benchKey }),
      invalidate: () => undefined,
    },
    fetch: createHttpClient(),
    clock: systemClock,
    random: cryptoRandom,
    logger: createLogger({ level: 'silent', base: {}, scrubber: createSecretScrubber() }),
    userAgent,
    limits,
  });
}
