import { hash as digestOf } from 'node:crypto';
import type { Fetch, HttpReply } from '../../runtime/http.js';
import type { Random } from '../../runtime/random.js';
import { runWriteGuard } from '../../runtime/write-guard.js';
import { discardBody, type Authenticator, type OutgoingRequest } from './authenticator.js';

/**
 * HTTP Digest (RFC 7616) for Atlas programmatic API keys. Written here rather than taken from
 * `digest-fetch` because that package calls the global fetch (not our injected port), draws its
 * cnonce from Math.random, and bumps `nc` only after a response arrives, so concurrent calls on one
 * nonce repeat an `nc` and look like replays. Here the nonce is kept across calls and `nc` is
 * taken synchronously per request, so a steady-state call costs one round trip.
 */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque?: string;
  readonly qop?: 'auth';
  readonly algorithm: DigestAlgorithm;
  readonly stale: boolean;
}

type DigestAlgorithm = 'MD5' | 'SHA-256';
const hashNames: Record<DigestAlgorithm, string> = { MD5: 'md5', 'SHA-256': 'sha256' };

const authParam = /([a-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/gi;

/** Parses a `WWW-Authenticate: Digest …` challenge; anything we cannot answer yields undefined. */
export function parseDigestChallenge(header: string | null): DigestChallenge | undefined {
  const start = header?.search(/\bDigest\s/i) ?? -1;
  if (!header || start < 0) return undefined;
  const params = new Map<string, string>();
  for (const match of header.slice(start + 'Digest'.length).matchAll(authParam)) {
    const name = match[1]?.toLowerCase();
    if (name && !params.has(name)) params.set(name, (match[2] ?? match[3] ?? '').replace(/\\(.)/g, '$1'));
  }
  const nonce = params.get('nonce');
  const algorithm = (params.get('algorithm') ?? 'MD5').toUpperCase();
  if (!nonce || (algorithm !== 'MD5' && algorithm !== 'SHA-256')) return undefined;
  const qops = (params.get('qop') ?? '').split(',').map((qop) => qop.trim().toLowerCase());
  if (params.has('qop') && !qops.includes('auth')) return undefined;
  return {
    realm: params.get('realm') ?? '',
    nonce,
    opaque: params.get('opaque'),
    qop: qops.includes('auth') ? 'auth' : undefined,
    algorithm,
    stale: params.get('stale')?.toLowerCase() === 'true',
  };
}

export interface DigestInput {
  readonly username: string;
  readonly password: string;
  readonly method: string;
  /** The request-target: path plus query. */
  readonly uri: string;
  readonly challenge: DigestChallenge;
  readonly nc: number;
  readonly cnonce: string;
}

export function digestAuthorization(input: DigestInput, ha1?: string): string {
  const { challenge } = input;
  const hash = (value: string): string => digestOf(hashNames[challenge.algorithm], value, 'hex');
  const a1 = ha1 ?? digestHa1(input.username, input.password, challenge);
  const ha2 = hash(`${input.method.toUpperCase()}:${input.uri}`);
  const nc = input.nc.toString(16).padStart(8, '0');
  const response = challenge.qop
    ? hash(`${a1}:${challenge.nonce}:${nc}:${input.cnonce}:${challenge.qop}:${ha2}`)
    : hash(`${a1}:${challenge.nonce}:${ha2}`);
  const parts = [
    `username=${quote(input.username)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(input.uri)}`,
    `algorithm=${challenge.algorithm}`,
    `response=${quote(response)}`,
  ];
  if (challenge.qop) parts.push(`qop=${challenge.qop}`, `nc=${nc}`, `cnonce=${quote(input.cnonce)}`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}

/** H(username:realm:password): the same for every request on one challenge, so kept with it. */
export function digestHa1(username: string, password: string, challenge: DigestChallenge): string {
  return digestOf(hashNames[challenge.algorithm], `${username}:${challenge.realm}:${password}`, 'hex');
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

export interface DigestDeps {
  readonly fetch: Fetch;
  /**
   * The cnonce is a version-4 UUID's hex (122 random bits): `randomUUID` serves from Node's entropy
   * cache, while `randomBytes` costs 80-95 us per call after an idle gap (docs/benchmarks.md).
   */
  readonly random: Pick<Random, 'uuid'>;
}

/** How many nonces keep their request counter: the ones concurrent challenges may still bring back. */
const maxNonceCounters = 16;

export function createDigestAuthenticator(
  key: { readonly publicKey: string; readonly privateKey: string },
  deps: DigestDeps,
): Authenticator {
  let challenge: DigestChallenge | undefined;
  let ha1 = '';
  // The last `nc` sent per nonce, not one counter reset on each new nonce: concurrent challenges
  // may come back to a nonce already signed with (N1, N2, N1 when the server's nonce is a function
  // of the time), and a counter restarted at 1 would repeat an `nc` on it, which reads as a replay.
  const counters = new Map<string, number>();

  const sendSigned = (request: OutgoingRequest, signal?: AbortSignal): Promise<HttpReply> => {
    const headers: Record<string, string> = { ...request.headers };
    if (challenge) {
      const nc = (counters.get(challenge.nonce) ?? 0) + 1;
      counters.set(challenge.nonce, nc);
      const url = new URL(request.url);
      headers.authorization = digestAuthorization(
        {
          username: key.publicKey,
          password: key.privateKey,
          method: request.method,
          uri: `${url.pathname}${url.search}`,
          challenge,
          nc,
          cnonce: deps.random.uuid().replaceAll('-', ''),
        },
        ha1,
      );
    }
    return deps.fetch(request.url, { method: request.method, headers, body: request.body, signal });
  };

  return {
    async send(request, signal) {
      const usedNonce = challenge?.nonce;
      const first = await sendSigned(request, signal);
      if (first.status !== 401) return first;
      const next = parseDigestChallenge(first.headers.get('www-authenticate'));
      // The same nonce without `stale=true` means the key itself was refused: answering again would
      // only loop, so the 401 goes back to the session.
      if (!next || (usedNonce !== undefined && next.nonce === usedNonce && !next.stale)) return first;
      await discardBody(first);
      if (challenge?.nonce !== next.nonce) {
        challenge = next;
        ha1 = digestHa1(key.publicKey, key.privateKey, next);
        // The nonce taken moves to the end; the one taken longest ago goes past a few.
        const sent = counters.get(next.nonce) ?? 0;
        counters.delete(next.nonce);
        counters.set(next.nonce, sent);
        const oldest = counters.keys().next().value;
        if (counters.size > maxNonceCounters && oldest !== undefined) counters.delete(oldest);
      }
      // A write sent again after the challenge's round trip: the job's lease may have lapsed.
      runWriteGuard(signal);
      return sendSigned(request, signal);
    },
    secrets: () => [key.privateKey],
    close: () => Promise.resolve(),
  };
}
