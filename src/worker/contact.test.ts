import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { ControlPlaneContact } from './contact.js';

function contactOn(clock = new FakeClock()) {
  const events: string[] = [];
  const contact = new ControlPlaneContact(
    clock,
    () => events.push('answer'),
    () => events.push('back'),
  );
  return { clock, contact, events };
}

describe('ControlPlaneContact', () => {
  it('knows no contact before the first answer, then counts time since it', async () => {
    const { clock, contact } = contactOn();
    expect(contact.agoMs()).toBeNull();
    contact.answered(clock.monotonic());
    await clock.advance(1_500);
    expect(contact.agoMs()).toBe(1_500);
  });

  it('announces a return of contact once after a failure and ends the backoff waiting on it', () => {
    const { clock, contact, events } = contactOn();
    contact.answered(clock.monotonic());
    const before = contact.backSignal;
    contact.failed();
    contact.answered(clock.monotonic());
    contact.answered(clock.monotonic());
    expect(events).toEqual(['answer', 'answer', 'back', 'answer']);
    expect(before.aborted).toBe(true);
    expect(contact.backSignal.aborted).toBe(false);
  });

  it.each([
    [
      { heartbeatMs: 10, pollWaitMs: -5, leaseTtlMs: 30_000 },
      { heartbeatMs: 500, pollWaitMs: 0, leaseTtlMs: 30_000 },
    ],
    [
      { heartbeatMs: 600_000, pollWaitMs: 600_000, leaseTtlMs: 60_000, sessionGraceMs: 90_000 },
      { heartbeatMs: 60_000, pollWaitMs: 50_000, leaseTtlMs: 60_000, sessionGraceMs: 90_000 },
    ],
  ])('clamps the server intervals %j to %j', (given, kept) => {
    const { contact } = contactOn();
    contact.applyIntervals(given);
    expect(contact.intervals).toEqual(kept);
  });

  it('keeps leases past their TTL only within the session grace, counted from the last answered send', () => {
    const { clock, contact } = contactOn();
    contact.answered(clock.monotonic());
    expect(contact.sessionHeldUntil(0)).toBeUndefined();
    contact.applyIntervals({ leaseTtlMs: 60_000, sessionGraceMs: 90_000 });
    const sentAt = clock.monotonic();
    contact.answered(sentAt);
    // An older request answered later never moves the silence clock back.
    contact.answered(sentAt - 10_000);
    expect(contact.sessionHeldUntil(0)).toBe(sentAt + 90_000 - 5_000);
  });

  it('does not let an answer after the session could have been declared dead hold older leases', async () => {
    // A process frozen (SIGSTOP, a VM pause) past the grace: the server has declared its session
    // dead and expired its leases (docs/protocol.md §5.1). A request sent after that and answered
    // says nothing of those leases; only leases granted from then on may be held by later answers.
    const { clock, contact } = contactOn();
    contact.applyIntervals({ leaseTtlMs: 2_000, sessionGraceMs: 3_000 });
    const grantedBefore = clock.monotonic();
    contact.answered(clock.monotonic());
    await clock.advance(1_000);
    contact.answered(clock.monotonic()); // within the hold: the chain of contact is unbroken
    expect(contact.sessionHeldUntil(grantedBefore)).toBe(1_000 + 3_000 - 500);

    await clock.advance(60_000); // frozen
    const resumedAt = clock.monotonic();
    contact.answered(resumedAt);
    expect(contact.sessionHeldUntil(grantedBefore)).toBeUndefined();
    expect(contact.sessionHeldUntil(resumedAt)).toBe(resumedAt + 3_000 - 500);
  });
  it('does not let an answer that came after the hold had lapsed hold older leases, though its request left before', async () => {
    // A request sent within the hold may reach the server after it (a freeze between the send time
    // and the bytes leaving, retransmissions as a partition heals): the session may have been
    // declared dead first. Only the answer's arrival bounds when the server received it.
    const { clock, contact } = contactOn();
    contact.applyIntervals({ leaseTtlMs: 60_000, sessionGraceMs: 90_000 });
    const grantedBefore = clock.monotonic();
    contact.answered(clock.monotonic()); // held until 85 s
    await clock.advance(80_000);
    const sentAt = clock.monotonic();
    await clock.advance(15_000); // its answer arrives at 95 s, past the server's 90 s

    contact.answered(sentAt);

    expect(contact.sessionHeldUntil(grantedBefore)).toBeUndefined();
    expect(contact.sessionHeldUntil(sentAt)).toBe(sentAt + 90_000 - 5_000);
  });
});
