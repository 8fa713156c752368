import { figuresFor, type Figure } from '../figures.js';
import type { Scenario } from '../scenario.js';
import { percentile } from '../stats.js';
import { bareNodeRssMb } from './proc-stats.js';
import { runLevel, settleMs, type Level, type LevelResult } from './worker-level.js';

const name = 'worker';
const figure = figuresFor(name);

const levels: readonly Level[] = [
  { concurrency: 1, jobs: 200, warmup: 50, rounds: 8 },
  { concurrency: 4, jobs: 400, warmup: 50, rounds: 8 },
  { concurrency: 16, jobs: 800, warmup: 100, rounds: 8, steadyIdle: true },
];

/** Issue #2's target for what the worker adds to a job beyond the result round trip. */
const overheadTargetMs = 5;
const idleRssTargetMb = 80;

function levelFigures(result: LevelResult): Figure[] {
  const { level, daemon, bare } = result;
  const c = `c=${level.concurrency}`;
  const p50 = percentile(daemon.latencyMs, 50);
  const bareP50 = percentile(bare.latencyMs, 50);
  const replayP50 = percentile(result.replayMs, 50);
  const bareLabel = `bare client, ${level.concurrency} in flight`;
  return [
    figure({
      name: `${c} claim→result p50`,
      unit: 'ms',
      value: p50,
      bound: bareP50,
      boundLabel: bareLabel,
      details: { jobs: daemon.latencyMs.length, bareJobs: bare.latencyMs.length },
    }),
    figure({
      name: `${c} claim→result p95`,
      unit: 'ms',
      value: percentile(daemon.latencyMs, 95),
      bound: percentile(bare.latencyMs, 95),
      boundLabel: bareLabel,
    }),
    figure({
      name: `${c} worker overhead p50`,
      unit: 'ms',
      value: p50 - bareP50,
      bound: replayP50,
      boundLabel: 'result PUT round trip p50; ratio in round trips',
      target: { op: '<=', value: overheadTargetMs, on: 'value' },
      details: {
        daemonClaimToResultP50Ms: p50,
        bareClientClaimToResultP50Ms: bareP50,
        resultPutRoundTripP50Ms: replayP50,
        resultPutRoundTripP95Ms: percentile(result.replayMs, 95),
        replays: result.replayMs.length,
      },
    }),
    figure({
      name: `${c} throughput`,
      unit: 'jobs/s',
      value: daemon.jobsPerSecond,
      bound: bare.jobsPerSecond,
      boundLabel: bareLabel,
    }),
    figure({
      name: `${c} client CPU per job`,
      unit: 'ms',
      value: daemon.cpuMsPerJob,
      bound: bare.cpuMsPerJob,
      boundLabel: 'bare client process',
    }),
  ];
}

function memoryFigures(loaded: LevelResult, bareNodeMb: number): Figure[] {
  const c = loaded.level.concurrency;
  const { memory } = loaded;
  const { steady } = memory;
  if (!steady) throw new Error(`the c=${c} level did not read its steady idle RSS`);
  return [
    figure({
      name: `daemon RSS idle (c=${c} daemon, after V8's idle GC)`,
      unit: 'MB',
      value: steady.rssMb,
      bound: bareNodeMb,
      boundLabel: 'bare node process',
      target: { op: '<=', value: idleRssTargetMb, on: 'value' },
      details: { ...steady.breakdownMb, waitedS: steady.waitedS, idleGcSeen: String(steady.gcSeen) },
    }),
    figure({
      name: `daemon RSS ${settleMs / 1000} s after start (c=${c} daemon)`,
      unit: 'MB',
      value: memory.idleMb,
      bound: bareNodeMb,
      boundLabel: 'bare node process',
      details: memory.idleBreakdownMb,
    }),
    figure({
      name: `daemon RSS max under load (c=${c})`,
      unit: 'MB',
      value: memory.loadMaxMb,
      bound: steady.rssMb,
      boundLabel: 'same daemon idle',
    }),
  ];
}

export const workerScenario: Scenario = {
  name,
  description: 'ping jobs through the reference control plane at concurrency 1, 4 and 16 (issue #2)',
  async run({ progress }) {
    const bareNodeMb = await bareNodeRssMb(settleMs);
    const results: LevelResult[] = [];
    for (const level of levels) {
      progress(
        `worker: c=${level.concurrency}, ${level.warmup} + ${level.jobs} jobs each for daemon and bare client`,
      );
      results.push(await runLevel(level));
    }
    const loaded = results[results.length - 1];
    if (!loaded) throw new Error('no concurrency level ran');
    return [...results.flatMap(levelFigures), ...memoryFigures(loaded, bareNodeMb)];
  },
};
