import { describe, expect, it } from 'vitest';
import type { AtlasClient } from '../../atlas/index.js';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import type { JobOperation } from '../adapter.js';
import { createCredentialState } from '../credential-state.js';
import { kindDefinition, type IntegrationKind } from '../registry.js';
import {
  alice,
  analyticsCluster,
  clusterName,
  dayMs,
  harness,
  integrationId,
  otherProjectId,
  projectId,
  settle,
  type Harness,
  type KindConfigOverrides,
} from '../../../test/kits/grant-test-kit.js';
import { connectorRolePrefix } from './discover/discover-records.js';
import { customRoleInput, customRoleSpec, type CustomRoleSpec } from './atlas-writes/custom-roles.js';
import { activeGrants, isManaged, readGrants, roleKey } from './model/user-model.js';

/**
 * A job may die anywhere, and is then simply redelivered: its state is in Atlas's labels. For each
 * scenario, the job is crashed at every Atlas write in turn — the write not sent; sent and landed
 * with the process dead before its answer; landed with its answer lost while the process lives on
 * (the job must then fail retryable or finish) — then redelivered (a new process: fresh caches and
 * readiness) at the same fake instant, and again 5 minutes later (a lapsed lease), and run to
 * completion. The final Atlas state (users, roles, scopes, labels, deleteAfterDate, custom roles)
 * must equal a crash-free run's at the redelivery's time, up to the generated password; no user
 * holds a role its active grants do not need or lacks one they need (so a redelivered revoke never
 * takes another grant's role), no connector role is left unheld, and the password the completed
 * job hands out (or, `passwordUnchanged`, the one the requester held) is one Atlas accepts. One
 * accepted difference: a revoke whose write landed answers `already_revoked` on redelivery and
 * leaves Atlas as that write did (its revocation time, docs/database-access.md §2 revoke).
 */

const readSales = { cluster: clusterName, role: 'read', database: 'sales' };
const writeOrders = { cluster: clusterName, role: 'readWrite', database: 'orders' };
const findOrders = {
  cluster: clusterName,
  actions: ['FIND', 'INSERT'],
  database: 'sales',
  collection: 'orders',
};
const readAnalytics = { cluster: analyticsCluster, role: 'read', database: 'sales' };

/** The role's first action alone: a connector role someone narrowed in Atlas. */
const findOnly = (spec: CustomRoleSpec) => ({
  action: spec.actions[0] ?? 'FIND',
  resources: [{ cluster: false, db: spec.db, collection: spec.collection }],
});

type Operation = Extract<JobOperation, 'grant' | 'revoke' | 'renew' | 'rotate'>;

interface Scenario {
  readonly name: string;
  readonly kind?: IntegrationKind;
  readonly config?: KindConfigOverrides;
  /** Jobs run (crash-free, through the harness) before the job under test. */
  readonly setup?: (h: Harness) => Promise<unknown>;
  readonly operation: Operation;
  readonly payload: Record<string, unknown>;
}

const grant = (o: Record<string, unknown> = {}) => ({
  grantId: 'g-1',
  requester: alice,
  access: [readSales],
  ttlSeconds: 3600,
  ...o,
});

const scenarios: readonly Scenario[] = [
  { name: 'grant, per-requester, new user', operation: 'grant', payload: grant() },
  {
    name: 'grant, per-requester, existing user with another grant',
    setup: (h) => h.grant({ grantId: 'g-0', access: [writeOrders] }),
    operation: 'grant',
    payload: grant(),
  },
  {
    name: 'grant, per-requester, existing user whose password is due for rotation',
    config: { credentialRotationDays: 1 },
    setup: async (h) => {
      await h.grant({ grantId: 'g-0', access: [writeOrders], ttlSeconds: 3 * 86_400 });
      await h.clock.advance(2 * dayMs);
    },
    operation: 'grant',
    payload: grant(),
  },
  {
    name: 'grant, per-requester, a user whose only grant was revoked',
    setup: async (h) => {
      await h.grant({ grantId: 'g-0' });
      await h.revoke({ grantId: 'g-0' });
    },
    operation: 'grant',
    payload: grant(),
  },
  {
    name: 'grant, per-requester, a second grant of the same roles',
    setup: (h) => h.grant({ grantId: 'g-0' }),
    operation: 'grant',
    payload: grant(),
  },
  {
    name: 'grant, per-grant, new user',
    config: { userStrategy: 'per-grant' },
    operation: 'grant',
    payload: grant(),
  },
  {
    name: 'grant, per-requester, a custom role created for a collection-scoped grant',
    operation: 'grant',
    payload: grant({ access: [findOrders, readSales] }),
  },
  {
    name: 'grant, per-requester, existing user, a custom role created',
    setup: (h) => h.grant({ grantId: 'g-0', access: [writeOrders] }),
    operation: 'grant',
    payload: grant({ access: [findOrders] }),
  },
  {
    name: 'grant, per-grant, a custom role created for a collection-scoped grant',
    config: { userStrategy: 'per-grant' },
    operation: 'grant',
    payload: grant({ access: [findOrders] }),
  },
  {
    name: 'grant, multi-project, two clusters, existing user on one',
    kind: 'atlas-multi-project',
    setup: (h) => h.grant({ grantId: 'g-0', projectId, access: [writeOrders] }),
    operation: 'grant',
    payload: grant({ projectId, access: [readSales, readAnalytics] }),
  },
  {
    name: 'grant, per-requester, a drifted connector role restored first',
    setup: async (h) => {
      const spec = customRoleSpec(findOrders);
      h.atlas.addCustomRole(projectId, {
        ...customRoleInput(spec),
        actions: [findOnly(spec)],
        inheritedRoles: [],
      });
      await h.atlas.start();
    },
    operation: 'grant',
    payload: grant({ access: [findOrders] }),
  },
  {
    name: 'grant, multi-project, existing user whose other grant names a deleted cluster',
    kind: 'atlas-multi-project',
    setup: async (h) => {
      await h.grant({ grantId: 'g-0', projectId, access: [readAnalytics] });
      h.atlas.deleteCluster(projectId, analyticsCluster);
    },
    operation: 'grant',
    payload: grant({ projectId }),
  },
  {
    name: 'revoke, per-requester, the last grant',
    setup: (h) => h.grant(),
    operation: 'revoke',
    payload: { grantId: 'g-1', requester: alice },
  },
  {
    name: 'revoke, per-requester, the last grant, no cleanup delay',
    config: { userCleanupDays: 0 },
    setup: (h) => h.grant(),
    operation: 'revoke',
    payload: { grantId: 'g-1', requester: alice },
  },
  {
    name: 'revoke, per-requester, one of two grants (one role shared)',
    setup: async (h) => {
      await h.grant({ grantId: 'g-0', access: [readSales, writeOrders] });
      await h.grant();
    },
    operation: 'revoke',
    payload: { grantId: 'g-1', requester: alice },
  },
  {
    name: 'revoke, per-requester, one of two grants (the other with a custom role)',
    setup: async (h) => {
      await h.grant({ grantId: 'g-0', access: [findOrders] });
      await h.grant({ access: [findOrders, readSales] });
    },
    operation: 'revoke',
    payload: { grantId: 'g-1', requester: alice },
  },
  {
    name: 'revoke, multi-project, one of two grants on different clusters',
    kind: 'atlas-multi-project',
    setup: async (h) => {
      await h.grant({ grantId: 'g-0', projectId, access: [readAnalytics] });
      await h.grant({ projectId, access: [readSales, writeOrders] });
    },
    operation: 'revoke',
    payload: { grantId: 'g-1', requester: alice, projectId },
  },
  {
    name: 'revoke, per-requester, the last grant, Atlas refusing a role-less user',
    setup: async (h) => {
      await h.grant();
      h.atlas.setKnobs({ databaseUserEmptyRoles: 'refuse' });
    },
    operation: 'revoke',
    payload: { grantId: 'g-1', requester: alice },
  },
  {
    name: 'revoke, multi-project, one of two grants, the other on a deleted cluster',
    kind: 'atlas-multi-project',
    setup: async (h) => {
      await h.grant({ grantId: 'g-0', projectId, access: [readAnalytics] });
      await h.grant({ projectId });
      h.atlas.deleteCluster(projectId, analyticsCluster);
    },
    operation: 'revoke',
    payload: { grantId: 'g-1', requester: alice, projectId },
  },
  {
    name: 'revoke, per-requester grant after the integration switched to per-grant',
    config: { userStrategy: 'per-grant' },
    setup: async (h) => {
      await h.through(integrationId, { userStrategy: 'per-requester' }).grant({ grantId: 'g-0' });
      await h.through(integrationId, { userStrategy: 'per-requester' }).grant({ access: [writeOrders] });
    },
    operation: 'revoke',
    payload: { grantId: 'g-1', requester: alice },
  },
  {
    name: 'revoke, per-grant',
    config: { userStrategy: 'per-grant' },
    setup: (h) => h.grant(),
    operation: 'revoke',
    payload: { grantId: 'g-1', requester: alice },
  },
  {
    name: 'renew, per-requester, one of two grants',
    setup: async (h) => {
      await h.grant({ grantId: 'g-0', access: [writeOrders] });
      await h.grant({ access: [findOrders] });
    },
    operation: 'renew',
    payload: { grantId: 'g-1', requester: alice, ttlSeconds: 7200 },
  },
  {
    name: 'renew, per-grant',
    config: { userStrategy: 'per-grant' },
    setup: (h) => h.grant(),
    operation: 'renew',
    payload: { grantId: 'g-1', requester: alice, ttlSeconds: 10 * 86_400 },
  },
  {
    name: 'rotate',
    setup: async (h) => {
      await h.grant({ grantId: 'g-0', access: [writeOrders] });
      await h.grant();
    },
    operation: 'rotate',
    payload: { requester: alice },
  },
];

class Crash extends Error {
  constructor() {
    super('the process died');
  }
}

/** The crash itself, or wrapped on its way out (a create's retry loop wraps what it does not know). */
const isCrash = (error: unknown): boolean =>
  error instanceof Crash || (error instanceof Error && isCrash(error.cause));

const isWrite = (method: string) => /\.(create|update|delete)$/.test(method);

interface CrashPlan {
  /** The 1-based Atlas write the process dies at. */
  readonly at: number;
  /**
   * `before`: the process dies and the write is never sent; `after`: it landed and the process
   * died before its answer; `lost`: it landed and its answer was lost on the way (a reset), the
   * process lives on and the job handles the failure as it would Atlas's.
   */
  readonly phase: 'before' | 'after' | 'lost';
}

/** The world's client as one process sees it: it dies at the planned write, and nothing it calls answers after. */
function processClient(real: AtlasClient, writes: string[], plan?: CrashPlan) {
  let dead = false;
  const wrapped: Record<string, unknown> = {};
  for (const [resource, api] of Object.entries(real)) {
    if (typeof api !== 'object' || api === null) {
      wrapped[resource] = api;
      continue;
    }
    const methods: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(api as Record<string, (...a: unknown[]) => Promise<unknown>>)) {
      const method = `${resource}.${name}`;
      methods[name] = async (...args: unknown[]) => {
        if (dead) throw new Crash();
        if (!isWrite(method)) return fn(...args);
        writes.push(method);
        const here = plan?.at === writes.length;
        if (here && plan.phase === 'before') {
          dead = true;
          throw new Crash();
        }
        if (here && plan.phase === 'lost') {
          await fn(...args);
          throw new ConnectorError({ code: 'upstream_unavailable', message: 'the answer was lost' });
        }
        try {
          return await fn(...args);
        } finally {
          if (here) dead = true;
        }
      };
    }
    wrapped[resource] = methods;
  }
  return { client: wrapped as unknown as AtlasClient, dead: () => dead };
}

interface World {
  readonly h: Harness;
  /** Runs the scenario's job as one process; the writes it attempted are pushed to `writes`. */
  run(writes: string[], plan?: CrashPlan): Promise<unknown>;
}

async function world(scenario: Scenario): Promise<World> {
  const kind = scenario.kind ?? 'atlas-project';
  const h = harness({ kind, config: scenario.config ?? {} });
  await h.atlas.start();
  await scenario.setup?.(h);
  const adapter = kindDefinition(kind).create(h.common);
  const integration = { id: integrationId, kind, config: h.config, secretRef: 'env://ATLAS_TEST' };
  const run = (writes: string[], plan?: CrashPlan) => {
    const { client: atlas, dead } = processClient(h.atlas.client, writes, plan);
    const credential = { atlas, ...createCredentialState(atlas, { clock: h.clock, readyTimeoutMs: 60_000 }) };
    const operation = adapter.operations[scenario.operation];
    if (!operation) throw new Error(`${kind} has no ${scenario.operation}`);
    const job = { operation: scenario.operation, config: h.config, payload: scenario.payload, integration };
    // A process that died after its last write never hands its result back either.
    const done = operation.run(job, credential, h.context().ctx).then((result) => {
      if (dead()) throw new Crash();
      return result;
    });
    return settle(h.atlas, done);
  };
  return { h, run };
}

/** Atlas as the connector left it: every project's users and custom roles. */
function atlasState(h: Harness) {
  const byName = (a: { username: string }, b: { username: string }) => a.username.localeCompare(b.username);
  return [projectId, otherProjectId].map((id) => ({
    projectId: id,
    users: h.atlas.usersIn(id).sort(byName),
    customRoles: h.atlas.customRolesIn(id).sort((a, b) => a.roleName.localeCompare(b.roleName)),
  }));
}

/**
 * No orphan: every managed user holds exactly the union of its active grants' roles (so no role
 * of another grant was taken, and none is left without a grant), and every connector role is held.
 */
function expectNoOrphan(h: Harness): void {
  const nowMs = h.clock.now();
  const held = new Set<string>();
  for (const user of h.atlas.usersIn(projectId).concat(h.atlas.usersIn(otherProjectId))) {
    if (!isManaged(user.labels ?? [])) continue;
    const active = activeGrants(readGrants(user.labels ?? []), nowMs);
    const needed = new Set(active.flatMap((g) => g.roles.map(roleKey)));
    expect(new Set(user.roles.map(roleKey)), `roles of ${user.username}`).toEqual(needed);
    if (active.length === 0) expect(user.deleteAfterDate, `${user.username} left forever`).toBeDefined();
    for (const role of user.roles) held.add(role.roleName);
  }
  for (const role of h.atlas.customRolesIn(projectId)) {
    if (role.roleName.startsWith(connectorRolePrefix))
      expect(held.has(role.roleName), `${role.roleName} held by no user`).toBe(true);
  }
}

/** The password each user of the project accepts before the job (the one its requester holds). */
function heldPasswords(h: Harness): Map<string, string | undefined> {
  return new Map(
    h.atlas.usersIn(projectId).map((u) => [u.username, h.atlas.passwordOf(projectId, u.username)]),
  );
}

/** The credential the result hands out (or, `passwordUnchanged`, the one the requester held) works. */
function expectPasswordAccepted(h: Harness, result: unknown, held: ReadonlyMap<string, string | undefined>) {
  const answer = result as { username?: string; password?: string; passwordUnchanged?: true };
  if (answer.username === undefined) return;
  const accepts = (password: string | undefined) =>
    password !== undefined && h.atlas.sim.state.checkPassword(projectId, answer.username ?? '', password);
  if (answer.password !== undefined) expect(accepts(answer.password), 'the password handed out').toBe(true);
  else if (answer.passwordUnchanged === true)
    expect(accepts(held.get(answer.username)), 'the password the requester kept').toBe(true);
}

function withoutPassword(result: unknown): unknown {
  if (typeof result !== 'object' || result === null) return result;
  const { password, ...rest } = result as Record<string, unknown>;
  return password === undefined ? rest : { ...rest, password: '<issued>' };
}

/**
 * Runs the scenario crash-free, then crashed at each write point and redelivered `delayMs` later
 * (the lease running out), against a crash-free run made that much later.
 */
async function crashEverywhere(scenario: Scenario, delayMs: number): Promise<void> {
  const atCrash = await crashFree(scenario, 0);
  const reference = delayMs === 0 ? atCrash : await crashFree(scenario, delayMs);
  const writes = reference.writes;
  expect(atCrash.writes, 'the same writes at either time').toEqual(writes);

  for (let at = 1; at <= writes.length; at += 1) {
    for (const phase of ['before', 'after', 'lost'] as const) {
      const point = `${phase} write ${at} (${writes[at - 1]}), redelivered ${delayMs} ms later`;
      const crashed = await world(scenario);
      const held = heldPasswords(crashed.h);
      const attempted: string[] = [];
      const first = await crashed.run(attempted, { at, phase }).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
      expect(attempted.slice(0, at), point).toEqual(writes.slice(0, at));
      if (phase !== 'lost') expect('error' in first && isCrash(first.error), point).toBe(true);
      // A failure after a write that landed must be retried, or the job ends half done.
      else if ('error' in first)
        expect(
          isConnectorError(first.error) && first.error.retryable,
          `${point}: ${String(first.error)}`,
        ).toBe(true);
      // The job redelivered later, unless the attempt that lost an answer completed by itself.
      const inAttempt = 'result' in first;
      if (!inAttempt) await crashed.h.clock.advance(delayMs);
      const result = inAttempt ? first.result : await crashed.run([]);

      expectNoOrphan(crashed.h);
      expectPasswordAccepted(crashed.h, result, held);
      // A revoke whose write landed finds the grant gone and answers `already_revoked`, leaving
      // Atlas as that write left it (its revocation time), i.e. as a crash-free run at the crash.
      const landedRevoke =
        scenario.operation === 'revoke' &&
        phase !== 'before' &&
        (result as { outcome?: string }).outcome === 'already_revoked';
      if (landedRevoke) {
        expect(atlasState(crashed.h), point).toEqual(atCrash.state);
        continue;
      }
      const expected = inAttempt ? atCrash : reference;
      expect(atlasState(crashed.h), point).toEqual(expected.state);
      expect(withoutPassword(result), point).toEqual(withoutPassword(expected.result));
    }
  }
}

/** The scenario's job run once, without a crash, `delayMs` after its setup. */
async function crashFree(scenario: Scenario, delayMs: number) {
  const { h, run } = await world(scenario);
  await h.clock.advance(delayMs);
  const writes: string[] = [];
  const startMs = h.clock.now();
  const held = heldPasswords(h);
  const result = await run(writes);
  expect(h.clock.now(), 'a crash-free run takes no fake time').toBe(startMs);
  expectNoOrphan(h);
  expectPasswordAccepted(h, result, held);
  expect(writes.length, 'the job writes').toBeGreaterThan(0);
  return { writes, result, state: atlasState(h) };
}

describe.each(scenarios)('crash at every Atlas write, then redelivery: $name', (scenario) => {
  it('converges on a crash-free run, with no orphan and a working password', async () => {
    await crashEverywhere(scenario, 0);
  });

  it('converges the same when the redelivery comes after the lease ran out', async () => {
    await crashEverywhere(scenario, 5 * 60_000);
  });
});
