import { ConnectorError } from '../errors/connector-error.js';
import type { AdapterCapability, IntegrationAdapter, JobOperation } from './adapter.js';

/**
 * A kind's adapter whose implementation module is imported by the first job that needs it (or by
 * `doctor`'s connection check), not at start: a replica holds the code of the kinds its
 * integrations use, and no other (about 1.4 MB of the idle daemon's resident memory for the four
 * built kinds; docs/benchmarks.md). A kind's definition module stays light (its config schema, its
 * credential, its operation names) and names its implementation in `load`.
 *
 * Concurrent first jobs share one import; a failed one is tried again by the next job. The loaded
 * adapter must offer exactly the declared operations: one that does not is a build defect, refused
 * as `internal` by every job of the kind.
 */
export function lazyAdapter<C, O extends JobOperation>(
  kind: string,
  operations: readonly O[],
  load: () => Promise<IntegrationAdapter<C, O>>,
): IntegrationAdapter<C, O> {
  let loaded: Promise<IntegrationAdapter<C, O>> | undefined;
  // A failed import is not kept: the next job imports again (a passing failure, such as running
  // out of file handles, must not refuse every job of the kind, revokes included, until restart).
  const adapter = (): Promise<IntegrationAdapter<C, O>> =>
    (loaded ??= load()
      .then((built) => checked(kind, operations, built))
      .catch((error: unknown) => {
        loaded = undefined;
        throw error;
      }));
  const capability = (operation: O): AdapterCapability<C> => ({
    run: async (job, credential, ctx) => (await adapter()).operations[operation].run(job, credential, ctx),
  });
  return {
    operations: Object.fromEntries(
      operations.map((operation) => [operation, capability(operation)]),
    ) as Record<O, AdapterCapability<C>>,
    checkConnection: async (config, credential, ctx) =>
      (await adapter()).checkConnection(config, credential, ctx),
  };
}

function checked<C, O extends JobOperation>(
  kind: string,
  declared: readonly O[],
  built: IntegrationAdapter<C, O>,
): IntegrationAdapter<C, O> {
  const offered = Object.keys(built.operations).sort();
  const expected = [...declared].sort();
  if (offered.join() !== expected.join()) {
    throw new ConnectorError({
      code: 'internal',
      message: `integration kind "${kind}" declares the operations ${expected.join(', ')} but its implementation offers ${offered.join(', ') || 'none'}`,
    });
  }
  return built;
}
