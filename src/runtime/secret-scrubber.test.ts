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

  it("removes a URI's credentials whose password holds an apostrophe (a character userinfo may carry as is)", () => {
    const scrubber = createSecretScrubber();
    expect(scrubber.scrub("MongoServerError: bad auth for mongodb://alice:it's-h3r@h1:27017/db")).toBe(
      'MongoServerError: bad auth for mongodb://[REDACTED]@h1:27017/db',
    );
    expect(scrubber.scrub("proxy http://proxy-user:o'k@proxy.internal:3128 refused")).toBe(
      'proxy http://[REDACTED]@proxy.internal:3128 refused',
    );
  });

  it('removes bearer, basic and digest authorization values', () => {
    const scrubber = createSecretScrubber();
    expect(scrubber.scrub('Authorization: Bearer abc.def.ghi')).toBe('Authorization: Bearer [REDACTED]');
    expect(scrubber.scrub('basic dXNlcjpwYXNz')).toBe('basic [REDACTED]');
  });

  describe('a digest credential (its nonce, cnonce and response, not only its first word)', () => {
    // The shape the digest authenticator sends (src/atlas/auth/digest.ts); test-only values.
    const response = '6629fae49393a05397450978507c4ef1';
    const header =
      `Digest username="pubkey01", realm="MMS Public API", nonce="nonce-7f3a", uri="/api/atlas/v2/groups?pageNum=1", ` +
      `algorithm=MD5, response="${response}", qop=auth, nc=00000001, cnonce="0a4f113b9c2d", opaque="op-1"`;

    it('is removed whole from a header as written', () => {
      const scrubber = createSecretScrubber();
      expect(scrubber.scrub(`Authorization: ${header} was refused`)).toBe(
        'Authorization: Digest [REDACTED] was refused',
      );
    });

    it('is removed whole where a JSON text echoes it (quotes escaped)', () => {
      const scrubber = createSecretScrubber();
      const echoed = scrubber.scrub(JSON.stringify({ detail: `rejected ${header}`, status: 400 }));
      expect(echoed).toBe(JSON.stringify({ detail: 'rejected Digest [REDACTED]', status: 400 }));
      expect(echoed).not.toContain(response);
      expect(echoed).not.toContain('0a4f113b9c2d');
    });
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

  it('scrubs keys, describes an Error under any key by its type, message and code, and cuts deep nesting', () => {
    const scrubber = createSecretScrubber();
    scrubber.add('enroll-token-123456');
    const error = Object.assign(new Error('bad enroll-token-123456'), {
      code: 'E1',
      raw: 'enroll-token-123456',
    });
    // A server's numeric code (MongoServerError's 18) is kept; a code of another type is not printed.
    const numbered = Object.assign(new Error('auth'), { code: 18 });
    const odd = Object.assign(new Error('odd'), { code: { raw: 'enroll-token-123456' } });
    let deep: unknown = ['enroll-token-123456'];
    for (let i = 0; i < 9; i += 1) deep = { d: deep };
    let list: unknown = 'enroll-token-123456';
    for (let i = 0; i < 10; i += 1) list = [list];
    expect(scrubber.scrubDeep({ 'k-enroll-token-123456': { error }, numbered, odd, deep, list })).toEqual({
      'k-[REDACTED]': { error: { type: 'Error', message: 'bad [REDACTED]', code: 'E1' } },
      numbered: { type: 'Error', message: 'auth', code: 18 },
      odd: { type: 'Error', message: 'odd' },
      deep: { d: { d: { d: { d: { d: { d: { d: { d: '[TRUNCATED]' } } } } } } } },
      list: [[[[[[[['[TRUNCATED]']]]]]]]],
    });
  });

  describe.each([
    ['a few registered values', 0],
    ['tens of thousands of registered values (the indexed scan)', 20_000],
  ])('with %s', (_name, filler) => {
    function scrubberWith(...values: string[]) {
      const scrubber = createSecretScrubber();
      for (let i = 0; i < filler; i += 1) scrubber.add(`issued-password-${i.toString(36).padStart(8, '0')}`);
      for (const value of values) scrubber.add(value);
      return scrubber;
    }

    it('removes each value wherever it appears, and leaves other text alone', () => {
      const scrubber = scrubberWith('enroll-token-123456', 'pw-Zq81xYt0');
      expect(scrubber.scrub('a enroll-token-123456 b pw-Zq81xYt0c pw-Zq81xYt0 enroll-token-12345')).toBe(
        'a [REDACTED] b [REDACTED]c [REDACTED] enroll-token-12345',
      );
      expect(scrubber.scrub('nothing registered here')).toBe('nothing registered here');
    });

    it('removes a value of the shortest length kept at either end of the text', () => {
      const scrubber = scrubberWith('k9Qx2m');
      expect(scrubber.scrub('k9Qx2m, and k9Qx2m')).toBe('[REDACTED], and [REDACTED]');
      expect(scrubber.scrub('k9Qx2m')).toBe('[REDACTED]');
    });

    it('leaves no part of a value that overlaps or contains another', () => {
      // "zzabcdef" starts first and overlaps the longer "abcdefXYZ123": neither part may survive.
      const scrubber = scrubberWith('abcdefXYZ123', 'zzabcdef', 'XYZ123');
      expect(scrubber.scrub('<zzabcdefXYZ123>')).toBe('<[REDACTED]>');
      expect(scrubber.scrub('<abcdefXYZ123>')).toBe('<[REDACTED]>');
      expect(scrubber.scrub('<XYZ123 zzabcdef>')).toBe('<[REDACTED] [REDACTED]>');
    });

    if (filler > 0) {
      it('still removes the earliest registered values', () => {
        const scrubber = scrubberWith();
        expect(scrubber.scrub('x issued-password-00000000 y issued-password-00000abc')).toBe(
          'x [REDACTED] y [REDACTED]',
        );
      });
    }
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

  it('scrubs the message pino takes from the error when a call gives none: log.error(err), log.error({ err })', () => {
    const logs = captureLogs();
    logs.scrubber.add('the-private-key-value');
    logs.logger.error(new Error('failed with the-private-key-value'));
    logs.logger.error({ err: new Error('failed with the-private-key-value') });
    expect(logs.text()).not.toContain('the-private-key-value');
    expect(logs.lines().map((line) => line.msg)).toEqual([
      'failed with [REDACTED]',
      'failed with [REDACTED]',
    ]);
  });

  it('scrubs every %s / %o / %j interpolation argument, an Error and an object included', () => {
    const logs = captureLogs();
    logs.scrubber.add('the-private-key-value');
    logs.logger.info('config %o', { note: 'key=the-private-key-value' });
    logs.logger.info('config %j', { nested: ['the-private-key-value'] });
    logs.logger.info('failed: %s', new Error('failed with the-private-key-value'));
    logs.logger.info('values: %s', ['the-private-key-value']);
    logs.logger.info({ jobId: 'job-1' }, 'values: %s and %o', 'the-private-key-value', {
      x: 'the-private-key-value',
    });
    expect(logs.text()).not.toContain('the-private-key-value');
    expect(logs.lines().map((line) => line.msg)).toEqual([
      'config {"note":"key=[REDACTED]"}',
      'config {"nested":["[REDACTED]"]}',
      'failed: Error: failed with [REDACTED]',
      'values: [REDACTED]',
      'values: [REDACTED] and {"x":"[REDACTED]"}',
    ]);
  });

  it("scrubs a child logger's bindings", () => {
    const logs = captureLogs();
    logs.scrubber.add('the-private-key-value');
    const child = logs.logger.child({
      note: 'key=the-private-key-value',
      nested: { uri: 'mongodb://u:pw123@h' },
    });
    child.info('hello');
    child.child({ more: 'the-private-key-value' }).warn('again');
    expect(logs.text()).not.toContain('the-private-key-value');
    expect(logs.text()).not.toContain('pw123');
    expect(logs.lines()[0]).toMatchObject({
      note: 'key=[REDACTED]',
      nested: { uri: 'mongodb://[REDACTED]@h' },
    });
  });

  it("scrubs an error's code, in err, under any key, and in the scrubber's own description", () => {
    const logs = captureLogs();
    logs.scrubber.add('the-private-key-value');
    const failure = Object.assign(new Error('failed'), { code: 'E_the-private-key-value' });
    logs.logger.warn({ err: failure, other: failure }, 'failed');
    expect(logs.text()).not.toContain('the-private-key-value');
    expect(logs.lines()[0]).toMatchObject({ err: { code: 'E_[REDACTED]' }, other: { code: 'E_[REDACTED]' } });
    expect(logs.scrubber.scrubDeep({ failure })).toEqual({
      failure: { type: 'Error', message: 'failed', code: 'E_[REDACTED]' },
    });
  });

  it('scrubs object keys, at the top and nested', () => {
    const logs = captureLogs();
    logs.scrubber.add('the-private-key-value');
    logs.logger.info({ 'the-private-key-value': 1, outer: { 'x-the-private-key-value': 2 } }, 'keys');
    expect(logs.text()).not.toContain('the-private-key-value');
    expect(logs.lines()[0]).toMatchObject({ '[REDACTED]': 1, outer: { 'x-[REDACTED]': 2 } });
  });

  it('prints a value nested deeper than 8 levels as a marker, not as is', () => {
    const logs = captureLogs();
    logs.scrubber.add('the-private-key-value');
    let deep: unknown = { secret: 'the-private-key-value' };
    for (let i = 0; i < 12; i += 1) deep = { deeper: deep };
    logs.logger.info({ deep }, 'deep');
    expect(logs.text()).not.toContain('the-private-key-value');
    expect(logs.text()).toContain('[TRUNCATED]');
  });

  it('serialises an Error under any key as the err field is: its enumerable fields are never printed', () => {
    const logs = captureLogs();
    logs.scrubber.add('the-private-key-value');
    const failure = Object.assign(new Error('failed with the-private-key-value'), {
      code: 'upstream_unavailable',
      response: { body: 'the-private-key-value' },
      config: { headers: { 'x-api-key': 'the-private-key-value' } },
    });
    logs.logger.warn({ failure, list: [failure] }, 'failed');
    expect(logs.text()).not.toContain('the-private-key-value');
    const line = logs.lines()[0] as Record<string, Record<string, unknown>>;
    expect(line.failure).toMatchObject({
      type: 'Error',
      message: 'failed with [REDACTED]',
      code: 'upstream_unavailable',
    });
    expect(line.failure).not.toHaveProperty('response');
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
