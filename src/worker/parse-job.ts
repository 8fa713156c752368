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

/** A job whose envelope cannot even be read: it cannot be reported, only logged. */
export interface UnreadableJob {
  readonly problem: string;
  readonly jobId?: string;
}

export function parseEnvelope(raw: unknown): Envelope | UnreadableJob {
  const parsed = JobEnvelope.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const jobId =
    typeof raw === 'object' && raw !== null && typeof (raw as { jobId?: unknown }).jobId === 'string'
      ? (raw as { jobId: string }).jobId
      : undefined;
  return {
    problem: `job envelope field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    jobId,
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
    throw invalidJob(`payload is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
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
