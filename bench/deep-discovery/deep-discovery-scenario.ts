import { largeOrgFixture, type LargeOrgOptions } from '../../src/sandbox/atlas/index.js';
import { benchClient, unpaced } from '../atlas/atlas-setup.js';
import { startSandbox as startDaemonSandbox, type Sandbox } from '../database-access/sandbox.js';
import { figuresFor, type Figure } from '../figures.js';
import type { Scenario } from '../scenario.js';
import { mean, until } from '../stats.js';
import { sampleRss } from '../worker/proc-stats.js';

/**
 * Deep discovery of a generated organization (1,000 projects × a replica set, a two-shard cluster
 * and a flex cluster) by the real daemon against the simulator, with its token buckets on.
 *
 * The bound, measured in the same run: the Atlas calls the discovery needs (counted from the
 * fixture by the rule below, not from what the daemon did), each costing one measured round trip,
 * `discoveryConcurrency` at a time; plus any wait the simulator's buckets impose (none here: a
 * project needs 15 calls of its bucket's 100, the organization 3 of 100). The daemon's own pacing
 * is set so its 10-call bursts are not what limits it; the 429 count shows the buckets held.
 */
const name = 'deep-discovery';
const figure = figuresFor(name);

const org: LargeOrgOptions = {
  projects: 1_000,
  clustersPerProject: 3,
  databasesPerCluster: 2,
  collectionsPerDatabase: 3,
};
const concurrency = 16;
const latencyMs = 20;
const bucket = { capacity: 100, refillAmount: 100, refillIntervalSeconds: 60 };

/**
 * Calls per served project with collectionDiscovery backup-snapshot: clusters + flexClusters,
 * processes + customDBRoles, listDatabases on one mongod per replica set (1 + 2 shards), the
 * snapshot listing of each dedicated cluster (2), its databases (2) and each database's
 * collections (2 × databases). The organization's projects: one page of 500 per call, until a
 * short page.
 */
function callsNeeded(options: LargeOrgOptions): { total: number; perProject: number; org: number } {
  const dbs = options.databasesPerCluster ?? 2;
  const perProject = 2 + 2 + (1 + 2) + 2 + 2 + 2 * dbs;
  const pages = Math.floor(options.projects / 500) + 1;
  // A listing of more than one page is read twice (paginateComplete): the check finds nothing new.
  const orgPages = pages > 1 ? 2 * pages : pages;
  return { total: options.projects * perProject + orgPages, perProject, org: orgPages };
}

async function measureRoundTripMs(url: string, projectIds: readonly string[]): Promise<number> {
  const client = benchClient(url, unpaced);
  const samples: number[] = [];
  for (const [i, projectId] of projectIds.entries()) {
    const started = performance.now();
    await client.clusters.list(projectId);
    if (i >= 5) samples.push(performance.now() - started);
  }
  await client.close();
  return mean(samples);
}

async function discover(sandbox: Sandbox, timeoutMs: number) {
  const started = performance.now();
  const jobId = sandbox.cp.store.enqueueJob({ type: 'discover', integrationId: 'org' });
  const done = (): boolean =>
    ['succeeded', 'failed', 'dead'].includes(sandbox.cp.store.job(jobId)?.state ?? '');
  await until(done, timeoutMs, 'the discovery job');
  const job = sandbox.cp.store.job(jobId);
  if (!job) throw new Error(`job ${jobId} vanished`);
  if (job.state !== 'succeeded') throw new Error(`discovery ${job.state}: ${JSON.stringify(job.error)}`);
  return {
    ms: performance.now() - started,
    result: job.result as { skipped: boolean; counts: { subIntegrations: number } },
  };
}

async function run(progress: (line: string) => void): Promise<Figure[]> {
  const fixture = largeOrgFixture(org);
  const sandbox = await startDaemonSandbox({
    fixture,
    knobs: {
      latency: { fixedMs: latencyMs, jitterMs: 0 },
      rateLimit: { enabled: true, organization: bucket, project: bucket },
    },
    integrations: [
      {
        id: 'org',
        kind: 'atlas-org-deep-discovery',
        config: { orgId: fixture.organizations[0]?.id, discoveryConcurrency: concurrency },
      },
    ],
    connectorId: 'bench-deep',
    // 3,000 loopback listeners would measure the sandbox, not discovery (which never connects here).
    wireProtocol: false,
    daemonEnv: {
      ATLAS_ORG_REQUESTS_PER_MINUTE: '6000',
      ATLAS_PROJECT_REQUESTS_PER_MINUTE: '6000',
    },
  });
  try {
    const roundTripMs = await measureRoundTripMs(
      sandbox.sim.url,
      fixture.projects.slice(0, 45).map((p) => p.id),
    );
    const needed = callsNeeded(org);
    const boundMs = (needed.total * roundTripMs) / concurrency;
    progress(
      `${needed.total} calls needed, round trip ${roundTripMs.toFixed(1)} ms → bound ${(boundMs / 1000).toFixed(1)} s`,
    );
    const before = sandbox.sim.stats.snapshot();
    const rss = sampleRss(sandbox.daemon.pid, 100);
    const first = await discover(sandbox, 600_000);
    const peakRssMb = rss.stop();
    const after = sandbox.sim.stats.snapshot();
    const partsBefore = sandbox.cp.store.requestCounts().snapshotPart ?? 0;
    const again = await discover(sandbox, 600_000);
    const partsAfter = sandbox.cp.store.requestCounts().snapshotPart ?? 0;
    const made = after.total - before.total;
    progress(
      `first ${(first.ms / 1000).toFixed(1)} s (${made} calls), re-discovery ${(again.ms / 1000).toFixed(1)} s`,
    );
    return [
      figure({
        name: `discover ${org.projects} projects × 3 clusters`,
        unit: 's',
        value: first.ms / 1000,
        bound: boundMs / 1000,
        boundLabel: `${needed.total} calls × ${roundTripMs.toFixed(1)} ms / ${concurrency}`,
        target: { op: '<=', value: 1.2, on: 'ratio' },
        details: {
          callsMade: made,
          callsNeeded: needed.total,
          subIntegrations: first.result.counts.subIntegrations,
        },
      }),
      figure({
        name: 'discovery 429s',
        unit: 'responses',
        value: after.rateLimited - before.rateLimited,
        bound: 0,
        boundLabel: 'none',
        target: { op: '<=', value: 0, on: 'value' },
      }),
      figure({
        name: 'discovery peak RSS (daemon)',
        unit: 'MB',
        value: peakRssMb,
        bound: 200,
        boundLabel: 'goal',
        target: { op: '<=', value: 200, on: 'value' },
      }),
      figure({
        name: 'unchanged re-discovery snapshot parts uploaded',
        unit: 'parts',
        value: partsAfter - partsBefore,
        bound: 0,
        boundLabel: 'none',
        target: { op: '<=', value: 0, on: 'value' },
        details: { skipped: String(again.result.skipped) },
      }),
    ];
  } finally {
    await sandbox.close();
  }
}

export const deepDiscoveryScenario: Scenario = {
  name,
  description: `atlas-org-deep-discovery over ${org.projects} projects × 3 clusters (latency ${latencyMs} ms, ${concurrency} calls in flight)`,
  run: ({ progress }) => run(progress),
};
