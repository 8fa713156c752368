import { ConnectorError } from '../../errors/connector-error.js';
import type { AtlasClient } from '../../atlas/index.js';
import type { JobContext } from '../../worker/job-context.js';
import type { AdapterDeps } from '../adapter.js';

/**
 * Invariant 5, "ready means usable": Atlas returns a user before the clusters have applied it, and
 * while a cluster's `changeStatus` is PENDING the new credential cannot log in. A grant reports
 * success only once every cluster the user is scoped to says APPLIED.
 *
 * Every poll spends a token of the project's Atlas rate budget, so the first poll waits for about
 * as long as recent changes in that project took to apply (learned per Atlas client), and only then
 * do polls step finely: one or two polls per change in steady state, and a result that arrives
 * within a fine step of the change really applying.
 */
export const readinessPolling = {
  /** Before anything is learned: polls at once, then every `coldMs`. */
  coldMs: 100,
  /** After the learned estimate has passed: fine steps for `fineWindowMs`. */
  fineMs: 25,
  fineWindowMs: 1_000,
  /** Until 3 s have passed, then `slowMs` (a change that takes long is not worth a fast poll). */
  mediumMs: 100,
  mediumWindowMs: 3_000,
  slowMs: 500,
} as const;

export type ReadinessDeps = Pick<AdapterDeps, 'atlas' | 'clock' | 'readyTimeoutMs'>;

/** Learned apply times, per Atlas client (one per credential) and project: an exponential average. */
const learned = new WeakMap<AtlasClient, Map<string, number>>();

export function propagationEstimate(atlas: AtlasClient, projectId: string): number | undefined {
  return learned.get(atlas)?.get(projectId);
}

function recordPropagation(atlas: AtlasClient, projectId: string, observedMs: number): void {
  const perProject = learned.get(atlas) ?? new Map<string, number>();
  learned.set(atlas, perProject);
  const previous = perProject.get(projectId);
  perProject.set(projectId, previous === undefined ? observedMs : 0.7 * previous + 0.3 * observedMs);
}

/** How long to wait before the next poll, given the time since the change and what was learned. */
export function nextPollDelay(elapsedMs: number, estimateMs: number | undefined, polls: number): number {
  const p = readinessPolling;
  // With an estimate, the first poll comes one fine step before it: a change that applies on
  // schedule then costs one or two polls and is seen at most one fine step late.
  if (polls === 0) return estimateMs === undefined ? 0 : Math.max(0, estimateMs - p.fineMs - elapsedMs);
  if (estimateMs === undefined && elapsedMs < p.mediumWindowMs) return p.coldMs;
  if (estimateMs !== undefined && elapsedMs < estimateMs + p.fineWindowMs) return p.fineMs;
  return elapsedMs < p.mediumWindowMs ? p.mediumMs : p.slowMs;
}

async function stillPending(
  deps: ReadinessDeps,
  signal: AbortSignal,
  projectId: string,
  clusters: readonly string[],
): Promise<string[]> {
  const statuses = await Promise.all(
    clusters.map(async (cluster) => {
      const status = await deps.atlas.clusters.status(projectId, cluster, { signal });
      return status.changeStatus === 'APPLIED' ? undefined : cluster;
    }),
  );
  return statuses.filter((cluster) => cluster !== undefined);
}

/** Resolves once every cluster reports APPLIED; `not_ready` (retryable) after `readyTimeoutMs`. */
export async function waitUntilApplied(
  deps: ReadinessDeps,
  ctx: Pick<JobContext, 'signal'>,
  projectId: string,
  clusters: readonly string[],
): Promise<void> {
  const started = deps.clock.monotonic();
  const estimate = propagationEstimate(deps.atlas, projectId);
  let pending = [...new Set(clusters)];
  for (let polls = 0; ; polls += 1) {
    const elapsed = deps.clock.monotonic() - started;
    if (elapsed >= deps.readyTimeoutMs) throw notReady(deps, projectId, pending);
    const delay = nextPollDelay(elapsed, estimate, polls);
    if (delay > 0) await deps.clock.sleep(Math.min(delay, deps.readyTimeoutMs - elapsed), ctx.signal);
    pending = await stillPending(deps, ctx.signal, projectId, pending);
    if (pending.length === 0) {
      recordPropagation(deps.atlas, projectId, deps.clock.monotonic() - started);
      return;
    }
  }
}

function notReady(deps: ReadinessDeps, projectId: string, pending: readonly string[]): ConnectorError {
  return new ConnectorError({
    code: 'not_ready',
    message: `cluster ${pending.join(', ')} in project ${projectId} did not apply the change within ${Math.round(deps.readyTimeoutMs / 1000)} s; the job is retried and converges`,
    details: { projectId, clusters: pending.join(',') },
  });
}
