import nock from 'nock';
import { describe, it } from 'vitest';
import type { AtlasClient } from './client.js';
import {
  api,
  atlasBaseUrl,
  createTestClient,
  groupId,
  mockTokenMint,
  orgId,
} from '../../test/kits/atlas-test-kit.js';
import { dbUser, orgUser, page, projectUser, role } from '../../test/kits/atlas-fixtures-test-kit.js';

interface Case {
  readonly name: string;
  readonly method: 'get' | 'post' | 'patch' | 'delete';
  readonly path: string;
  readonly version: string;
  readonly status?: number;
  readonly body?: nock.RequestBodyMatcher;
  readonly reply?: object;
  readonly call: (client: AtlasClient) => Promise<unknown>;
}

const cases: Case[] = [
  {
    name: 'identity.status',
    method: 'get',
    path: '',
    version: '2023-01-01',
    reply: { appName: 'MongoDB Atlas', build: 'b', throttling: false, apiKey: null },
    call: (c) => c.identity.status(),
  },
  {
    name: 'clusters.get',
    method: 'get',
    path: `/groups/${groupId}/clusters/c0`,
    version: '2024-08-05',
    reply: { name: 'c0' },
    call: (c) => c.clusters.get(groupId, 'c0'),
  },
  {
    name: 'clusters.status',
    method: 'get',
    path: `/groups/${groupId}/clusters/c0/status`,
    version: '2023-01-01',
    reply: { changeStatus: 'APPLIED' },
    call: (c) => c.clusters.status(groupId, 'c0'),
  },
  {
    name: 'flexClusters.get',
    method: 'get',
    path: `/groups/${groupId}/flexClusters/f0`,
    version: '2024-11-13',
    reply: { name: 'f0' },
    call: (c) => c.flexClusters.get(groupId, 'f0'),
  },
  {
    name: 'databaseUsers.create',
    method: 'post',
    path: `/groups/${groupId}/databaseUsers`,
    version: '2023-01-01',
    status: 201,
    body: { ...dbUser, password: 'Secret-pass-1' },
    reply: dbUser,
    call: (c) =>
      c.databaseUsers.create(groupId, { ...dbUser, databaseName: 'admin', password: 'Secret-pass-1' }),
  },
  {
    name: 'databaseUsers.update',
    method: 'patch',
    path: `/groups/${groupId}/databaseUsers/admin/alice`,
    version: '2023-01-01',
    body: { deleteAfterDate: '2026-11-25T12:00:00Z', groupId, databaseName: 'admin', username: 'alice' },
    reply: dbUser,
    call: (c) =>
      c.databaseUsers.update(groupId, 'admin', 'alice', { deleteAfterDate: '2026-11-25T12:00:00Z' }),
  },
  {
    name: 'customDbRoles.create',
    method: 'post',
    path: `/groups/${groupId}/customDBRoles/roles`,
    version: '2023-01-01',
    status: 202,
    body: role,
    reply: role,
    call: (c) => c.customDbRoles.create(groupId, role),
  },
  {
    name: 'customDbRoles.update',
    method: 'patch',
    path: `/groups/${groupId}/customDBRoles/roles/jit-r1`,
    version: '2023-01-01',
    body: { actions: role.actions, inheritedRoles: [] },
    reply: role,
    call: (c) => c.customDbRoles.update(groupId, 'jit-r1', { actions: role.actions, inheritedRoles: [] }),
  },
  {
    name: 'customDbRoles.delete',
    method: 'delete',
    path: `/groups/${groupId}/customDBRoles/roles/jit-r1`,
    version: '2023-01-01',
    status: 204,
    call: (c) => c.customDbRoles.delete(groupId, 'jit-r1'),
  },
  {
    name: 'projectLimits.get',
    method: 'get',
    path: `/groups/${groupId}/limits/atlas.project.security.databaseAccess.users`,
    version: '2023-01-01',
    reply: { name: 'atlas.project.security.databaseAccess.users', value: 100, currentUsage: 7 },
    call: (c) => c.projectLimits.get(groupId, 'atlas.project.security.databaseAccess.users'),
  },
  {
    name: 'orgUsers.invite',
    method: 'post',
    path: `/orgs/${orgId}/users`,
    version: '2025-02-19',
    status: 201,
    body: { username: 'a@example.com', roles: { orgRoles: ['ORG_MEMBER'] } },
    reply: orgUser,
    call: (c) => c.orgUsers.invite(orgId, { username: 'a@example.com', roles: { orgRoles: ['ORG_MEMBER'] } }),
  },
  {
    name: 'orgUsers.addRole',
    method: 'post',
    path: `/orgs/${orgId}/users/u1:addRole`,
    version: '2025-02-19',
    body: { orgRole: 'ORG_READ_ONLY' },
    reply: orgUser,
    call: (c) => c.orgUsers.addRole(orgId, 'u1', 'ORG_READ_ONLY'),
  },
  {
    name: 'orgUsers.remove',
    method: 'delete',
    path: `/orgs/${orgId}/users/u1`,
    version: '2025-02-19',
    status: 204,
    call: (c) => c.orgUsers.remove(orgId, 'u1'),
  },
  {
    name: 'projectUsers.add',
    method: 'post',
    path: `/groups/${groupId}/users`,
    version: '2025-02-19',
    status: 201,
    body: { username: 'a@example.com', roles: ['GROUP_READ_ONLY'] },
    reply: projectUser,
    call: (c) => c.projectUsers.add(groupId, { username: 'a@example.com', roles: ['GROUP_READ_ONLY'] }),
  },
  {
    name: 'projectUsers.removeRole',
    method: 'post',
    path: `/groups/${groupId}/users/u1:removeRole`,
    version: '2025-02-19',
    body: { groupRole: 'GROUP_OWNER' },
    reply: projectUser,
    call: (c) => c.projectUsers.removeRole(groupId, 'u1', 'GROUP_OWNER'),
  },
  {
    name: 'teams.addUser',
    method: 'post',
    path: `/orgs/${orgId}/teams/t1:addUser`,
    version: '2025-02-19',
    body: { id: 'u1' },
    reply: orgUser,
    call: (c) => c.teams.addUser(orgId, 't1', 'u1'),
  },
  {
    name: 'teams.removeUser',
    method: 'post',
    path: `/orgs/${orgId}/teams/t1:removeUser`,
    version: '2025-02-19',
    body: { id: 'u1' },
    reply: orgUser,
    call: (c) => c.teams.removeUser(orgId, 't1', 'u1'),
  },
  {
    name: 'teams.listUsers',
    method: 'get',
    path: `/orgs/${orgId}/teams/t1/users`,
    version: '2025-02-19',
    reply: page([orgUser]),
    call: (c) => c.teams.listUsers(orgId, 't1'),
  },
  {
    name: 'teams.list',
    method: 'get',
    path: `/orgs/${orgId}/teams`,
    version: '2023-01-01',
    reply: page([{ id: 't1', name: 'ops' }]),
    call: (c) => c.teams.list(orgId),
  },
  {
    name: 'rateLimits.list',
    method: 'get',
    path: '/rateLimits',
    version: '2025-03-12',
    reply: page([]),
    call: (c) => c.rateLimits.list({ groupId }),
  },
  {
    name: 'identity.getServiceAccount',
    method: 'get',
    path: `/orgs/${orgId}/serviceAccounts/mdb_sa_id_1`,
    version: '2024-08-05',
    reply: { clientId: 'mdb_sa_id_1', roles: ['ORG_READ_ONLY'] },
    call: (c) => c.identity.getServiceAccount(orgId, 'mdb_sa_id_1'),
  },
];

describe('versioned media types', () => {
  it.each(cases)('$name sends Accept (and Content-Type on bodies) for $version', async (testCase) => {
    mockTokenMint();
    const media = `application/vnd.atlas.${testCase.version}+json`;
    const headers: Record<string, string> = { accept: media, 'user-agent': 'atlas-jit-connector/0.0.0-test' };
    const interceptor = nock(atlasBaseUrl, {
      reqheaders: { ...headers, authorization: 'Bearer tok-1' },
      badheaders: testCase.body ? [] : ['content-type'],
    });
    const path = `${api}${testCase.path}`;
    const matching = testCase.body
      ? interceptor.matchHeader('content-type', media)[testCase.method](path, testCase.body)
      : interceptor[testCase.method](path);
    matching.query(true).reply(testCase.status ?? 200, testCase.reply ?? '');
    const { client } = createTestClient();

    await testCase.call(client);
  });
});
