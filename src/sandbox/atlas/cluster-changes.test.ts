import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { field } from '../../../test/contract/digest-client.js';
import { dayMs, dbUserBody, isoIn, startHarness, type Harness } from '../../../test/contract/sim-harness.js';
import { defaultFixture, sandboxIds } from './default-fixture.js';

const groupId = sandboxIds.payments;
const clusterPath = (name: string) => `/groups/${groupId}/clusters/${name}`;
const cluster0 = () => (defaultFixture().clusters ?? []).find((c) => c.name === 'Cluster0');

describe('cluster changes made by a test (addCluster, updateCluster)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('re-tags a cluster: reads show the new tags only', async () => {
    const tags = [{ key: 'apono-connector-id', value: 'vpc-b' }];
    expect(h.sim.updateCluster(groupId, 'Cluster0', { tags })).toBe(true);

    const read = await h.client.call('GET', clusterPath('Cluster0'));
    expect(field(read.json, 'tags')).toEqual(tags);
    expect(h.sim.updateCluster(groupId, 'Nope', { tags })).toBe(false);
  });

  it('pauses a cluster, which then refuses every login, and resumes it', async () => {
    const body = dbUserBody(groupId, { deleteAfterDate: isoIn(h.clock, dayMs) });
    expect((await h.client.call('POST', `/groups/${groupId}/databaseUsers`, { body })).status).toBe(201);
    await h.clock.advance(60_000);
    const login = () =>
      h.sim.state.canAuthenticate(groupId, 'Cluster0', 'jit-alice-1', 'correct-horse-battery');
    expect(login()).toBe('ok');

    h.sim.updateCluster(groupId, 'Cluster0', { paused: true });
    expect(field((await h.client.call('GET', clusterPath('Cluster0'))).json, 'paused')).toBe(true);
    expect(login()).toBe('paused');
    h.sim.updateCluster(groupId, 'Cluster0', { paused: false });
    expect(login()).toBe('ok');
  });

  it('adds a cluster back after its deletion, listed again and accepted in user scopes', async () => {
    const input = cluster0();
    if (!input) throw new Error('the default fixture has Cluster0');
    h.sim.deleteCluster(groupId, 'Cluster0');
    expect((await h.client.call('GET', clusterPath('Cluster0'))).status).toBe(404);

    expect(h.sim.addCluster(input)).toBe(true);
    expect(h.sim.addCluster(input)).toBe(false);
    expect((await h.client.call('GET', clusterPath('Cluster0'))).status).toBe(200);
    const body = dbUserBody(groupId, { deleteAfterDate: isoIn(h.clock, dayMs) });
    expect((await h.client.call('POST', `/groups/${groupId}/databaseUsers`, { body })).status).toBe(201);
    expect(h.sim.connectionString(groupId, 'Cluster0')).toMatch(/^mongodb:\/\/127\.0\.0\.1:/);
  });
});
