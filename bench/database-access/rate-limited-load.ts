import { performance } from 'node:perf_hooks';
import type { BucketSpec } from '../../src/sandbox/atlas/knobs.js';
import { sleep } from '../stats.js';
import { tenProjectFixture, type BenchProject } from './fixture.js';
import { grantJob, requester } from './jobs.js';
import { startSandbox, type Sandbox } from './sandbox.js';

/**
 * The rate-limited grant load shared by the database-access throughput scenario and the
 * credential first-use scenario: ten projects behind the simulator's per-project token buckets,
 * the daemon's own pacing set to the buckets' rate, per-grant users enqueued round-robin.
 */
export interface LoadSettings {
  readonly concurrency: number;
  /** `MAX_WAITING_JOBS`: jobs that wait for readiness off-slot. */
  readonly waiting: number;
  readonly bucket: BucketSpec;
  readonly simulatedLatencyMs: number;
  readonly propagationDelayMs: number;
}

export interface LoadSandbox {
  readonly sb: Sandbox;
  readonly projects: readonly BenchProject[];
}

export const terminalStates: ReadonlySet<string> = new Set(['succeeded', 'failed', 'dead', 'cancelled']);

export async function startLoadSandbox(settings: LoadSettings, connectorId: string): Promise<LoadSandbox> {
  const { fixture, projects } = tenProjectFixture();
  const perMinute = Math.round((settings.bucket.refillAmount * 60) / settings.bucket.refillIntervalSeconds);
  const sb = await startSandbox({
    fixture,
    knobs: {
      latency: { fixedMs: settings.simulatedLatencyMs, jitterMs: 0 },
      propagationDelayMs: settings.propagationDelayMs,
      rateLimit: {
        enabled: true,
        project: settings.bucket,
        // Every call of a grant is project-scoped; the organization bucket never limits them.
        organization: { capacity: 100_000, refillAmount: 100_000, refillIntervalSeconds: 60 },
      },
    },
    integrations: [
      {
        id: 'multi',
        kind: 'atlas-multi-project',
        config: { projectIds: projects.map((p) => p.projectId), userStrategy: 'per-grant' },
      },
    ],
    connectorId,
    daemonEnv: {
      MAX_CONCURRENT_JOBS: String(settings.concurrency),
      MAX_WAITING_JOBS: String(settings.waiting),
      ATLAS_PROJECT_REQUESTS_PER_MINUTE: String(perMinute),
      ATLAS_ORG_REQUESTS_PER_MINUTE: String(perMinute),
    },
  });
  return { sb, projects };
}

/** Enqueues `count` per-grant grants round-robin over the projects; returns their job ids. */
export function enqueueGrants(load: LoadSandbox, prefix: string, count: number): string[] {
  const { sb, projects } = load;
  return Array.from({ length: count }, (_, i) => {
    const project = projects[i % projects.length] as BenchProject;
    const name = `${prefix}${i}`;
    return sb.cp.store.enqueueJob(
      grantJob({
        integrationId: 'multi',
        strategy: 'per-grant',
        grantId: `g-${name}`,
        requester: requester(name),
        ...project,
        multiProject: true,
      }),
    );
  });
}

/** Waits until every job has ended or the deadline passes. */
export async function settleJobs(sb: Sandbox, ids: readonly string[], deadlineMs: number): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  let pending = ids;
  while (pending.length > 0 && performance.now() < deadline) {
    await sleep(50);
    pending = pending.filter((id) => !terminalStates.has(sb.cp.store.job(id)?.state ?? ''));
  }
}

/** Long enough for every bucket to be full again after the warm-up. */
export const refillPause = (bucket: BucketSpec): Promise<void> =>
  sleep(bucket.refillIntervalSeconds * 1000 * Math.ceil(bucket.capacity / bucket.refillAmount) + 500);
