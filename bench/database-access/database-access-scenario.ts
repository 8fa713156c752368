import { figuresFor, type Figure, type Target } from '../figures.js';
import type { Scenario } from '../scenario.js';
import { mean, percentile } from '../stats.js';
import { meanCounts } from './atlas-calls.js';
import { runRateLimited, type RateLimitedResult, type RateLimitedSettings } from './rate-limited.js';
import {
  grantKinds,
  revokeKinds,
  runSequential,
  type JobSample,
  type SequentialResult,
  type SequentialSettings,
} from './sequential.js';

const name = 'database-access';
const figure = figuresFor(name);

const sequential: SequentialSettings = {
  simulatedLatencyMs: 10,
  propagationDelayMs: 300,
  grants: 20,
  revokes: 6,
  warmup: 5,
  atlasSamplesPerJob: 3,
  bareSamplesPerJob: 1,
};

/**
 * Atlas's per-project bucket (capacity 10, 100 per minute) with its refill scaled up 6× to 10 per
 * second, so 500 grants fit in seconds; the daemon paces at the same 600 per minute. 16 jobs work
 * and up to 64 wait for readiness off-slot: a batch per project per propagation delay needs about
 * (refill rate × propagation delay + a poll) jobs per project in flight, and more than that helps.
 */
const rateLimited: RateLimitedSettings = {
  grants: 500,
  concurrency: 16,
  waiting: 64,
  bucket: { capacity: 10, refillAmount: 10, refillIntervalSeconds: 1 },
  simulatedLatencyMs: 10,
  propagationDelayMs: 300,
  deadlineMs: 45_000,
};

/** Issue #5: claim→result within 5 % of the lower bound; ≥ 90 % of the rate-limit bound. */
const latencyTarget: Target = { op: '<=', value: 1.05, on: 'ratio' };
const throughputTarget: Target = { op: '>=', value: 0.9, on: 'ratio' };

/** The call budget besides readiness polls: one create per grant; one read + one write per requester. */
const grantCallBudget = { 'per-grant': 1, 'per-requester': 2 } as const;

const strategyOf = (kind: string): 'per-grant' | 'per-requester' =>
  kind.startsWith('per-grant') ? 'per-grant' : 'per-requester';

interface Bounds {
  readonly atlasCallMs: number;
  readonly bareRoundTripMs: number;
  readonly propagationDelayMs: number;
}

/**
 * The least time a job can take: the calls it must make one after another at the simulator's
 * per-call round trip, plus the propagation delay, plus the bare control-plane round trip. The
 * simulator marks the change when the write ARRIVES, so the write's own round trip overlaps the
 * propagation delay; what cannot overlap it is one readiness poll answered after the delay. The
 * write's round trip is therefore replaced by that poll's: sequential non-poll calls × call + P.
 */
function lowerBoundMs(sample: JobSample, b: Bounds): number {
  const waits = sample.calls.writes > 0 && sample.calls.polls > 0;
  return sample.sequentialCalls * b.atlasCallMs + (waits ? b.propagationDelayMs : 0) + b.bareRoundTripMs;
}

/**
 * The bound counting every call as a full round trip: the non-poll calls and the first poll, plus
 * the propagation delay. It is NOT a lower bound (it counts the write's round trip, which overlaps
 * the delay): kept in `details` for comparison only.
 */
function fullRoundTripBoundMs(sample: JobSample, b: Bounds): number {
  const firstPoll = Math.min(1, sample.calls.polls);
  const waits = sample.calls.writes > 0 && firstPoll > 0;
  return (
    (sample.sequentialCalls + firstPoll) * b.atlasCallMs +
    (waits ? b.propagationDelayMs : 0) +
    b.bareRoundTripMs
  );
}

function latencyFigure(
  job: string,
  kind: string,
  samples: readonly JobSample[],
  b: Bounds,
  target?: Target,
): Figure {
  const latency = samples.map((s) => s.latencyMs);
  const p50 = percentile(latency, 50);
  const bound = percentile(
    samples.map((s) => lowerBoundMs(s, b)),
    50,
  );
  const fullRoundTrip = percentile(
    samples.map((s) => fullRoundTripBoundMs(s, b)),
    50,
  );
  return figure({
    name: `${job} claim→result p50, ${kind}`,
    unit: 'ms',
    value: p50,
    bound,
    boundLabel: 'sequential calls × call + propagation + bare CP',
    ...(target ? { target } : {}),
    details: {
      jobs: samples.length,
      p95Ms: percentile(latency, 95),
      sequentialCallsMean: mean(samples.map((s) => s.sequentialCalls)),
      pollsMean: mean(samples.map((s) => s.calls.polls)),
      atlasCallP50Ms: b.atlasCallMs,
      bareControlPlaneRoundTripP50Ms: b.bareRoundTripMs,
      propagationDelayMs: b.propagationDelayMs,
      fullRoundTripBoundMs: fullRoundTrip,
      ratioToFullRoundTripBound: p50 / fullRoundTrip,
    },
  });
}

function callFigures(job: 'grant' | 'revoke', kind: string, samples: readonly JobSample[]): Figure[] {
  const c = meanCounts(samples.map((s) => s.calls));
  const strategy = strategyOf(kind);
  const budget = grantCallBudget[strategy];
  const perGrantWrite = job === 'grant' ? 'one create' : 'one delete';
  const label = strategy === 'per-grant' ? perGrantWrite : 'one read + one write';
  return [
    figure({
      name: `${job} Atlas calls besides polls, ${kind}`,
      unit: 'calls',
      value: c.reads + c.writes,
      bound: budget,
      boundLabel: job === 'grant' ? `issue: ${label}` : label,
      ...(job === 'grant' ? { target: { op: '<=', value: budget, on: 'value' } as const } : {}),
      details: {
        jobs: samples.length,
        reads: c.reads,
        writes: c.writes,
        polls: c.polls,
        calls: c.breakdown,
        digestChallenges: c.challenges,
        rateLimited: c.rateLimited,
      },
    }),
    figure({
      name: `${job} readiness polls, ${kind}`,
      unit: 'calls',
      value: c.polls,
      bound: 1,
      boundLabel: 'one poll after the change applied',
    }),
  ];
}

function sequentialFigures(r: SequentialResult): {
  figures: Figure[];
  perGrantCalls: number;
  callMs: number;
} {
  const b: Bounds = {
    atlasCallMs: percentile(r.atlasCallMs, 50),
    bareRoundTripMs: percentile(r.bareRoundTripMs, 50),
    propagationDelayMs: r.settings.propagationDelayMs,
  };
  const latency = [
    ...grantKinds.map((k) => latencyFigure('grant', k, r.grants[k], b, latencyTarget)),
    ...revokeKinds.map((k) => latencyFigure('revoke', k, r.revokes[k], b)),
  ];
  const calls = [
    ...grantKinds.flatMap((k) => callFigures('grant', k, r.grants[k])),
    ...revokeKinds.flatMap((k) => callFigures('revoke', k, r.revokes[k])),
  ];
  const perGrant = meanCounts(r.grants['per-grant'].map((s) => s.calls));
  return {
    figures: [...latency, ...calls],
    perGrantCalls: perGrant.reads + perGrant.writes + perGrant.polls,
    callMs: b.atlasCallMs,
  };
}

/**
 * Item 3's bound: the shortest window the project buckets allow, at their refill rate, for the
 * calls the grants made, plus the last batch's propagation delay and one poll. Calls are counted
 * under load, so a connector that spends more calls per grant gets no head start from it: that is
 * the next figure, against the one create a grant cannot do without. A bucket's initial capacity
 * is a one-off burst, not a rate: spent all at once at the start it could shorten the window by
 * capacity ÷ rate (1 s here), so the ratio against that stricter bound is in `details` too.
 */
function rateFigures(r: RateLimitedResult, perGrantCalls: number, callMs: number): Figure[] {
  const { bucket } = r.settings;
  const refillPerSecond = bucket.refillAmount / bucket.refillIntervalSeconds;
  const c = meanCounts([r.calls], r.succeeded);
  const callsPerGrant = c.reads + c.writes + c.polls;
  const callsPerProject = (r.succeeded * callsPerGrant) / r.projects;
  const tailS = (r.settings.propagationDelayMs + callMs) / 1000;
  const shortestWindowS = callsPerProject / refillPerSecond + tailS;
  const withBurstS = Math.max(0, callsPerProject - bucket.capacity) / refillPerSecond + tailS;
  return [
    figure({
      name: `throughput, ${r.settings.grants} per-grant grants over ${r.projects} projects`,
      unit: 'grants/s',
      value: r.windowSeconds > 0 ? r.succeeded / r.windowSeconds : 0,
      bound: r.succeeded / shortestWindowS,
      boundLabel: 'calls per project at the refill rate, then propagation + one poll',
      target: throughputTarget,
      details: {
        succeeded: r.succeeded,
        windowSeconds: r.windowSeconds,
        shortestWindowSeconds: shortestWindowS,
        ratioWithInitialBurst: r.windowSeconds > 0 ? withBurstS / r.windowSeconds : 0,
        callsPerGrantUnderLoad: callsPerGrant,
        bucket: `${bucket.capacity} + ${bucket.refillAmount}/${bucket.refillIntervalSeconds}s per project`,
        daemonPacePerMinute: Math.round(refillPerSecond * 60),
        maxConcurrentJobs: r.settings.concurrency,
        maxWaitingJobs: r.settings.waiting,
        retriedJobs: r.retried,
        claimToResultP50Ms: percentile(r.latencyMs, 50),
        claimToResultP95Ms: percentile(r.latencyMs, 95),
        meanInFlight: r.windowSeconds > 0 ? (r.succeeded / r.windowSeconds) * (mean(r.latencyMs) / 1000) : 0,
      },
    }),
    figure({
      name: 'Atlas calls per grant under load',
      unit: 'calls',
      value: callsPerGrant,
      bound: 1,
      boundLabel: 'the create; readiness polls shared by each batch',
      details: {
        grants: r.succeeded,
        reads: c.reads,
        writes: c.writes,
        polls: c.polls,
        calls: c.breakdown,
        callsPerGrantAlone: perGrantCalls,
      },
    }),
    figure({
      name: '429s seen by the simulator',
      unit: '',
      value: r.calls.rateLimited,
      bound: 0,
      boundLabel: 'none needed',
    }),
    figure({
      name: 'failed grants',
      unit: '',
      value: r.failed,
      bound: 0,
      boundLabel: 'none',
      target: { op: '<=', value: 0, on: 'value' },
      ...(r.firstError ? { details: { firstError: r.firstError } } : {}),
    }),
    figure({
      name: `grants unfinished at the ${r.settings.deadlineMs / 1000} s deadline`,
      unit: '',
      value: r.unfinished,
      bound: 0,
      boundLabel: 'none',
      target: { op: '<=', value: 0, on: 'value' },
    }),
  ];
}

export const databaseAccessScenario: Scenario = {
  name,
  description:
    'grants and revokes through the daemon against the Atlas simulator: latency vs its bound, Atlas calls per job, rate-limited throughput (issue #5)',
  async run({ progress }) {
    progress(
      `${name}: ${sequential.grants} grants per strategy and ${sequential.revokes} revokes per kind, one at a time (${sequential.simulatedLatencyMs} ms latency, ${sequential.propagationDelayMs} ms propagation)`,
    );
    const seq = await runSequential(sequential);
    const { figures, perGrantCalls, callMs } = sequentialFigures(seq);
    progress(
      `${name}: ${rateLimited.grants} per-grant grants over 10 projects, buckets ${rateLimited.bucket.capacity} + ${rateLimited.bucket.refillAmount}/${rateLimited.bucket.refillIntervalSeconds}s, ${rateLimited.concurrency} in flight (${rateLimited.deadlineMs / 1000} s at most)`,
    );
    const rate = await runRateLimited(rateLimited);
    return [...figures, ...rateFigures(rate, perGrantCalls, callMs)];
  },
};
