import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AtlasHttpError } from './errors.js';

/** A response as data, so recording, stats and fault injection see exactly what goes out. */
export interface SimResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** JSON-serialisable body; undefined sends no body. */
  readonly body?: unknown;
}

const maxBodyBytes = 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > maxBodyBytes) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function errorResponse(error: AtlasHttpError, extraHeaders: Record<string, string> = {}): SimResponse {
  return {
    status: error.status,
    headers: { 'content-type': 'application/json', ...extraHeaders, ...error.headers },
    body: error.toBody(),
  };
}

export function writeResponse(res: ServerResponse, response: SimResponse): void {
  const payload = response.body === undefined ? undefined : JSON.stringify(response.body);
  const headers: Record<string, string> = { ...response.headers };
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  res.writeHead(response.status, headers);
  res.end(payload);
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The peer address as an IPv4 string when it is one (Atlas events carry `remoteAddress`). */
export function remoteIpv4(req: IncomingMessage): string | undefined {
  const address = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(address) ? address : undefined;
}

/**
 * The client's address for per-IP limits (Atlas's invitation limit): the peer address without an
 * IPv4-mapped prefix; every loopback client (127.0.0.0/8, `::1`) is one client, `loopback`.
 */
export function clientAddress(req: IncomingMessage): string {
  const address = (req.socket.remoteAddress ?? '').replace(/^::ffff:/i, '');
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) ? 'loopback' : address;
}

/** Lower-cased request headers with credentials reduced to their scheme, for recording. */
export function redactedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    out[name] = name === 'authorization' ? `${text.split(' ')[0] ?? ''} [REDACTED]` : text;
  }
  return out;
}
