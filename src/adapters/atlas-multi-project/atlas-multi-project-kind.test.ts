import { describe, expect, it } from 'vitest';
import {
  alice,
  harness,
  integrationId,
  otherProjectId,
  perRequesterUser,
  projectId,
} from '../../../test/kits/grant-test-kit.js';
import { isConnectorError } from '../../errors/connector-error.js';
import { AtlasMultiProjectConfig } from './atlas-multi-project-config.js';
import { atlasMultiProjectKind } from './atlas-multi-project-kind.js';
import {
  resolveMultiProjectInventoryScope,
  resolveMultiProjectUserScope,
} from './atlas-multi-project-scope.js';

const listed = AtlasMultiProjectConfig.parse({ projectIds: [projectId] });
const unlisted = AtlasMultiProjectConfig.parse({});
const integration = { id: integrationId, kind: 'atlas-multi-project', config: listed, secretRef: 'env://K' };

describe('atlas-multi-project kind', () => {
  it('resolves a user job to the one project its payload names, any cluster', async () => {
    await expect(
      resolveMultiProjectUserScope({ config: listed, payload: { projectId }, integration }),
    ).resolves.toEqual({ kind: 'project', projectId, connectionType: 'standard' });
  });

  it.each([
    {
      name: 'no project',
      config: listed,
      payload: {},
      message: /^projectId: is required for an atlas-multi-project/,
    },
    {
      name: 'a project outside the allow-list',
      config: listed,
      payload: { projectId: otherProjectId },
      message:
        /^projectId: project 5f1a2b3c4d5e6f7a8b9c0d2f is not in this integration's projectIds allow-list$/,
    },
  ])(
    'refuses a user job naming $name with invalid_request on projectId',
    async ({ config, payload, message }) => {
      const failure = resolveMultiProjectUserScope({ config, payload, integration });
      await expect(failure).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(failure).rejects.toThrow(message);
    },
  );

  it('resolves inventory jobs to the allow-list, every visible project, or the one project named', async () => {
    const inventory = (config: AtlasMultiProjectConfig, payload: { projectId?: string }) =>
      resolveMultiProjectInventoryScope({ config, payload, integration });
    await expect(inventory(listed, {})).resolves.toEqual({
      kind: 'projects',
      projects: { allowList: [projectId] },
    });
    await expect(inventory(unlisted, {})).resolves.toEqual({
      kind: 'projects',
      projects: 'every-visible-project',
    });
    await expect(inventory(unlisted, { projectId: otherProjectId })).resolves.toMatchObject({
      kind: 'project',
      projectId: otherProjectId,
    });
    await expect(inventory(listed, { projectId: otherProjectId })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^projectId: /),
    });
  });

  it('checks the connection by reading every allow-listed project', async () => {
    const h = harness();
    const config = AtlasMultiProjectConfig.parse({ projectIds: [projectId, otherProjectId] });
    const check = await atlasMultiProjectKind
      .create(h.common)
      .checkConnection(config, h.credential, h.context().ctx);
    expect(check).toEqual({
      ok: true,
      detail: `projects project-0d1e (${projectId}), project-0d2f (${otherProjectId})`,
    });
  });

  it('without an allow-list, checks that the key sees at least one project', async () => {
    const h = harness();
    const check = await atlasMultiProjectKind
      .create(h.common)
      .checkConnection(unlisted, h.credential, h.context().ctx);
    expect(check).toEqual({ ok: true, detail: '2 project(s) visible to the API key' });
  });

  it('fails the check for an allow-listed project the key cannot read', async () => {
    const h = harness();
    const config = AtlasMultiProjectConfig.parse({ projectIds: ['aaaaaaaaaaaaaaaaaaaaaaaa'] });
    const check = await atlasMultiProjectKind
      .create(h.common)
      .checkConnection(config, h.credential, h.context().ctx);
    expect(check).toMatchObject({ ok: false, detail: expect.stringMatching(/GROUP_NOT_FOUND/) });
  });

  it('names the allow-listed project the key cannot use, whose refusal does not say which', async () => {
    const h = harness();
    const config = AtlasMultiProjectConfig.parse({ projectIds: [projectId, otherProjectId] });
    // The first project reads; the second is refused.
    h.atlas
      .beforeNext('projects.get', () => undefined)
      .beforeNext('projects.get', () => h.atlas.failNext('projects.get', 'USER_CANNOT_ACCESS_GROUP'));
    const check = await atlasMultiProjectKind
      .create(h.common)
      .checkConnection(config, h.credential, h.context().ctx);
    expect(check).toEqual({
      ok: false,
      detail: `project ${otherProjectId}: getGroup: USER_CANNOT_ACCESS_GROUP: User cannot access this group.`,
      code: 'forbidden',
    });
  });

  it('refuses a grant keyed by the user of another project before any Atlas call', async () => {
    const h = harness({ kind: 'atlas-multi-project' });
    const username = perRequesterUser(alice, 'atlas-multi-project');
    const ctx = { ...h.context().ctx, resourceKey: `${projectId}/${username}` };
    const access = [{ cluster: 'Cluster0', role: 'read', database: 'sales' }];
    const failure = h.grant({ projectId: otherProjectId, access }, ctx);
    await expect(failure).rejects.toMatchObject({
      code: 'invalid_job',
      details: { field: 'resourceKey', expected: `${otherProjectId}/${username}` },
    });
    expect(h.atlas.methods()).toEqual([]);
  });

  describe('a project deleted since the grant', () => {
    const inOther = { projectId: otherProjectId };
    const access = [{ cluster: 'Cluster0', role: 'read', database: 'sales' }];
    /** Atlas's answer to every read and write in a project that no longer exists. */
    const deleteProject = (h: ReturnType<typeof harness>) => {
      for (const method of [
        'databaseUsers.get',
        'databaseUsers.list',
        'databaseUsers.update',
        'clusters.status',
      ])
        h.atlas.failNext(method, 'GROUP_NOT_FOUND', 10);
    };

    it.each(['per-requester', 'per-grant'] as const)(
      'a %s revoke there answers already_revoked: its users, and the access, went with it',
      async (userStrategy) => {
        const h = harness({ kind: 'atlas-multi-project', config: { userStrategy } });
        const granted = await h.grant({ ...inOther, access });
        deleteProject(h);
        h.clearCalls();
        await expect(h.revoke(inOther)).resolves.toEqual({
          outcome: 'already_revoked',
          username: granted.username,
        });
        expect(h.ungatedWrites()).toEqual([]);
      },
    );

    it('a renew there is refused as an unknown project, naming projectId', async () => {
      const h = harness({ kind: 'atlas-multi-project' });
      await h.grant({ ...inOther, access });
      deleteProject(h);
      const failure = h.renew(inOther);
      await expect(failure).rejects.toMatchObject({
        code: 'invalid_request',
        details: { field: 'projectId' },
      });
      await expect(failure).rejects.toThrow(new RegExp(`^projectId: project ${otherProjectId} not found`));
    });

    it('a revoke whose write finds the project gone answers already_revoked', async () => {
      const h = harness({ kind: 'atlas-multi-project' });
      const granted = await h.grant({ ...inOther, access });
      // The revoke's read still saw the project; its write, and every call after, find it gone.
      h.atlas.beforeNext('databaseUsers.update', () => deleteProject(h));
      await expect(h.revoke(inOther)).resolves.toEqual({
        outcome: 'already_revoked',
        username: granted.username,
      });
    });
  });

  describe('a project taken off the allow-list after a grant', () => {
    const username = perRequesterUser(alice, 'atlas-multi-project');
    const inOther = { projectId: otherProjectId };
    const access = [{ cluster: 'Cluster0', role: 'read', database: 'sales' }];

    it('still revokes there (access is taken away), while renew and new grants are refused', async () => {
      const h = harness({ kind: 'atlas-multi-project' });
      await h.grant({ ...inOther, access });
      const narrowed = h.through(integrationId, { projectIds: [projectId] });

      await expect(narrowed.renew(inOther)).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(narrowed.grant({ ...inOther, grantId: 'g-2', access })).rejects.toMatchObject({
        code: 'invalid_request',
      });
      const result = await narrowed.revoke(inOther);

      expect(result).toMatchObject({ outcome: 'revoked', username, remainingRoles: [] });
      expect(h.atlas.user(otherProjectId, username)?.roles).toEqual([]);
      expect(h.ungatedWrites()).toEqual([]);
    });

    it('fails the revoke at once, naming what Atlas said, when the key lost the project too', async () => {
      const h = harness({ kind: 'atlas-multi-project' });
      await h.grant({ ...inOther, access });
      h.atlas.failNext('databaseUsers.get', 'USER_CANNOT_ACCESS_GROUP');
      const narrowed = h.through(integrationId, { projectIds: [projectId] });

      const error: unknown = await narrowed.revoke(inOther).catch((e: unknown) => e);

      expect(isConnectorError(error) && error.retryable).toBe(false);
      expect(String((error as Error).message)).toMatch(/USER_CANNOT_ACCESS_GROUP/);
    });
  });
});
