import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxIds } from '../../src/sandbox/atlas/index.js';
import { DigestClient } from '../contract/digest-client.js';
import { eventually } from './daemon-process.js';
import {
  analytics,
  atlasKey,
  payments,
  startSandbox,
  type Sandbox,
  putPortalIntegration,
} from './sandbox-harness.js';

const { org } = sandboxIds;
const v = { version: '2025-02-19' } as const;
const billing = { level: 'org', role: 'ORG_BILLING_ADMIN' };
const readOnlyOrg = { level: 'org', role: 'ORG_READ_ONLY' };
const readWrite = { level: 'project', projectId: payments, role: 'GROUP_DATA_ACCESS_READ_WRITE' };

function person(sb: Sandbox, email: string) {
  const user = sb.sim.state.snapshot().orgUsers.find((u) => u.username === email && u.orgId === org);
  return (
    user && { status: user.status, orgRoles: [...user.orgRoles].sort(), projectRoles: user.projectRoles }
  );
}

const key = (email: string) => `org-portal/${email}`;

function grant(grantId: string, email: string, access: unknown[], extra: Record<string, unknown> = {}) {
  return {
    type: 'grant',
    integrationId: 'portal',
    resourceKey: key(email),
    payload: { grantId, requester: { email }, access, ttlSeconds: 3600, ...extra },
  };
}

const revoke = (grantId: string, email: string) => ({
  type: 'revoke',
  integrationId: 'portal',
  resourceKey: key(email),
  payload: { grantId },
});

async function succeed(sb: Sandbox, job: Parameters<Sandbox['run']>[0]) {
  const view = await sb.run(job);
  expect(view.error, JSON.stringify(view.error)).toBeUndefined();
  expect(view.state).toBe('succeeded');
  return view.result as Record<string, unknown>;
}

describe('atlas-org-portal end to end', () => {
  let sb: Sandbox;
  let atlas: DigestClient;
  beforeAll(async () => {
    sb = await startSandbox();
    putPortalIntegration(sb, {
      projectIds: [payments, analytics],
      customAccessDetails: 'https://cloud.mongodb.com',
    });
    await sb.connector({ POLICY_ALLOWED_ORG_ROLES: 'ORG_OWNER,ORG_BILLING_ADMIN,ORG_READ_ONLY,ORG_MEMBER' });
    atlas = new DigestClient(sb.sim.url, atlasKey.publicKey, atlasKey.privateKey);
  });
  afterAll(async () => sb.close());

  it('gives an active member a project and an org role, and the revoke takes exactly those back', async () => {
    const before = person(sb, 'bob@example.com');
    const result = await succeed(
      sb,
      grant('g-bob', 'bob@example.com', [
        billing,
        readWrite,
        { level: 'project', projectId: payments, role: 'GROUP_READ_ONLY' },
      ]),
    );
    expect(result).toMatchObject({
      membership: 'active',
      added: [billing, readWrite],
      alreadyHeld: [{ level: 'project', projectId: payments, role: 'GROUP_READ_ONLY' }],
      customAccessDetails: 'https://cloud.mongodb.com',
    });
    expect(person(sb, 'bob@example.com')).toMatchObject({
      orgRoles: ['ORG_BILLING_ADMIN', 'ORG_MEMBER'],
      projectRoles: { [payments]: ['GROUP_READ_ONLY', 'GROUP_DATA_ACCESS_READ_WRITE'] },
    });
    expect(await succeed(sb, revoke('g-bob', 'bob@example.com'))).toMatchObject({
      outcome: 'revoked',
      removed: [billing, readWrite],
    });
    // The role held before the grant (GROUP_READ_ONLY) and ORG_MEMBER survive.
    expect(person(sb, 'bob@example.com')).toEqual(before);
    expect(await succeed(sb, revoke('g-bob', 'bob@example.com'))).toMatchObject({
      outcome: 'already_revoked',
    });
  });

  it('keeps a role two grants share until the second revoke', async () => {
    await succeed(sb, grant('g-ov-1', 'bob@example.com', [readOnlyOrg]));
    expect(await succeed(sb, grant('g-ov-2', 'bob@example.com', [readOnlyOrg]))).toMatchObject({
      added: [readOnlyOrg],
      alreadyHeld: [],
    });
    await succeed(sb, revoke('g-ov-1', 'bob@example.com'));
    expect(person(sb, 'bob@example.com')?.orgRoles).toContain('ORG_READ_ONLY');
    await succeed(sb, revoke('g-ov-2', 'bob@example.com'));
    expect(person(sb, 'bob@example.com')?.orgRoles).toEqual(['ORG_MEMBER']);
  });

  it('converges when the same grant and revoke are delivered twice', async () => {
    const first = await succeed(sb, grant('g-twice', 'bob@example.com', [readWrite]));
    const second = await succeed(sb, grant('g-twice', 'bob@example.com', [readWrite]));
    expect(second).toMatchObject({ added: first.added, alreadyHeld: [] });
    await succeed(sb, revoke('g-twice', 'bob@example.com'));
    expect(await succeed(sb, revoke('g-twice', 'bob@example.com'))).toMatchObject({
      outcome: 'already_revoked',
    });
    expect(person(sb, 'bob@example.com')?.projectRoles[payments]).toEqual(['GROUP_READ_ONLY']);
  });

  it('invites an unknown e-mail; once accepted the person has the role', async () => {
    const result = await succeed(
      sb,
      grant('g-dan', 'dan@example.com', [
        { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' },
      ]),
    );
    expect(result).toMatchObject({
      membership: 'invited',
      created: { invitation: true },
      invitationExpiresAt: expect.any(String),
    });
    expect(sb.sim.acceptInvitation('dan@example.com')).toBe(true);
    expect(person(sb, 'dan@example.com')).toMatchObject({
      status: 'ACTIVE',
      projectRoles: { [analytics]: ['GROUP_READ_ONLY'] },
    });
    await succeed(sb, revoke('g-dan', 'dan@example.com'));
    expect(person(sb, 'dan@example.com')).toMatchObject({
      status: 'ACTIVE',
      orgRoles: ['ORG_MEMBER'],
      projectRoles: {},
    });
  });

  it('deletes the invitation it created when the revoke comes before acceptance', async () => {
    await succeed(sb, grant('g-fay', 'fay@example.com', [readOnlyOrg]));
    expect(person(sb, 'fay@example.com')?.status).toBe('PENDING');
    expect(await succeed(sb, revoke('g-fay', 'fay@example.com'))).toMatchObject({ invitationDeleted: true });
    expect(person(sb, 'fay@example.com')).toBeUndefined();
  });

  it('never removes the last org role or the last owner, and says so instead of failing', async () => {
    await succeed(sb, grant('g-last', 'carol@example.com', [readOnlyOrg]));
    sb.sim.acceptInvitation('carol@example.com');
    const carol = sb.sim.state.snapshot().orgUsers.find((u) => u.username === 'carol@example.com');
    await atlas.call('POST', `/orgs/${org}/users/${String(carol?.id)}:removeRole`, {
      ...v,
      body: { orgRole: 'ORG_MEMBER' },
    });
    await succeed(sb, revoke('g-last', 'carol@example.com'));
    expect(person(sb, 'carol@example.com')?.orgRoles).toEqual(['ORG_MEMBER']);

    await succeed(sb, grant('g-owner', 'bob@example.com', [{ level: 'org', role: 'ORG_OWNER' }]));
    expect((await atlas.call('DELETE', `/orgs/${org}/users/${sandboxIds.alice}`, v)).status).toBe(204);
    expect(await succeed(sb, revoke('g-owner', 'bob@example.com'))).toMatchObject({
      outcome: 'revoked',
      kept: [{ access: { level: 'org', role: 'ORG_OWNER' }, reason: 'last_org_owner' }],
    });
    expect(person(sb, 'bob@example.com')?.orgRoles).toContain('ORG_OWNER');
  });

  it('answers already_revoked when the person left the organization', async () => {
    await succeed(sb, grant('g-gus', 'gus@example.com', [readOnlyOrg]));
    sb.sim.acceptInvitation('gus@example.com');
    const gus = sb.sim.state.snapshot().orgUsers.find((u) => u.username === 'gus@example.com');
    expect((await atlas.call('DELETE', `/orgs/${org}/users/${String(gus?.id)}`, v)).status).toBe(204);
    expect(await succeed(sb, revoke('g-gus', 'gus@example.com'))).toMatchObject({
      outcome: 'already_revoked',
    });
  });

  it('sweeps an expired grant whose revoke never came and leaves everything else untouched', async () => {
    await succeed(sb, grant('g-short', 'hal@example.com', [billing], { ttlSeconds: 1 }));
    sb.sim.acceptInvitation('hal@example.com');
    await succeed(sb, grant('g-long', 'hal@example.com', [readOnlyOrg]));
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const untouched = sb.sim.state.snapshot().orgUsers.filter((u) => u.username !== 'hal@example.com');
    const result = await succeed(sb, {
      type: 'sweep',
      integrationId: 'portal',
      resourceKey: 'org-portal/sweep',
      payload: {},
    });
    expect(result).toMatchObject({
      clearedGrants: ['g-short'],
      overdue: [{ grantId: 'g-short' }],
      removed: [{ access: billing }],
      failures: [],
    });
    expect(person(sb, 'hal@example.com')?.orgRoles).toEqual(['ORG_MEMBER', 'ORG_READ_ONLY']);
    expect(sb.sim.state.snapshot().orgUsers.filter((u) => u.username !== 'hal@example.com')).toEqual(
      untouched,
    );
    expect(sb.cp.store.grants('portal').map((g) => g.grantId)).not.toContain('g-short');
  });

  it('renews a grant past its first end, so a sweep keeps it, and refuses to renew an expired one', async () => {
    const renew = (grantId: string, email: string) => ({
      type: 'renew',
      integrationId: 'portal',
      resourceKey: key(email),
      payload: { grantId, ttlSeconds: 3600 },
    });
    const before = person(sb, 'bob@example.com')?.orgRoles ?? [];
    await succeed(sb, grant('g-renewed', 'bob@example.com', [billing], { ttlSeconds: 1 }));
    const renewed = await succeed(sb, renew('g-renewed', 'bob@example.com'));
    expect(Date.parse(String(renewed.expiresAt)) - Date.now()).toBeGreaterThan(3_000_000);
    await succeed(sb, grant('g-lapsed', 'bob@example.com', [readOnlyOrg], { ttlSeconds: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    const refused = await sb.run(renew('g-lapsed', 'bob@example.com'));
    expect(refused.state).toBe('failed');
    expect(refused.error).toMatchObject({
      code: 'gone',
      message: expect.stringMatching(/^grantId: .*expired at/),
    });
    const swept = await succeed(sb, {
      type: 'sweep',
      integrationId: 'portal',
      resourceKey: 'org-portal/sweep',
      payload: {},
    });
    expect(swept).toMatchObject({ clearedGrants: ['g-lapsed'], removed: [{ access: readOnlyOrg }] });
    expect(person(sb, 'bob@example.com')?.orgRoles).toEqual([...before, 'ORG_BILLING_ADMIN'].sort());
    expect(sb.cp.store.grants('portal').find((g) => g.grantId === 'g-renewed')?.expiresAt).toBe(
      renewed.expiresAt,
    );
    await succeed(sb, revoke('g-renewed', 'bob@example.com'));
    expect(person(sb, 'bob@example.com')?.orgRoles).toEqual(before);
  });

  it.each([
    [
      'an unknown role',
      [{ level: 'project', projectId: payments, role: 'GROUP_EMPEROR' }],
      {},
      'invalid_request',
      /access\[0\]\.role/,
    ],
    [
      'a project outside the allow-list',
      [{ level: 'project', projectId: 'f'.repeat(24), role: 'GROUP_READ_ONLY' }],
      {},
      'policy_denied',
      /access\[0\]\.projectId/,
    ],
    [
      'GROUP_OWNER under the default policy',
      [{ level: 'project', projectId: payments, role: 'GROUP_OWNER' }],
      {},
      'policy_denied',
      /access\[0\]\.role/,
    ],
    ['a TTL over the maximum', [readOnlyOrg], { ttlSeconds: 31 * 86_400 }, 'policy_denied', /ttlSeconds/],
    [
      'a malformed e-mail',
      [readOnlyOrg],
      { requester: { email: 'nope' } },
      'invalid_job',
      /requester\.email/,
    ],
  ])('fails %s with a specific code naming the field', async (_name, access, extra, code, field) => {
    const view = await sb.run(grant(`g-bad-${code}`, 'bob@example.com', access, extra));
    expect(view.state).toBe('failed');
    expect(view.error).toMatchObject({ code, retryable: false, message: expect.stringMatching(field) });
  });
});

describe('atlas-org-portal under the default policy and the invitation limit', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox();
    sb.sim.knobs.invitationWindowMs = 2_000;
    putPortalIntegration(sb, {});
    await sb.connector({ ATLAS_INVITATION_WINDOW: '2s' });
  });
  afterAll(async () => sb.close());

  it('refuses ORG_OWNER unless the policy names it', async () => {
    const view = await sb.run(grant('g-owner', 'bob@example.com', [{ level: 'org', role: 'ORG_OWNER' }]));
    expect(view.state).toBe('failed');
    expect(view.error).toMatchObject({
      code: 'policy_denied',
      retryable: false,
      message: expect.stringMatching(/access\[0\]\.role: ORG_OWNER/),
    });
    expect(person(sb, 'bob@example.com')?.orgRoles).toEqual(['ORG_MEMBER']);
  });

  it('takes back what a grant wrote before Atlas refused a later entry (an unknown project)', async () => {
    const unknownProject = { level: 'project', projectId: 'f'.repeat(24), role: 'GROUP_READ_ONLY' };
    const view = await sb.run(grant('g-partial', 'bob@example.com', [readOnlyOrg, unknownProject]));
    expect(view.state).toBe('failed');
    expect(view.error).toMatchObject({
      code: 'invalid_request',
      retryable: false,
      message: expect.stringMatching(/^access\[1\]\.projectId: /),
    });
    // ORG_READ_ONLY landed before the refusal; the failed grant took it back at once.
    expect(person(sb, 'bob@example.com')?.orgRoles).toEqual(['ORG_MEMBER']);
    const left = sb.cp.store.grants('portal').find((g) => g.grantId === 'g-partial');
    expect(left?.added ?? []).toEqual([]);
  });

  it('a failed regrant of a grant id takes back its own writes only, not what its earlier delivery added', async () => {
    const unknownProject = { level: 'project', projectId: 'f'.repeat(24), role: 'GROUP_READ_ONLY' };
    await succeed(sb, grant('g-again', 'bob@example.com', [billing]));
    const view = await sb.run(grant('g-again', 'bob@example.com', [billing, readOnlyOrg, unknownProject]));
    expect(view.state).toBe('failed');
    expect(view.error).toMatchObject({ code: 'invalid_request', retryable: false });
    // ORG_READ_ONLY (this job's write) is taken back; ORG_BILLING_ADMIN, promised by the first
    // delivery until its expiry and still in its record, stays.
    expect(person(sb, 'bob@example.com')?.orgRoles).toEqual(['ORG_BILLING_ADMIN', 'ORG_MEMBER']);
    const kept = sb.cp.store.grants('portal').find((g) => g.grantId === 'g-again');
    expect(kept?.added).toEqual([billing]);
    await succeed(sb, revoke('g-again', 'bob@example.com'));
    expect(person(sb, 'bob@example.com')?.orgRoles).toEqual(['ORG_MEMBER']);
  });

  it('keeps a burst of 25 invitations under the limit with no failure', async () => {
    const ids = Array.from({ length: 25 }, (_, i) =>
      sb.cp.store.enqueueJob(grant(`g-burst-${i}`, `burst${i}@example.com`, [readOnlyOrg])),
    );
    const views = await eventually(
      () => {
        const all = ids.map((id) => sb.cp.store.job(id));
        return all.every((j) => j && ['succeeded', 'failed', 'dead'].includes(j.state)) ? all : undefined;
      },
      60_000,
      'the burst of 25 grants',
    ).catch((error: unknown) => {
      console.log(
        JSON.stringify(ids.map((id) => sb.cp.store.job(id)).map((j) => [j?.state, j?.attempts, j?.error])),
      );
      throw error;
    });
    expect(views.map((j) => [j?.state, j?.attempts])).toEqual(ids.map(() => ['succeeded', 1]));
    const refused = sb.sim.stats.snapshot().byRoute['POST /api/atlas/v2/orgs/{orgId}/users']?.['400'] ?? 0;
    expect(refused).toBe(0);
    expect(sb.sim.state.snapshot().orgUsers.filter((u) => u.username.startsWith('burst'))).toHaveLength(25);
  }, 90_000);
});

describe('atlas-org-portal sweeps under a small payload limit', () => {
  // Room for four people's records in a sweep, not six (a record is some 200 bytes).
  const limit = 1_024 + 2 + 4 * 230;
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ maxPayloadBytes: limit });
    putPortalIntegration(sb, { projectIds: [payments, analytics] });
    await sb.connector({ POLICY_ALLOWED_ORG_ROLES: 'ORG_READ_ONLY,ORG_MEMBER', ATLAS_MAX_RETRIES: '0' });
  });
  afterAll(async () => sb.close());

  const sweep = () =>
    succeed(sb, { type: 'sweep', integrationId: 'portal', resourceKey: 'org-portal/sweep', payload: {} });

  it('hands the people a sweep failed after the others due, so they cannot take the room every time', async () => {
    // The three most overdue people's reads fail (Atlas answers 500 for them); three others wait.
    const stuck = ['f0', 'f1', 'f2'];
    const waiting = ['o0', 'o1', 'o2'];
    for (const name of [...stuck, ...waiting])
      await succeed(sb, grant(`g-${name}`, `${name}@example.com`, [readOnlyOrg], { ttlSeconds: 1 }));
    const records = sb.cp.store.grants('portal').map((g) => Buffer.byteLength(JSON.stringify([g])));
    expect(Math.min(...records) * 6).toBeGreaterThan(limit - 1_026);
    expect(Math.max(...records) * 3).toBeLessThan(limit - 1_026);
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    sb.sim.knobs.faults.script.push({
      operationId: 'listOrgUsers',
      kind: 'error',
      status: 500,
      delayMs: 0,
      times: 3,
    });
    const first = await sweep();
    expect(first.failures).toMatchObject(stuck.map((name) => ({ email: `${name}@example.com` })));
    // Atlas would now answer for everyone: the next sweep takes those not tried yet first.
    const second = (await sweep()) as { overdue: { email: string }[]; clearedGrants: string[] };
    expect(second.overdue[0]?.email).toMatch(/^o/);
    const open = () => sb.cp.store.grants('portal').map((g) => g.grantId);
    expect(open().filter((id) => id.startsWith('g-o'))).toEqual([]);
    await sweep();
    expect(open()).toEqual([]);
  });
});
