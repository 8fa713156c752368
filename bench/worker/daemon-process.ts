import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `dist/bench/worker/` → `dist/src/cli.js`: the daemon exactly as `npm start` runs it. */
const cliPath = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * The V8 flags the container image runs the daemon with (`NODE_OPTIONS` in the Dockerfile; a
 * packaging test keeps the two equal): the benchmarks measure the daemon as it is deployed.
 */
export const productionNodeOptions = '--max-old-space-size=160 --max-semi-space-size=8 --expose-gc';

/**
 * glibc's malloc arena cap the image sets (`MALLOC_ARENA_MAX` in the Dockerfile; the same packaging
 * test keeps it equal): without it every thread that mallocs (V8's platform workers, libuv's pool)
 * gets an arena of its own, about 2 MB of resident memory in the idle daemon (docs/benchmarks.md).
 */
export const productionMallocArenaMax = '2';

/** Variables a developer's shell may carry that must not leak into the daemon under test. */
const scrubbed =
  /^(CONTROL_PLANE_|CONNECTOR_ID|POLICY_|SANDBOX_|ATLAS_|ADMIN_|LOG_LEVEL|HTTPS?_PROXY|NO_PROXY|MAX_|DRAIN_|NODE_OPTIONS|MALLOC_)/i;

export interface DaemonProcess {
  readonly pid: number;
  /** The admin server (`/metrics`, `/status`) on 127.0.0.1. */
  readonly adminPort: number;
  /** The last few KB of output, for error messages. */
  tail(): string;
  /** SIGTERM (a staged drain), then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns the built daemon with a clean environment and waits for its `connector started` line.
 * Only that line is parsed: the daemon logs a line per job, and parsing them in the process that
 * also hosts the control plane would take CPU from the run being measured.
 */
export async function spawnDaemon(
  env: Record<string, string>,
  startTimeoutMs = 20_000,
): Promise<DaemonProcess> {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npm run build\` first`);
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !scrubbed.test(key)));
  const child = spawn(process.execPath, [cliPath], {
    cwd: repoRoot,
    env: {
      ...baseEnv,
      NODE_OPTIONS: productionNodeOptions,
      MALLOC_ARENA_MAX: productionMallocArenaMax,
      ADMIN_PORT: '0',
      ADMIN_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let started = false;
  const onStarted = new Promise<void>((resolve, reject) => {
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString('utf8')).slice(-8_000);
      if (!started && tail.includes('"msg":"connector started"')) {
        started = true;
        resolve();
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code) => reject(new Error(`daemon exited (${code}) before starting:\n${tail}`)));
    setTimeout(
      () => reject(new Error(`daemon did not start in ${startTimeoutMs} ms:\n${tail}`)),
      startTimeoutMs,
    ).unref();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await onStarted;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const adminPort = Number(/"adminPort":(\d+)/.exec(tail)?.[1]);
  if (child.pid === undefined || !Number.isInteger(adminPort)) {
    child.kill('SIGKILL');
    throw new Error(`daemon has no pid or admin port:\n${tail}`);
  }
  return {
    pid: child.pid,
    adminPort,
    tail: () => tail,
    stop: (graceMs = 10_000) => stop(child, exited, graceMs),
  };
}

async function stop(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** One sample's value from the daemon's own `/metrics` (prom-client's default metrics). */
async function scrapeMetrics(adminPort: number): Promise<(series: string) => number | undefined> {
  const response = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  const text = await response.text();
  return (series) => {
    const escaped = series.replace(/[{}]/g, '\\$&');
    const value = new RegExp(`^${escaped} (\\S+)`, 'm').exec(text)?.[1];
    return value === undefined ? undefined : Number(value);
  };
}

/** Heap figures in MB: what of the daemon's RSS is JavaScript heap and what is external. */
export async function scrapeMemoryMb(adminPort: number): Promise<Record<string, number>> {
  const metric = await scrapeMetrics(adminPort);
  const mb = (name: string): number => (metric(name) ?? Number.NaN) / 2 ** 20;
  return {
    heapUsedMb: mb('nodejs_heap_size_used_bytes'),
    heapTotalMb: mb('nodejs_heap_size_total_bytes'),
    externalMb: mb('nodejs_external_memory_bytes'),
  };
}

/**
 * Major (mark-compact) collections the daemon has run, from prom-client's GC histogram, which
 * has no `kind="major"` series until the first one: absent means none yet.
 */
export async function scrapeMajorGcs(adminPort: number): Promise<number> {
  return (await scrapeMetrics(adminPort))('nodejs_gc_duration_seconds_count{kind="major"}') ?? 0;
}
