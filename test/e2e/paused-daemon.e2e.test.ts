import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceKeyFor } from '../../src/adapters/database-access/model/user-model.js';
import { sandboxIds } from '../../src/sandbox/atlas/index.js';
import type { NewJobInput } from '../../src/sandbox/control-plane/control-plane-store.js';
import type { JobView } from '../../src/sandbox/control-plane/types.js';
import { personView } from '../kits/portal-test-kit.js';
import { eventually, type DaemonProcess } from './daemon-process.js';
import { expectLoginRefused, type IssuedCredential } from './driver-login.js';
import { payments, putPortalIntegration, startSandbox, usernameOn, type Sandbox } from './sandbox-harness.js';

/**
 * A daemon frozen (SIGSTOP: a GC pause, a VM freeze, CPU throttling) past its lease while Atlas
 * holds the answer to one of its calls. Another daemon redoes the job and then runs the revoke that
 * follows; only then is the first resumed (SIGCONT). Atlas has no conditional writes: what stops
 * the stale replica's late write is its own lease deadline on the monotonic clock, checked before
 * every Atlas write (docs/protocol.md §6, "Lease keeping"). Each case checks that the resumed
 * daemon writes nothing, logs its lost lease and ends its attempt without a result, and that Atlas
 * and the control plane are as the second daemon left them.
 */
const { org } = sandboxIds;
const terminal = ['succeeded', 'failed', 'dead'];
const leaseTtlMs = 2_000;
/** Longer than the claim long-poll (2 s): a frozen daemon's open claim ends before its lease lapses. */
const sessionGraceMs = 3_000;
const env = { POLICY_ALLOWED_ORG_ROLES: 'ORG_READ_ONLY,ORG_MEMBER' };
const orgReadOnly = { level: 'org', role: 'ORG_READ_ONLY' };
const paymentsReadWrite = { level: 'project', projectId: payments, role: 'GROUP_DATA_ACCESS_READ_WRITE' };
const apiWrite = /^(POST|PUT|PATCH|DELETE) \/api\/atlas\//;
const withoutResult = 'job finished without a result; the control plane will redeliver it';
const resultRefused = 'control plane refused the result; another attempt owns the job';
const addOrgRole = /^POST \/api\/atlas\/v2\/orgs\/[^/]+\/users\/[^/]+:addRole$/;

/** Atlas writes the simulator has answered so far (counted when answered, whoever sent them). */
const atlasWrites = (sb: Sandbox): number => answered(sb, apiWrite);

/** Answers the simulator has sent to requests whose route matches `route`. */
function answered(sb: Sandbox, route: RegExp): number {
  return Object.entries(sb.sim.stats.snapshot().byRoute)
    .filter(([key]) => route.test(key))
    .reduce((n, [, byStatus]) => n + Object.values(byStatus).reduce((a, b) => a + b, 0), 0);
}

function person(sb: Sandbox, email: string) {
  return personView(sb.sim.state.snapshot().orgUsers.find((u) => u.username === email && u.orgId === org));
}

async function settled(sb: Sandbox, jobId: string, what: string): Promise<JobView> {
  const view = await eventually(
    () => {
      const job = sb.cp.store.job(jobId);
      return job && terminal.includes(job.state) ? job : undefined;
    },
    20_000,
    what,
  );
  expect(view.error, JSON.stringify(view.error)).toBeUndefined();
  expect(view.state).toBe('succeeded');
  return view;
}

interface PausedRun {
  readonly paused: DaemonProcess;
  readonly jobId: string;
  readonly granted: JobView;
  readonly revokeJobId: string;
  readonly revoked: JobView;
  /** Atlas writes answered before the paused daemon was resumed. */
  readonly writesBeforeResume: number;
}

/**
 * Starts daemon A alone, enqueues `grant`, freezes A once `frozenAt` holds (Atlas holding one of
 * its answers), runs `whileFrozen`, lets daemon B redo the grant and then run `revoke`, and resumes
 * A once Atlas has answered every write sent so far (`settledWrites`).
 */
async function pauseAndTakeOver(
  sb: Sandbox,
  grant: NewJobInput,
  revoke: NewJobInput,
  steps: { frozenAt: () => boolean; whileFrozen?: () => void; settledWrites?: () => boolean },
): Promise<PausedRun> {
  for (const d of sb.daemons) d.kill('SIGKILL');
  await Promise.all(sb.daemons.map((d) => d.exited));
  const paused = await sb.connector(env);
  const jobId = sb.cp.store.enqueueJob(grant);
  await eventually(() => (steps.frozenAt() ? true : undefined), 15_000, 'the freeze point');
  paused.kill('SIGSTOP');
  steps.whileFrozen?.();
  await sb.connector(env);
  const granted = await settled(sb, jobId, 'the grant redone by B');
  expect(granted.attempts).toBe(2);
  expect(granted.history.map((h) => h.outcome)).toEqual(['expired', 'succeeded']);
  const revokeJobId = sb.cp.store.enqueueJob(revoke);
  const revoked = await settled(sb, revokeJobId, 'the revoke by B');
  await eventually(() => ((steps.settledWrites?.() ?? true) ? true : undefined), 10_000, 'held answers sent');
  const writesBeforeResume = atlasWrites(sb);
  paused.kill('SIGCONT');
  return { paused, jobId, granted, revokeJobId, revoked, writesBeforeResume };
}

/** A's attempt ends with its lease lost and no result; it wrote nothing to Atlas since resuming. */
async function expectStaleAttemptEnded(sb: Sandbox, run: PausedRun): Promise<void> {
  const { paused, jobId } = run;
  const ofJob = (line: Record<string, unknown>) => line.jobId === jobId;
  // A's attempt is over once it logs how it ended: without a result, or with its result refused.
  await paused.waitForLog(
    (line) => ofJob(line) && (line.msg === withoutResult || line.msg === resultRefused),
    15_000,
  );
  expect(atlasWrites(sb), 'Atlas writes after A resumed').toBe(run.writesBeforeResume);
  const lines = paused.lines().filter(ofJob);
  // Its own monotonic deadline stopped it, not an answer from the control plane.
  expect(lines.find((l) => l.msg === 'lease lost')).toMatchObject({ reason: 'deadline' });
  expect(lines.find((l) => l.msg === withoutResult)).toMatchObject({ attempt: 1, outcome: 'lease_lost' });
  // The job is B's: one accepted result, attempt 2's; A's attempt sent none. The revoke ended once.
  const endings = (id: string) =>
    sb.cp.store
      .results()
      .filter((r) => r.jobId === id)
      .map((r) => [r.attempt, r.jobState]);
  expect(endings(jobId)).toEqual([[2, 'succeeded']]);
  expect(endings(run.revokeJobId)).toEqual([[1, 'succeeded']]);
  expect(sb.cp.store.job(jobId)).toMatchObject({
    state: 'succeeded',
    attempts: 2,
    result: run.granted.result,
  });
  expect(paused.child.exitCode).toBeNull();
}

describe('atlas-org-portal: a daemon paused past its lease writes nothing when it resumes', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ leaseTtlMs, propagationDelayMs: 0 });
    sb.cp.store.setIntervals({ sessionGraceMs });
    putPortalIntegration(sb, { projectIds: [payments] });
  });
  afterAll(async () => sb.close());

  const portalJob = (type: string, email: string, payload: Record<string, unknown>): NewJobInput => ({
    type,
    integrationId: 'portal',
    resourceKey: `org-portal/${email}`,
    payload,
  });

  it.each([
    {
      point: 'while Atlas holds the answer to its read (before its intent and writes)',
      email: 'bob@example.com',
      hold: (s: Sandbox) => s.sim.hooks.holdNext({ operationId: 'listOrgUsers' }),
      frozenAt: (s: Sandbox) => s.sim.hooks.held().length > 0,
      whileFrozen: (s: Sandbox) => void s.sim.hooks.release(),
    },
    {
      point: 'while Atlas holds the answer to its first write (after its intent)',
      email: 'alice@example.com',
      hold: (s: Sandbox) =>
        s.sim.knobs.faults.script.push({
          operationId: 'addOrgUserRole',
          kind: 'slow',
          status: 500,
          delayMs: 500,
          times: 1,
        }),
      frozenAt: (s: Sandbox) => person(s, 'alice@example.com')?.orgRoles.includes('ORG_READ_ONLY') === true,
      whileFrozen: () => undefined,
    },
  ])('frozen $point: B grants and revokes, A resumes and writes nothing', { timeout: 40_000 }, async (c) => {
    const before = person(sb, c.email);
    expect(before?.status).toBe('ACTIVE');
    const grantId = `g-pause-${c.email}`;
    const orgRolesAddedAtStart = answered(sb, addOrgRole);
    c.hold(sb);
    const run = await pauseAndTakeOver(
      sb,
      portalJob('grant', c.email, {
        grantId,
        requester: { email: c.email },
        access: [orgReadOnly, paymentsReadWrite],
        ttlSeconds: 3600,
      }),
      portalJob('revoke', c.email, { grantId }),
      {
        frozenAt: () => c.frozenAt(sb),
        whileFrozen: () => c.whileFrozen(sb),
        // A's held write (the org role) has been answered into its socket.
        settledWrites: () => answered(sb, addOrgRole) > orgRolesAddedAtStart,
      },
    );
    const { added } = run.granted.result as { added: unknown[] };
    expect(added).toHaveLength(2);
    expect(added).toEqual(expect.arrayContaining([orgReadOnly, paymentsReadWrite]));
    expect(run.revoked.result).toMatchObject({ outcome: 'revoked' });
    expect(person(sb, c.email)).toEqual(before);

    await expectStaleAttemptEnded(sb, run);
    // The revoke's effect stands: UI roles have no deleteAfterDate to take them away later.
    expect(person(sb, c.email)).toEqual(before);
    expect(sb.cp.store.grants('portal')).toEqual([]);
  });
});

describe('database access: a daemon paused past its lease writes nothing when it resumes', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ leaseTtlMs, propagationDelayMs: 0 });
    sb.cp.store.setIntervals({ sessionGraceMs });
  });
  afterAll(async () => sb.close());

  it(
    'frozen while Atlas holds the answer to its first read: no user re-created after B revokes',
    { timeout: 40_000 },
    async () => {
      const grantId = 'g-pause-db';
      const requester = { id: 'user-pause', email: 'pause@example.com' };
      const username = usernameOn('project-per-grant', 'per-grant', requester, grantId);
      const resourceKey = resourceKeyFor(payments, username);
      const usersBefore = sb.sim.state.databaseUsers(payments).map((u) => u.username);
      sb.sim.hooks.holdNext({ operationId: 'getGroupCluster' });
      const run = await pauseAndTakeOver(
        sb,
        {
          type: 'grant',
          integrationId: 'project-per-grant',
          resourceKey,
          payload: {
            grantId,
            requester,
            access: [{ cluster: 'Cluster0', role: 'read', database: 'sales' }],
            ttlSeconds: 3600,
          },
        },
        { type: 'revoke', integrationId: 'project-per-grant', resourceKey, payload: { grantId, requester } },
        { frozenAt: () => sb.sim.hooks.held().length > 0, whileFrozen: () => void sb.sim.hooks.release() },
      );
      expect(run.revoked.result).toMatchObject({ outcome: 'revoked', userDeleted: true });

      await expectStaleAttemptEnded(sb, run);
      expect(sb.sim.state.databaseUsers(payments).map((u) => u.username)).toEqual(usersBefore);
      await expectLoginRefused(run.granted.result as IssuedCredential);
    },
  );
});
