import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dbUserBody, startHarness, type Harness } from '../../../test/contract/sim-harness.js';
import { sandboxIds } from './default-fixture.js';

const groupId = sandboxIds.payments;
const users = `/groups/${groupId}/databaseUsers`;

async function control(h: Harness, method: string, path: string, body?: object) {
  const response = await fetch(`${h.sim.url}/__sim/${path}`, {
    method,
    ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

describe('test hooks', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('refuses the next matching request with a scripted Atlas error code and its status, then serves again', async () => {
    expect(
      (
        await control(h, 'POST', 'fail', {
          operationId: 'createGroupDatabaseUser',
          errorCode: 'GROUP_USERS_LIMIT_EXCEEDED',
        })
      ).status,
    ).toBe(204);
    expect((await h.client.call('GET', users)).status).toBe(200);
    const refused = await h.client.call('POST', users, { body: dbUserBody(groupId) });
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ error: 403, errorCode: 'GROUP_USERS_LIMIT_EXCEEDED' });
    expect(h.sim.state.databaseUsers(groupId)).toEqual([]);
    expect((await h.client.call('POST', users, { body: dbUserBody(groupId) })).status).toBe(201);
  });

  it('scopes a failure by method and counts `times`', async () => {
    h.sim.hooks.failNext({ method: 'GET', errorCode: 'SERVICE_UNAVAILABLE', times: 2 });
    expect((await h.client.call('POST', users, { body: dbUserBody(groupId) })).status).toBe(201);
    expect((await h.client.call('GET', users)).status).toBe(503);
    expect((await h.client.call('GET', users)).status).toBe(503);
    expect((await h.client.call('GET', users)).status).toBe(200);
  });

  it('answers the next matching request with a scripted status and body, without serving it', async () => {
    const status = `/groups/${groupId}/clusters/Cluster0/status`;
    const scripted = { changeStatus: 'PENDING' };
    expect(
      (
        await control(h, 'POST', 'answer', {
          operationId: 'getGroupClusterStatus',
          status: 200,
          body: scripted,
        })
      ).status,
    ).toBe(204);
    const first = await h.client.call('GET', status);
    expect([first.status, first.json]).toEqual([200, scripted]);
    expect((await h.client.call('GET', status)).json).toMatchObject({ changeStatus: 'APPLIED' });
    expect((await control(h, 'POST', 'answer', { status: 99 })).json).toEqual({
      error: 'status: must be an HTTP status, not 99',
    });
  });

  it('holds a matching request until released, and lists it meanwhile', async () => {
    await control(h, 'POST', 'hold', { method: 'POST', operationId: 'createGroupDatabaseUser' });
    const create = h.client.call('POST', users, { body: dbUserBody(groupId) });
    const deadline = Date.now() + 5_000;
    while (h.sim.hooks.held().length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    expect((await control(h, 'GET', 'held')).json).toEqual({ held: [`POST /api/atlas/v2${users}`] });
    expect(h.sim.state.databaseUsers(groupId)).toEqual([]);
    expect((await control(h, 'POST', 'release')).json).toEqual({ released: 1 });
    expect((await create).status).toBe(201);
    expect(h.sim.state.databaseUsers(groupId)).toHaveLength(1);
  });

  it.each([
    [{ errorCode: 'NOT_A_CODE' }, /errorCode/],
    [{ operationId: 'noSuchOperation', errorCode: 'SERVICE_UNAVAILABLE' }, /operationId: .*noSuchOperation/],
    [{ errorCode: 'SERVICE_UNAVAILABLE', times: 0 }, /times/],
    [{ method: 5, errorCode: 'SERVICE_UNAVAILABLE' }, /method/],
  ])('answers 400 naming the field for a bad hook %j', async (body, message) => {
    const answer = await control(h, 'POST', 'fail', body);
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.json)).toMatch(message);
  });

  it('forgets scripted failures and releases holds on reset', async () => {
    h.sim.hooks.failNext({ errorCode: 'SERVICE_UNAVAILABLE' });
    h.sim.hooks.holdNext({ method: 'DELETE' });
    h.sim.reset();
    expect((await h.client.call('GET', users)).status).toBe(200);
  });
});
