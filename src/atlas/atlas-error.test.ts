import { describe, expect, it } from 'vitest';
import { JobErrorBody } from '../control-plane/protocol.js';
import { atlasHttpError } from './atlas-error.js';

const dayMs = 86_400_000;

function failure(retryAfter: string | undefined, parameters: unknown[]) {
  return atlasHttpError({
    operation: 'listClusters',
    status: 429,
    headers: new Headers(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
    bodyText: JSON.stringify({ error: 429, errorCode: 'RATE_LIMITED_TOKEN_BUCKET', parameters }),
    nowMs: 0,
    redact: (text) => text,
  });
}

describe('an Atlas retry hint', () => {
  it.each([
    ['a header of 1e30 seconds', '1000000000000000000000000000000', ['p', 55]],
    ['a body parameter of 1e308 seconds', undefined, ['p', 1e308]],
  ])(
    'is taken as at most a day: %s (the failure must stay one the protocol accepts)',
    (_case, header, params) => {
      const error = failure(header, params);
      expect(error.retryAfterMs).toBe(dayMs);
      // The failure leaves in a job result: an infinite or unsafe hint would make that result invalid.
      const sent = JSON.parse(JSON.stringify(error.toSafeJSON())) as unknown;
      expect(JobErrorBody.safeParse(sent).success).toBe(true);
    },
  );

  it('keeps an ordinary hint as it is', () => {
    expect(failure('30', ['p', 55]).retryAfterMs).toBe(55_000);
  });
});
