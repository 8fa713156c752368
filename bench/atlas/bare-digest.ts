import { randomBytes } from 'node:crypto';
import {
  digestAuthorization,
  parseDigestChallenge,
  type DigestChallenge,
} from '../../src/atlas/auth/digest.js';
import { createBareHttp, type BareHttp } from '../bare-http.js';
import { acceptHeader, benchKey, userAgent } from './atlas-setup.js';

/**
 * Digest by hand, for the two comparisons the real client is measured against: a naive client
 * that answers a fresh challenge on every call, and bare requests signed ahead of time. Requests
 * go out on raw node:http with a keep-alive agent (`bench/bare-http.ts`), the cheapest client, on
 * the same Node modules as the daemon.
 */
export const baseHeaders: Readonly<Record<string, string>> = {
  accept: acceptHeader,
  'user-agent': userAgent,
};

/** The bare Digest calls, on one keep-alive client of their own: create one per measurement. */
export interface BareDigest {
  /** A GET with an `authorization` header; the body is read in full, as the client reads it. */
  signedGet(url: string, authorization: string): Promise<void>;
  /** What a client without nonce reuse does: challenge, then answer, on every call (2 requests). */
  naiveDigestGet(url: string): Promise<void>;
  /**
   * `count` valid headers for `method url` on one nonce (nc 1…count), computed before any timing
   * starts. The challenge is asked with a GET of `challengeUrl` (default `url`): a nonce is not
   * tied to a path, and a write must not be sent just to be refused.
   */
  presignedHeaders(url: string, count: number, method?: string, challengeUrl?: string): Promise<string[]>;
}

export function createBareDigest(http: BareHttp = createBareHttp()): BareDigest {
  const signedGet = async (url: string, authorization: string): Promise<void> => {
    const response = await http(url, { headers: { ...baseHeaders, authorization } });
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  };
  return {
    signedGet,
    naiveDigestGet: async (url) => signedGet(url, sign(url, await challengeFor(http, url), 1)),
    presignedHeaders: async (url, count, method = 'GET', challengeUrl = url) => {
      const challenge = await challengeFor(http, challengeUrl);
      return Array.from({ length: count }, (_, i) => sign(url, challenge, i + 1, method));
    },
  };
}

async function challengeFor(http: BareHttp, url: string): Promise<DigestChallenge> {
  const response = await http(url, { headers: baseHeaders });
  // Node joins a repeated `www-authenticate` with ', ', as fetch's `get` does.
  const challenge = parseDigestChallenge(response.headers['www-authenticate'] ?? null);
  if (response.status !== 401 || !challenge)
    throw new Error(`expected a Digest challenge, got ${response.status}`);
  return challenge;
}

function sign(url: string, challenge: DigestChallenge, nc: number, method = 'GET'): string {
  const { pathname, search } = new URL(url);
  return digestAuthorization({
    username: benchKey.publicKey,
    password: benchKey.privateKey,
    method,
    uri: `${pathname}${search}`,
    challenge,
    nc,
    cnonce: randomBytes(8).toString('hex'),
  });
}
