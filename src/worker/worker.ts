import type { Metrics } from '../admin/metrics.js';
import type { Policy } from '../config/env.js';
import type { ControlPlaneClient } from '../control-plane/control-plane-client.js';
import type {
  ConnectorState,
  HeartbeatAction,
  Intervals,
  RegisterRequest,
} from '../control-plane/protocol.js';
import { isConnectorError } from '../errors/connector-error.js';
import { invalidJob } from '../errors/invalid-job.js';
import { fullJitterDelay } from '../runtime/backoff.js';
import type { Clock } from '../runtime/clock.js';
import { deadlineSignal, linkedSignal } from '../runtime/deadline-signal.js';
import type { Logger } from '../runtime/logger.js';
import type { SecretScrubber } from '../runtime/secret-scrubber.js';
import type { Random } from '../runtime/random.js';
import { ControlPlaneContact } from './contact.js';
import { FailureLogPace } from './failure-log-pace.js';
import { controlPlaneHint, registerUntilAccepted } from './registration.js';
import { jitteredInterval, sendHeartbeat } from './heartbeat.js';
import type { JobRouter } from './job-handlers.js';
import { JobSlots } from './job-slots.js';
import { isUnreadable, parseEnvelope, standInEnvelope } from './parse-job.js';
import { ResultOutbox } from './result-outbox.js';
import { RunningJob, type JobRunnerDeps } from './run-job.js';
import type { ShutdownBudget } from './shutdown-budget.js';

/** The part of the control-plane client the worker uses (a fake implements it in tests). */
export type ControlPlanePort = Pick<
  ControlPlaneClient,
  | 'current'
  | 'register'
  | 'heartbeat'
  | 'claim'
  | 'extend'
  | 'release'
  | 'recordIntent'
  | 'submitResult'
  | 'deregister'
  | 'refreshSoon'
>;

export interface WorkerOptions {
  readonly client: ControlPlanePort;
  readonly router: JobRouter;
  readonly policy: Policy;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** The logs' scrubber: job failures are reported through it (see `failure`). */
  readonly scrubber: Pick<SecretScrubber, 'scrub'>;
  readonly metrics: Metrics;
  readonly maxConcurrentJobs: number;
  /** Jobs that may wait off-slot at once (`JobContext.releaseSlot`); 0 turns parking off. */
  readonly maxWaitingJobs: number;
  readonly drainTimeoutMs: number;
  /** Bounds everything after the drain wait; the caller closes its own clients within it too. */
  readonly shutdown: ShutdownBudget;
  readonly maxPayloadBytes: number;
  readonly registration: Omit<RegisterRequest, 'capacity' | 'jobTypes' | 'startedAt'>;
}

/** `running` also covers the time before the first registration succeeds. */
export type WorkerState = 'running' | 'paused' | 'draining' | 'stopped';

const backoff = { baseMs: 1_000, capMs: 60_000 };

/** After the drain deadline: the longest the lease releases are waited for (their own timeout). */
const releaseWaitMs = 2_000;
/** Kept back from the result flush and the handlers' wait, for deregistering and closing clients. */
const closingReserveMs = 3_000;
/** Kept back from deregistering, for closing the daemon's clients (main.ts). */
const clientCloseReserveMs = 1_000;

/**
 * The job loop: register, then three independent loops — heartbeat, claim, and one lease keeper
 * per job — so a slow job never starves liveness. Shutdown is staged: stop claiming, let jobs
 * finish, release what is left, flush results, deregister.
 */
export class Worker {
  private stateValue: WorkerState = 'running';
  private readonly contact: ControlPlaneContact;
  private readonly slots: JobSlots;
  /**
   * By lease, not by job: a job released or expired here may be leased to this replica again
   * while the earlier attempt still finishes (its result retried in the outbox).
   */
  private readonly inFlight = new Map<string, RunningJob>();
  private readonly keyChains = new Map<string, Promise<void>>();
  private readonly outbox: ResultOutbox;
  private readonly stopLoops = new AbortController();
  private claimAbort = new AbortController();
  private registeredAt: number | undefined;
  /** The session whose registration intervals are applied (see adoptSession). */
  private sessionId: string | undefined;
  private skewMs: number | undefined;
  /**
   * Monotonic time each loop last ticked, or when it is due back from a wait the control plane
   * asked for: a loop honouring a long `Retry-After` (a maintenance window) is not stuck.
   */
  private readonly ticks = { heartbeat: 0, claim: 0 };
  /** The claim loop is waiting for a job slot to free up (see isLive). */
  private claimWaitsForSlot = false;
  private loops: Promise<unknown> | undefined;
  private draining: Promise<void> | undefined;
  /** Aborted by a second drain request that forces: ends the drain's waits at once. */
  private readonly forcing = new AbortController();
  private markStopped: () => void = () => undefined;
  /**
   * Resolves once the worker has drained and deregistered, whoever asked for the drain: the
   * process (a signal) or the control plane (a heartbeat `drain` action), after which the
   * process should exit.
   */
  readonly stopped = new Promise<void>((resolve) => (this.markStopped = resolve));

  constructor(private readonly options: WorkerOptions) {
    this.slots = new JobSlots(options, (count) => options.metrics.jobsWaiting.set(count));
    this.outbox = new ResultOutbox({
      client: options.client,
      clock: options.clock,
      random: options.random,
      log: options.logger,
      onDepth: (depth) => options.metrics.outboxDepth.set(depth),
      onAttempt: (result) => options.metrics.resultReports.inc({ result }),
    });
    this.contact = new ControlPlaneContact(
      options.clock,
      () => options.metrics.lastContact.set(options.clock.now() / 1000),
      () => {
        // Contact is back: held results go first (the claim loop waits for the outbox to empty).
        options.logger.info({ outboxDepth: this.outbox.depth }, 'control plane reachable again');
        this.outbox.wake();
      },
    );
  }

  private get intervals(): Intervals {
    return this.contact.intervals;
  }

  get state(): WorkerState {
    return this.stateValue;
  }

  /** Snapshot for /status and /readyz: ids and counts only, never payloads. */
  status() {
    return {
      state: this.stateValue,
      sessionId: this.options.client.current?.sessionId ?? null,
      registered: this.registeredAt !== undefined,
      inFlightJobIds: [...this.inFlight.values()].map((job) => job.jobId),
      /** In flight but off-slot: they gave their slot back to wait on Atlas. */
      waitingJobIds: this.slots.waitingLeaseIds.flatMap((leaseId) => this.inFlight.get(leaseId)?.jobId ?? []),
      outboxDepth: this.outbox.depth,
      freeSlots: this.freeSlots(),
      clockSkewMs: this.skewMs ?? null,
      lastContactAgoMs: this.contact.agoMs(),
      intervals: this.intervals,
    };
  }

  /** Ready: registered, heard from the control plane within 2 heartbeats, and not draining. */
  isReady(): boolean {
    const s = this.status();
    return (
      s.registered &&
      s.state !== 'draining' &&
      s.state !== 'stopped' &&
      s.lastContactAgoMs !== null &&
      s.lastContactAgoMs < 2 * this.intervals.heartbeatMs
    );
  }

  /**
   * Live: every loop ticked within 3× its interval (never depends on the control plane answering).
   * A claim loop that waits for a free slot, or that a drain ended, is not stuck: every slot held by
   * a long job (a discovery, a grant waiting on Atlas, a long drain) must not get the pod restarted
   * and its jobs killed.
   */
  isLive(): boolean {
    if (this.stateValue === 'stopped') return true;
    const now = this.options.clock.monotonic();
    const claimBudget = 3 * (this.intervals.pollWaitMs + 10_000 + backoff.capMs);
    const claimIdle = this.claimWaitsForSlot || this.stateValue === 'draining';
    return (
      now - this.ticks.heartbeat < 3 * Math.max(this.intervals.heartbeatMs, backoff.capMs) &&
      (claimIdle || now - this.ticks.claim < claimBudget)
    );
  }

  start(): void {
    const now = this.options.clock.monotonic();
    this.ticks.heartbeat = now;
    this.ticks.claim = now;
    this.loops = this.registerLoop().then(() => Promise.all([this.heartbeatLoop(), this.claimLoop()]));
    this.loops.catch((error: unknown) => {
      if (!this.stopLoops.signal.aborted) this.options.logger.fatal({ err: error }, 'worker loop crashed');
    });
  }

  /**
   * Staged, idempotent drain: in-flight jobs get the drain timeout. A drain asked for again (the
   * control plane's `drain` action, then a rollout's SIGTERM, in either order) is the same drain;
   * only `force()` cuts it short.
   */
  drain(): Promise<void> {
    this.draining ??= this.runDrain();
    return this.draining;
  }

  /** A second signal: in-flight jobs are aborted and released at once, not at the drain timeout. */
  force(): Promise<void> {
    this.forcing.abort();
    return this.drain();
  }

  private async runDrain(): Promise<void> {
    const { logger, clock, shutdown } = this.options;
    this.stateValue = 'draining';
    this.claimAbort.abort();
    logger.info(
      { inFlight: this.inFlight.size, drainTimeoutMs: this.options.drainTimeoutMs },
      'draining: no new jobs',
    );
    void this.beat().catch(() => undefined);
    const waited = new AbortController();
    const deadline = AbortSignal.any([waited.signal, this.forcing.signal]);
    const timer = clock.sleep(this.options.drainTimeoutMs, deadline).then(
      () => 'timeout' as const,
      () => 'forced' as const,
    );
    const finished = this.slots.onIdle().then(() => 'idle' as const);
    const how = this.forcing.signal.aborted ? 'forced' : await Promise.race([finished, timer]);
    waited.abort();
    // Everything from here shares one budget, so the whole tail fits the pod's grace period.
    shutdown.start();
    if (how !== 'idle') await this.releaseUnfinished(how);
    this.stopLoops.abort();
    await this.deregister();
    this.stateValue = 'stopped';
    logger.info({ how }, 'drained');
    this.markStopped();
  }

  /**
   * Only handlers still running are handed back; a job that finished keeps its lease while its
   * result, held in the outbox (a backoff after a failed send), gets one more chance.
   */
  private async releaseUnfinished(how: 'timeout' | 'forced'): Promise<void> {
    const { logger, shutdown } = this.options;
    const running = [...this.inFlight.values()].filter((job) => !job.reporting);
    logger.warn(
      { how, remaining: running.map((job) => job.jobId) },
      'drain deadline: releasing unfinished jobs',
    );
    // By lease: two leases of one job may both be here (an earlier one still ending), and the
    // answer to one of them says nothing about the other.
    const unanswered = new Set(running);
    const releases = running.map(async (job) => {
      if (await job.releaseLease('shutdown')) unanswered.delete(job);
    });
    await shutdown.within(Promise.all(releases), { capMs: releaseWaitMs, reserveMs: closingReserveMs });
    if (unanswered.size > 0)
      shutdown.abandon(
        'releases',
        [...unanswered].map((job) => job.jobId),
      );
    this.outbox.wake();
    const stop = this.forcing.signal;
    await shutdown.within(this.outbox.whenEmpty(), { reserveMs: closingReserveMs, stop });
    if (this.outbox.depth > 0) shutdown.abandon('results', this.outbox.heldJobIds());
    this.outbox.abandonAll();
    // A handler that ignores its signal must not hold the process: the leases are released.
    await shutdown.within(this.slots.onIdle(), { reserveMs: closingReserveMs, stop });
    const stillRunning = [...this.inFlight.values()].map((job) => job.jobId);
    if (stillRunning.length > 0) shutdown.abandon('handlers', stillRunning);
  }

  /** Best effort (the server reaps dead sessions), while the budget lasts. */
  private async deregister(): Promise<void> {
    const { client, clock, logger, shutdown } = this.options;
    for (let attempt = 0; attempt < 4 && shutdown.leftMs(clientCloseReserveMs) > 0; attempt += 1) {
      const timeoutMs = Math.min(1_000, shutdown.leftMs(clientCloseReserveMs));
      let done = false;
      const call = client.deregister(AbortSignal.timeout(timeoutMs)).then(
        () => (done = true),
        (error: unknown) => logger.debug({ err: error, attempt }, 'deregister failed'),
      );
      await shutdown.within(call, { capMs: timeoutMs, reserveMs: clientCloseReserveMs });
      if (done) return;
      const pause = Math.min(1_000, shutdown.leftMs(clientCloseReserveMs));
      if (attempt < 3 && pause > 0) await clock.sleep(pause).catch(() => undefined);
    }
    shutdown.abandon('deregister', true);
  }

  private freeSlots(): number {
    return this.slots.free;
  }

  private async registerLoop(): Promise<void> {
    const { clock, logger } = this.options;
    const request: RegisterRequest = {
      ...this.options.registration,
      // Slots, not a lease cap: jobs waiting off-slot hold leases beyond it (docs/protocol.md §4.1).
      capacity: { maxJobs: this.options.maxConcurrentJobs },
      jobTypes: [...this.options.router.types],
      startedAt: new Date(clock.now()).toISOString(),
    };
    const accepted = await registerUntilAccepted(
      { ...this.options, backoff },
      request,
      this.claimAbort.signal,
      () => !this.stopLoops.signal.aborted && this.stateValue !== 'draining',
      (delayMs) => (this.ticks.heartbeat = this.ticks.claim = clock.monotonic() + delayMs),
    );
    if (!accepted) return;
    this.adoptSession();
    this.registeredAt = clock.monotonic();
    this.contact.answered(accepted.sentAt);
    logger.info(
      { sessionId: accepted.session.sessionId, intervals: this.intervals },
      'registered with the control plane',
    );
  }

  /**
   * The client registers again on its own when a call meets an expired token or an unknown session
   * (an outage longer than the token's life, a control plane that lost its sessions): that
   * registration's intervals are the server's now, and no heartbeat repeats them. Kept from the
   * earlier session, a `sessionGraceMs` the server no longer grants would hold a lease locally past
   * the point where the server has given its job to another replica. Checked on every answer before
   * a heartbeat's own intervals, which change the registration's.
   */
  private adoptSession(): void {
    const session = this.options.client.current;
    if (!session || session.sessionId === this.sessionId) return;
    const replaced = this.sessionId !== undefined;
    this.sessionId = session.sessionId;
    this.contact.applyIntervals(session.registration.intervals, true);
    if (replaced)
      this.options.logger.info(
        { sessionId: session.sessionId, intervals: this.intervals },
        'registered again with the control plane; its intervals apply',
      );
  }

  private connectorState(): ConnectorState {
    if (this.stateValue === 'draining' || this.stateValue === 'stopped') return 'draining';
    if (this.stateValue === 'paused') return 'paused';
    return this.inFlight.size > 0 ? 'busy' : 'idle';
  }

  private async beat(): Promise<void> {
    const { client, clock, logger, metrics } = this.options;
    const sentAt = clock.monotonic();
    // Its timer and its listener on the long-lived stop signal go with the call (on Node 20 an
    // AbortSignal.any over that signal kept an entry for every heartbeat of the process's life).
    const deadline = deadlineSignal(10_000, this.stopLoops.signal);
    const outcome = await sendHeartbeat(
      client,
      {
        sentAt: new Date(clock.now()).toISOString(),
        state: this.connectorState(),
        inFlight: [...this.inFlight.values()].map((job) => job.lease),
        outboxDepth: this.outbox.depth,
        freeSlots: this.freeSlots(),
      },
      () => clock.now(),
      deadline.signal,
    ).finally(() => deadline.release());
    this.contact.answered(sentAt);
    this.adoptSession();
    if (outcome.skew) {
      this.skewMs = outcome.skew.skewMs;
      metrics.clockSkew.set(outcome.skew.skewMs / 1000);
      if (Math.abs(outcome.skew.skewMs) > 60_000)
        logger.warn({ skewMs: Math.round(outcome.skew.skewMs) }, 'clock skew over 60 s');
    }
    if (outcome.response.intervals) this.contact.applyIntervals(outcome.response.intervals);
    for (const leaseId of outcome.response.releaseLeases) {
      const job = this.inFlight.get(leaseId);
      if (job) void job.releaseLease('lease_lost');
    }
    for (const action of outcome.response.actions) this.onAction(action);
  }

  private onAction(action: HeartbeatAction): void {
    this.options.logger.info({ action }, 'control plane action');
    if (action === 'drain') void this.drain();
    if (action === 'pause' && this.stateValue === 'running') {
      this.stateValue = 'paused';
      this.claimAbort.abort();
    }
    if (action === 'resume' && this.stateValue === 'paused') this.stateValue = 'running';
    if (action === 'refresh_token') this.options.client.refreshSoon();
  }

  private async heartbeatLoop(): Promise<void> {
    const { clock, random, logger } = this.options;
    let failures = 0;
    const pace = new FailureLogPace(() => clock.monotonic());
    while (!this.stopLoops.signal.aborted) {
      this.ticks.heartbeat = clock.monotonic();
      let delay = jitteredInterval(this.intervals.heartbeatMs, random.float());
      try {
        await this.beat();
        failures = 0;
        pace.succeeded();
      } catch (error) {
        if (this.stopLoops.signal.aborted) return;
        delay = Math.min(
          delay,
          fullJitterDelay(
            backoff,
            failures,
            random,
            isConnectorError(error) ? error.retryAfterMs : undefined,
          ),
        );
        failures += 1;
        this.contact.failed();
        logger[pace.level()]({ err: error, failures }, 'heartbeat failed');
      }
      await clock.sleep(delay, this.stopLoops.signal).catch(() => undefined);
    }
  }

  private async claimLoop(): Promise<void> {
    const { clock, random, logger, metrics } = this.options;
    let failures = 0;
    let idempotencyKey = random.uuid();
    // When the claim with this key was first sent: a retry's answer may replay what it leased.
    let keyFirstSentAt: number | undefined;
    let fastEmpties = 0;
    const pace = new FailureLogPace(() => clock.monotonic());
    while (this.stateValue === 'running' || this.stateValue === 'paused') {
      this.ticks.claim = clock.monotonic();
      if (this.stateValue === 'paused' || this.claimAbort.signal.aborted) {
        const wasPaused = this.stateValue === 'paused';
        if (wasPaused) await clock.sleep(1_000, this.stopLoops.signal).catch(() => undefined);
        // Resumed: the control plane refuses claims (409 session_draining) until a heartbeat
        // reports another state than `paused` (§4.3), so one goes first.
        if (wasPaused && this.stateValue === 'running') await this.beat().catch(() => undefined);
        // Paused, or paused and resumed again before this loop looked (one heartbeat answer can
        // carry both): claim with a fresh signal. A drain leaves `running` before it aborts.
        this.claimAbort = new AbortController();
        continue;
      }
      this.claimWaitsForSlot = true;
      try {
        await this.slots.whenFree(this.claimAbort.signal);
      } finally {
        this.claimWaitsForSlot = false;
        this.ticks.claim = clock.monotonic();
      }
      if (this.stateValue !== 'running') continue;
      if (this.outbox.depth > 0) {
        await this.heldResultsFirst();
        continue;
      }
      const sentAt = clock.monotonic();
      keyFirstSentAt ??= sentAt;
      try {
        const waitMs = this.intervals.pollWaitMs;
        const maxJobs = this.freeSlots();
        const answered = await this.options.client.claim(
          { maxJobs, waitMs },
          idempotencyKey,
          this.claimAbort.signal,
        );
        const firstSentAt = keyFirstSentAt;
        idempotencyKey = random.uuid();
        keyFirstSentAt = undefined;
        failures = 0;
        pace.succeeded();
        this.contact.answered(sentAt);
        this.adoptSession();
        const jobs = answered.slice(0, maxJobs);
        metrics.claims.inc({ result: jobs.length > 0 ? 'jobs' : 'empty' });
        const ignored = new Set<string>();
        for (const raw of jobs) this.accept(raw, { grantedAt: sentAt, firstSentAt }, ignored);
        if (answered.length > maxJobs) this.releaseSurplus(answered.slice(maxJobs), maxJobs);
        // Let the jobs just accepted reach their first I/O before the next claim's request is
        // built: that fetch's synchronous work otherwise runs ahead of every job's first call.
        if (jobs.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        // With a hold of 0 (pollWaitMs 0) every empty answer is instant: still no tight loop.
        const instant = waitMs === 0 || clock.monotonic() - sentAt < waitMs / 2;
        fastEmpties = jobs.length === 0 && instant ? fastEmpties + 1 : 0;
        if (fastEmpties > 50) {
          fastEmpties = 0;
          logger.warn('control plane answers empty claims instantly; pausing claims');
          await clock.sleep(15_000 + random.float() * 15_000, this.claimAbort.signal).catch(() => undefined);
        }
      } catch (error) {
        if (this.claimAbort.signal.aborted) continue;
        metrics.claims.inc({ result: 'error' });
        const delay = fullJitterDelay(backoff, failures, random, controlPlaneHint(error));
        failures += 1;
        this.contact.failed();
        logger[pace.level()]({ err: error, delayMs: delay, failures }, 'claim failed, backing off');
        this.ticks.claim = clock.monotonic() + delay;
        const wake = linkedSignal(this.claimAbort.signal, this.contact.backSignal);
        await clock
          .sleep(delay, wake.signal)
          .catch(() => undefined)
          .finally(() => wake.release());
      }
    }
  }

  /**
   * Held results go first: no claim while the outbox holds results for leases that may still be
   * valid, so a replica back from an outage delivers before it takes more work (§5.1). Waits in
   * short steps so liveness keeps ticking through a long outage.
   */
  private async heldResultsFirst(): Promise<void> {
    const { clock, logger } = this.options;
    logger.debug({ outboxDepth: this.outbox.depth }, 'results held: claiming after they are delivered');
    const step = new AbortController();
    const stop = linkedSignal(this.claimAbort.signal, step.signal);
    await Promise.race([this.outbox.whenEmpty(), clock.sleep(1_000, stop.signal).catch(() => undefined)]);
    step.abort();
    stop.release();
    this.ticks.claim = clock.monotonic();
  }

  /**
   * A control plane (buggy or hostile) answered a claim with more jobs than it asked for: running
   * them would go past MAX_CONCURRENT_JOBS. Each one whose fence is readable is released at once
   * (reason `capacity`: redelivered now, uncharged); one without can only expire. A lease the
   * answer repeated from the jobs taken is not released: it runs here. One the surplus repeats is
   * released once.
   */
  private releaseSurplus(surplus: readonly unknown[], asked: number): void {
    const { client, logger } = this.options;
    const seen = new Set<string>();
    const leases = surplus.flatMap((raw) => {
      const envelope = parseEnvelope(raw);
      const lease = isUnreadable(envelope) ? envelope.lease : envelope;
      if (!lease || this.inFlight.has(lease.leaseId) || seen.has(lease.leaseId)) return [];
      seen.add(lease.leaseId);
      return [{ jobId: lease.jobId, leaseId: lease.leaseId, fencingToken: lease.fencingToken }];
    });
    logger.warn(
      { asked, received: asked + surplus.length, released: leases.length },
      'claim answered with more jobs than asked for; releasing the surplus',
    );
    for (const lease of leases) {
      client
        .release(lease, 'capacity', AbortSignal.timeout(releaseWaitMs))
        .catch((error: unknown) =>
          logger.debug(
            { err: error, jobId: lease.jobId },
            'surplus lease release not confirmed; it will expire on the server',
          ),
        );
    }
  }

  /**
   * Starts one claimed job: local per-resource ordering on top of the server's. `ignored`: the job
   * ids of this answer's envelopes already logged as unreadable (an answer repeating one logs it once).
   */
  private accept(
    raw: unknown,
    claim: { readonly grantedAt: number; readonly firstSentAt: number },
    ignored: Set<string>,
  ): void {
    const { grantedAt, firstSentAt } = claim;
    const envelope = parseEnvelope(raw);
    const lease = isUnreadable(envelope) ? envelope.lease : envelope;
    if (lease && this.inFlight.has(lease.leaseId)) {
      // A control plane (buggy or hostile) handed out a lease that already runs here, twice in one
      // answer or again later: one lease runs once. Not released either: the copy running holds it.
      this.options.logger.warn(
        { jobId: lease.jobId },
        'claim answered with a lease already running here; the duplicate is ignored',
      );
      return;
    }
    if (!isUnreadable(envelope)) {
      this.launch(new RunningJob(envelope, grantedAt, this.jobDeps(), undefined, firstSentAt));
      return;
    }
    if (!envelope.lease) {
      if (envelope.jobId !== undefined && ignored.has(envelope.jobId)) return;
      if (envelope.jobId !== undefined) ignored.add(envelope.jobId);
      this.options.logger.error(
        { jobId: envelope.jobId, problem: envelope.problem },
        'unreadable job envelope ignored; its lease will expire',
      );
      return;
    }
    // Its fence is readable: the attempt is reported failed, not left to expire TTL after TTL until
    // the job dead-letters as max_attempts_exceeded with its cause only in this log.
    const standIn = standInEnvelope(envelope.lease, this.intervals.leaseTtlMs);
    this.launch(
      new RunningJob(standIn, grantedAt, this.jobDeps(), invalidJob(envelope.problem), firstSentAt),
    );
  }

  private jobDeps(): JobRunnerDeps {
    return {
      ...this.options,
      outbox: this.outbox,
      releaseSlot: (leaseId) => this.slots.park(leaseId),
      sessionHeldUntil: (grantedAt) => this.contact.sessionHeldUntil(grantedAt),
      serverNow: () => this.options.clock.now() + (this.skewMs ?? 0),
    };
  }

  private launch(job: RunningJob): void {
    const { envelope } = job;
    this.inFlight.set(envelope.leaseId, job);
    const previous = this.keyChains.get(envelope.resourceKey) ?? Promise.resolve();
    const ran = this.slots
      .run(envelope.leaseId, () => job.run(previous))
      .finally(() => this.inFlight.delete(envelope.leaseId));
    // The next job of this key waits for this one AND everything before it: a job that ends early
    // (released or cancelled while it waited for its turn) must not let its successor overtake.
    const link: Promise<void> = Promise.allSettled([previous, ran]).then(() => {
      if (this.keyChains.get(envelope.resourceKey) === link) this.keyChains.delete(envelope.resourceKey);
    });
    this.keyChains.set(envelope.resourceKey, link);
  }
}
