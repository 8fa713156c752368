import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { InvitationPacer } from './invitation-pacer.js';

describe('invitation pacer', () => {
  it('lets `limit` invitations through per window per organization and holds the next until the window passes', async () => {
    const clock = new FakeClock();
    const pacer = new InvitationPacer(clock, { limit: 10, windowMs: 60_000 });
    for (let i = 0; i < 10; i += 1) (await pacer.acquire('org-a'))();
    let eleventh = false;
    const waiting = pacer.acquire('org-a').then(() => (eleventh = true));
    await pacer.acquire('org-b');
    await clock.advance(60_000);
    expect(eleventh).toBe(false);
    await clock.advance(1_200);
    await waiting;
    expect(eleventh).toBe(true);
  });

  it('holds an organization off after Atlas refused an invitation anyway', async () => {
    const clock = new FakeClock();
    const pacer = new InvitationPacer(clock, { limit: 10, windowMs: 60_000 });
    pacer.holdOff('org-a', 60_000);
    let sent = false;
    const waiting = pacer.acquire('org-a').then(() => (sent = true));
    await clock.advance(59_000);
    expect(sent).toBe(false);
    await clock.advance(1_000);
    await waiting;
    expect(sent).toBe(true);
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
