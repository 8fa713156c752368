import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Access } from '../../src/sandbox/atlas/context.js';
import {
  atlasRoutes,
  createExchangeRecorder,
  sandboxIds,
  startAtlasSimulator,
  type AtlasExchange,
  type AtlasSimulator,
} from '../../src/sandbox/atlas/index.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { FakeRandom } from '../fakes/fake-random.js';
import { badRequest, runScenario } from './contract-scenario.js';
import { DigestClient } from './digest-client.js';
import {
  loadAtlasSpec,
  validateExchange,
  validateRequest,
  validateResponse,
  type AtlasSpec,
} from './openapi-validator.js';
import { defaultSpecPath, specSuiteTitle } from './spec-loader.js';
import { startHarness, testKey, testServiceAccount } from './sim-harness.js';

const spec = loadAtlasSpec();
if (!spec) console.warn(`skipping the Atlas contract test: the OpenAPI spec is not at ${defaultSpecPath}`);

/**
 * Request examples the simulator refuses on purpose, each where the spec contradicts itself; the
 * test checks they are still refused, so the list cannot go stale.
 */
const refusedExamples: Record<string, string> = {
  'createGroupDatabaseUser/LDAP Authentication':
    "puts an LDAP group in `admin`, while CloudDatabaseUser.databaseName says LDAP users authenticate against `$external`; the simulator follows the field's description",
};

/** A spec example made to fit the fixture: its project, and scopes naming a cluster that exists. */
function fitToFixture(example: unknown): unknown {
  if (typeof example !== 'object' || example === null) return example;
  const body: Record<string, unknown> = { ...example };
  if ('groupId' in body) body.groupId = sandboxIds.payments;
  if (Array.isArray(body.scopes)) {
    body.scopes = body.scopes.map((scope: unknown) => ({ ...(scope as object), name: 'Cluster0' }));
  }
  return body;
}

function isBadByDesign(exchange: AtlasExchange): boolean {
  return exchange.requestHeaders['x-contract-expect'] === badRequest['x-contract-expect'];
}

function label(e: AtlasExchange): string {
  return `${e.method} ${e.url} → ${e.status}`;
}

describe.skipIf(!spec)(
  specSuiteTitle('the Atlas simulator against the official OpenAPI spec', Boolean(spec)),
  () => {
    const theSpec = spec as AtlasSpec;
    const recorder = createExchangeRecorder();
    let sim: AtlasSimulator;

    beforeAll(async () => {
      const clock = new FakeClock();
      sim = await startAtlasSimulator({
        ...testKey,
        serviceAccounts: [testServiceAccount],
        clock,
        random: new FakeRandom(),
        onExchange: recorder.onExchange,
      });
      await runScenario(new DigestClient(sim.url, testKey.publicKey, testKey.privateKey), sim, clock);
    }, 60_000);
    afterAll(async () => sim.close());

    it('answers every request of the scenario in a way the spec allows', () => {
      const violations = recorder.exchanges.flatMap((e) =>
        validateResponse(theSpec, e).map((v) => `${label(e)}: ${v}`),
      );
      expect(violations).toEqual([]);
    });

    it('was driven only by spec-conforming requests, except the deliberately bad ones', () => {
      const violations = recorder.exchanges
        .filter((e) => !isBadByDesign(e))
        .flatMap((e) => validateRequest(theSpec, e).map((v) => `${label(e)}: ${v}`));
      expect(violations).toEqual([]);
    });

    it('flags every deliberately bad request', () => {
      const bad = recorder.exchanges.filter(isBadByDesign);
      expect(bad.length).toBeGreaterThan(0);
      expect(bad.filter((e) => validateRequest(theSpec, e).length === 0).map(label)).toEqual([]);
    });

    it('covers every operation it serves with at least one successful answer', () => {
      const succeeded = new Set(
        recorder.exchanges.filter((e) => e.status >= 200 && e.status < 300).map((e) => e.operationId),
      );
      expect(atlasRoutes.map((r) => r.operationId).filter((id) => !succeeded.has(id))).toEqual([]);
    });

    it('exercises the error statuses: 400, 401, 403, 404, 406, 409, 410, 415, 429 and 503', () => {
      const statuses = new Set(recorder.exchanges.map((e) => e.status));
      for (const status of [400, 401, 403, 404, 406, 409, 410, 415, 429, 503])
        expect(statuses, `status ${status}`).toContain(status);
    });

    it('declares the same operations, versions and sunset dates as the spec', () => {
      const mismatches: string[] = [];
      for (const route of atlasRoutes) {
        const op = theSpec.loaded.operations.find(
          (o) => o.method === route.method && o.template === `/api/atlas/v2${route.path}`,
        );
        if (!op) {
          mismatches.push(`${route.method} ${route.path}: not in the spec`);
          continue;
        }
        if (op.operationId !== route.operationId)
          mismatches.push(`${route.path}: operationId ${route.operationId} ≠ ${op.operationId}`);
        const declared = new Map<string, string | undefined>();
        for (const [status, content] of op.responses) {
          if (!status.startsWith('2')) continue;
          for (const [type, c] of Object.entries(content)) {
            const date = /^application\/vnd\.atlas\.([^+]+)\+json$/.exec(type)?.[1];
            if (date) declared.set(date, c['x-sunset']);
          }
        }
        for (const v of route.versions) {
          if (!declared.has(v.date)) mismatches.push(`${route.operationId}: version ${v.date} not declared`);
          else if (declared.get(v.date) !== v.sunset)
            mismatches.push(`${route.operationId}: ${v.date} sunset ${v.sunset} ≠ ${declared.get(v.date)}`);
        }
      }
      expect(mismatches).toEqual([]);
    });

    it("requires the role the spec's x-rolesRequirements names for every operation", () => {
      // What each simulator access level stands for, in the spec's words.
      const roleNames: Record<Access, readonly string[]> = {
        public: [],
        orgMember: ['Organization Member'],
        orgReadOnly: ['Organization Read Only'],
        orgOwner: ['Organization Owner'],
        groupRead: ['Project Read Only'],
        groupDbAdmin: ['Project Database Access Admin', 'Project Stream Processing Owner'],
        groupAccessManager: ['Project Access Manager'],
        groupBackupManager: ['Project Backup Manager'],
        groupOwner: ['Project Owner'],
      };
      const mismatches = atlasRoutes.flatMap((route) => {
        const op = theSpec.loaded.operations.find(
          (o) => o.method === route.method && o.template === `/api/atlas/v2${route.path}`,
        );
        const wanted = [...(op?.rolesRequirements ?? [])].sort().join(', ');
        const served = [...roleNames[route.access]].sort().join(', ');
        return op && wanted !== served ? [`${route.operationId}: ${route.access} ≠ ${wanted}`] : [];
      });
      expect(mismatches).toEqual([]);
    });

    it("accepts the spec's own request examples for the operations it serves", async () => {
      const h = await startHarness();
      const outcomes: string[] = [];
      try {
        for (const route of atlasRoutes.filter(
          (r) => r.method === 'POST' && !/\{(?!groupId|orgId)/.test(r.path),
        )) {
          const op = theSpec.loaded.operations.find(
            (o) => o.method === route.method && o.template === `/api/atlas/v2${route.path}`,
          );
          for (const [type, content] of Object.entries(op?.requestBody?.content ?? {})) {
            const version = /^application\/vnd\.atlas\.([^+]+)\+json$/.exec(type)?.[1];
            for (const [name, example] of Object.entries(content.examples ?? {})) {
              const path = route.path
                .replace('{groupId}', sandboxIds.payments)
                .replace('{orgId}', sandboxIds.org);
              const result = await h.client.call('POST', path, {
                body: fitToFixture(example.value),
                ...(version ? { version } : {}),
              });
              const key = `${route.operationId}/${name}`;
              const expected = refusedExamples[key] === undefined ? 'accepted' : 'refused';
              const got = result.status < 300 ? 'accepted' : 'refused';
              outcomes.push(`${key}: ${got === expected ? 'as expected' : `${got} (${result.text})`}`);
            }
          }
        }
      } finally {
        await h.close();
      }
      expect(outcomes.length).toBeGreaterThan(0);
      expect(outcomes.filter((o) => !o.endsWith(': as expected'))).toEqual([]);
    });

    it('catches a response that breaks the spec', () => {
      const good = recorder.exchanges.find(
        (e) => e.operationId === 'getGroupDatabaseUser' && e.status === 200,
      );
      expect(good).toBeDefined();
      if (!good) return;
      expect(validateExchange(theSpec, good)).toEqual([]);
      const body = good.responseBody as Record<string, unknown>;
      const tampered = (changes: Partial<AtlasExchange>): string[] =>
        validateResponse(theSpec, { ...good, ...changes });
      expect(tampered({ responseBody: { ...body, roles: 'read' } }).join('\n')).toMatch(
        /response body\/roles must be array/,
      );
      expect(tampered({ responseBody: { ...body, password: 'leaked' } }).join('\n')).toMatch(
        /password is writeOnly/,
      );
      expect(tampered({ responseBody: { ...body, databaseName: 'local' } }).join('\n')).toMatch(
        /allowed values/,
      );
      expect(tampered({ responseBody: { ...body, nickname: 'al' } }).join('\n')).toMatch(
        /nickname is not declared/,
      );
      expect(tampered({ status: 201 }).join('\n')).toMatch(/status 201 is not declared/);
      expect(tampered({ responseHeaders: { 'content-type': 'application/json' } }).join('\n')).toMatch(
        /should be application\/vnd\.atlas\.2023-01-01\+json/,
      );
      const clusters = recorder.exchanges.find(
        (e) => e.operationId === 'listGroupClusters' && e.status === 200,
      );
      const page = clusters?.responseBody as { results: Record<string, unknown>[] } | undefined;
      const badCluster = { ...page, results: [{ ...page?.results[0], clusterType: 'RING' }] };
      expect(
        clusters && validateResponse(theSpec, { ...clusters, responseBody: badCluster }).join('\n'),
      ).toMatch(/results\/0\/clusterType/);
      const orgUser = recorder.exchanges.find((e) => e.operationId === 'getOrgUser' && e.status === 200);
      const { firstName: _dropped, ...withoutName } = orgUser?.responseBody as Record<string, unknown>;
      expect(orgUser && validateResponse(theSpec, { ...orgUser, responseBody: withoutName })).not.toEqual([]);
      const error = recorder.exchanges.find((e) => e.status === 404);
      expect(
        error && validateResponse(theSpec, { ...error, responseBody: { error: 404 } }).join('\n'),
      ).toMatch(/errorCode/);
    });
  },
);
