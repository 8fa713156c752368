import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceKeyFor, usernameFor } from '../../src/adapters/database-access/model/user-model.js';
import { deepFixture, platform } from '../kits/deep-discovery-test-kit.js';
import type { SubIntegrationRecord } from '../../src/adapters/atlas-org-deep-discovery/sub-integration.js';
import { sandboxIds } from '../../src/sandbox/atlas/index.js';
import { payments, startSandbox, type Sandbox } from './sandbox-harness.js';
import { expectSeparateClusterUsers, type IssuedCredential } from './driver-login.js';

const integrationId = 'org';
const requester = { id: 'user-dora', email: 'dora@example.com' };

/** The job's lease key: a sub-integration's per-requester user is per cluster (`<projectId>:<cluster>`). */
function keyOn(subIntegrationId: string, who: { id: string; email: string } = requester): string {
  const [projectId = '', cluster] = subIntegrationId.split(':');
  return resourceKeyFor(projectId, usernameFor('per-requester', who, undefined, cluster));
}

function grantJob(subIntegrationId: string, grantId: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'grant',
    integrationId,
    resourceKey: keyOn(subIntegrationId),
    payload: {
      subIntegrationId,
      grantId,
      requester,
      access: [{ role: 'read', database: 'sales' }],
      ttlSeconds: 3600,
    },
    ...extra,
  };
}

/** The latest snapshot each connector committed for the integration, as sub-integration records. */
function reported(s: Sandbox, connectorId: string): SubIntegrationRecord[] {
  const snapshot = s.cp.store
    .snapshots(integrationId)
    .filter((view) => view.connectorId === connectorId)
    .at(-1);
  return (snapshot?.records ?? []).filter(
    (record): record is SubIntegrationRecord => (record as { type?: string }).type === 'subIntegration',
  );
}

const servedBy = (records: SubIntegrationRecord[]) =>
  records
    .filter((r) => r.state !== 'elsewhere')
    .map((r) => r.clusterName)
    .sort();

describe('atlas-org-deep-discovery end to end: two connectors, one organization', () => {
  let s: Sandbox;
  beforeAll(async () => {
    s = await startSandbox({ fixture: deepFixture() });
    s.cp.store.putIntegration({
      id: integrationId,
      kind: 'atlas-org-deep-discovery',
      config: { orgId: sandboxIds.org, connectorId: 'vpc-a' },
      secretRef: 'env://E2E_ATLAS_SECRET',
    });
    await s.connector({ CONNECTOR_ID: 'vpc-a' });
    await s.connector({ CONNECTOR_ID: 'vpc-b' });
    for (const connectorId of ['vpc-a', 'vpc-b']) {
      const job = await s.run({ type: 'discover', integrationId, connectorId });
      expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    }
  }, 60_000);
  afterAll(async () => s.close());

  it('has each connector report exactly the clusters it serves, and the others as elsewhere', () => {
    const a = reported(s, 'vpc-a');
    const b = reported(s, 'vpc-b');
    expect(servedBy(b)).toEqual(['VpcB']);
    expect(servedBy(a)).toEqual(
      ['Analytics', 'Cluster0', 'Flex0', 'NoEndpoint', 'Paused', 'Peered', 'Private0'].sort(),
    );
    expect(a.map((r) => r.id).sort()).toEqual(b.map((r) => r.id).sort());
  });

  it('reports a paused cluster and a cluster without backups, without failing discovery', () => {
    const a = new Map(reported(s, 'vpc-a').map((r) => [r.clusterName, r]));
    expect(a.get('Paused')).toMatchObject({
      state: 'unavailable',
      reason: 'cluster is paused: nothing read',
    });
    expect(a.get('Private0')).toMatchObject({
      state: 'degraded',
      reason: 'Cloud Backup is off: no snapshot to list collections from',
      databases: [{ name: 'ledger' }],
    });
    expect(a.get('Cluster0')).toMatchObject({ state: 'discovered', collectionsFrom: 'backup-snapshot' });
  });

  it('routes a sub-integration job to the connector discovery reported, which grants', async () => {
    const job = await s.run(grantJob(`${platform}:VpcB`, 'g-vpcb'));
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.connectorId).toBe('vpc-b');
    expect(job.result).toMatchObject({ connectionString: s.sim.connectionString(platform, 'VpcB') });
  });

  it('fails a job forced onto the wrong connector at once with the routing code naming the right one', async () => {
    const job = await s.run(grantJob(`${platform}:VpcB`, 'g-wrong', { connectorId: 'vpc-a' }));
    expect(job.state).toBe('failed');
    expect(job.attempts).toBe(1);
    expect(job.error).toMatchObject({ code: 'wrong_connector', retryable: false });
    expect(job.error?.message).toContain('served by connector vpc-b');
  });

  it.each([
    ['private (VPC peering)', platform, 'Peered', 'private'],
    ['private endpoint', payments, 'Private0', 'privateEndpoint'],
  ] as const)(
    'grants through the %s connection type with its own connection string, and the driver logs in through it',
    async (_type, projectId, cluster, via) => {
      const id = `${projectId}:${cluster}`;
      // A requester of their own: dora already holds a password in these projects (passwordUnchanged).
      const pia = { id: `user-pia-${via}`, email: 'pia@example.com' };
      const piaName = usernameFor('per-requester', pia, undefined, cluster);
      const job = await s.run({
        type: 'grant',
        integrationId,
        resourceKey: keyOn(id, pia),
        payload: {
          subIntegrationId: id,
          grantId: `g-${id}`,
          requester: pia,
          access: [{ role: 'read', database: 'sales' }],
          ttlSeconds: 600,
        },
      });
      expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
      expect(job.connectorId).toBe('vpc-a');
      const connectionString = s.sim.connectionString(projectId, cluster, via);
      expect(connectionString).not.toBe(s.sim.connectionString(projectId, cluster));
      expect(job.result).toMatchObject({ subIntegrationId: id, username: piaName, connectionString });
      const result = job.result as { connectionString: string; username: string; password: string };
      const client = new MongoClient(result.connectionString, {
        auth: { username: result.username, password: result.password },
        serverSelectionTimeoutMS: 5_000,
      });
      try {
        const status = await client.db('admin').command({ connectionStatus: 1 });
        expect(status['authInfo']).toMatchObject({ authenticatedUsers: [{ user: piaName, db: 'admin' }] });
      } finally {
        await client.close();
      }
    },
  );

  it('grants through the standard connection type, and the credential logs in with the driver', async () => {
    const id = `${payments}:Cluster0`;
    const erin = { id: 'user-erin', email: 'erin@example.com' };
    const job = await s.run({
      type: 'grant',
      integrationId,
      resourceKey: keyOn(id, erin),
      payload: {
        subIntegrationId: id,
        grantId: 'g-erin',
        requester: erin,
        access: [{ role: 'read', database: 'sales' }],
        ttlSeconds: 600,
      },
    });
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const result = job.result as { connectionString: string; username: string; password: string };
    expect(result.connectionString).toBe(s.sim.connectionString(payments, 'Cluster0'));
    const client = new MongoClient(result.connectionString, {
      auth: { username: result.username, password: result.password },
      serverSelectionTimeoutMS: 5_000,
    });
    try {
      const orders = await client.db('sales').collection('orders').find({}).toArray();
      expect(orders.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  it('sweeps across every sub-integration of the organization', async () => {
    const job = await s.run({ type: 'sweep', integrationId, connectorId: 'vpc-a' });
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    // One per-requester user per requester and sub-integration: dora on platform:VpcB, pia on
    // platform:Peered and another pia on payments:Private0, erin on payments:Cluster0.
    expect(job.result).toMatchObject({ projects: 3, usersChecked: 4 });
  });

  it('keeps each cluster its own boundary: read on one cluster, readWrite on another, one requester', async () => {
    const quinn = { id: 'user-quinn', email: 'quinn@example.com' };
    const grantOn = async (cluster: string, role: string) => {
      const id = `${payments}:${cluster}`;
      const job = await s.run({
        type: 'grant',
        integrationId,
        resourceKey: keyOn(id, quinn),
        payload: {
          subIntegrationId: id,
          grantId: `g-quinn-${cluster}`,
          requester: quinn,
          access: [{ role, database: 'sales' }],
          ttlSeconds: 600,
        },
      });
      expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
      return job.result as IssuedCredential;
    };
    const read = await grantOn('Cluster0', 'read');
    const readWrite = await grantOn('Private0', 'readWrite');

    // readWrite on sales, approved for Private0, is no write on Cluster0's sales.
    await expectSeparateClusterUsers(read, readWrite);
  });
});
