import type { AdapterOperation, CommonDeps, ScopeResolver } from '../adapter.js';
import type { DatabaseScope } from '../scope.js';
import {
  bindDatabaseOperation,
  type DatabaseAccessScopes,
  type DatabaseOperation,
  type NamesProject,
} from './database-operation.js';
import { discoverOperation } from './discover/discover.js';
import { grantOperation } from './grant/grant.js';
import { renewOperation } from './renew/renew.js';
import { revokeOperation } from './revoke/revoke.js';
import { rotateOperation } from './rotate/rotate.js';
import { sweepOperation } from './sweep/sweep.js';
import type { DatabaseAccessOperationName } from './operation-names.js';

/**
 * The six database-access operations bound to a kind's scope rules, each payload parsed by the
 * operation's own schema. A kind whose jobs carry more (a sub-integration id) binds operations
 * one by one with `bindDatabaseOperation` and an extended payload schema instead.
 */
export function databaseAccessOperations<C>(
  common: CommonDeps,
  scopes: DatabaseAccessScopes<C>,
): Record<DatabaseAccessOperationName, AdapterOperation<C>> {
  const { settings } = scopes;
  // Each operation is parsed by its own payload schema and resolved by the kind's user or
  // inventory resolver (NamesProject is all either resolver reads of a payload).
  const bind = <S extends DatabaseScope, P extends NamesProject>(
    operation: DatabaseOperation<S, P>,
    resolveScope: ScopeResolver<C, P, S>,
  ): AdapterOperation<C> =>
    bindDatabaseOperation(common, operation, {
      settings,
      resolveScope,
      payloadSchema: operation.payloadSchema,
    });
  return {
    discover: bind(discoverOperation, scopes.inventory),
    grant: bind(grantOperation, scopes.user),
    revoke: bind(revokeOperation, scopes.revoke ?? scopes.user),
    renew: bind(renewOperation, scopes.user),
    rotate: bind(rotateOperation, scopes.user),
    sweep: bind(sweepOperation, scopes.sweep ?? scopes.inventory),
  };
}
