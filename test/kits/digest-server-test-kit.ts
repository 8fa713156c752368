import { createHash } from 'node:crypto';

/**
 * A digest-checking Atlas stand-in for nock reply callbacks, written independently of
 * `auth/digest.ts` so a wrong hash in the client cannot be confirmed by the same wrong code.
 */
export interface DigestServer {
  handle(
    method: string,
    uri: string,
    authorization: string | undefined,
  ): [number, object, Record<string, string>];
  /** The next request signed with the old nonce gets `stale=true` (and the new realm, if given). */
  rotateNonce(nonce: string, realm?: string): void;
  readonly stats: { challenges: number; accepted: number; ncs: number[] };
}

const md5 = (value: string): string => createHash('md5').update(value).digest('hex');

function params(header: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const match of header.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) {
    out.set(match[1] ?? '', match[2] ?? match[3] ?? '');
  }
  return out;
}

export function createDigestServer(
  key: { publicKey: string; privateKey: string },
  firstNonce = 'nonce-1',
): DigestServer {
  let realm = 'MMS Public API';
  let nonce = firstNonce;
  let usedNcs = new Set<number>();
  const stats = { challenges: 0, accepted: 0, ncs: [] as number[] };

  const challenge = (stale: boolean): [number, object, Record<string, string>] => {
    stats.challenges += 1;
    const header = `Digest realm="${realm}", domain="", nonce="${nonce}", algorithm=MD5, qop="auth", stale=${stale}`;
    return [
      401,
      { error: 401, errorCode: 'UNAUTHORIZED', detail: 'You are not authorized.' },
      { 'www-authenticate': header },
    ];
  };

  return {
    stats,
    rotateNonce(next, nextRealm) {
      nonce = next;
      realm = nextRealm ?? realm;
      usedNcs = new Set<number>();
    },
    handle(method, uri, authorization) {
      if (!authorization?.startsWith('Digest ')) return challenge(false);
      const p = params(authorization);
      if (p.get('nonce') !== nonce) return challenge(true);
      const nc = Number.parseInt(p.get('nc') ?? '', 16);
      const ha1 = md5(`${key.publicKey}:${realm}:${key.privateKey}`);
      const ha2 = md5(`${method}:${uri}`);
      const expected = md5(`${ha1}:${nonce}:${p.get('nc')}:${p.get('cnonce')}:auth:${ha2}`);
      const valid =
        p.get('username') === key.publicKey &&
        p.get('uri') === uri &&
        p.get('response') === expected &&
        nc > 0 &&
        !usedNcs.has(nc);
      if (!valid) return challenge(false);
      usedNcs.add(nc);
      stats.accepted += 1;
      stats.ncs.push(nc);
      return [200, { results: [], totalCount: 0 }, {}];
    },
  };
}
