import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxIds } from '../../src/sandbox/atlas/index.js';
import { deepFixture } from '../kits/deep-discovery-test-kit.js';
import type { NewJobInput } from '../../src/sandbox/control-plane/control-plane-store.js';
import type { JobView } from '../../src/sandbox/control-plane/types.js';
import { eventually, type DaemonProcess } from './daemon-process.js';
import { analytics, payments, startSandbox, type Sandbox, putPortalIntegration } from './sandbox-harness.js';

/**
 * Crash steps of the org-portal and deep-discovery kinds that no other e2e test covers
 * (org-portal-intent covers a project role write; database-access and outage the grants of
 * database users). The daemon is SIGKILLed while Atlas (the simulator's scripted `slow` fault: the
 * write runs, its answer is held) or the control plane (a delayed route) holds the answer to a
 * write that landed, then a new daemon redoes the job; or the whole control plane is unreachable
 * when a grant is about to record its intent. Each case checks one accepted result, Atlas as a
 * single clean run leaves it, and the control plane's ledger.
 */
const { org } = sandboxIds;
const bob = 'bob@example.com';
const orgReadOnly = { level: 'org', role: 'ORG_READ_ONLY' };
const paymentsReadWrite = { level: 'project', projectId: payments, role: 'GROUP_DATA_ACCESS_READ_WRITE' };
const analyticsReadOnly = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' };
const env = { POLICY_ALLOWED_ORG_ROLES: 'ORG_READ_ONLY,ORG_MEMBER' };

function person(sb: Sandbox, email: string) {
  const user = sb.sim.state.snapshot().orgUsers.find((u) => u.username === email && u.orgId === org);
  return (
    user && { status: user.status, orgRoles: [...user.orgRoles].sort(), projectRoles: user.projectRoles }
  );
}

const portalJob = (type: string, email: string, payload: Record<string, unknown>): NewJobInput => ({
  type,
  integrationId: 'portal',
  resourceKey: `org-portal/${email}`,
  payload,
});

const grant = (grantId: string, email: string, access: unknown[], ttlSeconds = 3600) =>
  portalJob('grant', email, { grantId, requester: { email }, access, ttlSeconds });

/** Runs the next `operationId` in Atlas and holds its answer well past the kill. */
function stallNext(sb: Sandbox, operationId: string): void {
  sb.sim.knobs.faults.script.push({ operationId, kind: 'slow', status: 500, delayMs: 15_000, times: 1 });
}

async function kill(daemon: DaemonProcess): Promise<void> {
  daemon.kill('SIGKILL');
  await daemon.exited;
}

async function settled(sb: Sandbox, jobId: string, what: string): Promise<JobView> {
  return eventually(
    () => {
      const view = sb.cp.store.job(jobId);
      return view && ['succeeded', 'failed', 'dead'].includes(view.state) ? view : undefined;
    },
    30_000,
    what,
  );
}

/** Enqueues `job`, kills the daemon once `landed` holds, starts another and waits for the job. */
async function killAndRedo(
  sb: Sandbox,
  job: NewJobInput,
  landed: () => boolean,
  what: string,
): Promise<JobView> {
  const daemon = sb.daemons.at(-1);
  if (!daemon) throw new Error('no daemon');
  const jobId = sb.cp.store.enqueueJob(job);
  await eventually(() => (landed() ? true : undefined), 20_000, `${what}: the write to land`);
  await kill(daemon);
  expect(sb.cp.store.job(jobId)?.result).toBeUndefined();
  await sb.connector(env);
  const view = await settled(sb, jobId, what);
  expect(view.error, JSON.stringify(view.error)).toBeUndefined();
  expect(view).toMatchObject({ state: 'succeeded', attempts: 2 });
  return view;
}

describe('atlas-org-portal: a daemon killed after each Atlas write, before its answer', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ leaseTtlMs: 2_000 });
    putPortalIntegration(sb, { projectIds: [payments, analytics] });
    await sb.connector(env);
  });
  afterAll(async () => sb.close());

  it(
    'an invitation that landed is not sent twice, and a revoke killed after deleting it ends already_revoked',
    { timeout: 60_000 },
    async () => {
      const email = 'dana.crash@example.com';
      stallNext(sb, 'createOrgUser');
      const done = await killAndRedo(
        sb,
        grant('g-invite', email, [orgReadOnly, paymentsReadWrite]),
        () => person(sb, email)?.status === 'PENDING',
        'the invitation grant',
      );
      expect(done.result).toMatchObject({
        membership: 'invited',
        added: [orgReadOnly, paymentsReadWrite],
        alreadyHeld: [],
        created: { invitation: true, projectMemberships: [payments] },
      });
      const invitations = sb.sim.state
        .events()
        .filter((e) => e.eventTypeName === 'INVITED_TO_ORG' && e.targetUsername === email);
      expect(invitations).toHaveLength(1);

      // The invitation's delete lands, the daemon dies before its answer: the redo finds it gone.
      stallNext(sb, 'removeOrgUser');
      const revoked = await killAndRedo(
        sb,
        portalJob('revoke', email, { grantId: 'g-invite' }),
        () => person(sb, email) === undefined,
        'the revoke',
      );
      expect(revoked.result).toMatchObject({ outcome: 'already_revoked', grantId: 'g-invite' });
      expect(sb.cp.store.grants('portal').filter((g) => g.email === email)).toEqual([]);
    },
  );

  it(
    'a grant killed after its last write (a new membership) and a revoke killed after its first leave Bob as he was',
    { timeout: 60_000 },
    async () => {
      const before = person(sb, bob);
      stallNext(sb, 'addGroupUsers');
      const granted = await killAndRedo(
        sb,
        grant('g-bob', bob, [orgReadOnly, paymentsReadWrite, analyticsReadOnly]),
        () => person(sb, bob)?.projectRoles[analytics]?.includes('GROUP_READ_ONLY') === true,
        'the grant',
      );
      expect(granted.result).toMatchObject({
        added: [orgReadOnly, paymentsReadWrite, analyticsReadOnly],
        alreadyHeld: [],
        created: { invitation: false, projectMemberships: [analytics] },
      });
      expect(sb.cp.store.grants('portal')).toEqual([
        expect.objectContaining({
          grantId: 'g-bob',
          added: [orgReadOnly, paymentsReadWrite, analyticsReadOnly],
        }),
      ]);

      stallNext(sb, 'removeOrgUserRole');
      const revoked = await killAndRedo(
        sb,
        portalJob('revoke', bob, { grantId: 'g-bob' }),
        () => person(sb, bob)?.orgRoles.includes('ORG_READ_ONLY') === false,
        'the revoke',
      );
      expect(revoked.result).toMatchObject({
        outcome: 'revoked',
        removed: [paymentsReadWrite, analyticsReadOnly],
        projectMembershipsDeleted: [analytics],
      });
      expect(person(sb, bob)).toEqual(before);
      expect(sb.cp.store.grants('portal')).toEqual([]);
    },
  );

  it(
    'a sweep killed after its first removal clears the expired grant on redelivery',
    { timeout: 60_000 },
    async () => {
      const before = person(sb, bob);
      const granted = await sb.run(grant('g-short', bob, [orgReadOnly, analyticsReadOnly], 1));
      expect(granted.state, JSON.stringify(granted.error)).toBe('succeeded');
      const expiresAt = Date.parse(String((granted.result as { expiresAt: string }).expiresAt));
      await eventually(() => (Date.now() > expiresAt + 100 ? true : undefined), 5_000, 'the grant to expire');

      stallNext(sb, 'removeOrgUserRole');
      const swept = await killAndRedo(
        sb,
        { type: 'sweep', integrationId: 'portal', payload: {} },
        () => person(sb, bob)?.orgRoles.includes('ORG_READ_ONLY') === false,
        'the sweep',
      );
      expect(swept.result).toMatchObject({ clearedGrants: ['g-short'], failures: [] });
      expect(person(sb, bob)).toEqual(before);
      expect(sb.cp.store.grants('portal')).toEqual([]);
    },
  );

  it(
    'a grant meeting a control-plane outage before its intent writes nothing until it is recorded, then grants once',
    { timeout: 60_000 },
    async () => {
      const before = person(sb, bob);
      // The outage starts once the grant is leased: its intent, lease extensions and result all fail.
      sb.sim.hooks.holdNext({ operationId: 'listOrgUsers' });
      const jobId = sb.cp.store.enqueueJob(grant('g-outage', bob, [orgReadOnly]));
      await eventually(() => (sb.sim.hooks.held().length > 0 ? true : undefined), 20_000, 'the grant’s read');
      sb.cp.faults.set({ unavailableForMs: 4_000 });
      sb.sim.hooks.release();
      // While the intent cannot be recorded, Atlas stays untouched.
      while (sb.cp.faults.current().unavailableRemainingMs > 0) {
        expect(person(sb, bob)).toEqual(before);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const done = await settled(sb, jobId, 'the grant');
      expect(done.error, JSON.stringify(done.error)).toBeUndefined();
      expect(done).toMatchObject({ state: 'succeeded', result: { added: [orgReadOnly], alreadyHeld: [] } });
      expect(person(sb, bob)?.orgRoles).toEqual(['ORG_MEMBER', 'ORG_READ_ONLY']);
      expect(sb.cp.store.grants('portal')).toEqual([
        expect.objectContaining({ grantId: 'g-outage', added: [orgReadOnly] }),
      ]);
    },
  );
});

describe('atlas-org-deep-discovery: a daemon killed during the snapshot upload', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ leaseTtlMs: 2_000, fixture: deepFixture() });
    sb.cp.store.putIntegration({
      id: 'org',
      kind: 'atlas-org-deep-discovery',
      config: { orgId: org, connectorId: 'vpc-a' },
      secretRef: 'env://E2E_ATLAS_SECRET',
    });
  });
  afterAll(async () => sb.close());

  it('redoes the discovery once: one committed snapshot, one result', { timeout: 60_000 }, async () => {
    const first = await sb.connector({ CONNECTOR_ID: 'vpc-a' });
    sb.cp.faults.set({ delayMs: 15_000, routes: ['snapshotPart'] });
    const jobId = sb.cp.store.enqueueJob({ type: 'discover', integrationId: 'org', connectorId: 'vpc-a' });
    await eventually(
      () => ((sb.cp.store.requestCounts().snapshotPart ?? 0) > 0 ? true : undefined),
      30_000,
      'a snapshot part in flight',
    );
    await kill(first);
    sb.cp.faults.clear();
    expect(sb.cp.store.snapshots('org')).toEqual([]);

    await sb.connector({ CONNECTOR_ID: 'vpc-a' });
    const done = await settled(sb, jobId, 'the discovery');
    expect(done.error, JSON.stringify(done.error)).toBeUndefined();
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, result: { skipped: false } });
    const committed = sb.cp.store.snapshots('org');
    expect(committed).toHaveLength(1);
    expect(committed[0]).toMatchObject({ jobId, contentSha256: (done.result as { sha256: string }).sha256 });
  });
});
