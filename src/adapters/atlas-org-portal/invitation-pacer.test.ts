import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { InvitationPacer } from './invitation-pacer.js';

describe('invitation pacer', () => {
  it('lets `limit` invitations through per window, per organization and for the daemon, and holds the next until the window passes', async () => {
    const clock = new FakeClock();
    const pacer = new InvitationPacer(clock, { limit: 10, windowMs: 60_000 });
    for (let i = 0; i < 10; i += 1) (await pacer.acquire('org-a'))();
    let eleventh = false;
    const waiting = pacer.acquire('org-a').then(() => (eleventh = true));
    // Another organization's waits too: Atlas's limit is per IP, and the daemon is one address.
    let other = false;
    const otherWaiting = pacer.acquire('org-b').then(() => (other = true));
    await clock.advance(60_000);
    expect(eleventh).toBe(false);
    expect(other).toBe(false);
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
    const arrivals: number[] = [];
    let refused = 0;
    const atlasInvite = async (): Promise<void> => {
      const now = clock.monotonic();
      if (arrivals.filter((t) => t > now - 60_000).length >= 10) refused += 1;
      else arrivals.push(now);
      await clock.sleep(300); // the answer comes back
    };
    const invite = async (orgId: string): Promise<void> => {
      const done = await pacer.acquire(orgId);
      try {
        await atlasInvite();
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
    for (const at of arrivals)
      expect(arrivals.filter((t) => t > at - 60_000 && t <= at).length).toBeLessThanOrEqual(10);
    // Per organization, too: never more than 10 a minute.
    expect(arrivals.filter((t) => t < 60_000)).toHaveLength(10);
  });

  it('holds every organization of the daemon off after Atlas refused an invitation anyway (the limit is per IP)', async () => {
    const clock = new FakeClock();
    const pacer = new InvitationPacer(clock, { limit: 10, windowMs: 60_000 });
    pacer.holdOff('org-a', 60_000);
    let sent = false;
    const waiting = pacer.acquire('org-a').then(() => (sent = true));
    // Atlas's limit is per IP: the daemon's other organizations are held off too.
    let other = false;
    const otherWaiting = pacer.acquire('org-b').then(() => (other = true));
    await clock.advance(59_000);
    expect(sent).toBe(false);
    expect(other).toBe(false);
    await clock.advance(1_000);
    await Promise.all([waiting, otherWaiting]);
    expect(sent).toBe(true);
    expect(other).toBe(true);
  });

  it('dates a window from when the invitation’s answer came back, not from when it was sent', async () => {
    const clock = new FakeClock();
    const pacer = new InvitationPacer(clock, { limit: 1, windowMs: 60_000 });
    const done = await pacer.acquire('org-a');
    let second = false;
    const waiting = pacer.acquire('org-a').then(() => (second = true));
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
    (await pacer.acquire('org-a'))();
    const abort = new AbortController();
    const waiting = pacer.acquire('org-a', abort.signal);
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'cancelled' });
  });
});
