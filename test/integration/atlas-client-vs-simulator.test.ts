/**
 * The Atlas simulator's rules, each exercised through the REAL client (`src/atlas`), as issue #3
 * asks: every rule is reached through the client's typed methods and asserted on the
 * ConnectorError it becomes (code, Atlas error code, HTTP status) or on its visible effect.
 *
 * Time-dependent rules run the simulator on a FakeClock; the client keeps the real clock unless a
 * test has to step the client's retry sleeps too, in which case both share one FakeClock.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createAtlasClient,
  paginate,
  projectLimitNames,
  unlimitedRateLimiter,
  type AtlasClient,
  type AtlasCredentials,
  type DatabaseUserInput,
} from '../../src/atlas/index.js';
import { isConnectorError, type ConnectorError } from '../../src/errors/connector-error.js';
import type { ErrorCode } from '../../src/errors/error-codes.js';
import type { BackoffPolicy } from '../../src/runtime/backoff.js';
import { systemClock, type Clock } from '../../src/runtime/clock.js';
import { cryptoRandom, type Random } from '../../src/runtime/random.js';
import {
  createExchangeRecorder,
  sandboxIds,
  startAtlasSimulator,
  type AtlasExchange,
  type AtlasSimulator,
  type KnobsPatch,
} from '../../src/sandbox/atlas/index.js';
import { bearerCall } from '../contract/digest-client.js';
import { FakeClock, settleUntil } from '../fakes/fake-clock.js';
import { FakeRandom } from '../fakes/fake-random.js';
import { captureLogs, type LogCapture } from '../fakes/log-capture.js';
import { createHttpClient } from '../../src/runtime/http.js';

const { payments, analytics } = sandboxIds;

const apiKey = { publicKey: 'itestkey', privateKey: 'priv-0c7a41e9-integration-private-key' } as const;
const wrongPrivateKey = 'priv-deadbeef-not-the-right-private-key';
const serviceAccount = {
  clientId: 'mdb_sa_id_6607000000000000000000bb',
  clientSecret: 'mdb_sa_sk_integration-client-secret',
} as const;
const wrongClientSecret = 'mdb_sa_sk_not-the-right-client-secret';

const minuteMs = 60_000;
const hourMs = 60 * minuteMs;
const dayMs = 24 * hourMs;

const apiRoute = (template: string): string => `/api/atlas/v2${template}`;
const routes = {
  clusters: `GET ${apiRoute('/groups/{groupId}/clusters')}`,
  project: `GET ${apiRoute('/groups/{groupId}')}`,
  createUser: `POST ${apiRoute('/groups/{groupId}/databaseUsers')}`,
  listUsers: `GET ${apiRoute('/groups/{groupId}/databaseUsers')}`,
  token: 'POST /api/oauth/token',
  revoke: 'POST /api/oauth/revoke',
} as const;

// ---------------------------------------------------------------------------------------------
// What the whole file provokes, for the closing "no secret leaks" check.

/** Every secret this file hands to the client or the simulator. */
const secrets = new Set<string>([
  apiKey.privateKey,
  wrongPrivateKey,
  serviceAccount.clientSecret,
  wrongClientSecret,
]);
/** Every ConnectorError any test saw, and every log the clients wrote. */
const seenErrors: ConnectorError[] = [];
const logCaptures: LogCapture[] = [];

/** A database-user password, remembered as a secret. */
function issuePassword(label: string): string {
  const password = `pw-${label}-${randomUUID()}`;
  secrets.add(password);
  return password;
}

// ---------------------------------------------------------------------------------------------
// Wiring.

const openSims: AtlasSimulator[] = [];

afterEach(async () => {
  await Promise.all(openSims.splice(0).map((sim) => sim.close()));
});

async function startSim(options: { clock?: FakeClock; knobs?: KnobsPatch } = {}) {
  const recorder = createExchangeRecorder();
  const sim = await startAtlasSimulator({
    ...apiKey,
    serviceAccounts: [serviceAccount],
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.knobs ? { knobs: options.knobs } : {}),
    onExchange: recorder.onExchange,
  });
  openSims.push(sim);
  return { sim, exchanges: recorder.exchanges as readonly AtlasExchange[] };
}

interface ClientOptions {
  readonly credentials?: AtlasCredentials;
  /** Counts the client's reads and invalidations of its credential. */
  readonly credentialUse?: { gets: number; invalidations: number };
  readonly clock?: Clock;
  readonly random?: Random;
  readonly maxRetries?: number;
  /** How long a call keeps retrying 429s (every operation); 0: it never does. */
  readonly rateLimitBudgetMs?: number;
  readonly backoff?: BackoffPolicy;
  /** Sees every OAuth token the client mints (each also joins the closing secrets check). */
  readonly onSecret?: (value: string) => void;
}

/** Tiny retry windows: a retried 5xx costs milliseconds, while `Retry-After` still sets the floor. */
const fastBackoff: BackoffPolicy = { baseMs: 1, capMs: 5 };

function clientFor(sim: AtlasSimulator, options: ClientOptions = {}): AtlasClient {
  const logs = captureLogs();
  logCaptures.push(logs);
  const credentials: AtlasCredentials = options.credentials ?? { type: 'api-key', ...apiKey };
  return createAtlasClient({
    baseUrl: sim.url,
    credentials: {
      get: async () => {
        if (options.credentialUse) options.credentialUse.gets += 1;
        return credentials;
      },
      invalidate: () => {
        if (options.credentialUse) options.credentialUse.invalidations += 1;
      },
    },
    fetch: createHttpClient(),
    clock: options.clock ?? systemClock,
    random: options.random ?? cryptoRandom,
    logger: logs.logger,
    userAgent: 'atlas-jit-connector/integration-test',
    rateLimiter: unlimitedRateLimiter,
    backoff: options.backoff ?? fastBackoff,
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    ...(options.rateLimitBudgetMs === undefined ? {} : { rateLimitBudgetMs: options.rateLimitBudgetMs }),
    onSecret: (value) => {
      secrets.add(value);
      options.onSecret?.(value);
    },
  });
}

/** `reason` as a ConnectorError, remembered for the closing secrets check. */
function recordFailure(reason: unknown): ConnectorError {
  if (!isConnectorError(reason)) expect.fail(`expected a ConnectorError, got ${String(reason)}`);
  seenErrors.push(reason);
  return reason;
}

/** The ConnectorError `promise` rejects with (failing the test if it resolves or throws anything else). */
async function failureOf(promise: Promise<unknown>): Promise<ConnectorError> {
  const outcome = await promise.then(
    (value: unknown) => ({ resolved: value }),
    (error: unknown) => ({ rejected: error }),
  );
  if (!('rejected' in outcome)) expect.fail(`expected a rejection, got ${JSON.stringify(outcome.resolved)}`);
  return recordFailure(outcome.rejected);
}

async function expectAtlasError(
  promise: Promise<unknown>,
  code: ErrorCode,
  atlasErrorCode: string,
  httpStatus: number,
): Promise<ConnectorError> {
  const error = await failureOf(promise);
  expect({
    code: error.code,
    atlasErrorCode: error.details.atlasErrorCode,
    httpStatus: error.details.httpStatus,
  }).toEqual({ code, atlasErrorCode, httpStatus });
  return error;
}

function isoIn(clock: Clock, ms: number): string {
  return new Date(clock.now() + ms).toISOString();
}

/** A valid permanent SCRAM user in `payments`, to tweak per test. */
function scramUser(username: string, overrides: Partial<DatabaseUserInput> = {}): DatabaseUserInput {
  return {
    groupId: payments,
    username,
    databaseName: 'admin',
    password: issuePassword(username),
    roles: [{ roleName: 'read', databaseName: 'sales' }],
    ...overrides,
  };
}

const findOnSales = [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: '' }] }];

/** Creates `count` custom roles `<prefix>-000`… in `payments`, ten at a time. */
async function createCustomRoles(atlas: AtlasClient, prefix: string, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
  for (let i = 0; i < names.length; i += 10) {
    await Promise.all(
      names
        .slice(i, i + 10)
        .map((roleName) => atlas.customDbRoles.create(payments, { roleName, actions: findOnSales })),
    );
  }
  return names;
}

/** Rate limiting off, for tests that make more calls than one project bucket holds. */
const unlimitedKnobs: KnobsPatch = { rateLimit: { enabled: false } };

// ---------------------------------------------------------------------------------------------

describe('authentication through the real client', () => {
  it('pays the Digest challenge once and then costs one request per call, sequential or concurrent', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim);

    await atlas.clusters.list(payments);
    expect(sim.stats.count(routes.clusters, 401)).toBe(1);
    expect(sim.stats.count(routes.clusters, 200)).toBe(1);
    expect(sim.stats.total).toBe(2);

    for (let i = 0; i < 5; i += 1) await atlas.clusters.get(payments, 'Cluster0');
    await Promise.all(Array.from({ length: 5 }, () => atlas.clusters.list(payments)));

    expect(sim.stats.total).toBe(2 + 10);
    expect(sim.stats.count(undefined, 401)).toBe(1);
  });

  it('fails with auth_failed (401 UNAUTHORIZED) when the private key is wrong, after re-reading it once', async () => {
    const { sim } = await startSim();
    const credentialUse = { gets: 0, invalidations: 0 };
    const atlas = clientFor(sim, {
      credentials: { type: 'api-key', publicKey: apiKey.publicKey, privateKey: wrongPrivateKey },
      credentialUse,
    });

    await expectAtlasError(atlas.projects.get(payments), 'auth_failed', 'UNAUTHORIZED', 401);
    expect(sim.stats.count(undefined, 200)).toBe(0);
    expect(credentialUse).toEqual({ gets: 2, invalidations: 1 });
  });

  it('serves a service account over OAuth and re-mints a token the simulator has expired', async () => {
    const clock = new FakeClock();
    const { sim } = await startSim({ clock });
    const credentialUse = { gets: 0, invalidations: 0 };
    const atlas = clientFor(sim, {
      credentials: { type: 'service-account', ...serviceAccount },
      credentialUse,
    });

    expect((await atlas.projects.get(payments)).name).toBe('payments');
    await atlas.clusters.list(payments);
    expect(sim.stats.count(routes.token, 200)).toBe(1);

    // The simulator's clock passes the token's lifetime; the client's own clock does not know.
    await clock.advance(3_600_000 + 1_000);
    expect((await atlas.projects.get(payments)).name).toBe('payments');

    expect(sim.stats.count(routes.project, 401)).toBe(1);
    expect(sim.stats.count(routes.token, 200)).toBe(2);
    expect(sim.stats.count(routes.project, 200)).toBe(2);
    // An expired token is not a bad credential: the secret is not read again.
    expect(credentialUse).toEqual({ gets: 1, invalidations: 0 });
  });

  it('revokes the token a re-mint replaced, so the simulator refuses it afterwards, and the last on close', async () => {
    // One clock for both: the client re-mints a minute before the simulator would expire the token.
    const clock = new FakeClock();
    const { sim } = await startSim({ clock });
    const minted: string[] = [];
    const atlas = clientFor(sim, {
      credentials: { type: 'service-account', ...serviceAccount },
      clock,
      onSecret: (value) => minted.push(value),
    });
    await atlas.projects.get(payments);
    await clock.advance(hourMs - minuteMs);

    expect((await atlas.projects.get(payments)).name).toBe('payments');
    await settleUntil(() => sim.stats.count(routes.revoke, 200) === 1, 'the replaced token to be revoked');

    const [replaced, current] = minted;
    expect((await bearerCall(sim.url, String(replaced), 'GET', `/groups/${payments}`)).status).toBe(401);
    expect((await bearerCall(sim.url, String(current), 'GET', `/groups/${payments}`)).status).toBe(200);
    await atlas.close();
    expect((await bearerCall(sim.url, String(current), 'GET', `/groups/${payments}`)).status).toBe(401);
    expect(sim.stats.count(routes.revoke, 200)).toBe(2);
  });

  it('fails with auth_failed when the service account secret is wrong', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim, {
      credentials: {
        type: 'service-account',
        clientId: serviceAccount.clientId,
        clientSecret: wrongClientSecret,
      },
    });

    const error = await failureOf(atlas.projects.get(payments));
    expect(error.code).toBe('auth_failed');
    expect(error.details).toMatchObject({ atlasErrorCode: 'invalid_client', httpStatus: 401 });
    expect(sim.stats.count(routes.project)).toBe(0);
  });
});

describe('deleteAfterDate through the real client', () => {
  it('refuses a deleteAfterDate in the past with EXPIRATION_DATE_IN_PAST', async () => {
    const clock = new FakeClock();
    const { sim } = await startSim({ clock });
    const atlas = clientFor(sim);

    await expectAtlasError(
      atlas.databaseUsers.create(
        payments,
        scramUser('jit-past', { deleteAfterDate: isoIn(clock, -minuteMs) }),
      ),
      'invalid_request',
      'EXPIRATION_DATE_IN_PAST',
      400,
    );
    expect(sim.state.databaseUser(payments, 'jit-past')).toBeUndefined();
  });

  it('refuses a deleteAfterDate more than 7 days ahead with EXPIRATION_DATE_EXCEEDS_MAX, and accepts exactly 7 days', async () => {
    const clock = new FakeClock();
    const { sim } = await startSim({ clock });
    const atlas = clientFor(sim);

    await expectAtlasError(
      atlas.databaseUsers.create(
        payments,
        scramUser('jit-far', { deleteAfterDate: isoIn(clock, 7 * dayMs + minuteMs) }),
      ),
      'invalid_request',
      'EXPIRATION_DATE_EXCEEDS_MAX',
      400,
    );
    expect(sim.state.databaseUser(payments, 'jit-far')).toBeUndefined();

    const created = await atlas.databaseUsers.create(
      payments,
      scramUser('jit-week', { deleteAfterDate: isoIn(clock, 7 * dayMs) }),
    );
    expect(Date.parse(created.deleteAfterDate ?? '')).toBe(clock.now() + 7 * dayMs);
  });

  it('refuses a PATCH that gives a permanent user a deleteAfterDate (PERMANENT_ENTITY_CANNOT_BE_MADE_TEMPORARY)', async () => {
    const clock = new FakeClock();
    const { sim } = await startSim({ clock });
    const atlas = clientFor(sim);
    await atlas.databaseUsers.create(payments, scramUser('svc-permanent'));

    await expectAtlasError(
      atlas.databaseUsers.update(payments, 'admin', 'svc-permanent', {
        deleteAfterDate: isoIn(clock, hourMs),
      }),
      'invalid_request',
      'PERMANENT_ENTITY_CANNOT_BE_MADE_TEMPORARY',
      400,
    );
    expect(sim.state.databaseUser(payments, 'svc-permanent')?.deleteAfterDate).toBeUndefined();
  });

  it('makes the user disappear (USERNAME_NOT_FOUND) once the simulator clock passes its deleteAfterDate', async () => {
    const clock = new FakeClock();
    const { sim } = await startSim({ clock });
    const atlas = clientFor(sim);
    await atlas.databaseUsers.create(
      payments,
      scramUser('jit-expiring', { deleteAfterDate: isoIn(clock, hourMs) }),
    );

    await clock.advance(hourMs - 1);
    expect((await atlas.databaseUsers.get(payments, 'admin', 'jit-expiring')).username).toBe('jit-expiring');

    await clock.advance(2);
    await expectAtlasError(
      atlas.databaseUsers.get(payments, 'admin', 'jit-expiring'),
      'not_found',
      'USERNAME_NOT_FOUND',
      404,
    );
    const listed = await atlas.databaseUsers.list(payments);
    expect(listed.results.map((u) => u.username)).not.toContain('jit-expiring');
  });
});

describe('project quotas through the real client', () => {
  it('refuses the 101st database user of a project with quota_exceeded (GROUP_USERS_LIMIT_EXCEEDED)', async () => {
    const { sim } = await startSim({ knobs: unlimitedKnobs });
    const atlas = clientFor(sim);
    const password = issuePassword('bulk');
    for (let i = 0; i < 100; i += 1) {
      await atlas.databaseUsers.create(payments, scramUser(`bulk-${i}`, { password }));
    }

    await expectAtlasError(
      atlas.databaseUsers.create(payments, scramUser('bulk-100', { password })),
      'quota_exceeded',
      'GROUP_USERS_LIMIT_EXCEEDED',
      403,
    );
    expect(sim.state.databaseUsers(payments)).toHaveLength(100);
    const limit = await atlas.projectLimits.get(payments, projectLimitNames.databaseUsers);
    expect(limit).toMatchObject({ value: 100, currentUsage: 100 });
  });

  it('refuses the 101st custom role of a project with quota_exceeded (CUSTOM_ROLES_LIMIT_EXCEEDED)', async () => {
    const { sim } = await startSim({ knobs: unlimitedKnobs });
    const atlas = clientFor(sim);
    await createCustomRoles(atlas, 'quota', 100);

    await expectAtlasError(
      atlas.customDbRoles.create(payments, { roleName: 'quota-100', actions: findOnSales }),
      'quota_exceeded',
      'CUSTOM_ROLES_LIMIT_EXCEEDED',
      403,
    );
    expect(sim.state.customRoles(payments)).toHaveLength(100);
  });

  it('lets the 101st custom role in once the project limit is raised to 150', async () => {
    const { sim } = await startSim({ knobs: unlimitedKnobs });
    const atlas = clientFor(sim);
    await createCustomRoles(atlas, 'raised', 100);

    const limit = await atlas.projectLimits.set(payments, projectLimitNames.customRoles, 150);
    expect(limit).toMatchObject({ value: 150, currentUsage: 100 });
    const created = await atlas.customDbRoles.create(payments, {
      roleName: 'raised-100',
      actions: findOnSales,
    });

    expect(created.roleName).toBe('raised-100');
    expect(await atlas.customDbRoles.list(payments)).toHaveLength(101);
  });

  it('accepts a custom-role limit of 1400 and refuses 1401 with INVALID_ATTRIBUTE', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim);

    expect(await atlas.projectLimits.set(payments, projectLimitNames.customRoles, 1400)).toMatchObject({
      value: 1400,
      maximumLimit: 1400,
    });
    await expectAtlasError(
      atlas.projectLimits.set(payments, projectLimitNames.customRoles, 1401),
      'invalid_request',
      'INVALID_ATTRIBUTE',
      400,
    );
    expect((await atlas.projectLimits.get(payments, projectLimitNames.customRoles)).value).toBe(1400);
  });
});

describe('custom roles through the real client', () => {
  it('refuses to delete a custom role a user holds (conflict, ATLAS_CUSTOM_ROLE_IN_USE_BY_USERS)', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim);
    await atlas.customDbRoles.create(payments, { roleName: 'jit-held', actions: findOnSales });
    await atlas.databaseUsers.create(
      payments,
      scramUser('holder', { roles: [{ roleName: 'jit-held', databaseName: 'admin' }] }),
    );

    await expectAtlasError(
      atlas.customDbRoles.delete(payments, 'jit-held'),
      'conflict',
      'ATLAS_CUSTOM_ROLE_IN_USE_BY_USERS',
      409,
    );
    expect((await atlas.customDbRoles.get(payments, 'jit-held')).roleName).toBe('jit-held');

    await atlas.databaseUsers.delete(payments, 'admin', 'holder');
    await atlas.customDbRoles.delete(payments, 'jit-held');
    expect(sim.state.customRoles(payments)).toEqual([]);
  });

  it('refuses a second custom role with the same name (conflict, ATLAS_CUSTOM_ROLE_NAME_ALREADY_EXISTS)', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim);
    await atlas.customDbRoles.create(payments, { roleName: 'jit-dup', actions: findOnSales });

    await expectAtlasError(
      atlas.customDbRoles.create(payments, {
        roleName: 'jit-dup',
        actions: [{ action: 'INSERT', resources: [{ cluster: false, db: 'sales', collection: '' }] }],
      }),
      'conflict',
      'ATLAS_CUSTOM_ROLE_NAME_ALREADY_EXISTS',
      409,
    );
    expect(sim.state.customRoles(payments).map((r) => r.actions.map((a) => a.action))).toEqual([['FIND']]);
  });

  it('answers not_found (ATLAS_CUSTOM_ROLE_NOT_FOUND) for an unknown custom role', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim);

    await expectAtlasError(
      atlas.customDbRoles.get(payments, 'no-such-role'),
      'not_found',
      'ATLAS_CUSTOM_ROLE_NOT_FOUND',
      404,
    );
    await expectAtlasError(
      atlas.customDbRoles.update(payments, 'no-such-role', { actions: findOnSales }),
      'not_found',
      'ATLAS_CUSTOM_ROLE_NOT_FOUND',
      404,
    );
  });

  it('lets a database user hold 20 custom roles but not 21 (VALIDATION_ERROR)', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim);
    const names = await createCustomRoles(atlas, 'per-user', 21);
    const grants = names.map((roleName) => ({ roleName, databaseName: 'admin' }));

    await expectAtlasError(
      atlas.databaseUsers.create(payments, scramUser('greedy', { roles: grants })),
      'invalid_request',
      'VALIDATION_ERROR',
      400,
    );
    expect(sim.state.databaseUser(payments, 'greedy')).toBeUndefined();

    const created = await atlas.databaseUsers.create(
      payments,
      scramUser('modest', { roles: grants.slice(0, 20) }),
    );
    expect(created.roles).toHaveLength(20);
    await expectAtlasError(
      atlas.databaseUsers.update(payments, 'admin', 'modest', { roles: grants }),
      'invalid_request',
      'VALIDATION_ERROR',
      400,
    );
    expect(sim.state.databaseUser(payments, 'modest')?.roles).toHaveLength(20);
  });
});

describe('database-user validation through the real client', () => {
  it('refuses an unknown role with invalid_request ATLAS_INVALID_ROLE', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim);

    await expectAtlasError(
      atlas.databaseUsers.create(
        payments,
        scramUser('bad-role', { roles: [{ roleName: 'readEverything', databaseName: 'sales' }] }),
      ),
      'invalid_request',
      'ATLAS_INVALID_ROLE',
      400,
    );
    expect(sim.state.databaseUser(payments, 'bad-role')).toBeUndefined();
  });

  it('refuses readAnyDatabase on a database other than admin with ATLAS_INVALID_ROLE_DATABASE', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim);

    await expectAtlasError(
      atlas.databaseUsers.create(
        payments,
        scramUser('bad-db', { roles: [{ roleName: 'readAnyDatabase', databaseName: 'sales' }] }),
      ),
      'invalid_request',
      'ATLAS_INVALID_ROLE_DATABASE',
      400,
    );
    const ok = await atlas.databaseUsers.create(
      payments,
      scramUser('good-db', { roles: [{ roleName: 'readAnyDatabase', databaseName: 'admin' }] }),
    );
    expect(ok.roles).toEqual([{ roleName: 'readAnyDatabase', databaseName: 'admin' }]);
    expect(sim.state.databaseUser(payments, 'bad-db')).toBeUndefined();
  });

  it('refuses a CLUSTER scope naming a cluster the project does not have (404 CLUSTER_NOT_FOUND)', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim);

    // The simulator answers 404 here (a documented guess), which the client maps to not_found.
    await expectAtlasError(
      atlas.databaseUsers.create(
        payments,
        scramUser('bad-scope', { scopes: [{ name: 'Missing0', type: 'CLUSTER' }] }),
      ),
      'not_found',
      'CLUSTER_NOT_FOUND',
      404,
    );
    // A cluster of another project is just as missing.
    await expectAtlasError(
      atlas.databaseUsers.create(
        payments,
        scramUser('bad-scope', { scopes: [{ name: 'Analytics', type: 'CLUSTER' }] }),
      ),
      'not_found',
      'CLUSTER_NOT_FOUND',
      404,
    );
    expect(sim.state.databaseUser(payments, 'bad-scope')).toBeUndefined();
  });

  it('refuses a description over 100 characters with INVALID_ATTRIBUTE and accepts exactly 100', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim);

    await expectAtlasError(
      atlas.databaseUsers.create(payments, scramUser('wordy', { description: 'd'.repeat(101) })),
      'invalid_request',
      'INVALID_ATTRIBUTE',
      400,
    );
    expect(sim.state.databaseUser(payments, 'wordy')).toBeUndefined();
    const created = await atlas.databaseUsers.create(
      payments,
      scramUser('terse', { description: 'd'.repeat(100) }),
    );
    expect(created.description).toHaveLength(100);
  });

  it('refuses a label value over 255 characters with INVALID_ATTRIBUTE and accepts exactly 255', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim);

    await expectAtlasError(
      atlas.databaseUsers.create(
        payments,
        scramUser('long-label', { labels: [{ key: 'grant', value: 'v'.repeat(256) }] }),
      ),
      'invalid_request',
      'INVALID_ATTRIBUTE',
      400,
    );
    expect(sim.state.databaseUser(payments, 'long-label')).toBeUndefined();
    const created = await atlas.databaseUsers.create(
      payments,
      scramUser('fit-label', { labels: [{ key: 'grant', value: 'v'.repeat(255) }] }),
    );
    expect(created.labels?.[0]?.value).toHaveLength(255);
  });

  it('replaces roles, scopes and labels wholesale on PATCH and keeps every omitted field', async () => {
    const clock = new FakeClock();
    const { sim } = await startSim({ clock });
    const atlas = clientFor(sim);
    const password = issuePassword('patched');
    const deleteAfterDate = isoIn(clock, dayMs);
    await atlas.databaseUsers.create(payments, {
      groupId: payments,
      username: 'patched',
      databaseName: 'admin',
      password,
      roles: [
        { roleName: 'read', databaseName: 'sales' },
        { roleName: 'readWrite', databaseName: 'inventory' },
      ],
      scopes: [
        { name: 'Cluster0', type: 'CLUSTER' },
        { name: 'Private0', type: 'CLUSTER' },
      ],
      labels: [
        { key: 'grant', value: 'g-1' },
        { key: 'owner', value: 'alice' },
      ],
      description: 'before the patch',
      deleteAfterDate,
    });

    const afterRoles = await atlas.databaseUsers.update(payments, 'admin', 'patched', {
      roles: [{ roleName: 'read', databaseName: 'inventory' }],
    });
    expect(afterRoles.roles).toEqual([{ roleName: 'read', databaseName: 'inventory' }]);
    expect(afterRoles.labels).toEqual([
      { key: 'grant', value: 'g-1' },
      { key: 'owner', value: 'alice' },
    ]);
    expect(afterRoles.scopes).toHaveLength(2);

    await atlas.databaseUsers.update(payments, 'admin', 'patched', {
      scopes: [{ name: 'Private0', type: 'CLUSTER' }],
      labels: [{ key: 'grant', value: 'g-2' }],
    });
    const fetched = await atlas.databaseUsers.get(payments, 'admin', 'patched');
    expect(fetched).toMatchObject({
      roles: [{ roleName: 'read', databaseName: 'inventory' }],
      scopes: [{ name: 'Private0', type: 'CLUSTER' }],
      labels: [{ key: 'grant', value: 'g-2' }],
      description: 'before the patch',
    });
    expect(Date.parse(fetched.deleteAfterDate ?? '')).toBe(Date.parse(deleteAfterDate));
    expect(sim.state.checkPassword(payments, 'patched', password)).toBe(true);
  });
});

describe('propagation through the real client', () => {
  it('reports the cluster PENDING right after a user change and APPLIED after the propagation delay', async () => {
    const clock = new FakeClock();
    const { sim } = await startSim({ clock, knobs: { propagationDelayMs: 500 } });
    const atlas = clientFor(sim);
    expect((await atlas.clusters.status(payments, 'Cluster0')).changeStatus).toBe('APPLIED');

    await atlas.databaseUsers.create(payments, scramUser('propagating'));
    expect((await atlas.clusters.status(payments, 'Cluster0')).changeStatus).toBe('PENDING');
    await clock.advance(499);
    expect((await atlas.clusters.status(payments, 'Cluster0')).changeStatus).toBe('PENDING');
    await clock.advance(1);
    expect((await atlas.clusters.status(payments, 'Cluster0')).changeStatus).toBe('APPLIED');
    // Propagation is per project: the other project never went PENDING.
    expect((await atlas.clusters.status(analytics, 'Analytics')).changeStatus).toBe('APPLIED');
  });
});

describe('token-bucket rate limiting through the real client', () => {
  const tinyBucket: KnobsPatch = {
    rateLimit: { project: { capacity: 2, refillAmount: 2, refillIntervalSeconds: 60 } },
  };

  it('surfaces rate_limited with retryAfterMs from Retry-After when the client may not retry', async () => {
    const clock = new FakeClock();
    const { sim, exchanges } = await startSim({ clock, knobs: tinyBucket });
    const atlas = clientFor(sim, { maxRetries: 0, rateLimitBudgetMs: 0 });
    await atlas.identity.status(); // answers the Digest challenge outside the project bucket

    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => atlas.clusters.list(payments)));

    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [recordFailure(o.reason)] : []));
    expect(failures).toHaveLength(3);
    const limited = exchanges.filter((e) => e.status === 429);
    expect(limited).toHaveLength(3);
    const retryAfterSeconds = Number(limited[0]?.responseHeaders['retry-after']);
    expect(retryAfterSeconds).toBe(60);
    for (const error of failures) {
      expect(error).toMatchObject({
        code: 'rate_limited',
        retryable: true,
        retryAfterMs: retryAfterSeconds * 1000,
        details: { atlasErrorCode: 'RATE_LIMITED_TOKEN_BUCKET', httpStatus: 429 },
      });
    }
    expect(sim.stats.count(routes.clusters)).toBe(5);
  });

  it('gets a whole burst through once the client may retry and its clock can wait out Retry-After', async () => {
    const clock = new FakeClock();
    const { sim } = await startSim({ clock, knobs: tinyBucket });
    const atlas = clientFor(sim, {
      clock,
      random: new FakeRandom(),
      maxRetries: 4,
      rateLimitBudgetMs: 10 * minuteMs,
    });
    await atlas.identity.status();

    let unsettled = 6;
    const burst = Promise.all(
      Array.from({ length: unsettled }, () =>
        atlas.clusters.list(payments).finally(() => {
          unsettled -= 1;
        }),
      ),
    );
    // Step time only when every unfinished call is asleep on the client's clock.
    while (unsettled > 0) {
      if (clock.pending > 0 && clock.pending === unsettled) await clock.advance(minuteMs);
      else await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const pages = await burst;

    expect(pages.map((p) => p.results.map((c) => c.name))).toEqual(
      Array.from({ length: 6 }, () => ['Cluster0', 'Private0']),
    );
    expect(sim.stats.count(routes.clusters, 429)).toBeGreaterThan(0);
    expect(sim.stats.count(routes.clusters, 200)).toBe(6);
  });
});

describe('pagination through the real client', () => {
  it('honours itemsPerPage, reports hasNext, and paginate() yields every user exactly once', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim);
    const usernames = Array.from({ length: 7 }, (_, i) => `paged-${i}`);
    for (const username of usernames) await atlas.databaseUsers.create(payments, scramUser(username));

    const first = await atlas.databaseUsers.list(payments, { itemsPerPage: 3 });
    expect(first).toMatchObject({ pageNum: 1, hasNext: true, totalCount: 7 });
    expect(first.results).toHaveLength(3);
    const last = await atlas.databaseUsers.list(payments, { itemsPerPage: 3, pageNum: 3 });
    expect(last).toMatchObject({ pageNum: 3, hasNext: false });
    expect(last.results).toHaveLength(1);

    const listsBefore = sim.stats.count(routes.listUsers);
    const seen: string[] = [];
    for await (const user of paginate((page) => atlas.databaseUsers.list(payments, page), {
      itemsPerPage: 3,
    })) {
      seen.push(user.username);
    }
    expect([...seen].sort()).toEqual([...usernames].sort());
    expect(sim.stats.count(routes.listUsers) - listsBefore).toBe(3);
  });
});

describe('not-found answers through the real client', () => {
  const cases: [string, string, (atlas: AtlasClient) => Promise<unknown>][] = [
    ['GROUP_NOT_FOUND', 'project', (atlas) => atlas.projects.get('6602000000000000000000ff')],
    ['CLUSTER_NOT_FOUND', 'cluster', (atlas) => atlas.clusters.get(payments, 'Nope0')],
    ['USERNAME_NOT_FOUND', 'database user', (atlas) => atlas.databaseUsers.get(payments, 'admin', 'nobody')],
  ];
  it.each(cases)(
    'answers not_found %s for an unknown %s, without retrying',
    async (atlasErrorCode, _what, call) => {
      const { sim } = await startSim();
      const atlas = clientFor(sim);
      await atlas.identity.status();
      const before = sim.stats.total;

      await expectAtlasError(call(atlas), 'not_found', atlasErrorCode, 404);
      expect(sim.stats.total - before).toBe(1);
    },
  );
});

describe('fault injection through the real client', () => {
  it('retries a GET that always meets a 5xx, then gives up with upstream_unavailable', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim, { maxRetries: 2 });
    await atlas.identity.status();
    sim.knobs.faults.serverErrorRate = 1;

    await expectAtlasError(atlas.clusters.list(payments), 'upstream_unavailable', 'UNEXPECTED_ERROR', 500);
    expect(sim.stats.count(routes.clusters, 500)).toBe(3);
    expect(sim.stats.count(routes.clusters)).toBe(3);
  });

  it('never retries a POST that meets a 5xx: exactly one request reaches the simulator', async () => {
    const { sim } = await startSim();
    const atlas = clientFor(sim, { maxRetries: 4 });
    await atlas.identity.status();
    sim.knobs.faults.serverErrorRate = 1;

    await expectAtlasError(
      atlas.databaseUsers.create(payments, scramUser('faulted')),
      'upstream_unavailable',
      'UNEXPECTED_ERROR',
      500,
    );
    expect(sim.stats.count(routes.createUser)).toBe(1);
    expect(sim.state.databaseUser(payments, 'faulted')).toBeUndefined();
  });
});

describe('secrets', () => {
  it('keeps the private key, client secret and issued passwords out of every error and log line', async () => {
    // Failures with a secret at hand, so this test stands on its own; when the whole file runs it
    // also checks every failure the tests above provoked (it runs last).
    const clock = new FakeClock();
    const { sim } = await startSim({ clock });
    const atlas = clientFor(sim);
    await atlas.databaseUsers.create(payments, scramUser('secretive'));
    await expectAtlasError(
      atlas.databaseUsers.create(payments, scramUser('secretive')),
      'conflict',
      'USER_ALREADY_EXISTS',
      409,
    );
    await expectAtlasError(
      atlas.databaseUsers.update(payments, 'admin', 'secretive', {
        password: issuePassword('rotated'),
        deleteAfterDate: isoIn(clock, hourMs),
      }),
      'invalid_request',
      'PERMANENT_ENTITY_CANNOT_BE_MADE_TEMPORARY',
      400,
    );
    const badKey = clientFor(sim, {
      credentials: { type: 'api-key', publicKey: apiKey.publicKey, privateKey: wrongPrivateKey },
    });
    await expectAtlasError(badKey.clusters.list(payments), 'auth_failed', 'UNAUTHORIZED', 401);
    const badSecret = clientFor(sim, {
      credentials: {
        type: 'service-account',
        clientId: serviceAccount.clientId,
        clientSecret: wrongClientSecret,
      },
    });
    await expectAtlasError(badSecret.clusters.list(payments), 'auth_failed', 'invalid_client', 401);

    expect(seenErrors.length).toBeGreaterThanOrEqual(4);
    const leaks: string[] = [];
    for (const error of seenErrors) {
      const surfaces = [
        error.message,
        String(error),
        JSON.stringify(error.toSafeJSON()),
        JSON.stringify(error.details),
      ];
      for (const secret of secrets) {
        if (surfaces.some((text) => text.includes(secret))) leaks.push(`${error.code}: ${error.message}`);
      }
    }
    const logText = logCaptures.map((logs) => logs.text()).join('\n');
    for (const secret of secrets) {
      if (logText.includes(secret)) leaks.push(`a log line holds ${secret.slice(0, 6)}…`);
    }
    expect(leaks).toEqual([]);
  });
});
