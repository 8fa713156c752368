import { toConnectorError } from '../errors/connector-error.js';
import { errorCodeTable } from '../errors/error-codes.js';
import type { JobErrorBody } from '../control-plane/protocol.js';
import type { SecretScrubber } from '../runtime/secret-scrubber.js';
import type { JobContext } from './job-context.js';
import type { ParsedJob } from './parse-job.js';

export type JobOutcome =
  | { readonly outcome: 'succeeded'; readonly result: unknown }
  | {
      readonly outcome: 'failed';
      readonly error: JobErrorBody;
      /** For `policy_denied`: the policy rule that refused (a metric label; not reported). */
      readonly policyRule?: string;
    };

/**
 * Runs the handler; a throw becomes a failure (below). The scrubber is the logs' own: see `failure`.
 */
export async function dispatch(
  job: ParsedJob,
  ctx: JobContext,
  scrubber: Pick<SecretScrubber, 'scrub'>,
): Promise<JobOutcome> {
  try {
    const result = await job.handler.run(job.payload, ctx, job.integration);
    return { outcome: 'succeeded', result };
  } catch (caught) {
    return failure(caught, ctx, scrubber);
  }
}

/**
 * The only place where errors become job outcomes. Anything that is not a ConnectorError is an
 * `internal` bug; the message that leaves is the error's safe message, never a stack or a cause,
 * and it goes through the logs' scrubber first: a message is written by whatever code threw (a
 * driver, an SDK, a proxy's refusal) and may echo a secret or a connection string.
 */
export function failure(
  caught: unknown,
  ctx: Pick<JobContext, 'log'>,
  scrubber: Pick<SecretScrubber, 'scrub'>,
): JobOutcome & { outcome: 'failed' } {
  const error = toConnectorError(caught);
  const level = errorCodeTable[error.code].level;
  ctx.log[level]({ err: error, code: error.code, retryable: error.retryable }, 'job failed');
  const body = error.toSafeJSON((text) => scrubber.scrub(text));
  if (error.code !== 'policy_denied') return { outcome: 'failed', error: body };
  const rule = error.details.rule;
  return { outcome: 'failed', error: body, policyRule: typeof rule === 'string' ? rule : 'other' };
}
