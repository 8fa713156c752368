import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DigestClient, field } from '../../../test/contract/digest-client.js';
import { dbUserBody, startHarness, testKey, type Harness } from '../../../test/contract/sim-harness.js';
import { FakeRandom } from '../../../test/fakes/fake-random.js';
import { defaultFixture, sandboxIds } from './default-fixture.js';
import { parseFixture } from './fixture.js';
import { createExchangeRecorder } from './recorder.js';
import { startAtlasSimulator } from './simulator.js';

const groupId = sandboxIds.payments;
const users = `/groups/${groupId}/databaseUsers`;

describe('fault injection', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('fails the next call to a named operation with a scripted 503 and Retry-After, then recovers', async () => {
    h.sim.knobs.faults.script.push({
      operationId: 'createGroupDatabaseUser',
      kind: 'error',
      status: 503,
      delayMs: 0,
      times: 1,
    });
    await h.client.call('GET', users);
    const failed = await h.client.call('POST', users, { body: dbUserBody(groupId) });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('1');
    expect(failed.json).toMatchObject({ error: 503, errorCode: 'SERVICE_UNAVAILABLE' });
    expect(h.sim.state.databaseUsers(groupId)).toEqual([]);
    expect((await h.client.call('POST', users, { body: dbUserBody(groupId) })).status).toBe(201);
  });

  it('resets the connection without applying the change', async () => {
    h.sim.knobs.faults.script.push({ kind: 'reset', status: 500, delayMs: 0, times: 1 });
    await expect(fetch(`${h.sim.url}/api/atlas/v2/groups`)).rejects.toThrow();
    expect(h.sim.stats.count(undefined, 'reset')).toBe(1);
  });

  it('can apply a change and then lose the response, so a retry meets 409', async () => {
    await h.client.call('GET', users);
    h.sim.knobs.faults.script.push({
      operationId: 'createGroupDatabaseUser',
      kind: 'resetAfterCommit',
      status: 500,
      delayMs: 0,
      times: 1,
    });
    await expect(h.client.call('POST', users, { body: dbUserBody(groupId) })).rejects.toThrow();
    expect(h.sim.state.databaseUser(groupId, 'jit-alice-1')).toBeDefined();
    const retried = await h.client.call('POST', users, { body: dbUserBody(groupId) });
    expect(retried.json).toMatchObject({ errorCode: 'USER_ALREADY_EXISTS' });
  });

  it('fails every API call at a server-error rate of 1 with the configured status', async () => {
    h.sim.knobs.faults.serverErrorRate = 1;
    h.sim.knobs.faults.serverErrorStatus = 502;
    const result = await fetch(`${h.sim.url}/api/atlas/v2/groups`);
    expect(result.status).toBe(502);
    expect(await result.json()).toMatchObject({ errorCode: 'BAD_GATEWAY' });
  });

  it('drops every API connection at a reset rate of 1', async () => {
    h.sim.knobs.faults.connectionResetRate = 1;
    await expect(fetch(`${h.sim.url}/api/atlas/v2/groups`)).rejects.toThrow();
    expect(h.sim.stats.snapshot().connectionResets).toBe(1);
  });

  it('slows one scripted call by delayMs and leaves the next one alone', async () => {
    h.sim.knobs.faults.script.push({ kind: 'slow', status: 500, delayMs: 5_000, times: 1 });
    let settled = false;
    const slow = fetch(`${h.sim.url}/api/atlas/v2/groups`).then((r) => {
      settled = true;
      return r.status;
    });
    // The request must be parked in the simulator's sleep before time moves.
    await vi.waitFor(() => expect(h.clock.pending).toBe(1));
    await h.clock.advance(4_999);
    expect(settled).toBe(false);
    await h.clock.advance(1);
    expect(await slow).toBe(401);
    expect((await fetch(`${h.sim.url}/api/atlas/v2/groups`)).status).toBe(401);
  });

  it('delays answers by the configured latency on the injected clock', async () => {
    h.sim.knobs.latency.fixedMs = 1_000;
    let settled = false;
    const pending = fetch(`${h.sim.url}/api/atlas/v2/groups`).then((r) => {
      settled = true;
      return r.status;
    });
    await vi.waitFor(() => expect(h.clock.pending).toBe(1));
    await h.clock.advance(999);
    expect(settled).toBe(false);
    await h.clock.advance(1);
    expect(await pending).toBe(401);
  });
});

describe('control endpoints', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('shows state without passwords at GET /__sim/state', async () => {
    await h.client.call('POST', users, { body: dbUserBody(groupId) });
    const response = await fetch(`${h.sim.url}/__sim/state`);
    const text = await response.text();
    expect(text).not.toContain('correct-horse-battery');
    expect(text).not.toContain('storedKey');
    const state: unknown = JSON.parse(text);
    expect(field(state, 'databaseUsers', 0, 'username')).toBe('jit-alice-1');
    expect(field(state, 'projects', 0, 'changeStatus')).toBe('PENDING');
  });

  it('counts requests per route and status at GET /__sim/stats', async () => {
    await h.client.call('GET', users);
    const stats: unknown = await (await fetch(`${h.sim.url}/__sim/stats`)).json();
    expect(field(stats, 'byRoute', 'GET /api/atlas/v2/groups/{groupId}/databaseUsers')).toEqual({
      '401': 1,
      '200': 1,
    });
    expect(h.sim.stats.count('GET /api/atlas/v2/groups/{groupId}/databaseUsers', 200)).toBe(1);
  });

  it('changes knobs at POST /__sim/knobs and refuses invalid ones', async () => {
    const ok = await fetch(`${h.sim.url}/__sim/knobs`, {
      method: 'POST',
      body: JSON.stringify({ propagationDelayMs: 42, rateLimit: { project: { capacity: 7 } } }),
    });
    expect(ok.status).toBe(200);
    expect(h.sim.knobs.propagationDelayMs).toBe(42);
    expect(h.sim.knobs.rateLimit.project).toEqual({
      capacity: 7,
      refillAmount: 100,
      refillIntervalSeconds: 60,
    });
    const bad = await fetch(`${h.sim.url}/__sim/knobs`, {
      method: 'POST',
      body: JSON.stringify({ propagationDelayMs: -1 }),
    });
    expect(bad.status).toBe(400);
    expect(h.sim.knobs.propagationDelayMs).toBe(42);
  });

  it('restores the fixture at POST /__sim/reset', async () => {
    await h.client.call('POST', users, { body: dbUserBody(groupId) });
    expect((await fetch(`${h.sim.url}/__sim/reset`, { method: 'POST' })).status).toBe(204);
    expect(h.sim.state.databaseUsers(groupId)).toEqual([]);
    expect(h.sim.stats.total).toBe(0);
    expect((await h.client.call('GET', users)).status).toBe(200);
  });
});

describe('fixtures and recording', () => {
  it('refuses a fixture with a dangling reference, naming it', () => {
    const fixture = defaultFixture();
    const broken = { ...fixture, clusters: [{ ...fixture.clusters?.[0], projectId: 'b'.repeat(24) }] };
    expect(() => parseFixture(broken)).toThrow(/cluster Cluster0: unknown projectId/);
  });

  it('refuses a fixture field of the wrong shape', () => {
    expect(() => parseFixture({ organizations: [{ id: 'nope', name: 'x' }], projects: [] })).toThrow(
      /organizations\.0\.id/,
    );
  });

  it('refuses a public key that does not look like an Atlas one', async () => {
    await expect(startAtlasSimulator({ publicKey: 'PUB', privateKey: 'x' })).rejects.toThrow(
      /8 lowercase letters/,
    );
  });

  it('serves a custom fixture and reports every exchange to onExchange', async () => {
    const recorder = createExchangeRecorder();
    const sim = await startAtlasSimulator({
      ...testKey,
      random: new FakeRandom(),
      onExchange: recorder.onExchange,
      fixture: {
        organizations: [{ id: 'c'.repeat(24), name: 'Tiny' }],
        projects: [{ id: 'd'.repeat(24), orgId: 'c'.repeat(24), name: 'solo' }],
      },
    });
    try {
      const client = new DigestClient(sim.url, testKey.publicKey, testKey.privateKey);
      const groups = await client.call('GET', '/groups');
      expect(field(groups.json, 'results', 0, 'name')).toBe('solo');
      expect(recorder.exchanges.map((e) => [e.operationId, e.status])).toEqual([
        ['listGroups', 401],
        ['listGroups', 200],
      ]);
      expect(recorder.exchanges[1]?.requestHeaders.authorization).toBe('Digest [REDACTED]');
    } finally {
      await sim.close();
    }
  });
});
