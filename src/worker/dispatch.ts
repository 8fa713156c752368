import { toConnectorError } from '../errors/connector-error.js';
import { errorCodeTable } from '../errors/error-codes.js';
import type { JobErrorBody } from '../control-plane/protocol.js';
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
 * The only place where errors become job outcomes. Anything that is not a ConnectorError is an
 * `internal` bug; the message that leaves is the error's safe message, never a stack or a cause.
 */
export async function dispatch(job: ParsedJob, ctx: JobContext): Promise<JobOutcome> {
  try {
    const result = await job.handler.run(job.payload, ctx, job.integration);
    return { outcome: 'succeeded', result };
  } catch (caught) {
    return failure(caught, ctx);
  }
}

export function failure(caught: unknown, ctx: Pick<JobContext, 'log'>): JobOutcome & { outcome: 'failed' } {
  const error = toConnectorError(caught);
  const level = errorCodeTable[error.code].level;
  ctx.log[level]({ err: error, code: error.code, retryable: error.retryable }, 'job failed');
  if (error.code !== 'policy_denied') return { outcome: 'failed', error: error.toSafeJSON() };
  const rule = error.details.rule;
  return {
    outcome: 'failed',
    error: error.toSafeJSON(),
    policyRule: typeof rule === 'string' ? rule : 'other',
  };
}
