/**
 * At most `limit` calls in flight; the rest wait in FIFO order. Discovery walks many projects at
 * once so the pipe stays full, and this gate is what bounds the load on Atlas (and the memory of
 * responses being parsed) to `discoveryConcurrency`, whatever the number of projects.
 */
export type CallGate = <T>(call: () => Promise<T>) => Promise<T>;

export function createCallGate(limit: number): CallGate {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active -= 1;
  };
  return async <T>(call: () => Promise<T>): Promise<T> => {
    if (active < Math.max(1, limit)) active += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await call();
    } finally {
      release();
    }
  };
}
