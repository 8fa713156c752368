import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { linkedSignal } from './deadline-signal.js';

describe('linkedSignal', () => {
  it('aborts with the reason of whichever parent aborts', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkedSignal(a.signal, b.signal);
    expect(linked.signal.aborted).toBe(false);
    b.abort('stepped');
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe('stepped');
  });

  it('is aborted at once when a parent already is', () => {
    const a = new AbortController();
    a.abort('stopped');
    const linked = linkedSignal(new AbortController().signal, a.signal);
    expect(linked.signal.reason).toBe('stopped');
  });

  it('leaves nothing on a long-lived parent once released, however often it is used', () => {
    const long = new AbortController();
    for (let i = 0; i < 100; i += 1) {
      const step = new AbortController();
      const linked = linkedSignal(long.signal, step.signal);
      step.abort();
      linked.release();
      linked.release();
    }
    expect(getEventListeners(long.signal, 'abort')).toHaveLength(0);
    long.abort();
  });
});
