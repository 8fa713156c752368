import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Page, PageOptions, Project } from '../../atlas/index.js';
import {
  analytics,
  deepConfig,
  org,
  payments,
  platform,
  startKit,
  subIntegrations,
  type Kit,
} from '../../../test/kits/deep-discovery-test-kit.js';
import { offsetPages } from '../../../test/kits/offset-pages-test-kit.js';
import { deepDiscover } from './discover.js';

async function discover(kit: Kit, connectorId: string, config: Record<string, unknown> = {}) {
  const result = await kit.run('discover', {}, { connectorId, config });
  return {
    result: result as { counts: Record<string, number>; skipped: boolean },
    subs: subIntegrations(kit.snapshots.last()),
  };
}

describe('deep discovery of an organization', () => {
  let kit: Kit;
  beforeEach(async () => {
    kit = await startKit();
  });
  afterEach(async () => kit.close());

  it('reports one sub-integration per customer cluster of every project, dedicated and flex', async () => {
    const { subs } = await discover(kit, 'vpc-a');

    expect([...subs.keys()].sort()).toEqual(
      [
        `${analytics}:Analytics`,
        `${analytics}:Flex0`,
        `${payments}:Cluster0`,
        `${payments}:Private0`,
        `${platform}:NoEndpoint`,
        `${platform}:Paused`,
        `${platform}:Peered`,
        `${platform}:VpcB`,
      ].sort(),
    );
  });

  it('reads a served replica set: live databases, collections from its latest completed snapshot, roles', async () => {
    const { subs } = await discover(kit, 'vpc-a');
    const cluster0 = subs.get(`${payments}:Cluster0`);

    expect(cluster0).toMatchObject({
      state: 'discovered',
      connectorId: 'vpc-a',
      connectionType: 'standard',
      clusterType: 'REPLICASET',
      owner: 'payments-team',
      collectionsFrom: 'backup-snapshot',
      snapshotCreatedAt: '2026-11-30T03:00:00Z',
      databases: [
        { name: 'inventory', collections: ['items', 'stock_levels', 'warehouses'] },
        { name: 'sales', collections: ['customers', 'invoices', 'orders'] },
      ],
    });
    expect(cluster0?.roles).toContainEqual({ name: 'readWrite', builtIn: true });
  });

  it('unions the databases of every shard of a sharded cluster', async () => {
    const { subs } = await discover(kit, 'vpc-a');
    expect(subs.get(`${analytics}:Analytics`)).toMatchObject({
      state: 'discovered',
      clusterType: 'SHARDED',
      databases: [
        { name: 'events', collections: ['clicks', 'pageviews', 'sessions'] },
        { name: 'reports', collections: ['daily', 'monthly'] },
      ],
    });
  });

  it.each([
    ['Private0', payments, 'privateEndpoint', 'Cloud Backup is off: no snapshot to list collections from'],
    [
      'Flex0',
      analytics,
      'standard',
      'flex clusters have no backup namespace listing (collectionDiscovery driver lists them)',
    ],
  ])('reports %s with what it could not read, not as a failure', async (name, project, type, reason) => {
    const { subs } = await discover(kit, 'vpc-a');
    expect(subs.get(`${project}:${name}`)).toMatchObject({ connectionType: type, reason });
  });

  it('marks a paused cluster unavailable with a reason and reads nothing from it', async () => {
    const { subs } = await discover(kit, 'vpc-a');
    expect(subs.get(`${platform}:Paused`)).toMatchObject({
      state: 'unavailable',
      paused: true,
      reason: 'cluster is paused: nothing read',
      databases: [],
    });
  });

  it('says why a flex cluster is unavailable when collections are not listed (collectionDiscovery off)', async () => {
    const { subs } = await discover(kit, 'vpc-a', { collectionDiscovery: 'off' });
    expect(subs.get(`${analytics}:Flex0`)).toMatchObject({
      state: 'unavailable',
      reason: 'flex clusters have no Admin API database listing (collectionDiscovery driver lists them)',
      databases: [],
    });
  });

  it("lists another connector's cluster with its connector id and reads nothing from it", async () => {
    const { subs } = await discover(kit, 'vpc-a');
    expect(subs.get(`${platform}:VpcB`)).toEqual(
      expect.objectContaining({ state: 'elsewhere', connectorId: 'vpc-b', databases: [], roles: [] }),
    );
    expect(kit.requested.filter((r) => r.includes('/clusters/Peered/'))).not.toEqual([]);
    expect(kit.requested.filter((r) => /VpcB|vpcb-/.test(r))).toEqual([]);
  });

  it('gives each connector exactly its own clusters to serve', async () => {
    const a = await discover(kit, 'vpc-a', { connectorId: 'vpc-a' });
    const b = await discover(kit, 'vpc-b', { connectorId: 'vpc-a' });
    const served = (subs: typeof a.subs) =>
      [...subs.values()]
        .filter((s) => s.state !== 'elsewhere')
        .map((s) => s.clusterName)
        .sort();
    expect(served(b.subs)).toEqual(['VpcB']);
    expect(served(a.subs)).not.toContain('VpcB');
    expect(served(a.subs)).toHaveLength(7);
  });

  it('reports a PrivateEndpoint cluster without its endpoint-id tag as unroutable', async () => {
    const { subs } = await discover(kit, 'vpc-a');
    expect(subs.get(`${platform}:NoEndpoint`)).toMatchObject({
      state: 'unroutable',
      reason: 'tag apono-connection-type=PrivateEndpoint needs tag apono_private_endpoint_id',
    });
  });

  it('skips Atlas system clusters and clusters being deleted', async () => {
    const { subs } = await discover(kit, 'vpc-a');
    expect([...subs.values()].map((s) => s.clusterName)).not.toEqual(expect.arrayContaining(['System']));
    expect([...subs.values()].map((s) => s.clusterName)).not.toEqual(expect.arrayContaining(['Leaving']));
  });

  it('uploads nothing new when a re-discovery finds the same organization', async () => {
    await discover(kit, 'vpc-a');
    const again = await discover(kit, 'vpc-a');
    expect(again.result.skipped).toBe(true);
  });

  it('keeps going when one project fails: that project is reported with the reason', async () => {
    kit.sim.knobs.faults.script.push({
      operationId: 'listGroupFlexClusters',
      kind: 'error',
      status: 500,
      delayMs: 0,
      times: 50,
    });
    const { result } = await discover(kit, 'vpc-a', { projectIds: [payments, platform] });
    const failures = kit.snapshots.last().filter((r) => r.type === 'project');
    expect(failures.map((f) => f.id).sort()).toEqual([payments, platform].sort());
    expect(result.counts.projectFailures).toBe(2);
  });

  describe('a reason whose error echoes a secret', () => {
    // Test-only stand-ins: a value registered with the daemon's scrubber and a URI's password.
    const registered = 'Qz9-registered-test-value';
    const uriPassword = 'uri-test-password';
    const echo = {
      error: 500,
      errorCode: 'UNEXPECTED_ERROR',
      detail: `cannot reach mongodb+srv://jit-user:${uriPassword}@cluster0.example.net with ${registered}`,
      reason: 'Internal Server Error',
    };

    it.each([
      ['a project whose clusters could not be listed', 'listGroupFlexClusters', 'project', payments],
      [
        'a cluster whose databases could not be listed',
        'listGroupProcesses',
        'subIntegration',
        `${payments}:Cluster0`,
      ],
      [
        'a cluster whose custom roles could not be read',
        'listGroupCustomDbRoleRoles',
        'subIntegration',
        `${payments}:Cluster0`,
      ],
    ])('is uploaded without either for %s', async (_name, operationId, type, id) => {
      kit.scrubber.add(registered);
      kit.sim.hooks.answerNext({ operationId, status: 500, body: echo });
      await discover(kit, 'vpc-a', { projectIds: [payments] });
      const records = kit.snapshots.last();
      const record = records.find((r) => r.type === type && r.id === id);
      expect(record?.reason).toContain('mongodb+srv://[REDACTED]@cluster0.example.net with [REDACTED]');
      expect(JSON.stringify(records)).not.toContain(registered);
      expect(JSON.stringify(records)).not.toContain(uriPassword);
    });
  });

  it('honours the project and cluster allow-lists', async () => {
    const { subs } = await discover(kit, 'vpc-a', { projectIds: [payments], clusterNames: ['Cluster0'] });
    expect([...subs.keys()]).toEqual([`${payments}:Cluster0`]);
  });
  it('walks a project once when a project created mid-listing shifts it onto the next page too', async () => {
    const { atlas } = kit.credential;
    const all = (await atlas.projects.listForOrg(org, { itemsPerPage: 500 })).results;
    // Offset pages read while a project is created ahead of the cursor: page 2 starts one early.
    const pages = [all.slice(0, 2), all.slice(1)];
    const listForOrg = (_orgId: string, page: PageOptions = {}): Promise<Page<Project>> => {
      const pageNum = page.pageNum ?? 1;
      return Promise.resolve({ results: pages[pageNum - 1] ?? [], pageNum, hasNext: pageNum < pages.length });
    };
    const result = await deepDiscover(
      { config: deepConfig({}), integration: { id: 'org-int' } },
      {
        ...kit.common,
        ...kit.credential,
        atlas: { ...atlas, projects: { listForOrg } },
        connectorId: 'vpc-a',
        reader: undefined,
      },
      kit.ctx(),
    );

    const ids = kit.snapshots.last().map((record) => record.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(result.counts.projects).toBe(all.length);
  });

  it('still reports the clusters of a project a deletion behind the cursor moved up out of the listing', async () => {
    const { atlas } = kit.credential;
    const all = (await atlas.projects.listForOrg(org, { itemsPerPage: 500 })).results;
    let live: readonly Project[] = all;
    // One project a page; the first project, read on page 1, is deleted before page 2 is read.
    const { list } = offsetPages(() => live, {
      itemsPerPage: 1,
      beforeRead: (read) => {
        if (read === 2) live = all.slice(1);
      },
    });
    const listForOrg = (_orgId: string, page?: PageOptions) => list(page);
    const [, skipped] = all;
    await deepDiscover(
      { config: deepConfig({}), integration: { id: 'org-int' } },
      {
        ...kit.common,
        ...kit.credential,
        atlas: { ...atlas, projects: { listForOrg } },
        connectorId: 'vpc-a',
        reader: undefined,
      },
      kit.ctx(),
    );

    const projects = new Set([...subIntegrations(kit.snapshots.last()).keys()].map((id) => id.split(':')[0]));
    expect(skipped && projects.has(skipped.id)).toBe(true);
  });
});
