import { cancelledError, ConnectorError } from '../../../errors/connector-error.js';
import type { AtlasClient } from '../../../atlas/index.js';
import type { JobContext } from '../../../worker/job-context.js';
import type { Clock } from '../../../runtime/clock.js';
import { isClusterGone } from './gone-clusters.js';

/**
 * Invariant 5, "ready means usable": Atlas returns a user before the clusters have applied it, and
 * while a cluster's `changeStatus` is PENDING the new credential cannot log in. A job reports
 * success only once every cluster its user is scoped to says APPLIED.
 *
 * Every write to a project's users or custom roles puts the whole project back to PENDING, and
 * every status poll spends a token of the project's Atlas rate budget. So the changes this
 * connector makes are tracked per Atlas client (one per credential) and project:
 *
 * - **One poller per project.** Jobs waiting in the same project share its polls: a poll sent after
 *   a job's write returned and answered APPLIED settles that job, however many jobs wait.
 * - **Polls follow the last write.** A poll made while another write is on its way is wasted, so
 *   the first poll waits for about as long as recent changes took to apply after the project's
 *   last write (learned), then polls step finely.
 * - **Writes take turns with polls.** Under a steady stream of writes the project would never
 *   report APPLIED. Once the oldest waiting job has waited its estimate, new writes hold back
 *   (for at most `holdMs`) until the poll that settles the waiting batch; the held writes then
 *   form the next batch. A grant's latency stays bounded however busy its project is.
 */
export const readinessPolling = {
  /** Before anything is learned: polls at once, then every `coldMs`. */
  coldMs: 100,
  /**
   * After the learned estimate E has passed: steps of E ÷ `fineDivisor` (at least `fineMs`, at
   * most `fineCapMs`) for max(`fineWindowMs`, E) — a result at most about 5 % late, and a bounded
   * number of polls however long the project takes (a 5 s change is polled every 250 ms, not
   * every 25 ms: Atlas's project budget is about 100 calls a minute).
   */
  fineMs: 25,
  fineDivisor: 20,
  fineCapMs: 1_000,
  fineWindowMs: 1_000,
  /**
   * A first poll that already saw APPLIED only bounds the change from above, so the next first
   * poll probes earlier: by step ÷ `probeDivisor`, times `probeGrowth` for each earlier first poll
   * in a row that saw APPLIED too (at most half the estimate); a poll that had to wait resets it.
   * Small probes keep most first polls on time while changes take the same time; growing ones
   * catch up in tens of changes when they get faster (see `probeEarlierBy`).
   */
  probeDivisor: 16,
  probeGrowth: Math.SQRT2,
  /** Until 3 s have passed, then `slowMs` (a change that takes long is not worth a fast poll). */
  mediumMs: 100,
  mediumWindowMs: 3_000,
  slowMs: 500,
  /** The longest a write waits for a batch to settle: twice the estimate plus this, at most `holdCapMs`. */
  holdSlackMs: 500,
  holdCapMs: 30_000,
} as const;

/** The fine polling step for a learned estimate. */
export function fineStep(estimateMs: number): number {
  const p = readinessPolling;
  return Math.min(p.fineCapMs, Math.max(p.fineMs, Math.round(estimateMs / p.fineDivisor)));
}

/**
 * How much earlier than the estimate the next first poll probes, after `firstHits` first polls in a
 * row that saw APPLIED. A fixed half-step probe made every third first poll miss while changes
 * took the same time (and, with jobs of three kinds taking turns, always the same kind's), and
 * needed ~290 changes to follow a drop from 3 s to 300 ms; this one misses about one in seven and
 * follows that drop in about 25.
 */
export function probeEarlierBy(estimateMs: number, firstHits: number): number {
  const p = readinessPolling;
  const grown = (fineStep(estimateMs) / p.probeDivisor) * p.probeGrowth ** Math.min(firstHits, 40);
  return Math.min(estimateMs / 2, grown);
}

export interface ReadinessDeps {
  readonly atlas: { readonly clusters: Pick<AtlasClient['clusters'], 'status'> };
  readonly clock: Clock;
  /** How long a job waits for its clusters to report APPLIED. */
  readonly readyTimeoutMs: number;
}
export type WaitCtx = Pick<JobContext, 'signal'> & Partial<Pick<JobContext, 'releaseSlot'>>;

/** How long to wait before the next poll, given the time since the last write and what was learned. */
export function nextPollDelay(elapsedMs: number, estimateMs: number | undefined, polls: number): number {
  const p = readinessPolling;
  if (estimateMs === undefined) {
    if (polls === 0) return 0;
    return elapsedMs < p.mediumWindowMs ? p.coldMs : p.slowMs;
  }
  // The estimate is when a poll must be SENT to see APPLIED (see `learn`): the first poll goes
  // then, and a change that applies on schedule costs one or two polls, seen at most a step late.
  const fine = fineStep(estimateMs);
  if (polls === 0) return Math.max(0, estimateMs - elapsedMs);
  if (elapsedMs < estimateMs + Math.max(p.fineWindowMs, estimateMs)) return fine;
  return elapsedMs < p.mediumWindowMs ? p.mediumMs : Math.max(p.slowMs, fine);
}

interface Waiter {
  /** Monotonic time the job's write returned: only a poll sent later can settle it. */
  readonly after: number;
  readonly deadline: number;
  /** Clusters not yet seen APPLIED by a poll sent after `after`. */
  readonly pending: Set<string>;
  readonly settle: (error?: unknown) => void;
}

/** A promise with its resolver, for the write gate. */
function latch(): { readonly opened: Promise<void>; readonly open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** The changes one Atlas client makes in one project, and the jobs waiting for them to apply. */
class ProjectChanges {
  private writing = 0;
  private lastWriteEnd = Number.NEGATIVE_INFINITY;
  private estimate: number | undefined;
  /** First polls in a row that already saw APPLIED: how far the next one probes earlier. */
  private firstHits = 0;
  private readonly waiters = new Set<Waiter>();
  private gate: ReturnType<typeof latch> | undefined;
  private loop: Promise<void> | undefined;
  private wake = new AbortController();

  constructor(
    private readonly deps: ReadinessDeps,
    readonly projectId: string,
  ) {}

  /**
   * Runs one write to the project's users or roles. While a batch of waiting jobs is being settled
   * it first waits for that batch (at most `holdMs`), so the project can report APPLIED.
   */
  async write<T>(ctx: WaitCtx, perform: () => Promise<T>): Promise<T> {
    if (this.gate) {
      // Held back, the job only waits: its worker slot can run a job of another project meanwhile.
      ctx.releaseSlot?.();
      await this.held(this.gate.opened, ctx.signal);
    }
    this.writing += 1;
    try {
      return await perform();
    } finally {
      this.writing -= 1;
      this.lastWriteEnd = Math.max(this.lastWriteEnd, this.deps.clock.monotonic());
      this.nudge();
    }
  }

  /** Resolves once every cluster says APPLIED to a poll sent after now; `not_ready` after `readyTimeoutMs`. */
  waitUntilApplied(ctx: WaitCtx, clusters: readonly string[]): Promise<void> {
    const { signal } = ctx;
    if (signal.aborted) return Promise.reject(cancelledError(signal.reason));
    const now = this.deps.clock.monotonic();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => waiter.settle(cancelledError(signal.reason));
      const waiter: Waiter = {
        after: now,
        deadline: now + this.deps.readyTimeoutMs,
        pending: new Set(clusters),
        settle: (error) => {
          if (!this.waiters.delete(waiter)) return;
          signal.removeEventListener('abort', onAbort);
          if (error === undefined) resolve();
          else reject(error);
          this.nudge();
        },
      };
      this.waiters.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
      // From here the job only waits: its worker slot can run another job meanwhile.
      ctx.releaseSlot?.();
      this.ensurePolling();
      this.nudge();
    });
  }

  /** One poller while anyone waits; started a turn later, so jobs that begin waiting together share the first poll. */
  private ensurePolling(): void {
    if (this.loop) return;
    this.loop = Promise.resolve()
      .then(() => this.pollWhileWaited())
      .catch((error: unknown) => {
        // A bug in the poller must not strand the jobs waiting on it.
        for (const waiter of this.waiters) waiter.settle(error);
      })
      .finally(() => {
        this.loop = undefined;
        this.openGate();
        if (this.waiters.size > 0) this.ensurePolling();
      });
  }

  private holdMs(): number {
    const p = readinessPolling;
    return Math.min(p.holdCapMs, 2 * (this.estimate ?? p.coldMs) + p.holdSlackMs);
  }

  private async held(opened: Promise<void>, signal: AbortSignal): Promise<void> {
    const timeout = new AbortController();
    const gave = this.deps.clock
      .sleep(this.holdMs(), AbortSignal.any([signal, timeout.signal]))
      .catch(() => undefined);
    await Promise.race([opened, gave]);
    timeout.abort();
    if (signal.aborted) throw cancelledError(signal.reason);
  }

  private openGate(): void {
    this.gate?.open();
    this.gate = undefined;
  }

  /** Interrupts the poller's sleep: a write ended, a job started or stopped waiting. */
  private nudge(): void {
    this.wake.abort();
  }

  private async pollWhileWaited(): Promise<void> {
    const { clock } = this.deps;
    let polls = 0;
    let lastPollAt = 0;
    let base = this.lastWriteEnd;
    while (this.waiters.size > 0) {
      this.wake = new AbortController();
      const now = clock.monotonic();
      this.expire(now);
      if (this.waiters.size === 0) return;
      // A write that ended since the last poll restarts the schedule: it is what must apply now.
      if (this.lastWriteEnd !== base) [base, polls] = [this.lastWriteEnd, 0];
      const oldest = Math.min(...[...this.waiters].map((w) => w.after));
      const since = Math.max(base, oldest);
      const closeAt = this.estimate === undefined ? oldest : oldest + this.estimate - fineStep(this.estimate);
      if (!this.gate && now >= closeAt) this.gate = latch();
      const pollAt =
        polls === 0
          ? since + nextPollDelay(0, this.estimate, 0)
          : lastPollAt + nextPollDelay(lastPollAt - since, this.estimate, polls);
      const pollIn = this.writing > 0 ? Infinity : pollAt - now;
      if (pollIn > 0) {
        const deadline = Math.min(...[...this.waiters].map((w) => w.deadline));
        const until = Math.min(pollIn, this.gate ? Infinity : closeAt - now, deadline - now);
        await clock.sleep(Math.max(0, until), this.wake.signal).catch(() => undefined);
        continue;
      }
      lastPollAt = now;
      await this.poll(now, since, polls === 0);
      polls += 1;
    }
  }

  private expire(now: number): void {
    for (const waiter of this.waiters) {
      if (now >= waiter.deadline) waiter.settle(this.notReady([...waiter.pending]));
    }
  }

  /** One status read per cluster still awaited; settles every job whose write came before it. */
  private async poll(sentAt: number, since: number, first: boolean): Promise<void> {
    const eligible = [...this.waiters].filter((w) => w.after <= sentAt);
    const clusters = [...new Set(eligible.flatMap((w) => [...w.pending]))];
    // A poll that hangs must not outlive the jobs it serves: it is cut at their first deadline,
    // and they then end as `not_ready` like any other timeout.
    const cut = new AbortController();
    const watchdog = new AbortController();
    const firstDeadline = Math.min(...eligible.map((w) => w.deadline));
    void this.deps.clock.sleep(firstDeadline - sentAt, watchdog.signal).then(
      () => cut.abort(),
      () => undefined,
    );
    const outcomes = await Promise.all(
      clusters.map(async (cluster) => {
        try {
          const status = await this.deps.atlas.clusters.status(this.projectId, cluster, {
            signal: cut.signal,
          });
          return { cluster, applied: status.changeStatus === 'APPLIED', gone: false };
        } catch (error) {
          // A cluster deleted since the write holds nobody any more: nothing is left to apply there.
          if (isClusterGone(error)) return { cluster, applied: true, gone: true };
          return { cluster, applied: false, gone: false, error: cut.signal.aborted ? undefined : error };
        }
      }),
    );
    watchdog.abort();
    let allApplied = true;
    for (const { cluster, applied, error } of outcomes) {
      allApplied &&= applied;
      for (const waiter of eligible) {
        if (!waiter.pending.has(cluster)) continue;
        if (error !== undefined) waiter.settle(error);
        else if (applied) waiter.pending.delete(cluster);
      }
    }
    for (const waiter of eligible) if (waiter.pending.size === 0) waiter.settle();
    if (allApplied && outcomes.some((outcome) => !outcome.gone)) this.learn(sentAt - since, first);
    if (![...this.waiters].some((w) => w.after <= sentAt)) this.openGate();
  }

  /**
   * Learns when to send the first poll: the send time (after the write) of the poll that saw
   * APPLIED. Send times, not answer times: a rule fed with answer times drifts later by the round
   * trip on every change whenever the round trip exceeds the fine step (tens of ms to Atlas), and
   * never comes back. A first poll that already saw APPLIED only bounds the change from above, so
   * the next one probes earlier (`probeEarlierBy`).
   */
  private learn(sentAfterMs: number, first: boolean): void {
    const probe = first && this.estimate !== undefined ? probeEarlierBy(this.estimate, this.firstHits) : 0;
    this.firstHits = first ? this.firstHits + 1 : 0;
    const observed = Math.max(0, sentAfterMs - probe);
    this.estimate = this.estimate === undefined ? observed : 0.7 * this.estimate + 0.3 * observed;
  }

  private notReady(pending: readonly string[]): ConnectorError {
    return new ConnectorError({
      code: 'not_ready',
      message: `cluster ${pending.join(', ')} in project ${this.projectId} did not apply the change within ${Math.round(this.deps.readyTimeoutMs / 1000)} s; the job is retried and converges`,
      details: { projectId: this.projectId, clusters: pending.join(',') },
    });
  }
}

/**
 * The changes made with one credential, tracked per project. One instance per credential, made by
 * the Atlas client pool in the composition root (`credential-state.ts`): two credentials never
 * share polls, and nothing lives at module level.
 */
export class Readiness {
  private readonly projects = new Map<string, ProjectChanges>();

  constructor(private readonly deps: ReadinessDeps) {}

  /** Resolves once every cluster reports APPLIED; `not_ready` (retryable) after `readyTimeoutMs`. */
  waitUntilApplied(ctx: WaitCtx, projectId: string, clusters: readonly string[]): Promise<void> {
    return this.project(projectId).waitUntilApplied(ctx, [...new Set(clusters)]);
  }

  /** Runs a write to the project's users or custom roles, taking turns with its readiness polls. */
  writeChange<T>(ctx: WaitCtx, projectId: string, perform: () => Promise<T>): Promise<T> {
    return this.project(projectId).write(ctx, perform);
  }

  private project(projectId: string): ProjectChanges {
    const existing = this.projects.get(projectId);
    if (existing) return existing;
    const created = new ProjectChanges(this.deps, projectId);
    this.projects.set(projectId, created);
    return created;
  }
}
