import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PageOptions, Project } from '../../atlas/index.js';
import { buildLabels, grantKey, type GrantedRole } from '../database-access/model/user-model.js';
import { org, payments, startKit, type Kit } from '../../../test/kits/deep-discovery-test-kit.js';
import { offsetPages } from '../../../test/kits/offset-pages-test-kit.js';

const username = 'jit-alice-example-com-5eed';
const readSales: GrantedRole = { cluster: 'Cluster0', roleName: 'read', databaseName: 'sales' };

/** Alice's user on payments:Cluster0, whose read@sales grant ended an hour ago. */
async function seedEndedGrant(kit: Kit): Promise<void> {
  const now = Date.now();
  await kit.atlas.databaseUsers.create(payments, {
    groupId: payments,
    username,
    databaseName: 'admin',
    password: 'Seeded-password-1234',
    roles: [{ roleName: 'read', databaseName: 'sales' }],
    scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
    labels: buildLabels({
      requesterId: 'alice',
      strategy: 'per-requester',
      integrationId: 'org-int',
      grants: [{ key: grantKey('g-ended'), expiresAtMs: now - 3_600_000, roles: [readSales] }],
    }),
    deleteAfterDate: new Date(now + 6 * 86_400_000).toISOString(),
  });
}

describe('an organization-wide sweep while a project is deleted', () => {
  let kit: Kit;
  beforeEach(async () => {
    kit = await startKit();
  });
  afterEach(async () => kit.close());

  it('still sweeps a project a deletion behind the cursor moved up out of the organization’s projects', async () => {
    await seedEndedGrant(kit);
    const { atlas } = kit.credential;
    const projects = (await atlas.projects.listForOrg(org, { itemsPerPage: 500 })).results;
    const [gone, ...others] = projects.filter((project) => project.id !== payments);
    const target = projects.find((project) => project.id === payments);
    if (!gone || !target) throw new Error('fixture: payments and two other projects');
    // One project a page: the one read on page 1 is deleted before page 2 is read, so page 2
    // starts one late and payments, second, is skipped.
    let live: readonly Project[] = [gone, target, ...others];
    const { list } = offsetPages(() => live, {
      itemsPerPage: 1,
      beforeRead: (read) => {
        if (read === 2) live = [target, ...others];
      },
    });
    const listForOrg = (_orgId: string, page?: PageOptions) => list(page);

    const swept = await kit.run(
      'sweep',
      {},
      {
        connectorId: 'vpc-a',
        config: { connectorId: 'vpc-a' },
        atlas: { ...atlas, projects: { ...atlas.projects, listForOrg } },
      },
    );

    expect(swept.errors).toEqual([]);
    expect(kit.sim.state.databaseUser(payments, username)?.roles ?? []).toEqual([]);
  });
});
