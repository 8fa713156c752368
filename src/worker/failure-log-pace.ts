/** At most one warn per loop in this long while its failures go on; the rest of them at debug. */
export const repeatWarnEveryMs = 5 * 60_000;

/**
 * How loudly a retry loop logs its next failure. An outage fails every attempt, for as long as it
 * lasts (a heartbeat every few seconds to 15 s, a claim up to a minute apart): logged at each, an
 * hour of it was some 400 warn lines saying the same. The first failure after a success is a warn,
 * then one more per `repeatWarnEveryMs` at most, each with the loop's count of failures; the others
 * go at debug, so `LOG_LEVEL=debug` still shows every attempt.
 */
export class FailureLogPace {
  private lastWarnAt: number | undefined;
  private lastKind: string | undefined;

  constructor(private readonly monotonic: () => number) {}

  /**
   * The level of the line for a failure now. A failure of another `kind` than the last one warned
   * of (a refused token after network errors) is a warn at once: it says something new.
   */
  level(kind = ''): 'warn' | 'debug' {
    const now = this.monotonic();
    const recent = this.lastWarnAt !== undefined && now - this.lastWarnAt < repeatWarnEveryMs;
    if (recent && kind === this.lastKind) return 'debug';
    this.lastWarnAt = now;
    this.lastKind = kind;
    return 'warn';
  }

  /** A success: the next failure starts a new run, and is a warn. */
  succeeded(): void {
    this.lastWarnAt = undefined;
  }
}
