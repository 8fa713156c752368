import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { isConnectorError } from '../../src/errors/connector-error.js';
import { benchClient, projectId, startBenchSimulator } from './atlas-setup.js';

export interface BucketSpec {
  readonly capacity: number;
  readonly refillAmount: number;
  readonly refillIntervalSeconds: number;
}

export interface Throughput {
  readonly calls: number;
  readonly succeeded: number;
  /** Calls the client failed on its own (after its retries), before the deadline. */
  readonly errors: number;
  /** Calls still waiting at the deadline, which the bench then aborted. */
  readonly unfinished: number;
  readonly rateLimited: number;
  /** From the first call to the last success, or to the deadline when calls were left waiting. */
  readonly wallSeconds: number;
  /** The least time the bucket allows for all `calls`, starting full. */
  readonly minimumSeconds: number;
  /** `(succeeded − capacity)` per minute of wall time: what the bucket's refill allowed through. */
  readonly sustainedPerMinute: number;
  readonly bucketPerMinute: number;
}

/**
 * Fires `calls` concurrent `projects.get` calls through a client paced at `clientPerMinute`
 * against a simulator whose project bucket is `bucket`; calls still running at `deadlineMs` are
 * aborted and counted apart from the client's own errors.
 */
export async function measureThroughput(
  calls: number,
  bucket: BucketSpec,
  clientPerMinute: number,
  deadlineMs: number,
): Promise<Throughput> {
  const sim = await startBenchSimulator({
    rateLimit: {
      enabled: true,
      project: bucket,
      organization: { capacity: 10_000, refillAmount: 10_000, refillIntervalSeconds: 60 },
    },
  });
  try {
    const client = benchClient(sim.url, {
      orgRequestsPerMinute: clientPerMinute,
      projectRequestsPerMinute: clientPerMinute,
    });
    const deadline = new AbortController();
    setMaxListeners(calls * 2, deadline.signal);
    const timer = setTimeout(() => deadline.abort(new Error('bench deadline')), deadlineMs);
    const started = performance.now();
    const settled = await Promise.allSettled(
      Array.from({ length: calls }, () =>
        client.projects.get(projectId, { signal: deadline.signal }).then(() => performance.now()),
      ),
    );
    const aborted = deadline.signal.aborted;
    clearTimeout(timer);
    await client.close();
    const finished = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const reasons: unknown[] = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []));
    // Only the deadline cancels these calls; any other rejection is the client giving up.
    const unfinished = reasons.filter((r) => isConnectorError(r) && r.code === 'cancelled').length;
    const end = aborted ? started + deadlineMs : Math.max(started, ...finished);
    const wallSeconds = (end - started) / 1000;
    const bucketPerSecond = bucket.refillAmount / bucket.refillIntervalSeconds;
    const refilled = Math.max(0, finished.length - bucket.capacity);
    return {
      calls,
      succeeded: finished.length,
      errors: reasons.length - unfinished,
      unfinished,
      rateLimited: sim.stats.rateLimited,
      wallSeconds,
      minimumSeconds:
        Math.ceil(Math.max(0, calls - bucket.capacity) / bucket.refillAmount) * bucket.refillIntervalSeconds,
      sustainedPerMinute: wallSeconds > 0 ? (refilled / wallSeconds) * 60 : 0,
      bucketPerMinute: bucketPerSecond * 60,
    };
  } finally {
    await sim.close();
  }
}
