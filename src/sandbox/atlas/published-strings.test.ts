import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../../test/contract/sim-harness.js';
import { sandboxIds } from './default-fixture.js';

describe('connection strings of clusters served by a wire endpoint', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('publishes a loopback string per connection type, each on its own port, and no SRV string', async () => {
    const result = await h.client.call('GET', `/groups/${sandboxIds.payments}/clusters/Cluster0`);
    const strings = (result.json as { connectionStrings: Record<string, unknown> }).connectionStrings;
    const loopback = /^mongodb:\/\/127\.0\.0\.1:(\d+)\/\?authSource=admin&replicaSet=atlas-p4y0m3-shard-0$/;
    expect(strings).toEqual({
      standard: h.sim.connectionString(sandboxIds.payments, 'Cluster0'),
      private: h.sim.connectionString(sandboxIds.payments, 'Cluster0', 'private'),
    });
    const ports = [strings['standard'], strings['private']].map((s) => loopback.exec(String(s))?.[1]);
    expect(ports.every((port) => port !== undefined)).toBe(true);
    expect(new Set(ports).size).toBe(2);
    expect(() => h.sim.connectionString(sandboxIds.payments, 'Cluster0', 'privateEndpoint')).toThrow(
      'no privateEndpoint:0 wire endpoint for cluster Cluster0',
    );
  });

  it('keeps the private-endpoint elements Atlas-shaped, with a loopback connectionString of their own', async () => {
    const result = await h.client.call('GET', `/groups/${sandboxIds.payments}/clusters/Private0`);
    const strings = (result.json as { connectionStrings: Record<string, unknown> }).connectionStrings;
    const viaEndpoint = h.sim.connectionString(sandboxIds.payments, 'Private0', 'privateEndpoint');
    expect(strings['privateEndpoint']).toEqual([
      {
        connectionString: viaEndpoint,
        type: 'MONGOD',
        endpoints: [{ endpointId: 'vpce-0a1b2c3d4e5f67890', providerName: 'AWS', region: 'US_EAST_1' }],
      },
    ]);
    expect(viaEndpoint).not.toBe(strings['standard']);
    expect(viaEndpoint).toMatch(
      /^mongodb:\/\/127\.0\.0\.1:\d+\/\?authSource=admin&replicaSet=atlas-pr1v4t-shard-0$/,
    );
  });

  it('gives a sharded cluster a string without a replica-set name and a flex cluster a standard string', async () => {
    const sharded = await h.client.call('GET', `/groups/${sandboxIds.analytics}/clusters/Analytics`);
    expect(sharded.json).toMatchObject({
      connectionStrings: { standard: h.sim.connectionString(sandboxIds.analytics, 'Analytics') },
    });
    expect(h.sim.connectionString(sandboxIds.analytics, 'Analytics')).not.toContain('replicaSet');
    const flex = await h.client.call('GET', `/groups/${sandboxIds.analytics}/flexClusters/Flex0`, {
      version: '2024-11-13',
    });
    expect(flex.json).toMatchObject({
      connectionStrings: { standard: h.sim.connectionString(sandboxIds.analytics, 'Flex0') },
    });
  });

  it('publishes the fixture strings unchanged when the endpoints are off', async () => {
    const off = await startHarness({ wireProtocol: false });
    try {
      const result = await off.client.call('GET', `/groups/${sandboxIds.payments}/clusters/Cluster0`);
      expect(result.json).toMatchObject({
        connectionStrings: { standardSrv: 'mongodb+srv://cluster0.xq7ab.mongodb.net' },
      });
      expect(off.sim.wireAddresses.size).toBe(0);
    } finally {
      await off.close();
    }
  });
});
