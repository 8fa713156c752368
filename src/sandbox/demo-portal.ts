import { sandboxIds, type SimulatorInspector } from './atlas/index.js';
import type { ReferenceControlPlaneStore } from './control-plane/control-plane-store.js';
import { runDemoJob, show } from './demo-job.js';

type Store = Pick<ReferenceControlPlaneStore, 'putIntegration' | 'enqueueJob' | 'job'>;

/** The Atlas UI demo integration: the sandbox organization, both projects allowed. */
export function registerPortalDemo(store: Store, secretRef: string): void {
  store.putIntegration({
    id: 'demo-portal',
    kind: 'atlas-org-portal',
    config: {
      orgId: sandboxIds.org,
      projectIds: [sandboxIds.payments, sandboxIds.analytics],
      customAccessDetails: 'Sandbox: the Atlas UI is simulated; see /__sim/state for the roles.',
    },
    secretRef,
  });
}

/** What the simulated Atlas shows of bob: his org roles and his payments roles. */
function bobInAtlas(atlas: Pick<SimulatorInspector, 'snapshot'>): string {
  const bob = atlas.snapshot().orgUsers.find((u) => u.username === 'bob@example.com');
  if (!bob) return 'bob@example.com is not in the organization';
  return `org roles ${bob.orgRoles.join(', ')}; payments roles ${(bob.projectRoles[sandboxIds.payments] ?? []).join(', ')}`;
}

/**
 * The Atlas UI part of `npm start`: bob (an active member who already reads payments) gets
 * GROUP_DATA_ACCESS_READ_WRITE there for an hour; the revoke takes exactly that back and his own
 * GROUP_READ_ONLY stays.
 */
export async function playPortalDemo(
  store: Store,
  atlas: Pick<SimulatorInspector, 'snapshot'>,
  print: (text: string) => void,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  const resourceKey = 'org-portal/bob@example.com';
  print(`\n  portal 1/3  bob in Atlas before: ${bobInAtlas(atlas)}`);
  const payload = {
    grantId: 'demo-portal-grant-1',
    requester: { email: 'bob@example.com' },
    access: [{ level: 'project', projectId: sandboxIds.payments, role: 'GROUP_DATA_ACCESS_READ_WRITE' }],
    ttlSeconds: 3600,
  };
  const granted = await runDemoJob(
    store,
    { type: 'grant', integrationId: 'demo-portal', resourceKey, payload },
    sleep,
  );
  print(
    `\n  portal 2/3  grant bob GROUP_DATA_ACCESS_READ_WRITE on payments (1 h) → ${granted.state}\n${show(granted.result ?? granted.error)}`,
  );
  print(`    bob in Atlas now: ${bobInAtlas(atlas)}`);
  const revoked = await runDemoJob(
    store,
    { type: 'revoke', integrationId: 'demo-portal', resourceKey, payload: { grantId: payload.grantId } },
    sleep,
  );
  print(`\n  portal 3/3  revoke → ${revoked.state}\n${show(revoked.result ?? revoked.error)}`);
  print(`    bob in Atlas after: ${bobInAtlas(atlas)} (his own GROUP_READ_ONLY stays)\n`);
}
