import { describe, expect, it } from 'vitest';
import { fakeAtlasError } from '../../../test/fakes/fake-atlas-client.js';
import { AtlasProjectConfig } from '../database-access/model/settings.js';
import { clusterName, harness, projectId } from '../database-access/grant/grant-test-kit.js';
import { atlasProjectAdapter, atlasProjectScope } from './atlas-project-adapter.js';

const config = AtlasProjectConfig.parse({ projectId, clusterName, clusterType: 'REPLICASET' });

describe('atlas-project adapter', () => {
  it('maps its config onto the shared database-access scope: one project, one cluster', () => {
    expect(atlasProjectScope(config)).toEqual({
      projectIds: [projectId],
      clusterName,
      userStrategy: 'per-requester',
      userCleanupDays: 1,
      connectionType: 'standard',
      ownerTagKey: 'owner',
    });
  });

  it('offers every database-access capability and no secret config field', () => {
    expect(Object.keys(atlasProjectAdapter.handlers).sort()).toEqual(
      ['discover', 'grant', 'renew', 'revoke', 'rotate', 'sweep'].sort(),
    );
    expect(atlasProjectAdapter.secretFields).toEqual([]);
  });

  it('checks the connection by reading the project and the cluster', async () => {
    const h = harness();
    const check = await atlasProjectAdapter.checkConnection(config, h.deps, h.context().ctx);
    expect(check).toEqual({
      ok: true,
      detail: `project project-0d1e (${projectId}), cluster ${clusterName} (IDLE)`,
    });
    expect(h.atlas.methods()).toEqual(['projects.get', 'clusters.get']);
  });

  it('reports a cluster it cannot see as a failed check', async () => {
    const h = harness();
    const check = await atlasProjectAdapter.checkConnection(
      { ...config, clusterName: 'Gone' },
      h.deps,
      h.context().ctx,
    );
    expect(check).toEqual({
      ok: false,
      detail: `clusterName: cluster Gone not found in project ${projectId}`,
    });
  });

  it('reports a refused key as a failed check', async () => {
    const h = harness();
    h.atlas.failNext('projects.get', fakeAtlasError(401, 'UNAUTHORIZED', 'getGroup'));
    const check = await atlasProjectAdapter.checkConnection(config, h.deps, h.context().ctx);
    expect(check).toMatchObject({ ok: false, detail: expect.stringMatching(/^getGroup: UNAUTHORIZED/) });
  });
});
