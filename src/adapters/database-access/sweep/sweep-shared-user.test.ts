import { describe, expect, it } from 'vitest';
import {
  alice,
  dayMs,
  harness,
  integrationId,
  otherProjectId,
  perRequesterUser,
  projectId,
  type Harness,
} from '../../../../test/kits/grant-test-kit.js';
import { buildLabels, grantKey, integrationKey, readGrants } from '../model/user-model.js';

/**
 * One per-requester user may carry grants of several integrations: two `atlas-multi-project`
 * integrations on one project share a user per requester (an `atlas-project` and a deep-discovery
 * sub-integration on one cluster likewise), while its `jit-integration` label names only the
 * integration that wrote it last. Each sweep rolls `deleteAfterDate` for its own integration's
 * grants and adds back nothing another integration's grant needs.
 */

const other = 'int-2';
const username = perRequesterUser(alice, 'atlas-multi-project');
const readSales = { roleName: 'read', databaseName: 'sales' };
const writeHr = { roleName: 'readWrite', databaseName: 'hr' };
const hrAccess = [{ cluster: 'Cluster0', role: 'readWrite', database: 'hr' }];
const days = (n: number) => (n * dayMs) / 1000;

function twoIntegrations() {
  const h = harness({ kind: 'atlas-multi-project', config: { projectIds: [projectId] } });
  return { h, second: h.through(other, {}) };
}

const userOf = (h: Harness) => h.atlas.user(projectId, username);

/** A role taken off the user by hand (drift), everything else as it is. */
function removeByHand(h: Harness, roleName: string): void {
  const user = userOf(h);
  if (!user) throw new Error('no user');
  h.atlas.addUser(projectId, { ...user, roles: user.roles.filter((role) => role.roleName !== roleName) });
}

describe('a per-requester user shared by two integrations', () => {
  it('keeps living for this integration’s long grant although another integration wrote it last and never sweeps', async () => {
    const { h, second } = twoIntegrations();
    await h.grant({ projectId, grantId: 'g-1', ttlSeconds: days(20) });
    await second.grant({ projectId, grantId: 'g-2', ttlSeconds: days(20), access: hrAccess });
    removeByHand(h, 'readWrite');

    for (let day = 1; day <= 10; day += 1) {
      await h.clock.advance(dayMs);
      const result = await h.sweep({ projectId });
      expect(result.errors).toEqual([]);
    }

    // Alive past the 7 days its first deleteAfterDate allowed; the other's role is not put back.
    expect(userOf(h)?.roles).toEqual([readSales]);
    expect(Date.parse(userOf(h)?.deleteAfterDate ?? '')).toBeGreaterThan(h.clock.now() + 5 * dayMs);
    const byKey = new Map(readGrants(userOf(h)?.labels ?? []).map((grant) => [grant.key, grant]));
    expect(byKey.get(grantKey('g-1'))?.integration).toBe(integrationKey(integrationId));
    expect(byKey.get(grantKey('g-2'))?.integration).toBe(integrationKey(other));
  });

  it('ends, and neither keeps alive nor repairs, a grant whose integration stopped allowing the project', async () => {
    const { h, second } = twoIntegrations();
    await h.grant({ projectId, grantId: 'g-1', ttlSeconds: days(20) });
    await second.grant({ projectId, grantId: 'g-2', ttlSeconds: days(20), access: hrAccess });
    await second.revoke({ projectId, grantId: 'g-2' });
    // The user is now written last by the second integration but holds only the first one's grant,
    // and the first integration no longer allows the project.
    removeByHand(h, 'read');
    const narrowed = h.through(integrationId, { projectIds: [otherProjectId] });

    const rolled: unknown[] = [];
    const repaired: unknown[] = [];
    const ended: unknown[] = [];
    for (let day = 1; day <= 8; day += 1) {
      await h.clock.advance(dayMs);
      for (const result of [await second.sweep({ projectId }), await narrowed.sweep()]) {
        rolled.push(...result.deleteAfterRolled);
        repaired.push(...result.drift.repaired);
        ended.push(...result.grantsEnded);
        expect(result.errors).toEqual([]);
      }
      expect(userOf(h)?.roles ?? []).toEqual([]);
      // Its 20-day grant was ended by the first sweep after the narrowing, its record dropped.
      expect(readGrants(userOf(h)?.labels ?? [])).toEqual([]);
    }

    expect(ended).toEqual([{ projectId, username, grants: [grantKey('g-1')] }]);
    expect(rolled).toEqual([]);
    expect(repaired).toEqual([]);
    // Parked, then deleted once idle for userCleanupDays.
    expect(userOf(h)).toBeUndefined();
    await expect(narrowed.revoke({ projectId, grantId: 'g-1' })).resolves.toMatchObject({
      outcome: 'already_revoked',
    });
  });

  // The shared-user window: the first integration's sweep rolls the user for its long grant, so
  // the second's grant, refused by its narrowed configuration, would keep its role for 20 days.
  it('ends this integration’s active grant its configuration no longer allows while another integration keeps the user alive', async () => {
    const { h, second } = twoIntegrations();
    await h.grant({ projectId, grantId: 'g-1', ttlSeconds: days(20) });
    await second.grant({ projectId, grantId: 'g-2', ttlSeconds: days(20), access: hrAccess });
    const narrowed = h.through(other, { projectIds: [otherProjectId] });

    await h.clock.advance(dayMs);
    const result = await narrowed.sweep();

    expect(userOf(h)?.roles).toEqual([readSales]);
    expect(result.grantsEnded).toEqual([{ projectId, username, grants: [grantKey('g-2')] }]);
    expect(result.rolesRemoved).toEqual([{ projectId, username, roles: ['readWrite@hr'] }]);
    expect(result.deleteAfterRolled).toEqual([]);
    expect(readGrants(userOf(h)?.labels ?? []).map((grant) => grant.key)).toEqual([grantKey('g-1')]);
    // The first integration keeps its own grant alive, and gives nothing of the ended one back.
    for (let day = 2; day <= 10; day += 1) {
      await h.clock.advance(dayMs);
      expect((await h.sweep({ projectId })).errors).toEqual([]);
      expect((await narrowed.sweep()).grantsEnded).toEqual([]);
    }
    expect(userOf(h)?.roles).toEqual([readSales]);
    await expect(h.grant({ projectId, grantId: 'g-3', ttlSeconds: 3600 })).resolves.toMatchObject({
      roles: [readSales],
    });
    expect(userOf(h)?.roles).toEqual([readSales]);
    // Its revoke finds nothing left to take away.
    await expect(narrowed.revoke({ projectId, grantId: 'g-2' })).resolves.toMatchObject({
      outcome: 'already_revoked',
    });
  });

  // Alone on its user the refused grant is ended the same way: it is no longer left its roles
  // until the user's deleteAfterDate (up to 7 days after the narrowing).
  it('ends this integration’s refused active grant alone on its user at the next sweep too', async () => {
    const { h } = twoIntegrations();
    await h.grant({ projectId, grantId: 'g-1', ttlSeconds: days(20) });
    const deleteAfterDate = userOf(h)?.deleteAfterDate;
    const narrowed = h.through(integrationId, { projectIds: [otherProjectId] });

    await h.clock.advance(3600 * 1000);
    const result = await narrowed.sweep();

    expect(result.errors).toEqual([]);
    expect(result.grantsEnded).toEqual([{ projectId, username, grants: [grantKey('g-1')] }]);
    expect(result.rolesRemoved).toEqual([{ projectId, username, roles: ['read@sales'] }]);
    expect(result.deleteAfterRolled).toEqual([]);
    expect(userOf(h)?.roles).toEqual([]);
    expect(userOf(h)?.scopes).toEqual([{ name: 'Cluster0', type: 'CLUSTER' }]);
    expect(userOf(h)?.deleteAfterDate).toBe(deleteAfterDate);
    expect(readGrants(userOf(h)?.labels ?? [])).toEqual([]);
    await expect(narrowed.revoke({ projectId, grantId: 'g-1' })).resolves.toMatchObject({
      outcome: 'already_revoked',
    });
    // Parked until userCleanupDays (1) after the end, then deleted by the sweep.
    await h.clock.advance(dayMs);
    const later = await narrowed.sweep();
    expect(later.usersDeleted).toEqual([{ projectId, username, reason: 'idle' }]);
    expect(later.drift.outsideScope).toEqual([]);
    expect(userOf(h)).toBeUndefined();
  });

  it('outside the scope, this integration still takes its ended grant off a user another integration wrote last', async () => {
    const { h, second } = twoIntegrations();
    await h.grant({ projectId, grantId: 'g-1', ttlSeconds: 3600 });
    await second.grant({ projectId, grantId: 'g-2', ttlSeconds: days(20), access: hrAccess });
    // The second integration is deleted (it never sweeps again), the first stops allowing the project.
    const narrowed = h.through(integrationId, { projectIds: [otherProjectId] });

    await h.clock.advance(2 * 3600 * 1000);
    const result = await narrowed.sweep();

    expect(userOf(h)?.roles).toEqual([writeHr]);
    expect(result.rolesRemoved).toEqual([{ projectId, username, roles: ['read@sales'] }]);
    expect(result.deleteAfterRolled).toEqual([]);
    expect(result.projectsOutsideScope).toBe(1);
  });

  it('is repaired by this integration once only its grants are left on it', async () => {
    const { h, second } = twoIntegrations();
    await h.grant({ projectId, grantId: 'g-1', ttlSeconds: days(20) });
    await second.grant({ projectId, grantId: 'g-2', ttlSeconds: days(2), access: hrAccess });
    removeByHand(h, 'read');

    await h.clock.advance(dayMs);
    const shared = await h.sweep({ projectId });
    expect(userOf(h)?.roles).toEqual([writeHr]);
    expect(shared.drift.outsideScope).toEqual([
      expect.objectContaining({ username, missingRoles: ['read@sales'] }),
    ]);

    // The second integration's grant ends; its sweep takes its role and record away.
    await h.clock.advance(2 * dayMs);
    await second.sweep({ projectId });
    expect(userOf(h)?.roles).toEqual([]);
    const alone = await h.sweep({ projectId });
    expect(userOf(h)?.roles).toEqual([readSales]);
    expect(alone.drift.repaired).toEqual([
      expect.objectContaining({ username, missingRoles: ['read@sales'] }),
    ]);
  });

  it('a grant through another integration names the earlier grants’ integration on their records', async () => {
    const { h, second } = twoIntegrations();
    const now = h.clock.now();
    // Written before grant records named their integration: the label names the first one.
    h.atlas.addUser(projectId, {
      username,
      databaseName: 'admin',
      roles: [readSales],
      scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
      deleteAfterDate: new Date(now + 2 * dayMs).toISOString(),
      labels: buildLabels({
        requesterId: alice.id,
        strategy: 'per-requester',
        integrationId,
        grants: [
          {
            key: grantKey('g-1'),
            expiresAtMs: now + 20 * dayMs,
            roles: [{ cluster: 'Cluster0', ...readSales }],
          },
        ],
      }),
    });
    await second.grant({ projectId, grantId: 'g-2', ttlSeconds: days(1), access: hrAccess });

    const byKey = new Map(readGrants(userOf(h)?.labels ?? []).map((grant) => [grant.key, grant]));
    expect(byKey.get(grantKey('g-1'))?.integration).toBe(integrationKey(integrationId));
    expect(byKey.get(grantKey('g-2'))?.integration).toBe(integrationKey(other));
    await h.clock.advance(3 * dayMs);
    const result = await h.sweep({ projectId });
    expect(result.deleteAfterRolled).toEqual([expect.objectContaining({ username })]);
  });
});
