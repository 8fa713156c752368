import { performance } from 'node:perf_hooks';
import type { Intervals } from '../../src/control-plane/protocol.js';
import {
  startReferenceControlPlane,
  type ReferenceControlPlane,
} from '../../src/sandbox/control-plane/reference-control-plane.js';
import { sleep, until } from '../stats.js';
import { startBareClient, type BareClientProcess } from './bare-client-process.js';
import { ControlPlaneProbe } from './control-plane-probe.js';
import { scrapeMajorGcs, scrapeMemoryMb, spawnDaemon, type DaemonProcess } from './daemon-process.js';
import { readCpuMs, readRssMb, sampleRss } from './proc-stats.js';

/** Production-like intervals: a claim is held up to 25 s, so the daemon never polls in a loop. */
export const intervals: Intervals = { heartbeatMs: 5_000, pollWaitMs: 25_000, leaseTtlMs: 30_000 };
const enrollmentToken = 'bench-enrollment-token-7c1e5a90d2';
/** How long a freshly started process is left alone before its first idle RSS is read. */
export const settleMs = 1_000;
/**
 * How long a level with `steadyIdle` waits, at most, for V8's memory reducer: after a few seconds
 * with little allocation, V8 runs major GCs that give back the young generation and old-space
 * pages start-up grew (`--trace-gc` shows it ~10-16 s after start).
 */
const steadyIdleTimeoutMs = 45_000;
const steadyIdlePollMs = 2_000;
/** Results accepted on the daemon's control plane before it starts; replays cycle through them. */
const seededResults = 50;
const replaysPerRound = 25;

export interface Level {
  readonly concurrency: number;
  /** Timed jobs for each side, split evenly over `rounds`. */
  readonly jobs: number;
  /** Untimed jobs for each side before the first round, so no JIT is cold when timing starts. */
  readonly warmup: number;
  readonly rounds: number;
  /** Also read the idle RSS once V8 has shrunk the heap start-up grew (`steadyIdleTimeoutMs`). */
  readonly steadyIdle?: boolean;
}

/** Server-side view of a batch of jobs (see ControlPlaneProbe), plus the client's CPU time. */
export interface RunTimings {
  /** Per job: claim answer leaving the server → result accepted by the server. */
  readonly latencyMs: readonly number[];
  /** Jobs per second of the windows from each round's first lease to its last acceptance. */
  readonly jobsPerSecond: number;
  /** CPU time of the client process (all threads) per job, over its rounds. */
  readonly cpuMsPerJob: number;
}

export interface LevelResult {
  readonly level: Level;
  readonly daemon: RunTimings;
  /** The bare client's jobs on the twin control plane. */
  readonly bare: RunTimings;
  /** Client-side round trips of idempotent result replays on the daemon's control plane, one at a time. */
  readonly replayMs: readonly number[];
  readonly memory: {
    /** `settleMs` after the first claim is held: start-up's garbage and grown heap included. */
    readonly idleMb: number;
    readonly loadMaxMb: number;
    readonly idleBreakdownMb: Readonly<Record<string, number>>;
    /** With `steadyIdle`: the same daemon, still idle, after V8's idle-time major GCs. */
    readonly steady?: SteadyIdle;
  };
}

export interface SteadyIdle {
  readonly rssMb: number;
  readonly breakdownMb: Readonly<Record<string, number>>;
  /** Seconds from the first idle reading until V8's next major GC was seen. */
  readonly waitedS: number;
  /** False when no major GC came within `steadyIdleTimeoutMs` (the RSS is then read anyway). */
  readonly gcSeen: boolean;
}

/**
 * Waits, with a wall-time bound, for the idle daemon's next major GC (V8's memory reducer), then
 * reads its RSS. Scrapes are `steadyIdlePollMs` apart so they barely add to the allocation rate
 * the reducer watches.
 */
async function steadyIdle(daemon: DaemonProcess): Promise<SteadyIdle> {
  const started = performance.now();
  const before = await scrapeMajorGcs(daemon.adminPort);
  let gcSeen = false;
  while (performance.now() - started < steadyIdleTimeoutMs) {
    await sleep(steadyIdlePollMs);
    if ((await scrapeMajorGcs(daemon.adminPort)) > before) {
      gcSeen = true;
      break;
    }
  }
  // The reducer runs up to three GCs in a row; let them finish before reading.
  await sleep(steadyIdlePollMs);
  return {
    rssMb: readRssMb(daemon.pid),
    breakdownMb: await scrapeMemoryMb(daemon.adminPort),
    waitedS: (performance.now() - started) / 1000,
    gcSeen,
  };
}

interface Plane {
  readonly cp: ReferenceControlPlane;
  readonly probe: ControlPlaneProbe;
}

async function startPlane(): Promise<Plane> {
  const cp = await startReferenceControlPlane({ enrollmentToken, intervals });
  return { cp, probe: new ControlPlaneProbe(Number(new URL(cp.url).port)) };
}

async function stopPlane(plane: Plane): Promise<void> {
  plane.probe.close();
  await plane.cp.close();
}

function enqueuePings(plane: Plane, prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    plane.cp.store.enqueueJob({ type: 'ping', payload: { echo: `${prefix}-${i}` } }),
  );
}

/** Samples of one side, pooled over the rounds. */
class Pool {
  readonly latencyMs: number[] = [];
  private jobs = 0;
  private seconds = 0;
  private cpuMs = 0;

  constructor(private readonly pid: number) {}

  /** Runs one round and adds its jobs' timings and the process's CPU time meanwhile. */
  async round(plane: Plane, run: () => Promise<string[]>): Promise<void> {
    const cpuBefore = readCpuMs(this.pid);
    const jobIds = await run();
    this.cpuMs += readCpuMs(this.pid) - cpuBefore;
    const times = plane.probe.times(jobIds);
    this.latencyMs.push(...times.map((t) => t.acceptedAt - t.leasedAt));
    const first = Math.min(...times.map((t) => t.leasedAt));
    const last = Math.max(...times.map((t) => t.acceptedAt));
    this.jobs += jobIds.length;
    this.seconds += (last - first) / 1000;
  }

  timings(): RunTimings {
    return {
      latencyMs: this.latencyMs,
      jobsPerSecond: this.jobs / this.seconds,
      cpuMsPerJob: this.cpuMs / this.jobs,
    };
  }
}

interface Sides {
  readonly daemonPlane: Plane;
  readonly twin: Plane;
  readonly daemon: DaemonProcess;
  readonly bare: BareClientProcess;
}

async function daemonRound(sides: Sides, jobs: number): Promise<string[]> {
  const ids = enqueuePings(sides.daemonPlane, 'daemon', jobs);
  try {
    await sides.daemonPlane.probe.allAccepted(ids, 30_000 + jobs * 100);
  } catch (error) {
    throw new Error(`${String(error)}\ndaemon output:\n${sides.daemon.tail()}`);
  }
  return ids;
}

async function bareRound(sides: Sides, jobs: number): Promise<string[]> {
  const ids = enqueuePings(sides.twin, 'bare', jobs);
  await sides.bare.send({ cmd: 'work', jobs });
  await sides.twin.probe.allAccepted(ids, 5_000);
  return ids;
}

/**
 * Rounds alternate the daemon, the bare client and the replays, so all three see the same
 * background noise on the shared cores; samples are pooled over the rounds.
 */
async function measure(
  sides: Sides,
  level: Level,
): Promise<Pick<LevelResult, 'daemon' | 'bare' | 'replayMs'>> {
  await daemonRound(sides, level.warmup);
  await bareRound(sides, level.warmup);
  await sides.bare.send({ cmd: 'replay', count: replaysPerRound });
  const daemon = new Pool(sides.daemon.pid);
  const bare = new Pool(sides.bare.pid);
  const replayMs: number[] = [];
  const perRound = Math.ceil(level.jobs / level.rounds);
  for (let round = 0; round < level.rounds; round += 1) {
    await daemon.round(sides.daemonPlane, () => daemonRound(sides, perRound));
    await bare.round(sides.twin, () => bareRound(sides, perRound));
    replayMs.push(...(await sides.bare.send({ cmd: 'replay', count: replaysPerRound })).rttMs);
  }
  return { daemon: daemon.timings(), bare: bare.timings(), replayMs };
}

async function withDaemon(
  daemonPlane: Plane,
  twin: Plane,
  bare: BareClientProcess,
  level: Level,
): Promise<LevelResult> {
  const daemon = await spawnDaemon({
    CONTROL_PLANE_URL: daemonPlane.cp.url,
    CONTROL_PLANE_TOKEN: enrollmentToken,
    CONNECTOR_ID: `bench-c${level.concurrency}`,
    MAX_CONCURRENT_JOBS: String(level.concurrency),
    DRAIN_TIMEOUT_SECONDS: '5',
  });
  try {
    await until(() => daemonPlane.cp.store.waitingClaims() > 0, 15_000, 'the daemon to hold a claim');
    await sleep(settleMs);
    const idleMb = readRssMb(daemon.pid);
    const idleBreakdownMb = await scrapeMemoryMb(daemon.adminPort);
    const steady = level.steadyIdle ? await steadyIdle(daemon) : undefined;
    const sampler = sampleRss(daemon.pid, 25);
    const measured = await measure({ daemonPlane, twin, daemon, bare }, level);
    return {
      ...measured,
      level,
      memory: { idleMb, loadMaxMb: sampler.stop(), idleBreakdownMb, ...(steady ? { steady } : {}) },
    };
  } finally {
    await daemon.stop();
  }
}

/**
 * One concurrency level: the daemon on one control plane, the bare client on a twin (both in
 * this process, both probed the same way), and replays on the daemon's control plane.
 */
export async function runLevel(level: Level): Promise<LevelResult> {
  const daemonPlane = await startPlane();
  const twin = await startPlane();
  try {
    const bare = await startBareClient({
      token: enrollmentToken,
      concurrency: level.concurrency,
      pollWaitMs: intervals.pollWaitMs,
      daemonUrl: daemonPlane.cp.url,
      twinUrl: twin.cp.url,
    });
    try {
      // Seeded before the daemon starts: afterwards its held claim would take every queued job.
      enqueuePings(daemonPlane, 'seed', seededResults);
      await bare.send({ cmd: 'seed', jobs: seededResults });
      return await withDaemon(daemonPlane, twin, bare, level);
    } finally {
      await bare.close();
    }
  } finally {
    await stopPlane(daemonPlane);
    await stopPlane(twin);
  }
}
