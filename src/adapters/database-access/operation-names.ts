/**
 * The operations every database-access kind offers. Apart from `database-access-operations.ts`, so
 * that a kind's definition can name them without importing the operations themselves.
 */
export const databaseAccessOperationNames = [
  'discover',
  'grant',
  'revoke',
  'renew',
  'rotate',
  'sweep',
] as const;
export type DatabaseAccessOperationName = (typeof databaseAccessOperationNames)[number];
