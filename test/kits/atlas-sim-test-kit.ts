import { FakeClock } from '../fakes/fake-clock.js';
import { FakeRandom } from '../fakes/fake-random.js';
import { captureLogs, type LogCapture } from '../fakes/log-capture.js';
import { createAtlasClient, unlimitedRateLimiter, type AtlasClient } from '../../src/atlas/index.js';
import {
  createExchangeRecorder,
  startAtlasSimulator,
  type AtlasExchange,
  type AtlasFixtureInput,
  type AtlasSimulator,
  type HookMatch,
  type KnobsPatch,
  type ScriptedFailure,
} from '../../src/sandbox/atlas/index.js';
import type { Policy } from '../../src/config/env.js';
import type { AdapterDeps, AtlasCredential, CommonDeps, JobOperation } from '../../src/adapters/adapter.js';
import { createCredentialState } from '../../src/adapters/credential-state.js';
import { kindDefinition, type IntegrationKind } from '../../src/adapters/registry.js';
import type { GrantResult } from '../../src/adapters/database-access/grant/grant.js';
import type { JobContext } from '../../src/worker/job-context.js';
import {
  alice,
  analyticsCluster,
  basePolicy,
  clusterFixture,
  clusterName,
  endpointId,
  integrationId,
  kindConfig,
  otherProjectId,
  projectId,
  testContext,
  type KindConfigOverrides,
  type TestContext,
} from './grant-test-kit.js';

/**
 * Test-only: adapter unit tests against the sandbox Atlas simulator in-process — the REAL Atlas
 * client talks loopback HTTP to the simulator, so Atlas's rules exist once (in `src/sandbox/atlas`).
 * Simulator, client and adapter share one FakeClock; `settleWith` moves it only while no HTTP
 * exchange is in flight, so fake time never runs ahead of a request the simulator is answering.
 */
const orgId = '6a1b2c3d4e5f6a7b8c9d0e1f';
const apiKey = { publicKey: 'simtestk', privateKey: 'priv-5a1e0c3b-sim-test-kit-key' } as const;

/** A cluster with the connection strings of the grant kit's `clusterFixture` (wire endpoints are off). */
function clusterRec(id: string, project: string, name: string) {
  const strings = clusterFixture(name).connectionStrings;
  const pe = strings?.privateEndpoint?.[0];
  const privateEndpoint = pe?.srvConnectionString
    ? [
        {
          type: 'MONGOD' as const,
          srvConnectionString: pe.srvConnectionString,
          endpoints: [{ endpointId, providerName: 'AWS' as const, region: 'US_EAST_1' }],
        },
      ]
    : [];
  return {
    id,
    projectId: project,
    name,
    connectionStrings: {
      ...(strings?.standard ? { standard: strings.standard } : {}),
      ...(strings?.standardSrv ? { standardSrv: strings.standardSrv } : {}),
      ...(strings?.privateSrv ? { privateSrv: strings.privateSrv } : {}),
      privateEndpoint,
    },
  };
}

/** The grant kit's world: two projects; the first with Cluster0 and Analytics, the second with Cluster0. */
export function kitFixture(): AtlasFixtureInput {
  return {
    organizations: [{ id: orgId, name: 'Kit Org' }],
    projects: [
      { id: projectId, orgId, name: 'project-0d1e' },
      { id: otherProjectId, orgId, name: 'project-0d2f' },
    ],
    clusters: [
      clusterRec('5f1a2b3c4d5e6f7a8b9c0e01', projectId, clusterName),
      clusterRec('5f1a2b3c4d5e6f7a8b9c0e02', projectId, analyticsCluster),
      clusterRec('5f1a2b3c4d5e6f7a8b9c0e03', otherProjectId, clusterName),
    ],
  };
}

export interface SimAtlas {
  readonly sim: AtlasSimulator;
  /** The real Atlas client, pointed at the simulator (no client-side retries: the adapter's own are under test). */
  readonly client: AtlasClient;
  readonly clock: FakeClock;
  readonly logs: LogCapture;
  /** Every answered request, in order (Digest challenges included). */
  readonly exchanges: readonly AtlasExchange[];
  /** The API calls the connector made: answered requests without the unauthenticated Digest challenge round trips. */
  apiCalls(): AtlasExchange[];
  /** Answered requests of one spec operation (e.g. `createDatabaseUser`). */
  calls(operationId: string): AtlasExchange[];
  /** The next `times` requests matching `match` are refused with `errorCode`. */
  failNext(match: HookMatch, errorCode: ScriptedFailure['errorCode'], times?: number): void;
  /** The connector's API key is deleted in Atlas: from now on every call answers 401. */
  revokeConnector(): void;
  /** How many HTTP exchanges are in flight right now. */
  inFlight(): number;
  close(): Promise<void>;
}

export interface SimAtlasOptions {
  readonly fixture?: AtlasFixtureInput;
  readonly knobs?: KnobsPatch;
}

/**
 * Starts a simulator on loopback (wire endpoints off, rate limits off, no propagation delay unless
 * `knobs` says otherwise) and a real client for it. Close it in `afterEach`.
 */
export async function startSimAtlas(options: SimAtlasOptions = {}): Promise<SimAtlas> {
  const clock = new FakeClock();
  const recorder = createExchangeRecorder();
  const sim = await startAtlasSimulator({
    ...apiKey,
    fixture: options.fixture ?? kitFixture(),
    clock,
    random: new FakeRandom(),
    wireProtocol: false,
    knobs: { rateLimit: { enabled: false }, propagationDelayMs: 0, ...options.knobs },
    onExchange: recorder.onExchange,
  });
  let inFlight = 0;
  // Buffers each answer whole, so "in flight" covers the body too.
  const countingFetch: typeof fetch = async (input, init) => {
    inFlight += 1;
    try {
      const response = await fetch(input, init);
      const body = await response.arrayBuffer();
      const empty = response.status === 204 || response.status === 304;
      return new Response(empty ? null : body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } finally {
      inFlight -= 1;
    }
  };
  const logs = captureLogs('info');
  const client = createAtlasClient({
    baseUrl: sim.url,
    credentials: { get: () => Promise.resolve({ type: 'api-key', ...apiKey }), invalidate: () => undefined },
    fetch: countingFetch,
    clock,
    random: new FakeRandom([0.5]),
    logger: logs.logger,
    userAgent: 'atlas-jit-connector/sim-test-kit',
    rateLimiter: unlimitedRateLimiter,
    maxRetries: 0,
  });
  const exchanges = recorder.exchanges as readonly AtlasExchange[];
  return {
    sim,
    client,
    clock,
    logs,
    exchanges,
    apiCalls: () => exchanges.filter(isApiCall),
    calls: (operationId) => exchanges.filter((e) => isApiCall(e) && e.operationId === operationId),
    failNext: (match, errorCode, times = 1) => sim.hooks.failNext({ ...match, errorCode, times }),
    revokeConnector: () => sim.revokeApiKey(apiKey.publicKey),
    inFlight: () => inFlight,
    close: () => sim.close(),
  };
}

/** A Digest challenge is the 401 that answers a request sent without credentials. */
const isApiCall = (e: AtlasExchange): boolean =>
  e.operationId !== undefined && !(e.status === 401 && e.requestHeaders['authorization'] === undefined);

const wallBoundMs = 10_000;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Lets `promise` finish: while an HTTP exchange is in flight, real time passes (the simulator is
 * answering); otherwise, if something sleeps on the fake clock, time moves 100 ms. Bounded by
 * wall time, so a hung test fails instead of spinning.
 */
export async function settleWith<T>(atlas: SimAtlas, promise: Promise<T>): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  tracked.catch(() => undefined);
  const deadline = Date.now() + wallBoundMs;
  while (!done) {
    if (Date.now() > deadline)
      throw new Error(`settleWith: not settled within ${wallBoundMs} ms of wall time`);
    if (atlas.inFlight() === 0 && atlas.clock.pending > 0) await atlas.clock.advance(100);
    else await nextTurn();
  }
  return tracked;
}

export interface SimHarness {
  readonly atlas: SimAtlas;
  /** What the kind factories get. */
  readonly common: CommonDeps;
  /** A fresh job context on the shared clock. */
  context(): TestContext;
  readonly credential: AtlasCredential;
  readonly deps: AdapterDeps;
  readonly secrets: string[];
  grant(overrides?: Record<string, unknown>, ctx?: JobContext): Promise<GrantResult>;
  run(operation: JobOperation, payload: object, ctx?: JobContext): Promise<unknown>;
}

export interface SimHarnessOptions {
  readonly kind?: IntegrationKind;
  readonly config?: KindConfigOverrides;
  readonly policy?: Partial<Policy>;
  readonly readyTimeoutMs?: number;
}

/** The grant kit's baseline (atlas-project on Cluster0, per-requester) over a simulator `atlas`. */
export function simHarness(atlas: SimAtlas, options: SimHarnessOptions = {}): SimHarness {
  const { clock, logs, client } = atlas;
  const secrets: string[] = [];
  const common: CommonDeps = {
    clock,
    random: new FakeRandom(),
    logger: logs.logger,
    policy: { ...basePolicy, ...options.policy },
    snapshots: { upload: () => Promise.reject(new Error('grant tests upload no snapshot')) },
    registerSecret: (value) => {
      secrets.push(value);
      logs.scrubber.add(value);
    },
  };
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const credential: AtlasCredential = {
    atlas: client,
    ...createCredentialState(client, { clock, readyTimeoutMs }),
  };
  const kind = options.kind ?? 'atlas-project';
  const config = kindConfig(kind, options.config);
  const adapter = kindDefinition(kind).create(common);
  const integration = { id: integrationId, kind, config, secretRef: 'env://ATLAS_TEST' };
  const run = (operation: JobOperation, payload: object, ctx?: JobContext) => {
    const op = adapter.operations[operation];
    if (!op) throw new Error(`${kind} has no ${operation}`);
    const context = ctx ?? testContext(clock, logs).ctx;
    return settleWith(atlas, op.run({ operation, config, payload, integration }, credential, context));
  };
  const grantPayload = { grantId: 'g-1', requester: alice, ttlSeconds: 3600 };
  const readSales = { cluster: clusterName, role: 'read', database: 'sales' };
  return {
    atlas,
    common,
    context: () => testContext(clock, logs),
    credential,
    deps: { ...common, ...credential },
    secrets,
    run,
    grant: (o = {}, ctx) =>
      run('grant', { ...grantPayload, access: [readSales], ...o }, ctx) as Promise<GrantResult>,
  };
}
