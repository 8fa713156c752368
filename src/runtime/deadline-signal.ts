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

/**
 * A signal aborted when any of `parents` aborts (with that parent's reason), released when the
 * wait it guards ends. For waits repeated in a loop on a long-lived signal (the claim loop's, the
 * outbox's): on Node 20, `AbortSignal.any` over a long-lived signal keeps an entry on it for every
 * call, for the life of the process (about 60 bytes each, one per second while results are held).
 */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Removes the listeners on the parents; call it when the wait ends. Idempotent. */
  release(): void;
}

export function linkedSignal(...parents: readonly AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  const aborted = parents.find((parent) => parent.aborted);
  if (aborted) {
    controller.abort(aborted.reason);
    return { signal: controller.signal, release: () => undefined };
  }
  const listeners = parents.map((parent) => {
    const onAbort = (): void => controller.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    return () => parent.removeEventListener('abort', onAbort);
  });
  return { signal: controller.signal, release: () => listeners.forEach((remove) => remove()) };
}
