import { request, STATUS_CODES } from 'node:http';
import { connect, type Socket } from 'node:net';
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

/** Everything the server writes back to `text` until it closes the connection. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
  });
}

/** A client that sent part of a request's headers and then nothing more (slowloris). */
function stalledClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n', () => resolve(socket)),
    );
    socket.on('error', reject);
  });
}

describe('admin server', () => {
  it.each([
    ['/livez', 'isLive', 200, 'ok\n'],
    ['/livez', 'isLive', 503, 'loops stalled\n'],
    ['/readyz', 'isReady', 200, 'ready\n'],
    ['/readyz', 'isReady', 503, 'not ready\n'],
  ] as const)('answers %s from %s with %i', async (path, check, status, body) => {
    const { port } = await start({ [check]: () => status === 200 });
    expect(await send(port, 'GET', path)).toMatchObject({ status, body });
  });

  it.each(['/livez', '/readyz', '/status', '/metrics'])(
    'answers HEAD %s with the status GET has and no body',
    async (path) => {
      const { port } = await start({ isReady: () => false });
      // Read off the wire: an HTTP client that sent HEAD reads no body, whatever follows the headers.
      const head = await rawExchange(port, `HEAD ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const get = await send(port, 'GET', path);
      expect(head.split('\r\n')[0]).toBe(`HTTP/1.1 ${get.status} ${STATUS_CODES[get.status] ?? ''}`);
      expect(head.slice(head.indexOf('\r\n\r\n') + 4)).toBe('');
    },
  );

  it('answers /status with the JSON snapshot the worker gives, and /metrics with Prometheus text', async () => {
    const { port } = await start();
    const status = await send(port, 'GET', '/status');
    expect(status.headers['content-type']).toBe('application/json');
    expect(JSON.parse(status.body)).toEqual(healthy.status());
    const metrics = await send(port, 'GET', '/metrics');
    expect(metrics).toMatchObject({ status: 200, headers: { 'content-type': new Registry().contentType } });
  });

  it.each(['/', '/livez/', '/LIVEZ', '/status.json'])('answers an unknown path %s 404', async (path) => {
    const { port } = await start();
    expect((await send(port, 'GET', path)).status).toBe(404);
  });

  it('answers 500 and logs the error when the worker cannot say its status', async () => {
    const { port, logs } = await start({
      status: () => {
        throw new Error('snapshot failed');
      },
    });
    expect(await send(port, 'GET', '/status')).toMatchObject({ status: 500, body: 'internal error\n' });
    expect(logs.lines().find((line) => line.msg === 'admin request failed')).toMatchObject({
      level: 'error',
    });
  });

  it('answers probes while a client holds a connection with a request half sent, and closes that connection when it closes', async () => {
    // Left open, a stalled connection would keep close() (and the process's exit) waiting for
    // the server's header timeout, a minute by default.
    const { port } = await start();
    const stalled = await stalledClient(port);
    const ended = new Promise((resolve) => stalled.on('close', resolve));
    expect((await send(port, 'GET', '/livez')).status).toBe(200);
    await server?.close();
    server = undefined;
    await ended;
  });

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
