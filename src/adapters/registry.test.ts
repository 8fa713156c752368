import { describe, expect, it } from 'vitest';
import { doctorUsage, parseDoctorArgs } from '../cli/doctor/doctor-args.js';
import { integrationSchemas } from '../cli/schema/schema-command.js';
import { jobOperations } from './adapter.js';
import { createAdapterJobHandlers } from './adapter-job-handlers.js';
import {
  alice,
  clusterName,
  harness,
  otherProjectId,
  perRequesterUser,
  projectId,
} from '../../test/kits/grant-test-kit.js';
import { buildAdapters, integrationKinds, kindRegistry } from './registry.js';

function handlersFor(h: ReturnType<typeof harness>) {
  return createAdapterJobHandlers({
    kinds: buildAdapters(h.common, {
      'atlas-org-portal': { invitations: { acquire: async () => () => undefined, holdOff: () => undefined } },
      'atlas-org-deep-discovery': { connectorId: 'connector-1', reader: undefined },
    }),
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
  it('registers exactly the implemented kinds, each under its own kind', () => {
    expect([...integrationKinds].sort()).toEqual([
      'atlas-multi-project',
      'atlas-org-deep-discovery',
      'atlas-org-portal',
      'atlas-project',
    ]);
    for (const [kind, definition] of Object.entries(kindRegistry)) expect(definition.kind).toBe(kind);
  });

  it('gives atlas-org-portal no rotate capability (absent, not a stub)', () => {
    const built = buildAdapters(harness().common, {
      'atlas-org-portal': { invitations: { acquire: async () => () => undefined, holdOff: () => undefined } },
      'atlas-org-deep-discovery': { connectorId: 'connector-1', reader: undefined },
    });
    expect(Object.keys(built['atlas-org-portal'].adapter.operations).sort()).toEqual([
      'discover',
      'grant',
      'renew',
      'revoke',
      'sweep',
    ]);
  });

  it("gives each kind's implementation exactly the operations its definition declares", async () => {
    const h = harness();
    const implementations = {
      'atlas-project': (await import('./atlas-project/atlas-project-adapter.js')).createAtlasProjectAdapter(
        h.common,
      ),
      'atlas-multi-project': (
        await import('./atlas-multi-project/atlas-multi-project-adapter.js')
      ).createMultiProjectAdapter(h.common),
      'atlas-org-portal': (
        await import('./atlas-org-portal/atlas-org-portal-adapter.js')
      ).createOrgPortalAdapter({
        ...h.common,
        invitations: { acquire: async () => () => undefined, holdOff: () => undefined },
      }),
      'atlas-org-deep-discovery': (
        await import('./atlas-org-deep-discovery/atlas-org-deep-discovery-adapter.js')
      ).createDeepDiscoveryAdapter({ ...h.common, connectorId: 'connector-1', reader: undefined }),
    };
    expect(Object.keys(implementations).sort()).toEqual([...integrationKinds].sort());
    for (const [kind, definition] of Object.entries(kindRegistry)) {
      const offered = Object.keys(implementations[kind as keyof typeof implementations].operations);
      expect(offered.sort(), kind).toEqual([...definition.operations].sort());
    }
  });

  it('is the one list of kinds: the dispatcher, schema and doctor offer exactly the registered kinds', async () => {
    const registered = [...integrationKinds];
    expect(registered).toEqual(Object.keys(kindRegistry));
    // The dispatcher: one handler per operation, and an unknown kind is refused naming exactly these.
    const h = harness();
    const handlers = handlersFor(h);
    expect(Object.keys(handlers)).toEqual([...jobOperations]);
    const stranger = { id: 'int-9', kind: 'atlas-org-catalog', config: {}, secretRef: 'env://K' };
    await expect(handlers.discover.run({}, h.context().ctx, stranger)).rejects.toMatchObject({
      code: 'invalid_job',
      message: expect.stringContaining(`(supported: ${registered.join(', ')})`),
    });
    // schema prints every registered kind and nothing else.
    expect(Object.keys(integrationSchemas())).toEqual(registered);
    // doctor offers exactly the registered kinds.
    expect(doctorUsage()).toContain(`--kind <kind>           ${registered.join(' | ')}`);
    await expect(
      parseDoctorArgs(['--kind', 'atlas-org-catalog', '--secret-ref', 'env://K', '--org-id', 'a'.repeat(24)]),
    ).rejects.toThrow(`--kind "atlas-org-catalog" is not one of ${registered.join(', ')}`);
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
      username: perRequesterUser(alice),
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
