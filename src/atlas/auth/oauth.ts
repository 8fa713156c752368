import { z } from 'zod';
import { ConnectorError } from '../../errors/connector-error.js';
import { errorCodeForStatus, parseRetryAfter } from '../../errors/from-http-status.js';
import type { Clock } from '../../runtime/clock.js';
import { cutText } from '../../runtime/cut-text.js';
import type { Fetch, HttpReply } from '../../runtime/http.js';
import type { Logger } from '../../runtime/logger.js';
import { transportError } from '../atlas-error.js';
import { abortable } from '../../runtime/abortable.js';
import { runWriteGuard } from '../../runtime/write-guard.js';
import { discardBody, readUnauthorized, type Authenticator, type OutgoingRequest } from './authenticator.js';

/**
 * Tokens are replaced this long before Atlas would reject them, to cover clock skew and latency;
 * a token that lives twice this or less is replaced halfway through its life instead.
 */
export const tokenRefreshMarginMs = 60_000;

/**
 * The longest a token (or revoke) request may take. Every call waits on the one shared mint, so
 * a token endpoint (or proxy) that accepts the connection and never answers would otherwise hold
 * every later call of this credential for the life of the process.
 */
export const tokenRequestTimeoutMs = 30_000;

const tokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().positive(),
});

const oauthErrorBody = z.object({ error: z.string().optional(), error_description: z.string().optional() });

interface Token {
  readonly value: string;
  /** Monotonic ms from which the token is no longer used (a new one is minted). */
  readonly renewAt: number;
}

export interface OAuthDeps {
  readonly baseUrl: string;
  readonly fetch: Fetch;
  readonly clock: Pick<Clock, 'monotonic' | 'now'>;
  readonly userAgent: string;
  readonly logger: Logger;
  /** Default `tokenRequestTimeoutMs`. */
  readonly requestTimeoutMs?: number;
  /** Called with every minted token before it is used, so the log scrubber knows it. */
  readonly onSecret?: (value: string) => void;
  /** Called once for each revoke that Atlas refused or that failed (metrics). */
  readonly onRevokeFailed?: () => void;
}

/**
 * OAuth 2.0 client credentials for Atlas service accounts: one cached bearer token per client,
 * minted single-flight, re-minted once when Atlas answers 401. A token is revoked once it is
 * replaced (in the background, after its successor is minted) and on close.
 */
export function createOAuthAuthenticator(
  account: { readonly clientId: string; readonly clientSecret: string },
  deps: OAuthDeps,
): Authenticator {
  return new OAuthAuthenticator(account, deps);
}

class OAuthAuthenticator implements Authenticator {
  private readonly basic: string;
  private token: Token | undefined;
  /**
   * The last token minted, kept after a 401 drops it from use: the next mint revokes it, or close
   * does. A replaced token would otherwise stay valid upstream for up to an hour.
   */
  private issued: Token | undefined;
  /** Revokes of replaced tokens still under way, for close to wait on. */
  private readonly revoking = new Set<Promise<void>>();
  private minting: Promise<Token> | undefined;
  private closing: Promise<void> | undefined;
  /**
   * The token endpoint's refusal of these client credentials, which stays: asked again for every
   * call, the endpoint (10 requests a minute) would soon answer 429, and the calls retry those for
   * minutes instead of failing auth_failed at once. The session reads the credential again (at
   * most once a minute) and builds a new authenticator for it, which asks again.
   */
  private refused: ConnectorError | undefined;

  constructor(
    private readonly account: { readonly clientId: string; readonly clientSecret: string },
    private readonly deps: OAuthDeps,
  ) {
    this.basic = `Basic ${Buffer.from(`${account.clientId}:${account.clientSecret}`).toString('base64')}`;
  }

  async send(request: OutgoingRequest, signal?: AbortSignal): Promise<HttpReply> {
    const cached = this.usableToken();
    const used = await this.currentToken(signal);
    // A write sent after waiting for a mint (up to the token request's timeout): the job's lease
    // may have lapsed meanwhile.
    if (!cached) runWriteGuard(signal);
    const first = await this.sendWith(request, used, signal);
    if (first.status !== 401) return first;
    const unauthorized = await readUnauthorized(first);
    if (unauthorized.refusesRole) return unauthorized.reply;
    // A concurrent call may already have replaced the rejected token; only drop our own.
    if (this.token === used) this.token = undefined;
    const token = await this.currentToken(signal);
    // A write sent again after the mint: the job's lease may have lapsed meanwhile.
    runWriteGuard(signal);
    return this.sendWith(request, token, signal);
  }

  secrets(): readonly string[] {
    return this.token ? [this.account.clientSecret, this.token.value] : [this.account.clientSecret];
  }

  close(signal?: AbortSignal): Promise<void> {
    this.closing ??= this.revokeAll();
    return abortable(this.closing, signal);
  }

  private currentToken(signal?: AbortSignal): Promise<Token> {
    signal?.throwIfAborted();
    // Closed: nothing is minted any more. A call in flight at close that meets a 401 would mint a
    // token after close revoked the last one, and nothing would ever revoke it. Not retryable:
    // waiting will not reopen a closed client.
    if (this.closing) {
      return Promise.reject(
        new ConnectorError({ code: 'cancelled', message: 'atlas client is closed', retryable: false }),
      );
    }
    const token = this.usableToken();
    if (token) return Promise.resolve(token);
    if (this.refused) return Promise.reject(this.refused);
    this.minting ??= this.mint().finally(() => {
      this.minting = undefined;
    });
    // The mint is shared, so one caller giving up must not cancel it for the others.
    return abortable(this.minting, signal);
  }

  /** The cached token, while it is not due to be replaced. */
  private usableToken(): Token | undefined {
    const { token } = this;
    return token && this.deps.clock.monotonic() < token.renewAt ? token : undefined;
  }

  private async mint(): Promise<Token> {
    // Expiry counts from when the request left, so a slow answer cannot stretch the token's life.
    const sentAt = this.deps.clock.monotonic();
    let response: HttpReply;
    try {
      response = await this.postForm('/api/oauth/token', { grant_type: 'client_credentials' });
    } catch (error) {
      throw transportError(error, 'oauthToken');
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) {
      // Atlas takes 10 token requests a minute per client and address; its 429 says when to return.
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.deps.clock.now());
      const error = tokenEndpointError(response.status, text, this.secrets(), retryAfterMs);
      if (error.code === 'auth_failed') this.refused = error;
      throw error;
    }
    const parsed = tokenResponse.safeParse(safeJson(text));
    if (!parsed.success) {
      throw new ConnectorError({
        code: 'invalid_response',
        message: 'oauthToken: token response is not {access_token, expires_in}',
        details: { httpStatus: response.status, operation: 'oauthToken' },
      });
    }
    this.deps.onSecret?.(parsed.data.access_token);
    const replaced = this.issued;
    const lifetimeMs = parsed.data.expires_in * 1000;
    // A whole margin off a token that lives a minute or less would leave it unusable at once, and
    // every call would mint (and revoke) one: Atlas takes 10 token requests a minute.
    const renewAt = sentAt + lifetimeMs - Math.min(tokenRefreshMarginMs, lifetimeMs / 2);
    const token = { value: parsed.data.access_token, renewAt };
    this.token = this.issued = token;
    this.deps.logger.debug({ expiresInSeconds: parsed.data.expires_in }, 'atlas oauth token minted');
    // Off the caller's path: the call that needed the new token neither waits for this nor fails
    // with it. A call still using the old one gets a 401 and is sent again with the new one.
    if (replaced) this.revokeReplaced(replaced);
    return token;
  }

  private revokeReplaced(replaced: Token): void {
    const revoking: Promise<void> = this.revoke(replaced, 'replaced').finally(() =>
      this.revoking.delete(revoking),
    );
    this.revoking.add(revoking);
  }

  private async revokeAll(): Promise<void> {
    await this.minting?.catch(() => undefined);
    const held = this.issued;
    this.token = this.issued = undefined;
    await Promise.all([...this.revoking, held && this.revoke(held, 'close')]);
  }

  /** One attempt, never retried; never rejects. The log line names the reason, never the token. */
  private async revoke(held: Token, reason: 'replaced' | 'close'): Promise<void> {
    try {
      const form = { token: held.value, token_type_hint: 'access_token' };
      const response = await this.postForm('/api/oauth/revoke', form);
      await discardBody(response);
      if (response.ok) return;
      this.deps.logger.warn({ httpStatus: response.status, reason }, 'atlas oauth token revoke refused');
    } catch (error) {
      const code = transportError(error, 'oauthRevoke').code;
      this.deps.logger.warn({ code, reason }, 'atlas oauth token revoke failed');
    }
    this.deps.onRevokeFailed?.();
  }

  private sendWith(request: OutgoingRequest, bearer: Token, signal?: AbortSignal): Promise<HttpReply> {
    return this.deps.fetch(request.url, {
      method: request.method,
      headers: { ...request.headers, authorization: `Bearer ${bearer.value}` },
      body: request.body,
      signal,
    });
  }

  private postForm(path: string, form: Record<string, string>): Promise<HttpReply> {
    return this.deps.fetch(`${this.deps.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        authorization: this.basic,
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': this.deps.userAgent,
      },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(this.deps.requestTimeoutMs ?? tokenRequestTimeoutMs),
    });
  }
}

/** `secrets`: removed from the endpoint's own words before they become a job error. */
function tokenEndpointError(
  status: number,
  text: string,
  secrets: readonly string[],
  retryAfterMs: number | undefined,
): ConnectorError {
  const parsed = oauthErrorBody.safeParse(safeJson(text));
  const oauthError = parsed.success ? (parsed.data.error ?? `HTTP_${status}`) : `HTTP_${status}`;
  const said = parsed.success ? (parsed.data.error_description ?? '') : '';
  const description = secrets.reduce((out, secret) => out.split(secret).join('[REDACTED]'), said);
  // The token endpoint answers a bad client id or secret with 400 invalid_client as often as 401.
  const code = status === 400 || status === 401 ? 'auth_failed' : errorCodeForStatus(status);
  return new ConnectorError({
    code,
    message: `oauthToken: ${oauthError}: ${cutText(description, 300)}`,
    retryAfterMs,
    details: { httpStatus: status, atlasErrorCode: oauthError, operation: 'oauthToken' },
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
