import { describe, expect, it } from 'vitest';
import { fakeAtlasError } from '../../../../test/fakes/fake-atlas-client.js';
import { alice, harness, projectId, type Harness } from '../../../../test/kits/grant-test-kit.js';
import { resourceKeyFor, usernameFor } from '../model/user-model.js';

const username = usernameFor('per-requester', alice);

describe('users quota', () => {
  it.each([
    {
      name: 'in a full project, and no user is created',
      prepare: (h: Harness) => {
        h.atlas.setLimit(projectId, 'atlas.project.security.databaseAccess.users', 1);
        h.atlas.addUser(projectId, { username: 'app', databaseName: 'admin', roles: [] });
      },
      usersAfter: ['app'],
    },
    {
      name: 'when Atlas refuses the create with GROUP_USERS_LIMIT_EXCEEDED',
      prepare: (h: Harness) => {
        h.atlas.failNext('databaseUsers.create', fakeAtlasError(403, 'GROUP_USERS_LIMIT_EXCEEDED'));
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
    expect(h.atlas.usersIn(projectId).map((user) => user.username)).toEqual(usersAfter);
  });
});

describe('resourceKeyFor', () => {
  it('keys the per-user lease on project and username', () => {
    expect(resourceKeyFor(projectId, username)).toBe(`${projectId}/${username}`);
  });
});

describe('grant readiness', () => {
  it('fails with a retryable not_ready when the cluster never applies, and the redelivery converges', async () => {
    const h = harness({ readyTimeoutMs: 2_000 });
    h.atlas.neverApplied = true;

    await expect(h.grant()).rejects.toMatchObject({ code: 'not_ready', retryable: true });
    h.atlas.neverApplied = false;
    const redelivered = await h.grant();

    expect(h.atlas.usersIn(projectId)).toHaveLength(1);
    expect(redelivered).toMatchObject({ username, password: h.atlas.passwordOf(projectId, username) });
  });
});
