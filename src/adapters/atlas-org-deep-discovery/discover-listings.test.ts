import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AtlasClient, Page, PageOptions } from '../../atlas/index.js';
import {
  analytics,
  deepConfig,
  payments,
  platform,
  startKit,
  subIntegrations,
  type Kit,
} from '../../../test/kits/deep-discovery-test-kit.js';
import { offsetPages } from '../../../test/kits/offset-pages-test-kit.js';
import { deepDiscover } from './discover.js';

/**
 * A live listing read while Atlas changes: `itemsPerPage` items a page (default one), and the
 * items read on page 1 are deleted before page 2 is read, so page 2 starts that many items late
 * and as many items after them are skipped.
 */
function firstPageDeletedAfterRead<T>(
  items: readonly T[],
  itemsPerPage = 1,
): (page?: PageOptions) => Promise<Page<T>> {
  let live = items;
  return offsetPages(() => live, {
    itemsPerPage,
    beforeRead: (read) => {
      if (read === 2) live = items.slice(itemsPerPage);
    },
  }).list;
}

type Listing<T> = (page?: PageOptions) => Promise<Page<T>>;

/** Real listings, each one page, to build a shifted listing from. */
const realPage = <T>(list: (page: PageOptions) => Promise<Page<T>>) =>
  list({ itemsPerPage: 500 }).then((page) => page.results);

async function discoverWith(kit: Kit, atlas: AtlasClient) {
  await deepDiscover(
    { config: deepConfig({}), integration: { id: 'org-int' } },
    { ...kit.common, ...kit.credential, atlas, connectorId: 'vpc-a', reader: undefined },
    kit.ctx(),
  );
  return subIntegrations(kit.snapshots.last());
}

/** `atlas` with one project's (or one process's) listing replaced by `shifted`. */
function only<T>(
  wanted: string,
  shifted: Listing<T>,
  real: (id: string, page?: PageOptions) => Promise<Page<T>>,
) {
  return (id: string, page?: PageOptions) => (id === wanted ? shifted(page) : real(id, page));
}

describe('deep discovery: an item deleted behind the cursor while a project is read', () => {
  let kit: Kit;
  beforeEach(async () => {
    kit = await startKit();
  });
  afterEach(async () => kit.close());

  it('still reports a cluster a deletion moved up out of the project’s clusters listing', async () => {
    const { atlas } = kit.credential;
    const clusters = await realPage((page) => atlas.clusters.list(platform, page));
    expect(clusters.map((cluster) => cluster.name).slice(0, 2)).toEqual(['Peered', 'Paused']);
    const list = only(platform, firstPageDeletedAfterRead(clusters), atlas.clusters.list);

    const subs = await discoverWith(kit, { ...atlas, clusters: { ...atlas.clusters, list } });

    expect(subs.has(`${platform}:Paused`)).toBe(true);
  });

  it('still reports a flex cluster a deletion moved up out of the project’s flex listing', async () => {
    const { atlas } = kit.credential;
    const [flex0] = await realPage((page) => atlas.flexClusters.list(analytics, page));
    if (!flex0) throw new Error('fixture: analytics has Flex0');
    const gone = { ...flex0, id: '66030000000000000000f999', name: 'Flex9' };
    const list = only(analytics, firstPageDeletedAfterRead([gone, flex0]), atlas.flexClusters.list);

    const subs = await discoverWith(kit, { ...atlas, flexClusters: { ...atlas.flexClusters, list } });

    expect(subs.has(`${analytics}:Flex0`)).toBe(true);
  });

  it('still reads the databases of a cluster whose mongods a cluster deletion moved up out of the processes listing', async () => {
    const { atlas } = kit.credential;
    const processes = await realPage((page) => atlas.processes.list(platform, page));
    const of = (prefix: string) => processes.filter((p) => p.id.startsWith(`${prefix}-shard`));
    // Three a page: the system cluster's three mongods on page 1, gone with it before page 2,
    // so page 2 starts three late and skips the three of Peered, the one cluster read there.
    const ordered = [
      ...of('system'),
      ...of('peered'),
      ...processes.filter((p) => !/^(system|peered)-/.test(p.id)),
    ];
    expect(ordered.slice(0, 6).map((p) => p.id.split('-')[0])).toEqual([
      ...Array<string>(3).fill('system'),
      ...Array<string>(3).fill('peered'),
    ]);
    const list = only(platform, firstPageDeletedAfterRead(ordered, 3), atlas.processes.list);

    const subs = await discoverWith(kit, { ...atlas, processes: { ...atlas.processes, list } });

    const peered = subs.get(`${platform}:Peered`);
    expect(peered).toMatchObject({ state: 'discovered', databases: [{ name: 'peereddb' }] });
    expect(peered?.reason).toBeUndefined();
  });

  it('still reports a database a deletion moved up out of a mongod’s databases listing', async () => {
    const { atlas } = kit.credential;
    const processes = await realPage((page) => atlas.processes.list(payments, page));
    const primary = processes.find(
      (p) => p.typeName === 'REPLICA_PRIMARY' && p.id.startsWith('atlas-p4y0m3'),
    );
    if (!primary) throw new Error('fixture: Cluster0 has a primary');
    const databases = await realPage((page) => atlas.processes.listDatabases(payments, primary.id, page));
    expect(databases.map((db) => db.databaseName).slice(0, 2)).toEqual(['sales', 'inventory']);
    const shifted = firstPageDeletedAfterRead(databases);
    const listDatabases = (projectId: string, processId: string, page?: PageOptions) =>
      processId === primary.id ? shifted(page) : atlas.processes.listDatabases(projectId, processId, page);

    const subs = await discoverWith(kit, { ...atlas, processes: { ...atlas.processes, listDatabases } });

    expect(subs.get(`${payments}:Cluster0`)?.databases.map((db) => db.name)).toContain('inventory');
  });

  it('still reads collections from the newest completed backup snapshot when a deletion moved it up out of the listing', async () => {
    const { atlas } = kit.credential;
    const snapshots = await realPage((page) => atlas.backupSnapshots.list(payments, 'Cluster0', page));
    // The failed snapshot first: once retention deletes it, the completed one behind it is skipped.
    const ordered = [
      ...snapshots.filter((snapshot) => snapshot.status !== 'completed'),
      ...snapshots.filter((snapshot) => snapshot.status === 'completed'),
    ];
    expect(ordered.map((snapshot) => snapshot.status)).toEqual(['failed', 'completed']);
    const shifted = firstPageDeletedAfterRead(ordered);
    const list = (projectId: string, clusterName: string, page?: PageOptions) =>
      clusterName === 'Cluster0' ? shifted(page) : atlas.backupSnapshots.list(projectId, clusterName, page);

    const subs = await discoverWith(kit, { ...atlas, backupSnapshots: { ...atlas.backupSnapshots, list } });

    expect(subs.get(`${payments}:Cluster0`)).toMatchObject({ snapshotCreatedAt: '2026-11-30T03:00:00Z' });
  });
});
