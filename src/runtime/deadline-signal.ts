/**
 * A call's own signal: aborted by its deadline (a `TimeoutError`, as `AbortSignal.timeout` would)
 * or by the caller's signal, and released when the call ends. One controller, one timer and one
 * listener, all gone with the call: `AbortSignal.any([AbortSignal.timeout(…), signal])` cost about
 * 45 us per call in the control-plane client, kept its timer alive for the whole timeout after every
 * request, and tied every call to the caller's long-lived signal until garbage collection.
 *
 * The deadline is a real timer, not the injected clock: it guards real I/O (a peer or proxy that
 * accepts a request and never answers), and tests that step a fake clock through retry and poll
 * waits must not fire it while a mock or the simulator is answering.
 */
export interface DeadlineSignal {
  readonly signal: AbortSignal;
  /** True once the deadline (not the caller) aborted `signal`. */
  timedOut(): boolean;
  /** Clears the timer and the caller listener; call it when the call settles. Idempotent. */
  release(): void;
}

export function deadlineSignal(timeoutMs: number, parent: AbortSignal | undefined): DeadlineSignal {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, timeoutMs);
  // Like AbortSignal.timeout's, the deadline alone never keeps the process alive.
  timer.unref();
  const onAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => expired && parent?.aborted !== true,
    release: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}
