/**
 * Resolves or rejects with `promise`, or rejects as soon as `signal` aborts (the promise itself
 * is not cancelled: the caller decides what happens to it, e.g. a shared load keeps running for
 * its other waiters). `onAbort` turns the abort reason into the rejection (default: the reason
 * itself) and may release what the caller held. The one abort race of the code base.
 */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: (reason: unknown) => unknown = (reason) => reason,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(onAbort(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const aborted = (): void => reject(onAbort(signal.reason));
    signal.addEventListener('abort', aborted, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', aborted);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', aborted);
        reject(error);
      },
    );
  });
}
