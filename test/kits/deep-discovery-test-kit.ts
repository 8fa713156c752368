import { pino } from 'pino';
import { captureLogs } from '../fakes/log-capture.js';
import { createAtlasClient, unlimitedRateLimiter, type AtlasClient } from '../../src/atlas/index.js';
import { systemClock } from '../../src/runtime/clock.js';
import { cryptoRandom } from '../../src/runtime/random.js';
import {
  defaultFixture,
  sandboxIds,
  startAtlasSimulator,
  type AtlasFixtureInput,
  type AtlasSimulator,
} from '../../src/sandbox/atlas/index.js';
import { createJobContext, type JobContext } from '../../src/worker/job-context.js';
import type { AtlasCredential, CommonDeps, JobOperation } from '../../src/adapters/adapter.js';
import { createCredentialState } from '../../src/adapters/credential-state.js';
import { atlasOrgDeepDiscoveryKind } from '../../src/adapters/atlas-org-deep-discovery/atlas-org-deep-discovery-kind.js';
import type { NamespaceReader } from '../../src/adapters/atlas-org-deep-discovery/namespace-reader.js';
import { canonicalJson, type SnapshotUploader } from '../../src/adapters/snapshot-uploader.js';
import { testPolicy } from './discover-test-kit.js';
import type { Policy } from '../../src/config/env.js';
import { DeepDiscoveryConfig } from '../../src/adapters/atlas-org-deep-discovery/atlas-org-deep-discovery-config.js';
import type { DeepDiscoveryRecord } from '../../src/adapters/atlas-org-deep-discovery/sub-integration.js';
import { createHttpClient } from '../../src/runtime/http.js';
import { createSecretScrubber, type SecretScrubber } from '../../src/runtime/secret-scrubber.js';

/** Shared set-up for the deep-discovery suites: the simulator (the one model of Atlas) + the real client. */
export const platform = '660200000000000000000003';
export const { org, payments, analytics } = sandboxIds;
const key = { publicKey: 'deepdisc', privateKey: 'deep-discovery-private-key-0001' } as const;

type ClusterInput = NonNullable<AtlasFixtureInput['clusters']>[number];

const rsHosts = (prefix: string) => [0, 1, 2].map((n) => `${prefix}-shard-00-0${n}.pl4tf.mongodb.net`);

function replicaSet(name: string, id: string, extra: Partial<ClusterInput> = {}): ClusterInput {
  const prefix = name.toLowerCase();
  const hosts = rsHosts(prefix);
  return {
    id,
    projectId: platform,
    name,
    connectionStrings: {
      standard: `mongodb://${hosts.map((h) => `${h}:27017`).join(',')}/?ssl=true&authSource=admin&replicaSet=atlas-${prefix}-shard-0`,
      standardSrv: `mongodb+srv://${prefix}.pl4tf.mongodb.net`,
    },
    databases: [{ name: `${prefix}db`, collections: ['a', 'b'] }],
    processes: hosts.map((hostname, n) => ({
      hostname,
      port: 27017,
      typeName: n === 0 ? 'REPLICA_PRIMARY' : 'REPLICA_SECONDARY',
      userAlias: hostname,
      replicaSetName: `atlas-${prefix}-shard-0`,
    })),
    ...extra,
  };
}

/**
 * The sandbox organization plus a `platform` project whose clusters cover the routing table and
 * the failure cases: peered (Private), paused, another connector's, PrivateEndpoint without its
 * endpoint-id tag, an Atlas system cluster and one being deleted.
 */
export function deepFixture(): AtlasFixtureInput {
  const base = defaultFixture();
  const peered = replicaSet('Peered', '660300000000000000000011', {
    tags: [{ key: 'apono-connection-type', value: 'Private' }],
    backupEnabled: true,
    backupSnapshots: [{ id: '660700000000000000000011', createdAt: '2026-12-02T01:00:00Z' }],
  });
  const strings = peered.connectionStrings ?? {};
  peered.connectionStrings = {
    ...strings,
    private: strings.standard?.replaceAll('.pl4tf', '-pri.pl4tf'),
    privateSrv: 'mongodb+srv://peered-pri.pl4tf.mongodb.net',
  };
  return {
    ...base,
    projects: [...base.projects, { id: platform, orgId: org, name: 'platform' }],
    clusters: [
      ...(base.clusters ?? []),
      peered,
      replicaSet('Paused', '660300000000000000000012', { paused: true }),
      replicaSet('VpcB', '660300000000000000000013', {
        tags: [{ key: 'apono-connector-id', value: 'vpc-b' }],
      }),
      replicaSet('NoEndpoint', '660300000000000000000014', {
        tags: [{ key: 'apono-connection-type', value: 'PrivateEndpoint' }],
      }),
      replicaSet('System', '660300000000000000000015', { internalClusterRole: 'SYSTEM_CLUSTER' }),
      replicaSet('Leaving', '660300000000000000000016', { stateName: 'DELETING' }),
    ],
  };
}

export function deepConfig(overrides: Record<string, unknown> = {}): DeepDiscoveryConfig {
  return DeepDiscoveryConfig.parse({ orgId: org, ...overrides });
}

/** Records what the adapter uploads, and answers `skip` for content it already holds. */
export class CapturingSnapshots implements SnapshotUploader {
  readonly uploads: { records: DeepDiscoveryRecord[]; skipped: boolean }[] = [];
  private readonly seen = new Set<string>();

  upload(snapshot: Parameters<SnapshotUploader['upload']>[0]) {
    const lines = 'lines' in snapshot ? snapshot.lines.sorted() : snapshot.records.map(canonicalJson).sort();
    const sha256 = lines.join('\n');
    const skipped = this.seen.has(sha256);
    this.seen.add(sha256);
    const records = lines.map((line) => JSON.parse(line) as DeepDiscoveryRecord);
    this.uploads.push({ records, skipped });
    return Promise.resolve({
      snapshotId: `s-${this.uploads.length}`,
      skipped,
      sha256: 'x',
      lines: lines.length,
    });
  }

  last(): DeepDiscoveryRecord[] {
    return this.uploads.at(-1)?.records ?? [];
  }
}

export interface Kit {
  readonly sim: AtlasSimulator;
  readonly atlas: AtlasClient;
  readonly snapshots: CapturingSnapshots;
  readonly secrets: string[];
  /** The daemon's scrubber as the kit's jobs see it: issued secrets go into it, `ctx.describe` reads it. */
  readonly scrubber: SecretScrubber;
  /** `METHOD path?query` of every request the simulator answered. */
  readonly requested: string[];
  readonly common: CommonDeps;
  readonly credential: AtlasCredential;
  ctx(resourceKey?: string, releaseSlot?: () => void): JobContext;
  /** Builds the kind for `connectorId` and runs one operation of it, the payload raw. */
  run(
    operation: JobOperation,
    payload: unknown,
    options?: {
      connectorId?: string;
      reader?: NamespaceReader;
      config?: Record<string, unknown>;
      /** The connector's local policy for this job (default: `testPolicy()`). */
      policy?: Partial<Policy>;
      /** The job's lease key (default: none, nothing checked). */
      resourceKey?: string;
      /** Told when the job gives its worker slot back (`JobContext.releaseSlot`). */
      releaseSlot?: () => void;
      /** The credential's Atlas client for this job, e.g. with one listing replaced (default: the kit's). */
      atlas?: AtlasClient;
    },
  ): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startKit(fixture: AtlasFixtureInput = deepFixture()): Promise<Kit> {
  const requested: string[] = [];
  const sim = await startAtlasSimulator({
    ...key,
    fixture,
    knobs: { propagationDelayMs: 50 },
    onExchange: (exchange) => requested.push(`${exchange.method} ${decodeURIComponent(exchange.url)}`),
  });
  sim.knobs.rateLimit.enabled = false;
  const atlas = createAtlasClient({
    baseUrl: sim.url,
    credentials: { get: async () => ({ type: 'api-key', ...key }), invalidate: () => undefined },
    fetch: createHttpClient(),
    clock: systemClock,
    random: cryptoRandom,
    logger: captureLogs().logger,
    userAgent: 'atlas-jit-connector/deep-discovery-test',
    rateLimiter: unlimitedRateLimiter,
    // Injected 5xx fail at once: the retry policy has its own suite.
    maxRetries: 0,
  });
  const snapshots = new CapturingSnapshots();
  const secrets: string[] = [];
  const scrubber = createSecretScrubber();
  const common: CommonDeps = {
    clock: systemClock,
    random: cryptoRandom,
    logger: captureLogs().logger,
    policy: testPolicy(),
    snapshots,
    registerSecret: (value) => {
      secrets.push(value);
      scrubber.add(value);
    },
  };
  const credential: AtlasCredential = {
    atlas,
    ...createCredentialState(atlas, { clock: systemClock, readyTimeoutMs: 10_000 }),
  };
  const ctx = (resourceKey?: string, releaseSlot?: () => void): JobContext =>
    createJobContext({
      jobId: 'job-1',
      attempt: 1,
      fencingToken: 1,
      log: pino({ level: 'silent' }),
      clock: systemClock,
      signal: new AbortController().signal,
      scrubber,
      ...(resourceKey === undefined ? {} : { resourceKey }),
      ...(releaseSlot === undefined ? {} : { releaseSlot }),
    });
  return {
    sim,
    atlas,
    snapshots,
    secrets,
    scrubber,
    requested,
    common,
    credential,
    ctx,
    async run(operation, payload, options = {}) {
      const adapter = atlasOrgDeepDiscoveryKind.create({
        ...common,
        ...(options.policy ? { policy: testPolicy(options.policy) } : {}),
        connectorId: options.connectorId ?? 'vpc-a',
        reader: options.reader,
      });
      const config = deepConfig(options.config ?? {});
      const integration = {
        id: 'org-int',
        kind: 'atlas-org-deep-discovery',
        config: {},
        secretRef: 'env://X',
      };
      const result = await adapter.operations[operation].run(
        { operation, config, payload, integration },
        options.atlas ? { ...credential, atlas: options.atlas } : credential,
        ctx(options.resourceKey, options.releaseSlot),
      );
      return result as Record<string, unknown>;
    },
    close: () => sim.close(),
  };
}

export function subIntegrations(records: readonly DeepDiscoveryRecord[]) {
  return new Map(
    records.flatMap((record) => (record.type === 'subIntegration' ? [[record.id, record] as const] : [])),
  );
}
