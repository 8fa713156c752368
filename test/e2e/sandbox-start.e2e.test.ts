import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from './daemon-process.js';

function runCli(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath], {
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
});
