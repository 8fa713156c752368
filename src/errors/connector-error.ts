import { errorCodeTable, type ErrorCode } from './error-codes.js';

/** Identifiers only (project id, kind, HTTP status, Atlas error code): never secrets or bodies. */
export type SafeDetails = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface ConnectorErrorOptions {
  readonly code: ErrorCode;
  readonly message: string;
  /** Defaults from the code table. */
  readonly retryable?: boolean;
  readonly retryAfterMs?: number;
  readonly details?: SafeDetails;
  /** Kept for local debugging; never serialised to the control plane. */
  readonly cause?: unknown;
}

const brand = Symbol.for('atlas-jit-connector.ConnectorError');

/** The one error type that crosses module boundaries. */
export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: SafeDetails;
  readonly [brand] = true;

  constructor(options: ConnectorErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable ?? errorCodeTable[options.code].retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details ?? {};
  }

  /**
   * What may leave the process: code, message and retry hints. `scrub` (the logs' secret scrubber)
   * runs on the whole message before it is cut to the protocol's 1024 characters, so a cut never
   * leaves the start of a secret the scrubber would no longer recognise.
   */
  toSafeJSON(scrub: (text: string) => string = (text) => text): {
    code: ErrorCode;
    message: string;
    retryable: boolean;
    retryAfterMs?: number;
  } {
    return {
      code: this.code,
      message: scrub(this.message).slice(0, 1024),
      retryable: this.retryable,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
    };
  }
}

export function isConnectorError(error: unknown): error is ConnectorError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[brand] === true;
}

/** Wraps anything that is not already a ConnectorError as an `internal` bug. */
export function toConnectorError(error: unknown): ConnectorError {
  if (isConnectorError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ConnectorError({ code: 'internal', message: `unexpected error: ${message}`, cause: error });
}

export function cancelledError(reason?: unknown): ConnectorError {
  if (isConnectorError(reason)) return reason;
  return new ConnectorError({ code: 'cancelled', message: 'operation was cancelled', cause: reason });
}
