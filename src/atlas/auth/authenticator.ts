import type { HttpReply } from '../../runtime/http.js';
import { parseAtlasErrorBody } from '../atlas-error.js';
/** One HTTP request as the transport built it, before any credential is attached. */
export interface OutgoingRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Always a string, so the request can be replayed after a challenge. */
  readonly body?: string;
}

/**
 * Attaches one credential to requests. `send` answers its own scheme's challenge once (a stale
 * digest nonce, an expired or rejected OAuth token) and otherwise returns Atlas's response as is,
 * 401 included: deciding that a credential is bad, and re-reading it, is the session's job.
 */
export interface Authenticator {
  send(request: OutgoingRequest, signal?: AbortSignal): Promise<HttpReply>;
  /** Values that must never appear in a message or a log line: the key, the secret, the token. */
  secrets(): readonly string[];
  /** Releases what the credential holds upstream (the OAuth token); idempotent. */
  close(signal?: AbortSignal): Promise<void>;
}

/**
 * Drops a body we will not use. The connector's client has read it already (free); a `fetch`
 * `Response` (tests may inject one) is drained so its connection goes back to the pool.
 */
export async function discardBody(response: HttpReply): Promise<void> {
  await response.text().catch(() => undefined);
}

/**
 * The 401s with which Atlas refuses a credential a role in one project or organization, not the
 * credential itself: a new token or the credential read again changes nothing, and each OAuth
 * re-mint would revoke a token other calls are using (10 token requests a minute).
 */
const roleRefusalCodes: ReadonlySet<string> = new Set([
  'USER_CANNOT_ACCESS_GROUP',
  'USER_CANNOT_ACCESS_ORG',
  'NOT_IN_GROUP',
]);

export interface UnauthorizedReply {
  /** The same answer, its body kept to be read again. */
  readonly reply: HttpReply;
  /** Atlas refused a role the credential lacks there (see `roleRefusalCodes`), not the credential. */
  readonly refusesRole: boolean;
}

/** Reads a 401's body once, to tell a refused role from a refused credential. */
export async function readUnauthorized(response: HttpReply): Promise<UnauthorizedReply> {
  const text = await response.text().catch(() => '');
  const { errorCode } = parseAtlasErrorBody(text);
  const reply: HttpReply = {
    status: response.status,
    ok: response.ok,
    statusText: response.statusText,
    headers: response.headers,
    text: () => Promise.resolve(text),
  };
  return { reply, refusesRole: errorCode !== undefined && roleRefusalCodes.has(errorCode) };
}
