import type { ReferenceControlPlaneStore } from './control-plane/control-plane-store.js';
import type { DemoCredential } from './demo-login.js';

/** What a demo reads back of a job once it ended (or gave up waiting). */
export interface Settled {
  readonly state: string;
  readonly result?: unknown;
  readonly error?: { code: string; message: string };
}

type JobStore = Pick<ReferenceControlPlaneStore, 'enqueueJob' | 'job'>;

/** How long a demo waits for one job before it reports `timed out`. */
const demoJobWaitMs = 60_000;
const pollMs = 100;

/**
 * Enqueues a job in the reference control plane and waits for it to end, polling every 100 ms on
 * the injected sleep, up to 60 s of those waits.
 */
export async function runDemoJob(
  store: JobStore,
  job: Parameters<JobStore['enqueueJob']>[0],
  sleep: (ms: number) => Promise<void>,
): Promise<Settled> {
  const jobId = store.enqueueJob(job);
  for (let waited = 0; waited < demoJobWaitMs; waited += pollMs) {
    const view = store.job(jobId);
    if (view && ['succeeded', 'failed', 'dead'].includes(view.state)) return view as Settled;
    await sleep(pollMs);
  }
  return { state: 'timed out' };
}

/** The credential a database grant returned, when it returned one. */
export function credentialOf(settled: Settled): DemoCredential | undefined {
  const r = settled.result as Partial<DemoCredential> | undefined;
  return r?.connectionString && r.username && r.password
    ? { connectionString: r.connectionString, username: r.username, password: r.password }
    : undefined;
}

/** A value as indented JSON under a demo line. */
export const show = (value: unknown): string => JSON.stringify(value, null, 2).replace(/^/gm, '    ');
