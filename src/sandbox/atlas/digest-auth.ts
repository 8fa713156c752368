import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../runtime/clock.js';
import type { Random } from '../../runtime/random.js';
import type { Knobs } from './knobs.js';
import type { CredentialRec } from './model.js';

export const digestRealm = 'MMS Public API';

/** nc values older than this many below the highest seen are refused even if unseen. */
const ncWindow = 64;

interface NonceRec {
  readonly issuedAt: number;
  maxNc: number;
  readonly seen: Set<number>;
}

export type DigestOutcome =
  { readonly ok: true; readonly credential: CredentialRec } | { readonly ok: false; readonly stale: boolean };

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Parses `Digest k=v, k="v"` into a map; returns undefined for any other scheme. */
export function parseDigestHeader(header: string): Map<string, string> | undefined {
  const match = /^Digest\s+(.*)$/is.exec(header.trim());
  if (!match?.[1]) return undefined;
  const fields = new Map<string, string>();
  const pair = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (const m of match[1].matchAll(pair)) {
    const key = m[1]?.toLowerCase();
    if (key) fields.set(key, (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'));
  }
  return fields;
}

/**
 * RFC 7616 Digest (MD5, qop=auth) as Atlas serves it for programmatic API keys. Nonces expire after
 * `knobs.nonceLifetimeSeconds` (an expired nonce with a correct response gets `stale=true`, so a
 * client re-hashes without asking the user again); each nonce counts `nc` and refuses a repeat.
 * Out-of-order `nc` within a small window is accepted, because a client that reuses one nonce
 * over several connections cannot guarantee arrival order.
 */
export class DigestAuthenticator {
  private nonces = new Map<string, NonceRec>();

  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly knobs: Knobs,
  ) {}

  reset(): void {
    this.nonces.clear();
  }

  challenge(stale: boolean): string {
    const now = this.clock.now();
    for (const [nonce, rec] of this.nonces) if (this.expired(rec, now)) this.nonces.delete(nonce);
    const nonce = Buffer.from(this.random.hex(24), 'hex').toString('base64url');
    this.nonces.set(nonce, { issuedAt: now, maxNc: 0, seen: new Set() });
    return `Digest realm="${digestRealm}", domain="", nonce="${nonce}", algorithm=MD5, qop="auth", stale=${String(stale)}`;
  }

  verify(
    header: string,
    method: string,
    requestTarget: string,
    lookup: (publicKey: string) => CredentialRec | undefined,
  ): DigestOutcome {
    const f = parseDigestHeader(header);
    const get = (k: string): string => f?.get(k) ?? '';
    const algorithm = get('algorithm').toUpperCase();
    const wellFormed =
      f !== undefined &&
      get('realm') === digestRealm &&
      get('qop') === 'auth' &&
      /^[0-9a-fA-F]{8}$/.test(get('nc')) &&
      get('cnonce') !== '' &&
      (algorithm === '' || algorithm === 'MD5') &&
      get('uri') === requestTarget;
    const credential = wellFormed ? lookup(get('username')) : undefined;
    const rec = this.nonces.get(get('nonce'));
    if (!credential || credential.kind !== 'apiKey' || !rec) return { ok: false, stale: false };
    const ha1 = md5(`${credential.name}:${digestRealm}:${credential.secret}`);
    const ha2 = md5(`${method}:${get('uri')}`);
    const expected = md5(`${ha1}:${get('nonce')}:${get('nc')}:${get('cnonce')}:auth:${ha2}`);
    if (!sameText(expected, get('response').toLowerCase())) return { ok: false, stale: false };
    if (this.expired(rec, this.clock.now())) return { ok: false, stale: true };
    return this.acceptNc(rec, Number.parseInt(get('nc'), 16))
      ? { ok: true, credential }
      : { ok: false, stale: false };
  }

  private expired(rec: NonceRec, now: number): boolean {
    return now >= rec.issuedAt + this.knobs.nonceLifetimeSeconds * 1000;
  }

  private acceptNc(rec: NonceRec, nc: number): boolean {
    if (nc < 1 || rec.seen.has(nc) || nc <= rec.maxNc - ncWindow) return false;
    rec.seen.add(nc);
    rec.maxNc = Math.max(rec.maxNc, nc);
    for (const old of rec.seen) if (old <= rec.maxNc - ncWindow) rec.seen.delete(old);
    return true;
  }
}
