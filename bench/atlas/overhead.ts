import { performance } from 'node:perf_hooks';
import { benchClient, projectId, projectUrlPath, startBenchSimulator, unpaced } from './atlas-setup.js';
import { createBareDigest } from './bare-digest.js';

export interface CallOverhead {
  readonly latencyMs: number;
  readonly clientMs: readonly number[];
  readonly bareMs: readonly number[];
}

const warmupCalls = 10;

async function timed(call: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await call();
  return performance.now() - started;
}

/**
 * The client's `projects.get` against a bare GET carrying a pre-computed Digest header, with the
 * simulator answering after a fixed latency. The two alternate call by call (and swap order every
 * call) so both see the same noise.
 */
export async function measureCallOverhead(calls: number, latencyMs: number): Promise<CallOverhead> {
  const sim = await startBenchSimulator({
    rateLimit: { enabled: false },
    latency: { fixedMs: latencyMs, jitterMs: 0 },
  });
  try {
    const client = benchClient(sim.url, unpaced);
    const url = `${sim.url}${projectUrlPath}`;
    const { presignedHeaders, signedGet } = createBareDigest();
    const headers = await presignedHeaders(url, warmupCalls + calls);
    for (let i = 0; i < warmupCalls; i += 1) {
      await client.projects.get(projectId);
      await signedGet(url, headers[i] ?? '');
    }
    const clientMs: number[] = [];
    const bareMs: number[] = [];
    for (let i = 0; i < calls; i += 1) {
      const header = headers[warmupCalls + i] ?? '';
      const viaClient = () =>
        timed(() => client.projects.get(projectId)).then((ms) => void clientMs.push(ms));
      const bare = () => timed(() => signedGet(url, header)).then((ms) => void bareMs.push(ms));
      if (i % 2 === 0) await viaClient().then(bare);
      else await bare().then(viaClient);
    }
    await client.close();
    return { latencyMs, clientMs, bareMs };
  } finally {
    await sim.close();
  }
}
