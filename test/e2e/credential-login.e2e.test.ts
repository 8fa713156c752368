import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceKeyFor } from '../../src/adapters/database-access/model/user-model.js';
import { expectLoginRefused, loginOnce, proveGrant, type IssuedCredential } from './driver-login.js';
import { analytics, payments, startSandbox, usernameOn, type Sandbox } from './sandbox-harness.js';

const person = (n: string) => ({ id: `user-${n}`, email: `${n}@example.com` });

function settled(view: { state: string; result?: unknown; error?: unknown }): IssuedCredential {
  expect(view, JSON.stringify(view.error)).toMatchObject({ state: 'succeeded' });
  return view.result as IssuedCredential;
}

describe('issued credentials log in with the official driver (daemon + sandbox)', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox();
    await sb.connector();
  });
  afterAll(async () => sb.close());

  it('proves a multi-project grant on a sharded cluster of the second project, and its revoke', async () => {
    const requester = person('mona');
    const username = usernameOn('multi', 'per-requester', requester);
    const resourceKey = resourceKeyFor(analytics, username);
    const payload = {
      grantId: 'g-mona-1',
      requester,
      projectId: analytics,
      access: [{ cluster: 'Analytics', role: 'read', database: 'events' }],
      ttlSeconds: 3600,
    };
    const result = settled(await sb.run({ type: 'grant', integrationId: 'multi', resourceKey, payload }));
    expect(result.connectionString).toBe(sb.sim.connectionString(analytics, 'Analytics'));
    await proveGrant(result, {
      reads: { db: 'events', collection: 'clicks' },
      refusedRead: { db: 'reports', collection: 'daily' },
      refusedWrite: { db: 'events', collection: 'clicks' },
    });
    const revoke = { grantId: 'g-mona-1', requester, projectId: analytics };
    settled(await sb.run({ type: 'revoke', integrationId: 'multi', resourceKey, payload: revoke }));
    await expectLoginRefused(result);
  });

  it('logs in with a rotated password at once and refuses the old one', async () => {
    const requester = person('rita');
    const username = usernameOn('project', 'per-requester', requester);
    const resourceKey = resourceKeyFor(payments, username);
    const grant = {
      grantId: 'g-rita-1',
      requester,
      access: [{ cluster: 'Cluster0', role: 'read', database: 'sales' }],
      ttlSeconds: 3600,
    };
    const before = settled(
      await sb.run({ type: 'grant', integrationId: 'project', resourceKey, payload: grant }),
    );
    await proveGrant(before, { reads: { db: 'sales', collection: 'orders' } });
    const rotated = settled(
      await sb.run({ type: 'rotate', integrationId: 'project', resourceKey, payload: { requester } }),
    );
    expect(rotated.password).toBeDefined();
    expect(rotated.password).not.toBe(before.password);
    const client = await loginOnce({ ...before, password: rotated.password });
    await client.close();
    await expectLoginRefused(before);
  });

  it('keeps a renewed grant logging in, with its roles unchanged', async () => {
    const requester = person('otto');
    const username = usernameOn('project-per-grant', 'per-grant', requester, 'g-otto-1');
    const resourceKey = resourceKeyFor(payments, username);
    const access = [
      { cluster: 'Cluster0', role: 'readWrite', database: 'inventory', collection: 'stock_levels' },
    ];
    const payload = { grantId: 'g-otto-1', requester, access, ttlSeconds: 600 };
    const result = settled(
      await sb.run({ type: 'grant', integrationId: 'project-per-grant', resourceKey, payload }),
    );
    const renew = { grantId: 'g-otto-1', requester, ttlSeconds: 7200 };
    settled(await sb.run({ type: 'renew', integrationId: 'project-per-grant', resourceKey, payload: renew }));
    await proveGrant(result, {
      reads: { db: 'inventory', collection: 'stock_levels' },
      refusedRead: { db: 'inventory', collection: 'items' },
    });
  });
});
