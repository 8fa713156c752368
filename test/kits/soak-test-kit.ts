import type {
  NewJobInput,
  ReferenceControlPlaneStore,
} from '../../src/sandbox/control-plane/control-plane-store.js';
import type { JobView } from '../../src/sandbox/control-plane/types.js';
import { eventually } from '../e2e/daemon-process.js';

/** The states a job ends in. */
export const terminalStates: readonly string[] = ['succeeded', 'failed', 'dead'];

export interface SettleOptions<E> {
  /** Each job as it is enqueued. */
  readonly enqueued?: (jobId: string, entry: E) => void;
  /** Each job once, as it ends; a promise returned (a login check, say) is awaited too. */
  readonly settled: (entry: E, view: JobView) => Promise<void> | void;
  /** A disruption (a kill, a freeze) started once the batch is enqueued, and awaited. */
  readonly during?: () => Promise<unknown>;
}

/**
 * One round of a soak: enqueues the batch and waits, two minutes at most, until every job of it
 * has ended (`terminalStates`), handing each to `settled` once as it does.
 */
export async function settleBatch<E extends { readonly job: NewJobInput }>(
  store: Pick<ReferenceControlPlaneStore, 'enqueueJob' | 'job'>,
  batch: readonly E[],
  options: SettleOptions<E>,
): Promise<void> {
  const pending = new Map<string, E>();
  for (const entry of batch) {
    const jobId = store.enqueueJob(entry.job);
    pending.set(jobId, entry);
    options.enqueued?.(jobId, entry);
  }
  const checks: (Promise<void> | void)[] = [];
  const disruption = options.during?.();
  await eventually(
    () => {
      for (const [id, entry] of pending) {
        const view = store.job(id);
        if (!view || !terminalStates.includes(view.state)) continue;
        pending.delete(id);
        checks.push(options.settled(entry, view));
      }
      return pending.size === 0 ? true : undefined;
    },
    120_000,
    'a soak batch to settle',
  );
  await disruption;
  await Promise.all(checks);
}
