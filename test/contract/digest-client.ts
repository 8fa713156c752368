import { createHash, randomBytes } from 'node:crypto';

/**
 * A tiny Atlas client for tests: raw `fetch` plus RFC 7616 Digest (MD5, qop=auth) that reuses the
 * server's nonce with an increasing `nc`, so after the first challenge each call is one round trip.
 * Deliberately independent of src/atlas, so simulator tests do not depend on the real client.
 */

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly qop: string;
  readonly stale: boolean;
}

export function parseChallenge(header: string | null): DigestChallenge | undefined {
  if (!header?.startsWith('Digest ')) return undefined;
  const field = (name: string): string | undefined =>
    new RegExp(`${name}=(?:"([^"]*)"|([^,\\s]+))`)
      .exec(header)
      ?.slice(1)
      .find((v) => v !== undefined);
  const nonce = field('nonce');
  if (nonce === undefined) return undefined;
  return { realm: field('realm') ?? '', nonce, qop: field('qop') ?? '', stale: field('stale') === 'true' };
}

export interface DigestParams {
  readonly method: string;
  readonly uri: string;
  readonly publicKey: string;
  readonly privateKey: string;
  readonly realm: string;
  readonly nonce: string;
  readonly nc: number;
  readonly cnonce?: string;
}

export function digestAuthorization(p: DigestParams): string {
  const nc = p.nc.toString(16).padStart(8, '0');
  const cnonce = p.cnonce ?? randomBytes(8).toString('hex');
  const ha1 = md5(`${p.publicKey}:${p.realm}:${p.privateKey}`);
  const ha2 = md5(`${p.method}:${p.uri}`);
  const response = md5(`${ha1}:${p.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${p.publicKey}", realm="${p.realm}", nonce="${p.nonce}", uri="${p.uri}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`;
}

export interface CallOptions {
  /** Media-type version for Accept (and Content-Type with a body); default 2023-01-01. */
  readonly version?: string;
  /** Overrides the Accept header entirely (`null` sends none). */
  readonly accept?: string | null;
  readonly body?: unknown;
  /** Overrides the body's Content-Type. */
  readonly contentType?: string;
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** Parsed JSON, or undefined for an empty/non-JSON body. */
  readonly json: unknown;
  /** Round trips this call took (1 when the cached nonce was accepted). */
  readonly roundTrips: number;
}

export class DigestClient {
  private challenge: DigestChallenge | undefined;
  private nc = 0;

  constructor(
    readonly baseUrl: string,
    private readonly publicKey: string,
    private readonly privateKey: string,
  ) {}

  /** `path` is below `/api/atlas/v2` (e.g. `/groups`); pass a leading `/api/` path to go elsewhere. */
  async call(method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
    const uri = path.startsWith('/api/') ? path : `/api/atlas/v2${path}`;
    let roundTrips = 0;
    for (;;) {
      roundTrips += 1;
      const response = await fetch(`${this.baseUrl}${uri}`, {
        method,
        headers: this.headers(method, uri, options),
        body: bodyOf(options),
      });
      const text = await response.text();
      const next =
        response.status === 401 ? parseChallenge(response.headers.get('www-authenticate')) : undefined;
      const retry =
        next !== undefined &&
        roundTrips < 3 &&
        (this.challenge === undefined || next.stale || roundTrips === 1);
      if (next) {
        this.challenge = next;
        this.nc = 0;
      }
      if (!retry)
        return {
          status: response.status,
          headers: response.headers,
          text,
          json: parseJson(text),
          roundTrips,
        };
    }
  }

  private headers(method: string, uri: string, options: CallOptions): Record<string, string> {
    const version = options.version ?? '2023-01-01';
    const headers: Record<string, string> = { ...options.headers };
    if (options.accept !== null) headers.accept = options.accept ?? `application/vnd.atlas.${version}+json`;
    if (options.body !== undefined)
      headers['content-type'] = options.contentType ?? `application/vnd.atlas.${version}+json`;
    if (this.challenge) {
      this.nc += 1;
      headers.authorization = digestAuthorization({
        method,
        uri,
        publicKey: this.publicKey,
        privateKey: this.privateKey,
        realm: this.challenge.realm,
        nonce: this.challenge.nonce,
        nc: this.nc,
      });
    }
    return headers;
  }
}

function bodyOf(options: CallOptions): string | undefined {
  if (options.body === undefined) return undefined;
  return typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
}

export function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Narrow access to fields of a JSON value in assertions, without `any`. */
export function field(value: unknown, ...path: (string | number)[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** Calls the simulator with a bearer token (service accounts). */
export async function bearerCall(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<CallResult> {
  const version = options.version ?? '2023-01-01';
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (options.accept !== null) headers.accept = options.accept ?? `application/vnd.atlas.${version}+json`;
  if (options.body !== undefined)
    headers['content-type'] = options.contentType ?? `application/vnd.atlas.${version}+json`;
  const response = await fetch(`${baseUrl}/api/atlas/v2${path}`, { method, headers, body: bodyOf(options) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: parseJson(text), roundTrips: 1 };
}

/** Mints a service-account token: Basic client auth, form body, as Atlas requires. */
export async function mintToken(
  baseUrl: string,
  clientId: string,
  clientSecret: string,
): Promise<CallResult> {
  const response = await fetch(`${baseUrl}/api/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: 'grant_type=client_credentials',
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: parseJson(text), roundTrips: 1 };
}
