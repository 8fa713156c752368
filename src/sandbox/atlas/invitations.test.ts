import type { IncomingMessage } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DigestClient, field } from '../../../test/contract/digest-client.js';
import { dayMs, startHarness, type Harness } from '../../../test/contract/sim-harness.js';
import { defaultFixture, sandboxIds } from './default-fixture.js';
import { clientAddress } from './http-io.js';

const v = { version: '2025-02-19' } as const;
const { org, payments, alice, bob } = sandboxIds;
const orgUsers = `/orgs/${org}/users`;

function invite(h: Harness, username: string, orgRoles = ['ORG_MEMBER']) {
  return h.client.call('POST', orgUsers, { ...v, body: { username, roles: { orgRoles } } });
}

async function controlPost(h: Harness, path: string, body: unknown): Promise<number> {
  const response = await fetch(`${h.sim.url}/__sim/${path}`, { method: 'POST', body: JSON.stringify(body) });
  await response.body?.cancel();
  return response.status;
}

describe('invitations', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('turns an invitation ACTIVE with its roles when the person accepts it', async () => {
    const created = await h.client.call('POST', orgUsers, {
      ...v,
      body: {
        username: 'erin@example.com',
        roles: {
          orgRoles: ['ORG_READ_ONLY'],
          groupRoleAssignments: [{ groupId: payments, groupRoles: ['GROUP_READ_ONLY'] }],
        },
      },
    });
    const id = field(created.json, 'id');
    expect(await controlPost(h, 'invitations:accept', { username: 'Erin@example.com' })).toBe(204);
    const user = await h.client.call('GET', `${orgUsers}/${String(id)}`, v);
    expect(user.json).toMatchObject({
      orgMembershipStatus: 'ACTIVE',
      roles: { orgRoles: ['ORG_READ_ONLY'], groupRoleAssignments: [{ groupId: payments }] },
    });
    expect(field(user.json, 'invitationExpiresAt')).toBeUndefined();
    expect(await controlPost(h, 'invitations:accept', { username: 'erin@example.com' })).toBe(404);
  });

  it('expires an invitation after 30 days; the person is then not in the org and can be invited again', async () => {
    const first = await invite(h, 'erin@example.com');
    const firstId = String(field(first.json, 'id'));
    await h.clock.advance(30 * dayMs + 1000);
    expect((await h.client.call('GET', `${orgUsers}?username=erin%40example.com`, v)).json).toMatchObject({
      totalCount: 0,
    });
    const expired = await h.client.call(
      'GET',
      `${orgUsers}?username=erin%40example.com&orgMembershipStatuses=INVITATION_EXPIRED`,
      v,
    );
    expect(field(expired.json, 'results', 0, 'orgMembershipStatus')).toBe('INVITATION_EXPIRED');
    const addRole = await h.client.call('POST', `${orgUsers}/${firstId}:addRole`, {
      ...v,
      body: { orgRole: 'ORG_READ_ONLY' },
    });
    expect(addRole.json).toMatchObject({ errorCode: 'USER_NOT_IN_ORG' });
    // getOrgUser takes orgMembershipStatuses too: ACTIVE and PENDING unless asked for more.
    expect((await h.client.call('GET', `${orgUsers}/${firstId}`, v)).json).toMatchObject({
      errorCode: 'USER_NOT_IN_ORG',
    });
    const asked = await h.client.call(
      'GET',
      `${orgUsers}/${firstId}?orgMembershipStatuses=INVITATION_EXPIRED`,
      v,
    );
    expect(asked.json).toMatchObject({ id: firstId, orgMembershipStatus: 'INVITATION_EXPIRED' });
    const again = await invite(h, 'erin@example.com');
    expect(again.status).toBe(201);
    expect(field(again.json, 'id')).not.toBe(firstId);
    const all = await h.client.call(
      'GET',
      `${orgUsers}?username=erin%40example.com&orgMembershipStatuses=INVITATION_EXPIRED&orgMembershipStatuses=PENDING`,
      v,
    );
    expect(field(all.json, 'totalCount')).toBe(1);
  });

  it('counts project invitations of outsiders against the same per-minute limit', async () => {
    for (let i = 0; i < 10; i += 1) expect((await invite(h, `p${i}@example.com`)).status).toBe(201);
    const projectInvite = await h.client.call('POST', `/groups/${payments}/users`, {
      ...v,
      body: { username: 'outsider@example.com', roles: ['GROUP_READ_ONLY'] },
    });
    expect(projectInvite.json).toMatchObject({ errorCode: 'INVITATIONS_RATE_LIMITED_IP' });
    const member = await h.client.call('POST', `/groups/${payments}/users`, {
      ...v,
      body: { username: 'alice@example.com', roles: ['GROUP_READ_ONLY'] },
    });
    expect(member.status).toBe(201);
  });
});

describe('the invitation limit, per client address as Atlas counts it', () => {
  const otherOrg = 'b'.repeat(24);
  const otherKey = { publicKey: 'otherkey', privateKey: 'e3d9a1f0-0000-4000-8000-00000000beef' } as const;
  let h: Harness;
  let other: DigestClient;
  beforeEach(async () => {
    const base = defaultFixture();
    h = await startHarness({
      fixture: {
        ...base,
        organizations: [...base.organizations, { id: otherOrg, name: 'Other Org' }],
        apiKeys: [
          ...(base.apiKeys ?? []),
          {
            id: 'e'.repeat(24),
            ...otherKey,
            desc: 'Owner of the other organization',
            roles: [{ orgId: otherOrg, roleName: 'ORG_OWNER' }],
          },
        ],
      },
    });
    other = new DigestClient(h.sim.url, otherKey.publicKey, otherKey.privateKey);
  });
  afterEach(async () => h.close());

  const inviteTo = (client: DigestClient, orgId: string, username: string) =>
    client.call('POST', `/orgs/${orgId}/users`, {
      ...v,
      body: { username, roles: { orgRoles: ['ORG_MEMBER'] } },
    });

  it('limits two organizations (and two keys) from one address together, not each on its own', async () => {
    for (let i = 0; i < 5; i += 1) {
      expect((await inviteTo(h.client, org, `a${i}@example.com`)).status).toBe(201);
      expect((await inviteTo(other, otherOrg, `b${i}@example.com`)).status).toBe(201);
    }
    for (const [client, orgId, who] of [
      [h.client, org, 'a5@example.com'],
      [other, otherOrg, 'b5@example.com'],
    ] as const) {
      const over = await inviteTo(client, orgId, who);
      expect(over.status).toBe(400);
      expect(over.json).toMatchObject({ errorCode: 'INVITATIONS_RATE_LIMITED_IP', parameters: [10, 1] });
    }
    const invited = h.sim.state.snapshot().orgUsers.map((u) => u.username);
    expect(invited.filter((u) => /^[ab]\d@/.test(u))).toHaveLength(10);
    await h.clock.advance(60_000);
    expect((await inviteTo(other, otherOrg, 'b5@example.com')).status).toBe(201);
  });

  it('counts every loopback client as one address and others by their own address', () => {
    const from = (remoteAddress: string) => clientAddress({ socket: { remoteAddress } } as IncomingMessage);
    expect(['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1'].map(from)).toEqual(
      Array(4).fill('loopback'),
    );
    expect(['10.0.0.7', '::ffff:10.0.0.7', '10.0.0.8', '2001:db8::1'].map(from)).toEqual([
      '10.0.0.7',
      '10.0.0.7',
      '10.0.0.8',
      '2001:db8::1',
    ]);
  });
});

describe('last owners', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('refuses to delete the organization’s only owner with CANNOT_DELETE_LAST_ADMIN', async () => {
    const result = await h.client.call('DELETE', `${orgUsers}/${alice}`, v);
    expect(result.status).toBe(403);
    expect(result.json).toMatchObject({ errorCode: 'CANNOT_DELETE_LAST_ADMIN' });
  });

  it('refuses to demote or remove a project’s only GROUP_OWNER', async () => {
    const users = `/groups/${payments}/users/${bob}`;
    await h.client.call('POST', `${users}:addRole`, { ...v, body: { groupRole: 'GROUP_OWNER' } });
    const demote = await h.client.call('POST', `${users}:removeRole`, {
      ...v,
      body: { groupRole: 'GROUP_OWNER' },
    });
    expect(demote.json).toMatchObject({ errorCode: 'CANNOT_DEMOTE_LAST_OWNER' });
    const remove = await h.client.call('DELETE', users, v);
    expect(remove.json).toMatchObject({ errorCode: 'CANNOT_DELETE_LAST_OWNER' });
  });
});
