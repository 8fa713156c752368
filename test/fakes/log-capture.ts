import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/runtime/logger.js';
import { createSecretScrubber, type SecretScrubber } from '../../src/runtime/secret-scrubber.js';

/** A real pino logger writing into memory, so tests can assert what was (and was not) logged. */
export interface LogCapture {
  readonly logger: Logger;
  readonly scrubber: SecretScrubber;
  readonly lines: () => Record<string, unknown>[];
  readonly text: () => string;
}

export function captureLogs(level = 'trace'): LogCapture {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const scrubber = createSecretScrubber();
  const logger = createLogger({ level, base: { test: 'true' }, scrubber, destination });
  const text = (): string => chunks.join('');
  return {
    logger,
    scrubber,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((line) => line.trim().length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
