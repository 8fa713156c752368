import { atlasHttpError } from '../../src/atlas/atlas-error.js';
import type * as atlas from '../../src/atlas/index.js';
import { cancelledError, type ConnectorError } from '../../src/errors/connector-error.js';
import type { Clock } from '../../src/runtime/clock.js';

/** An Atlas failure exactly as the real client throws it: the same status table and details. */
export function fakeAtlasError(status: number, atlasErrorCode: string, operation = 'fake'): ConnectorError {
  const bodyText = JSON.stringify({ error: status, errorCode: atlasErrorCode, detail: atlasErrorCode });
  return atlasHttpError({ operation, status, headers: new Headers(), bodyText, nowMs: 0, redact: (t) => t });
}

/** One recorded call: its inputs (options left out) and whether it carried an abort signal. */
export interface FakeCall {
  readonly method: string;
  readonly args: readonly unknown[];
  readonly signalled: boolean;
}

interface StoredUser {
  user: atlas.DatabaseUser;
  password: string | undefined;
}

const usersLimit = 'atlas.project.security.databaseAccess.users';
const customRolesLimit = 'atlas.project.security.databaseAccess.customRoles';
const weekMs = 7 * 86_400_000;
const clone = <T>(value: T): T => structuredClone(value);

function pageOf<T>(items: readonly T[], options: atlas.PageOptions = {}): atlas.Page<T> {
  const pageNum = options.pageNum ?? 1;
  const size = options.itemsPerPage ?? 100;
  const results = items.slice((pageNum - 1) * size, pageNum * size).map(clone);
  return { results, totalCount: items.length, pageNum, hasNext: results.length >= size };
}

/** The stored form of a create/update body: mutable copies, the password kept apart. */
function userFields(input: atlas.DatabaseUserUpdate): Partial<atlas.DatabaseUser> {
  const { password: _password, roles, scopes, labels, ...rest } = input;
  return {
    ...rest,
    ...(roles ? { roles: roles.map((r) => ({ ...r })) } : {}),
    ...(scopes ? { scopes: scopes.map((s) => ({ ...s })) } : {}),
    ...(labels ? { labels: labels.map((l) => ({ ...l })) } : {}),
  };
}

const no = (): Promise<never> => Promise.reject(new Error('FakeAtlasClient does not model this call'));

type AccessApi = 'databaseUsers' | 'customDbRoles' | 'projectLimits' | 'rateLimitStatus' | 'close';
type Unmodelled =
  | 'identity'
  | 'rateLimits'
  | 'organizations'
  | 'orgUsers'
  | 'projectUsers'
  | 'teams'
  | 'events'
  | 'backupSnapshots';

/** Resources no database-access adapter uses: any call rejects, so an unexpected call fails its test. */
function unmodelledApis(): Pick<atlas.AtlasClient, Unmodelled> {
  return {
    identity: { status: no, listOrgApiKeys: no, getServiceAccount: no, listServiceAccountProjects: no },
    rateLimits: { list: no, sizeFromApi: no },
    organizations: { list: no, get: no },
    orgUsers: { list: no, get: no, invite: no, addRole: no, removeRole: no, remove: no },
    projectUsers: { list: no, get: no, add: no, addRole: no, removeRole: no, remove: no },
    teams: { list: no, listUsers: no, addUser: no, removeUser: no, listForProject: no },
    events: { listForProject: no, listForOrg: no },
    backupSnapshots: { list: no, listSharded: no, listDatabases: no, listCollections: no },
  };
}

/**
 * An in-memory Atlas behind the real `AtlasClient` interface: projects, clusters (dedicated and
 * flex) with `PENDING → APPLIED` propagation, database users under Atlas's write rules (7-day
 * `deleteAfterDate`, auto-deletion, user quota, 409 on duplicates), custom roles, limits and
 * processes. Every call is recorded with its inputs; failures and races are injected per method
 * (`databaseUsers.create`, `clusters.status`, …).
 */
export class FakeAtlasClient {
  readonly calls: FakeCall[] = [];
  readonly client: atlas.AtlasClient;
  /** How many status polls per project answer PENDING after each write. */
  propagationPolls = 0;
  /** Status never reaches APPLIED (readiness time-outs). */
  neverApplied = false;
  /** Refuse a PATCH that leaves a user without roles (as the sandbox simulator does). */
  rejectEmptyRolesOnUpdate = false;
  private readonly projects = new Map<string, atlas.Project>();
  private readonly clusters = new Map<string, { cluster: atlas.Cluster; flex: boolean }>();
  private readonly users = new Map<string, StoredUser>();
  private readonly roles = new Map<string, atlas.CustomDbRole[]>();
  private readonly limits = new Map<string, number>();
  private readonly processes = new Map<string, { process: atlas.AtlasProcess; databases: string[] }[]>();
  private readonly pending = new Map<string, number>();
  private readonly failures = new Map<string, ConnectorError[]>();
  private readonly hooks = new Map<string, (() => void)[]>();
  private readonly stalls = new Set<string>();

  constructor(private readonly clock: Clock) {
    this.client = { ...unmodelledApis(), ...this.deploymentApis(), ...this.accessApis() };
  }

  addProject(id: string, name = `project-${id.slice(-4)}`, orgId = '6a1b2c3d4e5f6a7b8c9d0e1f'): this {
    this.projects.set(id, { id, name, orgId });
    return this;
  }

  addCluster(groupId: string, cluster: atlas.Cluster, options: { flex?: boolean } = {}): this {
    this.clusters.set(`${groupId}/${cluster.name}`, { cluster: clone(cluster), flex: options.flex ?? false });
    return this;
  }

  addCustomRole(groupId: string, role: atlas.CustomDbRole): this {
    return this.append(this.roles, groupId, [clone(role)]);
  }

  /** Removes a role behind the connector's back (a concurrent sweep, say). */
  removeCustomRole(groupId: string, roleName: string): this {
    this.roles.set(
      groupId,
      this.customRolesIn(groupId).filter((r) => r.roleName !== roleName),
    );
    return this;
  }

  addUser(groupId: string, user: atlas.DatabaseUser, password?: string): this {
    this.users.set(`${groupId}/${user.databaseName}/${user.username}`, { user: clone(user), password });
    return this;
  }

  addProcess(groupId: string, process: atlas.AtlasProcess, databases: string[] = []): this {
    return this.append(this.processes, groupId, [{ process, databases }]);
  }

  setLimit(groupId: string, name: string, value: number): this {
    this.limits.set(`${groupId}/${name}`, value);
    return this;
  }

  /** The next `times` calls of `method` throw `error`. */
  failNext(method: string, error: ConnectorError, times = 1): this {
    const errors = Array.from({ length: times }, () => error);
    return this.append(this.failures, method, errors);
  }

  /** The next call of `method` never answers: it ends only when its signal aborts (a hung socket). */
  stallNext(method: string): this {
    this.stalls.add(method);
    return this;
  }

  /** Runs `hook` just before the next call of `method` takes effect (a racing writer, say). */
  beforeNext(method: string, hook: () => void): this {
    return this.append(this.hooks, method, [hook]);
  }

  user(groupId: string, username: string): atlas.DatabaseUser | undefined {
    return this.usersIn(groupId).find((user) => user.username === username && user.databaseName === 'admin');
  }

  passwordOf(groupId: string, username: string): string | undefined {
    return this.users.get(`${groupId}/admin/${username}`)?.password;
  }

  usersIn(groupId: string): atlas.DatabaseUser[] {
    this.expireUsers();
    const inGroup = [...this.users.entries()].filter(([key]) => key.startsWith(`${groupId}/`));
    return inGroup.map(([, stored]) => clone(stored.user));
  }

  customRolesIn(groupId: string): atlas.CustomDbRole[] {
    return clone(this.roles.get(groupId) ?? []);
  }

  callsTo(method: string): (readonly unknown[])[] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  methods(): string[] {
    return this.calls.map((call) => call.method);
  }

  private append<T>(map: Map<string, T[]>, key: string, items: T[]): this {
    map.set(key, [...(map.get(key) ?? []), ...items]);
    return this;
  }

  private async run<T>(
    method: string,
    args: unknown[],
    options: atlas.CallOptions | undefined,
    run: () => T,
  ) {
    this.calls.push({ method, args: clone(args), signalled: options?.signal !== undefined });
    if (options?.signal?.aborted) throw cancelledError(options.signal.reason);
    await Promise.resolve();
    if (this.stalls.delete(method)) await stalled(options?.signal);
    this.expireUsers();
    this.hooks.get(method)?.shift()?.();
    const failure = this.failures.get(method)?.shift();
    if (failure) throw failure;
    return clone(run());
  }

  private expireUsers(): void {
    for (const [key, { user }] of this.users) {
      const at = user.deleteAfterDate === undefined ? Infinity : Date.parse(user.deleteAfterDate);
      if (at <= this.clock.now()) this.users.delete(key);
    }
  }

  private project(groupId: string): atlas.Project {
    const project = this.projects.get(groupId);
    if (!project) throw fakeAtlasError(404, 'GROUP_NOT_FOUND');
    return project;
  }

  private cluster(groupId: string, name: string, flex?: boolean): atlas.Cluster {
    this.project(groupId);
    const found = this.clusters.get(`${groupId}/${name}`);
    if (!found || (flex !== undefined && found.flex !== flex)) throw fakeAtlasError(404, 'CLUSTER_NOT_FOUND');
    return found.cluster;
  }

  private clustersOf(groupId: string, flex: boolean): atlas.Cluster[] {
    this.project(groupId);
    const inGroup = [...this.clusters.entries()].filter(
      ([key, c]) => key.startsWith(`${groupId}/`) && c.flex === flex,
    );
    return inGroup.map(([, c]) => c.cluster);
  }

  private limit(groupId: string, name: string): atlas.ProjectLimit {
    this.project(groupId);
    const usage = name === usersLimit ? this.usersIn(groupId).length : this.customRolesIn(groupId).length;
    return {
      name,
      value: this.limits.get(`${groupId}/${name}`) ?? 100,
      currentUsage: usage,
      defaultLimit: 100,
    };
  }

  private stored(groupId: string, databaseName: string, username: string): StoredUser {
    this.project(groupId);
    const found = this.users.get(`${groupId}/${databaseName}/${username}`);
    if (!found) throw fakeAtlasError(404, 'USERNAME_NOT_FOUND');
    return found;
  }

  /** Atlas's field rules: password ≥ 8, description ≤ 100, labels 1…255, known clusters, 7 days. */
  private checkFields(groupId: string, input: atlas.DatabaseUserUpdate): void {
    const badLabel = (l: { key: string; value: string }) =>
      !l.key || !l.value || `${l.key}${l.value}`.length > 510;
    const tooLong = (input.description ?? '').length > 100 || (input.labels ?? []).some(badLabel);
    if (tooLong || (input.password ?? 'long-enough').length < 8)
      throw fakeAtlasError(400, 'INVALID_ATTRIBUTE');
    for (const scope of input.scopes ?? []) this.cluster(groupId, scope.name);
    const at = input.deleteAfterDate === undefined ? undefined : Date.parse(input.deleteAfterDate);
    if (at !== undefined && at <= this.clock.now()) throw fakeAtlasError(400, 'EXPIRATION_DATE_IN_PAST');
    if (at !== undefined && at > this.clock.now() + weekMs)
      throw fakeAtlasError(400, 'EXPIRATION_DATE_EXCEEDS_MAX');
  }

  private createUser(groupId: string, input: atlas.DatabaseUserInput): atlas.DatabaseUser {
    const key = `${groupId}/${input.databaseName}/${input.username}`;
    if (this.project(groupId) && this.users.has(key)) throw fakeAtlasError(409, 'USER_ALREADY_EXISTS');
    if (input.roles.length === 0) throw fakeAtlasError(400, 'INVALID_ATTRIBUTE');
    this.checkFields(groupId, input);
    if (this.usersIn(groupId).length >= this.limit(groupId, usersLimit).value)
      throw fakeAtlasError(403, 'GROUP_USERS_LIMIT_EXCEEDED');
    const user = {
      username: input.username,
      databaseName: input.databaseName,
      roles: [],
      ...userFields(input),
    };
    this.users.set(key, { user, password: input.password });
    this.changed(groupId);
    return user;
  }

  private updateUser(groupId: string, db: string, username: string, update: atlas.DatabaseUserUpdate) {
    const found = this.stored(groupId, db, username);
    if (update.deleteAfterDate !== undefined && found.user.deleteAfterDate === undefined)
      throw fakeAtlasError(400, 'PERMANENT_ENTITY_CANNOT_BE_MADE_TEMPORARY');
    if (update.roles?.length === 0 && this.rejectEmptyRolesOnUpdate)
      throw fakeAtlasError(400, 'INVALID_ATTRIBUTE');
    this.checkFields(groupId, update);
    found.user = { ...found.user, ...userFields(update) };
    if (update.password !== undefined) found.password = update.password;
    this.changed(groupId);
    return found.user;
  }

  private deleteUser(groupId: string, db: string, username: string): void {
    this.stored(groupId, db, username);
    this.users.delete(`${groupId}/${db}/${username}`);
    this.changed(groupId);
  }

  private role(groupId: string, roleName: string): atlas.CustomDbRole {
    const role = this.customRolesIn(groupId).find((r) => r.roleName === roleName);
    if (!role) throw fakeAtlasError(404, 'ATLAS_CUSTOM_ROLE_NOT_FOUND');
    return role;
  }

  /** Atlas's rules: unique name (409), the project's custom-role limit (403). */
  private createRole(groupId: string, input: atlas.CustomDbRoleInput): atlas.CustomDbRole {
    const existing = this.customRolesIn((this.project(groupId), groupId));
    if (existing.some((r) => r.roleName === input.roleName))
      throw fakeAtlasError(409, 'ATLAS_CUSTOM_ROLE_NAME_ALREADY_EXISTS');
    if (existing.length >= this.limit(groupId, customRolesLimit).value)
      throw fakeAtlasError(403, 'CUSTOM_ROLES_LIMIT_EXCEEDED');
    const role: atlas.CustomDbRole = {
      roleName: input.roleName,
      actions: (input.actions ?? []).map((a) => ({
        action: a.action,
        resources: a.resources.map((r) => ({ ...r })),
      })),
      inheritedRoles: (input.inheritedRoles ?? []).map((r) => ({ ...r })),
    };
    this.append(this.roles, groupId, [role]);
    this.changed(groupId);
    return role;
  }

  private updateRole(
    groupId: string,
    roleName: string,
    update: atlas.CustomDbRoleUpdate,
  ): atlas.CustomDbRole {
    const current = this.role(groupId, roleName);
    // Atlas replaces arrays wholesale on PATCH.
    const updated: atlas.CustomDbRole = {
      roleName,
      actions:
        update.actions?.map((a) => ({ action: a.action, resources: a.resources.map((r) => ({ ...r })) })) ??
        current.actions,
      inheritedRoles: update.inheritedRoles?.map((r) => ({ ...r })) ?? current.inheritedRoles,
    };
    this.roles.set(
      groupId,
      this.customRolesIn(groupId).map((r) => (r.roleName === roleName ? updated : r)),
    );
    this.changed(groupId);
    return updated;
  }

  private deleteRole(groupId: string, roleName: string): void {
    this.role(groupId, roleName);
    if (this.usersIn(groupId).some((u) => u.roles.some((r) => r.roleName === roleName)))
      throw fakeAtlasError(409, 'ATLAS_CUSTOM_ROLE_IN_USE_BY_USERS');
    this.roles.set(
      groupId,
      this.customRolesIn(groupId).filter((r) => r.roleName !== roleName),
    );
    this.changed(groupId);
  }

  private changed(groupId: string): void {
    this.pending.set(groupId, this.propagationPolls);
  }

  private status(groupId: string, clusterName: string): { changeStatus: 'PENDING' | 'APPLIED' } {
    this.cluster(groupId, clusterName);
    const left = this.pending.get(groupId) ?? 0;
    if (!this.neverApplied && left === 0) return { changeStatus: 'APPLIED' };
    this.pending.set(groupId, Math.max(0, left - 1));
    return { changeStatus: 'PENDING' };
  }

  private deploymentApis(): Pick<atlas.AtlasClient, 'projects' | 'clusters' | 'flexClusters' | 'processes'> {
    const procs = (g: string) => (this.project(g), this.processes.get(g) ?? []);
    const hosts = (g: string) => procs(g).map((p) => p.process);
    const dbs = (g: string, id: string) =>
      (procs(g).find((p) => p.process.id === id)?.databases ?? []).map((databaseName) => ({ databaseName }));
    return {
      projects: {
        list: (o) => this.run('projects.list', [], o, () => pageOf([...this.projects.values()], o)),
        get: (g, o) => this.run('projects.get', [g], o, () => this.project(g)),
        getByName: no,
        listForOrg: no,
      },
      clusters: {
        list: (g, o) => this.run('clusters.list', [g], o, () => pageOf(this.clustersOf(g, false), o)),
        get: (g, n, o) => this.run('clusters.get', [g, n], o, () => this.cluster(g, n, false)),
        status: (g, n, o) => this.run('clusters.status', [g, n], o, () => this.status(g, n)),
      },
      flexClusters: {
        list: (g, o) => this.run('flexClusters.list', [g], o, () => pageOf(this.clustersOf(g, true), o)),
        get: (g, n, o) => this.run('flexClusters.get', [g, n], o, () => this.cluster(g, n, true)),
      },
      processes: {
        list: (g, o) => this.run('processes.list', [g], o, () => pageOf(hosts(g), o)),
        listDatabases: (g, id, o) =>
          this.run('processes.listDatabases', [g, id], o, () => pageOf(dbs(g, id), o)),
      },
    };
  }

  private accessApis(): Pick<atlas.AtlasClient, AccessApi> {
    return {
      databaseUsers: {
        list: (g, o) =>
          this.run('databaseUsers.list', [g], o, () => pageOf((this.project(g), this.usersIn(g)), o)),
        get: (g, db, u, o) => this.run('databaseUsers.get', [g, db, u], o, () => this.stored(g, db, u).user),
        create: (g, user, o) =>
          this.run('databaseUsers.create', [g, user], o, () => this.createUser(g, user)),
        update: (g, db, u, up, o) =>
          this.run('databaseUsers.update', [g, db, u, up], o, () => this.updateUser(g, db, u, up)),
        delete: (g, db, u, o) =>
          this.run('databaseUsers.delete', [g, db, u], o, () => this.deleteUser(g, db, u)),
      },
      customDbRoles: {
        list: (g, o) =>
          this.run('customDbRoles.list', [g], o, () => (this.project(g), this.customRolesIn(g))),
        get: (g, n, o) => this.run('customDbRoles.get', [g, n], o, () => this.role(g, n)),
        create: (g, role, o) =>
          this.run('customDbRoles.create', [g, role], o, () => this.createRole(g, role)),
        update: (g, n, up, o) =>
          this.run('customDbRoles.update', [g, n, up], o, () => this.updateRole(g, n, up)),
        delete: (g, n, o) => this.run('customDbRoles.delete', [g, n], o, () => this.deleteRole(g, n)),
      },
      projectLimits: {
        list: no,
        get: (g, n, o) => this.run('projectLimits.get', [g, n], o, () => this.limit(g, n)),
        set: no,
      },
      rateLimitStatus: () => [],
      close: () => Promise.resolve(),
    };
  }
}

function stalled(signal: AbortSignal | undefined): Promise<never> {
  return new Promise<never>((_, reject) => {
    signal?.addEventListener('abort', () => reject(cancelledError(signal.reason)), { once: true });
  });
}
