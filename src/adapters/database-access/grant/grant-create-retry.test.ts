import { describe, expect, it } from 'vitest';
import { alice, harness, perRequesterUser, projectId } from '../../../../test/kits/grant-test-kit.js';
import { createTries } from '../atlas-writes/user-store.js';

const username = perRequesterUser(alice);

describe('a create that failed without an answer', () => {
  it('is tried again in the same attempt, and the grant reports the one password Atlas holds', async () => {
    const h = harness();
    h.atlas.failNext('databaseUsers.create', 'SERVICE_UNAVAILABLE');

    const result = await h.grant();

    const creates = h.atlas.requests('createGroupDatabaseUser');
    expect(creates.map((c) => c.status)).toEqual([503, 201]);
    expect(h.atlas.sim.state.databaseUsers(projectId).map((u) => u.username)).toEqual([username]);
    const accepted = creates[1]?.requestBody as { password?: string } | undefined;
    expect(result.username).toBe(username);
    expect(JSON.stringify(result)).toContain(accepted?.password ?? 'no password sent');
  });

  it('waits a growing full-jitter window before each re-send', async () => {
    const h = harness();
    h.atlas.failNext('databaseUsers.create', 'SERVICE_UNAVAILABLE', 2);

    await h.grant();

    expect(h.atlas.requests('createGroupDatabaseUser').map((c) => c.status)).toEqual([503, 503, 201]);
    const waits = h.logs
      .lines()
      .filter((line) => line.msg === 'create failed without an answer; trying again, 409 converges')
      .map((line) => line.delayMs as number);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeLessThan(500);
    expect(waits[1]).toBeLessThan(1_000);
    expect(waits[1]).toBeGreaterThan(waits[0] ?? Number.POSITIVE_INFINITY);
  });

  it(`gives up after ${createTries} tries with the upstream error, for the next attempt to converge`, async () => {
    const h = harness();
    h.atlas.failNext('databaseUsers.create', 'SERVICE_UNAVAILABLE', createTries);

    await expect(h.grant()).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(h.atlas.requests('createGroupDatabaseUser')).toHaveLength(createTries);
    expect(h.atlas.sim.state.databaseUsers(projectId)).toEqual([]);
  });

  it('is not tried again when Atlas refused it for a reason (400)', async () => {
    const h = harness();
    h.atlas.failNext('databaseUsers.create', 'INVALID_ATTRIBUTE');

    await expect(h.grant()).rejects.toMatchObject({ code: 'invalid_request' });
    expect(h.atlas.requests('createGroupDatabaseUser')).toHaveLength(1);
  });
});
