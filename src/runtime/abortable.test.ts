import { describe, expect, it } from 'vitest';
import { abortable } from './abortable.js';

describe('abortable', () => {
  it('settles with the promise when the signal never aborts', async () => {
    await expect(abortable(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    await expect(abortable(Promise.reject(new Error('boom')), undefined)).rejects.toThrow('boom');
  });

  it('rejects with the reason as soon as the signal aborts, without waiting for the promise', async () => {
    const controller = new AbortController();
    const pending = abortable(new Promise<never>(() => undefined), controller.signal);
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });

  it('rejects at once on an already aborted signal, with what onAbort makes of the reason', async () => {
    const released: unknown[] = [];
    const failure = abortable(Promise.resolve(1), AbortSignal.abort('gone'), (reason) => {
      released.push(reason);
      return new Error(`cancelled: ${String(reason)}`);
    });
    await expect(failure).rejects.toThrow('cancelled: gone');
    expect(released).toEqual(['gone']);
  });
});
