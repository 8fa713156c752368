import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { field } from '../../../test/contract/digest-client.js';
import { dayMs, dbUserBody, isoIn, startHarness, type Harness } from '../../../test/contract/sim-harness.js';
import { sandboxIds } from './default-fixture.js';

const groupId = sandboxIds.payments;
const status = `/groups/${groupId}/clusters/Cluster0/status`;

describe('cluster change propagation', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ knobs: { propagationDelayMs: 2_000 } });
  });
  afterEach(async () => h.close());

  it('reports PENDING after a user change until propagationDelayMs has passed, then APPLIED', async () => {
    expect(field((await h.client.call('GET', status)).json, 'changeStatus')).toBe('APPLIED');
    await h.client.call('POST', `/groups/${groupId}/databaseUsers`, { body: dbUserBody(groupId) });
    expect(field((await h.client.call('GET', status)).json, 'changeStatus')).toBe('PENDING');
    expect(h.sim.state.canAuthenticate(groupId, 'Cluster0', 'jit-alice-1', 'correct-horse-battery')).toBe(
      'pending',
    );
    await h.clock.advance(1_999);
    expect(field((await h.client.call('GET', status)).json, 'changeStatus')).toBe('PENDING');
    await h.clock.advance(1);
    expect(field((await h.client.call('GET', status)).json, 'changeStatus')).toBe('APPLIED');
    expect(h.sim.state.canAuthenticate(groupId, 'Cluster0', 'jit-alice-1', 'correct-horse-battery')).toBe(
      'ok',
    );
  });

  it('restarts the delay on each change and counts custom-role changes too', async () => {
    await h.client.call('POST', `/groups/${groupId}/customDBRoles/roles`, {
      body: {
        roleName: 'jit-r',
        actions: [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: '' }] }],
      },
    });
    await h.clock.advance(1_500);
    await h.client.call('DELETE', `/groups/${groupId}/customDBRoles/roles/jit-r`);
    await h.clock.advance(1_500);
    expect(field((await h.client.call('GET', status)).json, 'changeStatus')).toBe('PENDING');
    await h.clock.advance(500);
    expect(field((await h.client.call('GET', status)).json, 'changeStatus')).toBe('APPLIED');
  });

  it('keeps other projects APPLIED', async () => {
    await h.client.call('POST', `/groups/${groupId}/databaseUsers`, { body: dbUserBody(groupId) });
    const other = await h.client.call('GET', `/groups/${sandboxIds.analytics}/clusters/Analytics/status`);
    expect(field(other.json, 'changeStatus')).toBe('APPLIED');
  });

  it('answers 404 CLUSTER_NOT_FOUND for the status of an unknown cluster', async () => {
    const result = await h.client.call('GET', `/groups/${groupId}/clusters/Nope/status`);
    expect(result.status).toBe(404);
    expect(result.json).toMatchObject({ errorCode: 'CLUSTER_NOT_FOUND', parameters: ['Nope', groupId] });
  });

  it('makes a user expiring by deleteAfterDate PENDING from the moment of expiry', async () => {
    await h.client.call('POST', `/groups/${groupId}/databaseUsers`, {
      body: dbUserBody(groupId, { deleteAfterDate: isoIn(h.clock, dayMs) }),
    });
    await h.clock.advance(dayMs + 1_000);
    expect(h.sim.state.changeStatus(groupId)).toBe('PENDING');
    await h.clock.advance(1_000);
    expect(h.sim.state.changeStatus(groupId)).toBe('APPLIED');
  });
});

describe('token-bucket rate limiting', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({
      knobs: { rateLimit: { project: { capacity: 3, refillAmount: 2, refillIntervalSeconds: 60 } } },
    });
  });
  afterEach(async () => h.close());

  const users = `/groups/${groupId}/databaseUsers`;

  it('counts down RateLimit-Remaining on every project-scoped response', async () => {
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i += 1) {
      const result = await h.client.call('GET', users);
      expect(result.headers.get('ratelimit-limit')).toBe('3');
      remaining.push(result.headers.get('ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
  });

  it('answers 429 RATE_LIMITED_TOKEN_BUCKET with Retry-After and the documented body when empty', async () => {
    for (let i = 0; i < 3; i += 1) await h.client.call('GET', users);
    await h.clock.advance(5_000);
    const limited = await h.client.call('GET', users);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('55');
    expect(limited.json).toEqual({
      detail: `Rate limit exceeded for api/atlas/v2${users}. Please retry after 55 seconds. Request capacity: 3. Refill rate: 2 per 60 seconds.`,
      error: 429,
      errorCode: 'RATE_LIMITED_TOKEN_BUCKET',
      parameters: [`api/atlas/v2${users}`, 55, 3, 2, 60],
      reason: 'Too Many Requests',
    });
    expect(h.sim.stats.rateLimited).toBe(1);
  });

  it('refills in whole intervals', async () => {
    for (let i = 0; i < 3; i += 1) await h.client.call('GET', users);
    await h.clock.advance(60_000);
    expect((await h.client.call('GET', users)).status).toBe(200);
    expect((await h.client.call('GET', users)).status).toBe(200);
    expect((await h.client.call('GET', users)).status).toBe(429);
  });

  it('keeps a separate bucket per project and per organization', async () => {
    for (let i = 0; i < 3; i += 1) await h.client.call('GET', users);
    expect((await h.client.call('GET', `/groups/${sandboxIds.analytics}/databaseUsers`)).status).toBe(200);
    const orgCall = await h.client.call('GET', `/orgs/${sandboxIds.org}/teams`);
    expect(orgCall.status).toBe(200);
    expect(orgCall.headers.get('ratelimit-limit')).toBe('100');
  });

  it('does not rate-limit unscoped calls such as GET /groups', async () => {
    for (let i = 0; i < 3; i += 1) await h.client.call('GET', users);
    const groups = await h.client.call('GET', '/groups');
    expect(groups.status).toBe(200);
    expect(groups.headers.get('ratelimit-limit')).toBeNull();
  });

  it('describes its buckets at GET /rateLimits', async () => {
    const result = await h.client.call('GET', '/rateLimits', { version: '2025-03-12' });
    expect(field(result.json, 'results', 0)).toMatchObject({
      scope: 'GROUP',
      capacity: { value: 3 },
      refillRate: { value: 2 },
      refillDurationSeconds: { value: 60 },
    });
  });
});
