import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from './daemon-process.js';

function runCli(
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('starting the connector', () => {
  it('exits 78 with every configuration problem listed and no stack trace', async () => {
    const { code, output } = await runCli({
      ADMIN_PORT: 'eighty',
      CONTROL_PLANE_URL: 'http://cp.example.com',
    });
    expect(code).toBe(78);
    expect(output).toContain('ADMIN_PORT');
    expect(output).toContain('CONTROL_PLANE_URL: must use https://');
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('exits 78 naming ATLAS_BASE_URL when it is plain http:// to a non-loopback host', async () => {
    // Configuration parsing refuses it before any socket is opened: nothing is sent to 10.0.0.5.
    const { code, output } = await runCli({
      ATLAS_BASE_URL: 'http://10.0.0.5',
      SANDBOX_CONTROL_PLANE_PORT: '0',
      SANDBOX_ATLAS_PORT: '0',
      ADMIN_PORT: '0',
    });
    expect(code).toBe(78);
    expect(output).toContain('ATLAS_BASE_URL: must use https://');
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('exits 78 naming SANDBOX_ATLAS_FIXTURE when the sandbox fixture is invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fixture-'));
    const file = join(dir, 'fixture.json');
    writeFileSync(file, JSON.stringify({ organizations: 'not a list' }));
    const { code, output } = await runCli({
      SANDBOX_ATLAS_FIXTURE: file,
      SANDBOX_CONTROL_PLANE_PORT: '0',
      SANDBOX_ATLAS_PORT: '0',
      ADMIN_PORT: '0',
    });
    expect(code).toBe(78);
    expect(output).toContain('SANDBOX_ATLAS_FIXTURE');
    expect(output).not.toMatch(/\n\s+at /);
  });

  it.each(['ADMIN_PORT', 'SANDBOX_CONTROL_PLANE_PORT', 'SANDBOX_ATLAS_PORT'])(
    'exits 78 naming %s, without a stack trace, when its port is taken (a second npm start)',
    async (variable) => {
      const taken = await occupyPort();
      const { code, output } = await runCli({
        SANDBOX_CONTROL_PLANE_PORT: '0',
        SANDBOX_ATLAS_PORT: '0',
        ADMIN_PORT: '0',
        SANDBOX_DEMO: 'off',
        [variable]: String(taken),
      });
      expect(code, output).toBe(78);
      expect(output).toContain(`port ${taken} is already in use`);
      expect(output).toContain(`set ${variable} to a free port`);
      expect(output).not.toMatch(/\n\s+at /);
    },
  );

  it('refuses the run command without CONTROL_PLANE_URL, pointing at the sandbox command', async () => {
    const refused = await runCli({}, ['run']);
    expect(refused.code).toBe(78);
    expect(refused.output).toContain('CONTROL_PLANE_URL is not set');
    expect(refused.output).toContain('use the "sandbox" command');
  });
});

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Listens on a free loopback port and keeps it, so the daemon cannot bind it. */
async function occupyPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  return (server.address() as AddressInfo).port;
}
