import type { z } from 'zod';
import type { AtlasClient } from '../atlas/index.js';
import type { Policy } from '../config/env.js';
import type { IntegrationRef } from '../control-plane/protocol.js';
import type { Clock } from '../runtime/clock.js';
import type { Random } from '../runtime/random.js';
import type { JobContext } from '../worker/job-context.js';
import type { InvitationPacer } from './atlas-org-portal/invitation-pacer.js';
import type { SnapshotUploader } from './snapshot-uploader.js';

/** The job operations an integration kind may support. */
export const jobOperations = ['discover', 'grant', 'revoke', 'renew', 'rotate', 'sweep'] as const;
export type JobOperation = (typeof jobOperations)[number];

/** What every adapter operation gets besides its config and payload. */
export interface AdapterDeps {
  readonly atlas: AtlasClient;
  readonly clock: Clock;
  readonly random: Random;
  /** The connector's local policy: enforced before any Atlas call, never overridable by a job. */
  readonly policy: Policy;
  /** How long a grant waits for the cluster to report APPLIED. */
  readonly readyTimeoutMs: number;
  readonly snapshots: SnapshotUploader;
  /** Registers a value (an issued password) that must never appear in any log line. */
  readonly registerSecret: (value: string) => void;
  /**
   * Paces organization invitations across the daemon (atlas-org-portal); one instance, built in
   * the composition root. Kinds that never invite leave it out.
   */
  readonly invitations?: Pick<InvitationPacer, 'acquire' | 'holdOff'>;
}

export interface OperationInput<C, P> {
  readonly config: C;
  readonly payload: P;
  readonly integration: IntegrationRef;
}

/** One capability of an adapter: its payload schema and the function that carries it out. */
export interface AdapterOperation<C> {
  readonly payloadSchema: z.ZodType;
  run(input: OperationInput<C, unknown>, deps: AdapterDeps, ctx: JobContext): Promise<unknown>;
}

/** Builds an operation whose payload is parsed by its own schema before `run` sees it. */
export function operation<C, S extends z.ZodType>(
  payloadSchema: S,
  run: (input: OperationInput<C, z.output<S>>, deps: AdapterDeps, ctx: JobContext) => Promise<unknown>,
): AdapterOperation<C> {
  return {
    payloadSchema,
    run: (input, deps, ctx) => run({ ...input, payload: payloadSchema.parse(input.payload) }, deps, ctx),
  };
}

export interface ConnectionCheck {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * An integration kind. A capability is present or absent — never a stub: `handlers` holds only
 * the operations the kind really implements.
 */
export interface IntegrationAdapter<C> {
  readonly kind: string;
  readonly configSchema: z.ZodType<C>;
  /** Config fields that hold secrets, for log redaction (none of today's kinds has one). */
  readonly secretFields: readonly string[];
  checkConnection(config: C, deps: AdapterDeps, ctx: JobContext): Promise<ConnectionCheck>;
  readonly handlers: Partial<Record<JobOperation, AdapterOperation<C>>>;
}
