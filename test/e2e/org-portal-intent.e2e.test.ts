import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxIds } from '../../src/sandbox/atlas/index.js';
import type { DaemonProcess } from './daemon-process.js';
import { eventually } from './daemon-process.js';
import { analytics, payments, startSandbox, type Sandbox, putPortalIntegration } from './sandbox-harness.js';

/**
 * The ledger gap (docs/org-portal.md): a grant whose Atlas write landed but whose result was never
 * stored. The simulator's scripted `slow` fault runs the write and then holds the answer, so the
 * daemon is SIGKILLed deterministically between the write and the result.
 */
const { org } = sandboxIds;
const email = 'bob@example.com';
const readWrite = { level: 'project', projectId: payments, role: 'GROUP_DATA_ACCESS_READ_WRITE' };
const readOnly = { level: 'project', projectId: payments, role: 'GROUP_READ_ONLY' };

function projectRoles(sb: Sandbox): Record<string, string[]> | undefined {
  return sb.sim.state.snapshot().orgUsers.find((u) => u.username === email && u.orgId === org)?.projectRoles;
}

function grant(grantId: string, access: unknown[], maxAttempts?: number) {
  return {
    type: 'grant',
    integrationId: 'portal',
    resourceKey: `org-portal/${email}`,
    payload: { grantId, requester: { email }, access, ttlSeconds: 3600 },
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  };
}

/** Holds the next `addGroupUserRole` answer (the role is already written) until the daemon is killed. */
function stallNextProjectRoleWrite(sb: Sandbox): void {
  sb.sim.knobs.faults.script.push({
    operationId: 'addGroupUserRole',
    kind: 'slow',
    status: 500,
    delayMs: 15_000,
    times: 1,
  });
}

async function killOnceWritten(sb: Sandbox, daemon: DaemonProcess, projectId: string, role: string) {
  await eventually(
    () => (projectRoles(sb)?.[projectId]?.includes(role) ? true : undefined),
    20_000,
    `${role} written in ${projectId}`,
  );
  daemon.kill('SIGKILL');
  await daemon.exited;
}

describe('org-portal grant intent: a daemon killed between the Atlas write and the result', () => {
  let sb: Sandbox;
  const env = { POLICY_ALLOWED_ORG_ROLES: 'ORG_READ_ONLY,ORG_MEMBER' };
  beforeAll(async () => {
    sb = await startSandbox({ leaseTtlMs: 2_000 });
    putPortalIntegration(sb, { projectIds: [payments, analytics] });
  });
  afterAll(async () => sb.close());

  it('the redelivered attempt reports the landed role as added, and the revoke removes only it', async () => {
    expect(projectRoles(sb)?.[payments]).toEqual(['GROUP_READ_ONLY']);
    const first = await sb.connector(env);
    stallNextProjectRoleWrite(sb);
    const jobId = sb.cp.store.enqueueJob(grant('g-crash', [readWrite, readOnly]));
    await killOnceWritten(sb, first, payments, 'GROUP_DATA_ACCESS_READ_WRITE');
    const stalled = sb.cp.store.job(jobId);
    expect(stalled).toMatchObject({ state: 'leased', attempts: 1, intent: { attempt: 1 } });
    expect(stalled?.result).toBeUndefined();

    await sb.connector(env);
    const done = await eventually(
      () => {
        const view = sb.cp.store.job(jobId);
        return view?.state === 'succeeded' ? view : undefined;
      },
      30_000,
      'the redelivered grant',
    );
    expect(done.attempts).toBe(2);
    expect(done.result).toMatchObject({ added: [readWrite], alreadyHeld: [readOnly] });

    const revoked = await sb.run({
      type: 'revoke',
      integrationId: 'portal',
      resourceKey: `org-portal/${email}`,
      payload: { grantId: 'g-crash' },
    });
    expect(revoked.result).toMatchObject({ outcome: 'revoked', removed: [readWrite] });
    // The role Bob held before the grant survives.
    expect(projectRoles(sb)?.[payments]).toEqual(['GROUP_READ_ONLY']);
  });

  it('a grant that dies after its write leaves a fromIntent record, and the revoke removes the role', async () => {
    const daemon = sb.daemons.at(-1);
    if (!daemon) throw new Error('no daemon');
    stallNextProjectRoleWrite(sb);
    // maxAttempts 1: the expired lease dead-letters the grant instead of redelivering it.
    const jobId = sb.cp.store.enqueueJob(grant('g-dead', [readWrite], 1));
    await killOnceWritten(sb, daemon, payments, 'GROUP_DATA_ACCESS_READ_WRITE');
    const dead = await eventually(
      () => {
        const view = sb.cp.store.job(jobId);
        return view?.state === 'dead' ? view : undefined;
      },
      20_000,
      'the grant to dead-letter',
    );
    expect(dead.result).toBeUndefined();
    expect(sb.cp.store.grants('portal')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ grantId: 'g-dead', added: [readWrite], fromIntent: true }),
      ]),
    );

    await sb.connector(env);
    const revoked = await sb.run({
      type: 'revoke',
      integrationId: 'portal',
      resourceKey: `org-portal/${email}`,
      payload: { grantId: 'g-dead' },
    });
    expect(revoked.result).toMatchObject({ outcome: 'revoked', removed: [readWrite] });
    expect(projectRoles(sb)?.[payments]).toEqual(['GROUP_READ_ONLY']);
  });

  it('a retry refused by an allow-list narrowed since the write takes the written role back', async () => {
    const daemon = sb.daemons.at(-1);
    if (!daemon) throw new Error('no daemon');
    stallNextProjectRoleWrite(sb);
    const jobId = sb.cp.store.enqueueJob(grant('g-narrowed', [readWrite]));
    await killOnceWritten(sb, daemon, payments, 'GROUP_DATA_ACCESS_READ_WRITE');
    // The operator takes payments off the integration before the retry: the retry is refused
    // before any write, and the requester is told the grant failed.
    putPortalIntegration(sb, { projectIds: [analytics] });
    await sb.connector(env);
    const failed = await eventually(
      () => {
        const view = sb.cp.store.job(jobId);
        return view?.state === 'failed' ? view : undefined;
      },
      30_000,
      'the refused retry',
    );
    expect(failed.error).toMatchObject({ code: 'policy_denied', retryable: false });
    expect(failed.error?.message).toMatch(/^access\[0\]\.projectId: /);
    // The role the first attempt wrote is gone; the one Bob held before stays.
    expect(projectRoles(sb)?.[payments]).toEqual(['GROUP_READ_ONLY']);
    const left = sb.cp.store.grants('portal').find((g) => g.grantId === 'g-narrowed');
    expect(left?.added ?? []).toEqual([]);
    putPortalIntegration(sb, { projectIds: [payments, analytics] });
  });
});
