import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resourceKeyFor, usernameFor } from '../../src/adapters/database-access/model/user-model.js';
import { DigestClient } from '../contract/digest-client.js';
import { eventually } from './daemon-process.js';
import { expectLoginRefused, expectSeparateClusterUsers, proveGrant } from './driver-login.js';
import {
  analytics,
  atlasKey,
  enrollmentToken,
  payments,
  startSandbox,
  usernameOn,
  type Sandbox,
} from './sandbox-harness.js';

interface GrantResult {
  username: string;
  password?: string;
  passwordUnchanged?: true;
  connectionString: string;
  roles: { roleName: string; databaseName: string; collectionName?: string }[];
  expiresAt: string;
  deleteAfterDate: string;
}

const person = (n: string) => ({ id: `user-${n}`, email: `${n}@example.com` });
const issuedPasswords: string[] = [];

function grantJob(
  integrationId: string,
  grantId: string,
  requester: { id: string; email: string },
  access: unknown[],
  extra: Record<string, unknown> = {},
) {
  const strategy = integrationId === 'project-per-grant' ? 'per-grant' : 'per-requester';
  const projectId = typeof extra.projectId === 'string' ? extra.projectId : payments;
  const username = usernameOn(integrationId, strategy, requester, grantId);
  return {
    username,
    job: {
      type: 'grant',
      integrationId,
      resourceKey: resourceKeyFor(projectId, username),
      payload: { grantId, requester, access, ttlSeconds: 3600, ...extra },
    },
  };
}

function revokeJob(
  integrationId: string,
  grantId: string,
  requester: { id: string; email: string },
  username: string,
  projectId = payments,
) {
  return {
    type: 'revoke',
    integrationId,
    resourceKey: resourceKeyFor(projectId, username),
    payload: { grantId, requester, ...(integrationId === 'multi' ? { projectId } : {}) },
  };
}

function succeeded(view: { state: string; result?: unknown; error?: unknown }): GrantResult {
  expect(view, JSON.stringify(view.error)).toMatchObject({ state: 'succeeded' });
  const result = view.result as GrantResult;
  if (result.password) issuedPasswords.push(result.password);
  return result;
}

describe('database access end to end (daemon + reference control plane + Atlas simulator)', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox();
    await sb.connector();
  });
  afterAll(async () => {
    // The issued passwords, the Atlas key and the enrollment token never reached a log line.
    for (const daemon of sb.daemons) {
      const output = daemon.output();
      expect(output).not.toContain(atlasKey.privateKey);
      expect(output).not.toContain(enrollmentToken);
      for (const password of issuedPasswords) expect(output).not.toContain(password);
    }
    await sb.close();
  });

  it('grants a per-requester user that can log in at once, and revoke takes the roles away', async () => {
    const alice = person('alice');
    const { username, job } = grantJob('project', 'g-alice-1', alice, [
      { cluster: 'Cluster0', role: 'readWrite', database: 'sales' },
    ]);
    const result = succeeded(await sb.run(job));
    expect(result.username).toBe(username);
    expect(result.connectionString).toBe(sb.sim.connectionString(payments, 'Cluster0'));
    expect(result.roles).toContainEqual({ roleName: 'readWrite', databaseName: 'sales' });
    await proveGrant(result, {
      reads: { db: 'sales', collection: 'orders' },
      refusedRead: { db: 'inventory', collection: 'items' },
    });
    const user = sb.sim.state.databaseUser(payments, username);
    expect(user?.deleteAfterDate).toBeDefined();
    expect(user?.scopes).toEqual([{ name: 'Cluster0', type: 'CLUSTER' }]);
    const revoked = await sb.run(revokeJob('project', 'g-alice-1', alice, username));
    expect(revoked).toMatchObject({ state: 'succeeded', result: { outcome: 'revoked' } });
    const after = sb.sim.state.databaseUser(payments, username);
    expect(after?.roles ?? []).not.toContainEqual(
      expect.objectContaining({ roleName: 'readWrite', databaseName: 'sales' }),
    );
    await expectLoginRefused(result);
  });

  it('creates a fresh user per grant and deletes it on revoke', async () => {
    const bob = person('bob');
    const { username, job } = grantJob('project-per-grant', 'g-bob-1', bob, [
      { cluster: 'Cluster0', role: 'read', database: 'inventory', collection: 'items' },
    ]);
    const result = succeeded(await sb.run(job));
    expect(result.roles).toEqual([{ roleName: 'read', databaseName: 'inventory', collectionName: 'items' }]);
    await proveGrant(result, {
      reads: { db: 'inventory', collection: 'items' },
      refusedRead: { db: 'inventory', collection: 'warehouses' },
      refusedWrite: { db: 'inventory', collection: 'items' },
    });
    await sb.run(revokeJob('project-per-grant', 'g-bob-1', bob, username));
    expect(sb.sim.state.databaseUser(payments, username)).toBeUndefined();
    await expectLoginRefused(result);
    const again = await sb.run(revokeJob('project-per-grant', 'g-bob-1', bob, username));
    expect(again).toMatchObject({ state: 'succeeded', result: { outcome: 'already_revoked' } });
  });

  it('keeps a role another active grant of the same requester still needs', async () => {
    const carol = person('carol');
    const readSales = { cluster: 'Cluster0', role: 'read', database: 'sales' };
    const first = grantJob('project', 'g-carol-1', carol, [readSales]);
    const firstResult = succeeded(await sb.run(first.job));
    await proveGrant(firstResult, {
      reads: { db: 'sales', collection: 'orders' },
      refusedWrite: { db: 'sales', collection: 'orders' },
    });
    const second = grantJob('project', 'g-carol-2', carol, [
      readSales,
      { cluster: 'Cluster0', role: 'readWrite', database: 'inventory' },
    ]);
    const secondResult = succeeded(await sb.run(second.job));
    expect(secondResult.passwordUnchanged).toBe(true);
    await sb.run(revokeJob('project', 'g-carol-2', carol, first.username));
    const roles = sb.sim.state.databaseUser(payments, first.username)?.roles;
    expect(roles).toContainEqual(expect.objectContaining({ roleName: 'read', databaseName: 'sales' }));
    expect(roles).not.toContainEqual(
      expect.objectContaining({ roleName: 'readWrite', databaseName: 'inventory' }),
    );
    // The first password still logs in, now with the one role left.
    await proveGrant(firstResult, {
      reads: { db: 'sales', collection: 'orders' },
      refusedRead: { db: 'inventory', collection: 'items' },
      roles: [{ roleName: 'read', databaseName: 'sales' }],
    });
  });

  it('converges when the same grant and revoke are delivered twice', async () => {
    const dave = person('dave');
    const { username, job } = grantJob('project', 'g-dave-1', dave, [
      { cluster: 'Cluster0', role: 'read', database: 'sales' },
    ]);
    succeeded(await sb.run(job));
    const replay = succeeded(await sb.run(job));
    expect(replay.username).toBe(username);
    expect(sb.sim.state.databaseUsers(payments).filter((u) => u.username === username)).toHaveLength(1);
    // The first delivery's result may have been lost, so the replay issues a password that works.
    await proveGrant(replay, { reads: { db: 'sales', collection: 'orders' } });
    await sb.run(revokeJob('project', 'g-dave-1', dave, username));
    const second = await sb.run(revokeJob('project', 'g-dave-1', dave, username));
    expect(second).toMatchObject({ state: 'succeeded', result: { outcome: 'already_revoked' } });
  });

  it('runs 50 concurrent grants for different requesters', async () => {
    const jobs = Array.from({ length: 50 }, (_, i) =>
      grantJob(
        'multi',
        `g-crowd-${i}`,
        person(`crowd${i}`),
        [{ cluster: 'Analytics', role: 'read', database: 'events' }],
        { projectId: analytics },
      ),
    );
    const polls = (): number =>
      Object.entries(sb.sim.stats.snapshot().byRoute)
        .filter(([route]) => route.endsWith('/clusters/{clusterName}/status'))
        .reduce((sum, [, byStatus]) => sum + Object.values(byStatus).reduce((a, b) => a + b, 0), 0);
    const pollsBefore = polls();
    const views = await Promise.all(jobs.map(({ job }) => sb.run(job, 90_000)));
    const results = views.map(succeeded);
    expect(new Set(results.map((r) => r.username)).size).toBe(50);
    // Grants waiting in one project share its status polls: far fewer polls than grants.
    const spent = polls() - pollsBefore;
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThan(25);
    for (const result of results) {
      await proveGrant(result, {
        reads: { db: 'events', collection: 'clicks' },
        refusedRead: { db: 'reports', collection: 'daily' },
      });
    }
  }, 120_000);

  it('serves an actions grant with one shared jit-r- role, and restores the role if someone widens it', async () => {
    const access = [
      { cluster: 'Cluster0', actions: ['FIND', 'INSERT'], database: 'sales', collection: 'orders' },
    ];
    const first = succeeded(await sb.run(grantJob('project', 'g-act-1', person('acta'), access).job));
    const [role] = sb.sim.state.customRoles(payments).filter((r) => r.roleName.startsWith('jit-r-'));
    expect(first.roles).toEqual([{ roleName: role?.roleName, databaseName: 'admin' }]);
    await proveGrant(first, {
      reads: { db: 'sales', collection: 'orders' },
      refusedRead: { db: 'sales', collection: 'customers' },
    });
    const admin = new DigestClient(sb.sim.url, atlasKey.publicKey, atlasKey.privateKey);
    const widened = await admin.call('PATCH', `/groups/${payments}/customDBRoles/roles/${role?.roleName}`, {
      body: {
        actions: [{ action: 'DROP_DATABASE', resources: [{ cluster: false, db: 'sales', collection: '' }] }],
      },
    });
    expect(widened.status).toBe(200);

    succeeded(await sb.run(grantJob('project', 'g-act-2', person('actb'), access).job));

    const roles = sb.sim.state.customRoles(payments).filter((r) => r.roleName.startsWith('jit-r-'));
    expect(roles).toHaveLength(1);
    expect(roles[0]?.actions.map((a) => a.action).sort()).toEqual(['FIND', 'INSERT']);
  });

  it('returns the private-endpoint connection string chosen by endpoint id', async () => {
    const { job } = grantJob('private-endpoint', 'g-pe-1', person('erin'), [
      { cluster: 'Private0', role: 'read', database: 'ledger' },
    ]);
    // The simulator serves each connection type on its own loopback listener (docs/atlas-simulator.md).
    const viaEndpoint = sb.sim.connectionString(payments, 'Private0', 'privateEndpoint');
    expect(viaEndpoint).not.toBe(sb.sim.connectionString(payments, 'Private0'));
    expect(succeeded(await sb.run(job)).connectionString).toBe(viaEndpoint);
  });

  // Two atlas-project integrations on different clusters of one project, each with its own
  // approvals: Atlas gives a user every role on every cluster it is scoped to, so the requester's
  // per-requester user is per integration cluster.
  it('keeps each atlas-project integration its own boundary: read through one, readWrite through another', async () => {
    const quinn = person('quinn');
    const read = succeeded(
      await sb.run(
        grantJob('project', 'g-quinn-read', quinn, [{ cluster: 'Cluster0', role: 'read', database: 'sales' }])
          .job,
      ),
    );
    const readWrite = succeeded(
      await sb.run(
        grantJob('private-endpoint', 'g-quinn-write', quinn, [
          { cluster: 'Private0', role: 'readWrite', database: 'sales' },
        ]).job,
      ),
    );
    expect(readWrite.username).not.toBe(read.username);
    expect(sb.sim.state.databaseUser(payments, read.username)?.scopes).toEqual([
      { name: 'Cluster0', type: 'CLUSTER' },
    ]);
    expect(sb.sim.state.databaseUser(payments, readWrite.username)?.scopes).toEqual([
      { name: 'Private0', type: 'CLUSTER' },
    ]);

    // readWrite on sales, approved through private-endpoint, is no write on Cluster0's sales.
    await expectSeparateClusterUsers(read, readWrite);
  });

  it("clamps deleteAfterDate to Atlas's 7-day limit for a longer grant", async () => {
    const { job } = grantJob(
      'project',
      'g-long-1',
      person('frank'),
      [{ cluster: 'Cluster0', role: 'read', database: 'sales' }],
      { ttlSeconds: 10 * 86_400 },
    );
    const before = Date.now();
    const result = succeeded(await sb.run(job));
    await proveGrant(result, { reads: { db: 'sales', collection: 'orders' } });
    expect(Date.parse(result.expiresAt)).toBeGreaterThanOrEqual(before + 10 * 86_400_000 - 5_000);
    const deleteAfter = Date.parse(result.deleteAfterDate);
    expect(deleteAfter).toBeLessThanOrEqual(Date.now() + 7 * 86_400_000);
    expect(deleteAfter).toBeGreaterThan(before + 6 * 86_400_000);
  });

  it('renews a grant and sweeps the project through the real job path', async () => {
    const kim = person('kim');
    const { username, job } = grantJob('project', 'g-kim-1', kim, [
      { cluster: 'Cluster0', role: 'read', database: 'sales' },
    ]);
    const granted = succeeded(await sb.run(job));
    const renewed = await sb.run({
      type: 'renew',
      integrationId: 'project',
      resourceKey: resourceKeyFor(payments, username),
      payload: { grantId: 'g-kim-1', requester: kim, ttlSeconds: 9 * 86_400 },
    });
    expect(renewed.state, JSON.stringify(renewed.error)).toBe('succeeded');
    const deleteAfter = Date.parse(sb.sim.state.databaseUser(payments, username)?.deleteAfterDate ?? '');
    expect(deleteAfter).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    await proveGrant(granted, { reads: { db: 'sales', collection: 'orders' } });
    const swept = await sb.run({
      type: 'sweep',
      integrationId: 'project',
      resourceKey: 'sweep/project',
      payload: {},
    });
    expect(swept.state, JSON.stringify(swept.error)).toBe('succeeded');
    expect(swept.result).toMatchObject({ usersChecked: expect.any(Number) });
    expect(sb.sim.state.databaseUser(payments, username)?.roles).toContainEqual(
      expect.objectContaining({ roleName: 'read', databaseName: 'sales' }),
    );
  });

  it('uploads a discovery snapshot, and skips the upload when nothing changed', async () => {
    const first = await sb.run({
      type: 'discover',
      integrationId: 'multi',
      resourceKey: 'discovery/multi',
      payload: {},
    });
    expect(first.state, JSON.stringify(first.error)).toBe('succeeded');
    expect(first.result).toMatchObject({ skipped: false, counts: { projects: 2 } });
    const records = sb.cp.store.snapshots('multi').at(-1)?.records ?? [];
    expect(records.some((r) => (r as { type?: string }).type === 'cluster')).toBe(true);
    expect(JSON.stringify(records)).not.toMatch(/password|mongodb(\+srv)?:\/\/[^"]*@/);
    const second = await sb.run({
      type: 'discover',
      integrationId: 'multi',
      resourceKey: 'discovery/multi',
      payload: {},
    });
    expect(second.result).toMatchObject({ skipped: true });
  });

  it('refuses bad inputs with a specific code and a message naming the problem', async () => {
    const grace = person('grace');
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [
        grantJob('multi', 'b1', grace, [{ cluster: 'Cluster0', role: 'read', database: 'sales' }], {
          projectId: 'not-a-project',
        }).job,
        'invalid_job',
        /projectId/,
      ],
      [
        grantJob('project', 'b2', grace, [{ cluster: 'Cluster0', role: 'atlasAdmin' }]).job,
        'policy_denied',
        /atlasAdmin/,
      ],
      [
        grantJob('project', 'b3', grace, [
          { cluster: 'Cluster0', role: 'dbAdmin', database: 'sales', collection: 'orders' },
        ]).job,
        'invalid_request',
        /collection/,
      ],
      [
        grantJob('project', 'b4', grace, [{ cluster: 'Cluster0', role: 'read', database: 'sales' }], {
          ttlSeconds: 40 * 86_400,
        }).job,
        'policy_denied',
        /TTL|ttl/,
      ],
      [
        grantJob('project', 'b5', grace, [{ cluster: 'NoSuchCluster', role: 'read', database: 'sales' }]).job,
        'invalid_request',
        /NoSuchCluster/,
      ],
    ];
    for (const [job, code, message] of cases) {
      const view = await sb.run(job as never);
      expect(view.state, JSON.stringify(view)).toBe('failed');
      expect(view.error?.code).toBe(code);
      expect(view.error?.message).toMatch(message);
    }
    for (const username of [
      usernameOn('project', 'per-requester', grace),
      usernameFor('per-requester', grace),
    ]) {
      expect(sb.sim.state.databaseUser(payments, username)).toBeUndefined();
    }
  });
});

describe('database access when things fail', () => {
  let sb: Sandbox | undefined;
  afterEach(async () => {
    await sb?.close();
    sb = undefined;
  });

  it('leaves nothing half-granted when the connector dies mid-grant and another finishes it', async () => {
    sb = await startSandbox({ leaseTtlMs: 3_000, propagationDelayMs: 4_000 });
    const victim = await sb.connector();
    const henry = person('henry');
    const { username, job } = grantJob('project', 'g-henry-1', henry, [
      { cluster: 'Cluster0', role: 'readWrite', database: 'sales' },
    ]);
    const jobId = sb.cp.store.enqueueJob(job);
    const sandbox = sb;
    await eventually(
      () => sandbox.sim.state.databaseUser(payments, username),
      20_000,
      'the user to be created',
    );
    victim.kill('SIGKILL');
    await victim.exited;
    await sb.connector();
    await eventually(
      () =>
        ['succeeded', 'failed', 'dead'].includes(sandbox.cp.store.job(jobId)?.state ?? '') ? true : undefined,
      40_000,
      'the grant to settle',
    );
    const view = sb.cp.store.job(jobId);
    expect(view?.state).toBe('succeeded');
    expect(view?.attempts).toBe(2);
    const result = view?.result as GrantResult;
    expect(sb.sim.state.databaseUsers(payments).filter((u) => u.username === username)).toHaveLength(1);
    await proveGrant(result, { reads: { db: 'sales', collection: 'orders' } });
  }, 60_000);

  it('fails a grant with quota_exceeded naming the quota when the project is full', async () => {
    sb = await startSandbox();
    await sb.connector();
    const filler = new DigestClient(sb.sim.url, atlasKey.publicKey, atlasKey.privateKey);
    for (let i = 0; i < 100; i += 1) {
      const response = await filler.call('POST', `/groups/${payments}/databaseUsers`, {
        body: {
          groupId: payments,
          username: `filler-${i}`,
          databaseName: 'admin',
          password: 'filler-password-123',
          roles: [{ roleName: 'read', databaseName: 'sales' }],
        },
      });
      expect(response.status).toBe(201);
    }
    const { job } = grantJob('project', 'g-full-1', person('lou'), [
      { cluster: 'Cluster0', role: 'read', database: 'sales' },
    ]);
    const view = await sb.run(job);
    expect(view.state).toBe('failed');
    expect(view.error?.code).toBe('quota_exceeded');
    expect(view.error?.message).toMatch(/database users/i);
  });

  it("removes the user through Atlas's deleteAfterDate even when the connector is gone", async () => {
    sb = await startSandbox();
    const daemon = await sb.connector();
    const { username, job } = grantJob(
      'project',
      'g-ivy-1',
      person('ivy'),
      [{ cluster: 'Cluster0', role: 'read', database: 'sales' }],
      { ttlSeconds: 300 },
    );
    const result = succeeded(await sb.run(job));
    await proveGrant(result, { reads: { db: 'sales', collection: 'orders' } });
    daemon.kill('SIGKILL');
    await daemon.exited;
    await sb.cp.close();
    expect(sb.sim.state.databaseUser(payments, username)).toBeDefined();
    sb.simClock.shift(301_000);
    expect(sb.sim.state.databaseUser(payments, username)).toBeUndefined();
    await expectLoginRefused(result);
  });
});
