/**
 * A job's abort signal also carries its pre-write check (`JobContext.beforeSideEffect`), so the
 * Atlas transport runs it before every attempt of a mutating call, retries included: a retry that
 * waited (a 429, a 5xx, the pacer) through an event-loop stall past the lease deadline must not
 * write, and the keeper's timer may fire only after that retry's request went out. It rides on
 * the signal because every Atlas call of a job is already given that signal; a call without one
 * (a signal from elsewhere, or none) is not checked. The transport hands the check on to each
 * attempt's own signal, so the auth layer runs it too before it sends a write again after a 401.
 */
const writeGuard = Symbol('writeGuard');

interface GuardedSignal extends AbortSignal {
  readonly [writeGuard]?: () => void;
}

/** Makes `check` (which throws to refuse) the write guard of `signal`. */
export function guardWrites(signal: AbortSignal, check: () => void): void {
  Object.defineProperty(signal, writeGuard, { value: check, configurable: true });
}

/** Runs the write guard `signal` carries, if any: throws when the write must not go out. */
export function runWriteGuard(signal: AbortSignal | undefined): void {
  (signal as GuardedSignal | undefined)?.[writeGuard]?.();
}
