import { usernameFor } from '../adapters/database-access/model/user-model.js';
import { sandboxIds } from './atlas/index.js';
import type { ReferenceControlPlaneStore } from './control-plane/control-plane-store.js';

export const demoRequester = { id: 'sandbox-user-alice', email: 'alice@example.com', name: 'Alice' } as const;

/** The demo integrations `npm start` registers, both reading the sandbox Atlas key from env://. */
export function registerDemoIntegrations(store: ReferenceControlPlaneStore, secretRef: string): void {
  store.putIntegration({
    id: 'demo-project',
    kind: 'atlas-project',
    config: {
      projectId: sandboxIds.payments,
      clusterName: 'Cluster0',
      clusterType: 'REPLICASET',
      customAccessDetails: 'Sandbox cluster: any driver works against the simulator URL, not a real cluster.',
    },
    secretRef,
  });
  store.putIntegration({
    id: 'demo-multi',
    kind: 'atlas-multi-project',
    config: { projectIds: [sandboxIds.payments, sandboxIds.analytics], userStrategy: 'per-grant' },
    secretRef,
  });
}

interface Settled {
  readonly state: string;
  readonly result?: unknown;
  readonly error?: { code: string; message: string };
}

async function runJob(
  store: ReferenceControlPlaneStore,
  job: Parameters<ReferenceControlPlaneStore['enqueueJob']>[0],
  sleep: (ms: number) => Promise<void>,
): Promise<Settled> {
  const jobId = store.enqueueJob(job);
  for (let waited = 0; waited < 60_000; waited += 100) {
    const view = store.job(jobId);
    if (view && ['succeeded', 'failed', 'dead'].includes(view.state)) return view as Settled;
    await sleep(100);
  }
  return { state: 'timed out' };
}

const show = (value: unknown): string => JSON.stringify(value, null, 2).replace(/^/gm, '    ');

/**
 * The short visible scenario of `npm start`: discover, grant (printing the credentials and the
 * connection string — sandbox credentials for a simulated cluster), revoke.
 */
export async function playDemo(
  store: ReferenceControlPlaneStore,
  print: (text: string) => void,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  const discovered = await runJob(
    store,
    { type: 'discover', integrationId: 'demo-project', resourceKey: 'discovery/demo-project', payload: {} },
    sleep,
  );
  print(
    `\n  demo 1/3  discover demo-project → ${discovered.state}\n${show(discovered.result ?? discovered.error)}`,
  );
  const username = usernameFor('per-requester', demoRequester);
  const resourceKey = `${sandboxIds.payments}/${username}`;
  const grant = {
    grantId: 'demo-grant-1',
    requester: demoRequester,
    access: [{ cluster: 'Cluster0', role: 'readWrite', database: 'sales' }],
    ttlSeconds: 3600,
  };
  const granted = await runJob(
    store,
    { type: 'grant', integrationId: 'demo-project', resourceKey, payload: grant },
    sleep,
  );
  print(
    `\n  demo 2/3  grant alice readWrite on sales (1 h) → ${granted.state}\n${show(granted.result ?? granted.error)}`,
  );
  const revoked = await runJob(
    store,
    {
      type: 'revoke',
      integrationId: 'demo-project',
      resourceKey,
      payload: { grantId: grant.grantId, requester: demoRequester },
    },
    sleep,
  );
  print(`\n  demo 3/3  revoke → ${revoked.state}\n${show(revoked.result ?? revoked.error)}\n`);
}
