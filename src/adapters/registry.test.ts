import { describe, expect, it } from 'vitest';
import { createAdapterJobHandlers } from './adapter-job-handlers.js';
import {
  alice,
  clusterName,
  harness,
  otherProjectId,
  projectId,
} from './database-access/grant/grant-test-kit.js';
import { buildAdapters, integrationKinds, kindRegistry } from './registry.js';
import { usernameFor } from './database-access/model/user-model.js';

function handlersFor(h: ReturnType<typeof harness>) {
  return createAdapterJobHandlers({
    kinds: buildAdapters(h.common, {}),
    clients: { credentialFor: () => h.credential },
    registerSecret: h.deps.registerSecret,
  });
}

const grant = {
  grantId: 'g-1',
  requester: alice,
  access: [{ cluster: clusterName, role: 'read', database: 'sales' }],
  ttlSeconds: 3600,
};

describe('adapter registry', () => {
  it('registers exactly the database-access kinds, each under its own kind', () => {
    expect([...integrationKinds].sort()).toEqual(['atlas-multi-project', 'atlas-project']);
    for (const [kind, definition] of Object.entries(kindRegistry)) expect(definition.kind).toBe(kind);
  });

  it('runs an atlas-project grant job end to end through the job handlers', async () => {
    const h = harness();
    const integration = {
      id: 'int-1',
      kind: 'atlas-project',
      config: { projectId, clusterName },
      secretRef: 'env://K',
    };

    const result = await handlersFor(h).grant.run(grant, h.context().ctx, integration);

    expect(result).toMatchObject({
      username: usernameFor('per-requester', alice),
      password: expect.any(String),
    });
    expect(h.atlas.usersIn(projectId)).toHaveLength(1);
  });

  it('runs an atlas-multi-project grant in the project the payload names', async () => {
    const h = harness();
    const integration = { id: 'int-2', kind: 'atlas-multi-project', config: {}, secretRef: 'env://K' };

    await handlersFor(h).grant.run({ ...grant, projectId: otherProjectId }, h.context().ctx, integration);

    expect(h.atlas.usersIn(otherProjectId)).toHaveLength(1);
    expect(h.atlas.usersIn(projectId)).toHaveLength(0);
  });

  it('rejects a payload that does not match the grant schema as an invalid job', async () => {
    const h = harness();
    const integration = {
      id: 'int-1',
      kind: 'atlas-project',
      config: { projectId, clusterName },
      secretRef: 'env://K',
    };
    await expect(
      handlersFor(h).grant.run({ ...grant, projectId: 'not-a-project' }, h.context().ctx, integration),
    ).rejects.toMatchObject({ code: 'invalid_job', message: expect.stringMatching(/projectId/) });
  });
});
