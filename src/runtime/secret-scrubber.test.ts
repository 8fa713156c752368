import { describe, expect, it } from 'vitest';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { createSecretScrubber } from './secret-scrubber.js';

describe('secret scrubber', () => {
  it('removes credentials from mongodb and mongodb+srv URIs', () => {
    const scrubber = createSecretScrubber();
    expect(scrubber.scrub('mongodb+srv://alice:s3cr3tPass@cluster0.abc.mongodb.net/db')).toBe(
      'mongodb+srv://[REDACTED]@cluster0.abc.mongodb.net/db',
    );
    expect(scrubber.scrub('uri=mongodb://u:p@h1:27017,h2:27017')).toBe(
      'uri=mongodb://[REDACTED]@h1:27017,h2:27017',
    );
  });

  it('removes bearer, basic and digest authorization values', () => {
    const scrubber = createSecretScrubber();
    expect(scrubber.scrub('Authorization: Bearer abc.def.ghi')).toBe('Authorization: Bearer [REDACTED]');
    expect(scrubber.scrub('basic dXNlcjpwYXNz')).toBe('basic [REDACTED]');
  });

  it('removes a registered value whole even where an authorization pattern would cut it at a line break', () => {
    const scrubber = createSecretScrubber();
    scrubber.add('cpe_old_4f9a8b7c6d5e\ncpe_new_0a1b2c3d4e5f');
    const text =
      'Headers.append: "Bearer cpe_old_4f9a8b7c6d5e\ncpe_new_0a1b2c3d4e5f" is an invalid header value.';
    expect(scrubber.scrub(text)).toBe('Headers.append: "Bearer [REDACTED]" is an invalid header value.');
  });

  it('removes every registered secret value, wherever it appears', () => {
    const scrubber = createSecretScrubber();
    scrubber.add('enroll-token-123456');
    expect(scrubber.scrubDeep({ a: ['x enroll-token-123456 y'], b: { c: 'enroll-token-123456' } })).toEqual({
      a: ['x [REDACTED] y'],
      b: { c: '[REDACTED]' },
    });
  });
});

describe('logger', () => {
  it('redacts secret paths and scrubs secret values in messages, fields and errors', () => {
    const logs = captureLogs();
    logs.scrubber.add('the-private-key-value');
    logs.logger.info(
      { password: 'hunter22', headers: { authorization: 'Digest x' }, note: 'key=the-private-key-value' },
      'connecting to mongodb://bob:pw123@host with the-private-key-value',
    );
    logs.logger.error({ err: new Error('failed with the-private-key-value') }, 'boom');
    const text = logs.text();
    expect(text).not.toContain('hunter22');
    expect(text).not.toContain('the-private-key-value');
    expect(text).not.toContain('pw123');
    expect(text).not.toContain('Digest x');
    const first = logs.lines()[0];
    expect(first?.password).toBe('[REDACTED]');
    expect(first?.msg).toBe('connecting to mongodb://[REDACTED]@host with [REDACTED]');
  });
});

describe('error serialisation', () => {
  it('keeps the message, code and cause of an error while scrubbing secrets from them', () => {
    const logs = captureLogs();
    logs.scrubber.add('cause-secret-value');
    const cause = new Error('inner failure with cause-secret-value');
    const error = Object.assign(new Error('outer failure', { cause }), { code: 'upstream_unavailable' });
    logs.logger.warn({ err: error }, 'failed');
    const err = logs.lines()[0]?.err as Record<string, unknown>;
    expect(err.message).toBe('outer failure');
    expect(err.code).toBe('upstream_unavailable');
    expect((err.cause as Record<string, unknown>).message).toBe('inner failure with [REDACTED]');
  });
});

describe('cryptoRandom', () => {
  it('draws floats in [0, 1)', async () => {
    const { cryptoRandom } = await import('./random.js');
    for (let i = 0; i < 1000; i += 1) {
      const value = cryptoRandom.float();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
    }
  });
});
