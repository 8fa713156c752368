import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceKeyFor } from '../../src/adapters/database-access/model/user-model.js';
import { cryptoRandom, type Random } from '../../src/runtime/random.js';
import { enrollmentToken, payments, startSandbox, usernameOn, type Sandbox } from './sandbox-harness.js';

const serviceAccount = {
  clientId: 'mdb_sa_id_6607000000000000000000e2',
  clientSecret: 'mdb_sa_sk_e2e-service-account-secret-7f3a',
};

/**
 * The other credential type, through a real daemon: a service account's secret and every OAuth
 * access token the simulator mints for it (the bearer of each Atlas call, refreshed and revoked by
 * the daemon) never reach a log line, `/status` or `/metrics`.
 */
describe('service-account credentials never appear in output (daemon + control plane + simulator)', () => {
  const minted: string[] = [];
  // The simulator's OAuth tokens are `sim_` and 24 random bytes as hex: watch what it draws.
  const random: Random = {
    ...cryptoRandom,
    hex: (bytes) => {
      const value = cryptoRandom.hex(bytes);
      if (bytes === 24) minted.push(`sim_${value}`);
      return value;
    },
  };
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ serviceAccounts: [serviceAccount], random });
  });
  afterAll(async () => sb.close());

  it('grants and revokes with the service account, then drains, with no secret in any output', async () => {
    const daemon = await sb.connector({
      E2E_ATLAS_SECRET: JSON.stringify({
        client_id: serviceAccount.clientId,
        client_secret: serviceAccount.clientSecret,
      }),
    });
    const requester = { id: 'user-sa', email: 'sa@example.com' };
    const username = usernameOn('project', 'per-requester', requester);
    const resourceKey = resourceKeyFor(payments, username);
    const granted = await sb.run({
      type: 'grant',
      integrationId: 'project',
      resourceKey,
      payload: {
        grantId: 'g-sa-1',
        requester,
        access: [{ cluster: 'Cluster0', role: 'read', database: 'sales' }],
        ttlSeconds: 3600,
      },
    });
    expect(granted, JSON.stringify(granted.error)).toMatchObject({ state: 'succeeded' });
    const password = (granted.result as { password: string }).password;
    const revoked = await sb.run({
      type: 'revoke',
      integrationId: 'project',
      resourceKey,
      payload: { grantId: 'g-sa-1', requester },
    });
    expect(revoked).toMatchObject({ state: 'succeeded', result: { outcome: 'revoked' } });
    const admin = `http://127.0.0.1:${daemon.adminPort}`;
    const endpoints = await Promise.all(
      ['/status', '/metrics'].map(async (path) => (await fetch(`${admin}${path}`)).text()),
    );
    // A drain closes the Atlas client, which revokes the token it holds.
    daemon.kill('SIGTERM');
    expect(await daemon.exited).toMatchObject({ code: 0 });

    expect(minted.length).toBeGreaterThan(0);
    for (const text of [daemon.output(), ...endpoints]) {
      expect(text).not.toContain(serviceAccount.clientSecret);
      expect(text).not.toContain(enrollmentToken);
      expect(text).not.toContain(password);
      for (const token of minted) expect(text).not.toContain(token);
    }
  });
});
