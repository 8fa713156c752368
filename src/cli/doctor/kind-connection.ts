import { createCredentialState } from '../../adapters/credential-state.js';
import { isConnectorError } from '../../errors/connector-error.js';
import type { ErrorCode } from '../../errors/error-codes.js';
import { describeIssues } from '../../errors/invalid-job.js';
import { createLogger } from '../../runtime/logger.js';
import { createJobContext } from '../../worker/job-context.js';
import { provided, type DoctorContext } from './doctor-context.js';
import type { CheckOutcome } from './doctor-types.js';

/**
 * The kind's own `checkConnection` on the integration's config (`--integration`, or the control
 * plane's list), with the credential doctor already authenticated: what a job of that integration
 * would reach first.
 */
export async function kindConnection(ctx: DoctorContext, signal: AbortSignal): Promise<CheckOutcome> {
  const { kind, definition } = ctx.target;
  const parsed = definition.configSchema.safeParse(ctx.target.config);
  if (!parsed.success) {
    return { status: 'fail', detail: `the ${kind} config is invalid: ${describeIssues(parsed.error)}` };
  }
  const atlas = provided(ctx.atlas, 'the Atlas client');
  const config = provided(ctx.config, 'the configuration');
  const logger = createLogger({ level: 'silent', base: {}, scrubber: ctx.scrubber });
  const adapter = definition.create({
    clock: ctx.clock,
    random: ctx.random,
    logger,
    policy: config.policy,
    snapshots: { upload: () => Promise.reject(new Error('doctor uploads no snapshot')) },
    registerSecret: (value) => ctx.scrubber.add(value),
  });
  const credential = {
    atlas,
    ...createCredentialState(atlas, { clock: ctx.clock, readyTimeoutMs: config.atlas.readyTimeoutMs }),
  };
  const job = createJobContext({
    jobId: 'doctor',
    attempt: 1,
    fencingToken: 0,
    log: logger,
    clock: ctx.clock,
    signal,
    scrubber: ctx.scrubber,
  });
  try {
    const check = await adapter.checkConnection(parsed.data, credential, job);
    if (check.ok) return { status: 'pass', detail: `${kind} connection check: ${check.detail}` };
    const remedy = connectionRemedy(check.code, definition.credential.create);
    return {
      status: 'fail',
      detail: `${kind} connection check: ${check.detail}`,
      ...(remedy ? { remedy } : {}),
    };
  } catch (error) {
    if (!isConnectorError(error) || signal.aborted) throw error;
    return { status: 'fail', detail: `${kind} connection check: ${job.describe(error)}` };
  }
}

/**
 * What fixes a failed connection check, by why it failed. The checks before it proved the
 * credential reaches the projects or the organization, so most failures are a name in the config
 * (a cluster Atlas does not have); only a refusal calls for another credential.
 */
function connectionRemedy(code: ErrorCode | undefined, createCredential: string): string | undefined {
  switch (code) {
    case undefined: // the kind's own finding (no project visible to the key)
    case 'auth_failed':
    case 'forbidden':
      return createCredential;
    case 'not_found':
    case 'invalid_request':
    case 'invalid_job':
      return "correct the value the detail names in the integration's config: Atlas has nothing by that name or id where the credential looks";
    default:
      return undefined;
  }
}
