import { describe, expect, it } from 'vitest';
import { digestAuthorization, parseDigestChallenge, type DigestChallenge } from './digest.js';

// RFC 7616 §3.9.1: the worked example for "Mufasa" / "Circle of Life".
const rfcChallenge: DigestChallenge = {
  realm: 'http-auth@example.org',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
  qop: 'auth',
  algorithm: 'MD5',
  stale: false,
};
const rfcInput = {
  username: 'Mufasa',
  password: 'Circle of Life',
  method: 'GET',
  uri: '/dir/index.html',
  challenge: rfcChallenge,
  nc: 1,
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
};

describe('digestAuthorization', () => {
  it('produces the RFC 7616 MD5 example response', () => {
    const header = digestAuthorization(rfcInput);
    expect(header).toMatch(/^Digest /);
    expect(header).toContain('response="8ca523f5e9506fed4657c9700eebdbec"');
    expect(header).toContain('nc=00000001');
    expect(header).toContain('qop=auth');
    expect(header).toContain('opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
  });

  it('produces the RFC 7616 SHA-256 example response', () => {
    const header = digestAuthorization({ ...rfcInput, challenge: { ...rfcChallenge, algorithm: 'SHA-256' } });
    expect(header).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
  });

  it('writes the request counter as eight hex digits', () => {
    expect(digestAuthorization({ ...rfcInput, nc: 26 })).toContain('nc=0000001a');
  });

  it('never puts the password in the header', () => {
    expect(digestAuthorization(rfcInput)).not.toContain('Circle of Life');
  });
});

describe('parseDigestChallenge', () => {
  const atlasChallenge =
    'Digest realm="MMS Public API", domain="", nonce="abc+/def==", algorithm=MD5, qop="auth", stale=false';

  it('reads the challenge Atlas sends', () => {
    expect(parseDigestChallenge(atlasChallenge)).toEqual({
      realm: 'MMS Public API',
      nonce: 'abc+/def==',
      opaque: undefined,
      qop: 'auth',
      algorithm: 'MD5',
      stale: false,
    });
  });

  it('notices stale=true', () => {
    expect(parseDigestChallenge(atlasChallenge.replace('stale=false', 'stale=TRUE'))?.stale).toBe(true);
  });

  it('picks auth out of a qop list', () => {
    expect(parseDigestChallenge('Digest realm="r", nonce="n", qop="auth-int, auth"')?.qop).toBe('auth');
  });

  it.each([
    ['no header', null],
    ['a Basic challenge', 'Basic realm="r"'],
    ['a challenge without a nonce', 'Digest realm="r", qop="auth"'],
    ['an algorithm we do not speak', 'Digest realm="r", nonce="n", algorithm=SHA-512-256'],
    ['only auth-int protection', 'Digest realm="r", nonce="n", qop="auth-int"'],
  ])('rejects %s', (_name, header) => {
    expect(parseDigestChallenge(header)).toBeUndefined();
  });
});
