import { atlasError, fieldError } from '../errors.js';
import type { DbUserRec, DbUserRole, DbUserScope, ProjectRec } from '../model.js';
import type { DbUserBody } from '../request-schemas.js';
import type { SimState } from '../state.js';

/** The database-user rules Atlas enforces beyond the request schema. */

/** The built-in roles the spec lists for `DatabaseUserRole.roleName`. */
export const builtInUserRoles: ReadonlySet<string> = new Set([
  'atlasAdmin',
  'backup',
  'clusterMonitor',
  'dbAdmin',
  'dbAdminAnyDatabase',
  'enableSharding',
  'read',
  'readAnyDatabase',
  'readWrite',
  'readWriteAnyDatabase',
]);

/** Roles that only exist in the admin database (MongoDB built-in role semantics). */
const adminOnlyRoles: ReadonlySet<string> = new Set([
  'atlasAdmin',
  'backup',
  'clusterMonitor',
  'dbAdminAnyDatabase',
  'enableSharding',
  'readAnyDatabase',
  'readWriteAnyDatabase',
]);

const collectionScopedRoles: ReadonlySet<string> = new Set(['read', 'readWrite']);
export const maxCustomRolesPerUser = 20;
export const maxExpiryDays = 7;
const dayMs = 86_400_000;

type AuthTypes = Pick<DbUserRec, 'x509Type' | 'awsIAMType' | 'ldapAuthType' | 'oidcAuthType'>;

export function authTypesOf(body: DbUserBody): AuthTypes {
  return {
    x509Type: body.x509Type ?? 'NONE',
    awsIAMType: body.awsIAMType ?? 'NONE',
    ldapAuthType: body.ldapAuthType ?? 'NONE',
    oidcAuthType: body.oidcAuthType ?? 'NONE',
  };
}

function isExternal(t: AuthTypes): boolean {
  return (
    t.x509Type !== 'NONE' || t.awsIAMType !== 'NONE' || t.ldapAuthType !== 'NONE' || t.oidcAuthType === 'USER'
  );
}

/**
 * Only SCRAM users (every mechanism `NONE`) have a password: the spec's `password` is for
 * SCRAM-SHA, and its OIDC workforce example is an `admin` user without one.
 */
export function usesPassword(t: AuthTypes): boolean {
  return [t.x509Type, t.awsIAMType, t.ldapAuthType, t.oidcAuthType].every((v) => v === 'NONE');
}

/** SCRAM and OIDC-workforce users live in `admin`; every other mechanism in `$external`. */
export function checkAuthDatabase(t: AuthTypes, databaseName: string, hasPassword: boolean): void {
  const set = [t.x509Type, t.awsIAMType, t.ldapAuthType, t.oidcAuthType].filter((v) => v !== 'NONE');
  if (set.length > 1)
    throw atlasError('VALIDATION_ERROR', 'a database user can use only one authentication method');
  if (isExternal(t) && databaseName !== '$external') throw atlasError('DATABASE_NAME_INVALID_EXTERNAL');
  if (!isExternal(t) && databaseName !== 'admin') {
    throw atlasError(
      'DATABASE_NAME_INVALID_ADMIN',
      t.oidcAuthType === 'IDP_GROUP' ? 'OIDC users' : 'SCRAM users',
    );
  }
  if (!usesPassword(t) && hasPassword)
    throw fieldError('INVALID_ATTRIBUTE', 'password', 'only SCRAM users have a password');
}

function roleKey(r: DbUserRole): string {
  return `${r.roleName}@${r.databaseName}${r.collectionName !== undefined ? `.${r.collectionName}` : ''}`;
}

export function checkRoles(project: ProjectRec, username: string, roles: readonly DbUserRole[]): void {
  let custom = 0;
  roles.forEach((r, i) => {
    if (builtInUserRoles.has(r.roleName)) {
      if (adminOnlyRoles.has(r.roleName) && r.databaseName !== 'admin') {
        throw atlasError('ATLAS_INVALID_ROLE_DATABASE', r.roleName, 'admin');
      }
    } else if (project.customRoles.has(r.roleName)) {
      custom += 1;
      // Custom roles are defined in the admin database and granted from there.
      if (r.databaseName !== 'admin') throw atlasError('ATLAS_INVALID_ROLE_DATABASE', r.roleName, 'admin');
    } else {
      throw atlasError('ATLAS_INVALID_ROLE', r.roleName, r.databaseName);
    }
    if (r.collectionName !== undefined && !collectionScopedRoles.has(r.roleName)) {
      throw fieldError(
        'INVALID_ATTRIBUTE',
        `roles[${i}].collectionName`,
        'only read and readWrite can name a collection',
      );
    }
  });
  const keys = roles.map(roleKey);
  const duplicate = keys.find((k, i) => keys.indexOf(k) !== i);
  if (duplicate !== undefined) throw atlasError('DUPLICATE_DATABASE_ROLES', username, duplicate);
  if (custom > maxCustomRolesPerUser) {
    throw atlasError(
      'VALIDATION_ERROR',
      `a database user can hold at most ${maxCustomRolesPerUser} custom roles`,
    );
  }
}

/** CLUSTER scopes must name a cluster of this project; data lakes and stream workspaces are not simulated. */
export function checkScopes(state: SimState, project: ProjectRec, scopes: readonly DbUserScope[]): void {
  for (const scope of scopes) {
    if (scope.type === 'CLUSTER' && !state.findCluster(project.id, scope.name)) {
      throw atlasError('CLUSTER_NOT_FOUND', scope.name, project.id);
    }
  }
}

/** `deleteAfterDate` must be in the future and at most one week after the request. */
export function checkExpiry(deleteAfterDate: string, now: number): number {
  const at = Date.parse(deleteAfterDate);
  if (at <= now) throw atlasError('EXPIRATION_DATE_IN_PAST');
  if (at > now + maxExpiryDays * dayMs) throw atlasError('EXPIRATION_DATE_EXCEEDS_MAX', maxExpiryDays);
  return at;
}

/** Collection-scoped grants across the project, counting `roles` in place of `replacing`'s. */
export function checkCollectionRoles(
  project: ProjectRec,
  replacing: DbUserRec | undefined,
  roles: readonly DbUserRole[],
  limit: number,
): void {
  const scoped = (list: readonly DbUserRole[]): number =>
    list.filter((r) => r.collectionName !== undefined).length;
  const others = [...project.dbUsers.values()]
    .filter((u) => u !== replacing)
    .reduce((n, u) => n + scoped(u.roles), 0);
  if (scoped(roles) > 0 && others + scoped(roles) > limit)
    throw atlasError('COLLECTION_ROLES_LIMIT_EXCEEDED', limit);
}
