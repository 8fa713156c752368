import { randomBytes } from 'node:crypto';
import {
  digestAuthorization,
  parseDigestChallenge,
  type DigestChallenge,
} from '../../src/atlas/auth/digest.js';
import { acceptHeader, benchKey, userAgent } from './atlas-setup.js';

/**
 * Digest by hand, for the two comparisons the real client is measured against: a naive client
 * that answers a fresh challenge on every call, and bare requests signed ahead of time.
 */
export const baseHeaders: Readonly<Record<string, string>> = {
  accept: acceptHeader,
  'user-agent': userAgent,
};

async function challengeFor(url: string): Promise<DigestChallenge> {
  const response = await fetch(url, { headers: baseHeaders });
  await response.text();
  const challenge = parseDigestChallenge(response.headers.get('www-authenticate'));
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

/** A GET with an `authorization` header; the body is read in full, as the client reads it. */
export async function signedGet(url: string, authorization: string): Promise<void> {
  const response = await fetch(url, { headers: { ...baseHeaders, authorization } });
  await response.text();
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
}

/** What a client without nonce reuse does: challenge, then answer, on every call (2 requests). */
export async function naiveDigestGet(url: string): Promise<void> {
  await signedGet(url, sign(url, await challengeFor(url), 1));
}

/**
 * `count` valid headers for `method url` on one nonce (nc 1…count), computed before any timing
 * starts. The challenge is asked with a GET of `challengeUrl` (default `url`): a nonce is not tied
 * to a path, and a write must not be sent just to be refused.
 */
export async function presignedHeaders(
  url: string,
  count: number,
  method = 'GET',
  challengeUrl = url,
): Promise<string[]> {
  const challenge = await challengeFor(challengeUrl);
  return Array.from({ length: count }, (_, i) => sign(url, challenge, i + 1, method));
}
