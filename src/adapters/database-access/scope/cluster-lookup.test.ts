import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../test/fakes/fake-clock.js';
import { clusterFixture } from '../../../../test/kits/grant-test-kit.js';
import { clusterCacheTtlMs, RecentClusters } from './cluster-lookup.js';

const projectIds = Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(24, '0'));

describe('RecentClusters', () => {
  it('serves a cluster read within the minute, and not after', async () => {
    const clock = new FakeClock();
    const recent = new RecentClusters(clock);
    const cluster = clusterFixture('Cluster0');
    recent.remember('5f1a2b3c4d5e6f7a8b9c0d1e', 'Cluster0', cluster);
    await clock.advance(clusterCacheTtlMs - 1);
    expect(recent.get('5f1a2b3c4d5e6f7a8b9c0d1e', 'Cluster0')).toBe(cluster);
    await clock.advance(1);
    expect(recent.get('5f1a2b3c4d5e6f7a8b9c0d1e', 'Cluster0')).toBeUndefined();
  });

  it('forgets reads past the minute, so a credential granting in thousands of projects does not keep one for each', async () => {
    const clock = new FakeClock();
    const recent = new RecentClusters(clock);
    for (const projectId of projectIds) recent.remember(projectId, 'Cluster0', clusterFixture('Cluster0'));
    expect(recent.size).toBe(100);
    await clock.advance(clusterCacheTtlMs);
    recent.remember(projectIds[0] ?? '', 'Analytics', clusterFixture('Analytics'));
    expect(recent.size).toBe(1);
  });
});
