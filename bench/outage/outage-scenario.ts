import { resourceKeyFor, usernameFor } from '../../src/adapters/database-access/model/user-model.js';
import { sandboxIds, startAtlasSimulator } from '../../src/sandbox/atlas/index.js';
import type { NewJobInput } from '../../src/sandbox/control-plane/control-plane-store.js';
import { startReferenceControlPlane } from '../../src/sandbox/control-plane/reference-control-plane.js';
import { startPausableProxy } from '../../src/sandbox/net/pausable-proxy.js';
import { benchKey } from '../atlas/atlas-setup.js';
import { figuresFor, type Figure } from '../figures.js';
import type { Scenario, ScenarioOptions } from '../scenario.js';
import { until } from '../stats.js';
import { spawnDaemon, type DaemonProcess } from '../worker/daemon-process.js';

/**
 * A control-plane outage with two replicas, and grants under Atlas 429 bursts. The outage is scaled
 * from the 60 s to 2 × a 10 s lease TTL (20 s), with the reference control plane's default
 * session grace (3 × TTL): what matters is outage > TTL, not its absolute length.
 */
const name = 'outage';
const fig = figuresFor(name);
const enrollmentToken = 'bench-outage-enrollment-7c1d';
const leaseTtlMs = 10_000;
const outageMs = 2 * leaseTtlMs;
const { analytics } = sandboxIds;

function grant(tag: string, i: number): NewJobInput {
  const requester = { id: `bench-${tag}-${i}`, email: `${tag}${i}@example.com` };
  const username = usernameFor('per-requester', requester);
  return {
    type: 'grant',
    integrationId: 'multi',
    resourceKey: resourceKeyFor(analytics, username),
    payload: {
      grantId: `g-${tag}-${i}`,
      requester,
      projectId: analytics,
      access: [{ cluster: 'Analytics', role: 'read', database: 'events' }],
      ttlSeconds: 3600,
    },
  };
}

async function world(knobs: Parameters<typeof startAtlasSimulator>[0]['knobs']) {
  const sim = await startAtlasSimulator({ ...benchKey, knobs });
  const cp = await startReferenceControlPlane({
    enrollmentToken,
    intervals: { heartbeatMs: 1_000, pollWaitMs: 2_000, leaseTtlMs },
  });
  cp.store.putIntegration({
    id: 'multi',
    kind: 'atlas-multi-project',
    config: { projectIds: [analytics] },
    secretRef: 'env://BENCH_ATLAS_SECRET',
  });
  const proxy = await startPausableProxy(cp.url);
  const daemons: DaemonProcess[] = [];
  const spawn = async (id: string, env: Record<string, string> = {}) => {
    daemons.push(
      await spawnDaemon({
        CONTROL_PLANE_URL: proxy.url,
        CONTROL_PLANE_TOKEN: enrollmentToken,
        CONNECTOR_ID: id,
        ATLAS_BASE_URL: sim.url,
        ATLAS_READY_TIMEOUT_SECONDS: '30',
        BENCH_ATLAS_SECRET: JSON.stringify({
          public_key: benchKey.publicKey,
          private_key: benchKey.privateKey,
        }),
        MAX_CONCURRENT_JOBS: '16',
        ...env,
      }),
    );
  };
  const close = async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await proxy.close();
    await cp.close();
    await sim.close();
  };
  return { sim, cp, proxy, spawn, close };
}

async function outageFigures(progress: ScenarioOptions['progress']): Promise<Figure[]> {
  const w = await world({ propagationDelayMs: 3_000, rateLimit: { enabled: false } });
  try {
    await Promise.all([w.spawn('bench-outage-a'), w.spawn('bench-outage-b')]);
    const ids = Array.from({ length: 30 }, (_, i) => w.cp.store.enqueueJob(grant('outage', i)));
    await until(() => ids.every((id) => w.cp.store.job(id)?.state === 'leased'), 30_000, '30 jobs leased');
    // Cut off once every user is written: the grants then wait ~3 s for the cluster and finish
    // while the control plane is unreachable.
    const creates = () =>
      Object.entries(w.sim.stats.snapshot().byRoute)
        .filter(([route]) => route.startsWith('POST') && route.endsWith('/databaseUsers'))
        .reduce((sum, [, byStatus]) => sum + (byStatus['201'] ?? 0), 0);
    await until(() => creates() >= ids.length, 60_000, '30 users created');
    progress(`outage: control plane cut off for ${outageMs / 1000} s with 30 jobs leased`);
    w.proxy.pause();
    await new Promise((resolve) => setTimeout(resolve, outageMs));
    const held = ids.filter((id) => w.cp.store.job(id)?.state === 'leased').length;
    w.proxy.resume();
    await until(
      () => ids.every((id) => ['succeeded', 'failed', 'dead'].includes(w.cp.store.job(id)?.state ?? '')),
      90_000,
      'all jobs settled',
    );
    const redone = ids.filter((id) => (w.cp.store.job(id)?.attempts ?? 0) > 1).length;
    return [
      fig({
        name: 'results held through the outage',
        unit: 'jobs',
        value: held,
        bound: ids.length,
        boundLabel: 'jobs leased',
      }),
      fig({
        name: `jobs redone after a ${outageMs / 1000} s outage (2 replicas)`,
        unit: 'jobs',
        value: redone,
        bound: 0,
        boundLabel: 'none',
        target: { op: '<=', value: 0, on: 'value' },
      }),
    ];
  } finally {
    await w.close();
  }
}

/** Grants paced far above a small project bucket: the bound is the bucket's refill rate. */
async function burstFigures(progress: ScenarioOptions['progress']): Promise<Figure[]> {
  const bucket = { capacity: 10, refillAmount: 10, refillIntervalSeconds: 2 };
  const w = await world({
    propagationDelayMs: 200,
    rateLimit: { enabled: true, project: bucket, organization: bucket },
  });
  try {
    await w.spawn('bench-burst', {
      ATLAS_ORG_REQUESTS_PER_MINUTE: '100000',
      ATLAS_PROJECT_REQUESTS_PER_MINUTE: '100000',
    });
    const before = w.sim.stats.snapshot();
    const started = performance.now();
    const ids = Array.from({ length: 20 }, (_, i) => w.cp.store.enqueueJob(grant('burst', i)));
    await until(
      () => ids.every((id) => ['succeeded', 'failed', 'dead'].includes(w.cp.store.job(id)?.state ?? '')),
      180_000,
      'burst grants settled',
    );
    const seconds = (performance.now() - started) / 1000;
    const after = w.sim.stats.snapshot();
    const served = after.total - before.total - (after.rateLimited - before.rateLimited);
    const boundPerSecond = bucket.refillAmount / bucket.refillIntervalSeconds;
    const firstAttempt = ids.filter((id) => w.cp.store.job(id)?.attempts === 1).length;
    progress(`429 bursts: ${after.rateLimited - before.rateLimited} × 429, ${firstAttempt}/20 on attempt 1`);
    return [
      fig({
        name: 'Atlas calls served under 429 bursts',
        unit: 'calls/s',
        value: served / seconds,
        bound: boundPerSecond,
        boundLabel: 'project bucket refill rate',
        details: {
          grants: ids.length,
          grantsPerSecond: ids.length / seconds,
          firstAttempt,
          rateLimited: after.rateLimited - before.rateLimited,
        },
      }),
    ];
  } finally {
    await w.close();
  }
}

export const outageScenario: Scenario = {
  name,
  description: `two replicas through a ${outageMs / 1000} s control-plane outage; grants under Atlas 429 bursts`,
  async run({ progress }) {
    return [...(await outageFigures(progress)), ...(await burstFigures(progress))];
  },
};
