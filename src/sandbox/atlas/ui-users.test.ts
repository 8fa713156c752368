import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { field } from '../../../test/contract/digest-client.js';
import { startHarness, type Harness } from '../../../test/contract/sim-harness.js';
import { defaultFixture, sandboxIds } from './default-fixture.js';

const v = { version: '2025-02-19' } as const;
const { org, payments, alice, bob, carol, oncallTeam } = sandboxIds;
const orgUsers = `/orgs/${org}/users`;
const projectUsers = `/groups/${payments}/users`;

function names(json: unknown): unknown[] {
  const results = field(json, 'results');
  return Array.isArray(results) ? results.map((r) => field(r, 'username')) : [];
}

describe('organization users', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('lists ACTIVE and PENDING users by default with their membership fields', async () => {
    const list = await h.client.call('GET', orgUsers, v);
    expect(names(list.json)).toEqual(['alice@example.com', 'bob@example.com', 'carol@example.com']);
    expect(field(list.json, 'results', 0)).toMatchObject({
      orgMembershipStatus: 'ACTIVE',
      firstName: 'Alice',
      roles: { orgRoles: ['ORG_OWNER'] },
    });
    expect(field(list.json, 'results', 2)).toMatchObject({
      orgMembershipStatus: 'PENDING',
      inviterUsername: 'alice@example.com',
    });
    const pending = await h.client.call('GET', `${orgUsers}?orgMembershipStatuses=PENDING`, v);
    expect(names(pending.json)).toEqual(['carol@example.com']);
  });

  it('invites a new user as PENDING and answers 409 for an existing PENDING or ACTIVE one', async () => {
    const body = {
      username: 'dave@example.com',
      roles: {
        orgRoles: ['ORG_MEMBER'],
        groupRoleAssignments: [{ groupId: payments, groupRoles: ['GROUP_READ_ONLY'] }],
      },
    };
    const created = await h.client.call('POST', orgUsers, { ...v, body });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ username: 'dave@example.com', orgMembershipStatus: 'PENDING' });
    expect((await h.client.call('POST', orgUsers, { ...v, body })).status).toBe(409);
    const active = await h.client.call('POST', orgUsers, {
      ...v,
      body: { ...body, username: 'alice@example.com' },
    });
    expect(active.status).toBe(409);
  });

  it('limits invitations to ten per minute', async () => {
    for (let i = 0; i < 10; i += 1) {
      const result = await h.client.call('POST', orgUsers, {
        ...v,
        body: { username: `u${i}@example.com`, roles: { orgRoles: ['ORG_MEMBER'] } },
      });
      expect(result.status).toBe(201);
    }
    const over = await h.client.call('POST', orgUsers, {
      ...v,
      body: { username: 'u10@example.com', roles: { orgRoles: ['ORG_MEMBER'] } },
    });
    expect(over.status).toBe(400);
    expect(over.json).toMatchObject({ errorCode: 'INVITATIONS_RATE_LIMITED_IP', parameters: [10, 1] });
    await h.clock.advance(60_000);
    const later = await h.client.call('POST', orgUsers, {
      ...v,
      body: { username: 'u10@example.com', roles: { orgRoles: ['ORG_MEMBER'] } },
    });
    expect(later.status).toBe(201);
  });

  it('adds and removes org roles but never the last one', async () => {
    const added = await h.client.call('POST', `${orgUsers}/${bob}:addRole`, {
      ...v,
      body: { orgRole: 'ORG_READ_ONLY' },
    });
    expect(field(added.json, 'roles', 'orgRoles')).toEqual(['ORG_MEMBER', 'ORG_READ_ONLY']);
    await h.client.call('POST', `${orgUsers}/${bob}:removeRole`, { ...v, body: { orgRole: 'ORG_MEMBER' } });
    const last = await h.client.call('POST', `${orgUsers}/${bob}:removeRole`, {
      ...v,
      body: { orgRole: 'ORG_READ_ONLY' },
    });
    expect(last.status).toBe(400);
    expect(last.json).toMatchObject({ errorCode: 'VALIDATION_ERROR' });
  });

  it('refuses an unknown org role and demoting the last organization owner', async () => {
    const unknown = await h.client.call('POST', `${orgUsers}/${bob}:addRole`, {
      ...v,
      body: { orgRole: 'ORG_KING' },
    });
    expect(unknown.json).toMatchObject({ errorCode: 'INVALID_ROLE_FOR_ORG' });
    await h.client.call('POST', `${orgUsers}/${alice}:addRole`, { ...v, body: { orgRole: 'ORG_MEMBER' } });
    const demote = await h.client.call('POST', `${orgUsers}/${alice}:removeRole`, {
      ...v,
      body: { orgRole: 'ORG_OWNER' },
    });
    expect(demote.status).toBe(403);
    expect(demote.json).toMatchObject({ errorCode: 'CANNOT_DEMOTE_LAST_ORG_OWNER' });
  });

  it('answers USER_NOT_FOUND for an unknown user id and deletes a user with 204', async () => {
    const missing = await h.client.call('GET', `${orgUsers}/${'f'.repeat(24)}`, v);
    expect(missing.json).toMatchObject({ errorCode: 'USER_NOT_FOUND' });
    expect((await h.client.call('DELETE', `${orgUsers}/${carol}`, v)).status).toBe(204);
    expect((await h.client.call('GET', `${orgUsers}/${carol}`, v)).status).toBe(404);
  });

  it('refuses the deprecated orgMembershipStatus combined with orgMembershipStatuses, and ignores it on a get', async () => {
    const old = await h.client.call('GET', `${orgUsers}?orgMembershipStatus=PENDING`, v);
    expect(names(old.json)).toEqual(['carol@example.com']);
    const both = await h.client.call(
      'GET',
      `${orgUsers}?orgMembershipStatus=PENDING&orgMembershipStatuses=ACTIVE`,
      v,
    );
    expect(both.status).toBe(400);
    expect(both.json).toMatchObject({ errorCode: 'INVALID_QUERY_PARAMETER' });
    // getOrgUser declares only orgMembershipStatuses: the old name filters nothing there.
    const get = await h.client.call('GET', `${orgUsers}/${alice}?orgMembershipStatus=PENDING`, v);
    expect(get.json).toMatchObject({ orgMembershipStatus: 'ACTIVE' });
    const groupGet = await h.client.call(
      'GET',
      `/groups/${payments}/users/${bob}?orgMembershipStatus=PENDING`,
      v,
    );
    expect(groupGet.json).toMatchObject({ orgMembershipStatus: 'ACTIVE' });
  });
});

describe('project users', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('lists direct members, and team or org-implied members only when asked', async () => {
    expect(names((await h.client.call('GET', projectUsers, v)).json)).toEqual(['bob@example.com']);
    const flattened = await h.client.call('GET', `${projectUsers}?flattenTeams=true&includeOrgUsers=true`, v);
    expect(names(flattened.json)).toEqual(['alice@example.com', 'bob@example.com']);
    expect(field(flattened.json, 'results', 1, 'roles')).toEqual([
      'GROUP_READ_ONLY',
      'GROUP_DATA_ACCESS_READ_WRITE',
    ]);
  });

  it('grants an ACTIVE org member access at once and invites an outsider', async () => {
    const alicesAccess = await h.client.call('POST', projectUsers, {
      ...v,
      body: { username: 'alice@example.com', roles: ['GROUP_DATA_ACCESS_READ_ONLY'] },
    });
    expect(alicesAccess.status).toBe(201);
    expect(alicesAccess.json).toMatchObject({
      id: alice,
      orgMembershipStatus: 'ACTIVE',
      roles: ['GROUP_DATA_ACCESS_READ_ONLY'],
    });
    const outsider = await h.client.call('POST', projectUsers, {
      ...v,
      body: { username: 'erin@example.com', roles: ['GROUP_READ_ONLY'] },
    });
    expect(outsider.json).toMatchObject({ orgMembershipStatus: 'PENDING' });
    const again = await h.client.call('POST', projectUsers, {
      ...v,
      body: { username: 'alice@example.com', roles: ['GROUP_READ_ONLY'] },
    });
    expect(again.status).toBe(409);
  });

  it('answers a project invitation with the roles it stored, each once (GroupUserResponse.roles is a set)', async () => {
    const added = await h.client.call('POST', projectUsers, {
      ...v,
      body: { username: 'erin@example.com', roles: ['GROUP_READ_ONLY', 'GROUP_READ_ONLY'] },
    });
    expect(added.status).toBe(201);
    expect(field(added.json, 'roles')).toEqual(['GROUP_READ_ONLY']);
    const stored = await h.client.call('GET', `${projectUsers}/${String(field(added.json, 'id'))}`, v);
    expect(field(stored.json, 'roles')).toEqual(field(added.json, 'roles'));
  });

  it('adds a role before removing the only one, as Atlas requires', async () => {
    const onlyRole = await h.client.call('POST', `${projectUsers}/${bob}:removeRole`, {
      ...v,
      body: { groupRole: 'GROUP_READ_ONLY' },
    });
    expect(onlyRole.status).toBe(400);
    await h.client.call('POST', `${projectUsers}/${bob}:addRole`, {
      ...v,
      body: { groupRole: 'GROUP_DATA_ACCESS_READ_ONLY' },
    });
    const swapped = await h.client.call('POST', `${projectUsers}/${bob}:removeRole`, {
      ...v,
      body: { groupRole: 'GROUP_READ_ONLY' },
    });
    expect(swapped.status).toBe(200);
    expect(field(swapped.json, 'roles')).toEqual(['GROUP_DATA_ACCESS_READ_ONLY']);
  });

  it('answers USER_NOT_IN_GROUP for an org user without project access, and removes access with 204', async () => {
    const notIn = await h.client.call('GET', `${projectUsers}/${alice}`, v);
    expect(notIn.status).toBe(404);
    expect(notIn.json).toMatchObject({ errorCode: 'USER_NOT_IN_GROUP' });
    expect((await h.client.call('DELETE', `${projectUsers}/${bob}`, v)).status).toBe(204);
    expect((await h.client.call('GET', `${projectUsers}/${bob}`, v)).json).toMatchObject({
      errorCode: 'USER_NOT_IN_GROUP',
    });
    const events = await h.client.call('GET', `/groups/${payments}/events`);
    expect(field(events.json, 'results', 0)).toMatchObject({
      eventTypeName: 'REMOVED_FROM_GROUP',
      targetUsername: 'bob@example.com',
    });
  });

  it('refuses a project role that does not exist', async () => {
    const result = await h.client.call('POST', `${projectUsers}/${bob}:addRole`, {
      ...v,
      body: { groupRole: 'GROUP_EMPEROR' },
    });
    expect(result.json).toMatchObject({ errorCode: 'INVALID_ROLE_FOR_GROUP' });
  });
});

describe('teams and events', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('lists teams, their members and their project roles', async () => {
    expect(field((await h.client.call('GET', `/orgs/${org}/teams`)).json, 'results', 0, 'name')).toBe(
      'payments-oncall',
    );
    expect(names((await h.client.call('GET', `/orgs/${org}/teams/${oncallTeam}/users`, v)).json)).toEqual([
      'bob@example.com',
    ]);
    const projectTeams = await h.client.call('GET', `/groups/${payments}/teams`);
    expect(field(projectTeams.json, 'results', 0)).toMatchObject({
      teamId: oncallTeam,
      roleNames: ['GROUP_DATA_ACCESS_READ_WRITE'],
    });
  });

  it('adds and removes team members and records org events', async () => {
    const added = await h.client.call('POST', `/orgs/${org}/teams/${oncallTeam}:addUser`, {
      ...v,
      body: { id: alice },
    });
    expect(field(added.json, 'teamIds')).toEqual([oncallTeam]);
    await h.client.call('POST', `/orgs/${org}/teams/${oncallTeam}:removeUser`, { ...v, body: { id: alice } });
    const events = await h.client.call('GET', `/orgs/${org}/events`);
    expect((field(events.json, 'results') as unknown[]).map((e) => field(e, 'eventTypeName'))).toEqual([
      'REMOVED_FROM_TEAM',
      'JOINED_TEAM',
    ]);
    expect(field(events.json, 'results', 0, 'publicKey')).toBe('testpubk');
  });

  it('lists a team’s ACTIVE and PENDING members by default, and filters by username, userId and status', async () => {
    const teamUsers = `/orgs/${org}/teams/${oncallTeam}/users`;
    const invited = await h.client.call('POST', orgUsers, {
      ...v,
      body: { username: 'erin@example.com', roles: { orgRoles: ['ORG_MEMBER'] }, teamIds: [oncallTeam] },
    });
    expect(names((await h.client.call('GET', teamUsers, v)).json)).toEqual([
      'bob@example.com',
      'erin@example.com',
    ]);
    expect(names((await h.client.call('GET', `${teamUsers}?username=erin%40example.com`, v)).json)).toEqual([
      'erin@example.com',
    ]);
    expect(names((await h.client.call('GET', `${teamUsers}?userId=${bob}`, v)).json)).toEqual([
      'bob@example.com',
    ]);
    await h.clock.advance(31 * 86_400_000);
    expect(names((await h.client.call('GET', teamUsers, v)).json)).toEqual(['bob@example.com']);
    const lapsed = await h.client.call('GET', `${teamUsers}?orgMembershipStatuses=INVITATION_EXPIRED`, v);
    expect(field(lapsed.json, 'results', 0)).toMatchObject({
      id: field(invited.json, 'id'),
      orgMembershipStatus: 'INVITATION_EXPIRED',
    });
  });

  it('answers TEAM_NOT_FOUND for an unknown team', async () => {
    const result = await h.client.call('GET', `/orgs/${org}/teams/${'e'.repeat(24)}/users`, v);
    expect(result.json).toMatchObject({ errorCode: 'TEAM_NOT_FOUND' });
  });

  it('filters project events by type', async () => {
    await h.client.call('DELETE', `${projectUsers}/${bob}`, v);
    const none = await h.client.call('GET', `/groups/${payments}/events?eventType=MONGODB_USER_ADDED`);
    expect(field(none.json, 'totalCount')).toBe(0);
  });
});

describe('organizations and projects', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('finds a project by name and answers GROUP_NAME_NOT_FOUND otherwise', async () => {
    expect((await h.client.call('GET', '/groups/byName/analytics')).json).toMatchObject({
      id: sandboxIds.analytics,
      clusterCount: 2,
    });
    expect((await h.client.call('GET', '/groups/byName/nope')).json).toMatchObject({
      errorCode: 'GROUP_NAME_NOT_FOUND',
    });
  });

  it.each([
    [`/groups/${'a'.repeat(24)}`, 'GROUP_NOT_FOUND'],
    ['/groups/not-an-id', 'INVALID_GROUP_ID'],
    [`/orgs/${'a'.repeat(24)}/groups`, 'ORG_NOT_FOUND'],
  ])('answers 404 for %s with %s', async (path, code) => {
    const result = await h.client.call('GET', path);
    expect(result.status).toBe(404);
    expect(result.json).toMatchObject({ errorCode: code });
  });

  it('lists the organization and its projects, filtered by name prefix', async () => {
    expect(field((await h.client.call('GET', '/orgs')).json, 'results', 0, 'name')).toBe('Sandbox Org');
    const filtered = await h.client.call('GET', `/orgs/${org}/groups?name=ana`);
    expect(field(filtered.json, 'totalCount')).toBe(1);
    expect(field(filtered.json, 'results', 0, 'name')).toBe('analytics');
  });
});

describe('a second organization the key has no role in', () => {
  const otherOrg = 'b'.repeat(24);
  const otherProject = 'c'.repeat(24);
  const otherUser = 'd'.repeat(24);
  let h: Harness;
  beforeEach(async () => {
    const base = defaultFixture();
    h = await startHarness({
      fixture: {
        ...base,
        organizations: [...base.organizations, { id: otherOrg, name: 'Other Org' }],
        projects: [...(base.projects ?? []), { id: otherProject, orgId: otherOrg, name: 'elsewhere' }],
        orgUsers: [
          ...(base.orgUsers ?? []),
          {
            id: otherUser,
            orgId: otherOrg,
            username: 'zed@example.com',
            status: 'ACTIVE',
            orgRoles: ['ORG_OWNER'],
          },
        ],
      },
    });
  });
  afterEach(async () => h.close());

  it('answers USER_NOT_IN_ORG for a user of another organization', async () => {
    const result = await h.client.call('GET', `${orgUsers}/${otherUser}`, v);
    expect(result.status).toBe(404);
    expect(result.json).toMatchObject({ errorCode: 'USER_NOT_IN_ORG', parameters: [otherUser, org] });
  });

  it('answers 403 USER_CANNOT_ACCESS_ORG and USER_CANNOT_ACCESS_GROUP there, and hides it from listings', async () => {
    expect((await h.client.call('GET', `/orgs/${otherOrg}/users`, v)).json).toMatchObject({
      errorCode: 'USER_CANNOT_ACCESS_ORG',
    });
    expect((await h.client.call('GET', `/groups/${otherProject}`)).json).toMatchObject({
      errorCode: 'USER_CANNOT_ACCESS_GROUP',
    });
    expect(field((await h.client.call('GET', '/orgs')).json, 'totalCount')).toBe(1);
    expect(field((await h.client.call('GET', '/groups')).json, 'totalCount')).toBe(2);
  });
});
