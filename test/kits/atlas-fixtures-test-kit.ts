import { groupId } from './atlas-test-kit.js';

/** Minimal valid Atlas bodies shared by the resource suites. */
export const dbUser = {
  username: 'alice',
  databaseName: 'admin',
  groupId,
  roles: [{ roleName: 'read', databaseName: 'db' }],
};
export const orgUser = {
  id: 'u1',
  username: 'a@example.com',
  orgMembershipStatus: 'ACTIVE',
  roles: { orgRoles: ['ORG_MEMBER'] },
};
export const projectUser = {
  id: 'u1',
  username: 'a@example.com',
  orgMembershipStatus: 'ACTIVE',
  roles: ['GROUP_READ_ONLY'],
};
export const role = {
  roleName: 'jit-r1',
  actions: [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: '' }] }],
};
export const page = (results: unknown[]) => ({ results, totalCount: results.length });
