import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../kits/temp-dir-test-kit.js';

/**
 * The Node built-ins the daemon loads at start-up. On Node 24 an ES-module import of `node:http`
 * builds the namespace from every export, including the lazy `WebSocket` getter, which loads undici,
 * http2 and web streams (about 2 MB of heap and 1 MB of external memory in the idle daemon;
 * docs/benchmarks.md). Production code takes `http` from src/runtime/node-http.ts, and
 * eslint.config.js rejects a value import of `node:http`. This test checks the built daemon itself.
 */

const run = promisify(execFile);
/**
 * The module the `run` and `sandbox` commands load once the signal latch listens (src/cli.ts loads
 * nothing else of the daemon before): run as a script it loads the daemon's whole static import
 * graph and starts nothing.
 */
const daemonPath = path.resolve(import.meta.dirname, '../../dist/src/cli/run-daemon.js');
const unused = ['NativeModule internal/deps/undici/undici', 'NativeModule http2'];

/** Writes `process.moduleLoadList` to stdout as the process exits. */
const reportModules = `data:text/javascript,${encodeURIComponent(
  "process.on('exit', () => process.stdout.write('\\nMODULES ' + JSON.stringify(process.moduleLoadList)));",
)}`;

async function modulesLoadedBy(args: readonly string[]): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--import', reportModules, ...args], {
    env: { PATH: process.env.PATH ?? '' },
    timeout: 30_000,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('MODULES '));
  expect(line, `no module list in:\n${stdout}`).toBeDefined();
  return JSON.parse(line!.slice('MODULES '.length)) as string[];
}

describe("the daemon's start-up built-ins", () => {
  it('do not include undici or http2 (`cli/run-daemon.js` loads the whole static import graph)', async () => {
    const loaded = await modulesLoadedBy([daemonPath]);
    expect(loaded, 'the probe sees the daemon load node:http').toContain('NativeModule http');
    expect(loaded.filter((m) => unused.includes(m))).toEqual([]);
  });

  it('are checked by a probe that sees the leak wherever the runtime has it', async () => {
    const httpModule = createRequire(import.meta.url)('node:http') as object;
    const runtimeHasLazyGetter =
      typeof Object.getOwnPropertyDescriptor(httpModule, 'WebSocket')?.get === 'function';
    const loaded = await modulesLoadedBy(['--input-type=module', '-e', "import 'node:http';"]);
    // Node 20 has no lazy getter, so a plain import loads no undici there; Node 24 does.
    expect(loaded.includes(unused[0]!), `lazy WebSocket getter: ${runtimeHasLazyGetter}`).toBe(
      runtimeHasLazyGetter,
    );
  });
});

/**
 * The files of the daemon's static import graph, in load order: a module hook (`module.register`,
 * on Node 20 and 24 alike) appends each URL the ES module loader loads to a file.
 */
async function filesLoadedBy(args: readonly string[]): Promise<string[]> {
  const list = path.join(testTempDir('startup-files-'), 'loaded.txt');
  const hooks = `data:text/javascript,${encodeURIComponent(
    `import { appendFileSync } from 'node:fs';
     export async function load(url, context, next) { appendFileSync(${JSON.stringify(list)}, url + '\\n'); return next(url, context); }`,
  )}`;
  const register = `data:text/javascript,${encodeURIComponent(
    `import { register } from 'node:module'; register(${JSON.stringify(hooks)});`,
  )}`;
  await run(process.execPath, ['--import', register, ...args], {
    env: { PATH: process.env.PATH ?? '' },
    timeout: 30_000,
  });
  return readFileSync(list, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
}

describe("the daemon's start-up files", () => {
  it('hold no integration kind implementation and no proxy agent: each loads on first use', async () => {
    const loaded = await filesLoadedBy([daemonPath]);
    // The probe sees the registry's kind definitions, from the same folders as the implementations.
    for (const kind of [
      'atlas-project',
      'atlas-multi-project',
      'atlas-org-portal',
      'atlas-org-deep-discovery',
    ]) {
      expect(
        loaded.some((url) => url.endsWith(`/adapters/${kind}/${kind}-kind.js`)),
        kind,
      ).toBe(true);
    }
    const lazy = loaded.filter((url) =>
      /\/adapters\/[^/]+\/[^/]+-adapter\.js$|\/database-access-operations\.js$|\/(agent-base|https?-proxy-agent)\//.test(
        url,
      ),
    );
    expect(lazy).toEqual([]);
  });
});
