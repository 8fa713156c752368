import { afterEach, describe, expect, it } from 'vitest';
import type { Intervals } from '../../src/control-plane/protocol.js';
import {
  startReferenceControlPlane,
  type ReferenceControlPlane,
} from '../../src/sandbox/control-plane/reference-control-plane.js';
import { eventually, spawnDaemon, type DaemonProcess } from './daemon-process.js';

const token = 'e2e-enrollment-token-4f0c2b9a';
let controlPlane: ReferenceControlPlane | undefined;
const daemons: DaemonProcess[] = [];

async function startControlPlane(intervals: Partial<Intervals> = {}): Promise<ReferenceControlPlane> {
  controlPlane = await startReferenceControlPlane({
    enrollmentToken: token,
    intervals: { heartbeatMs: 1_000, pollWaitMs: 2_000, leaseTtlMs: 3_000, ...intervals },
    sweepIntervalMs: 100,
  });
  return controlPlane;
}

async function connector(
  cp: ReferenceControlPlane,
  id: string,
  env: Record<string, string> = {},
): Promise<DaemonProcess> {
  const daemon = await spawnDaemon({
    CONTROL_PLANE_URL: cp.url,
    CONTROL_PLANE_TOKEN: token,
    CONNECTOR_ID: id,
    DRAIN_TIMEOUT_SECONDS: '10',
    ...env,
  });
  daemons.push(daemon);
  return daemon;
}

const settled = (cp: ReferenceControlPlane, jobId: string) =>
  eventually(
    () => {
      const job = cp.store.job(jobId);
      return job && ['succeeded', 'failed', 'dead'].includes(job.state) ? job : undefined;
    },
    30_000,
    `job ${jobId} to settle`,
  );

afterEach(async () => {
  for (const daemon of daemons) daemon.kill('SIGKILL');
  await Promise.all(daemons.map((d) => d.exited));
  // Whatever each test did, no daemon ever printed the control-plane token.
  for (const daemon of daemons.splice(0)) expect(daemon.output()).not.toContain(token);
  await controlPlane?.close();
  controlPlane = undefined;
});

describe('connector daemon against the reference control plane', () => {
  it('runs every job to exactly one accepted result across two competing instances', async () => {
    const cp = await startControlPlane();
    await Promise.all([connector(cp, 'e2e-a'), connector(cp, 'e2e-b')]);
    const ids = Array.from({ length: 30 }, (_, i) =>
      cp.store.enqueueJob({ type: 'ping', payload: { echo: `job-${i}`, delayMs: 20 + (i % 5) * 40 } }),
    );
    const jobs = await Promise.all(ids.map((id) => settled(cp, id)));
    expect(jobs.every((job) => job.state === 'succeeded')).toBe(true);
    const accepted = cp.store.results();
    for (const [i, id] of ids.entries()) {
      const forJob = accepted.filter((r) => r.jobId === id);
      expect(forJob).toHaveLength(1);
      expect(forJob[0]?.result).toEqual({ echo: `job-${i}` });
    }
    const sessionsThatWorked = new Set(jobs.flatMap((job) => job.history.map((h) => h.sessionId)));
    expect(sessionsThatWorked.size).toBe(2);
  });

  it('re-leases the job of a SIGKILLed instance to the other after the lease TTL', async () => {
    const cp = await startControlPlane();
    const first = await connector(cp, 'e2e-victim');
    const jobId = cp.store.enqueueJob({ type: 'ping', payload: { echo: 'survivor', delayMs: 2_000 } });
    await eventually(() => (cp.store.job(jobId)?.state === 'leased' ? true : undefined));
    first.kill('SIGKILL');
    await first.exited;
    await connector(cp, 'e2e-rescuer');
    const job = await settled(cp, jobId);
    expect(job.state).toBe('succeeded');
    expect(job.attempts).toBe(2);
    expect(new Set(job.history.map((h) => h.sessionId)).size).toBe(2);
    expect(cp.store.results().filter((r) => r.jobId === jobId)).toHaveLength(1);
  });

  it('delivers results held while the control plane was unreachable once it returns', async () => {
    const cp = await startControlPlane({ leaseTtlMs: 12_000 });
    const daemon = await connector(cp, 'e2e-outbox');
    const jobId = cp.store.enqueueJob({ type: 'ping', payload: { echo: 'kept', delayMs: 300 } });
    await eventually(() => (cp.store.job(jobId)?.state === 'leased' ? true : undefined));
    cp.faults.set({ unavailableForMs: 4_000 });
    await daemon.waitForLog((line) => line.msg === 'result not delivered; will retry');
    const job = await settled(cp, jobId);
    expect(job).toMatchObject({ state: 'succeeded', attempts: 1, result: { echo: 'kept' } });
    expect(cp.store.results().filter((r) => r.jobId === jobId)).toHaveLength(1);
  }, 60_000); // full-jitter backoff after several refusals may wait up to ~16 s before the next try

  it('drains on SIGTERM: finishes short jobs, releases long ones, deregisters and exits 0', async () => {
    const cp = await startControlPlane();
    const daemon = await connector(cp, 'e2e-drain', { DRAIN_TIMEOUT_SECONDS: '2' });
    const quick = cp.store.enqueueJob({ type: 'ping', payload: { echo: 'quick', delayMs: 500 } });
    const slow = cp.store.enqueueJob({ type: 'ping', payload: { echo: 'slow', delayMs: 120_000 } });
    await eventually(() => (cp.store.jobs('leased').length === 2 ? true : undefined));
    daemon.kill('SIGTERM');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(cp.store.job(quick)).toMatchObject({ state: 'succeeded', result: { echo: 'quick' } });
    expect(cp.store.job(slow)).toMatchObject({ state: 'queued', attempts: 1 });
    expect(cp.store.sessions().every((s) => s.deregisteredAt !== null)).toBe(true);
  });

  it('exits 0 within the drain timeout + 10 s (the chart’s margin) when the control plane stops answering', async () => {
    const cp = await startControlPlane();
    const drainSeconds = 2;
    const daemon = await connector(cp, 'e2e-drain-silent', { DRAIN_TIMEOUT_SECONDS: String(drainSeconds) });
    const quick = cp.store.enqueueJob({ type: 'ping', payload: { echo: 'quick', delayMs: 1_000 } });
    const slow = cp.store.enqueueJob({ type: 'ping', payload: { echo: 'slow', delayMs: 120_000 } });
    await eventually(() => (cp.store.jobs('leased').length === 2 ? true : undefined));
    // From here the control plane takes every request and answers none within a client timeout:
    // the quick job's result, the slow job's release and the deregistration all hang.
    cp.faults.set({ delayMs: 30_000 });
    const signalledAt = Date.now();
    daemon.kill('SIGTERM');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    // Kubernetes sends SIGKILL at terminationGracePeriodSeconds, which the chart requires to exceed
    // the drain timeout + 10 s; before the shutdown budget the tail alone took about 16 s here.
    expect(Date.now() - signalledAt).toBeLessThan((drainSeconds + 10) * 1000);
    const summary = await daemon.waitForLog(
      (line) => line.msg === 'shutdown: exiting with these steps unfinished',
    );
    expect(summary.abandoned).toEqual({ releases: [slow], results: [quick], deregister: true });
  }, 60_000);

  it('drains, deregisters and exits 0 when the control plane asks it to drain', async () => {
    const cp = await startControlPlane();
    const daemon = await connector(cp, 'e2e-drain-action', { DRAIN_TIMEOUT_SECONDS: '2' });
    const quick = cp.store.enqueueJob({ type: 'ping', payload: { echo: 'quick', delayMs: 300 } });
    await eventually(() => (cp.store.jobs('leased').length === 1 ? true : undefined));
    const [session] = cp.store.sessions();
    cp.store.queueAction(String(session?.sessionId), 'drain');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(cp.store.job(quick)).toMatchObject({ state: 'succeeded', result: { echo: 'quick' } });
    expect(cp.store.sessions().every((s) => s.deregisteredAt !== null)).toBe(true);
  });

  it('fails malformed jobs with invalid_job and keeps running', async () => {
    const cp = await startControlPlane();
    await connector(cp, 'e2e-malformed', { MAX_PAYLOAD_BYTES: '2048' });
    const cases = [
      { job: { type: 'ping', payloadRaw: '{"echo": ' }, message: /payload is not valid JSON/ },
      {
        job: { type: 'ping', payload: { echo: 42 } },
        message: /payload does not match the ping schema: echo:/,
      },
      { job: { type: 'teleport', payload: {} }, message: /unknown job type "teleport"/ },
      {
        job: { type: 'ping', payload: { echo: 'x'.repeat(5_000) } },
        message: /over the limit of 2048 bytes/,
      },
    ];
    const ids = cases.map((c) => cp.store.enqueueJob(c.job));
    for (const [i, id] of ids.entries()) {
      const job = await settled(cp, id);
      expect(job.state).toBe('failed');
      expect(job.error?.code).toBe('invalid_job');
      expect(job.error?.message).toMatch(cases[i]!.message);
    }
    const healthy = await settled(cp, cp.store.enqueueJob({ type: 'ping', payload: { echo: 'still here' } }));
    expect(healthy).toMatchObject({ state: 'succeeded', result: { echo: 'still here' } });
  });
});
