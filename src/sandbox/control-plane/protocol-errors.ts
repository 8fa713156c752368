import { ConnectorError } from '../../errors/connector-error.js';
import type { ErrorCode } from '../../errors/error-codes.js';
import { protocolErrorCodes } from '../../control-plane/protocol.js';

export type ProtocolErrorCode = (typeof protocolErrorCodes)[number];

/**
 * The one table from a protocol `error.code` to its HTTP status (and to the connector's own error
 * code, so a thrown answer is still a ConnectorError). A few codes take another status at one
 * call site (413 and 415 for `invalid_request`), passed explicitly.
 */
const table: Readonly<Record<ProtocolErrorCode, { status: number; code: ErrorCode }>> = {
  unauthorized: { status: 401, code: 'auth_failed' },
  session_unknown: { status: 404, code: 'not_found' },
  session_draining: { status: 409, code: 'conflict' },
  lease_lost: { status: 409, code: 'lease_lost' },
  job_gone: { status: 410, code: 'gone' },
  stale_fence: { status: 409, code: 'conflict' },
  idempotency_mismatch: { status: 422, code: 'invalid_request' },
  invalid_request: { status: 400, code: 'invalid_request' },
  not_found: { status: 404, code: 'not_found' },
  rate_limited: { status: 429, code: 'rate_limited' },
  unavailable: { status: 503, code: 'upstream_unavailable' },
  stale_generation: { status: 409, code: 'conflict' },
};

/** A protocol answer to throw from a handler; the router turns it into `{error:{code,message}}`. */
export function protocolError(code: ProtocolErrorCode, message: string, status?: number): ConnectorError {
  const entry = table[code];
  return new ConnectorError({
    code: entry.code,
    message,
    details: { protocolCode: code, httpStatus: status ?? entry.status },
  });
}

export interface ProtocolAnswer {
  readonly status: number;
  readonly code: ProtocolErrorCode;
  readonly message: string;
}

function isProtocolErrorCode(value: unknown): value is ProtocolErrorCode {
  return typeof value === 'string' && (protocolErrorCodes as readonly string[]).includes(value);
}

/** `undefined` for errors that are not protocol answers (bugs), which the router reports as 500. */
export function protocolAnswerOf(error: ConnectorError): ProtocolAnswer | undefined {
  const { protocolCode, httpStatus } = error.details;
  if (!isProtocolErrorCode(protocolCode) || typeof httpStatus !== 'number') return undefined;
  return { status: httpStatus, code: protocolCode, message: error.message };
}
