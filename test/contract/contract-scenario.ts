import { readOnlyApiKey, sandboxIds } from '../../src/sandbox/atlas/index.js';
import { DigestClient } from './digest-client.js';
import { testServiceAccount } from './sim-harness.js';
import type { FakeClock } from '../fakes/fake-clock.js';
import type { AtlasSimulator } from '../../src/sandbox/atlas/index.js';

/**
 * A broad tour of every operation the simulator serves, success and error paths, for the contract
 * test. Calls meant to break the spec on the request side carry `x-contract-expect: bad-request`,
 * so the test can require request violations there and none anywhere else.
 */

export const badRequest = { 'x-contract-expect': 'bad-request' } as const;

const { org, payments, analytics, alice, bob, carol, oncallTeam } = sandboxIds;
const v0219 = { version: '2025-02-19' } as const;
const dayMs = 86_400_000;

export async function runScenario(
  client: DigestClient,
  sim: AtlasSimulator,
  clock: FakeClock,
): Promise<void> {
  await discovery(client);
  await clusters(client);
  await limitsAndRoles(client);
  await databaseUsers(client, clock);
  await uiUsers(client);
  await forbidden(new DigestClient(sim.url, readOnlyApiKey.publicKey, readOnlyApiKey.privateKey));
  await transportErrors(client, sim, clock);
}

async function forbidden(readOnly: DigestClient): Promise<void> {
  await readOnly.call('GET', `/groups/${analytics}/databaseUsers`);
  await readOnly.call('POST', `/groups/${payments}/customDBRoles/roles`, {
    body: {
      roleName: 'nope',
      actions: [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: '' }] }],
    },
  });
  await readOnly.call('GET', `/orgs/${org}/apiKeys`);
}

async function discovery(c: DigestClient): Promise<void> {
  for (const path of [
    '',
    '/orgs',
    `/orgs/${org}`,
    `/orgs/${org}/groups`,
    '/groups',
    `/groups/${payments}`,
    '/groups/byName/payments',
    '/groups/byName/nope',
  ]) {
    await c.call('GET', path);
  }
  await c.call('GET', `/groups/${'a'.repeat(24)}`);
  await c.call('GET', `/orgs/${org}/apiKeys`);
  const account = `/orgs/${org}/serviceAccounts/${testServiceAccount.clientId}`;
  await c.call('GET', account, { version: '2024-08-05' });
  await c.call('GET', `${account}/groups`, { version: '2024-08-05' });
  await c.call('GET', '/rateLimits', { version: '2025-03-12' });
  // The spec's own example (info.description): a later date than listOrgs declares. The request
  // names no declared version (a client must not), the answer is the 2023-01-01 one.
  await c.call('GET', '/orgs', { version: '2025-03-12', headers: badRequest });
  await c.call('GET', `/groups?itemsPerPage=1&pageNum=2&includeCount=true`);
}

async function clusters(c: DigestClient): Promise<void> {
  for (const version of ['2024-08-05', '2023-02-01', '2023-01-01']) {
    for (const group of [payments, analytics]) await c.call('GET', `/groups/${group}/clusters`, { version });
    for (const name of ['Cluster0', 'Private0'])
      await c.call('GET', `/groups/${payments}/clusters/${name}`, { version });
    await c.call('GET', `/groups/${analytics}/clusters/Analytics`, { version });
  }
  await c.call('GET', `/groups/${payments}/clusters/Nope`, { version: '2024-08-05' });
  await c.call('GET', `/groups/${payments}/clusters/Cluster0/status`);
  await c.call('GET', `/groups/${analytics}/flexClusters`, { version: '2024-11-13' });
  await c.call('GET', `/groups/${analytics}/flexClusters/Flex0`, { version: '2024-11-13' });
  await c.call('GET', `/groups/${analytics}/flexClusters/Nope`, { version: '2024-11-13' });
  for (const group of [payments, analytics]) await c.call('GET', `/groups/${group}/processes`);
  await c.call(
    'GET',
    `/groups/${payments}/processes/atlas-p4y0m3-shard-00-00.xq7ab.mongodb.net:27017/databases`,
  );
  await c.call(
    'GET',
    `/groups/${analytics}/processes/atlas-an4l7c-shard-00-00.mq2cd.mongodb.net:27016/databases`,
  );
  await c.call('GET', `/groups/${payments}/processes/nohost.example.com:27017/databases`);
  await backupSnapshots(c);
}

/** Cloud Backup snapshots and their namespace listings (deep discovery's no-network path). */
async function backupSnapshots(c: DigestClient): Promise<void> {
  const cluster0 = `/groups/${payments}/clusters/Cluster0/backup/snapshots`;
  await c.call('GET', cluster0);
  await c.call('GET', `/groups/${payments}/clusters/Private0/backup/snapshots`);
  await c.call('GET', `/groups/${analytics}/clusters/Analytics/backup/snapshots/shardedClusters`);
  const snapshot = `${cluster0}/660700000000000000000001/databases`;
  await c.call('GET', snapshot, { version: '2025-03-12' });
  await c.call('GET', `${snapshot}/sales/collections`, { version: '2025-03-12' });
  await c.call('GET', `${snapshot}/nope/collections`, { version: '2025-03-12' });
  await c.call('GET', `${cluster0}/660700000000000000000009/databases`, { version: '2025-03-12' });
}

async function limitsAndRoles(c: DigestClient): Promise<void> {
  const limits = `/groups/${payments}/limits`;
  await c.call('GET', limits);
  await c.call('GET', `${limits}/atlas.project.security.databaseAccess.users`);
  await c.call('PATCH', `${limits}/atlas.project.security.databaseAccess.customRoles`, {
    body: { value: 200 },
  });
  await c.call('PATCH', `${limits}/atlas.project.security.databaseAccess.customRoles`, {
    body: { value: 5000 },
  });
  const roles = `/groups/${payments}/customDBRoles/roles`;
  const role = {
    roleName: 'jit-read-orders',
    actions: [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: 'orders' }] }],
    inheritedRoles: [{ db: 'sales', role: 'read' }],
  };
  await c.call('POST', roles, { body: role });
  await c.call('POST', roles, { body: role });
  await c.call('POST', roles, { body: { ...role, roleName: 'bad.name' } });
  await c.call('POST', roles, { body: { ...role, roleName: 'no-perms', actions: [], inheritedRoles: [] } });
  await c.call('POST', roles, {
    body: { ...role, roleName: 'typo', actions: [{ action: 'FINDE', resources: [] }] },
    headers: badRequest,
  });
  await c.call('GET', roles);
  await c.call('GET', `${roles}/jit-read-orders`);
  await c.call('GET', `${roles}/missing`);
  await c.call('PATCH', `${roles}/jit-read-orders`, {
    body: { actions: [{ action: 'INSERT', resources: [{ cluster: false, db: 'sales', collection: '' }] }] },
  });
  await c.call('POST', roles, { body: { ...role, roleName: 'doomed' } });
  await c.call('DELETE', `${roles}/doomed`);
}

function userBody(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    groupId: payments,
    databaseName: 'admin',
    username: 'jit-contract',
    password: 'correct-horse-battery',
    roles: [
      { roleName: 'read', databaseName: 'sales', collectionName: 'orders' },
      { roleName: 'jit-read-orders', databaseName: 'admin' },
    ],
    scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
    labels: [{ key: 'jit-grant', value: 'g-42' }],
    description: 'contract test user',
    ...overrides,
  };
}

async function databaseUsers(c: DigestClient, clock: FakeClock): Promise<void> {
  const users = `/groups/${payments}/databaseUsers`;
  const deleteAfterDate = new Date(clock.now() + 2 * dayMs).toISOString();
  await c.call('POST', users, { body: userBody({ deleteAfterDate }) });
  await c.call('POST', users, { body: userBody({ deleteAfterDate }) });
  await c.call('POST', users, { body: userBody({ username: 'perm', password: 'another-long-one' }) });
  await c.call('POST', users, {
    body: userBody({ username: 'late', deleteAfterDate: new Date(clock.now() + 8 * dayMs).toISOString() }),
  });
  await c.call('POST', users, {
    body: userBody({ username: 'badrole', roles: [{ roleName: 'readAnyDatabase', databaseName: 'sales' }] }),
  });
  await c.call('POST', users, {
    body: userBody({ username: 'short', password: 'short' }),
    headers: badRequest,
  });
  await c.call('POST', users, { body: userBody({ username: 'extra', nickname: 'x' }), headers: badRequest });
  await c.call('POST', users, {
    body: userBody({ username: 'noscope', scopes: [{ name: 'Ghost', type: 'CLUSTER' }] }),
  });
  await c.call('GET', users);
  await c.call('GET', `${users}?itemsPerPage=1&pageNum=1`);
  await c.call('GET', `${users}/admin/jit-contract`);
  await c.call('GET', `${users}/admin/nobody`);
  const patch = userBody({
    deleteAfterDate: new Date(clock.now() + 6 * dayMs).toISOString(),
    roles: [{ roleName: 'readWrite', databaseName: 'inventory' }],
  });
  await c.call('PATCH', `${users}/admin/jit-contract`, { body: patch });
  await c.call('PATCH', `${users}/admin/perm`, { body: userBody({ username: 'perm', deleteAfterDate }) });
  await c.call('PATCH', `${users}/admin/perm`, { body: userBody({ username: 'renamed' }) });
  await c.call('DELETE', `${users}/admin/perm`);
  await c.call('DELETE', `${users}/admin/perm`);
  await c.call('GET', `/groups/${payments}/clusters/Cluster0/status`);
  await c.call('GET', `/groups/${payments}/events`);
}

async function uiUsers(c: DigestClient): Promise<void> {
  const orgUsers = `/orgs/${org}/users`;
  await c.call('GET', orgUsers, v0219);
  await c.call('GET', `${orgUsers}?orgMembershipStatuses=PENDING&username=carol@example.com`, v0219);
  for (const id of [alice, carol, 'f'.repeat(24)]) await c.call('GET', `${orgUsers}/${id}`, v0219);
  await c.call('POST', orgUsers, {
    ...v0219,
    body: {
      username: 'dave@example.com',
      roles: {
        orgRoles: ['ORG_MEMBER'],
        groupRoleAssignments: [{ groupId: payments, groupRoles: ['GROUP_READ_ONLY'] }],
      },
      teamIds: [oncallTeam],
    },
  });
  await c.call('POST', orgUsers, {
    ...v0219,
    body: { username: 'alice@example.com', roles: { orgRoles: ['ORG_MEMBER'] } },
  });
  await c.call('POST', `${orgUsers}/${bob}:addRole`, { ...v0219, body: { orgRole: 'ORG_READ_ONLY' } });
  await c.call('POST', `${orgUsers}/${bob}:removeRole`, { ...v0219, body: { orgRole: 'ORG_READ_ONLY' } });
  await c.call('POST', `${orgUsers}/${bob}:removeRole`, { ...v0219, body: { orgRole: 'ORG_MEMBER' } });
  await c.call('DELETE', `${orgUsers}/${carol}`, v0219);
  await projectUsersAndTeams(c);
}

async function projectUsersAndTeams(c: DigestClient): Promise<void> {
  const projectUsers = `/groups/${payments}/users`;
  await c.call('GET', projectUsers, v0219);
  await c.call('GET', `${projectUsers}?flattenTeams=true&includeOrgUsers=true`, v0219);
  await c.call('GET', `${projectUsers}/${bob}`, v0219);
  await c.call('GET', `${projectUsers}/${alice}`, v0219);
  await c.call('POST', projectUsers, {
    ...v0219,
    body: { username: 'alice@example.com', roles: ['GROUP_DATA_ACCESS_READ_ONLY'] },
  });
  await c.call('POST', projectUsers, {
    ...v0219,
    body: { username: 'erin@example.com', roles: ['GROUP_READ_ONLY'] },
  });
  await c.call('POST', `${projectUsers}/${alice}:addRole`, {
    ...v0219,
    body: { groupRole: 'GROUP_READ_ONLY' },
  });
  await c.call('POST', `${projectUsers}/${alice}:removeRole`, {
    ...v0219,
    body: { groupRole: 'GROUP_DATA_ACCESS_READ_ONLY' },
  });
  await c.call('POST', `${projectUsers}/${alice}:removeRole`, {
    ...v0219,
    body: { groupRole: 'GROUP_READ_ONLY' },
  });
  await c.call('DELETE', `${projectUsers}/${alice}`, v0219);
  await c.call('GET', `/orgs/${org}/teams`);
  await c.call('GET', `/orgs/${org}/teams/${oncallTeam}/users`, v0219);
  await c.call(
    'GET',
    `/orgs/${org}/teams/${oncallTeam}/users?username=bob%40example.com&userId=${bob}&orgMembershipStatuses=ACTIVE`,
    v0219,
  );
  await c.call('POST', `/orgs/${org}/teams/${oncallTeam}:addUser`, { ...v0219, body: { id: alice } });
  await c.call('POST', `/orgs/${org}/teams/${oncallTeam}:removeUser`, { ...v0219, body: { id: alice } });
  await c.call('GET', `/groups/${payments}/teams`);
  await c.call('GET', `/orgs/${org}/events`);
  await c.call('GET', `/groups/${payments}/events?eventType=JOINED_GROUP&itemsPerPage=5`);
}

async function transportErrors(c: DigestClient, sim: AtlasSimulator, clock: FakeClock): Promise<void> {
  await c.call('GET', '/groups', { accept: 'application/json', headers: badRequest });
  await c.call('GET', `/groups/${analytics}/flexClusters`, { version: '2023-01-01', headers: badRequest });
  const body = userBody({ username: 'typed' });
  await c.call('POST', `/groups/${payments}/databaseUsers`, {
    body,
    contentType: 'application/json',
    headers: badRequest,
  });
  sim.knobs.faults.script.push({
    operationId: 'listGroupDatabaseUsers',
    kind: 'error',
    status: 503,
    delayMs: 0,
    times: 1,
  });
  await c.call('GET', `/groups/${payments}/databaseUsers`);
  sim.knobs.rateLimit.project = { capacity: 1, refillAmount: 1, refillIntervalSeconds: 60 };
  await c.call('GET', `/groups/${analytics}/databaseUsers`);
  await c.call('GET', `/groups/${analytics}/databaseUsers`);
  await clock.advance(Date.UTC(2027, 6, 1) - clock.now());
  await c.call('GET', `/groups/${payments}/clusters`, { version: '2023-01-01' });
}
