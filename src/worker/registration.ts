import type { ControlPlaneClient, Session } from '../control-plane/control-plane-client.js';
import type { RegisterRequest } from '../control-plane/protocol.js';
import { isConnectorError } from '../errors/connector-error.js';
import { fullJitterDelay, type BackoffPolicy } from '../runtime/backoff.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Random } from '../runtime/random.js';
import { FailureLogPace } from './failure-log-pace.js';

export interface RegistrationDeps {
  readonly client: Pick<ControlPlaneClient, 'register'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: Random;
  readonly backoff: BackoffPolicy;
}

/**
 * The longest a control-plane `Retry-After` is honoured. A longer hint (a misconfigured load
 * balancer's `Retry-After: 86400`, an HTTP date read on a skewed clock) is taken as this long: the
 * loop asks again then, and the liveness it keeps while it waits (worker.ts) stays bounded.
 */
export const maxControlPlaneHintMs = 15 * 60_000;

/** An error's `Retry-After`, capped at `maxControlPlaneHintMs`. */
export function controlPlaneHint(error: unknown): number | undefined {
  const hint = isConnectorError(error) ? error.retryAfterMs : undefined;
  return hint === undefined ? undefined : Math.min(hint, maxControlPlaneHintMs);
}

const unreachable = 'control plane unreachable, backing off';

/**
 * What a failed registration says: a refused token, a token file this process cannot use (read
 * again at each registration, so a rotation may break it) and a request the control plane refuses
 * are the operator's to fix, not the network.
 */
function failureMessage(error: unknown): string {
  if (!isConnectorError(error)) return unreachable;
  if (error.code === 'auth_failed' || error.code === 'forbidden')
    return 'control plane refused the enrollment token; check CONTROL_PLANE_TOKEN';
  if (error.code === 'config_invalid')
    return 'enrollment token unusable; check CONTROL_PLANE_TOKEN_FILE or CONTROL_PLANE_TOKEN';
  // Its own answer (a protocol body) that no retry changes: a 400 for a body or protocol version it
  // does not take, a 404 for a route it does not have (a wrong path in the URL). It was reached.
  if (error.details.protocolCode !== undefined && !error.retryable)
    return 'control plane refused the registration; check CONTROL_PLANE_URL and the connector version';
  return unreachable;
}

/**
 * Registers until the control plane accepts, backing off with full jitter (long after a refused
 * token, which only an operator can fix). Returns the session with the monotonic send time of the
 * accepted request, or undefined when `signal` ends the attempts or `keepTrying` turns false.
 */
export async function registerUntilAccepted(
  deps: RegistrationDeps,
  request: RegisterRequest,
  signal: AbortSignal,
  keepTrying: () => boolean,
  /** After a failed attempt, with the delay before the next one (a Retry-After may make it long). */
  onFailedAttempt: (delayMs: number) => void,
): Promise<{ session: Session; sentAt: number } | undefined> {
  const { client, clock, logger, random } = deps;
  const pace = new FailureLogPace(() => clock.monotonic());
  for (let attempt = 0; keepTrying(); attempt += 1) {
    const sentAt = clock.monotonic();
    try {
      return { session: await client.register(request, signal), sentAt };
    } catch (error) {
      if (signal.aborted) return undefined;
      const message = failureMessage(error);
      const fatal = message !== unreachable;
      const delay = fullJitterDelay(deps.backoff, fatal ? 10 : attempt, random, controlPlaneHint(error));
      const loud = pace.level(message) === 'warn';
      logger[loud ? (fatal ? 'error' : 'warn') : 'debug'](
        { err: error, delayMs: delay, attempts: attempt + 1 },
        message,
      );
      onFailedAttempt(delay);
      await clock.sleep(delay, signal).catch(() => undefined);
    }
  }
  return undefined;
}
