import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { cryptoRandom, type Random } from '../../runtime/random.js';
import type { SimContext } from './context.js';
import { defaultFixture, sandboxIds } from './default-fixture.js';
import { DigestAuthenticator } from './digest-auth.js';
import { atlasError } from './errors.js';
import {
  fixtureClusterSchema,
  parseFixture,
  type AtlasFixtureInput,
  type FixtureClusterInput,
  type FixtureRoleAssignment,
} from './fixture.js';
import { errorResponse, writeResponse } from './http-io.js';
import { objectIdGenerator } from './ids.js';
import { SimulatorInspector } from './inspector.js';
import { applyKnobsPatch, defaultKnobs, type Knobs, type KnobsPatch } from './knobs.js';
import type { CredentialRec } from './model.js';
import { OAuthServer } from './oauth.js';
import type { ApiDeps } from './pipeline.js';
import { TokenBuckets } from './rate-limit.js';
import type { AtlasExchange } from './recorder.js';
import { createRequestHandler } from './request-handler.js';
import { Router } from './router.js';
import { acceptInvitation } from './handlers/ui-user-rules.js';
import { atlasRoutes } from './routes.js';
import { SimState } from './state.js';
import { SimulatorStats } from './stats.js';
import { loopbackConnectionString, wireTargetsOf } from './loopback-strings.js';
import { TestHooks } from './test-hooks.js';
import { startWireEndpoints, wireKey, type WireEndpoints, type WireVia } from '../wire/cluster-endpoints.js';
import type { ConnectionDrop } from '../wire/connection.js';

export interface ServiceAccountOption {
  /** `mdb_sa_id_` followed by 24 hex digits, as Atlas issues them. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** Defaults to ORG_OWNER of the fixture's first organization. */
  readonly roles?: FixtureRoleAssignment[];
}

export interface AtlasSimulatorOptions {
  readonly host?: string;
  readonly port?: number;
  /** The default programmatic API key (Digest username): 8 lowercase letters, like Atlas's. */
  readonly publicKey: string;
  readonly privateKey: string;
  readonly serviceAccounts?: readonly ServiceAccountOption[];
  /** Defaults to `defaultFixture()`. */
  readonly fixture?: AtlasFixtureInput;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly knobs?: KnobsPatch;
  /** Called for every Atlas/OAuth request after it is answered (or reset). */
  readonly onExchange?: (exchange: AtlasExchange) => void;
  /** Called when a handler throws something that is not an Atlas error (a simulator bug). */
  readonly onInternalError?: (error: unknown) => void;
  /**
   * Whether every simulated cluster gets a MongoDB wire-protocol endpoint on loopback (default
   * true); its `standard` connection string then points there.
   */
  readonly wireProtocol?: boolean;
  /** Told when a wire connection is dropped for garbage bytes or OP_COMPRESSED. */
  readonly onWireDrop?: (clusterId: string, drop: ConnectionDrop) => void;
}

export interface AtlasSimulator {
  /** Origin, e.g. `http://127.0.0.1:41234`; the API lives under `${url}/api/atlas/v2`. */
  readonly url: string;
  readonly state: SimulatorInspector;
  /** Live knobs: mutate fields directly or use `POST /__sim/knobs`. */
  readonly knobs: Knobs;
  readonly stats: SimulatorStats;
  /** Cluster id → `host:port` of the cluster's wire-protocol endpoint. */
  readonly wireAddresses: ReadonlyMap<string, string>;
  /** Wire-protocol requests answered so far, all clusters together (one per client round trip). */
  wireRequests(): number;
  /**
   * The `mongodb://` string that reaches a cluster's wire endpoint through one connection type:
   * what the cluster publishes as `standard` (default), `private`, or `privateEndpoint[i]`
   * `.connectionString` (`privateEndpoint` is element 0). Throws for an unknown cluster, a
   * connection type the cluster does not publish, or when the endpoints are off.
   */
  connectionString(
    projectId: string,
    clusterName: string,
    via?: 'standard' | 'private' | 'privateEndpoint' | WireVia,
  ): string;
  /** Back to the fixture: data, stats, buckets, nonces and tokens (knobs are kept). */
  reset(): void;
  /**
   * Deletes a programmatic API key, as `DELETE /orgs/{orgId}/apiKeys/{apiUserId}` does in Atlas:
   * from then on its requests get 401 (until `reset`). For key-rotation tests.
   */
  revokeApiKey(publicKey: string): void;
  /**
   * Terminates a cluster (dedicated or Flex) at once, as Atlas has once its deletion finishes:
   * reads and listings no longer show it and a database-user scope naming it is refused with 404
   * `CLUSTER_NOT_FOUND`; users keep the scopes they had. False when there is no such cluster.
   * Until `reset`. For tests of clusters deleted under live grants.
   */
  deleteCluster(projectId: string, name: string): boolean;
  /**
   * Creates a cluster at once, finished (as a fixture cluster is given). Its wire endpoints are
   * those the simulator started with: a cluster whose id the fixture had (one deleted earlier)
   * gets its listeners back; another id has none, so it publishes its fixture strings. False when
   * the project already has a cluster of that name. Until `reset`.
   */
  addCluster(cluster: FixtureClusterInput): boolean;
  /**
   * Replaces a cluster's tags and/or pauses or resumes it, as a finished
   * `PATCH /groups/{groupId}/clusters/{name}` would (a paused cluster refuses every login). False
   * when there is no such cluster. Until `reset`. For tests of clusters re-tagged or paused under
   * live grants.
   */
  updateCluster(
    projectId: string,
    name: string,
    change: { readonly tags?: readonly { key: string; value: string }[]; readonly paused?: boolean },
  ): boolean;
  /**
   * The invited person clicks the e-mail link: their PENDING membership (in any organization)
   * becomes ACTIVE with the roles the invitation carried. Returns false when none is pending.
   */
  acceptInvitation(username: string): boolean;
  /** Test surface: scripted Atlas refusals and held requests (`test-hooks.ts`); `reset` clears it. */
  readonly hooks: TestHooks;
  close(): Promise<void>;
}

function credentialsFromOptions(options: AtlasSimulatorOptions, orgId: string): CredentialRec[] {
  if (!/^[a-z]{8}$/.test(options.publicKey)) {
    throw new Error('startAtlasSimulator: publicKey must be 8 lowercase letters, like an Atlas public key');
  }
  const owner: FixtureRoleAssignment[] = [{ orgId, roleName: 'ORG_OWNER' }];
  const apiKey: CredentialRec = {
    kind: 'apiKey',
    id: sandboxIds.defaultApiKey,
    name: options.publicKey,
    secret: options.privateKey,
    desc: 'Sandbox default key',
    roles: owner,
  };
  const accounts = (options.serviceAccounts ?? []).map((sa): CredentialRec => {
    if (!/^mdb_sa_id_[a-fA-F\d]{24}$/.test(sa.clientId)) {
      throw new Error(
        `startAtlasSimulator: service account clientId ${sa.clientId} must match mdb_sa_id_<24 hex>`,
      );
    }
    return {
      kind: 'serviceAccount',
      id: sa.clientId.slice(-24).toLowerCase(),
      name: sa.clientId,
      secret: sa.clientSecret,
      desc: 'Sandbox service account',
      roles: sa.roles ?? owner,
    };
  });
  return [apiKey, ...accounts];
}

interface Core {
  readonly deps: ApiDeps;
  readonly stats: SimulatorStats;
  readonly inspector: SimulatorInspector;
  readonly reset: () => void;
  readonly revokeApiKey: (publicKey: string) => void;
  readonly deleteCluster: (projectId: string, name: string) => boolean;
  readonly addCluster: AtlasSimulator['addCluster'];
  readonly updateCluster: AtlasSimulator['updateCluster'];
  readonly acceptInvitation: (username: string) => boolean;
}

function buildCore(options: AtlasSimulatorOptions): Core {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? cryptoRandom;
  const fixture = parseFixture(options.fixture ?? defaultFixture());
  const knobs = applyKnobsPatch(defaultKnobs(), options.knobs ?? {});
  const credentials = credentialsFromOptions(options, fixture.organizations[0]?.id ?? '');
  const state = new SimState(fixture, credentials, objectIdGenerator(clock), () => clock.now());
  const sim: SimContext = {
    state,
    knobs,
    clock,
    random,
    baseUrl: '',
    wireByVia: new Map(),
    invitations: new Map(),
    routes: atlasRoutes,
  };
  const deps: ApiDeps = {
    sim,
    router: new Router(atlasRoutes),
    digest: new DigestAuthenticator(clock, random, knobs),
    oauth: new OAuthServer(clock, random, knobs, () => state.credentials),
    buckets: new TokenBuckets(),
  };
  const stats = new SimulatorStats();
  const reset = (): void => {
    state.reset();
    stats.reset();
    deps.buckets.reset();
    deps.digest.reset();
    deps.oauth.reset();
    sim.invitations.clear();
  };
  const revokeApiKey = (publicKey: string): void => {
    state.credentials = state.credentials.filter((c) => c.kind !== 'apiKey' || c.name !== publicKey);
  };
  const acceptPending = (username: string): boolean => {
    state.sweepExpired(clock.now());
    const pending = [...state.orgUsers.values()].filter(
      (u) => u.status === 'PENDING' && u.username.toLowerCase() === username.toLowerCase(),
    );
    pending.forEach(acceptInvitation);
    return pending.length > 0;
  };
  return {
    deps,
    stats,
    inspector: new SimulatorInspector(state, clock, knobs),
    reset,
    revokeApiKey,
    deleteCluster: (projectId, name) => state.removeCluster(projectId, name),
    addCluster: (cluster) => state.addCluster(fixtureClusterSchema.parse(cluster)),
    updateCluster: (projectId, name, change) => state.updateCluster(projectId, name, change),
    acceptInvitation: acceptPending,
  };
}

/** Starts the Atlas Administration API simulator on `host:port` (default 127.0.0.1, any free port). */
export async function startAtlasSimulator(options: AtlasSimulatorOptions): Promise<AtlasSimulator> {
  const core = buildCore(options);
  const { deps, stats, inspector, reset, revokeApiKey, deleteCluster, acceptInvitation } = core;
  const { knobs } = deps.sim;
  const hooks = new TestHooks(new Set(atlasRoutes.map((r) => r.operationId)));
  const resetAll = (): void => {
    reset();
    hooks.reset();
  };
  const handler = createRequestHandler({
    deps,
    stats,
    control: { inspector, stats, knobs, reset: resetAll, acceptInvitation },
    onExchange: options.onExchange,
    hooks,
  });
  const server = createServer((req, res) => {
    handler(req, res).catch((error: unknown) => {
      (options.onInternalError ?? reportInternalError)(error);
      if (!res.headersSent) writeResponse(res, errorResponse(atlasError('UNEXPECTED_ERROR')));
      else res.destroy();
    });
  });
  const url = await listen(server, options.host ?? '127.0.0.1', options.port ?? 0);
  deps.sim.baseUrl = url;
  let wire: WireEndpoints;
  try {
    wire = await startWire(deps.sim, options);
  } catch (error) {
    await closeServer(server);
    throw error;
  }
  deps.sim.wireByVia = wire.byVia;
  return {
    url,
    state: inspector,
    knobs,
    stats,
    wireAddresses: wire.addresses,
    wireRequests: () => wire.requests(),
    connectionString: (projectId, clusterName, via = 'standard') =>
      loopbackString(deps.sim, projectId, clusterName, via === 'privateEndpoint' ? 'privateEndpoint:0' : via),
    reset: resetAll,
    revokeApiKey,
    deleteCluster,
    addCluster: core.addCluster,
    updateCluster: core.updateCluster,
    acceptInvitation,
    hooks,
    close: async () => {
      hooks.release();
      await Promise.all([closeServer(server), wire.close()]);
    },
  };
}

function startWire(sim: SimContext, options: AtlasSimulatorOptions): Promise<WireEndpoints> {
  if (options.wireProtocol === false) {
    return Promise.resolve({
      addresses: new Map(),
      byVia: new Map(),
      requests: () => 0,
      close: async () => {},
    });
  }
  const { state, knobs, clock, random } = sim;
  const onDrop = options.onWireDrop;
  return startWireEndpoints(
    { state, knobs, clock, random, ...(onDrop ? { onDrop } : {}) },
    state.clusters.flatMap(wireTargetsOf),
  );
}

function loopbackString(sim: SimContext, projectId: string, clusterName: string, via: WireVia): string {
  const cluster = sim.state.findCluster(projectId, clusterName);
  const address = cluster && sim.wireByVia.get(wireKey(cluster.id, via));
  if (!cluster || address === undefined) {
    throw new Error(`no ${via} wire endpoint for cluster ${clusterName} of project ${projectId}`);
  }
  return loopbackConnectionString(cluster, address);
}

function reportInternalError(error: unknown): void {
  process.stderr.write(
    `atlas simulator internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
}

function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`http://${shownHost}:${address.port}`);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
