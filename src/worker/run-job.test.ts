import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../errors/connector-error.js';
import { policyDenial } from '../errors/policy-denial.js';
import { z } from 'zod';
import { FakeClock, settleUntil } from '../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../test/fakes/fake-random.js';
import { envelope, FakeControlPlane, httpError } from '../../test/fakes/fake-control-plane.js';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { createMetrics } from '../admin/metrics.js';
import { loadConfig } from '../config/env.js';
import { ControlPlaneClient } from '../control-plane/control-plane-client.js';
import { createHttpClient } from '../runtime/http.js';
import { runWriteGuard } from '../runtime/write-guard.js';
import { createJobRouter, type JobHandler } from './job-handlers.js';
import { ResultOutbox } from './result-outbox.js';
import { RunningJob } from './run-job.js';

/** A handler with two "writes" separated by a wait, recording which writes happened. */
function twoWriteHandler(writes: string[]): JobHandler<{ gapMs: number }> {
  return {
    payloadSchema: z.object({ gapMs: z.number() }),
    needsIntegration: false,
    async run(payload, ctx) {
      ctx.beforeSideEffect();
      writes.push('first');
      await ctx.clock.sleep(payload.gapMs, ctx.signal).catch(() => undefined);
      ctx.beforeSideEffect();
      writes.push('second');
      return { done: true };
    },
  };
}

/**
 * Writes, then blocks the event loop for `stallMs` (a long synchronous parse, a GC pause), then
 * writes again: no timer can fire in between, so only the lease's deadline can stop the second.
 */
function stallingHandler(writes: string[], stall: (ms: number) => void): JobHandler<{ stallMs: number }> {
  return {
    payloadSchema: z.object({ stallMs: z.number() }),
    needsIntegration: false,
    run(payload, ctx) {
      ctx.beforeSideEffect();
      writes.push('first');
      stall(payload.stallMs);
      ctx.beforeSideEffect();
      writes.push('second');
      return Promise.resolve({ done: true });
    },
  };
}

/**
 * Writes, then stalls the event loop inside an Atlas call's retry wait and writes again as the
 * transport's retry does: with only the check the transport runs on the job's signal.
 */
function retryingWriteHandler(
  writes: string[],
  stall: (ms: number) => void,
): JobHandler<{ stallMs: number }> {
  return {
    payloadSchema: z.object({ stallMs: z.number() }),
    needsIntegration: false,
    run(payload, ctx) {
      ctx.beforeSideEffect();
      writes.push('first');
      stall(payload.stallMs);
      runWriteGuard(ctx.signal);
      writes.push('retry');
      return Promise.resolve({ done: true });
    },
  };
}

/**
 * Writes, then winds down for `lingerMs` on a wait of its own that the job's signal does not end
 * (as a discovery deletes its temporary user on its own deadline), then returns.
 */
function lingeringHandler(writes: string[]): JobHandler<{ lingerMs: number }> {
  return {
    payloadSchema: z.object({ lingerMs: z.number() }),
    needsIntegration: false,
    async run(payload, ctx) {
      ctx.beforeSideEffect();
      writes.push('first');
      await ctx.clock.sleep(payload.lingerMs);
      return { done: true };
    },
  };
}

/** Asks for its slot back twice, as a handler reaching two readiness polls might. */
const parkTwiceHandler: JobHandler<Record<string, never>> = {
  payloadSchema: z.object({}).strict(),
  needsIntegration: false,
  async run(_payload, ctx) {
    ctx.releaseSlot();
    ctx.releaseSlot();
    return { parked: true };
  },
};

/** Records an intent naming the earlier one, then "writes". */
function intentHandler(writes: string[]): JobHandler<Record<string, never>> {
  return {
    payloadSchema: z.object({}).strict(),
    needsIntegration: false,
    async run(_payload, ctx) {
      await ctx.recordIntent({ after: ctx.intent });
      writes.push('write');
      return { earlier: ctx.intent };
    },
  };
}

/**
 * Reads (an Atlas GET the process stays frozen in), then records its intent and writes, as a
 * grant does: with only the lease check the intent call makes.
 */
function stallThenIntentHandler(
  writes: string[],
  stall: (ms: number) => void,
): JobHandler<{ stallMs: number }> {
  return {
    payloadSchema: z.object({ stallMs: z.number() }),
    needsIntegration: false,
    async run(payload, ctx) {
      stall(payload.stallMs);
      await ctx.recordIntent({ added: ['role'] });
      ctx.beforeSideEffect();
      writes.push('write');
      return { done: true };
    },
  };
}

/** Succeeds with a result of about `bytes` bytes (a sweep's report over a large organization). */
const bigResultHandler: JobHandler<{ bytes: number }> = {
  payloadSchema: z.object({ bytes: z.number() }).strict(),
  needsIntegration: false,
  run(payload) {
    return Promise.resolve({ unmanaged: 'x'.repeat(payload.bytes) });
  },
};

/** Succeeds with a result JSON cannot encode: a BigInt, or a structure that refers to itself. */
const unserialisableHandler: JobHandler<{ shape: 'bigint' | 'circular' }> = {
  payloadSchema: z.object({ shape: z.enum(['bigint', 'circular']) }).strict(),
  needsIntegration: false,
  run(payload) {
    if (payload.shape === 'bigint') return Promise.resolve({ count: 10n });
    const report: Record<string, unknown> = { user: 'alice@example.com' };
    report.self = report;
    return Promise.resolve(report);
  },
};

/** Refuses as an adapter's policy check does: field and message from the payload. */
const denyHandler: JobHandler<{ field: string }> = {
  payloadSchema: z.object({ field: z.string() }).strict(),
  needsIntegration: false,
  run(payload) {
    return Promise.reject(policyDenial(payload.field, 'not allowed by the test policy'));
  },
};

/** A sweep that could not clean up `count` of what it covers: it says so, and succeeds. */
const leftBehindHandler: JobHandler<{ count: number }> = {
  payloadSchema: z.object({ count: z.number() }).strict(),
  needsIntegration: false,
  run(payload, ctx) {
    ctx.countSweepFailures(payload.count);
    return Promise.resolve({ failures: payload.count });
  },
};

/** Throws what a driver or an SDK might: its message echoes a secret and a connection string. */
const leakyHandler: JobHandler<{ message: string; connectorError: boolean }> = {
  payloadSchema: z.object({ message: z.string(), connectorError: z.boolean() }).strict(),
  needsIntegration: false,
  run(payload) {
    return Promise.reject(
      payload.connectorError
        ? new ConnectorError({ code: 'upstream_unavailable', message: payload.message })
        : new Error(payload.message),
    );
  },
};

/**
 * Succeeds with what a sweep or a grant returns: an error's text (a per-user failure) next to an
 * issued password the result carries on purpose.
 */
const describingHandler: JobHandler<{ message: string; password: string }> = {
  payloadSchema: z.object({ message: z.string(), password: z.string() }).strict(),
  needsIntegration: false,
  run(payload, ctx) {
    const error = new ConnectorError({ code: 'upstream_unavailable', message: payload.message });
    return Promise.resolve({ errors: [ctx.describe(error)], password: payload.password });
  },
};

/** Succeeds with the claim time its context carries. */
const claimTimeHandler: JobHandler<Record<string, never>> = {
  payloadSchema: z.object({}).strict(),
  needsIntegration: false,
  run(_payload, ctx) {
    return Promise.resolve({ claimedAtMs: ctx.claimedAtMs });
  },
};

/** A fake clock whose time can also jump at once, as it does for a process whose event loop was blocked. */
class StallingClock extends FakeClock {
  private stalledMs = 0;

  override now(): number {
    return super.now() + this.stalledMs;
  }

  override monotonic(): number {
    return super.monotonic() + this.stalledMs;
  }

  /** Time passes; no sleep is woken (they are, late, on the next `advance`). */
  stall(ms: number): void {
    this.stalledMs += ms;
  }
}

function setup(writes: string[]) {
  const clock = new StallingClock();
  const cp = new FakeControlPlane(clock);
  const logs = captureLogs();
  const random = new FakeRandom([0.5]);
  const outbox = new ResultOutbox({ client: cp, clock, random, log: logs.logger });
  const deps = {
    client: cp,
    outbox,
    router: createJobRouter({
      write: twoWriteHandler(writes) as JobHandler,
      park: parkTwiceHandler as JobHandler,
      intent: intentHandler(writes) as JobHandler,
      // A stand-in discover: the gauge follows the job type and its outcome, not the handler.
      discover: twoWriteHandler(writes) as JobHandler,
      // Stand-ins that take access away: the notAfter rule follows the job type.
      revoke: twoWriteHandler(writes) as JobHandler,
      sweep: twoWriteHandler(writes) as JobHandler,
      deny: denyHandler as JobHandler,
      leftBehind: leftBehindHandler as JobHandler,
      leaky: leakyHandler as JobHandler,
      describing: describingHandler as JobHandler,
      claimTime: claimTimeHandler as JobHandler,
      big: bigResultHandler as JobHandler,
      unserialisable: unserialisableHandler as JobHandler,
      stall: stallingHandler(writes, (ms) => clock.stall(ms)) as JobHandler,
      retry: retryingWriteHandler(writes, (ms) => clock.stall(ms)) as JobHandler,
      linger: lingeringHandler(writes) as JobHandler,
      stallIntent: stallThenIntentHandler(writes, (ms) => clock.stall(ms)) as JobHandler,
    }),
    policy: loadConfig({}).policy,
    maxPayloadBytes: 4096,
    clock,
    random,
    logger: logs.logger,
    scrubber: logs.scrubber,
    metrics: createMetrics('test'),
  };
  return { clock, cp, deps, logs };
}

describe('RunningJob', () => {
  // A sweep ends a grant only when its record predates the configuration the sweep works from,
  // resolved by the server after the claim was sent: the claim's send time, on the wall clock.
  it('gives the handler the wall-clock time the leasing claim was sent', async () => {
    const { clock, cp, deps } = setup([]);
    const sentAt = clock.monotonic();
    const sentAtMs = clock.now();
    await clock.advance(2_500); // the claim's round trip
    await new RunningJob(envelope({ type: 'claimTime', payload: '{}' }), sentAt, deps).run(Promise.resolve());
    expect(cp.calls.results[0]?.body).toMatchObject({
      outcome: 'succeeded',
      result: { claimedAtMs: sentAtMs },
    });
  });

  it('aborts the handler before its next write when the lease is lost, and reports nothing', async () => {
    const writes: string[] = [];
    const { clock, cp, deps } = setup(writes);
    cp.extendBehaviour = () => httpError('conflict', 'lease_lost');
    const job = new RunningJob(envelope({ type: 'write', payload: '{"gapMs":60000}' }), 0, deps);
    const done = job.run(Promise.resolve());
    await clock.advance(10_000); // first extension at TTL/3 answers 409
    await clock.advance(60_000);
    await done;
    expect(writes).toEqual(['first']);
    expect(cp.calls.results).toEqual([]);
  });

  it('refuses a write once the lease deadline has passed, though an event-loop stall kept the keeper from noticing', async () => {
    const writes: string[] = [];
    const { clock, cp, deps } = setup(writes);
    // 30 s lease granted at 0, never extended: the local deadline is 25 s, the server's TTL 30 s.
    const done = new RunningJob(envelope({ type: 'stall', payload: '{"stallMs":31000}' }), 0, deps).run(
      Promise.resolve(),
    );
    await clock.advance(1);
    await done;
    expect(writes).toEqual(['first']);
    expect(cp.calls.results).toEqual([]);
    // Its handler ran: not handed back, the rest of the server's TTL is its time to stop.
    expect(cp.calls.release).toEqual([]);
  });

  it('has the Atlas transport check the lease before a retried write too, not only before the first', async () => {
    const writes: string[] = [];
    const { clock, cp, deps, logs } = setup(writes);
    const done = new RunningJob(envelope({ type: 'retry', payload: '{"stallMs":31000}' }), 0, deps).run(
      Promise.resolve(),
    );
    await clock.advance(1);
    await done;
    expect(writes).toEqual(['first']);
    expect(cp.calls.results).toEqual([]);
    expect(logs.lines().filter((l) => l.msg === 'lease lost')).toMatchObject([{ reason: 'deadline' }]);
  });

  it('reports a fenced result with the lease it ran under', async () => {
    const writes: string[] = [];
    const { clock, cp, deps } = setup(writes);
    const job = new RunningJob(envelope({ type: 'write', payload: '{"gapMs":15000}' }), 0, deps);
    const done = job.run(Promise.resolve());
    await clock.advance(15_000);
    await done;
    expect(writes).toEqual(['first', 'second']);
    expect(cp.calls.results).toHaveLength(1);
    expect(cp.calls.results[0]?.body).toMatchObject({
      leaseId: 'lease-1',
      fencingToken: 7,
      outcome: 'succeeded',
      result: { done: true },
    });
  });

  it('reports a result over the protocol body limit as a failure saying so, not a body the server refuses', async () => {
    const { clock, cp, deps } = setup([]);
    const run = async (bytes: number) => {
      const done = new RunningJob(envelope({ type: 'big', payload: JSON.stringify({ bytes }) }), 0, deps).run(
        Promise.resolve(),
      );
      await clock.advance(1);
      await done;
    };
    await run(1_000);
    await run(1024 * 1024);
    expect(cp.calls.results.map((r) => r.body.outcome)).toEqual(['succeeded', 'failed']);
    const body = cp.calls.results[1]?.body;
    expect(body?.error).toMatchObject({ code: 'internal', retryable: false });
    expect(body?.error?.message).toMatch(
      /^the big result is \d+ bytes, over the control-plane protocol's limit of 1048576 bytes/,
    );
    expect(JSON.stringify(body).length).toBeLessThan(2_000);
  });

  it.each(['bigint', 'circular'])(
    'reports a %s result JSON cannot encode as a failure saying so, not a lease left to expire',
    async (shape) => {
      const { clock, cp, deps } = setup([]);
      const job = new RunningJob(
        envelope({ type: 'unserialisable', payload: JSON.stringify({ shape }) }),
        0,
        deps,
      );
      const done = job.run(Promise.resolve());
      await clock.advance(1);
      await done;
      expect(cp.calls.results).toHaveLength(1);
      const body = cp.calls.results[0]?.body;
      expect(body).toMatchObject({ leaseId: 'lease-1', fencingToken: 7, outcome: 'failed' });
      expect(body?.error).toMatchObject({ code: 'internal', retryable: false });
      expect(body?.error?.message).toMatch(/^the unserialisable result could not be serialised/);
      expect(JSON.stringify(body)).not.toContain('alice@example.com');
    },
  );

  it('stamps the last successful discovery, and only that', async () => {
    const { clock, deps } = setup([]);
    const gauge = async () => (await deps.metrics.discoveryLastSuccess.get()).values.map((v) => v.value);
    const run = async (type: string, payload: string) => {
      const done = new RunningJob(envelope({ type, payload }), 0, deps).run(Promise.resolve());
      await clock.advance(1);
      await done;
    };
    expect(await gauge()).toEqual([0]);
    await run('discover', 'not json');
    await run('write', '{"gapMs":0}');
    expect(await gauge()).toEqual([0]);
    const before = clock.now() / 1000;
    await run('discover', '{"gapMs":0}');
    const [stamp = 0] = await gauge();
    expect(stamp).toBeGreaterThanOrEqual(before);
    expect(stamp).toBeLessThanOrEqual(clock.now() / 1000);
  });

  it('counts a job succeeded or failed only when the control plane accepts its result', async () => {
    const { clock, cp, deps } = setup([]);
    const run = async (type: string, payload: string) => {
      const done = new RunningJob(envelope({ type, payload }), 0, deps).run(Promise.resolve());
      await clock.advance(1);
      await done;
    };
    const counted = async (name: 'jobsCompleted' | 'jobsFailed') =>
      (await deps.metrics[name].get()).values.map((v) => ({ ...v.labels, value: v.value }));
    // Another attempt owns each job: the control plane refuses these results as stale.
    cp.resultBehaviour = () => httpError('conflict', 'stale_fence');
    await run('discover', '{"gapMs":0}');
    await run('write', 'not json');
    expect(await counted('jobsCompleted')).toEqual([
      { type: 'discover', outcome: 'rejected', value: 1 },
      { type: 'write', outcome: 'rejected', value: 1 },
    ]);
    expect(await counted('jobsFailed')).toEqual([]);
    expect((await deps.metrics.discoveryLastSuccess.get()).values.map((v) => v.value)).toEqual([0]);

    // A result the outbox gives up on (the end of a drain) never reached the control plane.
    cp.resultBehaviour = () => httpError('upstream_unavailable');
    const done = new RunningJob(envelope({ type: 'write', payload: '{"gapMs":0}' }), 0, deps).run(
      Promise.resolve(),
    );
    await clock.advance(1);
    expect(cp.calls.results).toHaveLength(3);
    deps.outbox.abandonAll();
    await done;
    expect(await counted('jobsCompleted')).toContainEqual({ type: 'write', outcome: 'dropped', value: 1 });
    expect(
      (await counted('jobsCompleted')).filter((c) => 'outcome' in c && c.outcome === 'succeeded'),
    ).toEqual([]);
  });

  it('counts what a sweep could not clean up, by the integration’s kind, once its result is accepted', async () => {
    const { clock, cp, deps, logs } = setup([]);
    const integration = { id: 'portal', kind: 'atlas-org-portal', config: {}, secretRef: 'env://ATLAS' };
    const run = async (count: number) => {
      const job = envelope({ type: 'leftBehind', integration, payload: JSON.stringify({ count }) });
      const done = new RunningJob(job, 0, deps).run(Promise.resolve());
      await clock.advance(1);
      await done;
    };
    const counted = async () =>
      (await deps.metrics.sweepFailures.get()).values.map((v) => ({ ...v.labels, value: v.value }));
    const warned = () => logs.lines().filter((l) => String(l.msg).startsWith('sweep could not clean up'));
    // Refused as stale: another attempt owns the job, and its result is the one that counts.
    const accept = cp.resultBehaviour;
    cp.resultBehaviour = () => httpError('conflict', 'stale_fence');
    await run(2);
    expect(await counted()).toEqual([]);
    expect(warned()).toEqual([]);
    cp.resultBehaviour = accept;
    await run(0);
    expect(await counted()).toEqual([]);
    await run(2);
    await run(1);
    expect(await counted()).toEqual([{ kind: 'atlas-org-portal', value: 3 }]);
    expect(warned().map((l) => [l.level, l.kind, l.sweepFailures])).toEqual([
      ['warn', 'atlas-org-portal', 2],
      ['warn', 'atlas-org-portal', 1],
    ]);
  });

  it('counts every policy denial by its rule, the handler’s as well as the job type’s', async () => {
    const { cp, deps } = setup([]);
    const denials = async () =>
      Object.fromEntries(
        (await deps.metrics.policyDenials.get()).values
          .filter((v) => v.value > 0)
          .map((v) => [v.labels.rule, v.value]),
      );
    for (const field of ['ttlSeconds', 'access[1].projectId', 'access[0].role', 'requester.email']) {
      await new RunningJob(envelope({ type: 'deny', payload: JSON.stringify({ field }) }), 0, deps).run(
        Promise.resolve(),
      );
    }
    const onlyPings = { ...deps, policy: { ...deps.policy, allowedJobTypes: ['ping'] } };
    await new RunningJob(envelope({ type: 'deny', payload: '{"field":"x"}' }), 0, onlyPings).run(
      Promise.resolve(),
    );
    expect(cp.calls.results.map((r) => r.body.error?.code)).toEqual(Array(5).fill('policy_denied'));
    expect(await denials()).toEqual({ ttl: 1, project: 1, role: 1, membership: 1, job_type: 1 });
  });

  describe('a failure whose message echoes a secret', () => {
    // Test-only stand-ins: a value registered with the scrubber and a URI's password.
    const registered = 'Qz9-registered-test-value';
    const uriPassword = 'uri-test-password';
    const uri = `mongodb+srv://jit-user:${uriPassword}@cluster0.example.net/admin`;

    it.each([
      ['an unexpected error', false],
      ['a ConnectorError', true],
    ])('reports %s to the control plane and logs it without either', async (_name, connectorError) => {
      const { cp, deps, logs } = setup([]);
      logs.scrubber.add(registered);
      const message = `cannot connect to ${uri} with key ${registered}`;
      await new RunningJob(
        envelope({ type: 'leaky', payload: JSON.stringify({ message, connectorError }) }),
        0,
        deps,
      ).run(Promise.resolve());
      const reported = cp.calls.results[0]?.body;
      expect(reported?.outcome).toBe('failed');
      expect(reported?.error?.message).toContain('cannot connect to mongodb+srv://[REDACTED]@cluster0');
      for (const text of [JSON.stringify(reported), logs.text()]) {
        expect(text).not.toContain(registered);
        expect(text).not.toContain(uriPassword);
      }
    });

    it('scrubs the whole message before cutting it to the protocol’s 1024 characters', async () => {
      const { cp, deps, logs } = setup([]);
      logs.scrubber.add(registered);
      // Cut first, the secret's first characters would be left, and no longer recognised.
      const message = `${'x'.repeat(1018)} ${registered}`;
      await new RunningJob(
        envelope({ type: 'leaky', payload: JSON.stringify({ message, connectorError: true }) }),
        0,
        deps,
      ).run(Promise.resolve());
      const sent = cp.calls.results[0]?.body.error?.message ?? '';
      expect(sent).toHaveLength(1024);
      expect(sent).not.toContain(registered.slice(0, 5));
    });
  });

  it('reports a succeeded result whose error text is scrubbed, and only that text', async () => {
    // Test-only stand-ins: a value registered with the scrubber, a URI's password, and the
    // password a grant issued (registered too, and returned on purpose).
    const registered = 'Qz9-registered-test-value';
    const uriPassword = 'uri-test-password';
    const issued = 'issued-test-password-0123';
    const { cp, deps, logs } = setup([]);
    logs.scrubber.add(registered);
    logs.scrubber.add(issued);
    const message = `cannot connect to mongodb+srv://jit-user:${uriPassword}@cluster0.example.net with ${registered}`;
    await new RunningJob(
      envelope({ type: 'describing', payload: JSON.stringify({ message, password: issued }) }),
      0,
      deps,
    ).run(Promise.resolve());
    const reported = cp.calls.results[0]?.body;
    expect(reported).toMatchObject({
      outcome: 'succeeded',
      result: {
        errors: ['cannot connect to mongodb+srv://[REDACTED]@cluster0.example.net with [REDACTED]'],
        password: issued,
      },
    });
    expect(JSON.stringify(reported)).not.toContain(registered);
    expect(JSON.stringify(reported)).not.toContain(uriPassword);
  });

  it('turns an invalid payload into a failed invalid_job result', async () => {
    const { cp, deps } = setup([]);
    await new RunningJob(envelope({ type: 'write', payload: 'not json' }), 0, deps).run(Promise.resolve());
    expect(cp.calls.results[0]?.body).toMatchObject({
      outcome: 'failed',
      error: { code: 'invalid_job', retryable: false },
    });
  });

  it('does not run a job whose notAfter has passed', async () => {
    const writes: string[] = [];
    const { cp, deps } = setup(writes);
    await new RunningJob(
      envelope({ type: 'write', payload: '{"gapMs":1}', notAfter: '2020-01-01T00:00:00Z' }),
      0,
      deps,
    ).run(Promise.resolve());
    expect(writes).toEqual([]);
    expect(cp.calls.results[0]?.body.error?.code).toBe('gone');
  });

  it.each(['revoke', 'sweep'])(
    'runs a %s leased in time whose notAfter passed while it waited: taking access away late beats never',
    async (type) => {
      // The server leased it before its notAfter and lets a leased job finish (docs/protocol.md §5);
      // refused here as `gone`, the access would stay until a backstop.
      const writes: string[] = [];
      const { clock, cp, deps } = setup(writes);
      const done = new RunningJob(
        envelope({ type, payload: '{"gapMs":1}', notAfter: '2020-01-01T00:00:00Z' }),
        0,
        deps,
      ).run(Promise.resolve());
      await clock.advance(10);
      await done;
      expect(writes).toEqual(['first', 'second']);
      expect(cp.calls.results[0]?.body.outcome).toBe('succeeded');
    },
  );

  it('judges notAfter by the control plane’s clock, not a replica clock that runs ahead', async () => {
    const writes: string[] = [];
    const { clock, cp, deps } = setup(writes);
    // This replica's clock runs 60 s ahead of the server's; the job's notAfter is 30 s away there.
    const serverNow = () => clock.now() - 60_000;
    const notAfter = new Date(serverNow() + 30_000).toISOString();
    const done = new RunningJob(envelope({ type: 'write', payload: '{"gapMs":1}', notAfter }), 0, {
      ...deps,
      serverNow,
    }).run(Promise.resolve());
    await clock.advance(10);
    await done;
    expect(writes).toEqual(['first', 'second']);
    expect(cp.calls.results[0]?.body.outcome).toBe('succeeded');
  });

  it('ends a job the control plane cancels while it waits for its turn: reported cancelled at once, nothing run', async () => {
    const writes: string[] = [];
    const { clock, cp, deps, logs } = setup(writes);
    cp.extendBehaviour = () => ({ leaseTtlMs: 30_000, cancelRequested: true });
    // An earlier job of its resource key never ends.
    const done = new RunningJob(envelope({ type: 'write', payload: '{"gapMs":0}' }), 0, deps).run(
      new Promise(() => undefined),
    );
    await clock.advance(10_000); // the first extension carries the cancellation
    await done;
    expect(writes).toEqual([]);
    // Not left to expire: the server ends the job now (§5 Cancellation), nothing is redelivered.
    expect(cp.calls.results).toHaveLength(1);
    expect(cp.calls.results[0]?.body).toMatchObject({
      leaseId: 'lease-1',
      fencingToken: 7,
      outcome: 'failed',
      error: { code: 'cancelled', retryable: true },
    });
    expect(
      logs
        .lines()
        .filter((l) => l.msg === 'job finished without a result; the control plane will redeliver it'),
    ).toEqual([]);
    const extendsAfter = cp.calls.extend.length;
    await clock.advance(60_000);
    expect(cp.calls.extend).toHaveLength(extendsAfter);
  });

  describe('a lease lost while the job waits for its turn', () => {
    const lostLogs = (logs: ReturnType<typeof setup>['logs']) =>
      logs.lines().filter((l) => l.msg === 'lease lost');
    const lossCount = async (deps: ReturnType<typeof setup>['deps'], reason: string) =>
      (await deps.metrics.leasesLost.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

    it('is released for redelivery when its local deadline passed: nothing ran, so nothing runs twice', async () => {
      const writes: string[] = [];
      const { clock, cp, deps, logs } = setup(writes);
      cp.extendBehaviour = () => httpError('upstream_unavailable');
      // An earlier job of its resource key never ends.
      const done = new RunningJob(envelope({ type: 'write', payload: '{"gapMs":0}' }), 0, deps).run(
        new Promise(() => undefined),
      );
      await clock.advance(25_000); // the local deadline: 30 s TTL less the 5 s margin
      await done;
      expect(writes).toEqual([]);
      expect(cp.calls.results).toEqual([]);
      expect(cp.calls.release).toEqual([
        { lease: { jobId: 'job-1', leaseId: 'lease-1', fencingToken: 7 }, reason: 'lease_lost' },
      ]);
      expect(lostLogs(logs)).toMatchObject([{ reason: 'deadline' }]);
    });

    it('counts the loss once when the server had already let the lease go (409)', async () => {
      const { clock, cp, deps, logs } = setup([]);
      cp.extendBehaviour = () => httpError('upstream_unavailable');
      cp.releaseBehaviour = () => httpError('conflict', 'lease_lost');
      const done = new RunningJob(envelope({ type: 'write', payload: '{"gapMs":0}' }), 0, deps).run(
        new Promise(() => undefined),
      );
      await clock.advance(25_000);
      await done;
      expect(cp.calls.release).toHaveLength(1);
      expect(lostLogs(logs)).toMatchObject([{ reason: 'deadline' }]);
      expect(await lossCount(deps, 'deadline')).toBe(1);
      expect(await lossCount(deps, 'revoked')).toBe(0);
    });

    it('is not released when the server said it was lost', async () => {
      const { clock, cp, deps } = setup([]);
      cp.extendBehaviour = () => httpError('conflict', 'lease_lost');
      const done = new RunningJob(envelope({ type: 'write', payload: '{"gapMs":0}' }), 0, deps).run(
        new Promise(() => undefined),
      );
      await clock.advance(10_000);
      await done;
      expect(cp.calls.release).toEqual([]);
    });
  });

  describe('a lease lost while its handler still winds down', () => {
    const lostLogs = (logs: ReturnType<typeof setup>['logs']) =>
      logs.lines().filter((l) => l.msg === 'lease lost');
    const losses = async (deps: ReturnType<typeof setup>['deps']) =>
      (await deps.metrics.leasesLost.get()).values
        .filter((v) => v.value > 0)
        .map((v) => [v.labels.reason, v.value]);

    it('is neither released nor counted again when a heartbeat then lists it (the server moved on)', async () => {
      const writes: string[] = [];
      const { clock, cp, deps, logs } = setup(writes);
      cp.extendBehaviour = () => httpError('conflict', 'lease_lost');
      cp.releaseBehaviour = () => httpError('conflict', 'lease_lost');
      const job = new RunningJob(envelope({ type: 'linger', payload: '{"lingerMs":30000}' }), 0, deps);
      const done = job.run(Promise.resolve());
      await clock.advance(10_000); // the first extension answers 409: lost
      expect(lostLogs(logs)).toMatchObject([{ reason: 'revoked' }]);
      await job.releaseLease('lease_lost'); // the next heartbeat's releaseLeases
      await clock.advance(30_000);
      await done;
      expect(cp.calls.release).toEqual([]);
      expect(cp.calls.results).toEqual([]);
      expect(lostLogs(logs)).toHaveLength(1);
      expect(await losses(deps)).toEqual([['revoked', 1]]);
    });

    it('is not handed back by a drain while its handler may still write: the rest of the TTL is its time to stop', async () => {
      const writes: string[] = [];
      const { clock, cp, deps, logs } = setup(writes);
      cp.extendBehaviour = () => httpError('upstream_unavailable');
      const job = new RunningJob(envelope({ type: 'linger', payload: '{"lingerMs":60000}' }), 0, deps);
      const done = job.run(Promise.resolve());
      await clock.advance(25_000); // the local deadline: 30 s TTL less the 5 s margin
      expect(lostLogs(logs)).toMatchObject([{ reason: 'deadline' }]);
      expect(await job.releaseLease('shutdown')).toBe(true); // the drain deadline
      await clock.advance(60_000);
      await done;
      expect(cp.calls.release).toEqual([]);
      expect(await losses(deps)).toEqual([['deadline', 1]]);
    });
  });

  describe('a release the drain or a heartbeat asks for', () => {
    const lostLogs = (logs: ReturnType<typeof setup>['logs']) =>
      logs.lines().filter((l) => l.msg === 'lease lost');
    const running = (deps: ReturnType<typeof setup>['deps']) => {
      const job = new RunningJob(envelope({ type: 'linger', payload: '{"lingerMs":60000}' }), 0, deps);
      return { job, done: job.run(Promise.resolve()) };
    };

    it('is answered when the control plane no longer knows the job (404 not_found): nothing is left to hand back', async () => {
      const { clock, cp, deps, logs } = setup([]);
      cp.releaseBehaviour = () => httpError('not_found', 'not_found');
      const { job, done } = running(deps);
      await clock.advance(1_000);
      expect(await job.releaseLease('shutdown')).toBe(true);
      expect(lostLogs(logs)).toMatchObject([{ reason: 'revoked' }]);
      await clock.advance(60_000);
      await done;
    });

    it('is not taken for a lost lease on an intermediary’s 409 or 410 (no protocol body): the lease expires there', async () => {
      const { clock, cp, deps, logs } = setup([]);
      cp.releaseBehaviour = () =>
        new ConnectorError({ code: 'conflict', retryable: true, message: 'control plane release: HTTP 409' });
      const { job, done } = running(deps);
      await clock.advance(1_000);
      expect(await job.releaseLease('shutdown')).toBe(false);
      expect(lostLogs(logs)).toEqual([]);
      expect((await deps.metrics.leasesLost.get()).values.filter((v) => v.value > 0)).toEqual([]);
      await clock.advance(60_000);
      await done;
    });
  });

  it('keeps extending the lease while the result waits in the outbox', async () => {
    const { clock, cp, deps } = setup([]);
    // Seven refusals: 0.5 × (1+2+4+8+16+32+60) s ≈ 61 s, twice the 30 s lease.
    cp.resultBehaviour = (call) =>
      call < 8 ? httpError('upstream_unavailable') : { accepted: true, jobState: 'succeeded' };
    const done = new RunningJob(envelope({ type: 'write', payload: '{"gapMs":0}' }), 0, deps).run(
      Promise.resolve(),
    );
    await clock.advance(70_000);
    await done;
    expect(cp.calls.results).toHaveLength(8);
    expect(cp.calls.extend.length).toBeGreaterThanOrEqual(6);
    const extendsAfterDelivery = cp.calls.extend.length;
    await clock.advance(60_000);
    expect(cp.calls.extend).toHaveLength(extendsAfterDelivery);
  });

  /** The server accepts the result at once, but its answer takes 10 s to come back. */
  function slowlyAnsweredResults(cp: FakeControlPlane, clock: StallingClock): void {
    cp.submitResult = async (jobId, attempt, result) => {
      cp.recordResult(jobId, attempt, result);
      await clock.sleep(10_000);
      return { accepted: true, jobState: 'succeeded' };
    };
  }

  it('logs no lost lease when the control plane answers an extend job_gone because it took the result', async () => {
    const { clock, cp, deps, logs } = setup([]);
    slowlyAnsweredResults(cp, clock);
    // Finished there: the result was accepted before this extend arrived.
    cp.extendBehaviour = () =>
      cp.calls.results.length > 0
        ? httpError('gone', 'job_gone')
        : { leaseTtlMs: 30_000, cancelRequested: false };
    const done = new RunningJob(envelope({ type: 'write', payload: '{"gapMs":5000}' }), 0, deps).run(
      Promise.resolve(),
    );
    await clock.advance(5_000); // the result goes out
    await clock.advance(5_000); // the keeper's extend, at TTL/3, answers 410
    await clock.advance(10_000); // the result's answer: accepted
    await done;
    expect(cp.calls.extend).toHaveLength(1);
    expect(logs.lines().filter((l) => l.msg === 'lease lost')).toEqual([]);
    expect(logs.lines().filter((l) => l.msg === 'job finished')).toMatchObject([
      { outcome: 'succeeded', delivery: 'accepted' },
    ]);
    expect((await deps.metrics.leasesLost.get()).values.filter((v) => v.value > 0)).toEqual([]);
    await clock.advance(60_000);
    expect(cp.calls.extend).toHaveLength(1);
  });

  it('logs no lost lease when the local deadline passes while the result waits out an outage and is then accepted', async () => {
    const { clock, cp, deps, logs } = setup([]);
    // The control plane is unreachable for 27 s, then takes the result (nobody leased the job since).
    const down = () => clock.monotonic() < 27_000;
    cp.extendBehaviour = () =>
      down() ? httpError('upstream_unavailable') : { leaseTtlMs: 30_000, cancelRequested: false };
    cp.resultBehaviour = () =>
      down() ? httpError('upstream_unavailable') : { accepted: true, jobState: 'succeeded' };
    const done = new RunningJob(envelope({ type: 'write', payload: '{"gapMs":0}' }), 0, deps).run(
      Promise.resolve(),
    );
    for (let step = 0; step < 8; step += 1) await clock.advance(5_000);
    await done;
    expect(logs.lines().filter((l) => l.msg === 'job finished')).toMatchObject([
      { outcome: 'succeeded', delivery: 'accepted' },
    ]);
    expect(logs.lines().filter((l) => l.msg === 'lease lost')).toEqual([]);
    expect((await deps.metrics.leasesLost.get()).values.filter((v) => v.value > 0)).toEqual([]);
  });

  it('keeps a finished job’s lease when a heartbeat lists it for release while its result is delivered', async () => {
    const { clock, cp, deps, logs } = setup([]);
    slowlyAnsweredResults(cp, clock);
    cp.releaseBehaviour = () => httpError('gone', 'job_gone');
    const job = new RunningJob(envelope({ type: 'write', payload: '{"gapMs":0}' }), 0, deps);
    const done = job.run(Promise.resolve());
    await clock.advance(1);
    expect(cp.calls.results).toHaveLength(1);
    // The heartbeat was answered after the server took the result: the lease is no longer current.
    await job.releaseLease('lease_lost');
    await clock.advance(10_000);
    await done;
    expect(cp.calls.release).toEqual([]);
    expect(logs.lines().filter((l) => l.msg === 'lease lost')).toEqual([]);
    expect(logs.lines().filter((l) => l.msg === 'job finished')).toMatchObject([
      { outcome: 'succeeded', delivery: 'accepted' },
    ]);
  });

  it('asks the worker to park the job (by its lease) once, however often the handler releases its slot', async () => {
    const { cp, deps } = setup([]);
    const asked: string[] = [];
    const releaseSlot = (leaseId: string): boolean => {
      asked.push(leaseId);
      return true;
    };
    await new RunningJob(envelope({ type: 'park', payload: '{}' }), 0, { ...deps, releaseSlot }).run(
      Promise.resolve(),
    );
    expect(asked).toEqual(['lease-1']);
    expect(cp.calls.results[0]?.body).toMatchObject({ outcome: 'succeeded', result: { parked: true } });
  });

  it('asks again after a refusal, since the waiting allowance may have freed up', async () => {
    const { deps } = setup([]);
    const asked: string[] = [];
    const releaseSlot = (leaseId: string): boolean => {
      asked.push(leaseId);
      return false;
    };
    await new RunningJob(envelope({ type: 'park', payload: '{}' }), 0, { ...deps, releaseSlot }).run(
      Promise.resolve(),
    );
    expect(asked).toEqual(['lease-1', 'lease-1']);
  });

  it('records no intent once the lease deadline has passed, though an event-loop stall kept the keeper from noticing', async () => {
    const writes: string[] = [];
    const { clock, cp, deps, logs } = setup(writes);
    // 30 s lease granted at 0, never extended: the local deadline is 25 s, the server's TTL 30 s.
    // Stalled 27 s, the lease may still be current on the server, which would take the intent.
    const done = new RunningJob(envelope({ type: 'stallIntent', payload: '{"stallMs":27000}' }), 0, deps).run(
      Promise.resolve(),
    );
    await clock.advance(1);
    await done;
    expect(cp.calls.intents).toEqual([]);
    expect(writes).toEqual([]);
    expect(cp.calls.results).toEqual([]);
    expect(logs.lines().filter((l) => l.msg === 'lease lost')).toMatchObject([{ reason: 'deadline' }]);
  });

  it('records no intent on a retry after a wait that outlasted the lease deadline', async () => {
    const writes: string[] = [];
    const { clock, cp, deps } = setup(writes);
    // The first call fails on a blip; the process stalls through the retry's wait past the deadline.
    cp.intentBehaviour = (n) => {
      if (n > 1) return undefined;
      clock.stall(27_000);
      return httpError('upstream_unavailable');
    };
    const done = new RunningJob(envelope({ type: 'stallIntent', payload: '{"stallMs":0}' }), 0, deps).run(
      Promise.resolve(),
    );
    for (let waited = 0; waited < 5_000; waited += 250) await clock.advance(250);
    await done;
    expect(cp.calls.intents).toHaveLength(1);
    expect(writes).toEqual([]);
    expect(cp.calls.results).toEqual([]);
  });

  it('hands the envelope intent to the handler and records a new one under this lease and attempt', async () => {
    const writes: string[] = [];
    const { cp, deps } = setup(writes);
    const earlier = { added: ['x'] };
    await new RunningJob(
      envelope({ type: 'intent', payload: '{}', attempt: 3, intent: earlier }),
      0,
      deps,
    ).run(Promise.resolve());
    expect(cp.calls.intents).toEqual([
      {
        lease: { jobId: 'job-1', leaseId: 'lease-1', fencingToken: 7 },
        attempt: 3,
        intent: { after: earlier },
      },
    ]);
    expect(writes).toEqual(['write']);
    expect(cp.calls.results[0]?.body).toMatchObject({ outcome: 'succeeded', result: { earlier } });
  });

  it('reports an intent refused 409 as a lost lease, retryable, so a lapsed lease the server still reports on requeues the job', async () => {
    const writes: string[] = [];
    const { cp, deps } = setup(writes);
    cp.intentBehaviour = () => httpError('conflict', 'lease_lost');
    await new RunningJob(envelope({ type: 'intent', payload: '{}' }), 0, deps).run(Promise.resolve());
    expect(writes).toEqual([]);
    expect(cp.calls.results[0]?.body).toMatchObject({
      outcome: 'failed',
      error: { code: 'lease_lost', retryable: true },
    });
    expect(cp.calls.results[0]?.body.error?.message).toContain('refused the intent (lease_lost)');
  });

  /** A control-plane client error as the client builds one: which endpoint answered, and how. */
  const answeredBy = (endpoint: string, code: ConnectorError['code'], protocolCode?: string) =>
    new ConnectorError({
      code,
      message: `control plane ${endpoint}: fake`,
      details: { endpoint, protocolCode },
    });

  it.each([
    ['a refused token refresh', answeredBy('refresh', 'auth_failed', 'unauthorized')],
    ['a refused registration', answeredBy('register', 'invalid_request', 'invalid_request')],
    ['a token file unreadable mid-rotation', new ConnectorError({ code: 'config_invalid', message: 'fake' })],
  ])(
    'ends the attempt retryable when the session the intent needs cannot be renewed (%s): nothing was written',
    async (_, failure) => {
      const writes: string[] = [];
      const { cp, deps } = setup(writes);
      cp.intentBehaviour = () => failure;
      await new RunningJob(envelope({ type: 'intent', payload: '{}' }), 0, deps).run(Promise.resolve());
      expect(writes).toEqual([]);
      expect(cp.calls.results[0]?.body).toMatchObject({
        outcome: 'failed',
        error: { code: 'upstream_unavailable', retryable: true },
      });
    },
  );

  it('keeps the intent endpoint’s own refusal for good as it is', async () => {
    const { cp, deps } = setup([]);
    cp.intentBehaviour = () => answeredBy('intent', 'invalid_request', 'invalid_request');
    await new RunningJob(envelope({ type: 'intent', payload: '{}' }), 0, deps).run(Promise.resolve());
    expect(cp.calls.results[0]?.body).toMatchObject({
      outcome: 'failed',
      error: { code: 'invalid_request', retryable: false },
    });
  });

  /** Runs an intent job whose intent calls answer `behaviour`, moving the fake clock until it reports. */
  async function runIntentJob(behaviour: FakeControlPlane['intentBehaviour']) {
    const writes: string[] = [];
    const { clock, cp, deps, logs } = setup(writes);
    cp.intentBehaviour = behaviour;
    const done = new RunningJob(envelope({ type: 'intent', payload: '{}' }), 0, deps).run(Promise.resolve());
    for (let waited = 0; cp.calls.results.length === 0 && waited < 10_000; waited += 250)
      await clock.advance(250);
    await done;
    const retries = logs.lines().filter((l) => l.msg === 'recording the intent failed; retrying');
    return { writes, intents: cp.calls.intents.length, result: cp.calls.results[0]?.body, retries };
  }

  it('retries an intent call that failed on a blip within the attempt, then writes', async () => {
    const run = await runIntentJob((n) => (n <= 2 ? httpError('upstream_unavailable') : undefined));
    expect(run.intents).toBe(3);
    expect(run.writes).not.toEqual([]);
    expect(run.result).toMatchObject({ outcome: 'succeeded' });
    expect(run.retries).toHaveLength(2);
  });

  it.each([
    [
      'after its tries',
      () => httpError('upstream_unavailable'),
      4,
      { code: 'upstream_unavailable', retryable: true },
    ],
    // That call may still reach the server after a later, narrower intent of the same lease.
    ['after a timeout, at once', () => httpError('timeout'), 1, { code: 'timeout', retryable: true }],
    [
      "after a gateway's timeout (504), at once",
      () =>
        new ConnectorError({
          code: 'upstream_unavailable',
          message: 'HTTP 504',
          details: { httpStatus: 504 },
        }),
      1,
      { code: 'upstream_unavailable', retryable: true },
    ],
    [
      'at once, with the hint, when told to come back in more than 5 s',
      () => httpError('upstream_unavailable', undefined, 3_600_000),
      1,
      { code: 'upstream_unavailable', retryable: true, retryAfterMs: 3_600_000 },
    ],
  ] as const)(
    'does not write when the intent cannot be recorded, and fails the attempt %s',
    async (_when, behaviour, intents, error) => {
      const run = await runIntentJob(behaviour);
      expect(run.intents).toBe(intents);
      expect(run.writes).toEqual([]);
      expect(run.result).toMatchObject({ outcome: 'failed', error });
    },
  );
});

describe('RunningJob: the result body sent to the control plane', () => {
  const base = 'https://cp.example.test';
  const api = '/connector/v1';

  /** Serialises to `{serialisation: n}`, n counting its serialisations: one sent twice shows. */
  const countingResultHandler: JobHandler<Record<string, never>> = {
    payloadSchema: z.object({}).strict(),
    needsIntegration: false,
    run() {
      let serialisations = 0;
      return Promise.resolve({ toJSON: () => ({ serialisation: (serialisations += 1) }) });
    },
  };

  it('is the text its size was checked on, serialised once, and a retry sends the same bytes', async () => {
    const { clock, deps, logs } = setup([]);
    const http = createHttpClient();
    const sent: unknown[] = [];
    const client = new ControlPlaneClient({
      baseUrl: base,
      enrollmentToken: async () => 'enrollment-token',
      fetch: (url, init) => {
        if (url.endsWith('/result')) sent.push(init?.body);
        return http(url, init);
      },
      clock,
      logger: logs.logger,
      userAgent: 'atlas-jit-connector/test',
    });
    nock(base)
      .post(`${api}/connectors/register`)
      .reply(201, {
        sessionId: 's1',
        accessToken: 'access-1',
        expiresInMs: 1_800_000,
        intervals: { heartbeatMs: 15_000, pollWaitMs: 25_000, leaseTtlMs: 60_000 },
        limits: { maxPayloadBytes: 262_144 },
        serverTime: new Date(clock.now()).toISOString(),
      });
    await client.register({
      connectorId: 'c1',
      instanceId: 'i1',
      version: '0.1.0',
      protocol: 1,
      capacity: { maxJobs: 4 },
      features: [],
      jobTypes: ['counting'],
      startedAt: new Date(clock.now()).toISOString(),
    });
    // Strict nock: each answer only matches the body serialised the first time, under its key.
    const measured = (body: { result?: unknown }) =>
      JSON.stringify(body.result) === JSON.stringify({ serialisation: 1 });
    const result = nock(base)
      .put(`${api}/jobs/job-1/attempts/1/result`, measured)
      .matchHeader('idempotency-key', 'job-1:1')
      .matchHeader('content-type', 'application/json')
      .reply(503, { error: { code: 'unavailable', message: 'rolling' } })
      .put(`${api}/jobs/job-1/attempts/1/result`, measured)
      .matchHeader('idempotency-key', 'job-1:1')
      .reply(200, { accepted: true, jobState: 'succeeded' });
    const outbox = new ResultOutbox({ client, clock, random: deps.random, log: logs.logger });
    const router = createJobRouter({ counting: countingResultHandler as JobHandler });
    const job = new RunningJob(envelope({ type: 'counting', payload: '{}' }), 0, {
      ...deps,
      client,
      outbox,
      router,
    });

    const done = job.run(Promise.resolve());
    const refused = () => logs.lines().some((l) => l.msg === 'result not delivered; will retry');
    await settleUntil(refused, 'the first result attempt to be refused');
    await clock.advance(1_000);
    await done;

    expect(result.isDone()).toBe(true);
    expect(sent).toHaveLength(2);
    expect(typeof sent[0]).toBe('string');
    expect(sent[1]).toBe(sent[0]);
    expect(JSON.parse(String(sent[0]))).toMatchObject({ leaseId: 'lease-1', result: { serialisation: 1 } });
  });
});
