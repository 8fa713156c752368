import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { resourceKeyFor, usernameFor } from '../../src/adapters/database-access/model/user-model.js';
import { sandboxIds, type AtlasFixtureInput } from '../../src/sandbox/atlas/index.js';
import type { NewJobInput } from '../../src/sandbox/control-plane/control-plane-store.js';
import type { JobView } from '../../src/sandbox/control-plane/types.js';
import { DigestClient } from '../contract/digest-client.js';
import { deepFixture, platform } from '../kits/deep-discovery-test-kit.js';
import { seededRandom } from '../kits/seeded-random-test-kit.js';
import { settleBatch, terminalStates } from '../kits/soak-test-kit.js';
import type { DaemonProcess } from './daemon-process.js';
import { expectLoginRefused, loginOnce, type IssuedCredential } from './driver-login.js';
import {
  analytics,
  atlasKey,
  enrollmentToken,
  payments,
  startSandbox,
  type Sandbox,
} from './sandbox-harness.js';

/**
 * A seeded, randomized soak of the `atlas-org-deep-discovery` kind against the built daemon: two
 * integrations on the sandbox organization (`org`, per-requester users per cluster; `org-pg`,
 * per-grant users), served by two connectors (`vpc-a`, the integrations' own, and `vpc-b`, which
 * serves the cluster tagged for it), routed by the snapshots their discoveries commit. Rounds of
 * overlapping grants (built-in roles and `actions`, which make `jit-r-` custom roles), redelivered
 * grants and revokes, renews, rotations, sweeps with and without `subIntegrationId` and discovers
 * run under random Atlas faults (refused before the write: 5xx, resets; written with the answer
 * lost: scripted `resetAfterCommit`, or an answer held past a SIGKILL of its daemon), control-plane
 * 503s and daemons killed at random (a new one with the same connector id continues). Between
 * rounds the organisation changes through the simulator's test hooks: a cluster re-tagged to the
 * other connector, one deleted, one added, one paused (and resumed), each followed by discoveries
 * or not (a job routed on the older snapshot meets the change). Sampled grants must log in with
 * the `mongodb` driver as soon as their result is accepted. Then, faults off, every grant is
 * revoked, the short ones expire, both integrations are swept, and Atlas must be as before for
 * what the soak did not own, no managed user holds a role, no `jit-r-` role is left, no sampled
 * credential logs in; every job ended once with an expected code; no secret in any daemon output.
 *
 * SOAK_SEED and SOAK_ROUNDS replay a run (printed at the start). The job sequence, the org changes
 * and the simulator's fault draws follow the seed; where a fault lands and when a kill strikes
 * depend on timing, so every assertion is an invariant that holds for any interleaving. A failing
 * run writes its rounds, jobs and daemon logs to a file it names.
 */
const seed = Number(process.env.SOAK_SEED ?? 20261215);
const rounds = Number(process.env.SOAK_ROUNDS ?? 7);
const terminal = terminalStates;
const secretRef = 'env://E2E_ATLAS_SECRET';
const integrations = ['org', 'org-pg'] as const;
type IntegrationId = (typeof integrations)[number];
const connectors = ['vpc-a', 'vpc-b'] as const;

/** A cluster of the platform project deleted before the first discovery and added mid-soak. */
const late = 'Late0';
/** A cluster of the platform project deleted mid-soak under live grants. */
const doomed = 'Doomed';
const retagged = `${platform}:Peered`;
const paused = `${analytics}:Analytics`;

interface Target {
  readonly id: string;
  readonly access: Record<string, unknown>[];
  /** A collection the grant reads, probed at the sampled login. */
  readonly probe?: { db: string; collection: string };
}
const targets: Target[] = [
  {
    id: `${payments}:Cluster0`,
    access: [{ role: 'read', database: 'sales' }],
    probe: { db: 'sales', collection: 'orders' },
  },
  {
    id: `${payments}:Cluster0`,
    access: [{ actions: ['FIND'], database: 'sales', collection: 'invoices' }],
    probe: { db: 'sales', collection: 'invoices' },
  },
  { id: `${payments}:Private0`, access: [{ role: 'readWrite', database: 'ledger' }] },
  { id: paused, access: [{ role: 'read', database: 'events' }] },
  { id: retagged, access: [{ role: 'read', database: 'peereddb' }] },
  { id: `${platform}:VpcB`, access: [{ role: 'read', database: 'vpcbdb' }] },
  { id: `${platform}:${doomed}`, access: [{ role: 'read', database: 'doomeddb' }] },
  {
    id: `${platform}:${late}`,
    access: [{ actions: ['FIND', 'INSERT'], database: 'late0db', collection: 'a' }],
  },
];

const people = ['ana', 'ben', 'cho'].map((n) => ({ id: `soak-${n}`, email: `${n}.soak@example.com` }));
type Requester = (typeof people)[number];
const writeOps = [
  'createGroupDatabaseUser',
  'updateGroupDatabaseUser',
  'deleteGroupDatabaseUser',
  'createGroupCustomDbRoleRole',
  'updateGroupCustomDbRoleRole',
  'deleteGroupCustomDbRoleRole',
];

function clusterInput(name: string, id: string) {
  const base = (deepFixture().clusters ?? []).find((c) => c.name === 'Paused');
  if (!base) throw new Error('deepFixture has the Paused cluster');
  const prefix = name.toLowerCase();
  const rewrite = (s: string | undefined) => s?.replaceAll('paused', prefix);
  return {
    ...base,
    id,
    name,
    paused: false,
    connectionStrings: {
      standard: rewrite(base.connectionStrings?.standard),
      standardSrv: rewrite(base.connectionStrings?.standardSrv),
    },
    databases: [{ name: `${prefix}db`, collections: ['a', 'b'] }],
    processes: (base.processes ?? []).map((p) => ({
      ...p,
      hostname: p.hostname.replaceAll('paused', prefix),
      userAlias: p.userAlias?.replaceAll('paused', prefix),
      replicaSetName: p.replicaSetName?.replaceAll('paused', prefix),
    })),
  };
}

function fixture(): AtlasFixtureInput {
  const base = deepFixture();
  return {
    ...base,
    clusters: [
      ...(base.clusters ?? []),
      clusterInput(doomed, '660300000000000000000017'),
      clusterInput(late, '660300000000000000000018'),
    ],
  };
}

interface Grant {
  readonly grantId: string;
  readonly integrationId: IntegrationId;
  readonly requester: Requester;
  readonly target: Target;
  readonly job: NewJobInput;
  readonly short: boolean;
}

describe(`atlas-org-deep-discovery soak (SOAK_SEED=${seed}, ${rounds} rounds)`, () => {
  let sb: Sandbox;
  const rnd = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => {
    const item = items[Math.floor(rnd() * items.length)];
    if (item === undefined) throw new Error('empty choice');
    return item;
  };
  const secrets: string[] = [atlasKey.privateKey, enrollmentToken];
  const enqueued: { jobId: string; job: NewJobInput; note: string }[] = [];
  const grants: Grant[] = [];
  const sampled: { credential: IssuedCredential; target: Target }[] = [];
  const loginFailures: string[] = [];
  const log: string[] = [];
  const changed = { retagged: false, deleted: false, added: false, paused: false };
  let before: unknown;
  /** The live daemon of each connector id. */
  const serving = new Map<string, DaemonProcess>();

  const projects = [payments, analytics, platform];
  const unmanagedAndOwned = () => ({
    users: projects.flatMap((p) =>
      sb.sim.state.databaseUsers(p).filter((u) => u.labels.every((l) => l.key !== 'managed-by')),
    ),
    roles: projects.flatMap((p) =>
      sb.sim.state.customRoles(p).filter((r) => !r.roleName.startsWith('jit-r-')),
    ),
  });

  const daemonEnv = (connectorId: string) => ({ CONNECTOR_ID: connectorId, ATLAS_MAX_RETRIES: '2' });

  beforeAll(async () => {
    console.log(`deep-discovery soak: SOAK_SEED=${seed} SOAK_ROUNDS=${rounds}`);
    sb = await startSandbox({ leaseTtlMs: 2_000, propagationDelayMs: 100, fixture: fixture() });
    sb.sim.deleteCluster(platform, late);
    for (const id of integrations) {
      sb.cp.store.putIntegration({
        id,
        kind: 'atlas-org-deep-discovery',
        config: {
          orgId: sandboxIds.org,
          connectorId: 'vpc-a',
          ...(id === 'org-pg' ? { userStrategy: 'per-grant' } : {}),
        },
        secretRef,
      });
    }
    const admin = new DigestClient(sb.sim.url, atlasKey.publicKey, atlasKey.privateKey);
    const create = async (path: string, body: unknown) => {
      const response = await admin.call('POST', path, { body });
      expect([200, 201, 202], response.text).toContain(response.status);
    };
    await create(`/groups/${payments}/customDBRoles/roles`, {
      roleName: 'owner-orders-reader',
      actions: [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: 'orders' }] }],
    });
    const preexisting = [
      {
        groupId: payments,
        username: 'app-service',
        roles: [{ roleName: 'readWrite', databaseName: 'sales' }],
      },
      {
        groupId: platform,
        username: 'platform-etl',
        roles: [{ roleName: 'read', databaseName: 'peereddb' }],
        scopes: [{ name: 'Peered', type: 'CLUSTER' }],
      },
      {
        groupId: platform,
        username: 'doomed-app',
        roles: [{ roleName: 'readWrite', databaseName: 'doomeddb' }],
        scopes: [{ name: doomed, type: 'CLUSTER' }],
      },
      { groupId: analytics, username: 'etl', roles: [{ roleName: 'read', databaseName: 'events' }] },
    ];
    for (const [i, user] of preexisting.entries()) {
      const password = `pre-existing-password-${i}-d33p`;
      secrets.push(password);
      await create(`/groups/${user.groupId}/databaseUsers`, { ...user, databaseName: 'admin', password });
    }
    before = unmanagedAndOwned();
    for (const connectorId of connectors)
      serving.set(connectorId, await sb.connector(daemonEnv(connectorId)));
    await runBatch(discovers());
  }, 90_000);

  afterAll(async () => {
    await sb?.close();
  });

  function discovers(): { job: NewJobInput }[] {
    return integrations.flatMap((integrationId) =>
      connectors.map((connectorId) => ({ job: { type: 'discover', integrationId, connectorId } })),
    );
  }

  /** The grant's user: per requester and cluster on `org`, per grant on `org-pg`. */
  function keyOf(
    integrationId: IntegrationId,
    requester: Requester,
    subIntegrationId: string,
    grantId?: string,
  ) {
    const [projectId = '', cluster] = subIntegrationId.split(':');
    const username =
      integrationId === 'org'
        ? usernameFor('per-requester', requester, undefined, cluster)
        : usernameFor('per-grant', requester, grantId);
    return resourceKeyFor(projectId, username);
  }

  function newGrant(short: boolean): Grant {
    const integrationId = rnd() < 0.6 ? 'org' : 'org-pg';
    const requester = pick(people);
    const target = pick(targets);
    const grantId = `g-dd-${seed}-${grants.length}`;
    const job: NewJobInput = {
      type: 'grant',
      integrationId,
      resourceKey: keyOf(integrationId, requester, target.id, grantId),
      payload: {
        subIntegrationId: target.id,
        grantId,
        requester,
        access: target.access,
        ttlSeconds: short ? 10 : 3600,
      },
    };
    return { grantId, integrationId, requester, target, job, short };
  }

  const jobOn = (g: Grant, type: 'revoke' | 'renew', extra: Record<string, unknown> = {}): NewJobInput => ({
    type,
    integrationId: g.integrationId,
    resourceKey: g.job.resourceKey,
    payload: { subIntegrationId: g.target.id, grantId: g.grantId, requester: g.requester, ...extra },
  });

  /** Enqueues `batch`; logs in with each sampled grant as soon as its result is accepted. */
  async function runBatch(batch: { job: NewJobInput; sample?: Grant }[], during?: () => Promise<void>) {
    await settleBatch(sb.cp.store, batch, {
      enqueued: (jobId, { job }) => enqueued.push({ jobId, job, note: log.at(-1) ?? '' }),
      settled: (entry, view) => {
        const result = view.result as { password?: unknown } | undefined;
        if (typeof result?.password === 'string') secrets.push(result.password);
        if (entry.sample && view.state === 'succeeded') return loginNow(entry.sample, view);
      },
      ...(during ? { during } : {}),
    });
  }

  async function loginNow(g: Grant, view: JobView): Promise<void> {
    const issued = view.result as IssuedCredential;
    // A per-requester user already holding a password answers passwordUnchanged: nothing to log in with.
    if (issued.password === undefined) return;
    let client: MongoClient | undefined;
    try {
      client = await loginOnce(issued);
      const status = await client.db('admin').command({ connectionStatus: 1 });
      const held = (status['authInfo'] as { authenticatedUserRoles: { role: string; db: string }[] })
        .authenticatedUserRoles;
      for (const role of issued.roles) {
        if (!held.some((h) => h.role === role.roleName && h.db === role.databaseName))
          throw new Error(`role ${role.roleName}@${role.databaseName} missing from ${JSON.stringify(held)}`);
      }
      if (g.target.probe) await client.db(g.target.probe.db).collection(g.target.probe.collection).findOne();
      sampled.push({ credential: issued, target: g.target });
    } catch (error) {
      loginFailures.push(`${g.grantId} ${g.target.id} (${issued.username}): ${String(error)}`);
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
    sb.cp.faults.clear();
    if (mode === 1) {
      faults.serverErrorRate = 0.05 + rnd() * 0.15;
      faults.connectionResetRate = 0.02 + rnd() * 0.08;
      faults.slowResponseRate = 0.1;
      faults.slowResponseMs = 300;
      sb.cp.faults.set({ errorRate: 0.1 + rnd() * 0.15, routes: ['intent', 'result', 'extend', 'claim'] });
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
    } else if (mode === 3) {
      // The write lands and its answer is held past a SIGKILL: the next daemon redoes the job.
      faults.script.push({
        operationId: pick(writeOps.slice(0, 4)),
        kind: 'slow',
        status: 500,
        delayMs: 6_000,
        times: 1,
      });
    }
  }

  async function killAndReplace(afterMs: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, afterMs));
    const connectorId = pick(connectors);
    const victim = serving.get(connectorId);
    if (!victim) return;
    victim.kill('SIGKILL');
    await victim.exited;
    log.push(`  kill -9 ${connectorId}`);
    serving.set(connectorId, await sb.connector(daemonEnv(connectorId)));
  }

  /** One organisation change through the simulator's test hooks, each at most once (pause twice). */
  function changeOrganisation(): void {
    const options: (() => string)[] = [];
    if (!changed.retagged)
      options.push(() => {
        changed.retagged = true;
        sb.sim.updateCluster(platform, 'Peered', {
          tags: [
            { key: 'apono-connection-type', value: 'Private' },
            { key: 'apono-connector-id', value: 'vpc-b' },
          ],
        });
        return `re-tag ${retagged} to vpc-b`;
      });
    if (!changed.deleted)
      options.push(() => {
        changed.deleted = sb.sim.deleteCluster(platform, doomed);
        return `delete ${platform}:${doomed}`;
      });
    if (!changed.added)
      options.push(() => {
        changed.added = sb.sim.addCluster(clusterInput(late, '660300000000000000000018'));
        return `add ${platform}:${late}`;
      });
    options.push(() => {
      changed.paused = !changed.paused;
      sb.sim.updateCluster(analytics, 'Analytics', { paused: changed.paused });
      return `${changed.paused ? 'pause' : 'resume'} ${paused}`;
    });
    log.push(`  org change: ${pick(options)()}`);
  }

  it('converges Atlas to its pre-soak state, ends every job once and leaks no secret', async () => {
    onTestFailed(() => {
      const file = join(tmpdir(), `deep-discovery-soak-${seed}.log`);
      const jobs = enqueued.map(
        ({ jobId, job }) =>
          `${jobId} ${job.type} ${JSON.stringify(job.payload)}\n    -> ${JSON.stringify(sb.cp.store.job(jobId))}`,
      );
      writeFileSync(
        file,
        [...log, '--- jobs', ...jobs, '--- daemons', ...sb.daemons.map((d) => d.output())].join('\n'),
      );
      console.log(`deep-discovery soak: the rounds, jobs and daemon logs are in ${file}`);
    });
    for (let round = 0; round < rounds; round += 1) {
      if (round > 0 && rnd() < 0.6) changeOrganisation();
      const batch: { job: NewJobInput; sample?: Grant }[] = rnd() < 0.6 ? discovers() : [];
      const size = 4 + Math.floor(rnd() * 4);
      for (let i = 0; i < size; i += 1) {
        const r = rnd();
        const active = grants.filter((g) => !g.short);
        if (r < 0.4 || active.length === 0) {
          const g = newGrant(rnd() < 0.2);
          grants.push(g);
          batch.push({ job: g.job, sample: g });
        } else if (r < 0.48) {
          batch.push({ job: pick(grants).job }); // a redelivered grant
        } else if (r < 0.68) {
          const g = pick(active);
          batch.push({ job: jobOn(g, 'revoke') });
          if (rnd() < 0.3) batch.push({ job: jobOn(g, 'revoke') }); // a redelivered revoke
        } else if (r < 0.78) {
          batch.push({ job: jobOn(pick(active), 'renew', { ttlSeconds: 7200 }) });
        } else if (r < 0.86) {
          const requester = pick(people);
          const target = pick(targets);
          batch.push({
            job: {
              type: 'rotate',
              integrationId: 'org',
              resourceKey: keyOf('org', requester, target.id),
              payload: { subIntegrationId: target.id, requester },
            },
          });
        } else {
          const integrationId = pick(integrations);
          const one = rnd() < 0.5 ? pick(targets).id : undefined;
          batch.push({
            job: {
              type: 'sweep',
              integrationId,
              resourceKey: `sweep/${integrationId}/${one ?? 'all'}`,
              payload: one === undefined ? {} : { subIntegrationId: one },
              connectorId: 'vpc-a',
            },
          });
        }
      }
      // Sample a grant only when nothing else in its batch writes its user, and its cluster is up.
      const keys = new Map<string, number>();
      for (const { job } of batch)
        keys.set(job.resourceKey ?? '', (keys.get(job.resourceKey ?? '') ?? 0) + 1);
      for (const entry of batch) {
        const crowded = (keys.get(entry.job.resourceKey ?? '') ?? 0) > 1;
        if (entry.sample && (crowded || (entry.sample.target.id === paused && changed.paused)))
          delete entry.sample;
      }
      const mode = Math.floor(rnd() * 4);
      setFaults(mode);
      const kill = mode === 3 || rnd() < 0.25;
      log.push(`round ${round}: ${batch.length} jobs, faults ${mode}, kill ${kill}`);
      await runBatch(
        batch,
        kill ? () => killAndReplace(mode === 3 ? 1_000 : 100 + Math.floor(rnd() * 1_500)) : undefined,
      );
      setFaults(0);
    }

    // Convergence: faults off, the paused cluster resumed, routing current, every long grant
    // revoked, the short ones expire, then both integrations swept.
    setFaults(0);
    if (changed.paused) sb.sim.updateCluster(analytics, 'Analytics', { paused: false });
    log.push('convergence');
    await runBatch(discovers());
    await runBatch(grants.filter((g) => !g.short).map((g) => ({ job: jobOn(g, 'revoke') })));
    const shortEnd = Date.now() + 11_000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, shortEnd - Date.now())));
    await runBatch(
      integrations.map((integrationId) => ({
        job: {
          type: 'sweep',
          integrationId,
          resourceKey: `sweep/${integrationId}/all`,
          payload: {},
          connectorId: 'vpc-a',
        },
      })),
    );

    const views = enqueued.map((e) => ({ ...e, view: sb.cp.store.job(e.jobId) }));
    const context = `seed ${seed}\n${log.join('\n')}`;
    const outcomes: Record<string, number> = {};
    for (const { job, view } of views) {
      const k = `${job.type} ${view?.state} ${view?.error?.code ?? ''}`.trim();
      outcomes[k] = (outcomes[k] ?? 0) + 1;
    }
    console.log(
      `deep-discovery soak: ${enqueued.length} jobs (${grants.length} grants), ${sb.daemons.length} daemons, ` +
        `${sampled.length} sampled logins\n${log.join('\n')}\n${JSON.stringify(outcomes, null, 1)}`,
    );

    expect(loginFailures, context).toEqual([]);
    // Every job terminal, with exactly one terminal result accepted.
    const results = sb.cp.store.results();
    for (const { jobId, view } of views) {
      expect(terminal, `${jobId} ${JSON.stringify(view)}`).toContain(view?.state);
      const final = results.filter((r) => r.jobId === jobId && terminal.includes(r.jobState));
      if (view?.state !== 'dead' || final.length > 0)
        expect(final, `${jobId} ${JSON.stringify(view)}`).toHaveLength(1);
    }
    // Only the failures the soak provokes.
    const unexpected = views.filter(({ job, view }) => {
      if (view?.state === 'succeeded') return false;
      const code = view?.error?.code;
      const message = view?.error?.message ?? '';
      const on = (job.payload as { subIntegrationId?: string }).subIntegrationId;
      const moved = on === retagged || on === `${platform}:${late}`;
      const expected =
        code === 'max_attempts_exceeded' ||
        // A grant, renew or rotate routed on a snapshot older than the re-tag, or enqueued for the
        // added cluster before a discovery reported it (unrouted: any connector may claim it).
        (code === 'wrong_connector' && moved) ||
        // A grant, renew or rotate on the deleted cluster, or on the added one before it was.
        (code === 'invalid_request' &&
          (on === `${platform}:${doomed}` || on === `${platform}:${late}`) &&
          /not found in project/.test(message)) ||
        // A grant on the cluster while it is paused (no credential could log in to it).
        (job.type === 'grant' && code === 'conflict' && on === paused && /is paused/.test(message)) ||
        // A renew of a grant already revoked (or whose grant failed).
        (job.type === 'renew' && code === 'invalid_request' && /is not active on user/.test(message)) ||
        // A rotate of a requester with no user on that cluster.
        (job.type === 'rotate' && code === 'not_found' && /has no database user/.test(message));
      return !expected;
    });
    // Atlas as before: what was not the connector's is untouched, nothing the connector added remains.
    expect(unmanagedAndOwned(), context).toEqual(before);
    for (const projectId of projects) {
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
    expect(
      unexpected.map(
        ({ jobId, job, view }) =>
          `${jobId} ${job.type} ${JSON.stringify(job.payload)}: ${JSON.stringify(view?.error)}`,
      ),
      context,
    ).toEqual([]);
    // No sampled credential logs in any more (the deleted cluster has nowhere to log in to).
    for (const { credential, target } of sampled) {
      if (target.id !== `${platform}:${doomed}`) await expectLoginRefused(credential);
    }
    // No secret in any daemon's output, the killed ones' included.
    for (const daemon of sb.daemons) {
      const output = daemon.output();
      for (const secret of secrets)
        expect(output.includes(secret), 'a secret in the daemon output').toBe(false);
    }
  }, 300_000);
});
