import { z } from 'zod';
import type { IntegrationRef } from '../control-plane/protocol.js';
import { ConnectorError } from '../errors/connector-error.js';
import { describeIssues, invalidJob } from '../errors/invalid-job.js';
import type { JobHandler } from '../worker/job-handlers.js';
import type { JobContext } from '../worker/job-context.js';
import { jobOperations, type JobOperation } from './adapter.js';
import type { AtlasClientPool } from './atlas-client-pool.js';
import type { BuiltKind } from './registry.js';

/** What the dispatcher needs: the built kinds, the credentials, and the log scrubber. */
export interface AdapterRuntime {
  readonly kinds: Readonly<Record<string, BuiltKind>>;
  readonly clients: Pick<AtlasClientPool, 'credentialFor'>;
  /** Registers a value (a redacted config field) that must never appear in any log line. */
  readonly registerSecret: (value: string) => void;
}

/** Resolves the kind and its capability for a job; every failure names what is wrong. */
function resolve(runtime: AdapterRuntime, type: JobOperation, integration: IntegrationRef) {
  const built = Object.hasOwn(runtime.kinds, integration.kind) ? runtime.kinds[integration.kind] : undefined;
  if (!built) {
    throw invalidJob(
      `integration ${integration.id} has kind "${integration.kind}", which this connector does not support (supported: ${Object.keys(runtime.kinds).join(', ')})`,
    );
  }
  const operation = built.adapter.operations[type];
  if (!operation) {
    throw new ConnectorError({
      code: 'unsupported',
      message: `integration kind "${integration.kind}" has no ${type} capability`,
    });
  }
  const config = built.definition.configSchema.safeParse(integration.config);
  if (!config.success)
    throw invalidJob(`integration ${integration.id} config is invalid: ${describeIssues(config.error)}`);
  redact(runtime, built, config.data);
  return { operation, config: config.data };
}

/** The kind's secret config fields join the log scrubber before anything can log them. */
function redact(runtime: AdapterRuntime, built: BuiltKind, config: unknown): void {
  if (typeof config !== 'object' || config === null) return;
  for (const field of built.definition.redactFields) {
    const value: unknown = Object.getOwnPropertyDescriptor(config, field)?.value;
    if (typeof value === 'string' && value !== '') runtime.registerSecret(value);
  }
}

function adapterJobHandler(runtime: AdapterRuntime, type: JobOperation): JobHandler {
  return {
    // The payload schema depends on the integration's kind: the kind's operation parses it, once.
    payloadSchema: z.unknown(),
    needsIntegration: true,
    async run(payload: unknown, ctx: JobContext, integration: IntegrationRef | null) {
      if (!integration) throw invalidJob(`a ${type} job must name an integration`);
      const { operation, config } = resolve(runtime, type, integration);
      const credential = runtime.clients.credentialFor(integration.secretRef);
      return operation.run({ operation: type, config, payload, integration }, credential, ctx);
    },
  };
}

/** The Atlas job types, one handler each, dispatching on the integration's kind. */
export function createAdapterJobHandlers(runtime: AdapterRuntime): Record<JobOperation, JobHandler> {
  return Object.fromEntries(jobOperations.map((type) => [type, adapterJobHandler(runtime, type)])) as Record<
    JobOperation,
    JobHandler
  >;
}
