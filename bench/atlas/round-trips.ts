import type { AtlasSimulator } from '../../src/sandbox/atlas/index.js';
import { mean } from '../stats.js';
import { benchClient, projectId, projectUrlPath, startBenchSimulator, unpaced } from './atlas-setup.js';
import { createBareDigest } from './bare-digest.js';

export interface RoundTrips {
  /** HTTP requests the simulator saw for the client's first call (challenge + signed request). */
  readonly clientFirst: number;
  /** Mean requests per call for the client's later calls. */
  readonly clientSteady: number;
  /** Mean requests per call for the naive Digest client. */
  readonly naive: number;
  readonly calls: number;
}

/** Requests the simulator saw during each of `calls` sequential calls. */
async function countPerCall(
  sim: AtlasSimulator,
  calls: number,
  call: () => Promise<unknown>,
): Promise<number[]> {
  const counts: number[] = [];
  for (let i = 0; i < calls; i += 1) {
    const before = sim.stats.total;
    await call();
    counts.push(sim.stats.total - before);
  }
  return counts;
}

/** Sequential `projects.get` calls, counted by the simulator's own request statistics. */
export async function measureRoundTrips(calls: number): Promise<RoundTrips> {
  const sim = await startBenchSimulator({ rateLimit: { enabled: false } });
  try {
    const client = benchClient(sim.url, unpaced);
    const counts = await countPerCall(sim, calls, () => client.projects.get(projectId));
    const { naiveDigestGet } = createBareDigest();
    const naive = await countPerCall(sim, calls, () => naiveDigestGet(`${sim.url}${projectUrlPath}`));
    await client.close();
    return {
      clientFirst: counts[0] ?? Number.NaN,
      clientSteady: mean(counts.slice(1)),
      naive: mean(naive),
      calls,
    };
  } finally {
    await sim.close();
  }
}
