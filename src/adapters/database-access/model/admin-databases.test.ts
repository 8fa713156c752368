import { describe, expect, it } from 'vitest';
import type { Policy } from '../../../config/env.js';
import { isConnectorError } from '../../../errors/connector-error.js';
import type { AccessEntry } from './payloads.js';
import { checkAccessPolicy, checkRolePolicy } from './policy.js';

const defaultPolicy: Policy = {
  allowedProjectIds: [],
  allowedRoles: [],
  maxGrantTtlMs: 12 * 3_600_000,
  allowAdminRoles: false,
  allowedJobTypes: [],
  allowedOrgRoles: [],
  allowedProjectRoles: [],
};

const cluster = 'Cluster0';

function denial(policy: Policy, access: AccessEntry[]): string | undefined {
  try {
    checkAccessPolicy(policy, access);
    return undefined;
  } catch (error) {
    if (isConnectorError(error) && error.code === 'policy_denied') return error.message;
    throw error;
  }
}

/** Each admin-class entry, and the POLICY_ALLOWED_ROLES name that lets it through. */
const adminClass: { entry: AccessEntry; name: string }[] = [
  { entry: { cluster, role: 'readWrite', database: 'admin' }, name: 'readWrite@admin' },
  { entry: { cluster, role: 'dbAdmin', database: 'admin' }, name: 'dbAdmin@admin' },
  { entry: { cluster, role: 'read', database: 'local' }, name: 'read@local' },
  { entry: { cluster, role: 'read', database: 'config' }, name: 'read@config' },
  { entry: { cluster, role: 'readWrite', database: 'config' }, name: 'readWrite@config' },
  { entry: { cluster, role: 'userAdmin', database: 'admin' }, name: 'userAdmin@admin' },
  { entry: { cluster, role: 'dbOwner', database: 'admin' }, name: 'dbOwner@admin' },
  { entry: { cluster, role: 'dbOwner', database: 'sales' }, name: 'dbOwner' },
  { entry: { cluster, role: 'userAdmin', database: 'sales' }, name: 'userAdmin' },
  { entry: { cluster, role: 'atlasAdmin' }, name: 'atlasAdmin' },
  { entry: { cluster, role: 'readWriteAnyDatabase' }, name: 'readWriteAnyDatabase' },
  { entry: { cluster, role: 'dbAdminAnyDatabase' }, name: 'dbAdminAnyDatabase' },
  { entry: { cluster, role: 'userAdminAnyDatabase' }, name: 'userAdminAnyDatabase' },
  { entry: { cluster, role: 'clusterManager' }, name: 'clusterManager' },
];

const label = (entry: AccessEntry): string =>
  'role' in entry ? `${entry.role}@${entry.database ?? 'admin'}` : entry.actions.join('+');

describe('the admin-database rule', () => {
  it.each(adminClass.map((c) => [label(c.entry), c]))(
    '%s is refused under the default policy, even with POLICY_ALLOW_ADMIN_ROLES=true',
    (_label, { entry }) => {
      expect(denial(defaultPolicy, [entry])).toMatch(/^access\[0\]\.role: .*(admin-class|POLICY_ALLOW)/);
      expect(denial({ ...defaultPolicy, allowAdminRoles: true }, [entry])).toMatch(
        /is admin-class \(.+\), denied unless the connector policy's POLICY_ALLOWED_ROLES names it$/,
      );
    },
  );

  it.each(adminClass.map((c) => [label(c.entry), c]))(
    '%s is accepted when POLICY_ALLOWED_ROLES names it (and admin roles are allowed)',
    (_label, { entry, name }) => {
      expect(
        denial({ ...defaultPolicy, allowAdminRoles: true, allowedRoles: [name] }, [entry]),
      ).toBeUndefined();
    },
  );

  it.each([
    ['read on an application database', { cluster, role: 'read', database: 'sales' }],
    ['readWrite on an application database', { cluster, role: 'readWrite', database: 'sales' }],
    ['dbAdmin on an application database', { cluster, role: 'dbAdmin', database: 'sales' }],
    ['a project custom role (Atlas keeps custom roles on admin)', { cluster, role: 'salesAnalyst' }],
  ] as [string, AccessEntry][])('%s stays allowed under the default policy', (_name, entry) => {
    expect(denial(defaultPolicy, [entry])).toBeUndefined();
  });

  it.each(['readAnyDatabase', 'clusterMonitor'])(
    '%s, read-only and required on admin, needs only POLICY_ALLOW_ADMIN_ROLES',
    (role) => {
      expect(denial({ ...defaultPolicy, allowAdminRoles: true }, [{ cluster, role }])).toBeUndefined();
    },
  );

  it('does not let a bare database role name in POLICY_ALLOWED_ROLES reach a system database', () => {
    const policy = { ...defaultPolicy, allowedRoles: ['readWrite'] };
    expect(denial(policy, [{ cluster, role: 'readWrite', database: 'sales' }])).toBeUndefined();
    expect(denial(policy, [{ cluster, role: 'readWrite', database: 'admin' }])).toContain(
      'readWrite@admin is admin-class',
    );
  });

  it.each(['admin', 'local', 'config'])('refuses privileges on the %s database by default', (database) => {
    const entry: AccessEntry = { cluster, actions: ['FIND', 'INSERT'], database };
    expect(denial(defaultPolicy, [entry])).toBe(
      `access[0].database: privileges on the ${database} system database are admin-class, denied unless the connector policy sets POLICY_ALLOW_ADMIN_ROLES=true`,
    );
    expect(denial({ ...defaultPolicy, allowAdminRoles: true }, [entry])).toBeUndefined();
  });

  it('refuses DROP_DATABASE on admin by default', () => {
    expect(denial(defaultPolicy, [{ cluster, actions: ['DROP_DATABASE'], database: 'admin' }])).toMatch(
      /admin-class/,
    );
  });

  it('applies the rule when a renew re-checks a stored role on a system database', () => {
    expect(() => checkRolePolicy(defaultPolicy, 'readWrite', 'grantId', 'admin')).toThrow(
      /^grantId: readWrite@admin is admin-class/,
    );
    expect(() =>
      checkRolePolicy(
        { ...defaultPolicy, allowedRoles: ['readWrite@admin'] },
        'readWrite',
        'grantId',
        'admin',
      ),
    ).not.toThrow();
  });
});
