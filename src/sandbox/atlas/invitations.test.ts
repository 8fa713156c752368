import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { field } from '../../../test/contract/digest-client.js';
import { dayMs, startHarness, type Harness } from '../../../test/contract/sim-harness.js';
import { sandboxIds } from './default-fixture.js';

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
