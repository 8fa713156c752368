import { timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../runtime/clock.js';
import type { Random } from '../../runtime/random.js';
import { atlasError } from './errors.js';
import { errorResponse, type SimResponse } from './http-io.js';
import type { Knobs } from './knobs.js';
import type { CredentialRec } from './model.js';

interface TokenRec {
  readonly credential: CredentialRec;
  readonly expiresAt: number;
}

export interface OAuthRequest {
  readonly path: '/api/oauth/token' | '/api/oauth/revoke';
  readonly method: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
  readonly remoteAddress: string;
}

const oauthError = (status: number, error: string, description: string): SimResponse => ({
  status,
  headers: {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...(status === 401 ? { 'www-authenticate': 'Basic realm="MMS Public API"' } : {}),
  },
  body: { error, error_description: description },
});

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Service-account OAuth 2.0 client credentials, as served at `/api/oauth/token` and
 * `/api/oauth/revoke`: Basic client authentication only, form-encoded body, opaque bearer tokens
 * valid for `knobs.tokenLifetimeSeconds`, and Atlas's 10 token requests per minute per client and
 * address (429 `RATE_LIMITED`).
 */
export class OAuthServer {
  private tokens = new Map<string, TokenRec>();
  private requests = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly knobs: Knobs,
    private readonly credentials: () => readonly CredentialRec[],
  ) {}

  reset(): void {
    this.tokens.clear();
    this.requests.clear();
  }

  handle(req: OAuthRequest): SimResponse {
    if (req.method !== 'POST') return oauthError(400, 'invalid_request', 'POST is required');
    const client = this.authenticateClient(req.authorization);
    if (!client) return oauthError(401, 'invalid_client', 'Invalid client credentials');
    if (!(req.contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return oauthError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(req.body);
    return req.path === '/api/oauth/token'
      ? this.issue(client, form, req.remoteAddress)
      : this.revoke(client, form);
  }

  /** The credential behind a bearer token, or undefined when unknown, revoked or expired. */
  verifyBearer(token: string): CredentialRec | undefined {
    const rec = this.tokens.get(token);
    if (!rec) return undefined;
    if (this.clock.now() >= rec.expiresAt) {
      this.tokens.delete(token);
      return undefined;
    }
    return rec.credential;
  }

  private issue(client: CredentialRec, form: URLSearchParams, address: string): SimResponse {
    if (form.get('grant_type') !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 'grant_type must be client_credentials');
    }
    const limited = this.rateLimit(`${client.name}@${address}`);
    if (limited) return limited;
    const token = `sim_${this.random.hex(24)}`;
    const lifetime = this.knobs.tokenLifetimeSeconds;
    this.tokens.set(token, { credential: client, expiresAt: this.clock.now() + lifetime * 1000 });
    return {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: { access_token: token, token_type: 'Bearer', expires_in: lifetime },
    };
  }

  private revoke(client: CredentialRec, form: URLSearchParams): SimResponse {
    const token = form.get('token');
    if (!token) return oauthError(400, 'invalid_request', 'token is required');
    // RFC 7009: revoking an unknown token succeeds; a client may only revoke its own tokens.
    if (this.tokens.get(token)?.credential === client) this.tokens.delete(token);
    return { status: 200, headers: { 'cache-control': 'no-store' } };
  }

  private authenticateClient(authorization: string | undefined): CredentialRec | undefined {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
    if (!match?.[1]) return undefined;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const [id, secret] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    const client = this.credentials().find((c) => c.kind === 'serviceAccount' && c.name === id);
    return client && sameText(client.secret, secret) ? client : undefined;
  }

  private rateLimit(key: string): SimResponse | undefined {
    const now = this.clock.now();
    const recent = (this.requests.get(key) ?? []).filter((t) => t > now - 60_000);
    const limit = this.knobs.tokenRequestsPerMinute;
    if (recent.length >= limit) {
      const oldest = recent[0] ?? now;
      const retryAfter = Math.max(1, Math.ceil((oldest + 60_000 - now) / 1000));
      this.requests.set(key, recent);
      return errorResponse(atlasError('RATE_LIMITED', '/api/oauth/token', limit, 1), {
        'retry-after': String(retryAfter),
      });
    }
    this.requests.set(key, [...recent, now]);
    return undefined;
  }
}
