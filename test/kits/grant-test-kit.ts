import { FakeClock } from '../fakes/fake-clock.js';
import { AtlasWorld, settleWorld } from './atlas-world-test-kit.js';
import { FakeRandom } from '../fakes/fake-random.js';
import { captureLogs, type LogCapture } from '../fakes/log-capture.js';
import type { Cluster } from '../../src/atlas/index.js';
import type { Policy } from '../../src/config/env.js';
import { createJobContext, type JobContext } from '../../src/worker/job-context.js';
import type { AdapterDeps, AtlasCredential, CommonDeps, JobOperation } from '../../src/adapters/adapter.js';
import type { AtlasMultiProjectConfig } from '../../src/adapters/atlas-multi-project/atlas-multi-project-config.js';
import type { AtlasProjectConfig } from '../../src/adapters/atlas-project/atlas-project-config.js';
import { createCredentialState } from '../../src/adapters/credential-state.js';
import { kindDefinition, type IntegrationKind } from '../../src/adapters/registry.js';
import type { GrantResult } from '../../src/adapters/database-access/grant/grant.js';
import type { RenewResult } from '../../src/adapters/database-access/renew/renew.js';
import type { RevokeResult } from '../../src/adapters/database-access/revoke/revoke.js';
import type { RotateResult } from '../../src/adapters/database-access/rotate/rotate.js';
import type { SweepResult } from '../../src/adapters/database-access/sweep/sweep.js';
import { usernameForJob, type Requester } from '../../src/adapters/database-access/model/user-model.js';
import { atlasProjectScope } from '../../src/adapters/atlas-project/atlas-project-scope.js';

/**
 * Test-only: one valid baseline (project, cluster, policy, payloads) and a harness that runs the
 * kinds' operations against the sandbox Atlas simulator (through `AtlasWorld`).
 */
export const projectId = '5f1a2b3c4d5e6f7a8b9c0d1e';
export const otherProjectId = '5f1a2b3c4d5e6f7a8b9c0d2f';
export const clusterName = 'Cluster0';
export const analyticsCluster = 'Analytics';
export const integrationId = 'int-1';
export const alice = { id: 'u-alice', email: 'alice@example.com' };
export const bob = { id: 'u-bob', email: 'bob@example.com' };
export const hourMs = 3_600_000;
export const dayMs = 24 * hourMs;
export const endpointId = 'vpce-0a1b2c3d4e5f';

export const basePolicy: Policy = {
  allowedProjectIds: [],
  allowedRoles: [],
  allowedOrgRoles: [],
  allowedProjectRoles: [],
  maxGrantTtlMs: 30 * dayMs,
  allowAdminRoles: false,
  allowedJobTypes: [],
};

const settingsBaseline = {
  userStrategy: 'per-requester',
  userCleanupDays: 1,
  connectionType: 'standard',
  ownerTagKey: 'owner',
} as const;

/** The baseline atlas-project config: Cluster0 of the first project. */
export function projectConfig(overrides: Partial<AtlasProjectConfig> = {}): AtlasProjectConfig {
  return { ...settingsBaseline, projectId, clusterName, ...overrides };
}

/** The baseline atlas-multi-project config: both projects allow-listed. */
export function multiConfig(overrides: Partial<AtlasMultiProjectConfig> = {}): AtlasMultiProjectConfig {
  return { ...settingsBaseline, projectIds: [projectId, otherProjectId], ...overrides };
}

/**
 * The per-requester user a job through the baseline integration of `kind` names (`usernameForJob`):
 * per requester and cluster (Cluster0) in atlas-project, per requester and project in
 * atlas-multi-project.
 */
export function perRequesterUser(requester: Requester, kind: IntegrationKind = 'atlas-project'): string {
  const scope =
    kind === 'atlas-project'
      ? atlasProjectScope(projectConfig())
      : ({ kind: 'project', projectId, connectionType: 'standard' } as const);
  return usernameForJob('per-requester', requester, undefined, scope);
}

export type KindConfigOverrides = Partial<AtlasProjectConfig> | Partial<AtlasMultiProjectConfig>;

/** A kind's baseline config with overrides (atlas-project unless `kind` says otherwise). */
export function kindConfig(kind: IntegrationKind, overrides: KindConfigOverrides = {}) {
  return kind === 'atlas-project' ? { ...projectConfig(), ...overrides } : { ...multiConfig(), ...overrides };
}

export function clusterFixture(name: string, overrides: Partial<Cluster> = {}): Cluster {
  const host = name.toLowerCase();
  return {
    name,
    stateName: 'IDLE',
    connectionStrings: {
      standard: `mongodb://${host}-shard-00-00.ab1cd.mongodb.net:27017`,
      standardSrv: `mongodb+srv://${host}.ab1cd.mongodb.net`,
      privateSrv: `mongodb+srv://${host}-pri.ab1cd.mongodb.net`,
      privateEndpoint: [
        {
          srvConnectionString: `mongodb+srv://${host}-pl-0.ab1cd.mongodb.net`,
          endpoints: [{ endpointId, providerName: 'AWS', region: 'US_EAST_1' }],
        },
      ],
    },
    ...overrides,
  };
}

export interface TestContext {
  readonly ctx: JobContext;
  readonly controller: AbortController;
  /** How many times `beforeSideEffect` was called (once per Atlas write). */
  readonly sideEffects: () => number;
}

/**
 * A job context. `loseLeaseAfterWrites: n` aborts the job's signal right after the n-th write
 * was allowed (the lease keeper noticing a lost lease), so the next write or wait fails. Each
 * `beforeSideEffect` notes the position of the Atlas call that follows it in `gates`.
 */
export function testContext(
  clock: FakeClock,
  logs: LogCapture,
  loseLeaseAfterWrites?: number,
  gates?: { readonly atlas: AtlasWorld; readonly at: Set<number> },
): TestContext {
  const controller = new AbortController();
  const inner = createJobContext({
    jobId: 'job-1',
    attempt: 1,
    fencingToken: 1,
    log: logs.logger,
    clock,
    signal: controller.signal,
    scrubber: logs.scrubber,
  });
  let count = 0;
  const ctx: JobContext = {
    ...inner,
    beforeSideEffect() {
      inner.beforeSideEffect();
      gates?.at.add(gates.atlas.calls.length);
      count += 1;
      if (loseLeaseAfterWrites !== undefined && count >= loseLeaseAfterWrites)
        controller.abort(new Error('lease lost'));
    },
  };
  return { ctx, controller, sideEffects: () => count };
}

export interface Harness {
  readonly atlas: AtlasWorld;
  readonly clock: FakeClock;
  /** What the kind factories get, and the one credential every job of the harness uses. */
  readonly common: CommonDeps;
  readonly credential: AtlasCredential;
  /** Both together: what an operation runs with. */
  readonly deps: AdapterDeps;
  readonly secrets: string[];
  readonly logs: LogCapture;
  readonly config: KindConfigOverrides;
  context(loseLeaseAfterWrites?: number): TestContext;
  /** Atlas writes not immediately preceded by `beforeSideEffect` (must stay empty). */
  ungatedWrites(): string[];
  /** Forgets the calls so far, so a test can assert one job's calls. */
  clearCalls(): void;
  grant(overrides?: Record<string, unknown>, ctx?: JobContext): Promise<GrantResult>;
  revoke(overrides?: Record<string, unknown>, ctx?: JobContext): Promise<RevokeResult>;
  renew(overrides?: Record<string, unknown>, ctx?: JobContext): Promise<RenewResult>;
  rotate(overrides?: Record<string, unknown>, ctx?: JobContext): Promise<RotateResult>;
  /** A sweep job (payload `{}` unless given). */
  sweep(payload?: Record<string, unknown>, ctx?: JobContext): Promise<SweepResult>;
  /** Another integration of the same kind on the same Atlas (its own id and config overrides). */
  through(id: string, config: KindConfigOverrides): IntegrationJobs;
}

/** The jobs of one integration of a harness. */
export type IntegrationJobs = Pick<Harness, 'grant' | 'revoke' | 'renew' | 'rotate' | 'sweep'>;

/**
 * Lets a promise finish that talks to the world's simulator and sleeps on its fake clock: time
 * moves (100 ms at a time) only while nothing is on the wire and something sleeps on the clock,
 * so a run without polling leaves the clock where it was.
 */
export function settle<T>(atlas: AtlasWorld, promise: Promise<T>): Promise<T> {
  return settleWorld(atlas, promise);
}

export interface HarnessOptions {
  /** The integration kind the jobs run through (scope resolver and all): atlas-project by default. */
  readonly kind?: IntegrationKind;
  readonly config?: KindConfigOverrides;
  readonly policy?: Partial<Policy>;
  readonly readyTimeoutMs?: number;
}

/** Two projects; the first with two clusters, the second with one. */
export function seededAtlas(clock: FakeClock): AtlasWorld {
  // Role-less users are kept (the connector parks them so); tests of Atlas refusing that say so.
  const atlas = new AtlasWorld(clock).setKnobs({ databaseUserEmptyRoles: 'accept' });
  atlas.addProject(projectId).addProject(otherProjectId);
  atlas
    .addCluster(projectId, clusterFixture(clusterName))
    .addCluster(projectId, clusterFixture(analyticsCluster));
  return atlas.addCluster(otherProjectId, clusterFixture(clusterName));
}

function testDeps(atlas: AtlasWorld, clock: FakeClock, logs: LogCapture, options: HarnessOptions) {
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
    atlas: atlas.client,
    ...createCredentialState(atlas.client, { clock, readyTimeoutMs }),
  };
  const deps: AdapterDeps = { ...common, ...credential };
  return { common, credential, deps, secrets };
}

const baseGrant = { grantId: 'g-1', requester: alice };
const readSalesEntry = { cluster: clusterName, role: 'read', database: 'sales' };

/** Remembers which Atlas calls a `beforeSideEffect` preceded, to find writes that skipped it. */
function gateTracker(atlas: AtlasWorld) {
  const gates = { atlas, at: new Set<number>() };
  const isWrite = (method: string) => /\.(create|update|delete)$/.test(method);
  return {
    gates,
    ungatedWrites: () =>
      atlas.calls.flatMap((call, i) => (isWrite(call.method) && !gates.at.has(i) ? [call.method] : [])),
    clearCalls: () => {
      atlas.calls.length = 0;
      gates.at.clear();
    },
  };
}

/** The baseline harness: an atlas-project integration on Cluster0, per-requester, policy open to 30 days. */
export function harness(options: HarnessOptions = {}): Harness {
  const clock = new FakeClock();
  const atlas = seededAtlas(clock);
  const logs = captureLogs('info');
  const { common, credential, deps, secrets } = testDeps(atlas, clock, logs, options);
  const kind = options.kind ?? 'atlas-project';
  const config = kindConfig(kind, options.config);
  const adapter = kindDefinition(kind).create(common);
  const { gates, ungatedWrites, clearCalls } = gateTracker(atlas);
  const context = (loseLeaseAfterWrites?: number) => testContext(clock, logs, loseLeaseAfterWrites, gates);
  const payloads = {
    grant: (o: object) => ({ ...baseGrant, access: [readSalesEntry], ttlSeconds: 3600, ...o }),
    revoke: (o: object) => ({ ...baseGrant, ...o }),
    renew: (o: object) => ({ ...baseGrant, ttlSeconds: 7200, ...o }),
    rotate: (o: object) => ({ requester: alice, ...o }),
  };
  const jobsOf = (id: string, jobConfig: ReturnType<typeof kindConfig>): IntegrationJobs => {
    const integration = { id, kind, config: jobConfig, secretRef: 'env://ATLAS_TEST' };
    const job = (operation: JobOperation, payload: object) => (ctx: JobContext) => {
      const run = adapter.operations[operation];
      if (!run) throw new Error(`${kind} has no ${operation}`);
      return run.run({ operation, config: jobConfig, payload, integration }, credential, ctx);
    };
    const run = <T>(job: (ctx: JobContext) => Promise<T>, ctx?: JobContext) =>
      settle(atlas, job(ctx ?? context().ctx));
    // Results are the operations' own (typed by what each returns); the harness only routes jobs.
    return {
      grant: (o = {}, ctx) => run(job('grant', payloads.grant(o)), ctx) as Promise<GrantResult>,
      revoke: (o = {}, ctx) => run(job('revoke', payloads.revoke(o)), ctx) as Promise<RevokeResult>,
      renew: (o = {}, ctx) => run(job('renew', payloads.renew(o)), ctx) as Promise<RenewResult>,
      rotate: (o = {}, ctx) => run(job('rotate', payloads.rotate(o)), ctx) as Promise<RotateResult>,
      sweep: (o = {}, ctx) => run(job('sweep', o), ctx) as Promise<SweepResult>,
    };
  };
  return {
    ...{ atlas, clock, common, credential, deps, secrets, logs, config, context, ungatedWrites, clearCalls },
    ...jobsOf(integrationId, config),
    through: (id, overrides) => jobsOf(id, kindConfig(kind, { ...options.config, ...overrides })),
  };
}
