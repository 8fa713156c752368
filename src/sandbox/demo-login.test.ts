import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mongoshCommand, nodeSnippet, tryLogin } from './demo-login.js';
import { password, startWireHarness, type WireHarness } from '../../test/kits/wire-test-kit.js';

describe('the demo login lines', () => {
  let h: WireHarness;
  beforeEach(async () => {
    h = await startWireHarness();
    await h.createUser();
  });
  afterEach(async () => h.close());

  const credential = () => ({ connectionString: h.url, username: 'jit-alice-1', password });

  it('prints a mongosh command with the connection string, username and password quoted for a shell', () => {
    expect(mongoshCommand({ ...credential(), password: "it's" })).toBe(
      `mongosh '${h.url}' --username 'jit-alice-1' --password 'it'\\''s'`,
    );
  });

  it('prints a Node one-liner that logs in with the official driver and reads a document', async () => {
    const snippet = nodeSnippet(credential(), 'sales', 'orders');
    const program = /^node --input-type=module -e '(.*)'$/.exec(snippet)?.[1];
    expect(program).toBeDefined();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', program ?? ''],
      {
        cwd: process.cwd(),
      },
    );
    expect(stdout).toContain("name: 'orders 1'");
  });

  it('reports a login with the roles the server shows, and a refusal with its code', async () => {
    expect(await tryLogin(credential(), 'sales', 'orders')).toBe(
      'logged in with the official driver as jit-alice-1 (roles: read@sales); sales.orders holds 3 documents',
    );
    expect(await tryLogin({ ...credential(), password: 'wrong' }, 'sales', 'orders')).toBe(
      'login refused: Authentication failed. (AuthenticationFailed, code 18)',
    );
  });
});
