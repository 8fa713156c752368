import type { z } from 'zod';
import type { AtlasClient } from '../atlas/index.js';
import type { Policy } from '../config/env.js';
import type { IntegrationRef } from '../control-plane/protocol.js';
import type { ErrorCode } from '../errors/error-codes.js';
import { describeIssues, invalidJob } from '../errors/invalid-job.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Random } from '../runtime/random.js';
import type { JobContext } from '../worker/job-context.js';
import type { CredentialState } from './credential-state.js';
import type { Scope } from './scope.js';
import type { SnapshotUploader } from './snapshot-uploader.js';

/**
 * The adapter contract (docs/architecture.md shows where it sits). A kind is a `KindDefinition`:
 * static facts (config schema, the credential it needs, its operations, fields to redact) and a
 * factory that builds its adapter from the common deps plus the extras it declares. The registry
 * lists the definitions; the dispatcher, `schema`, `doctor`, the Helm NOTES and the README read
 * that one list.
 */

/** The job operations an integration kind may support. */
export const jobOperations = ['discover', 'grant', 'revoke', 'renew', 'rotate', 'sweep'] as const;
export type JobOperation = (typeof jobOperations)[number];

/** What the composition root gives every kind's factory. */
export interface CommonDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** The connector's local policy: enforced before any Atlas call, never overridable by a job. */
  readonly policy: Policy;
  readonly snapshots: SnapshotUploader;
  /** Registers a value (an issued password) that must never appear in any log line. */
  readonly registerSecret: (value: string) => void;
}

/**
 * One Atlas credential as a job sees it: its client (digest nonce, OAuth token, pacing) and the
 * state kept per credential (readiness trackers, recent clusters). Made once per secret
 * reference by the Atlas client pool in the composition root; the dispatcher hands each job the
 * credential its integration names.
 */
export type AtlasCredential = { readonly atlas: AtlasClient } & CredentialState;

/** What an operation runs with: the common deps and the job's credential. */
export type AdapterDeps = CommonDeps & AtlasCredential;

/** A job as an adapter receives it: the payload is still raw; the operation parses it once. */
export interface AdapterJob<C> {
  readonly operation: JobOperation;
  readonly config: C;
  readonly payload: unknown;
  readonly integration: IntegrationRef;
}

/** One capability of an adapter, as the dispatcher runs it. */
export interface AdapterCapability<C> {
  run(job: AdapterJob<C>, credential: AtlasCredential, ctx: JobContext): Promise<unknown>;
}

/** A capability as a kind's implementation builds it: with the payload schema it parses by. */
export interface AdapterOperation<C> extends AdapterCapability<C> {
  readonly payloadSchema: z.ZodType;
}

/** A job whose payload has been parsed (at the adapter boundary, once). */
export interface ParsedJob<C, P> {
  readonly operation: JobOperation;
  readonly config: C;
  readonly payload: P;
  readonly integration: IntegrationRef;
}

/** Builds an operation: the payload is parsed by `payloadSchema` here, and nowhere else. */
export function defineOperation<C, P>(
  payloadSchema: z.ZodType<P>,
  run: (job: ParsedJob<C, P>, credential: AtlasCredential, ctx: JobContext) => Promise<unknown>,
): AdapterOperation<C> {
  return {
    payloadSchema,
    async run(job, credential, ctx) {
      const parsed = payloadSchema.safeParse(job.payload);
      if (!parsed.success) {
        throw invalidJob(
          `payload does not match the ${job.operation} schema: ${describeIssues(parsed.error)}`,
        );
      }
      return await run({ ...job, payload: parsed.data }, credential, ctx);
    },
  };
}

/** What a scope resolver sees: the integration's config and the parsed payload. */
export interface ScopeRequest<C, P> {
  readonly config: C;
  readonly payload: P;
  readonly integration: IntegrationRef;
}

/**
 * Turns a job into the scope it acts on (see `scope.ts`). Async: a scope may come from the
 * payload and from Atlas (a discovered cluster's project and tags). Refuses anything outside the
 * integration with `invalid_request` naming the field.
 */
export type ScopeResolver<C, P, S extends Scope> = (
  request: ScopeRequest<C, P>,
  deps: AdapterDeps,
  ctx: JobContext,
) => Promise<S>;

export interface ConnectionCheck {
  readonly ok: boolean;
  readonly detail: string;
  /** When not ok because Atlas (or the connector) refused: the error's code, which says what to fix. */
  readonly code?: ErrorCode;
}

/** The Atlas role a kind's credential needs, where, and how an operator makes such a credential. */
export type CredentialRequirement =
  | {
      readonly level: 'project';
      /** `one`: the config names one project; `several`: an allow-list, or every project the key sees. */
      readonly projects: 'one' | 'several';
      readonly role: 'GROUP_OWNER';
      /** The documented minimum that also works (database users and custom roles only). */
      readonly leastPrivilege: readonly string[];
      /** Atlas CLI command that creates a suitable key (placeholders in angle brackets). */
      readonly create: string;
    }
  | {
      readonly level: 'organization';
      readonly role: 'ORG_OWNER';
      readonly create: string;
    };

/**
 * An integration kind's adapter, built by its factory. A capability is present or absent, never
 * a stub: `operations` holds exactly the operations the definition declares.
 */
export interface IntegrationAdapter<C, O extends JobOperation = JobOperation> {
  readonly operations: Readonly<Record<O, AdapterCapability<C>>>;
  /** Proves the credential reaches what the config names (used by `doctor`). */
  checkConnection(config: C, credential: AtlasCredential, ctx: JobContext): Promise<ConnectionCheck>;
}

/** Everything the connector knows about a kind: one registry row. */
export interface KindDefinition<C, O extends JobOperation = JobOperation, X extends object = object> {
  readonly kind: string;
  /** One line for the README table and the Helm NOTES. */
  readonly summary: string;
  /** zod, with a `.describe()` on every field (printed by `schema`). */
  readonly configSchema: z.ZodType<C>;
  readonly credential: CredentialRequirement;
  readonly operations: readonly O[];
  /** Config fields whose values are secret: registered with the log scrubber when a job parses the config. */
  readonly redactFields: readonly string[];
  /**
   * Builds the adapter from the common deps and the extras this kind declares. The four built
   * kinds return a `lazyAdapter`: their implementation is imported by the first job that needs it.
   */
  create(deps: CommonDeps & X): IntegrationAdapter<C, O>;
}

/** A kind with its types erased, as the registry and its readers hold it. */
export interface AnyKindDefinition extends Omit<KindDefinition<unknown>, 'create'> {
  create(deps: CommonDeps): {
    readonly operations: Readonly<Partial<Record<JobOperation, AdapterCapability<unknown>>>>;
    checkConnection(config: unknown, credential: AtlasCredential, ctx: JobContext): Promise<ConnectionCheck>;
  };
}
