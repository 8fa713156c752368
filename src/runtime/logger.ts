import { describeCauses } from './cause-chain.js';
import { pino, type Bindings, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
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
 * string and key (credentials inside URLs, authorization values, registered secret values), because
 * a secret can hide in an error message as easily as in a field: the message and its interpolation
 * arguments (`logMethod`), the logged object (`formatters.log`, an Error under any key serialised
 * as `err` is) and every child's bindings (`scrubBindings`).
 */
export function createLogger(settings: LoggerSettings): Logger {
  const { scrubber } = settings;
  const describeError = (error: Error): unknown => serializeError(error, scrubber);
  const options: LoggerOptions = {
    level: settings.level,
    base: settings.base,
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...baseRedactPaths, ...(settings.extraRedactPaths ?? [])], censor: '[REDACTED]' },
    formatters: {
      level: (label) => ({ level: label }),
      // `base`; pino does not call this for a child's bindings (`scrubBindings` does those).
      bindings: (bindings) => scrubber.scrubDeep(bindings, describeError),
      log: (object) => scrubber.scrubDeep(object, describeError),
    },
    serializers: { err: (error: unknown) => serializeError(error, scrubber) },
    hooks: {
      // Called only for an enabled level: a disabled one is a no-op before it gets here.
      logMethod(args, method) {
        method.apply(this, scrubArguments(args, scrubber) as Parameters<typeof method>);
      },
    },
  };
  const logger = settings.destination ? pino(options, settings.destination) : pino(options);
  return scrubBindings(logger, (bindings) => scrubber.scrubDeep(bindings, describeError));
}

/**
 * A child's bindings, and those `setBindings` adds, are printed on every line of that logger
 * without passing `formatters.log`, and pino applies `formatters.bindings` to `base` only. The
 * root's `child` and `setBindings` scrub them first; every child inherits both from the root.
 */
function scrubBindings(logger: Logger, scrub: (bindings: Bindings) => Bindings): Logger {
  const { child, setBindings } = logger;
  logger.child = function scrubbedChild(this: Logger, bindings, childOptions) {
    return child.call(this, scrub(bindings), childOptions);
  } as Logger['child'];
  logger.setBindings = function scrubbedSetBindings(this: Logger, bindings) {
    setBindings.call(this, scrub(bindings));
  };
  return logger;
}

/**
 * The log method's arguments with everything pino prints outside the merging object scrubbed: the
 * message, every interpolation argument (`%s` of an Error prints its message, `%o` / `%j` an
 * object's fields), and the message pino takes from `err.message` when a call gives none. The
 * merging object itself is left to `formatters.log`, as pino tells an Error or a request by it.
 */
function scrubArguments(args: unknown[], scrubber: SecretScrubber): unknown[] {
  const [first, ...rest] = args;
  const out: unknown[] = [typeof first === 'string' ? scrubber.scrub(first) : first];
  for (const arg of rest) {
    out.push(arg instanceof Error ? scrubber.scrub(String(arg)) : scrubber.scrubDeep(arg));
  }
  if (first !== null && typeof first === 'object' && out[1] === undefined) {
    const message = impliedMessage(first);
    if (message !== undefined) out[1] = scrubber.scrubDeep(message);
  }
  return out;
}

/** The message pino writes for `log.error(err)` or `log.error({ err })` when none is given. */
function impliedMessage(first: object): unknown {
  if (first instanceof Error) return first.message;
  const { msg, err } = first as { msg?: unknown; err?: unknown };
  if (msg !== undefined || !err) return undefined;
  return (err as { message?: unknown }).message;
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
  if (fields.code !== undefined) out.code = scrubber.scrubDeep(fields.code);
  if (fields.retryable !== undefined) out.retryable = scrubber.scrubDeep(fields.retryable);
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
