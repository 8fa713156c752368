import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { testTempDir } from '../kits/temp-dir-test-kit.js';
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

/** The sandbox on free ports, without its demo. */
const quietSandbox = {
  SANDBOX_CONTROL_PLANE_PORT: '0',
  SANDBOX_ATLAS_PORT: '0',
  SANDBOX_DEMO: 'off',
  ADMIN_PORT: '0',
};

/** A module for `--import` that runs `action` (JavaScript) as the process's `nth` server starts listening. */
function onNthListen(nth: number, action: string): string {
  const file = join(testTempDir('on-listen-'), 'on-listen.mjs');
  writeFileSync(
    file,
    [
      "import net from 'node:net';",
      'const listen = net.Server.prototype.listen;',
      'let listens = 0;',
      'net.Server.prototype.listen = function (...args) {',
      '  listens += 1;',
      `  if (listens === ${nth}) { ${action} }`,
      '  return listen.apply(this, args);',
      '};',
    ].join('\n'),
  );
  return file;
}

/**
 * A module for `--import` whose loader hook sends this process SIGTERM as the daemon's composition
 * root (dist/src/main.js) is loaded: while the modules load, before any of their code has run.
 */
function signalWhileMainLoads(): string {
  const dir = testTempDir('on-load-');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    [
      'export async function load(url, context, next) {',
      "  if (url.endsWith('/dist/src/main.js')) process.kill(process.pid, 'SIGTERM');",
      '  return next(url, context);',
      '}',
    ].join('\n'),
  );
  const preload = join(dir, 'preload.mjs');
  writeFileSync(
    preload,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  return preload;
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

  it('acts on a SIGTERM sent while it starts: drains once started and exits 0', async () => {
    // The signal is sent as the first server starts listening, long before the daemon runs. As
    // PID 1 (the image) a signal without a listener is dropped; here it would kill the process.
    const preload = onNthListen(1, "process.kill(process.pid, 'SIGTERM');");
    const { code, output } = await runCli({ NODE_OPTIONS: `--import=${preload}`, ...quietSandbox }, [
      'sandbox',
    ]);
    expect(output).toContain('signal received: draining');
    expect(output).toContain('"msg":"drained"');
    expect(code).toBe(0);
  });

  it('acts on a SIGTERM sent while its modules load: drains once started and exits 0', async () => {
    // Loading the daemon's modules takes about a second; as PID 1 a signal then was dropped, and
    // here it killed the process before anything listened for it.
    const preload = signalWhileMainLoads();
    const { code, output } = await runCli({ NODE_OPTIONS: `--import=${preload}`, ...quietSandbox }, [
      'sandbox',
    ]);
    expect(output).toContain('signal received: draining');
    expect(output).toContain('"msg":"drained"');
    expect(code).toBe(0);
  });

  it('ends on a stray rejection with one scrubbed JSON line, not a raw stack', async () => {
    // Once the daemon's admin server listens, a promise nobody awaits rejects, naming the
    // control-plane token: a value the logger's scrubber holds from the start.
    const preload = onNthListen(
      3,
      'setTimeout(() => Promise.reject(new Error(`boom ${process.env.CONTROL_PLANE_TOKEN}`)), 200);',
    );
    const token = 'stray-rejection-token-0123456789';
    const { code, output } = await runCli(
      { NODE_OPTIONS: `--import=${preload}`, CONTROL_PLANE_TOKEN: token, ...quietSandbox },
      ['sandbox'],
    );
    expect(code).toBe(1);
    expect(output).toContain('"msg":"unhandled promise rejection; exiting"');
    expect(output).not.toContain(token);
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('logs a sandbox that fails to start without the secrets the environment holds', async () => {
    // The sandbox starts before the daemon: its first server refuses, with an error echoing the
    // AWS secret and the proxy's password (test-only stand-ins, none a real credential).
    const awsSecret = 'test-aws-secret-value-0001';
    const proxyPassword = 'test-proxy-password-41';
    const preload = onNthListen(
      1,
      'throw new Error(`cannot listen: ${process.env.AWS_SECRET_ACCESS_KEY} via ${process.env.HTTPS_PROXY}`);',
    );
    const { code, output } = await runCli(
      {
        NODE_OPTIONS: `--import=${preload}`,
        AWS_SECRET_ACCESS_KEY: awsSecret,
        HTTPS_PROXY: `http://ops:${proxyPassword}@proxy.internal:3128`,
        ...quietSandbox,
      },
      ['sandbox'],
    );
    expect(code, output).toBe(1);
    expect(output).toContain('"msg":"sandbox failed to start"');
    expect(output).toContain('cannot listen: [REDACTED] via http://[REDACTED]@proxy.internal:3128');
    expect(output).not.toContain(awsSecret);
    expect(output).not.toContain(proxyPassword);
  });

  it('exits 78 naming CA_BUNDLE_FILE when the bundle cannot be read', async () => {
    const { code, output } = await runCli({ CA_BUNDLE_FILE: '/nonexistent/ca.pem', ...quietSandbox }, [
      'sandbox',
    ]);
    expect(code).toBe(78);
    expect(output).toContain('CA_BUNDLE_FILE: cannot read /nonexistent/ca.pem (ENOENT)');
  });

  it.each([
    [
      'CONTROL_PLANE_TOKEN_FILE',
      { CONTROL_PLANE_TOKEN_FILE: '/nonexistent/token' },
      'cannot read /nonexistent/token (ENOENT)',
    ],
    [
      'ADMIN_TOKEN_FILE',
      { CONTROL_PLANE_TOKEN: 'enrollment-token', ADMIN_TOKEN_FILE: '/nonexistent/admin' },
      'cannot read /nonexistent/admin (ENOENT)',
    ],
  ])(
    'exits 78 naming %s when its file cannot be read, though LOG_LEVEL is silent',
    async (variable, env, problem) => {
      // As every other configuration problem: printed whatever the log level, or the pod restarts
      // with exit 78 and not a word why.
      const { code, output } = await runCli({
        CONTROL_PLANE_URL: 'https://cp.invalid',
        CONNECTOR_ID: 'c1',
        ADMIN_PORT: '0',
        LOG_LEVEL: 'silent',
        ...env,
      });
      expect(code, output).toBe(78);
      expect(output).toContain(`${variable}: ${problem}`);
      expect(output).not.toMatch(/\n\s+at /);
    },
  );

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
    const dir = testTempDir('fixture-');
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

  it.each(['ADMIN_PORT', 'ADMIN_METRICS_PORT', 'SANDBOX_CONTROL_PLANE_PORT', 'SANDBOX_ATLAS_PORT'])(
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

  it('exits 78 naming ADMIN_HOST, without a stack trace, when this host does not have that address', async () => {
    const { code, output } = await runCli({
      SANDBOX_CONTROL_PLANE_PORT: '0',
      SANDBOX_ATLAS_PORT: '0',
      ADMIN_PORT: '0',
      SANDBOX_DEMO: 'off',
      ADMIN_HOST: '192.0.2.10',
    });
    expect(code, output).toBe(78);
    expect(output).toContain('cannot listen on ADMIN_HOST (192.0.2.10)');
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('prints the usage for run --help without starting anything, and refuses an extra argument', async () => {
    // With CONTROL_PLANE_URL set, a started daemon would register and claim jobs.
    const help = await runCli({ CONTROL_PLANE_URL: 'https://cp.invalid', CONTROL_PLANE_TOKEN: 'x' }, [
      'run',
      '--help',
    ]);
    expect([help.code, help.output]).toEqual([0, expect.stringContaining('Usage:')]);
    expect(help.output).not.toContain('connector started');
    const extra = await runCli({}, ['sandbox', 'now']);
    expect(extra.code).toBe(2);
    expect(extra.output).toContain('"sandbox" takes no arguments (got "now")');
  });

  it('refuses the run command without CONTROL_PLANE_URL, pointing at the sandbox command', async () => {
    const refused = await runCli({}, ['run']);
    expect(refused.code).toBe(78);
    expect(refused.output).toContain('CONTROL_PLANE_URL is not set');
    expect(refused.output).toContain('use the "sandbox" command');
  });
});

/** Runs `npm start`'s program (the CLI, no command, no config) until `done` matches its output. */
function runSandboxUntil(
  done: RegExp,
  boundMs: number,
  env: Record<string, string> = {},
  onMatch?: (output: string) => Promise<void>,
): Promise<{ output: string; matched: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        SANDBOX_CONTROL_PLANE_PORT: '0',
        SANDBOX_ATLAS_PORT: '0',
        ADMIN_PORT: '0',
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let matched = false;
    const timer = setTimeout(() => child.kill('SIGINT'), boundMs);
    const collect = (d: Buffer): void => {
      output += d.toString();
      if (!matched && done.test(output)) {
        matched = true;
        void (onMatch ?? (() => Promise.resolve()))(output).finally(() => child.kill('SIGINT'));
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve({ output, matched });
    });
  });
}

describe('the sandbox banner', () => {
  it('points /status at the listener that serves it when ADMIN_METRICS_PORT splits it off', async () => {
    let status = 0;
    const { output, matched } = await runSandboxUntil(
      /connector admin .*\n/,
      30_000,
      { ADMIN_METRICS_PORT: '0', SANDBOX_DEMO: 'off' },
      async (text) => {
        const url = /connector admin\s+(http:\/\/127\.0\.0\.1:\d+\/status)/.exec(text)?.[1] ?? '';
        status = (await fetch(url)).status;
      },
    );
    expect(matched, output).toBe(true);
    expect(status, output).toBe(200);
  });
});

describe('npm start plays the demo-portal and demo-org scenarios', () => {
  it('takes back exactly the Atlas UI role it granted; discovers the sandbox organization, grants into a sub-integration, logs in, and is refused after revoke', async () => {
    const { output, matched } = await runSandboxUntil(/org 3\/3[^]*after the revoke: .*\n/, 90_000);
    expect(matched, output).toBe(true);
    // The demo-project (atlas-project) scenario played before it: alice's per-requester user is
    // per cluster, and its printed key is the one the connector accepts.
    expect(output).toContain('demo 2/3  grant alice readWrite on sales (1 h) → succeeded');
    expect(output).toMatch(
      /first use: logged in with the official driver as jit-alice-example-com-8e8d-c-2bd74152 \(roles: readWrite@sales\)/,
    );
    // The demo-portal (atlas-org-portal) scenario: bob gets one project role and loses exactly it;
    // the role he held before stays.
    expect(output).toContain(
      'portal 1/3  bob in Atlas before: org roles ORG_MEMBER; payments roles GROUP_READ_ONLY\n',
    );
    expect(output).toContain(
      'portal 2/3  grant bob GROUP_DATA_ACCESS_READ_WRITE on payments (1 h) → succeeded',
    );
    expect(output).toContain(
      'bob in Atlas now: org roles ORG_MEMBER; payments roles GROUP_READ_ONLY, GROUP_DATA_ACCESS_READ_WRITE\n',
    );
    expect(output).toContain('portal 3/3  revoke → succeeded');
    expect(output).toMatch(
      /"outcome": "revoked",[^]*"removed": \[\s*\{[^}]*"role": "GROUP_DATA_ACCESS_READ_WRITE"/,
    );
    expect(output).toContain(
      'bob in Atlas after: org roles ORG_MEMBER; payments roles GROUP_READ_ONLY (his own GROUP_READ_ONLY stays)',
    );
    expect(output).toContain('demo-org (atlas-org-deep-discovery');
    expect(output).toContain('org 1/3  discover demo-org (the sandbox organization) → succeeded');
    // Every cluster of the sandbox organization is listed, one line each, with its route and state.
    for (const line of [
      /660200000000000000000001:Cluster0 +REPLICASET standard +discovered +dbs: inventory,sales/,
      /660200000000000000000001:Private0 +REPLICASET privateEndpoint +degraded/,
      /660200000000000000000002:Analytics +SHARDED +standard +discovered +dbs: events,reports/,
      /660200000000000000000002:Flex0 +FLEX +standard +unavailable/,
    ]) {
      expect(output).toMatch(line);
    }
    expect(output).toContain(
      'org 2/3  grant dora read on sales in sub-integration 660200000000000000000001:Cluster0 → succeeded',
    );
    expect(output).toMatch(
      /logged in with the official driver as jit-dora-example-com-3eee-c-2bd74152 \(roles: read@sales\); sales\.orders holds [1-9]\d* documents/,
    );
    expect(output).toContain('org 3/3  revoke → succeeded');
    expect(output).toContain(
      'after the revoke: login refused: Authentication failed. (AuthenticationFailed, code 18)',
    );
    expect(output).not.toContain('MaxListenersExceededWarning');
  }, 120_000);
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

describe('npm start under a process manager', () => {
  /**
   * A process manager (or `kill $!`) signals the process it started: `npm start`'s own. npm runs the
   * script through `sh -c`, which does not pass SIGTERM on; without `exec`, the connector was left
   * running with no parent, holding its ports. (`--ignore-scripts` skips the prestart build: the
   * suite runs on the built tree.)
   */
  it('drains and exits when SIGTERM reaches npm start’s own process', async () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const child = spawn(npm, ['start', '--ignore-scripts', '--silent'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...quietSandbox },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (d: Buffer): void => {
      output += d.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    while (!/connector admin/.test(output) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(output).toMatch(/connector admin/);
    child.kill('SIGTERM');
    const quitBy = Date.now() + 20_000;
    while (!/"msg":"exiting"|exiting/.test(output) && Date.now() < quitBy) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    expect(output, output).toMatch(/signal received/);
    expect(output, output).toMatch(/exiting/);
    if (child.exitCode === null) child.kill('SIGKILL');
  });
});
