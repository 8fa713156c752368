import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { InvitationPacer } from './invitation-pacer.js';

describe('invitation pacer', () => {
  it('lets `limit` invitations through per window for the whole daemon, and holds the next ones (any organization’s) until the window passes', async () => {
    const clock = new FakeClock();
    // One pacer for the daemon (the composition root's), shared by every org-portal integration.
    const pacer = new InvitationPacer(clock, { limit: 10, windowMs: 60_000 });
    for (let i = 0; i < 10; i += 1) (await pacer.acquire())();
    let eleventh = false;
    const waiting = pacer.acquire().then(() => (eleventh = true));
    // Another organization's integration waits too: Atlas's limit is per IP, and the daemon is one address.
    let other = false;
    const otherWaiting = pacer.acquire().then(() => (other = true));
    await clock.advance(60_000);
    expect(eleventh).toBe(false);
    expect(other).toBe(false);
    // The window is 2 % longer than Atlas's.
    await clock.advance(1_200);
    await Promise.all([waiting, otherWaiting]);
    expect(eleventh).toBe(true);
    expect(other).toBe(true);
  });

  it('keeps a daemon serving two organizations under Atlas’s per-IP limit: a burst across both meets no refusal', async () => {
    const clock = new FakeClock();
    // One pacer for the daemon (the composition root's), shared by two org-portal integrations.
    const pacer = new InvitationPacer(clock, { limit: 10, windowMs: 60_000 });
    // Atlas: at most 10 invitations a minute from one address, whatever the organization.
    const arrivals: { orgId: string; at: number }[] = [];
    let refused = 0;
    const atlasInvite = async (orgId: string): Promise<void> => {
      const now = clock.monotonic();
      if (arrivals.filter((a) => a.at > now - 60_000).length >= 10) refused += 1;
      else arrivals.push({ orgId, at: now });
      await clock.sleep(300); // the answer comes back
    };
    const invite = async (orgId: string): Promise<void> => {
      const done = await pacer.acquire();
      try {
        await atlasInvite(orgId);
      } finally {
        done();
      }
    };
    // Each integration invites 15 people at once.
    let finished = 0;
    const burst = ['org-a', 'org-b'].flatMap((orgId) =>
      Array.from({ length: 15 }, () => invite(orgId).then(() => (finished += 1))),
    );
    for (let minute = 0; minute < 10 && finished < burst.length; minute += 1) await clock.advance(60_000);
    await Promise.all(burst);
    expect(refused).toBe(0);
    expect(arrivals).toHaveLength(30);
    const times = arrivals.map((a) => a.at);
    for (const at of times)
      expect(times.filter((t) => t > at - 60_000 && t <= at).length).toBeLessThanOrEqual(10);
    // The two organizations together, not each: 10 in the first minute between them.
    expect(times.filter((t) => t < 60_000)).toHaveLength(10);
    expect(new Set(arrivals.map((a) => a.orgId))).toEqual(new Set(['org-a', 'org-b']));
  });

  it('holds every invitation of the daemon off after Atlas refused one anyway (the limit is per IP)', async () => {
    const clock = new FakeClock();
    const pacer = new InvitationPacer(clock, { limit: 10, windowMs: 60_000 });
    pacer.holdOff(60_000);
    let sent = false;
    const waiting = pacer.acquire().then(() => (sent = true));
    // Atlas's limit is per IP: the daemon's other organizations' invitations are held off too.
    let other = false;
    const otherWaiting = pacer.acquire().then(() => (other = true));
    await clock.advance(59_000);
    expect(sent).toBe(false);
    expect(other).toBe(false);
    await clock.advance(1_000);
    await Promise.all([waiting, otherWaiting]);
    expect(sent).toBe(true);
    expect(other).toBe(true);
  });

  it('keeps the slots of invitations still in flight through a hold', async () => {
    const clock = new FakeClock();
    const pacer = new InvitationPacer(clock, { limit: 1, windowMs: 60_000 });
    const inFlight = await pacer.acquire();
    pacer.holdOff(1_000);
    let second = false;
    const waiting = pacer.acquire().then(() => (second = true));
    await clock.advance(5_000);
    // The hold is over, but the one slot is still in flight.
    expect(second).toBe(false);
    inFlight();
    await clock.advance(60_000);
    expect(second).toBe(false);
    await clock.advance(1_300);
    await waiting;
    expect(second).toBe(true);
  });

  it('keeps holding off, and then sends, after many refusals in a row (the hold does not pile up)', async () => {
    const clock = new FakeClock();
    const pacer = new InvitationPacer(clock, { limit: 1_000, windowMs: 60_000 });
    for (let i = 0; i < 500; i += 1) pacer.holdOff(60_000);
    let sent = false;
    const waiting = pacer.acquire().then(() => (sent = true));
    await clock.advance(59_000);
    expect(sent).toBe(false);
    await clock.advance(1_000);
    await waiting;
    expect(sent).toBe(true);
  });

  it('extends a hold by a later refusal, never shortens it', async () => {
    const clock = new FakeClock();
    const pacer = new InvitationPacer(clock, { limit: 10, windowMs: 60_000 });
    pacer.holdOff(60_000);
    await clock.advance(30_000);
    pacer.holdOff(60_000);
    pacer.holdOff(1_000);
    let sent = false;
    const waiting = pacer.acquire().then(() => (sent = true));
    await clock.advance(59_000);
    expect(sent).toBe(false);
    await clock.advance(1_000);
    await waiting;
    expect(sent).toBe(true);
  });

  it('dates a window from when the invitation’s answer came back, not from when it was sent', async () => {
    const clock = new FakeClock();
    const pacer = new InvitationPacer(clock, { limit: 1, windowMs: 60_000 });
    const done = await pacer.acquire();
    let second = false;
    const waiting = pacer.acquire().then(() => (second = true));
    await clock.advance(5_000);
    done();
    await clock.advance(60_000);
    expect(second).toBe(false);
    await clock.advance(1_300);
    await waiting;
    expect(second).toBe(true);
  });

  it('stops waiting when the job is cancelled', async () => {
    const clock = new FakeClock();
    const pacer = new InvitationPacer(clock, { limit: 1, windowMs: 60_000 });
    (await pacer.acquire())();
    const abort = new AbortController();
    const waiting = pacer.acquire(abort.signal);
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'cancelled' });
  });
});
