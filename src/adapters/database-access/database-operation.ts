import type { z } from 'zod';
import type { JobContext } from '../../worker/job-context.js';
import {
  defineOperation,
  type AdapterDeps,
  type AdapterOperation,
  type CommonDeps,
  type ScopeResolver,
} from '../adapter.js';
import type { DatabaseScope, OneProjectScope } from '../scope.js';
import type { DatabaseAccessSettings } from './model/settings.js';

/**
 * Database access (users, roles, inventory) as operations over a resolved scope. Kinds do not
 * re-implement them: a kind binds each one to its scope resolver (`bindDatabaseOperation`), or
 * all six at once (`databaseAccessOperations`).
 */

/** A database-access job: the resolved scope, the integration's settings and the parsed payload. */
export interface DatabaseJob<S extends DatabaseScope, P> {
  readonly scope: S;
  readonly settings: DatabaseAccessSettings;
  readonly payload: P;
  readonly integrationId: string;
}

export interface DatabaseOperation<S extends DatabaseScope, P> {
  readonly payloadSchema: z.ZodType<P>;
  run(job: DatabaseJob<S, P>, deps: AdapterDeps, ctx: JobContext): Promise<unknown>;
}

export function databaseOperation<S extends DatabaseScope, P>(
  payloadSchema: z.ZodType<P>,
  run: (job: DatabaseJob<S, P>, deps: AdapterDeps, ctx: JobContext) => Promise<unknown>,
): DatabaseOperation<S, P> {
  return { payloadSchema, run };
}

/**
 * How a kind binds one operation. `payloadSchema` may extend the operation's own (a
 * deep-discovery job also names its sub-integration); its output must still be the operation's
 * payload, and the resolver sees the whole of it.
 */
export interface DatabaseBinding<C, Q, S extends DatabaseScope> {
  readonly payloadSchema: z.ZodType<Q>;
  readonly resolveScope: ScopeResolver<C, Q, S>;
  readonly settings: (config: C) => DatabaseAccessSettings;
}

/** Parse once → resolve the scope → run the shared operation with the job's credential. */
export function bindDatabaseOperation<C, S extends DatabaseScope, P, Q extends P>(
  common: CommonDeps,
  operation: DatabaseOperation<S, P>,
  binding: DatabaseBinding<C, Q, S>,
): AdapterOperation<C> {
  return defineOperation<C, Q>(binding.payloadSchema, async (job, credential, ctx) => {
    const deps: AdapterDeps = { ...common, ...credential };
    const request = { config: job.config, payload: job.payload, integration: job.integration };
    const scope = await binding.resolveScope(request, deps, ctx);
    const settings = binding.settings(job.config);
    return operation.run(
      { scope, settings, payload: job.payload, integrationId: job.integration.id },
      deps,
      ctx,
    );
  });
}

/** The payload field every database-access payload may carry to name its project. */
export interface NamesProject {
  readonly projectId?: string | undefined;
}

/** A kind's scope rules for the six database-access operations. */
export interface DatabaseAccessScopes<C> {
  readonly settings: (config: C) => DatabaseAccessSettings;
  /** grant, revoke, renew, rotate: the one project (and maybe cluster) the job's user lives in. */
  readonly user: ScopeResolver<C, NamesProject, OneProjectScope>;
  /**
   * revoke, when it may reach further than `user`: a revoke must still take away what a grant made
   * after the configuration stopped allowing new grants there. Defaults to `user`.
   */
  readonly revoke?: ScopeResolver<C, NamesProject, OneProjectScope>;
  /** discover and sweep: the projects to read or reconcile. */
  readonly inventory: ScopeResolver<C, NamesProject, DatabaseScope>;
  /**
   * sweep, when it must reach further than `inventory`: projects taken off the allow-list keep the
   * users their grants made, whose ended grants must still lose their roles. Defaults to `inventory`.
   */
  readonly sweep?: ScopeResolver<C, NamesProject, DatabaseScope>;
}
