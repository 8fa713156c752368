import { describe, expect, it } from 'vitest';
import { settingsOf } from '../database-access/model/settings.js';
import {
  clusterName,
  harness,
  integrationId,
  otherProjectId,
  projectId,
  settle,
  type Harness,
} from '../../../test/kits/grant-test-kit.js';
import { AtlasProjectConfig } from './atlas-project-config.js';
import { atlasProjectKind } from './atlas-project-kind.js';
import { atlasProjectScope, resolveAtlasProjectScope } from './atlas-project-scope.js';

const config = AtlasProjectConfig.parse({ projectId, clusterName, clusterType: 'REPLICASET' });
const integration = { id: integrationId, kind: 'atlas-project', config, secretRef: 'env://K' };

function adapterOf(h: Harness) {
  return atlasProjectKind.create(h.common);
}

/** Checks the connection the way `doctor` does, letting the simulator answer. */
function check(h: Harness, checked = config) {
  return settle(h.atlas, adapterOf(h).checkConnection(checked, h.credential, h.context().ctx));
}

describe('atlas-project kind', () => {
  it('resolves every job to its one cluster of its one project, with its connection choice', async () => {
    const expected = { kind: 'project-cluster', projectId, clusterName, connectionType: 'standard' };
    expect(atlasProjectScope(config)).toEqual(expected);
    await expect(resolveAtlasProjectScope({ config, payload: {}, integration })).resolves.toEqual(expected);
    await expect(resolveAtlasProjectScope({ config, payload: { projectId }, integration })).resolves.toEqual(
      expected,
    );
    expect(settingsOf(config)).toEqual({
      userStrategy: 'per-requester',
      userCleanupDays: 1,
      ownerTagKey: 'owner',
    });
  });

  it('carries a private endpoint id into the scope', () => {
    const endpoint = { ...config, connectionType: 'privateEndpoint' as const, privateEndpointId: 'vpce-1' };
    expect(atlasProjectScope(endpoint)).toMatchObject({
      connectionType: 'privateEndpoint',
      privateEndpointId: 'vpce-1',
    });
  });

  it('refuses a payload naming another project with invalid_request on projectId', async () => {
    await expect(
      resolveAtlasProjectScope({ config, payload: { projectId: otherProjectId }, integration }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
      message: `projectId: ${otherProjectId} is not this integration's project ${projectId}`,
    });
  });

  it('refuses a grant naming another cluster with invalid_request on the access entry, before any Atlas call', async () => {
    const h = harness();
    const grant = adapterOf(h).operations.grant;
    const payload = {
      grantId: 'g-1',
      requester: { id: 'u-1' },
      access: [{ cluster: 'Analytics', role: 'read', database: 'sales' }],
      ttlSeconds: 3600,
    };
    await expect(
      grant.run({ operation: 'grant', config, payload, integration }, h.credential, h.context().ctx),
    ).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^access\[0\]\.cluster: cluster Analytics is not this integration's/),
    });
    expect(h.atlas.exchanges).toEqual([]);
    expect(h.atlas.calls).toEqual([]);
  });

  it('declares and builds every database-access operation, and no secret config field', async () => {
    const h = harness();
    const operations = ['discover', 'grant', 'revoke', 'renew', 'rotate', 'sweep'];
    expect([...atlasProjectKind.operations].sort()).toEqual(operations.sort());
    expect(Object.keys(adapterOf(h).operations).sort()).toEqual(operations.sort());
    expect(atlasProjectKind.redactFields).toEqual([]);
    expect(atlasProjectKind.credential).toMatchObject({
      level: 'project',
      projects: 'one',
      role: 'GROUP_OWNER',
    });
  });

  it('checks the connection by reading the project and the cluster', async () => {
    const h = harness();
    expect(await check(h)).toEqual({
      ok: true,
      detail: `project project-0d1e (${projectId}), cluster ${clusterName} (IDLE)`,
    });
    expect(h.atlas.apiCalls().map((e) => e.operationId)).toEqual(['getGroup', 'getGroupCluster']);
  });

  it('reports a cluster it cannot see as a failed check', async () => {
    const h = harness();
    expect(await check(h, { ...config, clusterName: 'Gone' })).toEqual({
      ok: false,
      detail: `clusterName: cluster Gone not found in project ${projectId}`,
    });
  });

  it('reports a refused key as a failed check', async () => {
    const h = harness();
    h.atlas.revokeConnector();
    expect(await check(h)).toMatchObject({ ok: false, detail: expect.stringMatching(/^getGroup: /) });
    // The client reads its credential again once after a 401 before giving up; no cluster read follows.
    const calls = h.atlas.apiCalls().map((e) => [e.operationId, e.status]);
    expect(calls.length).toBeGreaterThan(0);
    expect(new Set(calls.map((c) => c.join(' ')))).toEqual(new Set(['getGroup 401']));
  });
});
