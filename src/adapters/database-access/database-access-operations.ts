import type { AdapterOperation, CommonDeps } from '../adapter.js';
import { bindDatabaseOperation, type DatabaseAccessScopes } from './database-operation.js';
import { discoverOperation } from './discover/discover.js';
import { grantOperation } from './grant/grant.js';
import { renewOperation } from './renew/renew.js';
import { revokeOperation } from './revoke/revoke.js';
import { rotateOperation } from './rotate/rotate.js';
import { sweepOperation } from './sweep/sweep.js';

export const databaseAccessOperationNames = [
  'discover',
  'grant',
  'revoke',
  'renew',
  'rotate',
  'sweep',
] as const;
export type DatabaseAccessOperationName = (typeof databaseAccessOperationNames)[number];

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
  const user = { settings, resolveScope: scopes.user };
  const inventory = { settings, resolveScope: scopes.inventory };
  return {
    discover: bindDatabaseOperation(common, discoverOperation, {
      ...inventory,
      payloadSchema: discoverOperation.payloadSchema,
    }),
    grant: bindDatabaseOperation(common, grantOperation, {
      ...user,
      payloadSchema: grantOperation.payloadSchema,
    }),
    revoke: bindDatabaseOperation(common, revokeOperation, {
      ...user,
      payloadSchema: revokeOperation.payloadSchema,
    }),
    renew: bindDatabaseOperation(common, renewOperation, {
      ...user,
      payloadSchema: renewOperation.payloadSchema,
    }),
    rotate: bindDatabaseOperation(common, rotateOperation, {
      ...user,
      payloadSchema: rotateOperation.payloadSchema,
    }),
    sweep: bindDatabaseOperation(common, sweepOperation, {
      ...inventory,
      payloadSchema: sweepOperation.payloadSchema,
    }),
  };
}
