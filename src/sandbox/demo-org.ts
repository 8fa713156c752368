import { resourceKeyFor, usernameFor } from '../adapters/database-access/model/user-model.js';
import { sandboxIds } from './atlas/index.js';
import type { ReferenceControlPlaneStore } from './control-plane/control-plane-store.js';
import { credentialOf, runDemoJob } from './demo-job.js';
import type { DemoCredential } from './demo-login.js';

type Store = Pick<ReferenceControlPlaneStore, 'putIntegration' | 'enqueueJob' | 'job' | 'snapshots'>;

/** The login port the demo proves credentials with (the official driver; a fake in unit tests). */
export type OrgDemoLogin = (credential: DemoCredential, db: string, collection: string) => Promise<string>;

/** The deep-discovery demo integration: the whole sandbox organization, served by this connector. */
export function registerOrgDemo(store: Pick<Store, 'putIntegration'>, secretRef: string): void {
  store.putIntegration({
    id: 'demo-org',
    kind: 'atlas-org-deep-discovery',
    config: {
      orgId: sandboxIds.org,
      customAccessDetails: 'Sandbox: every cluster of the sandbox organization is a sub-integration.',
    },
    secretRef,
  });
}

interface RecordLine {
  readonly type?: string;
  readonly id?: string;
  readonly clusterType?: string;
  readonly connectionType?: string;
  readonly state?: string;
  readonly reason?: string;
  readonly databases?: readonly { name: string }[];
}

/** One line per sub-integration of the latest committed snapshot: id, type, route, state. */
function subIntegrationLines(store: Store): string[] {
  const latest = store.snapshots('demo-org').at(-1);
  return ((latest?.records ?? []) as RecordLine[])
    .filter((r) => r.type === 'subIntegration')
    .map((r) => {
      const dbs = (r.databases ?? []).map((d) => d.name).join(',') || '-';
      const route = r.connectionType ?? '-';
      const why = r.reason !== undefined ? ` (${r.reason})` : '';
      return `    ${String(r.id).padEnd(34)} ${String(r.clusterType).padEnd(10)} ${route.padEnd(16)} ${String(r.state)}${why}  dbs: ${dbs}`;
    });
}

/**
 * The deep-discovery part of `npm start`: discover the sandbox organization, list the
 * sub-integrations found, grant dora read on sales in `payments:Cluster0`, log in with the driver,
 * revoke, and show the login refused.
 */
export async function playOrgDemo(
  store: Store,
  print: (text: string) => void,
  sleep: (ms: number) => Promise<void>,
  login: OrgDemoLogin,
): Promise<void> {
  const discovered = await runDemoJob(
    store,
    { type: 'discover', integrationId: 'demo-org', resourceKey: 'discovery/demo-org', payload: {} },
    sleep,
  );
  print(`\n  org 1/3  discover demo-org (the sandbox organization) → ${discovered.state}`);
  if (discovered.state !== 'succeeded') print(`    ${JSON.stringify(discovered.error)}`);
  for (const line of subIntegrationLines(store)) print(line);
  const subIntegrationId = `${sandboxIds.payments}:Cluster0`;
  const dora = { id: 'sandbox-user-dora', email: 'dora@example.com', name: 'Dora' };
  // A sub-integration's per-requester user is per cluster (docs/deep-discovery.md).
  const username = usernameFor('per-requester', dora, undefined, 'Cluster0');
  const resourceKey = resourceKeyFor(sandboxIds.payments, username);
  const base = { subIntegrationId, grantId: 'demo-org-grant-1', requester: dora };
  const granted = await runDemoJob(
    store,
    {
      type: 'grant',
      integrationId: 'demo-org',
      resourceKey,
      payload: { ...base, access: [{ role: 'read', database: 'sales' }], ttlSeconds: 600 },
    },
    sleep,
  );
  const credential = credentialOf(granted);
  const before = credential
    ? await login(credential, 'sales', 'orders')
    : `grant ${granted.state}: ${JSON.stringify(granted.error)}`;
  print(`\n  org 2/3  grant dora read on sales in sub-integration ${subIntegrationId} → ${granted.state}`);
  print(`    ${before}`);
  const revoked = await runDemoJob(
    store,
    { type: 'revoke', integrationId: 'demo-org', resourceKey, payload: base },
    sleep,
  );
  const after = credential ? await login(credential, 'sales', 'orders') : '';
  print(`\n  org 3/3  revoke → ${revoked.state}`);
  print(`    after the revoke: ${after}\n`);
}
