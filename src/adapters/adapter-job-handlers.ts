import { z } from 'zod';
import type { IntegrationRef } from '../control-plane/protocol.js';
import { ConnectorError } from '../errors/connector-error.js';
import type { JobHandler } from '../worker/job-handlers.js';
import type { JobContext } from '../worker/job-context.js';
import { jobOperations, type AdapterDeps, type IntegrationAdapter, type JobOperation } from './adapter.js';
import type { AtlasClientPool } from './atlas-client-pool.js';

/** Everything an operation's deps hold, except the Atlas client, which is chosen per job. */
export interface AdapterRuntime extends Omit<AdapterDeps, 'atlas'> {
  readonly adapters: Readonly<Record<string, IntegrationAdapter<unknown>>>;
  readonly clients: Pick<AtlasClientPool, 'clientFor'>;
}

function invalidJob(message: string): ConnectorError {
  return new ConnectorError({ code: 'invalid_job', message });
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Resolves the adapter and its capability for a job; every failure names what is wrong. */
function resolve(runtime: AdapterRuntime, type: JobOperation, integration: IntegrationRef) {
  const adapter = Object.hasOwn(runtime.adapters, integration.kind)
    ? runtime.adapters[integration.kind]
    : undefined;
  if (!adapter) {
    throw invalidJob(
      `integration ${integration.id} has kind "${integration.kind}", which this connector does not support (supported: ${Object.keys(runtime.adapters).join(', ')})`,
    );
  }
  const handler = adapter.handlers[type];
  if (!handler) {
    throw new ConnectorError({
      code: 'unsupported',
      message: `integration kind "${integration.kind}" has no ${type} capability`,
    });
  }
  const config = adapter.configSchema.safeParse(integration.config);
  if (!config.success)
    throw invalidJob(`integration ${integration.id} config is invalid: ${describeIssues(config.error)}`);
  return { handler, config: config.data };
}

function adapterJobHandler(runtime: AdapterRuntime, type: JobOperation): JobHandler {
  return {
    // The payload schema depends on the integration's kind, so it is checked once that is known.
    payloadSchema: z.unknown(),
    needsIntegration: true,
    async run(payload: unknown, ctx: JobContext, integration: IntegrationRef | null) {
      if (!integration) throw invalidJob(`a ${type} job must name an integration`);
      const { handler, config } = resolve(runtime, type, integration);
      const parsed = handler.payloadSchema.safeParse(payload);
      if (!parsed.success)
        throw invalidJob(`payload does not match the ${type} schema: ${describeIssues(parsed.error)}`);
      const { adapters: _adapters, clients, ...shared } = runtime;
      const deps: AdapterDeps = { ...shared, atlas: clients.clientFor(integration.secretRef) };
      return handler.run({ config, payload: parsed.data, integration }, deps, ctx);
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
