import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FakeClock, flushMicrotasks, settleUntil } from '../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../test/fakes/fake-random.js';
import { envelope, FakeControlPlane, httpError } from '../../test/fakes/fake-control-plane.js';
import type { Intervals } from '../control-plane/protocol.js';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { createMetrics } from '../admin/metrics.js';
import { ConnectorError } from '../errors/connector-error.js';
import { loadConfig } from '../config/env.js';
import { createJobRouter, type JobHandler, pingHandler } from './job-handlers.js';
import { ShutdownBudget, shutdownTailMs } from './shutdown-budget.js';
import { Worker, type WorkerOptions } from './worker.js';

type Tweaks = Partial<Pick<WorkerOptions, 'drainTimeoutMs' | 'maxConcurrentJobs' | 'maxWaitingJobs'>>;

function setup(tweaks: Tweaks = {}) {
  const clock = new FakeClock();
  const cp = new FakeControlPlane(clock);
  const logs = captureLogs();
  const metrics = createMetrics('test');
  const gated = gatedJobs(() => worker.status().waitingJobIds);
  const shutdown = new ShutdownBudget(clock);
  const worker = new Worker({
    client: cp,
    router: createJobRouter({
      ping: pingHandler,
      gated: gated.handler as JobHandler,
      stuck: stuckHandler as JobHandler,
      claimTime: claimTimeHandler as JobHandler,
    }),
    policy: loadConfig({}).policy,
    clock,
    random: new FakeRandom([0.5]),
    logger: logs.logger,
    scrubber: logs.scrubber,
    metrics,
    maxConcurrentJobs: 2,
    maxWaitingJobs: 32,
    drainTimeoutMs: 30_000,
    shutdown,
    maxPayloadBytes: 4096,
    registration: { connectorId: 'c1', instanceId: 'i1', version: 'test', protocol: 1, features: [] },
    ...tweaks,
  });
  return { clock, cp, worker, logs, gated, metrics, shutdown };
}

/** Succeeds with the claim time its context carries. */
const claimTimeHandler: JobHandler<Record<string, never>> = {
  payloadSchema: z.object({}),
  needsIntegration: false,
  run: (_payload, ctx) => Promise.resolve({ claimedAtMs: ctx.claimedAtMs }),
};

/** A handler with an await that was not given ctx.signal: only the process's exit ends it. */
const stuckHandler: JobHandler<Record<string, never>> = {
  payloadSchema: z.object({}),
  needsIntegration: false,
  run: () => new Promise(() => undefined),
};

/**
 * Jobs that "write" for 1 s, give their slot back when their payload says so, then hold until
 * the test opens their gate (or their signal aborts). Records how many unparked handlers ran at once.
 */
function gatedJobs(waitingJobIds: () => readonly string[]) {
  const gates = new Map<string, { opened: Promise<void>; open: () => void }>();
  const gate = (id: string) => {
    let entry = gates.get(id);
    if (!entry) {
      let open = (): void => undefined;
      const opened = new Promise<void>((resolve) => (open = resolve));
      entry = { opened, open };
      gates.set(id, entry);
    }
    return entry;
  };
  const running = new Set<string>();
  const seen = { started: [] as string[], maxUnparked: 0, maxParked: 0 };
  const observe = (): void => {
    const waiting = waitingJobIds();
    const unparked = [...running].filter((id) => !waiting.includes(id)).length;
    seen.maxUnparked = Math.max(seen.maxUnparked, unparked);
    seen.maxParked = Math.max(seen.maxParked, waiting.length);
  };
  const handler: JobHandler<{ park: boolean }> = {
    payloadSchema: z.object({ park: z.boolean() }),
    needsIntegration: false,
    async run(payload, ctx) {
      running.add(ctx.jobId);
      seen.started.push(ctx.jobId);
      observe();
      try {
        await ctx.clock.sleep(1_000, ctx.signal);
        ctx.beforeSideEffect();
        if (payload.park) ctx.releaseSlot();
        observe();
        await Promise.race([gate(ctx.jobId).opened, abortOf(ctx.signal)]);
        return { done: ctx.jobId };
      } finally {
        running.delete(ctx.jobId);
      }
    },
  };
  return { handler, seen, open: (id: string) => gate(id).open() };
}

const abortOf = (signal: AbortSignal) =>
  new Promise<never>((_resolve, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
  );

const gatedJob = (id: string, park: boolean) =>
  envelope({
    jobId: id,
    leaseId: `lease-${id}`,
    type: 'gated',
    resourceKey: `job/${id}`,
    payload: JSON.stringify({ park }),
  });

const ping = (id: string, delayMs: number, resourceKey = `job/${id}`) =>
  envelope({
    jobId: id,
    leaseId: `lease-${id}`,
    resourceKey,
    payload: JSON.stringify({ echo: id, delayMs }),
  });

describe('Worker', () => {
  it('registers, heartbeats, runs claimed jobs and becomes ready', async () => {
    const { clock, cp, worker } = setup();
    cp.queue.push(ping('a', 1_000));
    worker.start();
    await clock.advance(1_000);
    expect(cp.calls.register).toHaveLength(1);
    expect(cp.calls.register[0]?.jobTypes).toEqual(['ping', 'gated', 'stuck', 'claimTime']);
    expect(cp.calls.heartbeat.length).toBeGreaterThanOrEqual(1);
    expect(worker.isReady()).toBe(true);
    expect(cp.calls.results.map((r) => r.body.result)).toEqual([{ echo: 'a' }]);
    await worker.drain();
  });

  it('lets the jobs it just leased start before it sends the next claim', async () => {
    const { clock, cp, worker, gated } = setup();
    cp.queue.push(gatedJob('a', false));
    const startedBeforeClaim: string[][] = [];
    const claim = cp.claim.bind(cp);
    cp.claim = (...args) => {
      startedBeforeClaim.push([...gated.seen.started]);
      return claim(...args);
    };
    worker.start();
    await clock.advance(100);
    expect(startedBeforeClaim.slice(0, 2)).toEqual([[], ['a']]);
    gated.open('a');
    await clock.advance(1_000);
    await worker.drain();
  });

  it('claims only as many jobs as it has free slots', async () => {
    const { clock, cp, worker } = setup();
    cp.queue.push(ping('a', 5_000), ping('b', 5_000), ping('c', 5_000));
    worker.start();
    await clock.advance(100);
    expect(cp.calls.claim[0]?.request.maxJobs).toBe(2);
    expect(worker.status().inFlightJobIds).toEqual(['a', 'b']);
    await clock.advance(5_000);
    await clock.advance(5_000);
    expect(cp.calls.results.map((r) => r.jobId).sort()).toEqual(['a', 'b', 'c']);
    await worker.drain();
  });

  it('runs jobs with the same resource key one after the other', async () => {
    const { clock, cp, worker } = setup();
    cp.queue.push(ping('a', 5_000, 'p/u'), ping('b', 5_000, 'p/u'));
    worker.start();
    await clock.advance(5_000);
    expect(cp.calls.results.map((r) => r.jobId)).toEqual(['a']);
    await clock.advance(5_000);
    expect(cp.calls.results.map((r) => r.jobId)).toEqual(['a', 'b']);
    await worker.drain();
  });

  it('drains: stops claiming, lets in-flight jobs finish and report, then deregisters', async () => {
    const { clock, cp, worker } = setup();
    cp.queue.push(ping('a', 10_000));
    worker.start();
    await clock.advance(100);
    const claimsBefore = cp.calls.claim.length;
    const drained = worker.drain();
    expect(worker.state).toBe('draining');
    expect(worker.isReady()).toBe(false);
    await clock.advance(10_000);
    await drained;
    expect(cp.calls.claim).toHaveLength(claimsBefore);
    expect(cp.calls.results.map((r) => r.jobId)).toEqual(['a']);
    expect(cp.calls.release).toEqual([]);
    expect(cp.calls.deregister).toBe(1);
    expect(worker.state).toBe('stopped');
    expect(cp.calls.heartbeat.some((h) => h.state === 'draining')).toBe(true);
  });

  it('releases jobs still running at the drain deadline instead of reporting them', async () => {
    const { clock, cp, worker, shutdown } = setup({ drainTimeoutMs: 3_000 });
    cp.queue.push(ping('slow', 600_000));
    worker.start();
    await clock.advance(100);
    const drained = worker.drain();
    await clock.advance(3_000);
    await drained;
    expect(cp.calls.release).toEqual([
      { lease: { jobId: 'slow', leaseId: 'lease-slow', fencingToken: 7 }, reason: 'shutdown' },
    ]);
    expect(cp.calls.results).toEqual([]);
    expect(cp.calls.deregister).toBe(1);
    expect(shutdown.steps(), 'the release was answered: nothing given up').toEqual({});
  });

  it('takes a drain-deadline release answered 409 as answered: the server had already moved on', async () => {
    const { clock, cp, worker, shutdown } = setup({ drainTimeoutMs: 3_000 });
    cp.queue.push(ping('slow', 600_000));
    cp.releaseBehaviour = () => httpError('conflict', 'lease_lost');
    worker.start();
    await clock.advance(100);
    const drained = worker.drain();
    await clock.advance(3_000);
    await drained;
    expect(cp.calls.release.map((r) => r.reason)).toEqual(['shutdown']);
    expect(shutdown.steps()).toEqual({});
  });

  it('forces the drain when asked to (a second signal)', async () => {
    const { clock, cp, worker } = setup({ drainTimeoutMs: 600_000 });
    cp.queue.push(ping('slow', 600_000));
    worker.start();
    await clock.advance(100);
    void worker.drain();
    await clock.advance(100);
    await worker.force();
    expect(cp.calls.release.map((r) => r.lease.jobId)).toEqual(['slow']);
    expect(worker.state).toBe('stopped');
  });

  it('does not force a drain asked for twice: the control plane’s drain action, then a SIGTERM', async () => {
    const { clock, cp, worker } = setup({ drainTimeoutMs: 60_000 });
    cp.queue.push(ping('slow', 30_000));
    cp.heartbeatBehaviour = (call) => (call === 2 ? { actions: ['drain'] } : {});
    worker.start();
    await clock.advance(16_000);
    expect(worker.state).toBe('draining');
    const drained = worker.drain(); // the rollout's SIGTERM
    await clock.advance(20_000);
    await drained;
    // The job had its time: it finished and reported, nothing was released.
    expect(cp.calls.release).toEqual([]);
    expect(cp.calls.results.map((r) => r.body.outcome)).toEqual(['succeeded']);
  });

  it('drains when a heartbeat asks it to', async () => {
    const { clock, cp, worker } = setup();
    cp.heartbeatBehaviour = (call) => (call === 2 ? { actions: ['drain'] } : {});
    let stopped = false;
    void worker.stopped.then(() => (stopped = true));
    worker.start();
    await clock.advance(12_000);
    await clock.advance(1_000);
    expect(worker.state).toBe('stopped');
    expect(cp.calls.deregister).toBe(1);
    // What the process waits on before it exits.
    expect(stopped).toBe(true);
  });

  it('tracks each lease of a job: a later attempt stays in flight when the earlier one ends', async () => {
    const { clock, cp, worker } = setup({ drainTimeoutMs: 3_000 });
    const second = envelope({ ...ping('a', 60_000), attempt: 2, leaseId: 'lease-a2', fencingToken: 8 });
    cp.queue.push(ping('a', 500), second);
    worker.start();
    await clock.advance(1_000);
    // The first attempt has reported; the second runs (its turn came after the first, same key).
    expect(cp.calls.results.map((r) => r.attempt)).toEqual([1]);
    expect(worker.status().inFlightJobIds).toEqual(['a']);
    const beats = cp.calls.heartbeat.length;
    await clock.advance(20_000);
    expect(cp.calls.heartbeat.length).toBeGreaterThan(beats);
    expect(cp.calls.heartbeat.at(-1)?.inFlight).toEqual([
      { jobId: 'a', leaseId: 'lease-a2', fencingToken: 8 },
    ]);
    // The drain deadline releases the running attempt by its own lease.
    const drained = worker.drain();
    await clock.advance(3_000);
    await drained;
    expect(cp.calls.release.map((r) => r.lease.leaseId)).toEqual(['lease-a2']);
  });

  it('keeps a later lease’s slot accounting when the earlier lease of its job ends after it started', async () => {
    const { clock, cp, worker, gated } = setup({ maxConcurrentJobs: 2, maxWaitingJobs: 1 });
    const first = gatedJob('a', false);
    const second = { ...gatedJob('a', true), attempt: 2, leaseId: 'lease-a2', fencingToken: 8 };
    // The release of the first lease stays unanswered until the test lets it through.
    let answerRelease = (): void => undefined;
    const releaseAnswered = new Promise<void>((resolve) => (answerRelease = resolve));
    const release = cp.release.bind(cp);
    cp.release = async (lease, reason, signal) => {
      if (lease.leaseId === 'lease-a') {
        cp.calls.release.push({ lease, reason });
        await releaseAnswered;
        return;
      }
      return release(lease, reason, signal);
    };
    cp.queue.push(first);
    worker.start();
    await clock.advance(2_000);
    expect(gated.seen.started).toEqual(['a']);
    // The server takes the first lease back; while its release is in flight, it leases the job
    // here again.
    cp.heartbeatBehaviour = () => ({ releaseLeases: ['lease-a'] });
    await clock.advance(10_000);
    cp.heartbeatBehaviour = () => ({});
    expect(cp.calls.release.map((r) => r.lease.leaseId)).toEqual(['lease-a']);
    cp.queue.push(second);
    await clock.advance(20_000);
    expect(worker.status().inFlightJobIds).toEqual(['a', 'a']);
    // The first lease's task ends now, after the second lease's task started.
    answerRelease();
    await clock.advance(2_000);
    expect(gated.seen.started).toEqual(['a', 'a']);
    expect(worker.status()).toMatchObject({ inFlightJobIds: ['a'], waitingJobIds: ['a'], freeSlots: 2 });
    gated.open('a');
    await clock.advance(100);
    expect(cp.calls.results.map((r) => [r.jobId, r.attempt, r.body.leaseId])).toEqual([['a', 2, 'lease-a2']]);
    expect(worker.status()).toMatchObject({ inFlightJobIds: [], waitingJobIds: [], freeSlots: 2 });
    await worker.drain();
  });

  it('keeps claiming after a pause and a resume in the same heartbeat answer', async () => {
    const { clock, cp, worker } = setup();
    cp.heartbeatBehaviour = (call) => (call === 2 ? { actions: ['pause', 'resume'] } : {});
    worker.start();
    await clock.advance(12_000);
    expect(cp.calls.heartbeat.length).toBeGreaterThanOrEqual(2);
    cp.queue.push(ping('after', 10));
    await clock.advance(60_000);
    expect(worker.state).toBe('running');
    expect(cp.calls.results.map((r) => r.jobId)).toEqual(['after']);
    await worker.drain();
  });

  it('tells the control plane it resumed before it claims again, so no claim meets session_draining', async () => {
    const { clock, cp, worker, metrics } = setup();
    // Heartbeat 2 pauses; heartbeat 3 (which reports `paused`) resumes.
    cp.heartbeatBehaviour = (call) =>
      call === 2 ? { actions: ['pause'] } : call === 3 ? { actions: ['resume'] } : {};
    // As the reference control plane does (§4.3): no claim while the last heartbeat said paused.
    const refused: string[] = [];
    const claim = cp.claim.bind(cp);
    cp.claim = async (request, key, signal) => {
      if (cp.calls.heartbeat.at(-1)?.state === 'paused') {
        refused.push(key);
        throw httpError('conflict', 'session_draining');
      }
      return claim(request, key, signal);
    };
    worker.start();
    await clock.advance(15_000);
    expect(worker.state).toBe('paused');
    cp.queue.push(ping('resumed', 10));
    await clock.advance(5_500);
    expect(cp.calls.heartbeat.slice(0, 3).map((beat) => beat.state)).toEqual(['idle', 'idle', 'paused']);
    expect(worker.state).toBe('running');
    // Well before the next scheduled heartbeat (30 s).
    await clock.advance(3_000);
    expect(cp.calls.results.map((r) => r.jobId)).toEqual(['resumed']);
    expect(refused).toEqual([]);
    expect(await metrics.registry.getSingleMetricAsString('atlas_connector_claims_total')).not.toContain(
      'result="error"',
    );
    await worker.drain();
  });

  it('does not claim in a tight loop when the control plane asks for no long-poll (pollWaitMs 0)', async () => {
    const { cp, worker, logs } = setup();
    const register = cp.register.bind(cp);
    cp.register = async (request) => {
      const session = await register(request);
      const intervals = { ...session.registration.intervals, pollWaitMs: 0 };
      cp.current = { ...session, registration: { ...session.registration, intervals } };
      return cp.current;
    };
    // Every empty claim is answered at once, as a hold of 0 makes the reference control plane do.
    cp.claim = async (request, key) => {
      cp.calls.claim.push({ request, key });
      await new Promise<void>((resolve) => setImmediate(resolve));
      return [];
    };
    const paused = () => logs.text().includes('control plane answers empty claims instantly; pausing claims');
    worker.start();
    await settleUntil(() => cp.calls.claim.length >= 200 || paused(), 'the claim guard or 200 claims');
    const claims = cp.calls.claim.length;
    await flushMicrotasks(50);
    expect(paused()).toBe(true);
    // Paused on the (fake) clock: not one more claim while it stands still.
    expect(cp.calls.claim.length).toBe(claims);
    expect(claims).toBe(51);
    await worker.drain();
  });

  it('runs a job whose notAfter has not passed on the server, though this replica’s clock runs ahead', async () => {
    const { clock, cp, worker } = setup();
    cp.heartbeatBehaviour = () => ({ serverTime: new Date(clock.now() - 60_000).toISOString() });
    worker.start();
    await clock.advance(100);
    expect(worker.status().clockSkewMs).toBe(-60_000);
    cp.queue.push(envelope({ ...ping('late', 10), notAfter: new Date(clock.now() - 30_000).toISOString() }));
    await clock.advance(30_000);
    expect(cp.calls.results.map((r) => [r.jobId, r.body.outcome])).toEqual([['late', 'succeeded']]);
    await worker.drain();
  });

  it('estimates clock skew from heartbeats', async () => {
    const { clock, cp, worker } = setup();
    cp.heartbeatBehaviour = () => ({ serverTime: new Date(clock.now() + 90_000).toISOString() });
    worker.start();
    await clock.advance(100);
    expect(worker.status().clockSkewMs).toBe(90_000);
    await worker.drain();
  });
});

describe('Worker: the claim time a job carries (JobContext.claimedAtMs)', () => {
  // A retry with the same Idempotency-Key may replay leases the first request took, with the
  // configuration resolved then: a sweep must not take that configuration for a later one.
  it('is when the first request of a retried claim was sent, not the retry', async () => {
    const { clock, cp, worker } = setup();
    const claim = cp.claim.bind(cp);
    const sent: { key: string; atMs: number }[] = [];
    cp.claim = (request, key, signal) => {
      sent.push({ key, atMs: clock.now() });
      // The first request's connection drops after 2 s (its answer, if any, lost).
      if (sent.length === 1)
        return clock.sleep(2_000).then(() => Promise.reject(new Error('socket hang up')));
      if (sent.length === 2)
        return Promise.resolve([envelope({ jobId: 'swept', type: 'claimTime', payload: '{}' })]);
      return claim(request, key, signal);
    };
    worker.start();
    await clock.advance(2_100); // the first request fails on the network
    await clock.advance(5_000); // the backoff, the retry with the same key, and its job's run
    await settleUntil(
      () => cp.calls.results.length > 0 && sent.length > 2,
      'the job reported, the next claim',
    );
    expect(sent[1]?.key).toBe(sent[0]?.key);
    expect(sent[1]!.atMs).toBeGreaterThan(sent[0]!.atMs);
    expect(cp.calls.results[0]?.body).toMatchObject({ result: { claimedAtMs: sent[0]?.atMs } });
    // The next claim is a new one: its jobs carry its own send time.
    expect(sent[2]?.key).not.toBe(sent[0]?.key);
    await worker.drain();
  });
});

describe('Worker: a claim answered with more jobs than it asked for', () => {
  it('runs what it asked for, releases the rest at once for redelivery, and warns once naming the counts', async () => {
    const { clock, cp, worker, gated, logs } = setup({ maxConcurrentJobs: 2, maxWaitingJobs: 0 });
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const claim = cp.claim.bind(cp);
    let answered = false;
    // A buggy or hostile control plane: five jobs for a claim of two.
    cp.claim = (request, key, signal) => {
      if (answered) return claim(request, key, signal);
      answered = true;
      cp.calls.claim.push({ request, key });
      return Promise.resolve([...ids.map((id) => gatedJob(id, false)), { jobId: 'f', leaseId: 7 }]);
    };
    worker.start();
    await clock.advance(100);
    expect(cp.calls.claim[0]?.request.maxJobs).toBe(2);
    expect(gated.seen.started).toEqual(['a', 'b']);
    expect(worker.status().inFlightJobIds).toEqual(['a', 'b']);
    expect(cp.calls.release.map((r) => [r.lease.jobId, r.lease.leaseId, r.reason])).toEqual([
      ['c', 'lease-c', 'capacity'],
      ['d', 'lease-d', 'capacity'],
      ['e', 'lease-e', 'capacity'],
    ]);
    const warnings = logs
      .lines()
      .filter((l) => l.msg === 'claim answered with more jobs than asked for; releasing the surplus');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ asked: 2, received: 6, released: 3 });
    // The surplus never runs here, not even once a slot frees up.
    gated.open('a');
    gated.open('b');
    await clock.advance(3_000);
    expect(gated.seen.started).toEqual(['a', 'b']);
    expect(cp.calls.results.map((r) => r.jobId)).toEqual(['a', 'b']);
    await worker.drain();
  });

  it('releases a surplus lease listed twice once', async () => {
    const { clock, cp, worker, gated, logs } = setup({ maxConcurrentJobs: 1, maxWaitingJobs: 0 });
    const claim = cp.claim.bind(cp);
    let answered = false;
    cp.claim = (request, key, signal) => {
      if (answered) return claim(request, key, signal);
      answered = true;
      cp.calls.claim.push({ request, key });
      return Promise.resolve([gatedJob('a', false), gatedJob('b', false), gatedJob('b', false)]);
    };
    worker.start();
    await clock.advance(100);
    expect(gated.seen.started).toEqual(['a']);
    expect(cp.calls.release.map((r) => [r.lease.leaseId, r.reason])).toEqual([['lease-b', 'capacity']]);
    const warnings = logs
      .lines()
      .filter((l) => l.msg === 'claim answered with more jobs than asked for; releasing the surplus');
    expect(warnings).toMatchObject([{ asked: 1, received: 3, released: 1 }]);
    gated.open('a');
    await clock.advance(3_000);
    await worker.drain();
  });
});

describe('Worker: a claim answer that repeats a lease', () => {
  const duplicateWarnings = (logs: ReturnType<typeof setup>['logs']) =>
    logs
      .lines()
      .filter((l) => l.msg === 'claim answered with a lease already running here; the duplicate is ignored');

  it('runs a lease listed twice in one answer once, keeps tracking it, and never releases it', async () => {
    const { clock, cp, worker, gated, logs } = setup({ maxConcurrentJobs: 2, maxWaitingJobs: 0 });
    cp.queue.push(gatedJob('a', false), gatedJob('a', false));
    worker.start();
    await clock.advance(100);
    expect(gated.seen.started).toEqual(['a']);
    expect(worker.status().inFlightJobIds).toEqual(['a']);
    expect(cp.calls.release).toEqual([]);
    gated.open('a');
    await clock.advance(3_000);
    expect(gated.seen.started).toEqual(['a']);
    expect(cp.calls.results.map((r) => r.jobId)).toEqual(['a']);
    expect(worker.status().inFlightJobIds).toEqual([]);
    await worker.drain();
    const warnings = duplicateWarnings(logs);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', jobId: 'a' });
  });

  it('ignores a later answer that hands out a lease already running here', async () => {
    const { clock, cp, worker, gated, logs } = setup({ maxConcurrentJobs: 2, maxWaitingJobs: 0 });
    const claim = cp.claim.bind(cp);
    // The first two claims both hand out lease-a.
    cp.claim = (request, key, signal) => {
      if (cp.calls.claim.length >= 2) return claim(request, key, signal);
      cp.calls.claim.push({ request, key });
      return Promise.resolve([gatedJob('a', false)]);
    };
    worker.start();
    await clock.advance(100);
    expect(cp.calls.claim.length).toBeGreaterThanOrEqual(2);
    expect(cp.calls.release).toEqual([]);
    // The drain deadline still finds the one running copy and hands its lease back once.
    const drained = worker.drain();
    await clock.advance(30_000);
    await drained;
    expect(cp.calls.release.map((r) => [r.lease.leaseId, r.reason])).toEqual([['lease-a', 'shutdown']]);
    expect(gated.seen.started).toEqual(['a']);
    expect(duplicateWarnings(logs)).toHaveLength(1);
  });
});

describe('Worker: jobs waiting off-slot', () => {
  const resultsOf = (cp: FakeControlPlane) => cp.calls.results.map((r) => r.jobId);

  it('starts another job while a parked job waits, and the parked job still reports its result', async () => {
    const { clock, cp, worker, gated, metrics } = setup({ maxConcurrentJobs: 1 });
    cp.queue.push(gatedJob('a', true), gatedJob('b', false));
    gated.open('b');
    worker.start();
    await clock.advance(100);
    expect(gated.seen.started).toEqual(['a']);
    await clock.advance(3_000);
    expect(gated.seen.started).toEqual(['a', 'b']);
    expect(resultsOf(cp)).toEqual(['b']);
    expect(worker.status()).toMatchObject({ inFlightJobIds: ['a'], waitingJobIds: ['a'] });
    expect((await metrics.jobsWaiting.get()).values[0]?.value).toBe(1);
    gated.open('a');
    await clock.advance(100);
    expect(resultsOf(cp)).toEqual(['b', 'a']);
    expect(cp.calls.results[1]?.body).toMatchObject({
      leaseId: 'lease-a',
      outcome: 'succeeded',
      result: { done: 'a' },
    });
    expect(worker.status()).toMatchObject({ inFlightJobIds: [], waitingJobIds: [] });
    expect((await metrics.jobsWaiting.get()).values[0]?.value).toBe(0);
    await worker.drain();
  });

  it('does not start a second job before the first ends when MAX_WAITING_JOBS is 0', async () => {
    const { clock, cp, worker, gated } = setup({ maxConcurrentJobs: 1, maxWaitingJobs: 0 });
    cp.queue.push(gatedJob('a', true), gatedJob('b', false));
    gated.open('b');
    worker.start();
    await clock.advance(5_000);
    expect(gated.seen.started).toEqual(['a']);
    expect(worker.status().waitingJobIds).toEqual([]);
    expect(cp.queue).toHaveLength(1);
    gated.open('a');
    await clock.advance(3_000);
    expect(gated.seen.started).toEqual(['a', 'b']);
    expect(resultsOf(cp)).toEqual(['a', 'b']);
    await worker.drain();
  });

  it('keeps the slot of a job that asks to park once the waiting allowance is used up', async () => {
    const { clock, cp, worker, gated } = setup({ maxConcurrentJobs: 1, maxWaitingJobs: 1 });
    cp.queue.push(gatedJob('a', true), gatedJob('b', true), gatedJob('c', true));
    worker.start();
    await clock.advance(5_000);
    expect(gated.seen.started).toEqual(['a', 'b']);
    expect(worker.status().waitingJobIds).toEqual(['a']);
    expect(cp.queue).toHaveLength(1);
    gated.open('b');
    await clock.advance(3_000);
    expect(gated.seen.started).toEqual(['a', 'b', 'c']);
    expect(worker.status().waitingJobIds).toEqual(['a']);
    gated.open('a');
    gated.open('c');
    await clock.advance(100);
    expect(resultsOf(cp).sort()).toEqual(['a', 'b', 'c']);
    await worker.drain();
  });

  it('never runs more than maxConcurrentJobs unparked handlers at once', async () => {
    const { clock, cp, worker, gated } = setup({ maxConcurrentJobs: 2, maxWaitingJobs: 2 });
    const ids = ['j0', 'j1', 'j2', 'j3', 'j4', 'j5', 'j6', 'j7'];
    cp.queue.push(...ids.map((id, i) => gatedJob(id, i % 3 !== 2)));
    worker.start();
    for (const id of ids) {
      await clock.advance(1_500);
      gated.open(id);
    }
    await clock.advance(3_000);
    expect(resultsOf(cp).sort()).toEqual(ids);
    expect(gated.seen.maxUnparked).toBe(2);
    expect(gated.seen.maxParked).toBe(2);
    await worker.drain();
  });

  it("keeps extending a parked job's lease and listing it in heartbeats", async () => {
    const { clock, cp, worker, gated } = setup({ maxConcurrentJobs: 1 });
    cp.queue.push(gatedJob('a', true));
    worker.start();
    await clock.advance(2_000);
    expect(worker.status().waitingJobIds).toEqual(['a']);
    const extendsBefore = cp.calls.extend.length;
    const heartbeatsBefore = cp.calls.heartbeat.length;
    await clock.advance(60_000);
    expect(cp.calls.extend.length - extendsBefore).toBeGreaterThanOrEqual(5);
    const lease = { jobId: 'a', leaseId: 'lease-a', fencingToken: 7 };
    const heartbeats = cp.calls.heartbeat.slice(heartbeatsBefore);
    expect(heartbeats.length).toBeGreaterThan(0);
    expect(heartbeats.every((h) => h.inFlight.some((l) => l.leaseId === lease.leaseId))).toBe(true);
    expect(heartbeats.at(-1)).toMatchObject({ state: 'busy', inFlight: [lease], freeSlots: 1 });
    gated.open('a');
    await clock.advance(100);
    expect(cp.calls.release).toEqual([]);
    expect(cp.calls.results[0]?.body).toMatchObject({ leaseId: 'lease-a', outcome: 'succeeded' });
    await worker.drain();
  });

  it('drains only after a parked job finishes and reports', async () => {
    const { clock, cp, worker, gated } = setup({ maxConcurrentJobs: 1 });
    cp.queue.push(gatedJob('a', true));
    worker.start();
    await clock.advance(2_000);
    expect(worker.status().waitingJobIds).toEqual(['a']);
    const drained = worker.drain();
    await clock.advance(10_000);
    expect(worker.state).toBe('draining');
    expect(cp.calls.results).toEqual([]);
    gated.open('a');
    await clock.advance(100);
    await drained;
    expect(resultsOf(cp)).toEqual(['a']);
    expect(cp.calls.release).toEqual([]);
    expect(worker.state).toBe('stopped');
  });

  it('releases a parked job still waiting at the drain deadline', async () => {
    const { clock, cp, worker } = setup({ maxConcurrentJobs: 1, drainTimeoutMs: 3_000 });
    cp.queue.push(gatedJob('a', true));
    worker.start();
    await clock.advance(2_000);
    const drained = worker.drain();
    await clock.advance(3_000);
    await drained;
    expect(cp.calls.release.map((r) => [r.lease.jobId, r.reason])).toEqual([['a', 'shutdown']]);
    expect(cp.calls.results).toEqual([]);
    expect(worker.state).toBe('stopped');
  });
});

describe('Worker: failed jobs', () => {
  it('counts a failed job by type and error code, and logs the expected failure without a stack', async () => {
    const { clock, cp, worker, metrics, logs } = setup();
    cp.queue.push(
      envelope({ type: 'ping', jobId: 'bad', leaseId: 'lease-bad', payload: '{"delayMs":"soon"}' }),
    );
    worker.start();
    await clock.advance(1_000);

    const failed = (await metrics.jobsFailed.get()).values.map(({ labels, value }) => ({ labels, value }));
    expect(failed).toEqual([{ labels: { type: 'ping', code: 'invalid_job' }, value: 1 }]);
    const line = logs.lines().find((l) => l.msg === 'job failed');
    expect(line).toMatchObject({ level: 'warn', code: 'invalid_job' });
    expect(JSON.stringify(line)).not.toContain('"stack"');
    await worker.drain();
  });
});

describe('Worker: job metrics', () => {
  it('labels a job of a type this build does not run as unknown, so a control plane cannot grow the series', async () => {
    const { clock, cp, worker, metrics } = setup();
    for (const n of [1, 2, 3])
      cp.queue.push(envelope({ type: `grant-v${n}`, jobId: `j${n}`, leaseId: `lease-j${n}`, payload: '{}' }));
    worker.start();
    await clock.advance(1_000);
    await settleUntil(() => cp.calls.results.length === 3, 'three results');

    const families = [metrics.jobsStarted, metrics.jobsCompleted, metrics.jobsFailed, metrics.jobsInFlight];
    const types = new Set<unknown>();
    for (const family of families)
      for (const { labels } of (await family.get()).values) types.add(labels.type);
    for (const { labels } of (await metrics.jobDuration.get()).values) types.add(labels.type);
    expect([...types]).toEqual(['unknown']);
    await worker.drain();
  });
});

describe('Worker: liveness while the control plane asks for a long Retry-After', () => {
  // A maintenance window answered `503 Retry-After: 600` (by the control plane or a load balancer
  // in front of it) is an outage: the loops wait as asked, and /livez must not restart the pod.
  const maintenance = () => httpError('upstream_unavailable', undefined, 600_000);
  const liveness = async (worker: Worker, clock: FakeClock) => {
    const samples: [number, boolean][] = [];
    for (let t = 50; t <= 550; t += 50) {
      await clock.advance(50_000);
      samples.push([t, worker.isLive()]);
    }
    return samples.filter(([, live]) => !live);
  };

  it('stays live while registration waits out the hint', async () => {
    const { clock, cp, worker } = setup();
    const register = cp.register.bind(cp);
    let refusals = 0;
    cp.register = async (request) => {
      if (refusals++ === 0) throw maintenance();
      return register(request);
    };
    worker.start();
    expect(await liveness(worker, clock)).toEqual([]);
    await clock.advance(60_000);
    expect(worker.status().registered).toBe(true);
    await worker.drain();
  });

  it('stays live while the claim loop waits out the hint', async () => {
    const { clock, cp, worker } = setup();
    worker.start();
    await clock.advance(1_000);
    expect(worker.isReady()).toBe(true);
    cp.claim = () => Promise.reject(maintenance());
    cp.heartbeatBehaviour = () => maintenance();
    expect(await liveness(worker, clock)).toEqual([]);
    await worker.drain();
  });

  it('asks again after 15 minutes when a hint is far longer, so /livez stays bounded', async () => {
    // A load balancer's `Retry-After: 86400` (or an HTTP date on a skewed clock): waited out in
    // full, the replica would sit unregistered for a day while /livez stayed green.
    const { clock, cp, worker } = setup();
    const register = cp.register.bind(cp);
    let refusals = 0;
    cp.register = async (request) => {
      if (refusals++ === 0) throw httpError('upstream_unavailable', undefined, 86_400_000);
      return register(request);
    };
    worker.start();
    for (let waited = 0; !worker.status().registered && waited < 3_600_000; waited += 60_000)
      await clock.advance(60_000);
    expect(worker.status().registered).toBe(true);
    expect(clock.monotonic()).toBeLessThanOrEqual(16 * 60_000);
    await worker.drain();
  });
});

describe('Worker: registration log lines', () => {
  // Neither failure is the network: the operator must not be sent after DNS, TLS, proxies and
  // NetworkPolicies. The token file is re-read at each registration, so a rotation may leave it
  // unreadable (or with two tokens in it); a control plane that answers was reached.
  it.each([
    [
      'an enrollment token file it cannot use',
      () =>
        new ConnectorError({
          code: 'config_invalid',
          message: 'CONTROL_PLANE_TOKEN_FILE: cannot read /var/run/token',
        }),
      'enrollment token unusable; check CONTROL_PLANE_TOKEN_FILE or CONTROL_PLANE_TOKEN',
    ],
    [
      'a 400 invalid_request (a body or protocol version the control plane does not take)',
      () => httpError('invalid_request', 'invalid_request'),
      'control plane refused the registration; check CONTROL_PLANE_URL and the connector version',
    ],
    [
      'a 404 not_found (a CONTROL_PLANE_URL with a wrong path)',
      () => httpError('not_found', 'not_found'),
      'control plane refused the registration; check CONTROL_PLANE_URL and the connector version',
    ],
  ] as const)('names %s at error level, not the network', async (_case, refusal, msg) => {
    const { clock, cp, worker, logs } = setup();
    const register = cp.register.bind(cp);
    let refusals = 0;
    cp.register = async (request) => {
      if (refusals++ === 0) throw refusal();
      return register(request);
    };
    worker.start();
    for (let waited = 0; !worker.status().registered && waited < 600_000; waited += 10_000)
      await clock.advance(10_000);
    expect(worker.status().registered).toBe(true);
    const line = logs.lines().find((l) => l.level === 'error' || l.level === 'warn');
    expect(line).toMatchObject({ level: 'error', msg });
    await worker.drain();
  });
});

describe('Worker: an outage in the logs', () => {
  const warnings = (logs: ReturnType<typeof captureLogs>, msg: string) =>
    logs.lines().filter((l) => l.level === 'warn' && l.msg === msg);

  it('warns of a control plane down for an hour a few times per loop, not at every retry', async () => {
    const { clock, cp, worker, logs } = setup();
    worker.start();
    await clock.advance(1_000);
    expect(worker.isReady()).toBe(true);
    cp.claim = () => Promise.reject(httpError('upstream_unavailable'));
    cp.heartbeatBehaviour = () => httpError('upstream_unavailable');
    for (let waited = 0; waited < 3_600_000; waited += 60_000) await clock.advance(60_000);
    const beats = warnings(logs, 'heartbeat failed');
    const claims = warnings(logs, 'claim failed, backing off');
    // Every retry is still made, and each is logged at debug.
    expect(cp.calls.heartbeat.length).toBeGreaterThan(300);
    expect(beats.length).toBeGreaterThanOrEqual(1);
    expect(beats.length).toBeLessThanOrEqual(13);
    expect(claims.length).toBeGreaterThanOrEqual(1);
    expect(claims.length).toBeLessThanOrEqual(13);
    // Each warning says how long the run of failures is.
    expect(beats.at(-1)?.failures).toBeGreaterThan(300);
    await worker.drain();
  });

  it('warns of a control plane unreachable for an hour at registration a few times, not at every attempt', async () => {
    const { clock, cp, worker, logs } = setup();
    let refusals = 0;
    cp.register = () => {
      refusals += 1;
      return Promise.reject(httpError('upstream_unavailable'));
    };
    worker.start();
    for (let waited = 0; waited < 3_600_000; waited += 60_000) await clock.advance(60_000);
    expect(refusals).toBeGreaterThan(60);
    const warned = warnings(logs, 'control plane unreachable, backing off');
    expect(warned.length).toBeGreaterThanOrEqual(1);
    expect(warned.length).toBeLessThanOrEqual(13);
    await worker.drain();
  });

  it('warns at once of the first failure after contact came back', async () => {
    const { clock, cp, worker, logs } = setup();
    worker.start();
    await clock.advance(1_000);
    let down = true;
    cp.heartbeatBehaviour = () => (down ? httpError('upstream_unavailable') : {});
    await clock.advance(60_000);
    down = false;
    await clock.advance(30_000);
    const before = warnings(logs, 'heartbeat failed').length;
    down = true;
    await clock.advance(15_000);
    expect(warnings(logs, 'heartbeat failed').length).toBe(before + 1);
    await worker.drain();
  });
});

describe('Worker: contact returning after an outage', () => {
  /** Everything fails while `down.now`, each refusal asking to come back in 2 minutes. */
  function outage(cp: FakeControlPlane) {
    const down = { now: true };
    const refused = () => httpError('upstream_unavailable', undefined, 120_000);
    cp.heartbeatBehaviour = () => (down.now ? refused() : {});
    cp.extendBehaviour = () => (down.now ? refused() : { leaseTtlMs: 30_000, cancelRequested: false });
    cp.resultBehaviour = () => (down.now ? refused() : { accepted: true, jobState: 'succeeded' });
    return down;
  }

  it('sends a result held through the outage at once, not after its Retry-After, and claims only after it', async () => {
    const { clock, cp, worker } = setup();
    const down = outage(cp);
    const events: string[] = [];
    const claim = cp.claim.bind(cp);
    cp.queue.push(ping('a', 1_000));
    // The first claim hands out a job, then the control plane is down; the job finishes in the outage.
    cp.claim = (...args) => {
      events.push('claim');
      return down.now && cp.queue.length === 0
        ? Promise.reject(httpError('upstream_unavailable'))
        : claim(...args);
    };
    const submit = cp.submitResult.bind(cp);
    cp.submitResult = (...args) => {
      events.push('result');
      return submit(...args);
    };
    worker.start();
    for (let waited = 0; waited < 10 * 60_000; waited += 60_000) await clock.advance(60_000);
    await clock.advance(30_000); // the result's next try (every 2 minutes from 1 s) is 90 s away
    expect(worker.status().outboxDepth).toBe(1);
    down.now = false;
    events.length = 0;
    // The next heartbeat is answered within its interval (10 s): contact is back.
    await clock.advance(11_000);
    expect(worker.status().outboxDepth).toBe(0);
    expect(events.slice(0, 2)).toEqual(['result', 'claim']);
    await worker.drain();
  });

  it('ends the claim backoff when another call is answered, not after its Retry-After', async () => {
    const { clock, cp, worker } = setup();
    const down = outage(cp);
    let claims = 0;
    const claim = cp.claim.bind(cp);
    cp.claim = (...args) => {
      claims += 1;
      return down.now
        ? Promise.reject(httpError('upstream_unavailable', undefined, 120_000))
        : claim(...args);
    };
    worker.start();
    for (let waited = 0; waited < 10 * 60_000; waited += 60_000) await clock.advance(60_000);
    down.now = false;
    const before = claims;
    await clock.advance(11_000);
    expect(claims).toBe(before + 1);
    await worker.drain();
  });
});

describe('Worker: liveness when a loop stops ticking', () => {
  // A call that never settles (a peer that accepted the connection and went silent, past every
  // timeout) wedges its loop: /livez must fail so that Kubernetes restarts the pod.
  const never = () => new Promise<never>(() => undefined);
  const livenessOver = async (worker: Worker, clock: FakeClock) => {
    const samples: boolean[] = [];
    for (let waited = 0; waited < 600_000; waited += 30_000) {
      await clock.advance(30_000);
      samples.push(worker.isLive());
    }
    return samples;
  };

  it.each(['claim', 'heartbeat'] as const)(
    'fails /livez once a %s that never answers has held its loop',
    async (call) => {
      const { clock, cp, worker } = setup();
      worker.start();
      await clock.advance(1_000);
      expect(worker.isLive()).toBe(true);
      cp[call] = never;
      const samples = await livenessOver(worker, clock);
      expect(samples[0]).toBe(true);
      expect(samples.at(-1)).toBe(false);
      await worker.drain();
    },
  );
});

describe('Worker: liveness while jobs hold every slot', () => {
  it('stays live while a long job holds the only slot, for longer than the claim budget', async () => {
    const { clock, cp, worker, gated } = setup({ maxConcurrentJobs: 1, maxWaitingJobs: 0 });
    cp.queue.push(gatedJob('long', false));
    worker.start();
    await clock.advance(1_000);
    expect(gated.seen.started).toEqual(['long']);
    const samples: [number, boolean][] = [];
    for (let t = 50; t <= 400; t += 50) {
      await clock.advance(50_000);
      samples.push([t, worker.isLive()]);
    }
    expect(samples.filter(([, live]) => !live)).toEqual([]);
    gated.open('long');
    await clock.advance(1_000);
    await worker.drain();
  });

  it('stays live while a drain waits for an in-flight job', async () => {
    const { clock, cp, worker, gated } = setup({
      maxConcurrentJobs: 4,
      maxWaitingJobs: 0,
      drainTimeoutMs: 600_000,
    });
    cp.queue.push(gatedJob('long', false));
    worker.start();
    await clock.advance(1_000);
    expect(gated.seen.started).toEqual(['long']);
    const drained = worker.drain();
    const samples: [number, boolean, string][] = [];
    for (let t = 50; t <= 400; t += 50) {
      await clock.advance(50_000);
      samples.push([t, worker.isLive(), worker.state]);
    }
    expect(samples.filter(([, live]) => !live)).toEqual([]);
    expect(samples.every(([, , state]) => state === 'draining')).toBe(true);
    gated.open('long');
    await clock.advance(1_000);
    await drained;
  });
});

describe('Worker: a lease the heartbeat lists for release', () => {
  const completed = (text: string) =>
    text
      .split('\n')
      .filter((line) => /^atlas_connector_(leases_lost_total|jobs_completed_total)\{/.test(line))
      .filter((line) => !line.endsWith('} 0'));

  it('counts it lost when the release answers 409: the server had moved on', async () => {
    const { clock, cp, worker, gated, metrics } = setup({ maxConcurrentJobs: 1, maxWaitingJobs: 0 });
    cp.queue.push(gatedJob('long', false));
    cp.releaseBehaviour = () => httpError('conflict', 'lease_lost');
    worker.start();
    await clock.advance(2_000);
    expect(gated.seen.started).toEqual(['long']);
    cp.heartbeatBehaviour = () => ({ releaseLeases: ['lease-long'] });
    await clock.advance(15_000);
    expect(cp.calls.release.map((r) => r.reason)).toEqual(['lease_lost']);
    expect(completed(await metrics.registry.metrics()).sort()).toEqual([
      'atlas_connector_jobs_completed_total{type="gated",outcome="lease_lost"} 1',
      'atlas_connector_leases_lost_total{reason="revoked"} 1',
    ]);
    await worker.drain();
  });

  it('counts it released when the server takes it back (an operator asked)', async () => {
    const { clock, cp, worker, gated, metrics } = setup({ maxConcurrentJobs: 1, maxWaitingJobs: 0 });
    cp.queue.push(gatedJob('long', false));
    worker.start();
    await clock.advance(2_000);
    expect(gated.seen.started).toEqual(['long']);
    cp.heartbeatBehaviour = () => ({ releaseLeases: ['lease-long'] });
    await clock.advance(15_000);
    expect(completed(await metrics.registry.metrics())).toEqual([
      'atlas_connector_jobs_completed_total{type="gated",outcome="released"} 1',
    ]);
    await worker.drain();
  });
});

describe('Worker: the drain deadline', () => {
  it('flushes a finished job’s held result instead of dropping it and handing its lease back', async () => {
    const { clock, cp, worker } = setup({ drainTimeoutMs: 5_000 });
    cp.queue.push(ping('done', 100));
    // The first send meets a 503 asking to come back in 30 s: the result waits in the outbox.
    cp.resultBehaviour = (call) =>
      call === 1
        ? httpError('upstream_unavailable', 'unavailable', 30_000)
        : { accepted: true, jobState: 'succeeded' };
    worker.start();
    await clock.advance(1_000);
    expect(cp.calls.results).toHaveLength(1);
    expect(worker.status().outboxDepth).toBe(1);
    const drained = worker.drain();
    await clock.advance(5_000);
    await drained;
    expect(cp.calls.release).toEqual([]);
    expect(cp.calls.results).toHaveLength(2);
    expect(worker.state).toBe('stopped');
  });

  it('ends even when a released handler ignores its signal, and a second request ends it at once', async () => {
    const clock = new FakeClock();
    const cp = new FakeControlPlane(clock);
    const logs = captureLogs();
    const stuck: JobHandler<Record<string, never>> = {
      payloadSchema: z.object({}),
      needsIntegration: false,
      run: () => new Promise(() => undefined), // an await that was not given ctx.signal
    };
    const worker = new Worker({
      client: cp,
      router: createJobRouter({ stuck: stuck as JobHandler }),
      policy: loadConfig({}).policy,
      clock,
      random: new FakeRandom([0.5]),
      logger: logs.logger,
      scrubber: logs.scrubber,
      metrics: createMetrics('test'),
      maxConcurrentJobs: 1,
      maxWaitingJobs: 0,
      drainTimeoutMs: 3_000,
      shutdown: new ShutdownBudget(clock),
      maxPayloadBytes: 4096,
      registration: { connectorId: 'c1', instanceId: 'i1', version: 'test', protocol: 1, features: [] },
    });
    cp.queue.push(envelope({ type: 'stuck', payload: '{}' }));
    worker.start();
    await clock.advance(100);
    let done = false;
    const drained = worker.drain().then(() => (done = true));
    await clock.advance(3_000);
    expect(cp.calls.release).toHaveLength(1);
    void worker.force(); // the second SIGTERM
    await clock.advance(10);
    await drained;
    expect(done).toBe(true);
    expect(cp.calls.deregister).toBe(1);
  });
});

describe('Worker: the shutdown tail after the drain deadline', () => {
  it('fits the shutdown budget when the control plane stops answering and a handler ignores its abort', async () => {
    const { clock, cp, worker, shutdown } = setup({ drainTimeoutMs: 3_000 });
    cp.queue.push(envelope({ jobId: 'stuck', leaseId: 'lease-stuck', type: 'stuck', payload: '{}' }));
    cp.queue.push(ping('done', 1_000));
    worker.start();
    await clock.advance(100);
    expect(worker.status().inFlightJobIds).toEqual(['stuck', 'done']);
    cp.silent = true; // every call from here waits for its own (real-time) timeout, or forever
    let stopped = false;
    void worker.drain().then(() => (stopped = true));
    await clock.advance(3_000);
    // `done` finished during the drain: its result is held, `stuck` is handed back.
    expect(cp.calls.results.map((r) => r.jobId)).toEqual(['done']);
    expect(cp.calls.release.map((r) => r.lease.jobId)).toEqual(['stuck']);
    expect(stopped).toBe(false);

    await clock.advance(shutdownTailMs);

    expect(stopped).toBe(true);
    expect(worker.state).toBe('stopped');
    expect(cp.calls.deregister).toBeGreaterThan(0);
    expect(shutdown.steps()).toEqual({
      releases: ['stuck'],
      results: ['done'],
      handlers: ['stuck'],
      deregister: true,
    });
  });

  it('names a job whose earlier lease’s release went unanswered, though its later lease’s release was answered', async () => {
    const { clock, cp, worker, shutdown } = setup({ drainTimeoutMs: 3_000 });
    const later = { ...ping('a', 1_000), attempt: 2, leaseId: 'lease-a2', fencingToken: 8 };
    // The earlier lease's release is never answered; the later lease's is.
    const release = cp.release.bind(cp);
    cp.release = (lease, reason, signal) => {
      if (lease.leaseId !== 'lease-a') return release(lease, reason, signal);
      cp.calls.release.push({ lease, reason });
      return new Promise<void>(() => undefined);
    };
    cp.queue.push(ping('a', 60_000));
    worker.start();
    await clock.advance(100);
    // The server takes the earlier lease back; its task waits for the release's answer.
    cp.heartbeatBehaviour = () => ({ releaseLeases: ['lease-a'] });
    await clock.advance(10_000);
    cp.heartbeatBehaviour = () => ({});
    expect(cp.calls.release.map((r) => r.lease.leaseId)).toEqual(['lease-a']);
    // The job is leased here again: the later lease waits for its turn behind the earlier one.
    cp.queue.push(later);
    await clock.advance(20_000);
    expect(worker.status().inFlightJobIds).toEqual(['a', 'a']);
    let stopped = false;
    void worker.drain().then(() => (stopped = true));
    await clock.advance(3_000 + shutdownTailMs);
    expect(stopped).toBe(true);
    expect(cp.calls.release.map((r) => [r.lease.leaseId, r.reason])).toEqual([
      ['lease-a', 'lease_lost'],
      ['lease-a2', 'shutdown'],
    ]);
    expect(shutdown.steps()).toMatchObject({ releases: ['a'] });
  });
});

describe('Worker: per-resource ordering', () => {
  it('does not start a job while an earlier one of its key runs, though a job between them was released', async () => {
    const { clock, cp, worker, gated } = setup({ maxConcurrentJobs: 4 });
    const keyed = (id: string) => ({ ...gatedJob(id, false), resourceKey: 'p/u' });
    cp.queue.push(keyed('a'), keyed('b'), keyed('c'));
    worker.start();
    await clock.advance(2_000);
    expect(gated.seen.started).toEqual(['a']);
    // The server takes b back (an operator's release request) while b waits for its turn.
    cp.heartbeatBehaviour = () => ({ releaseLeases: ['lease-b'] });
    await clock.advance(12_000);
    expect(cp.calls.release.map((r) => r.lease.jobId)).toEqual(['b']);
    expect(gated.seen.started).toEqual(['a']);
    gated.open('a');
    await clock.advance(2_000);
    expect(gated.seen.started).toEqual(['a', 'c']);
    gated.open('c');
    await clock.advance(2_000);
    await worker.drain();
  });
});

describe('Worker: a session the client registered again on its own', () => {
  /** What the client does when a call meets an expired token or an unknown session. */
  const registeredAgain = (cp: FakeControlPlane, intervals: Intervals): void => {
    const previous = cp.current;
    if (!previous) throw new Error('not registered');
    cp.current = {
      sessionId: 'session-2',
      registration: { ...previous.registration, sessionId: 'session-2', intervals },
    };
  };

  it('takes the new session’s intervals: a lease is no longer held through an outage by a grace it does not advertise', async () => {
    const { clock, cp, worker, gated, logs } = setup({ maxConcurrentJobs: 1 });
    // The first session's control plane held a silent session's leases for 2 minutes.
    cp.heartbeatBehaviour = () => ({ intervals: { sessionGraceMs: 120_000 } });
    worker.start();
    await clock.advance(100);
    expect(worker.status().intervals.sessionGraceMs).toBe(120_000);
    // The next call registers again, with a control plane that ends leases at their TTL.
    const next = { heartbeatMs: 5_000, pollWaitMs: 20_000, leaseTtlMs: 30_000 };
    cp.heartbeatBehaviour = () => {
      if (cp.current?.sessionId === 'session-1') registeredAgain(cp, next);
      return {};
    };
    await clock.advance(11_000);
    expect(worker.status().sessionId).toBe('session-2');
    expect(worker.status().intervals).toEqual(next);
    // A job, then an outage: its lease ends at its TTL, so its handler must stop by then.
    cp.queue.push(gatedJob('a', false));
    await clock.advance(20_000); // the claim held open meanwhile answers empty; the next takes it
    expect(gated.seen.started).toEqual(['a']);
    cp.heartbeatBehaviour = () => httpError('upstream_unavailable');
    cp.extendBehaviour = () => httpError('upstream_unavailable');
    await clock.advance(30_000);
    expect(logs.lines().filter((l) => l.msg === 'lease lost')).toMatchObject([
      { jobId: 'a', reason: 'deadline' },
    ]);
    expect(cp.calls.results).toEqual([]);
    await worker.force();
  });
});

describe('Worker: the refresh_token action', () => {
  it('has the client refresh its token before its next call', async () => {
    const { clock, cp, worker } = setup();
    cp.heartbeatBehaviour = (call) => (call === 2 ? { actions: ['refresh_token'] } : {});
    worker.start();
    await clock.advance(16_000);
    expect(cp.calls.refreshSoon).toBe(1);
    expect(worker.state).toBe('running');
    await worker.drain();
  });
});

describe('Worker: a job envelope that does not match the protocol schema', () => {
  /** A newer control plane's integration shape: `secretRef` became an object (with a value in it). */
  const newerShape = () => ({
    ...envelope({ jobId: 'odd', leaseId: 'lease-odd', fencingToken: 41, attempt: 2 }),
    integration: { id: 'i1', kind: 'atlas', config: {}, secretRef: { path: 'alice@example.com' } },
  });

  it('reports it failed invalid_job, fenced and naming the field, instead of leaving it to expire', async () => {
    const { clock, cp, worker, metrics } = setup();
    cp.queue.push(newerShape());
    worker.start();
    await clock.advance(1_000);

    expect(cp.calls.results).toHaveLength(1);
    const [sent] = cp.calls.results;
    expect(sent).toMatchObject({
      jobId: 'odd',
      attempt: 2,
      body: { leaseId: 'lease-odd', fencingToken: 41, outcome: 'failed' },
    });
    expect(sent?.body.error).toMatchObject({ code: 'invalid_job', retryable: false });
    expect(sent?.body.error?.message).toContain('integration.secretRef');
    expect(sent?.body.error?.message).not.toContain('alice@example.com');
    const failed = (await metrics.jobsFailed.get()).values.map(({ labels, value }) => ({ labels, value }));
    expect(failed).toEqual([{ labels: { type: 'ping', code: 'invalid_job' }, value: 1 }]);
    await worker.drain();
  });

  it('does not run a job whose notAfter is no date-time: its deadline could not be checked', async () => {
    const { clock, cp, worker } = setup();
    cp.queue.push({ ...ping('undated', 10), notAfter: 'tomorrow' });
    worker.start();
    await clock.advance(1_000);
    expect(cp.calls.results).toHaveLength(1);
    expect(cp.calls.results[0]?.body).toMatchObject({
      outcome: 'failed',
      error: { code: 'invalid_job', retryable: false },
    });
    expect(cp.calls.results[0]?.body.error?.message).toContain('notAfter');
    await worker.drain();
  });

  it('keeps its lease while the failure waits in the outbox, and lists it in heartbeats', async () => {
    const { clock, cp, worker } = setup();
    cp.queue.push(newerShape());
    cp.resultBehaviour = (call) =>
      call < 4
        ? httpError('upstream_unavailable', undefined, 20_000)
        : { accepted: true, jobState: 'succeeded' };
    worker.start();
    await clock.advance(45_000);
    expect(cp.calls.extend.map((lease) => lease.leaseId)).toContain('lease-odd');
    expect(cp.calls.heartbeat.at(-1)?.inFlight.map((lease) => lease.leaseId)).toEqual(['lease-odd']);
    await clock.advance(60_000);
    expect(cp.calls.results).toHaveLength(4);
    expect(worker.status().inFlightJobIds).toEqual([]);
    await worker.drain();
  });

  it('still runs a job whose envelope only carries fields this connector does not know', async () => {
    const { clock, cp, worker } = setup();
    cp.queue.push({ ...ping('newer', 100), priority: 'high', integrationHints: { region: 'eu' } });
    worker.start();
    await clock.advance(1_000);
    expect(cp.calls.results.map((r) => [r.jobId, r.body.outcome])).toEqual([['newer', 'succeeded']]);
    await worker.drain();
  });

  it('only logs a job whose lease fields cannot be read: no result can be fenced', async () => {
    const { clock, cp, worker, logs } = setup();
    const { fencingToken: _unread, ...noFence } = envelope({ jobId: 'nofence', leaseId: 'lease-nofence' });
    cp.queue.push({ ...noFence, fencingToken: 'seven' });
    worker.start();
    await clock.advance(1_000);
    expect(cp.calls.results).toEqual([]);
    const line = logs.lines().find((l) => l.msg === 'unreadable job envelope ignored; its lease will expire');
    expect(line).toMatchObject({ level: 'error', jobId: 'nofence' });
    expect(String(line?.problem)).toContain('fencingToken');
    await worker.drain();
  });

  it('logs an unreadable job listed twice in one answer once', async () => {
    const { clock, cp, worker, logs } = setup();
    const { fencingToken: _unread, ...noFence } = envelope({ jobId: 'nofence', leaseId: 'lease-nofence' });
    cp.queue.push({ ...noFence, fencingToken: 'seven' }, { ...noFence, fencingToken: 'seven' });
    worker.start();
    await clock.advance(1_000);
    const lines = logs
      .lines()
      .filter((l) => l.msg === 'unreadable job envelope ignored; its lease will expire');
    expect(lines).toMatchObject([{ level: 'error', jobId: 'nofence' }]);
    await worker.drain();
  });
});
