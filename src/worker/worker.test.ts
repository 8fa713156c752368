import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../test/fakes/fake-random.js';
import { envelope, FakeControlPlane } from '../../test/fakes/fake-control-plane.js';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { createMetrics } from '../admin/metrics.js';
import { loadConfig } from '../config/env.js';
import { createJobRouter, pingHandler } from './job-handlers.js';
import { Worker } from './worker.js';

function setup(drainTimeoutMs = 30_000) {
  const clock = new FakeClock();
  const cp = new FakeControlPlane(clock);
  const logs = captureLogs();
  const worker = new Worker({
    client: cp,
    router: createJobRouter({ ping: pingHandler }),
    policy: loadConfig({}).policy,
    clock,
    random: new FakeRandom([0.5]),
    logger: logs.logger,
    metrics: createMetrics('test'),
    maxConcurrentJobs: 2,
    drainTimeoutMs,
    maxPayloadBytes: 4096,
    registration: { connectorId: 'c1', instanceId: 'i1', version: 'test', protocol: 1, features: [] },
  });
  return { clock, cp, worker, logs };
}

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
    expect(cp.calls.register[0]?.jobTypes).toEqual(['ping']);
    expect(cp.calls.heartbeat.length).toBeGreaterThanOrEqual(1);
    expect(worker.isReady()).toBe(true);
    expect(cp.calls.results.map((r) => r.body.result)).toEqual([{ echo: 'a' }]);
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
    const { clock, cp, worker } = setup(3_000);
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
  });

  it('forces the drain on a second request', async () => {
    const { clock, cp, worker } = setup(600_000);
    cp.queue.push(ping('slow', 600_000));
    worker.start();
    await clock.advance(100);
    void worker.drain();
    await clock.advance(100);
    await worker.drain();
    expect(cp.calls.release.map((r) => r.lease.jobId)).toEqual(['slow']);
    expect(worker.state).toBe('stopped');
  });

  it('drains when a heartbeat asks it to', async () => {
    const { clock, cp, worker } = setup();
    cp.heartbeatBehaviour = (call) => (call === 2 ? { actions: ['drain'] } : {});
    worker.start();
    await clock.advance(12_000);
    await clock.advance(1_000);
    expect(worker.state).toBe('stopped');
    expect(cp.calls.deregister).toBe(1);
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
