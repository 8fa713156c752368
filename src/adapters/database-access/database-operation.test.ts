import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { alice, clusterName, endpointId, harness, projectId } from '../../../test/kits/grant-test-kit.js';
import type { ScopeRequest } from '../adapter.js';
import type { OrgClusterScope } from '../scope.js';
import { bindDatabaseOperation } from './database-operation.js';
import { grantOperation } from './grant/grant.js';
import { GrantPayload } from './model/payloads.js';
import { invalidRequest } from './model/policy.js';
import { settingsOf, type DatabaseAccessSettings } from './model/settings.js';
import { findCluster } from './scope/cluster-lookup.js';

/**
 * The contract a deep-discovery kind builds on: the shared grant, unchanged, bound to a scope
 * resolved asynchronously from an extended payload (a sub-integration id) and an Atlas lookup.
 */

const orgId = '6a1b2c3d4e5f6a7b8c9d0e1f';
const subIntegration = { id: 'sub-1', projectId, clusterName };
const SubIntegrationGrant = GrantPayload.safeExtend({ subIntegrationId: z.string().min(1) });
type OrgConfig = DatabaseAccessSettings & { readonly orgId: string };
const config: OrgConfig = { orgId, userStrategy: 'per-requester', userCleanupDays: 1, ownerTagKey: 'owner' };

async function resolveSubIntegration(
  request: ScopeRequest<OrgConfig, z.output<typeof SubIntegrationGrant>>,
  deps: Parameters<typeof findCluster>[0],
  ctx: Parameters<typeof findCluster>[1],
): Promise<OrgClusterScope> {
  if (request.payload.subIntegrationId !== subIntegration.id) {
    throw invalidRequest(
      'subIntegrationId',
      `${request.payload.subIntegrationId} is not a sub-integration of ${orgId}`,
    );
  }
  // The cluster's tags would choose the connection; here: its private endpoint.
  await findCluster(deps, ctx, subIntegration.projectId, subIntegration.clusterName, 'subIntegrationId');
  return {
    kind: 'org-cluster',
    orgId: request.config.orgId,
    projectId: subIntegration.projectId,
    clusterName: subIntegration.clusterName,
    connectionType: 'privateEndpoint',
    privateEndpointId: endpointId,
  };
}

function orgGrant() {
  const h = harness();
  const operation = bindDatabaseOperation(h.common, grantOperation, {
    payloadSchema: SubIntegrationGrant,
    resolveScope: resolveSubIntegration,
    settings: settingsOf,
  });
  const integration = { id: 'int-org', kind: 'org-kind', config, secretRef: 'env://K' };
  const run = (payload: object) =>
    operation.run({ operation: 'grant', config, payload, integration }, h.credential, h.context().ctx);
  return { h, run };
}

const payload = {
  grantId: 'g-1',
  requester: alice,
  access: [{ cluster: clusterName, role: 'read', database: 'sales' }],
  ttlSeconds: 3600,
  subIntegrationId: subIntegration.id,
};

describe('binding a shared database operation to an org-cluster scope', () => {
  it('grants through the unchanged grant, on the resolved cluster, with the scope’s connection choice', async () => {
    const { h, run } = orgGrant();
    const result = await run(payload);
    expect(result).toMatchObject({ connectionString: 'mongodb+srv://cluster0-pl-0.ab1cd.mongodb.net' });
    expect(h.atlas.usersIn(projectId)).toHaveLength(1);
  });

  it('limits the grant to the sub-integration’s cluster', async () => {
    const { h, run } = orgGrant();
    const other = { ...payload, access: [{ cluster: 'Analytics', role: 'read', database: 'sales' }] };
    await expect(run(other)).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^access\[0\]\.cluster: cluster Analytics is not this integration's/),
    });
    expect(h.atlas.usersIn(projectId)).toEqual([]);
  });

  it('refuses a sub-integration outside the organization with invalid_request naming the field', async () => {
    const { h, run } = orgGrant();
    await expect(run({ ...payload, subIntegrationId: 'sub-9' })).rejects.toMatchObject({
      code: 'invalid_request',
      message: `subIntegrationId: sub-9 is not a sub-integration of ${orgId}`,
    });
    expect(h.atlas.methods()).toEqual([]);
  });

  it('parses the extended payload once, at the boundary: a missing sub-integration id is an invalid job', async () => {
    const { run } = orgGrant();
    const { subIntegrationId: _omitted, ...without } = payload;
    await expect(run(without)).rejects.toMatchObject({
      code: 'invalid_job',
      message: expect.stringContaining('subIntegrationId'),
    });
  });
});
