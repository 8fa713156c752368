import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultFixture, sandboxIds } from '../../src/sandbox/atlas/index.js';
import { resourceKeyFor, usernameFor } from '../../src/adapters/database-access/model/user-model.js';
import { atlasKey, enrollmentToken, payments, startSandbox, type Sandbox } from './sandbox-harness.js';

/**
 * Issue #4, item 4, through a real daemon: the Atlas key is rotated in the secret store (a file, as
 * Kubernetes mounts it) and the old key is revoked in Atlas. The next job's 401 drops the cached
 * key, the file is read again, and the call is retried once with the new key: no restart.
 */
const oldKey = { publicKey: 'rotateme', privateKey: 'old-private-key-7c1d-4000-8000-0000000000bb' };

describe('Atlas key rotation through the secret store (daemon + control plane + simulator)', () => {
  let sb: Sandbox;
  let dir: string;
  const secretFile = (): string => join(dir, 'atlas-key.json');
  const writeKey = (key: { publicKey: string; privateKey: string }): void =>
    writeFileSync(secretFile(), JSON.stringify({ public_key: key.publicKey, private_key: key.privateKey }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'atlas-jit-rotation-'));
    writeKey(oldKey);
    const fixture = defaultFixture();
    sb = await startSandbox({
      fixture: {
        ...fixture,
        apiKeys: [
          ...(fixture.apiKeys ?? []),
          {
            id: '660600000000000000000077',
            publicKey: oldKey.publicKey,
            privateKey: oldKey.privateKey,
            desc: 'Key about to be rotated',
            roles: [{ orgId: sandboxIds.org, roleName: 'ORG_OWNER' }],
          },
        ],
      },
    });
    sb.cp.store.putIntegration({
      id: 'rotating',
      kind: 'atlas-project',
      config: { projectId: payments, clusterName: 'Cluster0' },
      secretRef: `file://${secretFile()}`,
    });
    await sb.connector();
  });

  afterAll(async () => {
    for (const daemon of sb.daemons) {
      const output = daemon.output();
      expect(output).not.toContain(oldKey.privateKey);
      expect(output).not.toContain(atlasKey.privateKey);
      expect(output).not.toContain(enrollmentToken);
    }
    await sb.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function grant(name: string) {
    const requester = { id: `u-${name}`, email: `${name}@example.com` };
    return {
      type: 'grant',
      integrationId: 'rotating',
      // An atlas-project per-requester user is per cluster (the integration's Cluster0).
      resourceKey: resourceKeyFor(payments, usernameFor('per-requester', requester, undefined, 'Cluster0')),
      payload: {
        grantId: `g-${name}`,
        requester,
        access: [{ cluster: 'Cluster0', role: 'read', database: 'sales' }],
        ttlSeconds: 3600,
      },
    };
  }

  it('picks up a rotated key on the first 401, without a restart', async () => {
    expect(await sb.run(grant('before'))).toMatchObject({ state: 'succeeded' });

    writeKey(atlasKey);
    sb.sim.revokeApiKey(oldKey.publicKey);

    const after = await sb.run(grant('after'));
    expect(after, JSON.stringify(after.error)).toMatchObject({ state: 'succeeded', attempts: 1 });
    // One daemon all along; it saw the refusal, dropped the cached key and read the file again.
    const [daemon] = sb.daemons;
    expect(sb.daemons).toHaveLength(1);
    const messages = daemon?.lines().map((line) => line['msg']) ?? [];
    expect(messages).toContain('atlas credential refused; invalidating and reading it again');
    expect(messages).toContain(
      'dropped the cached Atlas credential; the next use reads the secret store again',
    );
    expect(messages.filter((msg) => msg === 'connector started')).toHaveLength(1);
  });
});
