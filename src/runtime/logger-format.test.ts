import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chooseLogFormat, createLogger, prettyDestination, type LogFormat } from './logger.js';
import { createSecretScrubber } from './secret-scrubber.js';

describe('choosing the log format', () => {
  it.each<[LogFormat | undefined, boolean, LogFormat]>([
    [undefined, true, 'pretty'],
    [undefined, false, 'json'],
    ['json', true, 'json'],
    ['pretty', false, 'pretty'],
  ])('LOG_FORMAT=%s with a terminal=%s gives %s', (configured, tty, expected) => {
    expect(chooseLogFormat(configured, tty)).toBe(expected);
  });
});

describe('the pretty log format', () => {
  it('prints a readable line, scrubbed like the JSON one, with the fields after the message', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    const scrubber = createSecretScrubber();
    scrubber.add('s3cr3t-value-1234');
    const logger = createLogger({
      level: 'info',
      base: { connectorId: 'c1' },
      scrubber,
      destination: await prettyDestination({ colorize: false, destination: out }),
    });

    logger.warn({ jobId: 'job-7', detail: 'token s3cr3t-value-1234' }, 'job failed');

    await expect.poll(() => chunks.join(''), { timeout: 5_000 }).toContain('job failed');
    const text = chunks.join('');
    expect(text).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] WARN: job failed\n/);
    expect(text).toContain('jobId: "job-7"');
    expect(text).not.toContain('s3cr3t-value-1234');
    expect(text).not.toMatch(/^\{/);
  });
});
