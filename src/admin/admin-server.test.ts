import { request } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { startAdminServer, type AdminServer, type HealthSource } from './admin-server.js';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function send(port: number, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A live, ready worker; each test tweaks what it looks at. */
const healthy: HealthSource = {
  isLive: () => true,
  isReady: () => true,
  status: () => ({ sessionId: 'session-1', state: 'running', inFlightJobIds: ['job-1'], outboxDepth: 0 }),
};

let server: AdminServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(health: Partial<HealthSource> = {}) {
  const logs = captureLogs();
  server = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    health: { ...healthy, ...health },
    registry: new Registry(),
    logger: logs.logger,
  });
  return { port: server.port, logs };
}

describe('admin server', () => {
  it.each(['POST', 'PUT', 'DELETE', 'OPTIONS'])(
    'answers %s 405 with the methods it serves in Allow, as RFC 9110 requires',
    async (method) => {
      const { port } = await start();
      const reply = await send(port, method, '/livez', method === 'OPTIONS' ? undefined : '{}');
      expect(reply.status).toBe(405);
      expect(reply.headers.allow).toBe('GET, HEAD');
    },
  );
});
