import { z } from 'zod';
import { cancelledError, ConnectorError, isConnectorError } from '../errors/connector-error.js';
import type { ErrorCode } from '../errors/error-codes.js';
import { cappedHint, errorCodeForStatus, parseRetryAfter } from '../errors/from-http-status.js';
import { cutText } from '../runtime/cut-text.js';
import type { HttpHeaders } from '../runtime/http.js';

/**
 * Atlas's error body (`ApiError`). Every field is optional and tolerant, because the body of a
 * failed call must never turn into a second, confusing failure.
 */
const atlasErrorEnvelope = z.object({
  error: z.number().optional().catch(undefined),
  errorCode: z.string().optional().catch(undefined),
  detail: z.string().nullish().catch(undefined),
  reason: z.string().nullish().catch(undefined),
  parameters: z.array(z.unknown()).nullish().catch(undefined),
});

type AtlasErrorEnvelope = z.infer<typeof atlasErrorEnvelope>;

/** 403s that mean "a project quota is full", which callers handle differently from a missing role. */
const quotaErrorCodes: ReadonlySet<string> = new Set([
  'GROUP_USERS_LIMIT_EXCEEDED',
  'CUSTOM_ROLES_LIMIT_EXCEEDED',
  'COLLECTION_ROLES_LIMIT_EXCEEDED',
]);

/**
 * Atlas refuses an 11th invitation within a minute with HTTP 400 (not 429): `RATE_LIMITED_IP`, seen
 * as `INVITATIONS_RATE_LIMITED_IP`. It is a rate limit — retryable after the minute has passed.
 */
const invitationLimitCodes: ReadonlySet<string> = new Set(['INVITATIONS_RATE_LIMITED_IP', 'RATE_LIMITED_IP']);
export const invitationRetryAfterMs = 60_000;

/** Whether Atlas refused this call for its invitation limit (so every invitation waits a minute). */
export function isInvitationLimit(error: unknown): boolean {
  return isConnectorError(error) && invitationLimitCodes.has(String(error.details.atlasErrorCode));
}

const maxDetailLength = 300;

export interface HttpFailure {
  readonly operation: string;
  readonly status: number;
  readonly headers: HttpHeaders;
  readonly bodyText: string;
  readonly nowMs: number;
  /** Removes secrets the detail may echo back (a password in a validation message, say). */
  readonly redact: (text: string) => string;
}

export function parseAtlasErrorBody(bodyText: string): AtlasErrorEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    return {};
  }
  const parsed = atlasErrorEnvelope.safeParse(json);
  return parsed.success ? parsed.data : {};
}

/** A non-2xx Atlas response as a ConnectorError, using the project's one status table. */
export function atlasHttpError(failure: HttpFailure): ConnectorError {
  const envelope = parseAtlasErrorBody(failure.bodyText);
  const atlasErrorCode = envelope.errorCode ?? `HTTP_${failure.status}`;
  if (failure.status === 404 && envelope.errorCode === undefined) return notAtlasNotFound(failure);
  const detail = cutText(failure.redact(envelope.detail ?? envelope.reason ?? ''), maxDetailLength);
  return new ConnectorError({
    code: refineCode(failure.status, envelope.errorCode),
    message: `${failure.operation}: ${atlasErrorCode}: ${detail}`,
    retryAfterMs: retryAfterMs(failure, envelope),
    details: { httpStatus: failure.status, atlasErrorCode, operation: failure.operation },
  });
}

/**
 * A 404 without Atlas's error envelope (whose `errorCode` the spec requires) did not come from the
 * Admin API: a base URL that points elsewhere, or a proxy's page. As `not_found` a caller would read
 * it as "already gone", and a revoke would report access removed that Atlas never saw.
 */
function notAtlasNotFound(failure: HttpFailure): ConnectorError {
  return new ConnectorError({
    code: 'invalid_response',
    message: `${failure.operation}: HTTP_404: not an Atlas error body (does the base URL point at the Atlas Admin API?)`,
    details: { httpStatus: 404, atlasErrorCode: 'HTTP_404', operation: failure.operation },
  });
}

function refineCode(status: number, atlasErrorCode: string | undefined): ErrorCode {
  if (status === 400 && atlasErrorCode !== undefined && invitationLimitCodes.has(atlasErrorCode)) {
    return 'rate_limited';
  }
  if (status === 403 && atlasErrorCode !== undefined && quotaErrorCodes.has(atlasErrorCode)) {
    return 'quota_exceeded';
  }
  return errorCodeForStatus(status);
}

/**
 * The larger of the `Retry-After` header and, for token-bucket 429s, the retry seconds Atlas puts
 * in `parameters[1]` (headers "may be absent", so the body is the fallback).
 */
function retryAfterMs(failure: HttpFailure, envelope: AtlasErrorEnvelope): number | undefined {
  const fromHeader = parseRetryAfter(failure.headers.get('retry-after'), failure.nowMs);
  const hinted = envelope.errorCode === 'RATE_LIMITED_TOKEN_BUCKET' ? envelope.parameters?.[1] : undefined;
  const invitationHint =
    envelope.errorCode !== undefined && invitationLimitCodes.has(envelope.errorCode)
      ? invitationRetryAfterMs
      : undefined;
  const fromBody = typeof hinted === 'number' && hinted >= 0 ? cappedHint(hinted * 1000) : invitationHint;
  if (fromHeader === undefined) return fromBody;
  return fromBody === undefined ? fromHeader : Math.max(fromHeader, fromBody);
}

export function invalidResponseError(operation: string, reason: string, httpStatus: number): ConnectorError {
  return new ConnectorError({
    code: 'invalid_response',
    message: `${operation}: unexpected response body: ${reason}`.slice(0, 1024),
    details: { httpStatus, operation },
  });
}

/** Anything thrown around a fetch, as a ConnectorError: abort → cancelled, the rest → unavailable. */
export function transportError(error: unknown, operation: string, signal?: AbortSignal): ConnectorError {
  if (isConnectorError(error)) return error;
  if (signal?.aborted) return cancelledError(signal.reason);
  return new ConnectorError({
    code: 'upstream_unavailable',
    message: `${operation}: network error (${networkErrorKind(error)})`,
    details: { operation },
    cause: error,
  });
}

/**
 * An attempt that got no complete answer within `timeoutMs`: retryable, because whether Atlas ran
 * it is unknown, which the idempotent retry and the adapters' read-after-write convergence cover.
 */
export function attemptTimeoutError(operation: string, timeoutMs: number, cause: unknown): ConnectorError {
  return new ConnectorError({
    code: 'timeout',
    message: `${operation}: no answer within ${timeoutMs} ms`,
    details: { operation },
    cause,
  });
}

/**
 * The code that says what failed (the cause's, else the error's own): ECONNRESET, ENOTFOUND,
 * CERT_HAS_EXPIRED…
 */
function networkErrorKind(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown';
  const cause: unknown = error.cause;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') {
    return cause.code;
  }
  return 'code' in error && typeof error.code === 'string' ? error.code : error.name;
}
