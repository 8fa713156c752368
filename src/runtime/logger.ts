import { describeCauses } from './cause-chain.js';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { isConnectorError } from '../errors/connector-error.js';
import { errorCodeTable } from '../errors/error-codes.js';
import type { SecretScrubber } from './secret-scrubber.js';

export type { Logger };

/** Paths whose values are replaced whatever they hold. Adapters add their own `secretFields`. */
export const baseRedactPaths: readonly string[] = [
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
  'enrollmentToken',
  '*.enrollmentToken',
  'password',
  '*.password',
  'privateKey',
  '*.privateKey',
  'private_key',
  '*.private_key',
  'clientSecret',
  '*.clientSecret',
  'client_secret',
  '*.client_secret',
  'apiKey',
  '*.apiKey',
  'payload',
  '*.payload',
  'err.config.headers',
];

export interface LoggerSettings {
  readonly level: string;
  readonly base: Record<string, string>;
  readonly scrubber: SecretScrubber;
  readonly extraRedactPaths?: readonly string[];
  /** Defaults to stdout; tests pass a capture stream. */
  readonly destination?: DestinationStream;
}

export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT when set; otherwise pretty for a person at a terminal, JSON for a container or a pipe. */
export function chooseLogFormat(configured: LogFormat | undefined, stdoutIsTty: boolean): LogFormat {
  return configured ?? (stdoutIsTty ? 'pretty' : 'json');
}

/**
 * A human-readable destination (pino-pretty, run in this thread, so no line is lost at exit).
 * Lines are scrubbed and redacted before they get here. Loaded only when used.
 */
export async function prettyDestination(options: {
  readonly colorize: boolean;
  readonly destination?: NodeJS.WritableStream;
}): Promise<DestinationStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({
    colorize: options.colorize,
    messageKey: 'msg',
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,connectorId,version',
    sync: true,
    ...(options.destination ? { destination: options.destination } : {}),
  });
}

/**
 * pino JSON logger. Redaction is by path (cheap, exact) plus a value scrubber applied to every
 * string (credentials inside URLs, authorization values, registered secret values), because a
 * secret can hide in an error message as easily as in a field.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const { scrubber } = settings;
  const options: LoggerOptions = {
    level: settings.level,
    base: settings.base,
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...baseRedactPaths, ...(settings.extraRedactPaths ?? [])], censor: '[REDACTED]' },
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => scrubber.scrubDeep(object),
    },
    serializers: { err: (error: unknown) => serializeError(error, scrubber) },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((arg: unknown) => (typeof arg === 'string' ? scrubber.scrub(arg) : arg));
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/**
 * A plain, scrubbed view of an error: type, message, code and safe details, every level of `cause`
 * (bounded), `causes` — the whole chain on one line, code and message of each level, so a TLS or
 * DNS failure is named in the line itself — and the stack of an unexpected failure (outermost
 * level only). An expected one (a ConnectorError whose code is logged below `error`: a bad payload,
 * a denied policy, a missing secret) is fully described by its code and message; its stack would
 * only bury them.
 */
export function serializeError(
  error: unknown,
  scrubber: SecretScrubber,
  depth = 0,
  expected = isExpected(error),
): unknown {
  if (!(error instanceof Error)) return scrubber.scrubDeep(error);
  const fields = error as Error & { code?: unknown; retryable?: unknown; details?: unknown };
  const out: Record<string, unknown> = { type: error.name, message: scrubber.scrub(error.message) };
  if (fields.code !== undefined) out.code = fields.code;
  if (fields.retryable !== undefined) out.retryable = fields.retryable;
  if (fields.details !== undefined) out.details = scrubber.scrubDeep(fields.details);
  if (error.stack && !expected && depth === 0) out.stack = scrubber.scrub(error.stack);
  if (error.cause !== undefined && depth < 7) {
    out.cause = serializeError(error.cause, scrubber, depth + 1, expected);
  }
  if (depth === 0 && error.cause !== undefined) out.causes = scrubber.scrub(describeCauses(error));
  return out;
}

function isExpected(error: unknown): boolean {
  return isConnectorError(error) && errorCodeTable[error.code].level !== 'error';
}
