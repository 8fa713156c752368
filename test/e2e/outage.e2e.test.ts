import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPausableProxy, type PausableProxy } from '../../src/sandbox/net/pausable-proxy.js';
import { eventually } from './daemon-process.js';
import { analyticsReadGrant } from './grant-jobs.js';
import { analytics, startSandbox, type Sandbox } from './sandbox-harness.js';

const leaseTtlMs = 5_000;
const jobs = 30;

const creates = (sb: Sandbox): number =>
  Object.entries(sb.sim.stats.snapshot().byRoute)
    .filter(([route]) => route.startsWith('POST') && route.endsWith('/databaseUsers'))
    .reduce((sum, [, byStatus]) => sum + (byStatus['201'] ?? 0), 0);

describe('a control-plane outage with two replicas (daemons as child processes)', () => {
  let sb: Sandbox;
  let proxy: PausableProxy;
  beforeAll(async () => {
    // Grants wait ~3 s for the cluster to apply them: they are leased before the outage and
    // finish during it. The reference control plane keeps a silent session's leases 3 × TTL.
    sb = await startSandbox({ leaseTtlMs, propagationDelayMs: 3_000 });
    proxy = await startPausableProxy(sb.cp.url);
    const env = { CONTROL_PLANE_URL: proxy.url, MAX_CONCURRENT_JOBS: '16' };
    await Promise.all([sb.connector(env), sb.connector(env)]);
  });
  afterAll(async () => {
    await proxy.close();
    await sb.close();
  });

  it('redoes nothing when the control plane is unreachable for 2 × the lease TTL while 30 jobs finish', async () => {
    const grants = Array.from({ length: jobs }, (_, i) => analyticsReadGrant('outage', i));
    const createsBefore = creates(sb);
    const ids = grants.map(({ job }) => sb.cp.store.enqueueJob(job));
    await eventually(
      () => (ids.every((id) => sb.cp.store.job(id)?.state === 'leased') ? true : undefined),
      20_000,
      'all 30 jobs leased',
    );

    await eventually(
      () => (creates(sb) - createsBefore >= jobs ? true : undefined),
      60_000,
      '30 users created',
    ).catch((error: unknown) => {
      const warnings = sb.daemons
        .flatMap((d) =>
          d
            .lines()
            .filter((l) => ['warn', 'error', 'fatal'].includes(String(l.level)) || Number(l.level) >= 40),
        )
        .slice(0, 20);
      throw new Error(
        `${String(error)}; creates ${creates(sb) - createsBefore}; ${JSON.stringify(warnings)}`,
      );
    });
    // Every user is written; the grants now wait ~3 s for the cluster to apply and finish while
    // the control plane is cut off.
    proxy.pause();
    const cutAt = Date.now();
    const left = 2 * leaseTtlMs - (Date.now() - cutAt);
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
    const heldAtResume = sb.daemons.reduce(
      (sum, d) =>
        sum +
        d.lines().filter((l) => l.msg === 'result not delivered; will retry' && Number(l.failures) === 1)
          .length,
      0,
    );
    proxy.resume();

    const views = await eventually(
      () => {
        const all = ids.map((id) => sb.cp.store.job(id));
        return all.every((v) => v && ['succeeded', 'failed', 'dead'].includes(v.state)) ? all : undefined;
      },
      60_000,
      'all jobs settled after the outage',
    );
    expect(heldAtResume, 'results were held through the outage').toBeGreaterThan(0);
    for (const view of views) {
      expect(view, JSON.stringify(view)).toMatchObject({ state: 'succeeded', attempts: 1 });
    }
    // Each job's effect once: one user created per grant, and no user written again.
    expect(creates(sb) - createsBefore).toBe(jobs);
    // Each grant's credential reported once, and it is the one Atlas holds.
    for (const [i, view] of views.entries()) {
      const result = view?.result as { username: string; password: string };
      expect(result.username).toBe(grants[i]?.username);
      expect(sb.sim.state.canAuthenticate(analytics, 'Analytics', result.username, result.password)).toBe(
        'ok',
      );
    }
    const rejected = sb.daemons.flatMap((d) =>
      d.lines().filter((l) => l.msg === 'control plane refused the result; another attempt owns the job'),
    );
    expect(rejected).toEqual([]);
  }, 150_000);
});
