/**
 * The closed set of error codes. Whether a failure may be retried and how loudly it is logged
 * derive from the code, never from the call site or a message string.
 */
export const errorCodeTable = {
  config_invalid: { retryable: false, level: 'error' },
  invalid_job: { retryable: false, level: 'warn' },
  invalid_request: { retryable: false, level: 'warn' },
  policy_denied: { retryable: false, level: 'warn' },
  unsupported: { retryable: false, level: 'warn' },
  /** The job names a cluster another connector serves (deep discovery's tag routing). */
  wrong_connector: { retryable: false, level: 'warn' },
  secret_not_found: { retryable: false, level: 'warn' },
  secret_invalid: { retryable: false, level: 'warn' },
  auth_failed: { retryable: false, level: 'warn' },
  forbidden: { retryable: false, level: 'warn' },
  not_found: { retryable: false, level: 'warn' },
  conflict: { retryable: false, level: 'warn' },
  gone: { retryable: false, level: 'warn' },
  quota_exceeded: { retryable: false, level: 'warn' },
  rate_limited: { retryable: true, level: 'warn' },
  upstream_unavailable: { retryable: true, level: 'error' },
  timeout: { retryable: true, level: 'warn' },
  not_ready: { retryable: true, level: 'warn' },
  lease_lost: { retryable: true, level: 'warn' },
  cancelled: { retryable: true, level: 'debug' },
  invalid_response: { retryable: false, level: 'error' },
  internal: { retryable: false, level: 'error' },
} as const satisfies Record<string, { retryable: boolean; level: 'debug' | 'warn' | 'error' }>;

export type ErrorCode = keyof typeof errorCodeTable;

export const errorCodes = Object.keys(errorCodeTable) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCodeTable, value);
}
