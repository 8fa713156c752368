import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { MongoClient } from 'mongodb';
import { resourceKeyFor, usernameFor } from '../../src/adapters/database-access/model/user-model.js';
import { cryptoRandom } from '../../src/runtime/random.js';
import { registerDemoIntegrations } from '../../src/sandbox/demo.js';
import type { HookMatch } from '../../src/sandbox/atlas/test-hooks.js';
import type { NewJobInput } from '../../src/sandbox/control-plane/control-plane-store.js';
import type { JobView } from '../../src/sandbox/control-plane/types.js';
import { DigestClient } from '../contract/digest-client.js';
import { seededRandom } from '../kits/seeded-random-test-kit.js';
import { settleBatch, terminalStates } from '../kits/soak-test-kit.js';
import { expectLoginRefused, loginOnce, type IssuedCredential } from './driver-login.js';
import {
  aliveDaemons,
  freezeOne,
  freezeSessionGraceMs,
  lateResultsAccepted,
  unendedAttempts,
  type Freeze,
} from './freeze-fault.js';
import {
  analytics,
  atlasKey,
  enrollmentToken,
  payments,
  startSandbox,
  type Sandbox,
} from './sandbox-harness.js';

/**
 * A seeded, randomized soak of the database-access kinds against the real daemon: the sandbox's
 * `demo-project` (atlas-project, per-requester users on payments/Cluster0) and `demo-multi`
 * (atlas-multi-project, per-grant users on payments and analytics). Rounds of overlapping grants
 * (built-in, collection-level, project custom and `actions` roles), redelivered grants and
 * revokes, renews, rotations and sweeps run under random Atlas faults (refused before the write:
 * 5xx and resets; written with the answer lost: scripted `resetAfterCommit`, or a write whose
 * answer is held past a SIGKILL of its daemon, redone by the next one), daemons killed at random
 * and, with two replicas running, one replica frozen (SIGSTOP) past its lease TTL and session grace
 * — sometimes while Atlas holds one of its answers — so the other redoes its jobs, then resumed
 * (SIGCONT). Sampled grants must log in with the `mongodb` driver as soon as their result is
 * accepted. Then, faults off, every long grant is revoked, the short ones expire, both
 * integrations are swept, and Atlas must be as before the soak: the pre-existing users and the
 * project's own custom role untouched, no managed user holding a role, no `jit-r-` role left, no
 * sampled credential logging in; every job terminal with exactly one terminal result, and no
 * result accepted from an attempt after a later attempt of its job was leased (a resumed replica's
 * late result); no secret in the daemons' output.
 *
 * SOAK_SEED (default below) and SOAK_ROUNDS reproduce a run (the seed is printed); SOAK_EMPTY_ROLES=accept
 * runs it against the reading of Atlas that keeps a role-less user (knobs.ts); SOAK_VERBOSE=1
 * prints every job's outcome and Atlas's answers by status. SOAK_FREEZE=once (the default) freezes
 * one replica in one round, SOAK_FREEZE=<p> (0 < p ≤ 1) in each round with probability p (the seed
 * decides), SOAK_FREEZE=off runs one daemon and no freeze. The job sequence and the simulator's
 * fault draws follow the seed; where a fault lands and when a kill strikes still depend on timing,
 * which is why every assertion is an invariant that holds for any interleaving. A failing run
 * writes its rounds, jobs, Atlas events and daemon logs to a file it names.
 */
const seed = Number(process.env.SOAK_SEED ?? 20261124);
const rounds = Number(process.env.SOAK_ROUNDS ?? 10);
const emptyRoles = process.env.SOAK_EMPTY_ROLES === 'accept' ? 'accept' : 'refuse';
const freezeMode = process.env.SOAK_FREEZE ?? 'once';
const freezeRate = freezeMode === 'once' || freezeMode === 'off' ? 0 : Number(freezeMode);
if (!(freezeRate >= 0 && freezeRate <= 1))
  throw new Error(`SOAK_FREEZE: once, off or 0..1, not ${freezeMode}`);
const leaseTtlMs = 2_000;

type Requester = { id: string; email: string };
type Access = Record<string, unknown>;
interface Offer {
  readonly access: Access;
  readonly probe: { db: string; collection: string };
}

const ownerRole = 'owner-orders-reader';
const secretRef = 'env://E2E_ATLAS_SECRET';
const cluster0Offers: Offer[] = [
  {
    access: { cluster: 'Cluster0', role: 'read', database: 'sales' },
    probe: { db: 'sales', collection: 'orders' },
  },
  {
    access: { cluster: 'Cluster0', role: 'readWrite', database: 'inventory' },
    probe: { db: 'inventory', collection: 'items' },
  },
  {
    access: { cluster: 'Cluster0', role: 'read', database: 'sales', collection: 'customers' },
    probe: { db: 'sales', collection: 'customers' },
  },
  {
    access: { cluster: 'Cluster0', actions: ['FIND'], database: 'sales', collection: 'invoices' },
    probe: { db: 'sales', collection: 'invoices' },
  },
  {
    access: {
      cluster: 'Cluster0',
      actions: ['FIND', 'INSERT'],
      database: 'inventory',
      collection: 'warehouses',
    },
    probe: { db: 'inventory', collection: 'warehouses' },
  },
  { access: { cluster: 'Cluster0', role: ownerRole }, probe: { db: 'sales', collection: 'orders' } },
];
const analyticsOffers: Offer[] = [
  {
    access: { cluster: 'Analytics', role: 'read', database: 'events' },
    probe: { db: 'events', collection: 'clicks' },
  },
  {
    access: { cluster: 'Analytics', actions: ['FIND'], database: 'reports', collection: 'daily' },
    probe: { db: 'reports', collection: 'daily' },
  },
];

const people: Requester[] = ['ana', 'ben', 'cho', 'dev'].map((n) => ({
  id: `soak-${n}`,
  email: `${n}.soak@example.com`,
}));
/** A person whose demo-project user name is already taken by a user that is not the connector's. */
const mallory: Requester = { id: 'soak-mallory', email: 'mallory.soak@example.com' };
/** A demo-multi grant whose per-grant user name is taken by a user that is not the connector's. */
const collidingGrant = 'g-soak-collide';

interface Grant {
  readonly grantId: string;
  readonly integrationId: 'demo-project' | 'demo-multi';
  readonly requester: Requester;
  readonly projectId: string;
  readonly username: string;
  readonly job: NewJobInput;
  readonly offers: Offer[];
  /** Short grants are left to expire in the convergence phase instead of being revoked. */
  short: boolean;
}

const terminal = terminalStates;
const writeOps = [
  'createGroupDatabaseUser',
  'updateGroupDatabaseUser',
  'deleteGroupDatabaseUser',
  'createGroupCustomDbRoleRole',
  'updateGroupCustomDbRoleRole',
  'deleteGroupCustomDbRoleRole',
];
/** What a freeze may catch Atlas answering: a grant's first read, the next write of a kind, any call. */
const heldCalls: HookMatch[] = [
  { operationId: 'getGroupCluster' },
  { method: 'POST' },
  { method: 'PATCH' },
  { method: 'DELETE' },
  {},
];
/** Whether the held request (`METHOD path`) names the user of a job's resource key (`project/user`). */
const actsOn = (request: string, resourceKey: string): boolean => {
  const [projectId, username] = resourceKey.split('/');
  return (
    projectId !== undefined &&
    username !== undefined &&
    request.includes(`/groups/${projectId}/`) &&
    request.endsWith(`/${encodeURIComponent(username)}`)
  );
};

describe(`database access soak (seed ${seed}, ${rounds} rounds)`, () => {
  let sb: Sandbox;
  const rnd = seededRandom(seed);
  // Freezes draw apart from the job sequence, so a seed's jobs are the same with or without them.
  const freezeDraws = seededRandom(seed ^ 0xf4ee2e);
  const freezes: Freeze[] = [];
  const pick = <T>(items: readonly T[]): T => {
    const item = items[Math.floor(rnd() * items.length)];
    if (item === undefined) throw new Error('empty choice');
    return item;
  };
  const secrets: string[] = [atlasKey.privateKey, enrollmentToken];
  const jobIds: string[] = [];
  const grants: Grant[] = [];
  const sampled: IssuedCredential[] = [];
  const loginFailures: string[] = [];
  const log: string[] = [];
  let before: unknown;

  const unmanagedAndOwned = () => ({
    users: [payments, analytics].flatMap((p) =>
      sb.sim.state.databaseUsers(p).filter((u) => u.labels.every((l) => l.key !== 'managed-by')),
    ),
    roles: sb.sim.state.customRoles(payments).filter((r) => !r.roleName.startsWith('jit-r-')),
  });

  beforeAll(async () => {
    console.log(`database access soak: SOAK_SEED=${seed} SOAK_ROUNDS=${rounds}`);
    // The simulator's random fault rates draw from the seed too.
    const faultDraws = seededRandom(seed ^ 0x5eed);
    sb = await startSandbox({
      leaseTtlMs,
      propagationDelayMs: 200,
      random: { ...cryptoRandom, float: faultDraws },
    });
    sb.cp.store.setIntervals({ sessionGraceMs: freezeSessionGraceMs });
    // Both readings of Atlas the connector must handle (knobs.ts): a role-less user refused or kept.
    sb.sim.knobs.databaseUserEmptyRoles = emptyRoles;
    sb.sim.knobs.customRoleDeletion = rnd() < 0.5 ? 'refuseIfAssigned' : 'refuseIfStranding';
    registerDemoIntegrations(sb.cp.store, secretRef);
    const admin = new DigestClient(sb.sim.url, atlasKey.publicKey, atlasKey.privateKey);
    const create = async (path: string, body: unknown) => {
      const response = await admin.call('POST', path, { body });
      expect([200, 201, 202], response.text).toContain(response.status);
    };
    await create(`/groups/${payments}/customDBRoles/roles`, {
      roleName: ownerRole,
      actions: [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: 'orders' }] }],
    });
    const preexisting = [
      {
        groupId: payments,
        username: 'app-service',
        roles: [{ roleName: 'readWrite', databaseName: 'sales' }],
      },
      { groupId: payments, username: 'reporting', roles: [{ roleName: ownerRole, databaseName: 'admin' }] },
      {
        groupId: payments,
        username: usernameFor('per-requester', mallory, undefined, 'Cluster0'),
        roles: [{ roleName: 'read', databaseName: 'inventory' }],
      },
      {
        groupId: payments,
        username: usernameFor('per-grant', people[0] as Requester, collidingGrant),
        roles: [{ roleName: 'read', databaseName: 'sales', collectionName: 'orders' }],
      },
      { groupId: analytics, username: 'etl', roles: [{ roleName: 'read', databaseName: 'events' }] },
    ];
    for (const [i, user] of preexisting.entries()) {
      const password = `pre-existing-password-${i}-a81f`;
      secrets.push(password);
      await create(`/groups/${user.groupId}/databaseUsers`, { ...user, databaseName: 'admin', password });
    }
    before = unmanagedAndOwned();
    await sb.connector();
    // Two replicas claim side by side: a frozen one's jobs are the other's to redo.
    if (freezeMode !== 'off') await sb.connector();
  }, 60_000);

  afterAll(async () => {
    await sb?.close();
  });

  function grantJobFor(requester: Requester, integrationId: Grant['integrationId'], short: boolean): Grant {
    const n = grants.length;
    const onAnalytics = integrationId === 'demo-multi' && rnd() < 0.4;
    const projectId = onAnalytics ? analytics : payments;
    const menu = onAnalytics ? analyticsOffers : cluster0Offers;
    const offers = [pick(menu)];
    if (rnd() < 0.5) {
      const second = pick(menu);
      if (second !== offers[0]) offers.push(second);
    }
    const grantId =
      integrationId === 'demo-multi' && requester === people[0] && !onAnalytics && rnd() < 0.15
        ? collidingGrant
        : `g-soak-${seed}-${n}`;
    const username =
      integrationId === 'demo-project'
        ? usernameFor('per-requester', requester, undefined, 'Cluster0')
        : usernameFor('per-grant', requester, grantId);
    const payload = {
      grantId,
      requester,
      ...(integrationId === 'demo-multi' ? { projectId } : {}),
      access: offers.map((o) => o.access),
      ttlSeconds: short ? 12 : 3600,
    };
    return {
      grantId,
      integrationId,
      requester,
      projectId,
      username,
      offers,
      short,
      job: { type: 'grant', integrationId, resourceKey: resourceKeyFor(projectId, username), payload },
    };
  }

  /** A revoke or renew of `g`, on the grant's own resource key (demo-multi's jobs name the project). */
  const jobOn = (g: Grant, type: 'revoke' | 'renew', extra: Record<string, unknown> = {}): NewJobInput => ({
    type,
    integrationId: g.integrationId,
    resourceKey: g.job.resourceKey,
    payload: {
      grantId: g.grantId,
      requester: g.requester,
      ...(g.integrationId === 'demo-multi' ? { projectId: g.projectId } : {}),
      ...extra,
    },
  });
  const revokeJob = (g: Grant): NewJobInput => jobOn(g, 'revoke');

  /** Enqueues `batch`; logs in with each sampled grant as soon as its result is accepted. */
  async function runBatch(batch: { job: NewJobInput; sample?: Grant }[], during?: () => Promise<void>) {
    await settleBatch(sb.cp.store, batch, {
      enqueued: (jobId) => jobIds.push(jobId),
      settled: (entry, view) => {
        collectSecrets(entry.job, view);
        log.push(
          `${entry.job.type} ${JSON.stringify(entry.job.payload).slice(0, 80)} → ${view.state} ${view.error?.code ?? ''} ${view.attempts}`,
        );
        if (entry.sample && view.state === 'succeeded') return loginNow(entry.sample, view);
      },
      ...(during ? { during } : {}),
    });
  }

  /**
   * The password each per-requester user's holder has: set by a result carrying one, unknown
   * after a grant or rotate of that user ended without a result (it may have set one nobody holds).
   */
  const heldPasswords = new Map<string, string | undefined>();

  function collectSecrets(job: NewJobInput, view: JobView): void {
    const result = view.result as { password?: string } | undefined;
    if (typeof result?.password === 'string') {
      secrets.push(result.password);
      heldPasswords.set(job.resourceKey ?? '', result.password);
    } else if (view.state !== 'succeeded' && (job.type === 'grant' || job.type === 'rotate')) {
      heldPasswords.set(job.resourceKey ?? '', undefined);
    }
  }

  async function loginNow(g: Grant, view: JobView): Promise<void> {
    const issued = view.result as IssuedCredential & { passwordUnchanged?: true; expiresAt?: string };
    const password = issued.password ?? heldPasswords.get(g.job.resourceKey ?? '');
    if (password === undefined) return;
    // A short grant (12 s) whose result came late (an answer held 8 s, a takeover) may expire during
    // the login: Atlas then refuses it as it should (deleteAfterDate), which says nothing of the grant.
    if (Date.parse(issued.expiresAt ?? '') - Date.now() < 3_000) return;
    const result = { ...issued, password };
    let client: MongoClient | undefined;
    try {
      client = await loginOnce(result);
      const status = await client.db('admin').command({ connectionStatus: 1 });
      const held = (status['authInfo'] as { authenticatedUserRoles: { role: string; db: string }[] })
        .authenticatedUserRoles;
      for (const role of result.roles) {
        if (!held.some((h) => h.role === role.roleName && h.db === role.databaseName))
          throw new Error(`role ${role.roleName}@${role.databaseName} missing from ${JSON.stringify(held)}`);
      }
      for (const offer of g.offers) {
        await client.db(offer.probe.db).collection(offer.probe.collection).findOne();
      }
      sampled.push(result);
    } catch (error) {
      const how = issued.password === undefined ? 'passwordUnchanged' : 'new password';
      loginFailures.push(`${g.grantId} (${result.username}, ${how}): ${String(error)}`);
    } finally {
      await client?.close();
    }
  }

  function setFaults(mode: number): void {
    const { faults } = sb.sim.knobs;
    faults.script = [];
    faults.serverErrorRate = 0;
    faults.connectionResetRate = 0;
    faults.slowResponseRate = 0;
    if (mode === 1) {
      faults.serverErrorRate = 0.05 + rnd() * 0.2;
      faults.connectionResetRate = 0.02 + rnd() * 0.1;
      faults.slowResponseRate = 0.1;
      faults.slowResponseMs = 300;
    } else if (mode === 3) {
      // The write lands and its answer is held past a SIGKILL: the next daemon redoes the job.
      faults.script.push({
        operationId: pick(writeOps.slice(0, 4)),
        kind: 'slow',
        status: 500,
        delayMs: 8_000,
        times: 1,
      });
    } else if (mode === 2) {
      for (let i = 0, n = 1 + Math.floor(rnd() * 3); i < n; i += 1) {
        faults.script.push({
          operationId: pick(writeOps),
          kind: rnd() < 0.7 ? 'resetAfterCommit' : 'error',
          status: 503,
          delayMs: 0,
          times: 1,
        });
      }
    }
  }

  /** Whether a replica was frozen: none is when no job is leased by then. */
  async function freezeAfter(afterMs: number): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, afterMs));
    const held = freezeDraws() < 0.5 ? heldCalls[Math.floor(freezeDraws() * heldCalls.length)] : undefined;
    const freeze = await freezeOne(sb, {
      draw: freezeDraws,
      leaseTtlMs,
      ...(held === undefined ? {} : { held, attributes: actsOn }),
    });
    if (freeze) freezes.push(freeze);
    log.push(`  freeze: ${freeze?.how ?? 'none (no job leased)'}`);
    return freeze !== undefined;
  }

  async function killAndReplace(afterMs: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, afterMs));
    const daemon = aliveDaemons(sb).at(-1);
    if (!daemon) return;
    daemon.kill('SIGKILL');
    await daemon.exited;
    await sb.connector();
  }

  it('converges to the pre-soak Atlas with every job settled once and no secret logged', async () => {
    onTestFailed(() => {
      const file = join(tmpdir(), `database-access-soak-${seed}.log`);
      const jobs = jobIds.map((id) => JSON.stringify(sb.cp.store.job(id)));
      const events = sb.sim.state.events().map((e) => JSON.stringify(e));
      const daemons = sb.daemons.map((d) => d.output());
      writeFileSync(
        file,
        [...log, '--- jobs', ...jobs, '--- events', ...events, '--- daemons', ...daemons].join('\n'),
      );
      console.log(`database access soak: the rounds, jobs, Atlas events and daemon logs are in ${file}`);
    });
    // SOAK_FREEZE=once: the first round, from one drawn in the first half, that holds no answer past
    // a kill and has a job leased to take over.
    let freezeRound = freezeMode === 'once' ? Math.floor((freezeDraws() * rounds) / 2) : rounds;
    for (let round = 0; round < rounds; round += 1) {
      const batch: { job: NewJobInput; sample?: Grant }[] = [];
      const keysInBatch = new Map<string, number>();
      const size = 4 + Math.floor(rnd() * 4);
      for (let i = 0; i < size; i += 1) {
        const r = rnd();
        const active = grants.filter((g) => !g.short);
        if (r < 0.4 || active.length === 0) {
          const requester = rnd() < 0.08 ? mallory : pick(people);
          const integrationId = requester === mallory || rnd() < 0.55 ? 'demo-project' : 'demo-multi';
          const g = grantJobFor(requester, integrationId, rnd() < 0.2);
          grants.push(g);
          batch.push({ job: g.job, sample: g });
        } else if (r < 0.5) {
          batch.push({ job: pick(grants).job }); // a redelivered grant
        } else if (r < 0.72) {
          const g = pick(active);
          batch.push({ job: revokeJob(g) });
          if (rnd() < 0.3) batch.push({ job: revokeJob(g) }); // redelivered revoke
        } else if (r < 0.82) {
          const g = pick(active);
          batch.push({ job: jobOn(g, 'renew', { ttlSeconds: 7200 }) });
        } else if (r < 0.9) {
          const requester = pick(people);
          const username = usernameFor('per-requester', requester, undefined, 'Cluster0');
          batch.push({
            job: {
              type: 'rotate',
              integrationId: 'demo-project',
              resourceKey: resourceKeyFor(payments, username),
              payload: { requester },
            },
          });
        } else {
          const id = rnd() < 0.5 ? 'demo-project' : 'demo-multi';
          batch.push({ job: { type: 'sweep', integrationId: id, resourceKey: `sweep/${id}`, payload: {} } });
        }
      }
      for (const { job } of batch) {
        const key = job.resourceKey ?? '';
        keysInBatch.set(key, (keysInBatch.get(key) ?? 0) + 1);
      }
      // Sample a grant only when nothing else in its batch writes its user after it.
      for (const entry of batch) {
        if (entry.sample && (keysInBatch.get(entry.job.resourceKey ?? '') ?? 0) > 1) delete entry.sample;
      }
      const mode = Math.floor(rnd() * 4);
      setFaults(mode);
      const kill = mode === 3 || rnd() < 0.2;
      const freeze =
        freezeMode !== 'off' &&
        mode !== 3 &&
        (round >= freezeRound || (freezeRate > 0 && freezeDraws() < freezeRate));
      log.push(`round ${round}: faults ${mode}, ${freeze ? 'freeze' : `kill ${kill}`}`);
      // Drawn as before the freeze existed (a kill's moment), so the seed's later jobs stay the same.
      const killAfterMs = kill && mode !== 3 ? 100 + Math.floor(rnd() * 1_500) : 1_500;
      const freezeAfterMs = freeze ? 50 + Math.floor(freezeDraws() * 500) : 0;
      await runBatch(
        batch,
        freeze
          ? async () => {
              if (await freezeAfter(freezeAfterMs)) freezeRound = rounds;
            }
          : kill
            ? () => killAndReplace(killAfterMs)
            : undefined,
      );
      setFaults(0);
    }

    // Convergence: faults off, every long grant revoked, the short ones expire, then both sweeps.
    setFaults(0);
    await runBatch(grants.filter((g) => !g.short).map((g) => ({ job: revokeJob(g) })));
    const shortEnd = Date.now() + 13_000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, shortEnd - Date.now())));
    await runBatch(
      ['demo-project', 'demo-multi'].map((id) => ({
        job: { type: 'sweep', integrationId: id, resourceKey: `sweep/${id}`, payload: {} },
      })),
    );

    const context = `seed ${seed}\n${log.join('\n')}`;
    if (process.env.SOAK_VERBOSE) {
      const byStatus: Record<string, number> = {};
      for (const counts of Object.values(sb.sim.stats.snapshot().byRoute))
        for (const [status, n] of Object.entries(counts)) byStatus[status] = (byStatus[status] ?? 0) + n;
      console.log(`${context}\nsampled logins: ${sampled.length}; Atlas answers ${JSON.stringify(byStatus)}`);
    }
    expect(loginFailures, context).toEqual([]);
    // Atlas as before: what was not the connector's is untouched, nothing the connector added remains.
    expect(unmanagedAndOwned(), context).toEqual(before);
    for (const projectId of [payments, analytics]) {
      const holding = sb.sim.state
        .databaseUsers(projectId)
        .filter((u) => u.labels.some((l) => l.key === 'managed-by') && u.roles.length > 0)
        .map((u) => `${u.username}: ${JSON.stringify(u.roles)} ${JSON.stringify(u.labels)}`);
      expect(holding, context).toEqual([]);
      const jitRoles = sb.sim.state.customRoles(projectId).filter((r) => r.roleName.startsWith('jit-r-'));
      expect(
        jitRoles.map((r) => r.roleName),
        context,
      ).toEqual([]);
    }
    for (const credential of sampled) {
      // A per-requester user kept role-less (parked) goes `userCleanupDays` after its last revoke.
      const parked = sb.sim.state
        .databaseUsers(payments)
        .some((u) => u.username === credential.username && u.roles.length === 0);
      if (!(emptyRoles === 'accept' && parked)) await expectLoginRefused(credential);
    }
    // Every job terminal, with exactly one terminal result accepted.
    const results = sb.cp.store.results();
    for (const id of jobIds) {
      const view = sb.cp.store.job(id);
      expect(terminal, `${id} ${JSON.stringify(view)}`).toContain(view?.state);
      const final = results.filter((r) => r.jobId === id && terminal.includes(r.jobState));
      if (view?.state !== 'dead' || final.length > 0)
        expect(final, `${id} ${JSON.stringify(view)}`).toHaveLength(1);
    }
    // A resumed replica's late attempt is never accepted: the fence refuses it once another leased the job.
    expect(lateResultsAccepted(sb, jobIds), context).toEqual([]);
    console.log(`database access soak: freezes: ${freezes.map((f) => f.how).join('; ') || 'none'}`);
    // A resumed replica ends every attempt it held (its leases lost), and goes on running until the
    // soak kills it: a freeze is no reason to exit.
    expect(await unendedAttempts(freezes), context).toEqual([]);
    for (const { victim } of freezes) {
      expect(victim.child.exitCode, context).toBeNull();
      expect([null, 'SIGKILL'], context).toContain(victim.child.signalCode);
    }
    // No secret in any daemon's output, the killed ones' included.
    for (const daemon of sb.daemons) {
      const output = daemon.output();
      for (const secret of secrets)
        expect(output.includes(secret), `a secret in the daemon output`).toBe(false);
    }
  }, 600_000);
});
