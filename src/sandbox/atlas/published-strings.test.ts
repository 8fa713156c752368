import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../../test/contract/sim-harness.js';
import { sandboxIds } from './default-fixture.js';

describe('connection strings of clusters served by a wire endpoint', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('publishes a loopback standard string and no SRV string, keeping the private ones Atlas-shaped', async () => {
    const result = await h.client.call('GET', `/groups/${sandboxIds.payments}/clusters/Cluster0`);
    const strings = (result.json as { connectionStrings: Record<string, unknown> }).connectionStrings;
    expect(strings).toEqual({
      standard: expect.stringMatching(
        /^mongodb:\/\/127\.0\.0\.1:\d+\/\?authSource=admin&replicaSet=atlas-p4y0m3-shard-0$/,
      ) as unknown,
      private: expect.stringContaining('-pri.xq7ab.mongodb.net:27017') as unknown,
      privateSrv: 'mongodb+srv://cluster0-pri.xq7ab.mongodb.net',
    });
    expect(strings['standard']).toBe(h.sim.connectionString(sandboxIds.payments, 'Cluster0'));
  });

  it('keeps the private-endpoint strings of a private-endpoint cluster', async () => {
    const result = await h.client.call('GET', `/groups/${sandboxIds.payments}/clusters/Private0`);
    const strings = (result.json as { connectionStrings: Record<string, unknown> }).connectionStrings;
    expect(strings['privateEndpoint']).toEqual([
      expect.objectContaining({ srvConnectionString: 'mongodb+srv://private0-pl-0.xq7ab.mongodb.net' }),
    ]);
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
