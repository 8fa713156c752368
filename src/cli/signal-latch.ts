/** SIGTERM/SIGINT counted from the start; `handle` gets those already received, then each new one. */
export interface SignalLatch {
  handle(onSignal: (signal: NodeJS.Signals, count: number) => void): void;
  close(): void;
}

/**
 * Listens from the moment it is called. The entry point calls it before it loads the daemon's
 * modules (about a second): as PID 1 (the container) a signal without a listener is dropped by
 * the kernel, so one sent while they load would otherwise be lost. This module imports nothing.
 */
export function signalLatch(): SignalLatch {
  const received: NodeJS.Signals[] = [];
  let handler: ((signal: NodeJS.Signals, count: number) => void) | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    received.push(signal);
    handler?.(signal, received.length);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    handle(next) {
      handler = next;
      received.forEach((signal, i) => next(signal, i + 1));
    },
    close() {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
