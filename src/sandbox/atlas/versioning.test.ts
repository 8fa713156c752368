import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { field } from '../../../test/contract/digest-client.js';
import { dbUserBody, startHarness, type Harness } from '../../../test/contract/sim-harness.js';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { sandboxIds } from './default-fixture.js';

const clusters = `/groups/${sandboxIds.payments}/clusters`;

describe('versioned media types', () => {
  let h: Harness;
  afterEach(async () => h.close());

  describe('before the legacy cluster versions sunset', () => {
    beforeEach(async () => {
      h = await startHarness();
    });

    it('answers with the negotiated versioned media type', async () => {
      const result = await h.client.call('GET', clusters, { version: '2024-08-05' });
      expect(result.status).toBe(200);
      expect(result.headers.get('content-type')).toBe('application/vnd.atlas.2024-08-05+json');
    });

    it.each([
      ['no Accept header', null],
      ['application/json', 'application/json'],
      ['*/*', '*/*'],
      ['a date older than every version the operation declares', 'application/vnd.atlas.2023-06-01+json'],
      ['a malformed date', 'application/vnd.atlas.2024-8-5+json'],
    ])('refuses %s with 406 INVALID_VERSION_DATE instead of picking a default', async (_name, accept) => {
      const result = await h.client.call('GET', `/groups/${sandboxIds.analytics}/flexClusters`, { accept });
      expect(result.status).toBe(406);
      expect(result.json).toMatchObject({
        error: 406,
        errorCode: 'INVALID_VERSION_DATE',
        reason: 'Not Acceptable',
      });
      expect(result.headers.get('content-type')).toBe('application/json');
    });

    it('serves a later date with the newest version not after it, as the spec’s own GET /orgs example asks', async () => {
      // The spec's example sends 2025-03-12 to listOrgs, which declares only 2023-01-01.
      const orgs = await h.client.call('GET', '/orgs', { version: '2025-03-12' });
      expect(orgs.status).toBe(200);
      expect(orgs.headers.get('content-type')).toBe('application/vnd.atlas.2023-01-01+json');
      const between = await h.client.call('GET', `${clusters}/Cluster0`, { version: '2024-01-01' });
      expect(between.headers.get('content-type')).toBe('application/vnd.atlas.2023-02-01+json');
      expect(between.json).toMatchObject({ name: 'Cluster0' });
    });

    it('takes a body whose Content-Type date resolves to the version the Accept date does', async () => {
      const users = `/groups/${sandboxIds.payments}/databaseUsers`;
      const created = await h.client.call('POST', users, {
        body: dbUserBody(sandboxIds.payments),
        version: '2025-03-12',
      });
      expect(created.status).toBe(201);
      expect(created.headers.get('content-type')).toBe('application/vnd.atlas.2023-01-01+json');
    });

    it('still serves a deprecated cluster version before its sunset date', async () => {
      const result = await h.client.call('GET', `${clusters}/Cluster0`, { version: '2023-01-01' });
      expect(result.status).toBe(200);
      expect(result.json).toMatchObject({
        name: 'Cluster0',
        mongoURI: h.sim.connectionString(sandboxIds.payments, 'Cluster0'),
      });
    });

    it('refuses a body whose Content-Type selects no version or another one with 415', async () => {
      const body = dbUserBody(sandboxIds.payments);
      const users = `/groups/${sandboxIds.payments}/databaseUsers`;
      const plain = await h.client.call('POST', users, { body, contentType: 'application/json' });
      const mismatched = await h.client.call('POST', users, {
        body,
        contentType: 'application/vnd.atlas.2022-12-31+json',
      });
      expect([plain.status, mismatched.status]).toEqual([415, 415]);
      expect(plain.json).toMatchObject({ error: 415 });
      expect(h.sim.state.databaseUsers(sandboxIds.payments)).toEqual([]);
    });

    it('answers 404 RESOURCE_NOT_FOUND for a path it does not serve', async () => {
      const result = await h.client.call('GET', '/groups/nope/nothing/here');
      expect(result.status).toBe(404);
      expect(result.json).toMatchObject({ errorCode: 'RESOURCE_NOT_FOUND' });
    });
  });

  describe('after the legacy cluster versions sunset', () => {
    beforeEach(async () => {
      h = await startHarness({ clock: new FakeClock(Date.UTC(2027, 6, 1, 0, 0, 0)) });
    });

    it('answers 410 VERSION_GONE for a sunset version', async () => {
      const result = await h.client.call('GET', clusters, { version: '2023-02-01' });
      expect(result.status).toBe(410);
      expect(result.json).toMatchObject({ error: 410, errorCode: 'VERSION_GONE', reason: 'Gone' });
    });

    it('answers 410 for a later date whose newest version at that date has sunset', async () => {
      const result = await h.client.call('GET', clusters, { version: '2024-01-01' });
      expect(result.status).toBe(410);
    });

    it('keeps serving the current version', async () => {
      const result = await h.client.call('GET', clusters, { version: '2024-08-05' });
      expect(result.status).toBe(200);
      expect(field(result.json, 'results', 0, 'name')).toBe('Cluster0');
    });
  });
});
