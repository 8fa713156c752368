import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../test/fakes/fake-random.js';
import { FakeControlPlane, httpError } from '../../test/fakes/fake-control-plane.js';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { ConnectorError } from '../errors/connector-error.js';
import { ControlPlaneContact } from './contact.js';
import { LeaseKeeper, leaseDeadline, safetyMarginMs } from './lease-keeper.js';

const lease = { jobId: 'job-1', leaseId: 'lease-1', fencingToken: 3 };

function setup(grantedAt = 0, sessionHeldUntil?: (grantedAt: number) => number | undefined) {
  const clock = new FakeClock();
  const cp = new FakeControlPlane(clock);
  const lost: ConnectorError[] = [];
  let cancelled = 0;
  const keeper = new LeaseKeeper({
    lease,
    leaseTtlMs: 30_000,
    grantedAt,
    client: cp,
    clock,
    random: new FakeRandom([0.5]),
    log: captureLogs().logger,
    onLost: (error) => lost.push(error),
    onCancelRequested: () => (cancelled += 1),
    sessionHeldUntil,
  });
  return { clock, cp, lost, keeper, cancelled: () => cancelled };
}

describe('lease deadline math', () => {
  it('subtracts a safety margin of 5 s, or a quarter of short TTLs, from the send time', () => {
    expect(safetyMarginMs(60_000)).toBe(5_000);
    expect(safetyMarginMs(8_000)).toBe(2_000);
    expect(leaseDeadline(1_000, 60_000)).toBe(56_000);
    expect(leaseDeadline(0, 4_000)).toBe(3_000);
  });
});

describe('LeaseKeeper', () => {
  it('extends every TTL/3 and moves the deadline from each request send time', async () => {
    const { clock, cp, keeper } = setup();
    keeper.start();
    expect(keeper.deadlineMs).toBe(25_000);
    await clock.advance(9_999);
    expect(cp.calls.extend).toHaveLength(0);
    await clock.advance(1);
    expect(cp.calls.extend).toEqual([lease]);
    expect(keeper.deadlineMs).toBe(35_000);
    await clock.advance(10_000);
    expect(cp.calls.extend).toHaveLength(2);
    keeper.stop();
  });

  it('keeps the job through an outage while the server still holds a silent session’s leases', async () => {
    const heldUntil = 80_000;
    const { clock, cp, keeper, lost } = setup(0, () => heldUntil);
    cp.extendBehaviour = () => httpError('upstream_unavailable');
    keeper.start();
    await clock.advance(79_000);
    expect(lost, 'past the lease TTL, within the session grace').toHaveLength(0);

    await clock.advance(1_000);

    expect(lost).toHaveLength(1);
    expect(lost[0]?.code).toBe('lease_lost');
    keeper.stop();
  });

  it('lets no write out after a freeze past the session grace, though an answer came since', async () => {
    // The process was frozen (SIGSTOP, a VM pause) past the grace: the server declared the
    // session dead and leased the job elsewhere. On resume, before the keeper's timer has run, an
    // answer to a request sent after the freeze arrives; the write check must not take it as a
    // hold on this older lease (test/e2e/paused-daemon.e2e.test.ts runs the real daemon).
    const clock = new FakeClock();
    const contact = new ControlPlaneContact(
      clock,
      () => undefined,
      () => undefined,
    );
    contact.applyIntervals({ leaseTtlMs: 30_000, sessionGraceMs: 90_000 });
    contact.answered(clock.monotonic());
    const lost: ConnectorError[] = [];
    const keeper = new LeaseKeeper({
      lease,
      leaseTtlMs: 30_000,
      grantedAt: clock.monotonic(),
      client: new FakeControlPlane(clock),
      clock,
      random: new FakeRandom([0.5]),
      log: captureLogs().logger,
      onLost: (error) => lost.push(error),
      onCancelRequested: () => undefined,
      sessionHeldUntil: (grantedAt) => contact.sessionHeldUntil(grantedAt),
    });
    await clock.advance(200_000);
    contact.answered(clock.monotonic());

    keeper.checkDeadline();

    expect(lost.map((error) => error.code)).toEqual(['lease_lost']);
  });

  it('extends again as soon as the control plane answers after the TTL ran out', async () => {
    const { clock, cp, keeper, lost } = setup(0, () => 80_000);
    let reachable = false;
    cp.extendBehaviour = () =>
      reachable ? { leaseTtlMs: 30_000, cancelRequested: false } : httpError('upstream_unavailable');
    keeper.start();
    await clock.advance(60_000);
    reachable = true;
    await clock.advance(5_000);

    expect(lost).toHaveLength(0);
    expect(keeper.deadlineMs).toBeGreaterThan(60_000);
    keeper.stop();
  });

  it('declares the lease lost on 409 and reports it once', async () => {
    const { clock, cp, keeper, lost } = setup();
    cp.extendBehaviour = () => httpError('conflict', 'lease_lost');
    keeper.start();
    await clock.advance(10_000);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.code).toBe('lease_lost');
    expect(lost[0]?.message).toContain('control plane answered lease_lost');
    expect(keeper.lost).toBe(lost[0]);
    await clock.advance(60_000);
    expect(cp.calls.extend).toHaveLength(1);
    // The handler checks the deadline before each write: a lease already lost is not reported again.
    keeper.checkDeadline();
    keeper.checkDeadline();
    expect(lost).toHaveLength(1);
  });

  it('reports no loss once stopped, though the deadline has passed', async () => {
    const { clock, keeper, lost } = setup();
    keeper.stop();
    await clock.advance(60_000);
    keeper.checkDeadline();
    expect(lost).toEqual([]);
  });

  it.each([409, 410])(
    'retries an intermediary’s %i (no protocol body) until the deadline instead of giving the lease up',
    async (httpStatus) => {
      // What the client makes of a proxy's or gateway's answer: no protocol code, retryable (§2).
      const fromProxy = new ConnectorError({
        code: httpStatus === 409 ? 'conflict' : 'gone',
        retryable: true,
        message: `control plane extend: HTTP ${httpStatus}: from a proxy`,
        details: { endpoint: 'extend', httpStatus },
      });
      const { clock, cp, keeper, lost } = setup();
      cp.extendBehaviour = (call) => (call < 2 ? fromProxy : { leaseTtlMs: 30_000, cancelRequested: false });
      keeper.start();
      await clock.advance(11_000);
      expect(lost).toEqual([]);
      expect(cp.calls.extend).toHaveLength(2);
      expect(keeper.deadlineMs).toBeGreaterThan(30_000);
      keeper.stop();
    },
  );

  it('declares the lease lost when the control plane no longer knows the job, though the session is held', async () => {
    // Heartbeats are answered: the session's hold keeps moving 80 s ahead.
    const { clock, cp, keeper, lost } = setup(0, () => clock.monotonic() + 80_000);
    cp.extendBehaviour = () => httpError('not_found', 'not_found');
    keeper.start();
    await clock.advance(10_000);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.message).toContain('not_found');
    await clock.advance(60_000);
    expect(cp.calls.extend).toHaveLength(1);
  });

  it('retries transient failures and declares the lease lost when the local deadline passes unconfirmed', async () => {
    const { clock, cp, keeper, lost } = setup();
    cp.extendBehaviour = () => httpError('upstream_unavailable');
    keeper.start();
    await clock.advance(24_999);
    expect(cp.calls.extend.length).toBeGreaterThan(3);
    expect(lost).toHaveLength(0);
    await clock.advance(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.message).toContain('local deadline');
  });

  it('keeps the lease when the control plane recovers before the deadline', async () => {
    const { clock, cp, keeper, lost } = setup();
    cp.extendBehaviour = (call) =>
      call < 4 ? httpError('upstream_unavailable') : { leaseTtlMs: 30_000, cancelRequested: false };
    keeper.start();
    await clock.advance(60_000);
    expect(lost).toHaveLength(0);
    keeper.stop();
  });

  it('passes a cancellation request on', async () => {
    const { clock, cp, keeper, cancelled } = setup();
    cp.extendBehaviour = () => ({ leaseTtlMs: 30_000, cancelRequested: true });
    keeper.start();
    await clock.advance(10_000);
    expect(cancelled()).toBe(1);
    keeper.stop();
  });

  it('keeps the lease when times are fractional, as performance.now() makes them', async () => {
    const { clock, cp, keeper, lost } = setup(0.37);
    keeper.start();
    await clock.advance(40_000);
    expect(lost).toEqual([]);
    expect(cp.calls.extend.length).toBeGreaterThanOrEqual(3);
    keeper.stop();
  });
});
