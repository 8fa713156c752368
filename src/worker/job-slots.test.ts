import { describe, expect, it } from 'vitest';
import { flushMicrotasks, settleUntil } from '../../test/fakes/fake-clock.js';
import { JobSlots } from './job-slots.js';

/** Tasks that run until the test ends them, recording which are running. */
function tasks() {
  const running = new Set<string>();
  const enders = new Map<string, () => void>();
  return {
    running,
    task: (id: string) => () =>
      new Promise<void>((resolve) => {
        running.add(id);
        enders.set(id, () => {
          running.delete(id);
          resolve();
        });
      }),
    end: async (id: string) => {
      enders.get(id)?.();
      await flushMicrotasks();
    },
  };
}

describe('JobSlots', () => {
  it('frees a slot when a job parks, within the waiting allowance', async () => {
    const slots = new JobSlots({ maxConcurrentJobs: 1, maxWaitingJobs: 1 });
    const t = tasks();
    void slots.run('a', t.task('a'));
    await flushMicrotasks();
    expect(slots.free).toBe(0);
    expect(slots.park('a')).toBe(true);
    expect(slots.park('a')).toBe(true);
    expect(slots.waitingLeaseIds).toEqual(['a']);
    expect(slots.free).toBe(1);
    void slots.run('b', t.task('b'));
    await flushMicrotasks();
    expect(slots.park('b')).toBe(false);
    expect(slots.waitingLeaseIds).toEqual(['a']);
    expect(slots.free).toBe(0);
    await t.end('a');
    expect(slots.waitingLeaseIds).toEqual([]);
    expect(slots.free).toBe(0);
    await t.end('b');
    expect(slots.free).toBe(1);
  });

  it('refuses to park a job that is not running, and parks nothing with an allowance of 0', async () => {
    const slots = new JobSlots({ maxConcurrentJobs: 2, maxWaitingJobs: 1 });
    const t = tasks();
    void slots.run('a', t.task('a'));
    await flushMicrotasks();
    expect(slots.park('unknown')).toBe(false);
    await t.end('a');
    expect(slots.park('a')).toBe(false);
    expect(slots.waitingLeaseIds).toEqual([]);
    expect(slots.free).toBe(2);
    const none = new JobSlots({ maxConcurrentJobs: 2, maxWaitingJobs: 0 });
    void none.run('b', t.task('b'));
    await flushMicrotasks();
    expect(none.park('b')).toBe(false);
    await t.end('b');
  });

  it('never starts a queued job in the slot a parked job gives back when it ends', async () => {
    const slots = new JobSlots({ maxConcurrentJobs: 1, maxWaitingJobs: 4 });
    const t = tasks();
    void slots.run('a', t.task('a'));
    await flushMicrotasks();
    slots.park('a');
    void slots.run('b', t.task('b'));
    void slots.run('c', t.task('c'));
    await flushMicrotasks();
    expect([...t.running]).toEqual(['a', 'b']);
    await t.end('a');
    expect([...t.running]).toEqual(['b']);
    await t.end('b');
    expect([...t.running]).toEqual(['c']);
  });

  it('wakes a waiting claim when a job parks', async () => {
    const slots = new JobSlots({ maxConcurrentJobs: 1, maxWaitingJobs: 1 });
    const t = tasks();
    void slots.run('a', t.task('a'));
    await flushMicrotasks();
    let woken = false;
    void slots.whenFree(new AbortController().signal).then(() => (woken = true));
    await flushMicrotasks();
    expect(woken).toBe(false);
    slots.park('a');
    await settleUntil(() => woken, 'the waiting claim to wake');
  });

  it('counts parked jobs in the gauge callback', async () => {
    const counts: number[] = [];
    const slots = new JobSlots({ maxConcurrentJobs: 1, maxWaitingJobs: 1 }, (count) => counts.push(count));
    const t = tasks();
    void slots.run('a', t.task('a'));
    await flushMicrotasks();
    slots.park('a');
    await t.end('a');
    expect(counts).toEqual([1, 0]);
  });
});
