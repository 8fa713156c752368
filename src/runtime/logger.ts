import { describeCauses } from './cause-chain.js';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
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

/**
 * pino JSON logger. Redaction is by path (cheap, exact) plus a value scrubber applied to every
 * string (MongoDB URI credentials, authorization values, registered secret values), because a
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
 * A plain, scrubbed view of an error: type, message, code and safe details, the stack (outermost
 * level only), every level of `cause` (bounded), and `causes`: the whole chain on one line, code
 * and message of each level, so a TLS or DNS failure is named in the line itself.
 */
export function serializeError(error: unknown, scrubber: SecretScrubber, depth = 0): unknown {
  if (!(error instanceof Error)) return scrubber.scrubDeep(error);
  const fields = error as Error & { code?: unknown; retryable?: unknown; details?: unknown };
  const out: Record<string, unknown> = { type: error.name, message: scrubber.scrub(error.message) };
  if (fields.code !== undefined) out.code = fields.code;
  if (fields.retryable !== undefined) out.retryable = fields.retryable;
  if (fields.details !== undefined) out.details = scrubber.scrubDeep(fields.details);
  if (error.stack && depth === 0) out.stack = scrubber.scrub(error.stack);
  if (error.cause !== undefined && depth < 7) out.cause = serializeError(error.cause, scrubber, depth + 1);
  if (depth === 0 && error.cause !== undefined) out.causes = scrubber.scrub(describeCauses(error));
  return out;
}
