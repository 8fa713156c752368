import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { http } from '../runtime/node-http.js';
import type { Logger } from '../runtime/logger.js';

/** What the admin server reads from the worker. */
export interface HealthSource {
  isLive(): boolean;
  isReady(): boolean;
  status(): Record<string, unknown>;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Which routes one listener serves: probes are `/livez` `/readyz`; observability `/status` `/metrics`. */
export type AdminRoutes = 'all' | 'probes' | 'observability';

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  readonly health: HealthSource;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Default `all`. */
  readonly routes?: AdminRoutes;
  /** When set, `/status` and `/metrics` answer 401 without `Authorization: Bearer <token>`. */
  readonly token?: string;
}

/**
 * `/livez` (loops ticking; never depends on the control plane, or an outage would restart every
 * pod), `/readyz` (registered, recent contact, not draining), `/metrics`, `/status` (ids, no
 * payloads). Probes are always open: the kubelet carries no token.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    void route(req, res, options).catch((error: unknown) => {
      options.logger.error({ err: error }, 'admin request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
    });
  });
  await listen(server, options.host, options.port);
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const probePaths: ReadonlySet<string> = new Set(['/livez', '/readyz']);
const observabilityPaths: ReadonlySet<string> = new Set(['/status', '/metrics']);

function served(path: string, routes: AdminRoutes): boolean {
  if (routes === 'probes') return probePaths.has(path);
  if (routes === 'observability') return observabilityPaths.has(path);
  return true;
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization ?? '';
  // The scheme is case-insensitive (RFC 9110 §11.1): `bearer <token>` is the same credential.
  const given = Buffer.from(/^bearer /i.test(header) ? header.slice(7).trim() : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function route(req: IncomingMessage, res: ServerResponse, options: AdminServerOptions): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    // RFC 9110 §15.5.6: a 405 names the methods the resource serves.
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'text/plain', 'method not allowed\n');
  }
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (!served(path, options.routes ?? 'all')) return send(res, 404, 'text/plain', 'not found\n');
  if (observabilityPaths.has(path) && !authorized(req, options.token)) {
    res.setHeader('www-authenticate', 'Bearer');
    return send(
      res,
      401,
      'text/plain',
      'unauthorized: ADMIN_TOKEN_FILE is set; send Authorization: Bearer <token>\n',
    );
  }
  switch (path) {
    case '/livez':
      return options.health.isLive()
        ? send(res, 200, 'text/plain', 'ok\n')
        : send(res, 503, 'text/plain', 'loops stalled\n');
    case '/readyz':
      return options.health.isReady()
        ? send(res, 200, 'text/plain', 'ready\n')
        : send(res, 503, 'text/plain', 'not ready\n');
    case '/metrics':
      return send(res, 200, options.registry.contentType, await options.registry.metrics());
    case '/status':
      return send(res, 200, 'application/json', `${JSON.stringify(options.health.status())}\n`);
    default:
      return send(res, 404, 'text/plain', 'not found\n');
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
