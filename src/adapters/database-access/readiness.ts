import { ConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import type { AdapterDeps } from '../adapter.js';

/**
 * Invariant 5, "ready means usable": Atlas returns a user before the clusters have applied it, and
 * while a cluster's `changeStatus` is PENDING the new credential cannot log in. A grant reports
 * success only once every cluster the user is scoped to says APPLIED. Polling is frequent at first
 * (most changes apply within seconds, so latency stays near that lower bound) and slower after.
 */
export const readinessPolling = { fastMs: 100, fastWindowMs: 3_000, slowMs: 500 } as const;

export type ReadinessDeps = Pick<AdapterDeps, 'atlas' | 'clock' | 'readyTimeoutMs'>;

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
  let pending = [...new Set(clusters)];
  for (;;) {
    pending = await stillPending(deps, ctx.signal, projectId, pending);
    if (pending.length === 0) return;
    const elapsed = deps.clock.monotonic() - started;
    if (elapsed >= deps.readyTimeoutMs) {
      throw new ConnectorError({
        code: 'not_ready',
        message: `cluster ${pending.join(', ')} in project ${projectId} did not apply the change within ${Math.round(deps.readyTimeoutMs / 1000)} s; the job is retried and converges`,
        details: { projectId, clusters: pending.join(',') },
      });
    }
    const interval =
      elapsed < readinessPolling.fastWindowMs ? readinessPolling.fastMs : readinessPolling.slowMs;
    await deps.clock.sleep(Math.min(interval, deps.readyTimeoutMs - elapsed), ctx.signal);
  }
}
