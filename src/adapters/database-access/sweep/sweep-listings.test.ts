import { describe, expect, it } from 'vitest';
import type { DatabaseUser, PageOptions, Project } from '../../../atlas/index.js';
import {
  harness,
  hourMs,
  managedUser,
  multiProjectJob,
  projectA,
  projectB,
  readSales,
  testConfig,
  testPolicy,
  type Harness,
} from '../../../../test/kits/discover-test-kit.js';
import { firstDeletedAfterPageOne } from '../../../../test/kits/offset-pages-test-kit.js';
import type { SweepAtlas } from './sweep-env.js';
import { sweep } from './sweep.js';

const alice = 'jit-alice-example-com-3f9a';
const projectC = '6602000000000000000000c3';

/** Alice's user in `projectId`, whose read@sales grant ended an hour ago. */
function seedEndedGrant(h: Harness, projectId: string): void {
  const now = h.clock.now();
  h.atlas.addUser(
    projectId,
    managedUser({ grants: [{ id: 'g-ended', expiresAtMs: now - hourMs, roles: [readSales] }] }, now),
  );
}

const run = async (h: Harness, atlas: SweepAtlas) =>
  sweep(await multiProjectJob(testConfig(), {}), { atlas, clock: h.clock, policy: testPolicy() }, h.ctx);

describe('sweep: an item deleted behind the cursor while a listing is read', () => {
  it('still ends the expired access of a user a deletion moved up out of the project’s users', async () => {
    const h = harness();
    h.atlas.addProject(projectA);
    h.atlas.addCluster(projectA, { name: 'Cluster0' });
    const now = h.clock.now();
    const bob = managedUser({ username: 'jit-bob-example-com-77aa', grants: [] }, now);
    const carol = managedUser({ username: 'jit-carol-example-com-88bb', grants: [] }, now);
    h.atlas.addUser(projectA, bob).addUser(projectA, carol);
    seedEndedGrant(h, projectA);
    await h.atlas.start();
    // Bob, read on page 1, is deleted (a racing revoke) before page 2: alice, second, is skipped.
    const byName = new Map(h.atlas.usersIn(projectA).map((user) => [user.username, user]));
    const ordered = [bob.username, alice, carol.username].map((name) => byName.get(name));
    const list = firstDeletedAfterPageOne(ordered.filter((user): user is DatabaseUser => user !== undefined));
    const { client } = h.atlas;
    const atlas = {
      ...client,
      databaseUsers: { ...client.databaseUsers, list: (_id: string, page?: PageOptions) => list(page) },
    };

    const result = await run(h, atlas);

    expect(result.errors).toEqual([]);
    expect(h.atlas.user(projectA, alice)?.roles ?? []).toEqual([]);
  });

  it('still sweeps a project a deletion moved up out of the key’s projects', async () => {
    const h = harness();
    for (const id of [projectA, projectB, projectC])
      h.atlas.addProject(id).addCluster(id, { name: 'Cluster0' });
    seedEndedGrant(h, projectB);
    const { client } = h.atlas;
    const projects = (await client.projects.list({ itemsPerPage: 500 })).results;
    const byId = (id: string) => projects.find((project) => project.id === id);
    // Project A, read on page 1, is deleted before page 2: project B, second, is skipped.
    const ordered = [projectA, projectB, projectC].map(byId);
    const list = firstDeletedAfterPageOne(ordered.filter((p): p is Project => p !== undefined));
    const atlas = { ...client, projects: { ...client.projects, list } };

    const result = await run(h, atlas);

    expect(result.errors).toEqual([]);
    expect(h.atlas.user(projectB, alice)?.roles ?? []).toEqual([]);
  });
});
