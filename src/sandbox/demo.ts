import { usernameFor } from '../adapters/database-access/model/user-model.js';
import { sandboxIds } from './atlas/index.js';
import type { ReferenceControlPlaneStore } from './control-plane/control-plane-store.js';
import { credentialOf, runDemoJob, show } from './demo-job.js';
import { mongoshCommand, nodeSnippet, tryLogin, type DemoCredential } from './demo-login.js';

export const demoRequester = { id: 'sandbox-user-alice', email: 'alice@example.com', name: 'Alice' } as const;

/** The one cluster of `demo-project`. */
const demoCluster = 'Cluster0';

/** The demo integrations `npm start` registers, both reading the sandbox Atlas key from env://. */
export function registerDemoIntegrations(store: ReferenceControlPlaneStore, secretRef: string): void {
  store.putIntegration({
    id: 'demo-project',
    kind: 'atlas-project',
    config: {
      projectId: sandboxIds.payments,
      clusterName: demoCluster,
      clusterType: 'REPLICASET',
      customAccessDetails:
        'Sandbox cluster: the simulator speaks the MongoDB wire protocol on loopback; mongosh and the drivers log in.',
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

/** The demo's login port: the official driver by default, a fake in tests. */
export type DemoLogin = (credential: DemoCredential, db: string, collection: string) => Promise<string>;

/**
 * The short visible scenario of `npm start`: discover; grant (printing the credentials, a working
 * `mongosh` line and a Node one-liner, and logging in with the driver to show they work — the
 * grant stays active for an hour so the printed lines can be tried); then a second, per-grant
 * user that logs in and is refused once revoked.
 */
export async function playDemo(
  store: ReferenceControlPlaneStore,
  print: (text: string) => void,
  sleep: (ms: number) => Promise<void>,
  login: DemoLogin = tryLogin,
): Promise<void> {
  const discovered = await runDemoJob(
    store,
    { type: 'discover', integrationId: 'demo-project', resourceKey: 'discovery/demo-project', payload: {} },
    sleep,
  );
  print(
    `\n  demo 1/3  discover demo-project → ${discovered.state}\n${show(discovered.result ?? discovered.error)}`,
  );
  // An atlas-project per-requester user is per cluster (docs/database-access.md §3).
  const username = usernameFor('per-requester', demoRequester, undefined, demoCluster);
  const grant = {
    grantId: 'demo-grant-1',
    requester: demoRequester,
    access: [{ cluster: demoCluster, role: 'readWrite', database: 'sales' }],
    ttlSeconds: 3600,
  };
  const granted = await runDemoJob(
    store,
    {
      type: 'grant',
      integrationId: 'demo-project',
      resourceKey: `${sandboxIds.payments}/${username}`,
      payload: grant,
    },
    sleep,
  );
  print(
    `\n  demo 2/3  grant alice readWrite on sales (1 h) → ${granted.state}\n${show(granted.result ?? granted.error)}`,
  );
  const credential = credentialOf(granted);
  if (credential) {
    print(`\n  first use: ${await login(credential, 'sales', 'orders')}`);
    print(
      [
        '',
        '  Log in yourself (sandbox credentials, valid for the next hour; the node line from this repository):',
        `    ${mongoshCommand(credential)}`,
        `    ${nodeSnippet(credential, 'sales', 'orders')}`,
      ].join('\n'),
    );
  }
  await revokeDemo(store, print, sleep, login);
}

/** A per-grant user on the multi-project integration: logs in, is revoked, is refused. */
async function revokeDemo(
  store: ReferenceControlPlaneStore,
  print: (text: string) => void,
  sleep: (ms: number) => Promise<void>,
  login: DemoLogin,
): Promise<void> {
  const bob = { id: 'sandbox-user-bob', email: 'bob@example.com', name: 'Bob' };
  const username = usernameFor('per-grant', bob, 'demo-grant-2');
  const resourceKey = `${sandboxIds.analytics}/${username}`;
  const base = { grantId: 'demo-grant-2', requester: bob, projectId: sandboxIds.analytics };
  const access = [{ cluster: 'Analytics', role: 'read', database: 'events' }];
  const granted = await runDemoJob(
    store,
    {
      type: 'grant',
      integrationId: 'demo-multi',
      resourceKey,
      payload: { ...base, access, ttlSeconds: 600 },
    },
    sleep,
  );
  const credential = credentialOf(granted);
  const before = credential ? await login(credential, 'events', 'clicks') : `grant ${granted.state}`;
  const revoked = await runDemoJob(
    store,
    { type: 'revoke', integrationId: 'demo-multi', resourceKey, payload: base },
    sleep,
  );
  const after = credential ? await login(credential, 'events', 'clicks') : '';
  print(
    [
      `\n  demo 3/3  grant bob read on events (Analytics, per-grant user), then revoke → ${revoked.state}`,
      `    after the grant:  ${before}`,
      `    after the revoke: ${after}`,
      show(revoked.result ?? revoked.error),
      '',
    ].join('\n'),
  );
}
