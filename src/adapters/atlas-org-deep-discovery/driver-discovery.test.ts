import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../errors/connector-error.js';
import { createMongoNamespaceReader } from '../../runtime/mongodb-namespace-reader.js';
import {
  analytics,
  payments,
  platform,
  startKit,
  subIntegrations,
  type Kit,
} from '../../../test/kits/deep-discovery-test-kit.js';
import { discoveryUserTtlMs } from './discovery-user.js';
import type { NamespaceReader } from './namespace-reader.js';

interface Login {
  readonly connectionString: string;
  readonly username: string;
  readonly password: string;
  readonly applied: boolean;
  readonly user: unknown;
}

/**
 * A driver port that, like the real driver against Atlas, can only log in once the user exists
 * and the project is APPLIED; it records what it saw at login time.
 */
function recordingReader(kit: Kit, logins: Login[]): NamespaceReader {
  return {
    listNamespaces: async (input) => {
      const projectId = kit.sim.state.databaseUser(payments, input.username) ? payments : platform;
      const user = kit.sim.state.databaseUser(projectId, input.username);
      const applied = kit.sim.state.changeStatus(projectId) === 'APPLIED';
      logins.push({ ...input, applied, user });
      if (!kit.sim.state.checkPassword(projectId, input.username, input.password))
        throw new Error('auth failed');
      return [{ name: 'live', collections: ['c1', 'c2'] }];
    },
  };
}

async function discoverWithDriver(kit: Kit, reader: NamespaceReader) {
  const config = { collectionDiscovery: 'driver', projectIds: [payments], clusterNames: ['Cluster0'] };
  const started = Date.now();
  await kit.run('discover', {}, { reader, config });
  return { started, finished: Date.now(), subs: subIntegrations(kit.snapshots.last()) };
}

describe('collection discovery by driver', () => {
  let kit: Kit;
  beforeEach(async () => {
    kit = await startKit();
  });
  afterEach(async () => kit.close());

  it('logs in as a short-lived readAnyDatabase user scoped to the one cluster, once APPLIED', async () => {
    const logins: Login[] = [];
    const { started, finished, subs } = await discoverWithDriver(kit, recordingReader(kit, logins));

    expect(logins).toHaveLength(1);
    const [login] = logins;
    expect(login?.connectionString).toBe(kit.sim.connectionString(payments, 'Cluster0'));
    expect(login?.applied).toBe(true);
    expect(login?.user).toMatchObject({
      roles: [{ roleName: 'readAnyDatabase', databaseName: 'admin' }],
      scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
      labels: expect.arrayContaining([
        { key: 'managed-by', value: 'atlas-jit-connector' },
        { key: 'jit-purpose', value: 'discovery' },
      ]),
    });
    const deleteAfter = Date.parse(String((login?.user as { deleteAfterDate?: string }).deleteAfterDate));
    // The run's own start and end bracket the creation (the date is kept to the second).
    expect(deleteAfter).toBeLessThanOrEqual(finished + discoveryUserTtlMs);
    expect(deleteAfter).toBeGreaterThan(started - 1_000 + discoveryUserTtlMs);
    expect(subs.get(`${payments}:Cluster0`)).toMatchObject({
      state: 'discovered',
      collectionsFrom: 'driver',
      databases: [{ name: 'live', collections: ['c1', 'c2'] }],
    });
  });

  it('deletes the discovery user afterwards, also when the listing fails', async () => {
    const logins: Login[] = [];
    await discoverWithDriver(kit, recordingReader(kit, logins));
    const failing: NamespaceReader = {
      listNamespaces: async (input) => {
        logins.push({ ...input, applied: true, user: undefined });
        throw new ConnectorError({ code: 'upstream_unavailable', message: 'cluster unreachable' });
      },
    };
    const { subs } = await discoverWithDriver(kit, failing);

    expect(logins.map((l) => l.username)).toHaveLength(2);
    for (const { username } of logins) expect(kit.sim.state.databaseUser(payments, username)).toBeUndefined();
    expect(subs.get(`${payments}:Cluster0`)).toMatchObject({
      state: 'degraded',
      reason: 'collections could not be listed (driver): cluster unreachable',
    });
  });

  it('deletes the discovery user whose create reached Atlas though its answer was lost', async () => {
    kit.sim.knobs.faults.script.push({
      operationId: 'createGroupDatabaseUser',
      kind: 'resetAfterCommit',
      status: 500,
      delayMs: 0,
      times: 1,
    });
    const logins: Login[] = [];
    const { subs } = await discoverWithDriver(kit, recordingReader(kit, logins));

    const leftovers = kit.sim.state
      .databaseUsers(payments)
      .filter((u) => u.username.startsWith('jit-discovery-'));
    expect(kit.requested.filter((r) => r.includes('/databaseUsers'))).toEqual([
      expect.stringMatching(/^POST /),
      expect.stringMatching(/^DELETE .*\/admin\/jit-discovery-/),
    ]);
    expect(leftovers).toEqual([]);
    expect(logins).toEqual([]);
    expect(subs.get(`${payments}:Cluster0`)).toMatchObject({
      state: 'degraded',
      reason: expect.stringMatching(/^collections could not be listed \(driver\): /),
    });
  });

  it('keeps its worker slot while it waits for a discovery user: the walk goes on after the wait', async () => {
    const logins: Login[] = [];
    let released = 0;
    await kit.run(
      'discover',
      {},
      {
        reader: recordingReader(kit, logins),
        config: { collectionDiscovery: 'driver', projectIds: [payments], clusterNames: ['Cluster0'] },
        releaseSlot: () => (released += 1),
      },
    );

    expect(logins).toHaveLength(1);
    expect(released).toBe(0);
  });

  it('keeps at most discoveryConcurrency discovery users and driver sessions at once, across projects', async () => {
    let listing = 0;
    const seen: { listing: number; users: number }[] = [];
    const discoveryUsers = () =>
      [payments, analytics, platform]
        .flatMap((projectId) => kit.sim.state.databaseUsers(projectId))
        .filter((user) => user.username.startsWith('jit-discovery-')).length;
    const reader: NamespaceReader = {
      listNamespaces: async () => {
        listing += 1;
        seen.push({ listing, users: discoveryUsers() });
        // Let any other cluster's session of the walk start meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 100));
        listing -= 1;
        return [{ name: 'live', collections: ['c1'] }];
      },
    };
    await kit.run(
      'discover',
      {},
      { reader, config: { collectionDiscovery: 'driver', discoveryConcurrency: 1 } },
    );

    // Five served clusters in three projects, walked two projects at a time.
    expect(seen).toHaveLength(5);
    expect(seen).toEqual(seen.map(() => ({ listing: 1, users: 1 })));
    expect(discoveryUsers()).toBe(0);
  });

  // A sweep of the project while a discovery user exists (mid-discovery, or one a crash left to
  // its deleteAfterDate) must not take it for a person's user with broken labels.
  it('a sweep while a discovery user exists neither reports it as malformed nor touches it', async () => {
    const sweeps: Record<string, unknown>[] = [];
    const logins: Login[] = [];
    const recording = recordingReader(kit, logins);
    const reader: NamespaceReader = {
      listNamespaces: async (input) => {
        sweeps.push(await kit.run('sweep', { subIntegrationId: `${payments}:Cluster0` }));
        return recording.listNamespaces(input);
      },
    };
    const { subs } = await discoverWithDriver(kit, reader);

    expect(sweeps).toHaveLength(1);
    expect(sweeps[0]).toMatchObject({ usersDeleted: [], drift: { malformed: [] } });
    expect(logins).toHaveLength(1);
    expect(subs.get(`${payments}:Cluster0`)).toMatchObject({
      state: 'discovered',
      collectionsFrom: 'driver',
    });
  });

  it('never logs the discovery password: it is registered as a secret before use', async () => {
    const logins: Login[] = [];
    await discoverWithDriver(kit, recordingReader(kit, logins));
    expect(kit.secrets).toContain(logins[0]?.password);
  });

  it('lists databases and collections live through the real driver, then removes the user', async () => {
    const reader = createMongoNamespaceReader({ appName: 'deep-discovery-test' });
    const { subs } = await discoverWithDriver(kit, reader);

    expect(subs.get(`${payments}:Cluster0`)).toMatchObject({
      state: 'discovered',
      collectionsFrom: 'driver',
      databases: [
        { name: 'inventory', collections: ['items', 'stock_levels', 'warehouses'] },
        { name: 'sales', collections: ['customers', 'invoices', 'orders'] },
      ],
    });
    const leftovers = kit.sim.state
      .databaseUsers(payments)
      .filter((u) => u.username.startsWith('jit-discovery-'));
    expect(leftovers).toEqual([]);
  });
});
