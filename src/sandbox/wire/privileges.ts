import type { CustomRoleRec, DbUserRec, ProjectRec } from '../atlas/model.js';
import { builtInRolePrivileges, type Privilege, type Resource } from './builtin-roles.js';

/** An authenticated user as the server sees it: roles as granted, privileges as they expand. */
export interface UserAuthority {
  readonly roles: readonly { role: string; db: string; collection?: string }[];
  readonly privileges: readonly Privilege[];
}

/** Atlas writes custom-role actions as `LIST_COLLECTIONS`; the server names them `listCollections`. */
export function serverActionName(atlasAction: string): string {
  const [first = '', ...rest] = atlasAction.toLowerCase().split('_');
  return first + rest.map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('');
}

function customRolePrivileges(project: ProjectRec, role: CustomRoleRec, seen: Set<string>): Privilege[] {
  if (seen.has(role.roleName)) return [];
  seen.add(role.roleName);
  const own = role.actions.flatMap((a) =>
    a.resources.map((r): Privilege => ({
      resource: r.cluster ? { cluster: true } : { db: r.db, collection: r.collection },
      actions: [serverActionName(a.action)],
    })),
  );
  const inherited = role.inheritedRoles.flatMap((parent) =>
    rolePrivileges(project, parent.role, parent.db, '', seen),
  );
  return [...own, ...inherited];
}

function rolePrivileges(
  project: ProjectRec,
  role: string,
  db: string,
  collection: string,
  seen: Set<string>,
): Privilege[] {
  const custom = project.customRoles.get(role);
  if (custom) return customRolePrivileges(project, custom, seen);
  return builtInRolePrivileges(role, db, collection) ?? [];
}

const resourceKey = (r: Resource): string => ('cluster' in r ? 'cluster' : `${r.db}\u0000${r.collection}`);

/** Privileges on one resource are merged into one entry, as `connectionStatus` prints them. */
function merge(privileges: readonly Privilege[]): Privilege[] {
  const byResource = new Map<string, { resource: Resource; actions: Set<string> }>();
  for (const p of privileges) {
    const key = resourceKey(p.resource);
    const entry = byResource.get(key) ?? { resource: p.resource, actions: new Set<string>() };
    for (const action of p.actions) entry.actions.add(action);
    byResource.set(key, entry);
  }
  return [...byResource.values()].map((e) => ({ resource: e.resource, actions: [...e.actions].sort() }));
}

export function authorityOf(project: ProjectRec, user: DbUserRec): UserAuthority {
  const roles = user.roles.map((r) => ({
    role: r.roleName,
    db: r.databaseName,
    ...(r.collectionName !== undefined ? { collection: r.collectionName } : {}),
  }));
  const privileges = user.roles.flatMap((r) =>
    rolePrivileges(project, r.roleName, r.databaseName, r.collectionName ?? '', new Set()),
  );
  return { roles, privileges: merge(privileges) };
}

function covers(resource: Resource, db: string, collection: string | undefined): boolean {
  if ('cluster' in resource) return false;
  if (resource.db !== '' && resource.db !== db) return false;
  // A collection resource never covers a database-wide action such as listCollections.
  if (collection === undefined) return resource.collection === '';
  return resource.collection === '' || resource.collection === collection;
}

/** Whether `action` is allowed on `db` (a database-wide action) or on `db.collection`. */
export function allows(authority: UserAuthority, action: string, db: string, collection?: string): boolean {
  return authority.privileges.some((p) => p.actions.includes(action) && covers(p.resource, db, collection));
}

export function allowsOnCluster(authority: UserAuthority, action: string): boolean {
  return authority.privileges.some((p) => 'cluster' in p.resource && p.actions.includes(action));
}

/** Whether the user holds any privilege at all on `db` (or on `db.collection`): `authorizedDatabases`. */
export function hasAnyPrivilegeOn(authority: UserAuthority, db: string, collection?: string): boolean {
  return authority.privileges.some((p) => {
    if ('cluster' in p.resource) return false;
    if (p.resource.db !== '' && p.resource.db !== db) return false;
    return collection === undefined || p.resource.collection === '' || p.resource.collection === collection;
  });
}
