import { afterEach, describe, expect, it } from 'vitest';
import { alice, projectId } from '../../../../test/kits/grant-test-kit.js';
import {
  settleWith,
  simHarness,
  startSimAtlas,
  type SimAtlas,
  type SimHarness,
} from '../../../../test/kits/atlas-sim-test-kit.js';
import { resourceKeyFor, usernameFor } from '../model/user-model.js';

const username = usernameFor('per-requester', alice);
const open: SimAtlas[] = [];

async function setup(options: Parameters<typeof simHarness>[1] = {}, knobs = {}) {
  const atlas = await startSimAtlas({ knobs });
  open.push(atlas);
  return simHarness(atlas, options);
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((a) => a.close()));
});

const usernames = (h: SimHarness) => h.atlas.sim.state.databaseUsers(projectId).map((u) => u.username);

describe('users quota', () => {
  it.each([
    {
      name: 'in a full project, and no user is created',
      prepare: async (h: SimHarness) => {
        const { client } = h.atlas;
        const usersLimit = 'atlas.project.security.databaseAccess.users';
        await settleWith(h.atlas, client.projectLimits.set(projectId, usersLimit, 1));
        await settleWith(
          h.atlas,
          client.databaseUsers.create(projectId, {
            groupId: projectId,
            username: 'app',
            databaseName: 'admin',
            password: 'app-password-0123456789',
            roles: [{ roleName: 'read', databaseName: 'sales' }],
          }),
        );
      },
      usersAfter: ['app'],
    },
    {
      name: 'when Atlas refuses the create with GROUP_USERS_LIMIT_EXCEEDED',
      prepare: (h: SimHarness) => {
        h.atlas.failNext({ operationId: 'createGroupDatabaseUser' }, 'GROUP_USERS_LIMIT_EXCEEDED');
        return Promise.resolve();
      },
      usersAfter: [],
    },
  ])('fails with a non-retryable quota_exceeded naming the quota $name', async ({ prepare, usersAfter }) => {
    const h = await setup();
    await prepare(h);

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
    const h = await setup({ readyTimeoutMs: 2_000 }, { propagationDelayMs: 3_600_000 });

    await expect(h.grant()).rejects.toMatchObject({ code: 'not_ready', retryable: true });
    h.atlas.sim.knobs.propagationDelayMs = 0;
    const redelivered = await h.grant();

    expect(usernames(h)).toEqual([username]);
    const creates = h.atlas.calls('createGroupDatabaseUser').filter((c) => c.status === 201);
    const updates = h.atlas.calls('updateGroupDatabaseUser').filter((c) => c.status === 200);
    const lastPassword = [...creates, ...updates]
      .map((c) => (c.requestBody as { password?: string } | undefined)?.password)
      .filter((p): p is string => p !== undefined)
      .at(-1);
    expect(redelivered).toMatchObject({ username, password: lastPassword });
  });
});
