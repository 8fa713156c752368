import { figuresFor, type Figure } from '../figures.js';
import type { Scenario } from '../scenario.js';
import { percentile } from '../stats.js';
import { measureCallOverhead, type CallOverhead } from './overhead.js';
import { measureRoundTrips, type RoundTrips } from './round-trips.js';
import { measureThroughput, type BucketSpec, type Throughput } from './throughput.js';

const name = 'atlas-client';
const figure = figuresFor(name);

const roundTripCalls = 50;
const overheadCalls = 100;
const simulatedLatencyMs = 20;
/**
 * 100 requests per minute, refilled as 5 every 3 s (the simulator refills in whole intervals of at
 * least a second), starting from 10: Atlas's per-project pace with a small burst allowance.
 */
const bucket: BucketSpec = { capacity: 10, refillAmount: 5, refillIntervalSeconds: 3 };
const clientPerMinute = 100;
/** 120 calls need 66 s at best; whatever is still waiting after 80 s is aborted and counted. */
const throughputCalls = 120;
const throughputDeadlineMs = 80_000;

function roundTripFigures(r: RoundTrips): Figure[] {
  const details = { calls: r.calls };
  return [
    figure({
      name: 'client requests, first call',
      unit: 'req',
      value: r.clientFirst,
      bound: 2,
      boundLabel: 'challenge + signed request',
      details,
    }),
    figure({
      name: 'client requests per call, steady state',
      unit: 'req',
      value: r.clientSteady,
      bound: 1,
      boundLabel: 'one request',
      target: { op: '<=', value: 1, on: 'value' },
      details,
    }),
    figure({
      name: 'naive Digest client requests per call',
      unit: 'req',
      value: r.naive,
      bound: 1,
      boundLabel: 'one request',
      details,
    }),
  ];
}

function overheadFigures(o: CallOverhead): Figure[] {
  const clientP50 = percentile(o.clientMs, 50);
  const bareP50 = percentile(o.bareMs, 50);
  const details = { calls: o.clientMs.length, simulatedLatencyMs: o.latencyMs };
  return [
    figure({
      name: `client call p50 (${o.latencyMs} ms simulated latency)`,
      unit: 'ms',
      value: clientP50,
      bound: bareP50,
      boundLabel: 'bare GET, pre-signed Digest, p50',
      details,
    }),
    figure({
      name: `client call p95 (${o.latencyMs} ms simulated latency)`,
      unit: 'ms',
      value: percentile(o.clientMs, 95),
      bound: percentile(o.bareMs, 95),
      boundLabel: 'bare GET, pre-signed Digest, p95',
    }),
    figure({
      name: 'client overhead per call p50',
      unit: 'ms',
      value: clientP50 - bareP50,
      bound: bareP50,
      boundLabel: 'ratio = overhead in bare calls',
    }),
  ];
}

function throughputFigures(t: Throughput): Figure[] {
  const details = {
    calls: t.calls,
    succeeded: t.succeeded,
    wallSeconds: t.wallSeconds,
    minimumSeconds: t.minimumSeconds,
    deadlineSeconds: throughputDeadlineMs / 1000,
    bucket: `${bucket.capacity} + ${bucket.refillAmount}/${bucket.refillIntervalSeconds}s`,
    clientPerMinute,
  };
  return [
    figure({
      name: `sustained rate, ${t.calls} calls into a ${t.bucketPerMinute}/min project bucket`,
      unit: 'req/min',
      value: t.sustainedPerMinute,
      bound: t.bucketPerMinute,
      boundLabel: 'bucket refill rate',
      target: { op: '>=', value: 0.95, on: 'ratio' },
      details,
    }),
    figure({
      name: '429s seen by the simulator',
      unit: '',
      value: t.rateLimited,
      bound: 0,
      boundLabel: 'none needed',
    }),
    figure({
      name: 'errors surfaced to callers',
      unit: '',
      value: t.errors,
      bound: 0,
      boundLabel: 'none',
      target: { op: '<=', value: 0, on: 'value' },
    }),
    figure({
      name: `calls still waiting at the ${throughputDeadlineMs / 1000} s deadline`,
      unit: '',
      value: t.unfinished,
      bound: 0,
      boundLabel: 'all done by 66 s',
      target: { op: '<=', value: 0, on: 'value' },
    }),
  ];
}

export const atlasClientScenario: Scenario = {
  name,
  description:
    'Atlas client against the simulator: round trips, overhead per call, paced throughput (issue #3)',
  async run({ progress }) {
    progress(`atlas-client: ${roundTripCalls} sequential calls, real client then naive Digest client`);
    const roundTrips = await measureRoundTrips(roundTripCalls);
    progress(`atlas-client: ${overheadCalls} calls each, client vs bare, ${simulatedLatencyMs} ms latency`);
    const overhead = await measureCallOverhead(overheadCalls, simulatedLatencyMs);
    progress(
      `atlas-client: ${throughputCalls} concurrent calls into a 100/min bucket (66 s at best, ${throughputDeadlineMs / 1000} s at most)`,
    );
    const throughput = await measureThroughput(
      throughputCalls,
      bucket,
      clientPerMinute,
      throughputDeadlineMs,
    );
    return [...roundTripFigures(roundTrips), ...overheadFigures(overhead), ...throughputFigures(throughput)];
  },
};
