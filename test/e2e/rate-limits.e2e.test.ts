import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsReadGrant } from './grant-jobs.js';
import { atlasKey, startSandbox, type Sandbox } from './sandbox-harness.js';

const grants = 24;

describe('Atlas rate limits end to end (daemon + reference control plane + Atlas simulator)', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox();
    // Atlas's project bucket far below what the daemon is told it may send: every burst of
    // creates overruns it and gets 429 + Retry-After, on top of a 10 % 5xx background.
    sb.sim.knobs.rateLimit.enabled = true;
    sb.sim.knobs.rateLimit.project = { capacity: 8, refillAmount: 8, refillIntervalSeconds: 1 };
    sb.sim.knobs.rateLimit.organization = { capacity: 8, refillAmount: 8, refillIntervalSeconds: 1 };
    sb.sim.knobs.faults.serverErrorRate = 0.1;
    sb.sim.knobs.faults.serverErrorStatus = 503;
    await sb.connector({ MAX_CONCURRENT_JOBS: '16' });
  });
  afterAll(async () => {
    for (const daemon of sb.daemons) expect(daemon.output()).not.toContain(atlasKey.privateKey);
    await sb.close();
  });

  it('lets every grant under 429 bursts succeed on its first attempt or fail rate_limited', async () => {
    const rateLimitedBefore = sb.sim.stats.snapshot().rateLimited;
    const views = await Promise.all(
      Array.from({ length: grants }, (_, i) => sb.run(analyticsReadGrant('burst', i).job, 150_000)),
    );

    expect(sb.sim.stats.snapshot().rateLimited - rateLimitedBefore, '429 bursts happened').toBeGreaterThan(0);
    for (const view of views) {
      const summary = JSON.stringify({ state: view.state, attempts: view.attempts, error: view.error });
      if (view.state === 'succeeded') expect(view.attempts, summary).toBe(1);
      else expect(view.error?.code, summary).toBe('rate_limited');
    }
    expect(views.filter((view) => view.state === 'succeeded').length).toBeGreaterThan(0);
  }, 180_000);
});
