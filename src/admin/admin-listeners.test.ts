import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { testTempDir } from '../../test/kits/temp-dir-test-kit.js';
import { createSecretScrubber } from '../runtime/secret-scrubber.js';
import { startAdminListeners, type AdminListeners } from './admin-listeners.js';

const token = 'admin-token-7f3c9a1b2d4e';
const health = {
  isLive: () => true,
  isReady: () => true,
  status: () => ({ sessionId: 'session-1', inFlightJobIds: ['job-1'] }),
};

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function tokenFile(content = `${token}\n`): string {
  const file = join(testTempDir('admin-token-'), 'token');
  writeFileSync(file, content, { mode: 0o400 });
  return file;
}

let listeners: AdminListeners | undefined;
afterEach(async () => {
  await listeners?.close();
  listeners = undefined;
});

async function start(admin: { metricsPort?: number; tokenFile?: string }): Promise<AdminListeners> {
  listeners = await startAdminListeners(
    {
      host: '127.0.0.1',
      port: 0,
      metricsHost: '127.0.0.1',
      metricsPort: undefined,
      tokenFile: undefined,
      ...admin,
    },
    { health, registry: new Registry(), logger: captureLogs().logger, scrubber: createSecretScrubber() },
  );
  return listeners;
}

describe('admin listeners', () => {
  it('refuses /status and /metrics without the bearer token when ADMIN_TOKEN_FILE is set', async () => {
    const { port } = await start({ tokenFile: tokenFile() });

    const status = await get(port, '/status');
    expect(status.status).toBe(401);
    expect(status.body).not.toContain('session-1');
    expect((await get(port, '/metrics')).status).toBe(401);
    expect((await get(port, '/status', { authorization: 'Bearer wrong-token-0000000' })).status).toBe(401);
    const allowed = await get(port, '/status', { authorization: `Bearer ${token}` });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toContain('session-1');
    // The scheme is case-insensitive; the token is not.
    expect((await get(port, '/metrics', { authorization: `bearer ${token}` })).status).toBe(200);
    expect((await get(port, '/metrics', { authorization: `Bearer ${token.toUpperCase()}` })).status).toBe(
      401,
    );
  });

  // No client can send a line break or a control character in a header: such a token would
  // answer every scrape 401. Refused at start by name, like a short one, and never printed.
  it.each([
    ['two tokens on two lines (a rotated file)', `${token}\nadmin-token-next-5e6f7a8b\n`],
    ['a carriage return inside', `${token}\radmin-token-next-5e6f7a8b`],
    ['a NUL character inside', `${token}\0admin-token-next-5e6f7a8b`],
  ])('refuses to start with a token file holding %s, naming ADMIN_TOKEN_FILE', async (_name, content) => {
    const refused = start({ tokenFile: tokenFile(content) });
    await expect(refused).rejects.toMatchObject({
      code: 'config_invalid',
      message:
        'ADMIN_TOKEN_FILE: the token contains a line break or a control character (the file must hold one token on one line)',
    });
  });

  it('takes a token with a space inside, which a client can send', async () => {
    const spaced = 'admin token 7f3c9a1b2d4e';
    const { port } = await start({ tokenFile: tokenFile(`${spaced}\n`) });
    expect((await get(port, '/status', { authorization: `Bearer ${spaced}` })).status).toBe(200);
  });

  it.each(['/livez', '/readyz'])('keeps %s open for probes when a token is set', async (path) => {
    const { port } = await start({ tokenFile: tokenFile() });
    expect((await get(port, path)).status).toBe(200);
  });

  it('serves /status and /metrics on ADMIN_METRICS_PORT only, the probes on ADMIN_PORT', async () => {
    const { port, metricsPort } = await start({ metricsPort: 0 });
    expect(metricsPort).not.toBe(port);

    expect((await get(port, '/livez')).status).toBe(200);
    expect((await get(port, '/status')).status).toBe(404);
    expect((await get(port, '/metrics')).status).toBe(404);
    expect((await get(metricsPort, '/status')).status).toBe(200);
    expect((await get(metricsPort, '/metrics')).status).toBe(200);
    expect((await get(metricsPort, '/livez')).status).toBe(404);
  });

  it('refuses to start with a short or unreadable token file, naming ADMIN_TOKEN_FILE', async () => {
    await expect(start({ tokenFile: tokenFile('short') })).rejects.toThrow(
      /^ADMIN_TOKEN_FILE: the token must be/,
    );
    await expect(start({ tokenFile: '/nonexistent/token' })).rejects.toThrow(
      /^ADMIN_TOKEN_FILE: cannot read/,
    );
  });
});
