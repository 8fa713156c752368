import { Agent, request, type IncomingHttpHeaders } from 'node:http';

/**
 * The bare clients' HTTP: raw `node:http` `request()` on one keep-alive `Agent`, the cheapest
 * honest client (the daemon uses node:http/https with keep-alive agents too, not `fetch`). Only
 * `http:` URLs: the bench talks to loopback servers. No redirects, no decompression, no abort:
 * the body is read whole, as received, before the promise settles. Not `createHttpClient`: a
 * bound must not contain the client code it is there to measure.
 */
export interface BareInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Node lower-cases header names; a repeated header is a `string[]` (`set-cookie` always is). */
export interface BareResponse {
  readonly status: number;
  /** A 2xx status, as `fetch`'s `ok`. */
  readonly ok: boolean;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export type BareHttp = (url: string, init?: BareInit) => Promise<BareResponse>;

/** A request function with its own keep-alive agent: create one per process (entry point or class). */
export function createBareHttp(): BareHttp {
  const agent = new Agent({ keepAlive: true });
  const send = once(agent);
  // A kept-alive socket the server closes (its 5 s keep-alive timeout) just as a request goes out
  // on it resets that request before the server read it; Node 20's agent ignores the server's
  // `Keep-Alive: timeout` hint, so a bare client idle for about 5 s meets it. Sent again once on a
  // fresh socket, as Node's documentation advises: every bare request may be repeated (claims
  // carry an idempotency key, results and intents are idempotent PUTs, the Atlas calls change
  // nothing).
  return (url, init = {}) =>
    send(url, init).catch((error: unknown) => {
      if (!(error instanceof StaleSocketError)) throw error;
      return send(url, init);
    });
}

/** A reset on a reused socket before any answer: the request never reached the server. */
class StaleSocketError extends Error {}

function once(agent: Agent): BareHttp {
  return (url, init = {}) =>
    new Promise<BareResponse>((resolve, reject) => {
      const target = new URL(url);
      if (target.protocol !== 'http:') throw new Error(`bare-http: only http: URLs, got ${url}`);
      const headers: Record<string, string> = { ...init.headers };
      if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
      const req = request(
        {
          hostname: target.hostname.replace(/^\[|\]$/g, ''),
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method: init.method ?? 'GET',
          headers,
          agent,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () =>
            resolve({
              status,
              ok: status >= 200 && status < 300,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        reject(
          req.reusedSocket && error.code === 'ECONNRESET'
            ? new StaleSocketError(`stale keep-alive socket: ${error.message}`, { cause: error })
            : error,
        );
      });
      req.end(init.body);
    });
}
