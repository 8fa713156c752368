import { describe, expect, it } from 'vitest';
import { AtlasMultiProjectConfig } from '../database-access/model/settings.js';
import { harness, otherProjectId, projectId } from '../database-access/grant/grant-test-kit.js';
import { atlasMultiProjectAdapter, atlasMultiProjectScope } from './atlas-multi-project-adapter.js';

describe('atlas-multi-project adapter', () => {
  it('maps the allow-list (or its absence) onto the shared scope, with no single cluster', () => {
    const listed = atlasMultiProjectScope(AtlasMultiProjectConfig.parse({ projectIds: [projectId] }));
    expect(listed).toMatchObject({ projectIds: [projectId] });
    expect(listed).not.toHaveProperty('clusterName');
    expect(atlasMultiProjectScope(AtlasMultiProjectConfig.parse({}))).not.toHaveProperty('projectIds');
  });

  it('checks the connection by reading every allow-listed project', async () => {
    const h = harness();
    const config = AtlasMultiProjectConfig.parse({ projectIds: [projectId, otherProjectId] });
    const check = await atlasMultiProjectAdapter.checkConnection(config, h.deps, h.context().ctx);
    expect(check).toEqual({
      ok: true,
      detail: `projects project-0d1e (${projectId}), project-0d2f (${otherProjectId})`,
    });
  });

  it('without an allow-list, checks that the key sees at least one project', async () => {
    const h = harness();
    const check = await atlasMultiProjectAdapter.checkConnection(
      AtlasMultiProjectConfig.parse({}),
      h.deps,
      h.context().ctx,
    );
    expect(check).toEqual({ ok: true, detail: '2 project(s) visible to the API key' });
  });

  it('fails the check for an allow-listed project the key cannot read', async () => {
    const h = harness();
    const config = AtlasMultiProjectConfig.parse({ projectIds: ['aaaaaaaaaaaaaaaaaaaaaaaa'] });
    const check = await atlasMultiProjectAdapter.checkConnection(config, h.deps, h.context().ctx);
    expect(check).toMatchObject({ ok: false, detail: expect.stringMatching(/GROUP_NOT_FOUND/) });
  });
});
