import { onTestFinished } from 'vitest';
import { FakeClock } from '../fakes/fake-clock.js';
import { FakeRandom } from '../fakes/fake-random.js';
import {
  createAtlasClient,
  unlimitedRateLimiter,
  type AtlasClient,
  type AtlasProcess,
  type AuthDatabase,
  type CallOptions,
  type Cluster,
  type CustomDbRole,
  type CustomDbRoleInput,
  type DatabaseUser,
  type DatabaseUserScope,
} from '../../src/atlas/index.js';
import {
  startAtlasSimulator,
  type AtlasExchange,
  type AtlasFixtureInput,
  type AtlasSimulator,
  type KnobsPatch,
  type ScriptedFailure,
} from '../../src/sandbox/atlas/index.js';
import { pino } from 'pino';

/**
 * Test-only: an Atlas world for adapter unit tests, served by the sandbox simulator in-process
 * (Atlas's rules live once, in `src/sandbox/atlas`). A test builds the world synchronously
 * (projects, clusters, processes, users, custom roles, limits), then runs adapters against
 * `world.client` — the REAL Atlas client, which starts the simulator on first use and talks
 * loopback HTTP to it. The world records each call the connector makes as `{method, args,
 * signalled}` (e.g. `databaseUsers.create`, `[groupId, body]`) and scripts Atlas's answers per
 * client method through the simulator's test hooks: `failNext` (a refusal with an Atlas error
 * code), `stallNext` (a request that never answers), `beforeNext` (a racing change made through
 * Atlas's API just before the call reaches it). Simulator and connector share one FakeClock.
 */

/**
 * One recorded connector call: the client method, its inputs, its call options other than the
 * signal (e.g. a list's `username` filter or `pageNum`; `{}` when none), whether it carried a signal.
 */
export interface WorldCall {
  readonly method: string;
  readonly args: readonly unknown[];
  readonly options: Readonly<Record<string, unknown>>;
  readonly signalled: boolean;
}

/** Client method → the spec operation it calls, and how many of its arguments come before the options. */
const methodTable: Record<string, { readonly operationId: string; readonly arity: number }> = {
  'projects.list': { operationId: 'listGroups', arity: 0 },
  'projects.get': { operationId: 'getGroup', arity: 1 },
  'clusters.list': { operationId: 'listGroupClusters', arity: 1 },
  'clusters.get': { operationId: 'getGroupCluster', arity: 2 },
  'clusters.status': { operationId: 'getGroupClusterStatus', arity: 2 },
  'flexClusters.list': { operationId: 'listGroupFlexClusters', arity: 1 },
  'flexClusters.get': { operationId: 'getGroupFlexCluster', arity: 2 },
  'processes.list': { operationId: 'listGroupProcesses', arity: 1 },
  'processes.listDatabases': { operationId: 'listGroupProcessDatabases', arity: 2 },
  'databaseUsers.list': { operationId: 'listGroupDatabaseUsers', arity: 1 },
  'databaseUsers.get': { operationId: 'getGroupDatabaseUser', arity: 3 },
  'databaseUsers.create': { operationId: 'createGroupDatabaseUser', arity: 2 },
  'databaseUsers.update': { operationId: 'updateGroupDatabaseUser', arity: 4 },
  'databaseUsers.delete': { operationId: 'deleteGroupDatabaseUser', arity: 3 },
  'customDbRoles.list': { operationId: 'listGroupCustomDbRoleRoles', arity: 1 },
  'customDbRoles.get': { operationId: 'getGroupCustomDbRoleRole', arity: 2 },
  'customDbRoles.create': { operationId: 'createGroupCustomDbRoleRole', arity: 2 },
  'customDbRoles.update': { operationId: 'updateGroupCustomDbRoleRole', arity: 3 },
  'customDbRoles.delete': { operationId: 'deleteGroupCustomDbRoleRole', arity: 2 },
  'projectLimits.get': { operationId: 'getGroupLimit', arity: 2 },
  'organizations.get': { operationId: 'getOrg', arity: 1 },
  'projects.listForOrg': { operationId: 'getOrgGroups', arity: 1 },
  'teams.list': { operationId: 'listOrgTeams', arity: 1 },
  'orgUsers.list': { operationId: 'listOrgUsers', arity: 1 },
  'orgUsers.get': { operationId: 'getOrgUser', arity: 2 },
  'orgUsers.invite': { operationId: 'createOrgUser', arity: 2 },
  'orgUsers.addRole': { operationId: 'addOrgUserRole', arity: 3 },
  'orgUsers.removeRole': { operationId: 'removeOrgUserRole', arity: 3 },
  'orgUsers.remove': { operationId: 'removeOrgUser', arity: 2 },
  'projectUsers.list': { operationId: 'listGroupUsers', arity: 1 },
  'projectUsers.get': { operationId: 'getGroupUser', arity: 2 },
  'projectUsers.add': { operationId: 'addGroupUsers', arity: 2 },
  'projectUsers.addRole': { operationId: 'addGroupUserRole', arity: 3 },
  'projectUsers.removeRole': { operationId: 'removeGroupUserRole', arity: 3 },
  'projectUsers.remove': { operationId: 'removeGroupUser', arity: 2 },
};

function operationOf(method: string): string {
  const entry = methodTable[method];
  if (!entry) throw new Error(`atlas world: no spec operation known for ${method}`);
  return entry.operationId;
}

/** The world's one organization. */
export const worldOrgId = '6a1b2c3d4e5f6a7b8c9d0e1f';
const orgId = worldOrgId;
const connectorKey = { publicKey: 'worldtst', privateKey: 'priv-7c2d-atlas-world-connector' } as const;
/** A second key, for the world's own seeding and racing writes (not recorded). */
const adminKey = { publicKey: 'worldadm', privateKey: 'priv-9e4f-atlas-world-admin' } as const;
const connectorAgent = 'atlas-jit-connector/atlas-world-test-kit';
const adminAgent = 'atlas-world-test-kit/seeding';
const seedPassword = 'seeded-Passw0rd';
/** A propagation delay no test outlives. */
const neverMs = 1e12;
const hex24 = (n: number) => `5e00000000000000000${String(n).padStart(5, '0')}`;

type FixtureCluster = NonNullable<AtlasFixtureInput['clusters']>[number];
/** An organization member or invitee as the fixture seeds it (24-hex id, the world's org). */
export type WorldOrgUser = Omit<NonNullable<AtlasFixtureInput['orgUsers']>[number], 'orgId'>;
type FixtureTeam = NonNullable<AtlasFixtureInput['teams']>[number];
type FixtureProcess = NonNullable<FixtureCluster['processes']>[number];

function fixtureCluster(id: string, projectId: string, cluster: Cluster, flex: boolean): FixtureCluster {
  const strings = cluster.connectionStrings ?? {};
  return {
    id,
    projectId,
    name: cluster.name,
    kind: flex ? 'flex' : 'dedicated',
    ...(cluster.clusterType ? { clusterType: cluster.clusterType as 'REPLICASET' } : {}),
    ...(cluster.stateName ? { stateName: cluster.stateName as 'IDLE' } : {}),
    ...(cluster.mongoDBVersion ? { mongoDBVersion: cluster.mongoDBVersion } : {}),
    ...(cluster.paused !== undefined ? { paused: cluster.paused } : {}),
    tags: (cluster.tags ?? []).map((t) => ({ key: t.key, value: t.value })),
    connectionStrings: {
      ...(strings.standard ? { standard: strings.standard } : {}),
      ...(strings.standardSrv ? { standardSrv: strings.standardSrv } : {}),
      ...(strings.private ? { private: strings.private } : {}),
      ...(strings.privateSrv ? { privateSrv: strings.privateSrv } : {}),
      ...(strings.privateEndpoint
        ? {
            privateEndpoint: strings.privateEndpoint.map((pe) => ({
              type: (pe.type ?? 'MONGOD') as 'MONGOD',
              ...(pe.connectionString ? { connectionString: pe.connectionString } : {}),
              ...(pe.srvConnectionString ? { srvConnectionString: pe.srvConnectionString } : {}),
              endpoints: (pe.endpoints ?? []).map((e) => ({
                endpointId: e.endpointId ?? '',
                providerName: (e.providerName ?? 'AWS') as 'AWS',
                region: e.region ?? 'US_EAST_1',
              })),
            })),
          }
        : {}),
    },
    processes: [],
  };
}

function fixtureProcess(process: AtlasProcess, databases: readonly string[]): FixtureProcess {
  return {
    hostname: process.hostname ?? '',
    port: process.port ?? 27017,
    typeName: (process.typeName ?? 'REPLICA_PRIMARY') as 'REPLICA_PRIMARY',
    userAlias: process.userAlias ?? process.hostname ?? '',
    ...(process.replicaSetName ? { replicaSetName: process.replicaSetName } : {}),
    ...(process.shardName ? { shardName: process.shardName } : {}),
    databases: databases.map((name) => ({ name })),
  };
}

/** The DatabaseUser the client would read back (the simulator's inspector adds `groupId`). */
function asDatabaseUser(snapshot: {
  username: string;
  databaseName: string;
  roles: DatabaseUser['roles'];
  scopes?: DatabaseUser['scopes'];
  labels?: DatabaseUser['labels'];
  description?: string;
  deleteAfterDate?: string;
}): DatabaseUser {
  const { username, databaseName, roles, scopes, labels, description, deleteAfterDate } = snapshot;
  return structuredClone({
    username,
    databaseName,
    roles,
    ...(scopes !== undefined ? { scopes } : {}),
    ...(labels !== undefined ? { labels } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(deleteAfterDate !== undefined ? { deleteAfterDate } : {}),
  });
}

type Hook = () => unknown;
type Scripted = { errorCode: ScriptedFailure['errorCode'] } | { status: number; body?: unknown };

export class AtlasWorld {
  readonly calls: WorldCall[] = [];
  /** Every request of the connector's client the simulator answered, in order (Digest challenges included). */
  readonly exchanges: AtlasExchange[] = [];
  /** The real Atlas client the connector uses; the simulator starts on its first request. */
  readonly client: AtlasClient;
  private readonly fixture: Required<Pick<AtlasFixtureInput, 'organizations' | 'projects'>> & {
    clusters: FixtureCluster[];
    orgUsers: NonNullable<AtlasFixtureInput['orgUsers']>;
    teams: FixtureTeam[];
  };
  private readonly seeds: ((admin: AtlasClient) => Promise<unknown>)[] = [];
  private readonly passwords = new Map<string, string>();
  private readonly scripted = new Map<string, { answer: Scripted; times: number }[]>();
  private readonly stalls = new Map<string, number>();
  private readonly hooks = new Map<string, Hook[]>();
  private knobs: KnobsPatch = {};
  private simulator: AtlasSimulator | undefined;
  private admin: AtlasClient | undefined;
  private starting: Promise<AtlasSimulator> | undefined;
  /** Seeding and racing writes queue here; every connector call waits for them. */
  private ready: Promise<unknown> = Promise.resolve();
  private inFlightCount = 0;
  private ids = 0;

  constructor(readonly clock: FakeClock = new FakeClock()) {
    this.fixture = {
      organizations: [{ id: orgId, name: 'World Org' }],
      projects: [],
      clusters: [],
      orgUsers: [],
      teams: [],
    };
    this.client = this.recording(this.realClient('http://atlas-world.invalid', connectorKey, true));
  }

  // ── building the world ────────────────────────────────────────────────────────────────────

  addProject(
    id: string,
    name = `project-${id.slice(-4)}`,
    tags: readonly { key: string; value: string }[] = [],
  ): this {
    this.beforeStart('addProject');
    this.fixture.projects.push({ id, orgId, name, tags: [...tags] });
    return this;
  }

  /**
   * A member (ACTIVE) or invitee (PENDING) of the world's organization, seeded by the fixture; a
   * PENDING one's invitation was sent when the simulator starts (it expires 30 days later).
   */
  addOrgUser(user: WorldOrgUser): this {
    this.beforeStart('addOrgUser');
    this.fixture.orgUsers.push({ ...user, orgId });
    return this;
  }

  addTeam(team: Omit<FixtureTeam, 'orgId'>): this {
    this.beforeStart('addTeam');
    this.fixture.teams.push({ ...team, orgId });
    return this;
  }

  /** Removes a member or invitee through Atlas's API (removeOrgUser) — an earlier delete that landed, say. */
  removeOrgUser(userId: string): this {
    return this.seed((admin) => admin.orgUsers.remove(orgId, userId));
  }

  /** Takes one project role from a member through Atlas's API (removeGroupUserRole) — a racing sweep, say. */
  removeProjectRole(groupId: string, userId: string, role: string): this {
    return this.seed((admin) => admin.projectUsers.removeRole(groupId, userId, role));
  }

  /** Puts `username` in a project through Atlas's API (addGroupUsers) — a racing admin, say. */
  joinProject(groupId: string, username: string, roles: readonly string[]): this {
    return this.seed((admin) => admin.projectUsers.add(groupId, { username, roles: [...roles] }));
  }

  addCluster(groupId: string, cluster: Cluster, options: { flex?: boolean } = {}): this {
    this.beforeStart('addCluster');
    this.ids += 1;
    const same = (c: FixtureCluster) =>
      c.projectId === groupId && c.name.toLowerCase() === cluster.name.toLowerCase();
    const kept = this.fixture.clusters.filter((c) => !same(c));
    this.fixture.clusters.splice(0, Infinity, ...kept);
    const id = cluster.id ?? hex24(this.ids);
    this.fixture.clusters.push(fixtureCluster(id, groupId, cluster, options.flex ?? false));
    return this;
  }

  /**
   * Pauses or resumes a cluster of the running world (the simulator's `updateCluster`, as a
   * finished `PATCH …/clusters/{name}` would): someone pausing it between two jobs, say.
   */
  setClusterPaused(groupId: string, name: string, paused: boolean): this {
    if (!this.simulator) throw new Error('atlas world: setClusterPaused before the simulator started');
    if (!this.simulator.updateCluster(groupId, name, { paused }))
      throw new Error(`atlas world: no cluster ${name} in project ${groupId}`);
    return this;
  }

  /** A process of the project's first dedicated cluster (Atlas lists processes per project). */
  addProcess(groupId: string, process: AtlasProcess, databases: readonly string[] = []): this {
    this.beforeStart('addProcess');
    const cluster = this.fixture.clusters.find((c) => c.projectId === groupId && c.kind !== 'flex');
    if (!cluster) throw new Error(`atlas world: project ${groupId} has no dedicated cluster for a process`);
    (cluster.processes ??= []).push(fixtureProcess(process, databases));
    return this;
  }

  /**
   * A database user made through Atlas's API (so Atlas's rules apply): created, or updated when
   * it exists (a racing writer). A role-less user is created with a role and then PATCHed to none,
   * as the connector parks users (needs the knob `databaseUserEmptyRoles: 'accept'`).
   */
  addUser(groupId: string, user: DatabaseUser, password = seedPassword): this {
    const { username, databaseName, roles, scopes, labels, description, deleteAfterDate } = user;
    const fields = {
      password,
      roles,
      ...(scopes ? { scopes: scopes as DatabaseUserScope[] } : {}),
      ...(labels ? { labels } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(deleteAfterDate !== undefined ? { deleteAfterDate } : {}),
    };
    this.passwords.set(`${groupId}/${username}`, password);
    const placeholder = [{ roleName: 'read', databaseName: 'admin' }];
    return this.seed(async (admin) => {
      const exists = this.simulator?.state.databaseUser(groupId, username, databaseName) !== undefined;
      const db = databaseName as AuthDatabase;
      if (exists) return admin.databaseUsers.update(groupId, db, username, fields);
      const input = { groupId, username, databaseName: db, ...fields };
      if (roles.length > 0) return admin.databaseUsers.create(groupId, input);
      await admin.databaseUsers.create(groupId, { ...input, roles: placeholder });
      return admin.databaseUsers.update(groupId, db, username, { roles: [] });
    });
  }

  /** A custom role created through Atlas's API (a resource's omitted fields are sent as Atlas reads them: false / ''). */
  addCustomRole(groupId: string, role: CustomDbRole | CustomDbRoleInput): this {
    const input: CustomDbRoleInput = {
      roleName: role.roleName,
      actions: (role.actions ?? []).map((a) => ({
        action: a.action,
        resources: a.resources.map((r) => ({
          cluster: r.cluster ?? false,
          db: r.db ?? '',
          collection: r.collection ?? '',
        })),
      })),
      inheritedRoles: (role.inheritedRoles ?? []).map((r) => ({ db: r.db, role: r.role })),
    };
    return this.seed((admin) => admin.customDbRoles.create(groupId, input));
  }

  /** Removes a role behind the connector's back (a concurrent sweep, say). */
  removeCustomRole(groupId: string, roleName: string): this {
    return this.seed((admin) => admin.customDbRoles.delete(groupId, roleName));
  }

  setLimit(groupId: string, name: string, value: number): this {
    return this.seed((admin) => admin.projectLimits.set(groupId, name, value));
  }

  /**
   * `true`: every project has a change that never applies (clusters answer PENDING for good);
   * `false`: changes apply at once from now on.
   */
  set neverApplied(never: boolean) {
    if (!never) this.setKnobs({ propagationDelayMs: 0 });
    else for (const project of this.fixture.projects) this.changeAppliesAfter(project.id, Infinity);
  }

  /** Simulator knobs (e.g. `propagationDelayMs`), applied now or once it starts. */
  setKnobs(patch: KnobsPatch): this {
    this.knobs = { ...this.knobs, ...patch };
    if (this.simulator) Object.assign(this.simulator.knobs, patch);
    return this;
  }

  /**
   * A change to the project (through Atlas's API) whose propagation takes `ms` from now: the
   * clusters' `changeStatus` answers PENDING until then. `Infinity`: it never applies.
   */
  changeAppliesAfter(groupId: string, ms: number): this {
    this.seed(async (admin) => {
      const role = `world-touch-${(this.ids += 1)}`;
      const actions = [{ action: 'FIND', resources: [{ cluster: false, db: 'world', collection: 'touch' }] }];
      await admin.customDbRoles.create(groupId, { roleName: role, actions, inheritedRoles: [] });
    });
    return this.setKnobs({ propagationDelayMs: Number.isFinite(ms) ? ms : neverMs });
  }

  // ── scripting Atlas's answers ────────────────────────────────────────────────────────────

  /** The next `times` calls of `method` are refused by the simulator with `errorCode`. */
  failNext(method: string, errorCode: ScriptedFailure['errorCode'], times = 1): this {
    return this.scriptNext(method, { errorCode }, times);
  }

  /** The next `times` calls of `method` get this answer (one Atlas could send) instead of being served. */
  answerNext(method: string, status: number, body?: unknown, times = 1): this {
    return this.scriptNext(method, { status, body }, times);
  }

  /** The next `times` cluster status reads answer PENDING, whatever the project's propagation. */
  pendingNext(times = 1): this {
    return this.answerNext('clusters.status', 200, { changeStatus: 'PENDING' }, times);
  }

  private scriptNext(method: string, answer: Scripted, times: number): this {
    operationOf(method);
    this.scripted.set(method, [...(this.scripted.get(method) ?? []), { answer, times }]);
    return this;
  }

  /** The next call of `method` never answers: it ends only when its signal aborts (a hung socket). */
  stallNext(method: string): this {
    operationOf(method);
    this.stalls.set(method, (this.stalls.get(method) ?? 0) + 1);
    return this;
  }

  /** Runs `hook` (which may change Atlas through this world) just before the next call of `method` reaches Atlas. */
  beforeNext(method: string, hook: Hook): this {
    this.hooks.set(method, [...(this.hooks.get(method) ?? []), hook]);
    return this;
  }

  // ── reading the world ────────────────────────────────────────────────────────────────────

  get sim(): AtlasSimulator {
    if (!this.simulator) throw new Error('atlas world: not started (no Atlas call yet; await world.start())');
    return this.simulator;
  }

  usersIn(groupId: string): DatabaseUser[] {
    return this.sim.state.databaseUsers(groupId).map(asDatabaseUser);
  }

  user(groupId: string, username: string): DatabaseUser | undefined {
    const found = this.sim.state.databaseUser(groupId, username, 'admin');
    return found ? asDatabaseUser(found) : undefined;
  }

  /** The password last sent for `username`, if Atlas holds exactly that password for it now. */
  passwordOf(groupId: string, username: string): string | undefined {
    const sent = this.passwords.get(`${groupId}/${username}`);
    return sent !== undefined && this.sim.state.checkPassword(groupId, username, sent) ? sent : undefined;
  }

  /** An organization user as Atlas holds it now (org roles, project roles by project id), if it exists. */
  orgUser(
    userId: string,
  ): { status: string; orgRoles: string[]; projectRoles: Record<string, string[]> } | undefined {
    const found = this.sim.state.snapshot().orgUsers.find((u) => u.id === userId);
    return found && { status: found.status, orgRoles: found.orgRoles, projectRoles: found.projectRoles };
  }

  customRolesIn(groupId: string): CustomDbRole[] {
    return this.sim.state.customRoles(groupId).filter((r) => !r.roleName.startsWith('world-touch-'));
  }

  callsTo(method: string): (readonly unknown[])[] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  methods(): string[] {
    return this.calls.map((call) => call.method);
  }

  /** The connector's answered API requests, without the unauthenticated Digest challenge round trips. */
  apiCalls(): AtlasExchange[] {
    return this.exchanges.filter(isApiCall);
  }

  /** The connector's answered requests of one spec operation (e.g. `createGroupDatabaseUser`). */
  requests(operationId: string): AtlasExchange[] {
    return this.apiCalls().filter((e) => e.operationId === operationId);
  }

  /** The connector's API key is deleted in Atlas: from the next request on, every call answers 401. */
  revokeConnector(): this {
    return this.seed(() => {
      this.sim.revokeApiKey(connectorKey.publicKey);
      return Promise.resolve();
    });
  }

  /** The cluster is deleted behind the connector's back (users keep scopes naming it): Atlas refuses such a scope from then on. */
  deleteCluster(groupId: string, name: string): this {
    return this.seed(() => {
      if (!this.sim.deleteCluster(groupId, name))
        throw new Error(`atlas world: no cluster ${name} in ${groupId}`);
      return Promise.resolve();
    });
  }

  /** How many requests the simulator is answering right now (a stalled one waits on the clock, so it is not counted). */
  inFlight(): number {
    return this.inFlightCount - (this.simulator?.hooks.held().length ?? 0);
  }

  /** Starts the simulator (once) and applies the seeds; closed when the test ends. */
  async start(): Promise<AtlasSimulator> {
    this.starting ??= this.boot();
    const sim = await this.starting;
    await this.ready;
    return sim;
  }

  async close(): Promise<void> {
    const sim = this.simulator;
    this.simulator = undefined;
    await this.admin?.close();
    await sim?.close();
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────

  private beforeStart(what: string): void {
    if (this.starting) throw new Error(`atlas world: ${what} after the simulator started`);
  }

  private seed(step: (admin: AtlasClient) => Promise<unknown>): this {
    const run = this.starting ? this.ready : Promise.resolve();
    if (!this.starting) this.seeds.push(step);
    else this.ready = run.then(() => step(this.admin as AtlasClient));
    return this;
  }

  private async boot(): Promise<AtlasSimulator> {
    const sim = await startAtlasSimulator({
      ...connectorKey,
      fixture: {
        ...this.fixture,
        apiKeys: [
          {
            id: '5e0000000000000000000a01',
            ...adminKey,
            desc: 'atlas world seeding',
            roles: [{ orgId, roleName: 'ORG_OWNER' }],
          },
        ],
      },
      clock: this.clock,
      random: new FakeRandom(),
      wireProtocol: false,
      knobs: { rateLimit: { enabled: false }, propagationDelayMs: 0, ...this.knobs },
      onExchange: (exchange) => {
        if (exchange.requestHeaders['user-agent'] === connectorAgent) this.exchanges.push(exchange);
      },
    });
    this.simulator = sim;
    try {
      onTestFinished(() => this.close());
    } catch {
      // Started outside a test (a hook): the caller closes the world.
    }
    this.admin = this.realClient(sim.url, adminKey, false);
    const admin = this.admin;
    const seeds = this.seeds.splice(0);
    this.ready = (async () => {
      for (const step of seeds) await step(admin);
    })();
    await this.ready;
    return sim;
  }

  private realClient(
    baseUrl: string,
    key: typeof connectorKey | typeof adminKey,
    lazy: boolean,
  ): AtlasClient {
    const counting: typeof fetch = async (input, init) => {
      this.inFlightCount += 1;
      try {
        const target = lazy
          ? String(input instanceof Request ? input.url : input).replace(baseUrl, (await this.start()).url)
          : input;
        const response = await fetch(target, init);
        const body = await response.arrayBuffer();
        const empty = response.status === 204 || response.status === 304;
        return new Response(empty ? null : body, {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        });
      } finally {
        this.inFlightCount -= 1;
      }
    };
    return createAtlasClient({
      baseUrl,
      credentials: { get: () => Promise.resolve({ type: 'api-key', ...key }), invalidate: () => undefined },
      fetch: counting,
      clock: this.clock,
      random: new FakeRandom([0.5]),
      logger: pino({ level: 'silent' }),
      userAgent: key === connectorKey ? connectorAgent : adminAgent,
      rateLimiter: unlimitedRateLimiter,
      maxRetries: 0,
    });
  }

  /** Wraps each `resource.method` of the client: record, run hooks, script the simulator, forward. */
  private recording(real: AtlasClient): AtlasClient {
    const wrapped: Record<string, unknown> = {};
    for (const [resource, api] of Object.entries(real)) {
      if (typeof api !== 'object' || api === null) {
        wrapped[resource] = typeof api === 'function' ? (api as () => unknown).bind(real) : api;
        continue;
      }
      const methods: Record<string, unknown> = {};
      for (const [name, fn] of Object.entries(api as Record<string, unknown>)) {
        if (typeof fn !== 'function') continue;
        const method = `${resource}.${name}`;
        methods[name] = (...all: unknown[]) =>
          this.call(method, fn as (...a: unknown[]) => Promise<unknown>, all);
      }
      wrapped[resource] = methods;
    }
    return wrapped as unknown as AtlasClient;
  }

  private async call(method: string, fn: (...a: unknown[]) => Promise<unknown>, all: unknown[]) {
    const arity = methodTable[method]?.arity ?? all.length;
    const options = all[arity] as CallOptions | undefined;
    const { signal, ...rest } = (options ?? {}) as CallOptions & Record<string, unknown>;
    this.calls.push({
      method,
      args: structuredClone(all.slice(0, arity)),
      options: structuredClone(rest),
      signalled: signal !== undefined,
    });
    await this.start();
    const hook = this.hooks.get(method)?.shift();
    if (hook) {
      await hook();
      await this.ready;
    }
    this.script(method);
    const result = await fn(...all);
    this.remember(method, all);
    return result;
  }

  /** Hands the simulator what the test scripted for this call, just before it is sent. */
  private script(method: string): void {
    const operationId = methodTable[method]?.operationId;
    if (!operationId) return;
    const next = this.scripted.get(method)?.[0];
    if (next) {
      const { answer } = next;
      if ('errorCode' in answer) this.sim.hooks.failNext({ operationId, errorCode: answer.errorCode });
      else this.sim.hooks.answerNext({ operationId, ...answer });
      next.times -= 1;
      if (next.times <= 0) this.scripted.get(method)?.shift();
      return;
    }
    const stalls = this.stalls.get(method) ?? 0;
    if (stalls > 0) {
      this.stalls.set(method, stalls - 1);
      this.sim.hooks.holdNext({ operationId });
    }
  }

  /** Notes the password a successful write set (Atlas never returns it). */
  private remember(method: string, all: unknown[]): void {
    if (method === 'databaseUsers.create') {
      const [groupId, input] = all as [string, { username: string; password?: string }];
      if (input.password !== undefined) this.passwords.set(`${groupId}/${input.username}`, input.password);
    } else if (method === 'databaseUsers.update') {
      const [groupId, , username, update] = all as [string, string, string, { password?: string }];
      if (update.password !== undefined) this.passwords.set(`${groupId}/${username}`, update.password);
    }
  }
}

/** A Digest challenge is the 401 that answers a request sent without credentials. */
const isApiCall = (e: AtlasExchange): boolean =>
  e.operationId !== undefined && !(e.status === 401 && e.requestHeaders['authorization'] === undefined);

const wallBoundMs = 10_000;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Lets `promise` finish: while a request is on the wire, real time passes (the simulator is
 * answering); otherwise, if something sleeps on the fake clock, time moves to the first sleep due
 * (at most `stepMs`), so every poll reaches the simulator at exactly the time it was due. Bounded
 * by wall time, so a hung test fails instead of spinning.
 */
export async function settleWorld<T>(
  world: { inFlight(): number; readonly clock: FakeClock },
  promise: Promise<T>,
  stepMs = 100,
): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  tracked.catch(() => undefined);
  const deadline = Date.now() + wallBoundMs;
  while (!done) {
    if (Date.now() > deadline) throw new Error(`settle: not settled within ${wallBoundMs} ms of wall time`);
    const due = world.inFlight() === 0 ? world.clock.nextDue() : undefined;
    if (due !== undefined) await world.clock.advance(Math.min(due, stepMs));
    else await nextTurn();
  }
  return tracked;
}

/** A time as Atlas writes it back (ISO 8601 to the second, as the simulator does). */
export const atlasIso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
