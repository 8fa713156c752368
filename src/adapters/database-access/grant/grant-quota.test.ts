import { describe, expect, it } from 'vitest';
import {
  alice,
  harness,
  perRequesterUser,
  projectId,
  type Harness,
} from '../../../../test/kits/grant-test-kit.js';
import { resourceKeyFor } from '../model/user-model.js';

const username = perRequesterUser(alice);

const usernames = (h: Harness) => h.atlas.sim.state.databaseUsers(projectId).map((u) => u.username);

describe('users quota', () => {
  it.each([
    {
      name: 'in a full project, and no user is created',
      prepare: (h: Harness) => {
        h.atlas.setLimit(projectId, 'atlas.project.security.databaseAccess.users', 1);
        h.atlas.addUser(projectId, {
          username: 'app',
          databaseName: 'admin',
          roles: [{ roleName: 'read', databaseName: 'sales' }],
        });
      },
      usersAfter: ['app'],
    },
    {
      name: 'when Atlas refuses the create with GROUP_USERS_LIMIT_EXCEEDED',
      prepare: (h: Harness) => {
        h.atlas.failNext('databaseUsers.create', 'GROUP_USERS_LIMIT_EXCEEDED');
      },
      usersAfter: [],
    },
  ])('fails with a non-retryable quota_exceeded naming the quota $name', async ({ prepare, usersAfter }) => {
    const h = harness();
    prepare(h);

    const failure = h.grant();

    await expect(failure).rejects.toMatchObject({ code: 'quota_exceeded', retryable: false });
    await expect(failure).rejects.toThrow(
      /database users quota reached in project 5f1a2b3c4d5e6f7a8b9c0d1e: atlas\.project\.security\.databaseAccess\.users/,
    );
    expect(usernames(h)).toEqual(usersAfter);
  });
});

describe('resourceKeyFor', () => {
  it('keys the per-user lease on project and username', () => {
    expect(resourceKeyFor(projectId, username)).toBe(`${projectId}/${username}`);
  });
});

describe('grant readiness', () => {
  it('fails with a retryable not_ready when the cluster never applies, and the redelivery converges', async () => {
    // Changes take an hour to apply: the 2 s readiness bound is hit first.
    const h = harness({ readyTimeoutMs: 2_000 });
    h.atlas.setKnobs({ propagationDelayMs: 3_600_000 });

    await expect(h.grant()).rejects.toMatchObject({ code: 'not_ready', retryable: true });
    h.atlas.setKnobs({ propagationDelayMs: 0 });
    const redelivered = await h.grant();

    expect(usernames(h)).toEqual([username]);
    const creates = h.atlas.requests('createGroupDatabaseUser').filter((c) => c.status === 201);
    const updates = h.atlas.requests('updateGroupDatabaseUser').filter((c) => c.status === 200);
    const lastPassword = [...creates, ...updates]
      .map((c) => (c.requestBody as { password?: string } | undefined)?.password)
      .filter((p): p is string => p !== undefined)
      .at(-1);
    expect(redelivered).toMatchObject({ username, password: lastPassword });
  });
});
