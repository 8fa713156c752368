import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { defaultFixture, sandboxIds, type AtlasFixtureInput } from '../../src/sandbox/atlas/index.js';
import type { HookMatch } from '../../src/sandbox/atlas/test-hooks.js';
import type { NewJobInput } from '../../src/sandbox/control-plane/control-plane-store.js';
import { DigestClient } from '../contract/digest-client.js';
import { personView, type PersonView } from '../kits/portal-test-kit.js';
import { seededRandom } from '../kits/seeded-random-test-kit.js';
import { eventually } from './daemon-process.js';
import {
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
  putPortalIntegration,
  startSandbox,
  type Sandbox,
} from './sandbox-harness.js';

/**
 * A seeded, randomized soak of the `atlas-org-portal` kind against the built daemon: overlapping
 * grants, revokes, renews, duplicate deliveries and sweeps for members with pre-held roles, a
 * pending invitee, unknown people (invited; some accept mid-soak) and people who leave the org
 * mid-soak, under random Atlas faults (refused before the write: 5xx, connection reset; written
 * with the answer lost: scripted `resetAfterCommit`; slow answers), `kill -9` of a daemon and, with
 * two replicas running, one replica frozen (SIGSTOP) past its lease TTL and session grace —
 * sometimes while Atlas holds one of its answers — so the other redoes its jobs, then resumed
 * (SIGCONT). Then faults off, every open grant revoked, the sweep run, and the invariants checked:
 * Atlas is as before the soak for every person it touched, every job ended once with one accepted
 * result, no result accepted from an attempt after a later attempt of its job was leased (a resumed
 * replica's late result), and no secret in the logs.
 *
 * The seed is fixed; `SOAK_SEED=<n>` replays another one and `SOAK_STEPS=<n>` changes the length
 * (both printed at the start); `SOAK_POLICY=1` restarts some daemons under a narrower
 * POLICY_ALLOWED_ORG_ROLES, `SOAK_REPLICAS=2` runs two daemons at once. `SOAK_FREEZE=once` (the
 * default) runs two replicas and freezes one once, at a step the seed draws; `SOAK_FREEZE=<p>`
 * (0 < p ≤ 1) freezes one at each step with probability p, one freeze at a time; `SOAK_FREEZE=off`
 * freezes none (and runs one daemon unless SOAK_REPLICAS=2). The job sequence is the
 * seed's; which jobs race is the scheduler's, so a failing run writes its steps, jobs, Atlas events
 * and daemon logs to a file it names. The invariants hold whatever the interleaving, save the
 * documented residuals (docs/org-portal.md: an `addGroupUsers` whose answer is lost after the
 * person's membership went; a record without the invitation's user id, which the soak's people
 * resolve by accepting the invitation, as the docs expect).
 */
const seed = Number(process.env.SOAK_SEED ?? 20261207);
const steps = Number(process.env.SOAK_STEPS ?? 120);
const freezeMode = process.env.SOAK_FREEZE ?? 'once';
const freezeRate = freezeMode === 'once' || freezeMode === 'off' ? 0 : Number(freezeMode);
if (!(freezeRate >= 0 && freezeRate <= 1))
  throw new Error(`SOAK_FREEZE: once, off or 0..1, not ${freezeMode}`);
const replicas = freezeMode !== 'off' || process.env.SOAK_REPLICAS === '2' ? 2 : 1;
const leaseTtlMs = 2_000;
const { org } = sandboxIds;
const terminal = ['succeeded', 'failed', 'dead'];

const pre1 = 'pre1@example.com';
const pre2 = 'pre2@example.com';
const leavers = ['leaver1@example.com', 'leaver2@example.com'];
const unknown = ['new1@example.com', 'new2@example.com', 'new3@example.com', 'new4@example.com'];
const members = ['bob@example.com', 'alice@example.com', pre1, pre2];
const everyone = [...members, 'carol@example.com', ...leavers, ...unknown];

function fixture(): AtlasFixtureInput {
  const base = defaultFixture();
  const user = (n: string, username: string, orgRoles: string[], projectRoles: unknown[]) => ({
    id: `6604000000000000000000${n}`,
    orgId: org,
    username,
    status: 'ACTIVE',
    firstName: 'Pre',
    lastName: 'Held',
    orgRoles,
    projectRoles,
  });
  return {
    ...base,
    orgUsers: [
      ...(base.orgUsers ?? []),
      user(
        'a1',
        pre1,
        ['ORG_MEMBER', 'ORG_READ_ONLY'],
        [{ projectId: payments, roles: ['GROUP_DATA_ACCESS_READ_WRITE'] }],
      ),
      user('a2', pre2, ['ORG_BILLING_ADMIN'], [{ projectId: analytics, roles: ['GROUP_READ_ONLY'] }]),
      user('a3', leavers[0] ?? '', ['ORG_MEMBER'], [{ projectId: payments, roles: ['GROUP_READ_ONLY'] }]),
      user('a4', leavers[1] ?? '', ['ORG_MEMBER', 'ORG_GROUP_CREATOR'], []),
    ],
  } as AtlasFixtureInput;
}

const accessPool = [
  { level: 'org', role: 'ORG_READ_ONLY' },
  { level: 'org', role: 'ORG_BILLING_ADMIN' },
  { level: 'org', role: 'ORG_GROUP_CREATOR' },
  { level: 'org', role: 'ORG_MEMBER' },
  { level: 'project', projectId: payments, role: 'GROUP_READ_ONLY' },
  { level: 'project', projectId: payments, role: 'GROUP_DATA_ACCESS_READ_WRITE' },
  { level: 'project', projectId: payments, role: 'GROUP_DATA_ACCESS_READ_ONLY' },
  { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' },
  { level: 'project', projectId: analytics, role: 'GROUP_DATA_ACCESS_READ_WRITE' },
  { level: 'project', projectId: analytics, role: 'GROUP_CLUSTER_MANAGER' },
];
/** Outside POLICY_ALLOWED_ORG_ROLES: such a grant fails policy_denied before any Atlas call. */
const deniedAccess = { level: 'org', role: 'ORG_BILLING_READ_ONLY' };
const writes = [
  'createOrgUser',
  'removeOrgUser',
  'addOrgUserRole',
  'removeOrgUserRole',
  'addGroupUsers',
  'removeGroupUser',
  'addGroupUserRole',
  'removeGroupUserRole',
];
/**
 * Whether the soak may lose the answer to a write of `operationId` (`resetAfterCommit`, or a kill
 * while Atlas holds it). Not `addGroupUsers` in the default run: with the person's membership
 * changed between the grant's read and that write (a sweep withdrawing an invitation, a leaver),
 * its lost answer is a documented residual (docs/org-portal.md, "The grant intent") that leaves
 * roles on the new invitation, and which jobs race that way is the scheduler's, not the seed's.
 * `SOAK_SEED` set (any replay or exploration) loses it too.
 */
const answerLossOn = (operationId: string): boolean =>
  operationId !== 'addGroupUsers' || process.env.SOAK_SEED !== undefined;
/** What a freeze may catch Atlas answering: a grant's first read, or a write whose answer may be lost. */
const heldCalls: HookMatch[] = ['listOrgUsers', ...writes]
  .filter(answerLossOn)
  .map((operationId) => ({ operationId }));

const env = {
  POLICY_ALLOWED_ORG_ROLES: 'ORG_READ_ONLY,ORG_BILLING_ADMIN,ORG_GROUP_CREATOR,ORG_MEMBER',
  ATLAS_INVITATION_WINDOW: '2s',
  ATLAS_MAX_RETRIES: '2',
};

function person(sb: Sandbox, email: string): PersonView | undefined {
  return personView(sb.sim.state.snapshot().orgUsers.find((u) => u.username === email && u.orgId === org));
}

const key = (email: string) => `org-portal/${email}`;

interface Enqueued {
  readonly jobId: string;
  readonly type: string;
  readonly email?: string;
  readonly grantId?: string;
  readonly denied?: boolean;
}

describe(`atlas-org-portal soak (SOAK_SEED=${seed})`, () => {
  let sb: Sandbox;
  let atlas: DigestClient;
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const log: string[] = [];
  beforeAll(async () => {
    console.log(`org-portal soak: SOAK_SEED=${seed} SOAK_STEPS=${steps}`);
    sb = await startSandbox({ leaseTtlMs, fixture: fixture(), propagationDelayMs: 0 });
    sb.cp.store.setIntervals({ sessionGraceMs: freezeSessionGraceMs });
    sb.sim.knobs.invitationWindowMs = 2_000;
    putPortalIntegration(sb, { projectIds: [payments, analytics] });
    await sb.connector(env);
    atlas = new DigestClient(sb.sim.url, atlasKey.publicKey, atlasKey.privateKey);
  });
  afterAll(async () => sb.close());

  it('converges Atlas back to its pre-soak state, ends every job once and leaks no secret', async () => {
    onTestFailed(() => {
      const file = join(tmpdir(), `org-portal-soak-${seed}.log`);
      const events = sb.sim.state.events().map((e) => JSON.stringify(e));
      const jobs = log.map((line) => {
        const view = sb.cp.store.job(line.split(' ')[0] ?? '');
        return view ? `${line}\n    -> ${JSON.stringify(view)}` : line;
      });
      const daemons = sb.daemons.map((d) => d.output());
      writeFileSync(file, [...jobs, '--- events', ...events, '--- daemons', ...daemons].join('\n'));
      console.log(`org-portal soak: the steps, jobs, Atlas events and daemon logs are in ${file}`);
    });
    const before = new Map(everyone.map((email) => [email, person(sb, email)]));
    const teamsBefore = sb.sim.state.snapshot().teams;
    const enqueued: Enqueued[] = [];
    const grantsOf = new Map<string, { grantId: string; job: NewJobInput }[]>();
    const left = new Set<string>();
    const accepted = new Set<string>();
    let grantCount = 0;
    let narrowed = false;
    const enqueue = (job: NewJobInput, meta: Omit<Enqueued, 'jobId' | 'type'>): void => {
      const jobId = sb.cp.store.enqueueJob(job);
      enqueued.push({ jobId, type: job.type, ...meta });
      log.push(`${jobId} ${job.type} ${JSON.stringify(job.payload)}`);
    };
    const daemon = () => {
      const alive = sb.daemons.filter((d) => d.child.exitCode === null && d.child.signalCode === null);
      return pick(alive);
    };
    if (replicas === 2) await sb.connector(env);
    // Freezes draw apart from the steps, so a seed's steps are the same with or without them.
    const freezeDraws = seededRandom(seed ^ 0xf4ee2e);
    let freezeStep = freezeMode === 'once' ? Math.floor(freezeDraws() * steps * 0.8) : steps;
    let freezing: Promise<void> | undefined;
    const freezes: Freeze[] = [];
    /** Whether the held request (`METHOD path`) names the Atlas user of a job's person. */
    const actsOn = (request: string, resourceKey: string): boolean => {
      const email = resourceKey.replace(/^org-portal\//, '');
      const id = sb.sim.state.snapshot().orgUsers.find((u) => u.username === email)?.id;
      return id !== undefined && request.includes(`/users/${id}`);
    };
    const freezeInBackground = (): void => {
      const held = freezeDraws() < 0.5 ? heldCalls[Math.floor(freezeDraws() * heldCalls.length)] : undefined;
      freezing = freezeOne(sb, {
        draw: freezeDraws,
        leaseTtlMs,
        ...(held === undefined ? {} : { held, attributes: actsOn }),
      }).then((freeze) => {
        if (freeze) freezes.push(freeze);
        log.push(`freeze: ${freeze?.how ?? 'none (no job leased)'}`);
        if (freeze === undefined && freezeMode === 'once') freezeStep = 0;
        freezing = undefined;
      });
    };

    const faults = sb.sim.knobs.faults;
    for (let step = 0; step < steps; step += 1) {
      if (freezing === undefined && (step >= freezeStep || (freezeRate > 0 && freezeDraws() < freezeRate))) {
        freezeStep = steps;
        freezeInBackground();
      }
      const roll = random();
      const email = pick(everyone);
      const earlier = grantsOf.get(email) ?? [];
      if (roll < 0.4 || earlier.length === 0) {
        const denied = random() < 0.05;
        const count = 1 + Math.floor(random() * 3);
        const access = [...new Set(Array.from({ length: count }, () => pick(accessPool)))];
        if (denied) access.push(deniedAccess);
        const grantId = `g-${step}`;
        grantCount += 1;
        const ttlSeconds = random() < 0.4 ? 2 + Math.floor(random() * 4) : 3600;
        const job: NewJobInput = {
          type: 'grant',
          integrationId: 'portal',
          resourceKey: key(email),
          payload: { grantId, requester: { email }, access, ttlSeconds },
        };
        enqueue(job, { email, grantId, denied });
        if (!denied) grantsOf.set(email, [...earlier, { grantId, job }]);
      } else if (roll < 0.6) {
        const { grantId } = pick(earlier);
        enqueue(
          { type: 'revoke', integrationId: 'portal', resourceKey: key(email), payload: { grantId } },
          { email, grantId },
        );
      } else if (roll < 0.68) {
        const { grantId } = pick(earlier);
        enqueue(
          {
            type: 'renew',
            integrationId: 'portal',
            resourceKey: key(email),
            payload: { grantId, ttlSeconds: 3600 },
          },
          { email, grantId },
        );
      } else if (roll < 0.72) {
        // The same grant job delivered again (the control plane's redelivery of a grant id).
        const { grantId, job } = pick(earlier);
        enqueue(job, { email, grantId });
      } else if (roll < 0.76) {
        // The grant id granted again with another access list (the control plane reuses it).
        const { grantId, job } = pick(earlier);
        const access = [...new Set([pick(accessPool), pick(accessPool)])];
        const payload = { ...(job.payload as Record<string, unknown>), access };
        const again = { ...job, payload };
        enqueue(again, { email, grantId });
        grantsOf.set(email, [...earlier, { grantId, job: again }]);
      } else if (roll < 0.84) {
        enqueue({ type: 'sweep', integrationId: 'portal', resourceKey: 'org-portal/sweep', payload: {} }, {});
      } else if (roll < 0.9) {
        // Faults: refused before the write (5xx, reset), or written with the answer lost.
        faults.serverErrorRate = pick([0, 0.08, 0.2]);
        faults.connectionResetRate = pick([0, 0.05, 0.15]);
        faults.slowResponseRate = pick([0, 0.1]);
        faults.slowResponseMs = 200;
        const operationId = pick(writes);
        const kind = pick(['resetAfterCommit', 'resetAfterCommit', 'error', 'reset'] as const);
        faults.script.push({
          operationId,
          kind: kind === 'resetAfterCommit' && !answerLossOn(operationId) ? 'error' : kind,
          status: 500,
          delayMs: 0,
          times: 1 + Math.floor(random() * 2),
        });
        // The control plane fails some intents, results, lease extensions and claims too.
        const cpErrorRate = pick([0, 0, 0.1, 0.25]);
        sb.cp.faults.set(
          cpErrorRate === 0
            ? {}
            : { errorRate: cpErrorRate, routes: ['intent', 'result', 'extend', 'claim'] },
        );
        log.push(`faults ${JSON.stringify(faults)} control plane ${cpErrorRate}`);
      } else if (roll < 0.93) {
        const pending = [...unknown, 'carol@example.com'].filter((e) => person(sb, e)?.status === 'PENDING');
        if (pending.length > 0) {
          const invitee = pick(pending);
          sb.sim.acceptInvitation(invitee);
          accepted.add(invitee);
          log.push(`accept ${invitee}`);
        }
      } else if (roll < 0.96) {
        const leaver = pick(leavers);
        const user = sb.sim.state.snapshot().orgUsers.find((u) => u.username === leaver);
        if (user && !left.has(leaver)) {
          // Not through the faults the soak injects for the daemon.
          const script = faults.script.splice(0);
          const rates = { ...faults };
          Object.assign(faults, { serverErrorRate: 0, connectionResetRate: 0, slowResponseRate: 0 });
          const status = (
            await atlas.call('DELETE', `/orgs/${org}/users/${user.id}`, { version: '2025-02-19' })
          ).status;
          Object.assign(faults, { ...rates, script });
          left.add(leaver);
          log.push(`leave ${leaver} ${status}`);
        }
      } else {
        // kill -9, at a random moment or while Atlas holds the answer to a write that landed.
        const chosen = random() < 0.5 ? pick(writes) : undefined;
        const held = chosen !== undefined && answerLossOn(chosen) ? chosen : undefined;
        if (held !== undefined) {
          faults.script.push({ operationId: held, kind: 'slow', status: 500, delayMs: 3_000, times: 1 });
          await new Promise((resolve) => setTimeout(resolve, 400));
        }
        const victim = daemon();
        victim.kill('SIGKILL');
        await victim.exited;
        log.push(`kill -9 (held ${held ?? 'nothing'})`);
        // SOAK_POLICY: the next daemon may run under a narrower org-role policy (no ORG_GROUP_CREATOR).
        const narrow = process.env.SOAK_POLICY === '1' && random() < 0.5;
        if (narrow) narrowed = true;
        await sb.connector(
          narrow ? { ...env, POLICY_ALLOWED_ORG_ROLES: 'ORG_READ_ONLY,ORG_BILLING_ADMIN,ORG_MEMBER' } : env,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 250)));
    }

    await freezing;
    // Convergence: faults off, every job ends, every open grant is revoked, the sweep runs.
    faults.serverErrorRate = 0;
    faults.connectionResetRate = 0;
    faults.slowResponseRate = 0;
    faults.script.length = 0;
    sb.cp.faults.clear();
    const allEnded = () =>
      eventually(
        () =>
          enqueued.every((j) => terminal.includes(sb.cp.store.job(j.jobId)?.state ?? '')) ? true : undefined,
        60_000,
        'every soak job to end',
      ).catch((error: unknown) => {
        const open = enqueued.filter((j) => !terminal.includes(sb.cp.store.job(j.jobId)?.state ?? ''));
        throw new Error(`${String(error)}: ${JSON.stringify(open.map((j) => sb.cp.store.job(j.jobId)))}`);
      });
    await allEnded();
    for (let round = 0; round < 4 && sb.cp.store.grants('portal').length > 0; round += 1) {
      // A record without the user id of the invitation it sent stays open while the person is
      // pending (docs/org-portal.md, "A record with no user id"): the person accepts, as the
      // docs expect, and the revoke then removes its roles.
      for (const entry of sb.cp.store.grants('portal')) {
        if (entry.userId === undefined && person(sb, entry.email)?.status === 'PENDING') {
          sb.sim.acceptInvitation(entry.email);
          accepted.add(entry.email);
          log.push(`accept ${entry.email} (a record without user id)`);
        }
      }
      for (const entry of sb.cp.store.grants('portal')) {
        enqueue(
          {
            type: 'revoke',
            integrationId: 'portal',
            resourceKey: key(entry.email),
            payload: { grantId: entry.grantId },
          },
          { email: entry.email, grantId: entry.grantId },
        );
      }
      enqueue({ type: 'sweep', integrationId: 'portal', resourceKey: 'org-portal/sweep', payload: {} }, {});
      await allEnded();
    }

    const views = enqueued.map((j) => ({ ...j, view: sb.cp.store.job(j.jobId) }));
    const failures = views
      .filter((j) => j.view?.state !== 'succeeded')
      .map(
        (j) => `${j.jobId} ${j.type} ${j.grantId ?? ''} ${j.view?.state} ${JSON.stringify(j.view?.error)}`,
      );
    console.log(
      `org-portal soak: ${enqueued.length} jobs (${grantCount} grants), ${sb.daemons.length} daemons, ` +
        `freezes: ${freezes.map((f) => f.how).join('; ') || 'none'}, ` +
        `left ${[...left].join(',')}, accepted ${[...accepted].join(',')}\n${failures.join('\n')}`,
    );

    // Every job ended once: one accepted result ended it (none for a job that died without one).
    const results = sb.cp.store.results();
    for (const { jobId } of views) {
      const ending = results.filter((r) => r.jobId === jobId && terminal.includes(r.jobState));
      const diedSilent = sb.cp.store.job(jobId)?.state === 'dead' && ending.length === 0;
      if (!diedSilent) expect(ending.length, `results ending job ${jobId}`).toBe(1);
    }
    // A resumed replica's late attempt is never accepted: the fence refuses it once another leased the job.
    expect(
      lateResultsAccepted(
        sb,
        enqueued.map((j) => j.jobId),
      ),
    ).toEqual([]);
    // A resumed replica ends every attempt it held (its leases lost), and goes on running until the
    // soak kills it: a freeze is no reason to exit.
    expect(await unendedAttempts(freezes)).toEqual([]);
    for (const { victim } of freezes) {
      expect(victim.child.exitCode, 'a resumed replica exited').toBeNull();
      expect([null, 'SIGKILL'], 'a resumed replica died').toContain(victim.child.signalCode);
    }
    // No failure other than the policy refusals the soak asked for, renewals of lapsed grants, and
    // grants Atlas faults wore out.
    for (const j of views) {
      if (j.view?.state === 'succeeded') continue;
      const code = j.view?.error?.code;
      const expected =
        (j.denied === true && code === 'policy_denied') ||
        (j.type === 'renew' && code === 'gone') ||
        (j.type === 'revoke' &&
          code === 'conflict' &&
          /without the user id/.test(j.view?.error?.message ?? '')) ||
        (narrowed &&
          (j.type === 'renew' || j.type === 'grant') &&
          code === 'policy_denied' &&
          /ORG_GROUP_CREATOR|^grantId/.test(j.view?.error?.message ?? '')) ||
        code === 'max_attempts_exceeded';
      expect(expected, `${j.jobId} ${j.type}: ${JSON.stringify(j.view?.error)}`).toBe(true);
    }
    expect(sb.cp.store.grants('portal'), 'grants left open').toEqual([]);

    // Atlas is back where it was for everyone the soak touched.
    for (const email of everyone) {
      const now = person(sb, email);
      if (left.has(email) && accepted.has(email)) {
        expect(now, email).toEqual({ status: 'ACTIVE', orgRoles: ['ORG_MEMBER'], projectRoles: {} });
      } else if (left.has(email)) {
        expect(now, email).toBeUndefined();
      } else if (unknown.includes(email)) {
        if (now === undefined) continue;
        expect(accepted.has(email), `${email} is ${JSON.stringify(now)}`).toBe(true);
        expect(now, email).toEqual({ status: 'ACTIVE', orgRoles: ['ORG_MEMBER'], projectRoles: {} });
      } else if (accepted.has(email)) {
        // The invitation someone else sent, accepted mid-soak: the person is a member now.
        expect(now, email).toEqual({ ...before.get(email), status: 'ACTIVE' });
      } else {
        expect(now, email).toEqual(before.get(email));
      }
    }
    expect(sb.sim.state.snapshot().teams).toEqual(teamsBefore);

    // No secret in any daemon's output.
    for (const d of sb.daemons) {
      const output = d.output();
      for (const secret of [atlasKey.privateKey, enrollmentToken]) expect(output).not.toContain(secret);
    }
  }, 240_000);
});
