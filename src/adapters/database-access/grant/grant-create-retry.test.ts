import { describe, expect, it } from 'vitest';
import { fakeAtlasError } from '../../../../test/fakes/fake-atlas-client.js';
import { alice, harness, projectId } from '../../../../test/kits/grant-test-kit.js';
import { usernameFor } from '../model/user-model.js';

const username = usernameFor('per-requester', alice);

describe('a create that failed without an answer', () => {
  it('is tried again in the same attempt, and the grant reports the one password Atlas holds', async () => {
    const h = harness();
    h.atlas.failNext('databaseUsers.create', fakeAtlasError(503, 'SERVICE_UNAVAILABLE'));

    const result = await h.grant();

    expect(h.atlas.callsTo('databaseUsers.create')).toHaveLength(2);
    expect(result.username).toBe(username);
    expect(JSON.stringify(result)).toContain(h.atlas.passwordOf(projectId, username) ?? 'no password set');
  });

  it('gives up after three tries with the upstream error, for the next attempt to converge', async () => {
    const h = harness();
    h.atlas.failNext('databaseUsers.create', fakeAtlasError(503, 'SERVICE_UNAVAILABLE'), 3);

    await expect(h.grant()).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(h.atlas.callsTo('databaseUsers.create')).toHaveLength(3);
  });

  it('is not tried again when Atlas refused it for a reason (400)', async () => {
    const h = harness();
    h.atlas.failNext('databaseUsers.create', fakeAtlasError(400, 'INVALID_ATTRIBUTE'));

    await expect(h.grant()).rejects.toMatchObject({ code: 'invalid_request' });
    expect(h.atlas.callsTo('databaseUsers.create')).toHaveLength(1);
  });
});
