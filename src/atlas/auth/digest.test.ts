import { describe, expect, it } from 'vitest';
import { settleUntil } from '../../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../../test/fakes/fake-random.js';
import type { Fetch, HttpReply } from '../../runtime/http.js';
import {
  createDigestAuthenticator,
  digestAuthorization,
  parseDigestChallenge,
  type DigestChallenge,
} from './digest.js';

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

  it('reads a Digest challenge that follows another scheme in the same header', () => {
    expect(parseDigestChallenge(`Basic realm="proxy", ${atlasChallenge}`)).toMatchObject({
      realm: 'MMS Public API',
      nonce: 'abc+/def==',
      qop: 'auth',
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

describe('createDigestAuthenticator', () => {
  /**
   * A digest server stand-in for the Fetch port: it holds every unsigned request until the test
   * answers it with a challenge for a chosen nonce, and refuses a nonce and counter pair it saw
   * before (a replay), as a checking server does.
   */
  function heldChallenges() {
    const held: ((nonce: string) => void)[] = [];
    const signed: string[] = [];
    const fetch: Fetch = (_url, init) => {
      const authorization = init?.headers?.authorization;
      if (authorization === undefined)
        return new Promise((resolve) => held.push((nonce) => resolve(challengeReply(nonce))));
      const nonce = /nonce="([^"]*)"/.exec(authorization)?.[1] ?? '';
      const nc = /nc=([0-9a-f]{8})/.exec(authorization)?.[1] ?? '';
      const replay = signed.includes(`${nonce}/${nc}`);
      signed.push(`${nonce}/${nc}`);
      return Promise.resolve(replay ? challengeReply(nonce) : okReply());
    };
    return { fetch, held, signed };
  }

  function challengeReply(nonce: string): HttpReply {
    const header = `Digest realm="MMS Public API", nonce="${nonce}", algorithm=MD5, qop="auth"`;
    return {
      status: 401,
      ok: false,
      statusText: 'Unauthorized',
      headers: { get: (name) => (name === 'www-authenticate' ? header : null) },
      text: () => Promise.resolve(''),
    };
  }

  function okReply(): HttpReply {
    return {
      status: 200,
      ok: true,
      statusText: 'OK',
      headers: { get: () => null },
      text: () => Promise.resolve('{}'),
    };
  }

  it('never sends a nonce and counter pair twice when concurrent challenges come back to an earlier nonce', async () => {
    const server = heldChallenges();
    const auth = createDigestAuthenticator(
      { publicKey: 'pubkey01', privateKey: 'priv-secret' },
      { fetch: server.fetch, random: new FakeRandom() },
    );
    const request = { method: 'GET', url: 'https://cloud.mongodb.com/api/atlas/v2', headers: {} };
    // Three first calls go out unsigned at once; their challenges come back N1, N2, N1 (a server
    // whose nonce is a function of the time hands one nonce to challenges in the same tick).
    const calls = [1, 2, 3].map(() => auth.send(request));
    await settleUntil(() => server.held.length === 3, 'the unsigned requests');

    for (const [index, nonce] of ['nonce-1', 'nonce-2', 'nonce-1'].entries()) {
      server.held[index]?.(nonce);
      await settleUntil(() => server.signed.length === index + 1, 'the signed request');
    }
    const statuses = (await Promise.all(calls)).map((reply) => reply.status);

    expect(server.signed).toEqual(['nonce-1/00000001', 'nonce-2/00000001', 'nonce-1/00000002']);
    expect(statuses).toEqual([200, 200, 200]);
  });
});
