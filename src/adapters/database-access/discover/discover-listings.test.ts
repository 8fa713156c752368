import { describe, expect, it } from 'vitest';
import type { DatabaseUser, PageOptions } from '../../../atlas/index.js';
import type { SnapshotUpload } from '../../snapshot-uploader.js';
import { seedProjectA } from '../../../../test/kits/discover-seed-test-kit.js';
import {
  fakeSnapshots,
  harness,
  multiProjectJob,
  projectA,
  testConfig,
  testPolicy,
  type Harness,
} from '../../../../test/kits/discover-test-kit.js';
import { firstDeletedAfterPageOne } from '../../../../test/kits/offset-pages-test-kit.js';
import { discover, type DiscoverAtlas } from './discover.js';

/** `names` first, in that order, then the rest as listed. */
function orderedBy<T>(items: readonly T[], nameOf: (item: T) => string, names: readonly string[]): T[] {
  const first = names.flatMap((name) => items.filter((item) => nameOf(item) === name));
  if (first.length !== names.length) throw new Error(`fixture: ${names.join(', ')} listed`);
  return [...first, ...items.filter((item) => !names.includes(nameOf(item)))];
}

async function setup(): Promise<Harness> {
  const h = harness(11);
  seedProjectA(h.atlas, h.clock.now());
  await h.atlas.start();
  return h;
}

/** Discovery of project A with `atlas`; the records of one type it reported. */
async function discovered(h: Harness, atlas: DiscoverAtlas, type: string) {
  const uploads: SnapshotUpload[] = [];
  const snapshots = fakeSnapshots();
  const uploader = { upload: (s: SnapshotUpload) => (uploads.push(s), snapshots.uploader.upload(s)) };
  const config = testConfig({ projectIds: [projectA] });
  await discover(
    await multiProjectJob(config, {}),
    { atlas, clock: h.clock, policy: testPolicy(), snapshots: uploader },
    h.ctx,
  );
  return (uploads[0]?.records ?? []).filter(
    (record): record is { type: string; name?: string; username?: string } =>
      typeof record === 'object' && record !== null && 'type' in record && record.type === type,
  );
}

describe('discover: an item deleted behind the cursor while a project is read', () => {
  it('still reports a cluster a deletion moved up out of the project’s clusters listing', async () => {
    const h = await setup();
    const { client } = h.atlas;
    const clusters = (await client.clusters.list(projectA, { itemsPerPage: 500 })).results;
    const shifted = firstDeletedAfterPageOne(orderedBy(clusters, (c) => c.name, ['Cluster0', 'Private0']));
    const list = (_id: string, page?: PageOptions) => shifted(page);

    const records = await discovered(h, { ...client, clusters: { list } }, 'cluster');

    expect(records.map((record) => record.name)).toContain('Private0');
  });

  it('still reports a database a deletion moved up out of a mongod’s databases listing', async () => {
    const h = await setup();
    const { client } = h.atlas;
    const processes = (await client.processes.list(projectA, { itemsPerPage: 500 })).results;
    const primary = processes.find((p) => p.id.startsWith('atlas-p4y-shard-00-00'));
    if (!primary) throw new Error('fixture: Cluster0 has a primary');
    const names = (await client.processes.listDatabases(projectA, primary.id, { itemsPerPage: 500 })).results;
    const shifted = firstDeletedAfterPageOne(orderedBy(names, (d) => d.databaseName, ['sales', 'inventory']));
    const listDatabases = (projectId: string, processId: string, page?: PageOptions) =>
      processId === primary.id ? shifted(page) : client.processes.listDatabases(projectId, processId, page);

    const records = await discovered(
      h,
      { ...client, processes: { ...client.processes, listDatabases } },
      'database',
    );

    expect(records.map((record) => record.name)).toContain('inventory');
  });

  it('still reports a managed user a deletion moved up out of the project’s users listing', async () => {
    const h = await setup();
    const { client } = h.atlas;
    const users = h.atlas.usersIn(projectA);
    const managed = users.find((user) => user.username.startsWith('jit-'));
    if (!managed) throw new Error('fixture: project A has a managed user');
    // The unmanaged app user first: once it is deleted, the managed user behind it is skipped.
    const ordered = orderedBy<DatabaseUser>(users, (u) => u.username, ['app-service', managed.username]);
    const shifted = firstDeletedAfterPageOne(ordered);
    const list = (_id: string, page?: PageOptions) => shifted(page);

    const records = await discovered(h, { ...client, databaseUsers: { list } }, 'managedUser');

    expect(records.map((record) => record.username)).toEqual([managed.username]);
  });
});
