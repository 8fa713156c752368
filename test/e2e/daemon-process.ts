import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const cliPath = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

export interface DaemonProcess {
  readonly child: ChildProcess;
  readonly adminPort: number;
  /** Every stdout and stderr line so far. */
  readonly output: () => string;
  readonly lines: () => Record<string, unknown>[];
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

/** Variables a developer's shell may carry that must not leak into a daemon under test. */
const scrubbed =
  /^(CONTROL_PLANE_|CONNECTOR_ID|POLICY_|SANDBOX_|ATLAS_|ADMIN_|LOG_|HTTPS?_PROXY|NO_PROXY|MAX_|DRAIN_)/;

/** Spawns the built daemon (`dist/src/cli.js`) with a clean environment and waits until it listens. */
export async function spawnDaemon(
  env: Record<string, string>,
  startTimeoutMs = 15_000,
): Promise<DaemonProcess> {
  if (!existsSync(cliPath))
    throw new Error(`${cliPath} is missing: run \`npm run build\` first (npm test does)`);
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !scrubbed.test(key)));
  const child = spawn(process.execPath, [cliPath], {
    cwd: repoRoot,
    env: { ...baseEnv, ADMIN_PORT: '0', ADMIN_HOST: '127.0.0.1', LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  const parsed: Record<string, unknown>[] = [];
  const waiters = new Set<{
    predicate: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }>();
  let partial = '';
  const onData = (data: Buffer): void => {
    const text = data.toString('utf8');
    chunks.push(text);
    partial += text;
    const complete = partial.split('\n');
    partial = complete.pop() ?? '';
    for (const raw of complete) {
      if (!raw.startsWith('{')) continue;
      try {
        const line = JSON.parse(raw) as Record<string, unknown>;
        parsed.push(line);
        for (const waiter of [...waiters]) {
          if (waiter.predicate(line)) {
            waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      } catch {
        // not a log line
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', (data: Buffer) => chunks.push(data.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForLog = (predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000) => {
    const existing = parsed.find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const waiter = { predicate, resolve };
      waiters.add(waiter);
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(`timed out waiting for a log line; output so far:\n${chunks.join('').slice(-4000)}`),
        );
      }, timeoutMs);
      void exited.then(() => {
        setTimeout(() => {
          if (!waiters.has(waiter)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          reject(new Error(`daemon exited; output:\n${chunks.join('').slice(-4000)}`));
        }, 50);
      });
      const original = waiter.resolve;
      waiter.resolve = (line) => {
        clearTimeout(timer);
        original(line);
      };
    });
  };
  const started = await waitForLog((line) => line.msg === 'connector started', startTimeoutMs);
  return {
    child,
    adminPort: Number(started.adminPort),
    output: () => chunks.join(''),
    lines: () => [...parsed],
    waitForLog,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
