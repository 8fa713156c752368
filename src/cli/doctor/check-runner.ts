import { isConnectorError } from '../../errors/connector-error.js';
import type { DoctorContext } from './doctor-context.js';
import type { CheckOutcome, CheckResult } from './doctor-types.js';

/** One doctor check. `needs` names earlier checks whose failure makes this one meaningless. */
export interface CheckStep {
  readonly name: string;
  readonly needs: readonly string[];
  run(ctx: DoctorContext, signal: AbortSignal): Promise<CheckOutcome>;
}

/**
 * Runs the checks in order. A check whose dependency failed (or was itself skipped for that
 * reason) is skipped with the reason, so the report points at the first real problem.
 */
export async function runChecks(steps: readonly CheckStep[], ctx: DoctorContext): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const blocked = new Map<string, string>();
  for (const step of steps) {
    const blocker = step.needs.find((name) => blocked.has(name));
    if (blocker !== undefined) {
      results.push({
        name: step.name,
        status: 'skip',
        detail: `skipped: "${blocker}" ${blocked.get(blocker)}`,
      });
      blocked.set(step.name, 'was skipped');
      continue;
    }
    const outcome = await runOne(step, ctx);
    if (outcome.status === 'fail') blocked.set(step.name, 'failed');
    results.push({ name: step.name, ...outcome });
  }
  return results;
}

async function runOne(step: CheckStep, ctx: DoctorContext): Promise<CheckOutcome> {
  // A deadline per check: doctor must answer even when a network path silently drops packets.
  const signal = AbortSignal.timeout(ctx.checkTimeoutMs);
  try {
    return await step.run(ctx, signal);
  } catch (error) {
    if (signal.aborted) {
      return {
        status: 'fail',
        detail: `no answer within ${Math.round(ctx.checkTimeoutMs / 1000)} s`,
        remedy:
          'check egress from this host (firewall, NetworkPolicy, HTTPS_PROXY / NO_PROXY) and run doctor again',
      };
    }
    return { status: 'fail', detail: `unexpected error: ${describeError(error)}` };
  }
}

/**
 * A failure in one line: the ConnectorError message (never a secret) or the error's name, then
 * the innermost cause, which is where the reason is (`unreachable` → `connect ECONNREFUSED …`).
 */
export function describeError(error: unknown): string {
  const outer = isConnectorError(error)
    ? error.message
    : error instanceof Error
      ? `${error.name}: ${error.message}`
      : String(error);
  const inner = innermostCause(error);
  return inner === error || !(inner instanceof Error) ? outer : `${outer} (cause: ${causeText(inner)})`;
}

/** The last error of the `cause` chain (bounded, in case of a cycle). */
export function innermostCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof Error && current.cause instanceof Error; depth += 1) {
    current = current.cause;
  }
  return current;
}

function causeText(error: Error): string {
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}
