import type { ErrorCode } from './error-codes.js';

/**
 * The one HTTP status → error code table, used by every HTTP client in the project (Atlas, the
 * control plane, the secret stores' REST fallbacks). Callers add meaning (for example "409 on a
 * lease endpoint means the lease was lost") on top of the code, never instead of it.
 */
const statusTable: Readonly<Record<number, ErrorCode>> = {
  400: 'invalid_request',
  401: 'auth_failed',
  403: 'forbidden',
  404: 'not_found',
  406: 'invalid_request',
  408: 'timeout',
  409: 'conflict',
  410: 'gone',
  413: 'invalid_request',
  415: 'invalid_request',
  422: 'invalid_request',
  429: 'rate_limited',
};

export function errorCodeForStatus(status: number): ErrorCode {
  const exact = statusTable[status];
  if (exact) return exact;
  if (status >= 500) return 'upstream_unavailable';
  if (status >= 400) return 'invalid_request';
  return 'invalid_response';
}

/**
 * The longest server hint taken as given (a day). A hint travels on in a job's failure as
 * `retryAfterMs`, a safe integer in the protocol: an absurd one (`Retry-After: 1e30` seconds, a
 * body's 1e308) would make the result one the control plane refuses, and the job run again.
 */
export const maxRetryHintMs = 86_400_000;

/** A hint in milliseconds, capped at `maxRetryHintMs` (an infinite one included). */
export function cappedHint(ms: number): number {
  return Math.min(Math.max(0, Math.round(ms)), maxRetryHintMs);
}

/**
 * Parses `Retry-After` (delta-seconds or an HTTP date) into milliseconds from `nowMs`, at most
 * `maxRetryHintMs`.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return cappedHint(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return cappedHint(date - nowMs);
}
