// Namespaces, not named imports: `request` is looked up per call, as CommonJS callers do, so an
// interceptor installed or removed later (nock in tests) is seen.
import type { Agent as HttpAgent, ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https, { Agent as HttpsAgent } from 'node:https';
import { http } from './node-http.js';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';

/** One request as the connector's HTTP clients make it: a string URL, plain headers, a whole body. */
export interface HttpRequestInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  readonly signal?: AbortSignal;
}

/** Response headers, by name in any case (as `fetch`'s `Headers.get`). */
export interface HttpHeaders {
  get(name: string): string | null;
}

/** A complete answer: its body has been read (bounded) before the promise settles. */
export interface HttpReply {
  readonly status: number;
  readonly ok: boolean;
  readonly statusText: string;
  readonly headers: HttpHeaders;
  text(): Promise<string>;
}

/**
 * The HTTP port: every client takes one, so tests can intercept it (strict nock) or replace it.
 * It is the part of `fetch` the clients use, so a fake returning a `Response` satisfies it; the
 * daemon and `doctor` use `createHttpClient`. An implementation drops its abort listener once the
 * call settles: thousands of calls share one job's signal (an organization-wide discovery), so a
 * listener left behind per call would pile up on it (`fetch` keeps its listener until the signal
 * is collected).
 */
export type Fetch = (url: string, init?: HttpRequestInit) => Promise<HttpReply>;

export interface OutboundHttpSettings {
  readonly httpsProxy?: string;
  readonly httpProxy?: string;
  readonly noProxy?: string;
  /** Path to a PEM bundle trusted in addition to the system roots (TLS-intercepting proxies). */
  readonly caBundleFile?: string;
}

export interface HttpClientOptions {
  /**
   * The agent for every request, http and https: `createOutboundAgent`'s proxy and CA bundle
   * routing. Absent: one keep-alive agent per scheme, system roots, no proxy.
   */
  readonly agent?: HttpAgent;
  /** A larger body fails the request instead of filling memory. */
  readonly maxBodyBytes?: number;
}

/** Far above any Atlas page (500 items) or control-plane message; a guard, not a limit in use. */
export const defaultMaxBodyBytes = 64 * 1024 * 1024;

const decoders = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * The connector's HTTP client, on Node's http/https modules with keep-alive agents — the same
 * agents (proxy, NO_PROXY, CA bundle) the cloud SDKs use. Not `fetch`: on the connector's
 * sequential calls, `fetch` costs 0.7–1.2 ms more client time per request and ~10 MB more memory
 * (docs/benchmarks.md). Behaviour the clients rely on:
 * - redirects are never followed (a credential-bearing request is not re-sent elsewhere): a 3xx
 *   is an answer like any other, and not `ok`;
 * - gzip, deflate and br bodies are asked for and decoded; the body is read whole, up to
 *   `maxBodyBytes`, before the reply is returned, so no socket is left waiting on a reader;
 * - an abort rejects with the signal's reason and destroys the request, as `fetch` does;
 * - a network failure rejects with Node's own error (`code`: ECONNREFUSED, ENOTFOUND,
 *   UNABLE_TO_VERIFY_LEAF_SIGNATURE…), which `causeChain` reports as it is.
 */
export function createHttpClient(options: HttpClientOptions = {}): Fetch {
  const agents = options.agent
    ? { http: options.agent, https: options.agent }
    : { http: new http.Agent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;

  return (url, init = {}) =>
    new Promise<HttpReply>((resolve, reject) => {
      const signal = init.signal;
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') {
        reject(new TypeError(`unsupported URL scheme ${target.protocol} (http: and https: only)`));
        return;
      }
      const headers: Record<string, string> = { 'accept-encoding': 'gzip, deflate, br', ...init.headers };
      if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));

      let settled = false;
      let response: IncomingMessage | undefined;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const fail = (error: unknown): void => finish(() => reject(error));
      function onAbort(): void {
        fail(abortReason(signal));
        request.destroy();
        response?.destroy();
      }

      const send = secure ? https.request : http.request;
      let request: ClientRequest;
      try {
        request = send(
          {
            protocol: target.protocol,
            hostname: target.hostname.replace(/^\[|\]$/g, ''),
            port: target.port,
            path: `${target.pathname}${target.search}`,
            method: init.method ?? 'GET',
            headers,
            agent: secure ? agents.https : agents.http,
          },
          (res) => {
            response = res;
            readBody(res, maxBodyBytes, (error, body) => {
              if (error) {
                fail(error);
                return;
              }
              const status = res.statusCode ?? 0;
              finish(() => resolve(reply(status, res.statusMessage, res.headers, body ?? '')));
            });
          },
        );
      } catch (error) {
        // An invalid header value (control characters) throws before anything is sent.
        fail(error);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', fail);
      request.end(init.body);
    });
}

function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function readBody(
  res: IncomingMessage,
  maxBodyBytes: number,
  done: (error: Error | undefined, body?: string) => void,
): void {
  // A response without a body (204, 304, Content-Length: 0) has nothing to decode, whatever its
  // Content-Encoding says: a decoder given no bytes fails with "unexpected end of file".
  const bodiless = res.statusCode === 204 || res.statusCode === 304 || res.headers['content-length'] === '0';
  const encoding = bodiless
    ? 'identity'
    : (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let source: Readable = res;
  if (encoding !== 'identity') {
    const decoder = decoders[encoding as keyof typeof decoders];
    if (!decoder) {
      res.destroy();
      done(new Error(`response body in an unsupported content-encoding: ${encoding.slice(0, 40)}`));
      return;
    }
    source = res.pipe(decoder());
    res.on('error', (error) => source.destroy(error));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  source.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBodyBytes) {
      source.destroy(new Error(`response body larger than ${maxBodyBytes} bytes`));
      if (source !== res) res.destroy();
      return;
    }
    chunks.push(chunk);
  });
  source.on('error', (error) => {
    // A decoder that failed leaves the response unread: release its socket.
    if (source !== res) res.destroy();
    done(error);
  });
  source.on('end', () => {
    ended = true;
    done(
      undefined,
      chunks.length === 1 ? (chunks[0]?.toString('utf8') ?? '') : Buffer.concat(chunks).toString('utf8'),
    );
  });
  // A connection closed before the body's end: ECONNRESET, as a reset socket reports it.
  res.on('close', () => {
    if (!ended && !res.complete)
      source.destroy(Object.assign(new Error('response body cut short'), { code: 'ECONNRESET' }));
  });
}

function reply(
  status: number,
  statusText: string | undefined,
  headers: IncomingHttpHeaders,
  body: string,
): HttpReply {
  return {
    status,
    ok: status >= 200 && status < 300,
    statusText: statusText ?? http.STATUS_CODES[status] ?? '',
    headers: {
      get(name) {
        const value = headers[name.toLowerCase()];
        if (value === undefined) return null;
        return Array.isArray(value) ? value.join(', ') : value;
      },
    },
    text: () => Promise.resolve(body),
  };
}
