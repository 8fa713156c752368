import type { z } from 'zod';
import { describeIssues, invalidJob } from '../errors/invalid-job.js';
import { ConnectorError } from '../errors/connector-error.js';
import { JobEnvelope, type IntegrationRef, type JobEnvelope as Envelope } from '../control-plane/protocol.js';
import type { Policy } from '../config/env.js';
import type { JobHandler, JobRouter } from './job-handlers.js';

export interface ParsedJob {
  readonly envelope: Envelope;
  readonly handler: JobHandler;
  readonly payload: unknown;
  readonly integration: IntegrationRef | null;
}

/**
 * What a result needs (its path and fence): an envelope that has them can be reported, not only
 * logged. Its type (a metric label) and TTL (to keep the lease meanwhile) are taken when readable.
 */
const ReportableFields = JobEnvelope.pick({
  jobId: true,
  attempt: true,
  leaseId: true,
  fencingToken: true,
}).extend({
  type: JobEnvelope.shape.type.optional().catch(undefined),
  leaseTtlMs: JobEnvelope.shape.leaseTtlMs.optional().catch(undefined),
});
type ReportableFields = z.infer<typeof ReportableFields>;

/**
 * A job whose envelope does not match the schema. With `lease` (its result's fence is readable) it
 * is reported failed `invalid_job`; without, it cannot be reported, only logged. `problem` names
 * the field and never quotes its value.
 */
export interface UnreadableJob {
  readonly problem: string;
  readonly jobId?: string;
  readonly lease?: ReportableFields;
}

export function parseEnvelope(raw: unknown): Envelope | UnreadableJob {
  const parsed = JobEnvelope.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const jobId =
    typeof raw === 'object' && raw !== null && typeof (raw as { jobId?: unknown }).jobId === 'string'
      ? (raw as { jobId: string }).jobId
      : undefined;
  const problem = `job envelope field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`;
  const lease = ReportableFields.safeParse(raw);
  return lease.success ? { problem, jobId, lease: lease.data } : { problem, jobId };
}

/**
 * The envelope a reportable unreadable job runs under, to keep its lease and report its failure:
 * only the lease fields (and its type and TTL when readable) are the server's.
 */
export function standInEnvelope(lease: ReportableFields, leaseTtlMs: number): Envelope {
  return {
    jobId: lease.jobId,
    attempt: lease.attempt,
    leaseId: lease.leaseId,
    fencingToken: lease.fencingToken,
    type: lease.type ?? 'unreadable',
    leaseTtlMs: lease.leaseTtlMs ?? leaseTtlMs,
    notAfter: '',
    resourceKey: `job/${lease.jobId}`,
    integration: null,
    payload: '',
  };
}

export function isUnreadable(value: Envelope | UnreadableJob): value is UnreadableJob {
  return 'problem' in value;
}

/**
 * Turns an envelope into something runnable, or throws `invalid_job` / `policy_denied` with a
 * message that names the problem. Order matters: size before JSON, JSON before schema.
 */
export function parseJob(
  envelope: Envelope,
  router: JobRouter,
  policy: Policy,
  maxPayloadBytes: number,
): ParsedJob {
  const handler = router.handlerFor(envelope.type);
  if (!handler) {
    throw invalidJob(`unknown job type "${envelope.type}" (this connector runs: ${router.types.join(', ')})`);
  }
  if (policy.allowedJobTypes.length > 0 && !policy.allowedJobTypes.includes(envelope.type)) {
    throw new ConnectorError({
      code: 'policy_denied',
      message: `job type "${envelope.type}" is not in POLICY_ALLOWED_JOB_TYPES`,
      details: { rule: 'job_type' },
    });
  }
  const size = Buffer.byteLength(envelope.payload, 'utf8');
  if (size > maxPayloadBytes) {
    throw invalidJob(
      `payload is ${size} bytes, over the limit of ${maxPayloadBytes} bytes (MAX_PAYLOAD_BYTES)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(envelope.payload);
  } catch (error) {
    // V8 quotes the text around a bad token, and a payload may hold personal data: position only.
    const position = error instanceof Error ? /at position (\d+)/.exec(error.message)?.[1] : undefined;
    throw invalidJob(
      `payload is not valid JSON${position === undefined ? '' : ` (at position ${position})`}`,
    );
  }
  const parsed = handler.payloadSchema.safeParse(json);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error, '(payload)');
    throw invalidJob(`payload does not match the ${envelope.type} schema: ${problems}`);
  }
  if (handler.needsIntegration && !envelope.integration) {
    throw invalidJob(`a ${envelope.type} job must name an integration`);
  }
  return { envelope, handler, payload: parsed.data, integration: envelope.integration };
}
