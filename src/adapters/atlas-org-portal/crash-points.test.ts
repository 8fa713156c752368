import { describe, expect, it } from 'vitest';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import { GrantLedger } from '../../sandbox/control-plane/grant-ledger.js';
import type { JobRecord } from '../../sandbox/control-plane/types.js';
import { grantAccess } from './grant.js';
import {
  GrantPayload,
  GrantRecord,
  RevokePayload,
  SweepPayload,
  type GrantIntent,
  type GrantResult,
} from './payloads.js';
import type { GrantCtx, PortalDeps } from './person.js';
import { revokeAccess } from './revoke.js';
import { accessKey, type Access } from './roles.js';
import { sweepAccess } from './sweep.js';
import {
  analytics,
  baseConfig,
  bobId,
  hourMs,
  nowMs,
  payments,
  personView,
  portalWorld,
  record,
  type PersonSeed,
  type PersonView,
  type PortalWorld,
} from '../../../test/kits/portal-test-kit.js';

/**
 * Crash points of the org-portal grant, revoke and sweep: a job dies (kill -9, lease lost) at every
 * Atlas write in turn: before the write is sent, after it landed but before its answer is seen, or
 * with it on the wire, landing just after the next attempt's read; and in the wait for an
 * invitation slot. (a) The job is redelivered with the intent the dead attempt recorded last (also
 * after the redelivered attempt dies too) and runs to the end: Atlas and the result are those of a
 * run that never crashed. (b) The job dies for good: the control plane makes a record of the last
 * intent (`GrantLedger.ended`), and its revoke, or the sweep once it expired, leaves the person with
 * exactly the roles they had before the grant. A grant Atlas refuses for good partway (its take-back
 * dying too) ends as a crash-free one does, and its record is undone the same way.
 */

const email = 'bob@example.com';
const billing: Access = { level: 'org', role: 'ORG_BILLING_ADMIN' };
const readOnly: Access = { level: 'org', role: 'ORG_READ_ONLY' };
const paymentsReadWrite: Access = {
  level: 'project',
  projectId: payments,
  role: 'GROUP_DATA_ACCESS_READ_WRITE',
};
const analyticsReadOnly: Access = { level: 'project', projectId: analytics, role: 'GROUP_READ_ONLY' };
const analyticsSearch: Access = { level: 'project', projectId: analytics, role: 'GROUP_SEARCH_INDEX_EDITOR' };
/** Other grants of the person end after the crashed one, so the sweep finds them active. */
const laterEnd = new Date(nowMs + 24 * hourMs).toISOString();

interface Scenario {
  readonly name: string;
  /** The person before the grant (absent: not a member, invited by the grant). */
  readonly person?: PersonSeed;
  readonly access: readonly Access[];
  /** The person's other unrevoked grants (the ledger the jobs carry). */
  readonly others?: readonly GrantRecord[];
  /** The record of an earlier delivery of the same grant id (the control plane reuses it). */
  readonly own?: GrantRecord;
  /** The person before that earlier delivery (default: `person`): what its revoke leaves. */
  readonly origin?: PersonSeed;
}

const bob = (seed: Partial<PersonSeed> = {}): PersonSeed => ({ id: bobId, email, ...seed });

const scenarios: readonly Scenario[] = [
  {
    name: 'active member',
    person: bob({ projects: { [payments]: ['GROUP_READ_ONLY'] } }),
    access: [billing, paymentsReadWrite],
  },
  {
    name: 'active member, another active grant shares a role',
    person: bob({
      orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'],
      projects: { [payments]: ['GROUP_READ_ONLY'] },
    }),
    access: [billing, readOnly, paymentsReadWrite],
    others: [record({ grantId: 'g-0', userId: bobId, added: [billing], expiresAt: laterEnd })],
  },
  {
    name: 'active member, org role + a role in a project they are not in',
    person: bob(),
    access: [billing, analyticsReadOnly, analyticsSearch],
  },
  {
    name: 'active member, a role in a project membership another active grant created',
    person: bob({ projects: { [analytics]: ['GROUP_READ_ONLY'] } }),
    access: [billing, analyticsReadOnly, analyticsSearch],
    others: [
      record({
        grantId: 'g-0',
        userId: bobId,
        added: [analyticsReadOnly],
        created: { invitation: false, projectMemberships: [analytics] },
        expiresAt: laterEnd,
      }),
    ],
  },
  {
    name: 'pending invitee, org role + a role in a project they are not in',
    person: bob({ status: 'PENDING', projects: { [payments]: ['GROUP_READ_ONLY'] } }),
    access: [billing, paymentsReadWrite, analyticsReadOnly],
  },
  {
    name: 'pending invitee of another active grant that shares a role',
    person: bob({ status: 'PENDING', orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'] }),
    access: [billing, readOnly, analyticsReadOnly],
    others: [
      record({
        grantId: 'g-0',
        userId: bobId,
        added: [billing],
        created: { invitation: true, projectMemberships: [] },
        expiresAt: laterEnd,
      }),
    ],
  },
  {
    name: 'grant id granted again, its earlier delivery still recorded',
    origin: bob({ projects: { [payments]: ['GROUP_READ_ONLY'] } }),
    person: bob({
      orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'],
      projects: { [payments]: ['GROUP_READ_ONLY'], [analytics]: ['GROUP_READ_ONLY'] },
    }),
    access: [readOnly, paymentsReadWrite, analyticsSearch],
    own: record({
      grantId: 'g-1',
      userId: bobId,
      added: [billing, analyticsReadOnly],
      created: { invitation: false, projectMemberships: [analytics] },
    }),
  },
  {
    name: 'unknown person, invited',
    access: [billing, analyticsReadOnly],
  },
];

/**
 * docs/org-portal.md, "A record with no user id": "is left when the attempt that invited the person
 * died, or lost Atlas's answer (a 5xx, a broken connection), before the second intent … the record
 * is left open and untouched: its revoke fails `conflict` naming `grantId` (nothing removed, the
 * record stays), the sweep neither removes nor clears it and lists the person in `failures`". A
 * grant that dies for good right after its invitation landed is that record.
 */
const acceptedWindow = (dead: { intent: GrantIntent | undefined }, person: PersonView | undefined) =>
  dead.intent !== undefined && dead.intent.userId === undefined && person?.status === 'PENDING';

/**
 * Where an attempt dies at its write: `before` the write is sent; `after` it landed (its answer is
 * lost); `late`: the write was on the wire when the attempt died and lands just after the next
 * attempt's first read (so that attempt's own write of it finds it done); `late409`: the same,
 * with Atlas answering 409 to every `:addRole` of a role the person holds, for the whole job (the
 * spec declares a 409 there; whether it means "already held" is unconfirmed, and the simulator
 * answers 200); `slot`: in the wait for the
 * invitation pacer's slot of an invitation write (cancelled, its lease lost).
 */
type Mode = 'before' | 'after' | 'late' | 'late409' | 'slot';
interface Point {
  /** The attempt's `at`-th Atlas write (1-based); for `slot`, its `at`-th wait for an invitation slot. */
  readonly at: number;
  readonly mode: Mode;
}

const lost = () =>
  new ConnectorError({ code: 'lease_lost', message: 'lease lost (the test kills the attempt)' });
const isLost = (error: unknown) => isConnectorError(error) && error.code === 'lease_lost';
const isRead = (name: string) => name === 'list' || name === 'get';

type Write = () => Promise<unknown>;

interface Attempt {
  /** The Atlas client the attempt uses. */
  readonly deps: PortalDeps;
  /** Its context: once dead, it can record no intent (fenced, as a stale attempt is). */
  readonly ctx: PortalWorld['ctx'];
  readonly dead: boolean;
  /** Its write still on the wire (`late`), if any. */
  readonly inFlight: Write | undefined;
}

/** Whether the person holds the role an `:addRole` call (`[orgOrGroupId, userId, role]`) adds. */
function holds(h: PortalWorld, resourceName: string, args: readonly unknown[]): boolean {
  const [scope, userId, role] = args as [string, string, string];
  const user = h.world.orgUser(userId);
  const roles = resourceName === 'orgUsers' ? user?.orgRoles : user?.projectRoles[scope];
  return roles?.includes(role) ?? false;
}

/**
 * One attempt of a job on `h`'s Atlas, dying at `point` (none: it runs to its end). From then on
 * nothing it does reaches Atlas or the control plane. `landing`: an earlier attempt's write still on
 * the wire, which lands just after this attempt's first read. `strict`: Atlas answers 409 to an
 * `:addRole` of a role the person holds.
 */
function attempt(h: PortalWorld, point?: Point, landing?: Write, strict = false): Attempt {
  const state: {
    writes: number;
    slots: number;
    dead: boolean;
    inFlight: Write | undefined;
    landing: Write | undefined;
  } = {
    writes: 0,
    slots: 0,
    dead: false,
    inFlight: undefined,
    landing,
  };
  const conflict = { error: 409, errorCode: 'CONFLICT', detail: 'conflict', reason: 'Conflict' };
  const wrap = <T extends object>(resource: T, resourceName: string): T =>
    Object.fromEntries(
      Object.entries(resource).map(([name, fn]) => [
        name,
        async (...args: unknown[]) => {
          const call = () => {
            // Scripted just as it is sent: a write never sent leaves no answer for another one.
            if (strict && name === 'addRole' && holds(h, resourceName, args))
              h.world.answerNext(`${resourceName}.addRole`, 409, conflict);
            return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
          };
          if (state.dead) throw lost();
          if (isRead(name)) {
            const read = await call();
            const land = state.landing;
            state.landing = undefined;
            await land?.().catch(() => undefined);
            return read;
          }
          state.writes += 1;
          if (point?.mode === 'slot' || state.writes !== point?.at) return call();
          state.dead = true;
          if (point.mode === 'after') await call().catch(() => undefined);
          if (point.mode === 'late' || point.mode === 'late409') state.inFlight = call;
          throw lost();
        },
      ]),
    ) as T;
  const atlas = {
    orgUsers: wrap(h.deps.atlas.orgUsers, 'orgUsers'),
    projectUsers: wrap(h.deps.atlas.projectUsers, 'projectUsers'),
  };
  return {
    deps: {
      ...h.deps,
      atlas,
      invitations: {
        ...h.deps.invitations,
        acquire: async (signal) => {
          state.slots += 1;
          if (point?.mode === 'slot' && state.slots === point.at) state.dead = true;
          if (state.dead) throw lost();
          return h.deps.invitations.acquire(signal);
        },
      },
    },
    ctx: {
      ...h.ctx,
      // The job's latest intent, as the control plane hands it to this attempt.
      intent: h.intents.at(-1)?.intent ?? null,
      beforeSideEffect: () => {
        if (state.dead) throw lost();
      },
      recordIntent: async (intent) => {
        if (state.dead) throw lost();
        await h.ctx.recordIntent(intent);
      },
    },
    get dead() {
      return state.dead;
    },
    get inFlight() {
      return state.inFlight;
    },
  };
}

/** The person as Atlas holds them now, by e-mail (an invitation's id may differ between runs). */
function personIn(h: PortalWorld): PersonView | undefined {
  return personView(
    h.world.sim.state
      .snapshot()
      .orgUsers.find((u) => u.username === email && (u.status === 'ACTIVE' || u.status === 'PENDING')),
  );
}

const keys = (list: readonly Access[]) => list.map(accessKey).sort();

const grantPayload = (s: Scenario) =>
  GrantPayload.parse({
    grantId: 'g-1',
    requester: { email },
    access: s.access,
    ttlSeconds: 7200,
    grants: [...(s.own ? [s.own] : []), ...(s.others ?? [])],
  });

/**
 * A fresh world with the person as the scenario seeds them; `before`: the person as the grant's end
 * must leave them (before the grant, or before its earlier delivery).
 */
async function worldOf(s: Scenario): Promise<{ h: PortalWorld; before: PersonView | undefined }> {
  const h = portalWorld(s.person ? [s.person] : []);
  await h.world.start();
  if (!s.origin) return { h, before: personIn(h) };
  const origin = portalWorld([s.origin]);
  await origin.world.start();
  return { h, before: personIn(origin) };
}

const grant = (s: Scenario, deps: PortalDeps, ctx: GrantCtx) =>
  grantAccess({ config: baseConfig, payload: grantPayload(s) }, deps, ctx);

/** The record the control plane keeps of a grant that reported its result. */
const recordOf = (result: GrantResult): GrantRecord =>
  GrantRecord.parse({
    grantId: result.grantId,
    email,
    userId: result.userId,
    expiresAt: result.expiresAt,
    added: result.added,
    created: result.created,
  });

/** The record the reference control plane makes of a grant job that ended failed or dead with `intent`. */
function recordFromIntent(s: Scenario, intent: GrantIntent): GrantRecord {
  const ledger = new GrantLedger({ clock: { now: () => nowMs }, maxPayloadBytes: 262_144 });
  const portal = { id: 'portal', kind: 'atlas-org-portal', config: {}, secretRef: 'env://X' };
  const job = (seq: number, fields: Partial<JobRecord>) =>
    ({
      jobId: `job-g-1-${seq}`,
      type: 'grant',
      integrationId: 'portal',
      resourceKey: `org-portal/${email}`,
      payload: JSON.stringify(grantPayload(s)),
      seq,
      ...fields,
    }) as JobRecord;
  // The earlier delivery of the grant id succeeded: its result is the record the dead job widens.
  if (s.own) ledger.succeeded(job(0, { state: 'succeeded', result: s.own }), portal);
  const value = { attempt: 1, value: intent, recordedAt: new Date(nowMs).toISOString() };
  ledger.ended(job(1, { state: 'dead', intent: value }), portal);
  const [made] = ledger.grants('portal', email);
  if (!made) throw new Error('the ledger made no record of the intent');
  return GrantRecord.parse(made);
}

const revoke = (
  h: PortalWorld,
  grants: readonly GrantRecord[],
  deps = h.deps,
  ctx: PortalWorld['ctx'] = h.ctx,
) =>
  revokeAccess({ config: baseConfig, payload: RevokePayload.parse({ grantId: 'g-1', grants }) }, deps, ctx);

const sweep = (
  h: PortalWorld,
  grants: readonly GrantRecord[],
  deps = h.deps,
  ctx: PortalWorld['ctx'] = h.ctx,
) => sweepAccess({ config: baseConfig, payload: SweepPayload.parse({ grants }) }, deps, ctx);

type Outcome = { readonly result: GrantResult } | { readonly error: unknown };
const settle = (run: Promise<GrantResult>): Promise<Outcome> =>
  run.then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );

/** The crash-free run: Atlas after the grant, its outcome, and how many writes it made. */
async function reference(s: Scenario) {
  const { h, before } = await worldOf(s);
  const outcome = await settle(grant(s, h.deps, h.ctx));
  const size: Size = { writes: h.writes().length, slots: h.invitations.acquired };
  return { before, after: personIn(h), outcome, size };
}

/**
 * The grant job's attempts, each dying at its point in turn, on a fresh world; then, unless
 * `forGood`, one more attempt that runs to its end. An attempt that ends before its point (fewer
 * writes; Atlas refused one for good) ends the job there. Each attempt gets the job's latest
 * intent; `intent` is the latest when the job ended.
 */
interface JobEnd {
  readonly h: PortalWorld;
  readonly before: PersonView | undefined;
  readonly result?: GrantResult;
  readonly error?: unknown;
  readonly intent: GrantIntent | undefined;
}

async function grantJob(s: Scenario, crashes: readonly Point[], forGood = false): Promise<JobEnd> {
  const { h, before } = await worldOf(s);
  const strict = crashes.some((p) => p.mode === 'late409');
  const ended = (outcome?: Outcome): JobEnd => ({ h, before, ...outcome, intent: h.intents.at(-1)?.intent });
  let landing: Write | undefined;
  for (const point of crashes) {
    const dying = attempt(h, point, landing, strict);
    const outcome = await settle(grant(s, dying.deps, dying.ctx));
    // A dead attempt reports nothing (its lease is lost, its process gone), whatever it ended with:
    // the job is delivered again.
    if (!dying.dead) return ended(outcome);
    landing = dying.inFlight;
  }
  if (forGood) {
    // What was on the wire lands after all; the job is over.
    await landing?.().catch(() => undefined);
    return ended();
  }
  const last = attempt(h, undefined, landing, strict);
  return ended(await settle(grant(s, last.deps, last.ctx)));
}

const modes: readonly Mode[] = ['before', 'after', 'late', 'late409'];

/** How many Atlas writes a crash-free run makes, and how many invitation slots it waits for. */
interface Size {
  readonly writes: number;
  readonly slots: number;
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Every crash point of an attempt of that size. */
const points = ({ writes, slots }: Size): Point[] => [
  ...upTo(writes).flatMap((at) => modes.map((mode) => ({ at, mode }))),
  ...upTo(slots).map((at) => ({ at, mode: 'slot' as const })),
];

/** Every single crash; with `twice`, also every two crashes in a row (the redelivered attempt dies too). */
const chains = (size: Size, twice = false): Point[][] => [
  ...points(size).map((p) => [p]),
  ...(twice ? points(size).flatMap((p) => points(size).map((q) => [p, q])) : []),
];

const describeChain = (chain: readonly Point[]) =>
  chain.map((p) => (p.mode === 'slot' ? `in slot wait ${p.at}` : `${p.mode} write ${p.at}`)).join(', then ');

type Ending = 'revoke' | 'sweep';
const endings: readonly Ending[] = ['revoke', 'sweep'];

/**
 * A grant job that ended without a result: the control plane makes a record of its latest intent,
 * and its revoke, or the sweep once it expired, leaves the person exactly as before the grant.
 */
async function endsAsBefore(
  s: Scenario,
  dead: { h: PortalWorld; before: PersonView | undefined; intent: GrantIntent | undefined },
  ending: Ending,
  where: string,
) {
  if (dead.intent === undefined) {
    // No intent, no write: Atlas is untouched.
    expect(personIn(dead.h), where).toEqual(dead.before);
    return;
  }
  const made = recordFromIntent(s, dead.intent);
  expect(made.fromIntent, where).toBe(true);
  const grants = [made, ...(s.others ?? [])];
  const left = personIn(dead.h);
  const window = acceptedWindow(dead, left);
  if (ending === 'revoke') {
    const revoked = revoke(dead.h, grants);
    if (window) {
      await expect(revoked, where).rejects.toMatchObject({ code: 'conflict', details: { field: 'grantId' } });
      expect(personIn(dead.h), where).toEqual(left);
      return;
    }
    await revoked;
  } else {
    await dead.h.world.clock.advance(2 * hourMs + 1000);
    const swept = await sweep(dead.h, grants);
    if (window) {
      expect(swept.failures, where).toMatchObject([{ email, code: 'conflict' }]);
      expect(swept.clearedGrants, where).toEqual([]);
      expect(personIn(dead.h), where).toEqual(left);
      return;
    }
    expect(swept.failures, where).toEqual([]);
    expect(swept.clearedGrants, where).toEqual(['g-1']);
  }
  expect(personIn(dead.h), where).toEqual(dead.before);
}

/**
 * Each case walks every chain of crash points of its scenario (hundreds of runs): about 6 s for
 * the largest on a quiet 2-core host, and several times that while other suites share the cores,
 * so a case gets more than the suite's default 20 s. A budget, not a speed check.
 */
const exhaustive = { timeout: 120_000 };

describe.each(scenarios)('a grant that dies at each Atlas write: $name', (s) => {
  it('redelivered with its last intent, ends as a run that never crashed', exhaustive, async () => {
    const ref = await reference(s);
    if (!('result' in ref.outcome)) throw new Error(`crash-free: ${String(ref.outcome.error)}`);
    const expected = ref.outcome.result;
    expect(ref.size.writes).toBeGreaterThan(0);
    for (const chain of chains(ref.size, true)) {
      const run = await grantJob(s, chain);
      const where = describeChain(chain);
      const result = run.result;
      if (!result) throw new Error(`${where}: ${String(run.error)}`);
      expect(personIn(run.h), where).toEqual(ref.after);
      expect(keys(result.added), where).toEqual(keys(expected.added));
      expect(keys(result.alreadyHeld), where).toEqual(keys(expected.alreadyHeld));
      expect(result.created.invitation, where).toBe(expected.created.invitation);
      expect([...result.created.projectMemberships].sort(), where).toEqual(
        [...expected.created.projectMemberships].sort(),
      );
      // And its revoke then leaves the person as they were before the grant.
      await revoke(run.h, [recordOf(result), ...(s.others ?? [])]);
      expect(personIn(run.h), `${where}, then revoked`).toEqual(run.before);
    }
  });

  it.each(endings)(
    'dead for good, the record of its last intent is undone by a %s',
    exhaustive,
    async (ending) => {
      const ref = await reference(s);
      for (const chain of chains(ref.size)) {
        const dead = await grantJob(s, chain, true);
        const where = describeChain(chain);
        expect(dead.error, where).toBeUndefined();
        if (dead.result) continue; // the second attempt had fewer writes and succeeded
        await endsAsBefore(s, dead, ending, where);
      }
    },
  );
});

describe.each(scenarios)('a revoke or sweep that dies at each Atlas write: $name', (s) => {
  it.each(endings)(
    'redelivered, the %s leaves the person as before the grant',
    exhaustive,
    async (ending) => {
      const end = (h: PortalWorld, made: GrantRecord, run?: Attempt) => {
        const grants = [made, ...(s.others ?? [])];
        if (ending === 'revoke') return revoke(h, grants, run?.deps, run?.ctx);
        return sweep(h, grants, run?.deps, run?.ctx);
      };
      const granted = async () => {
        const run = await grantJob(s, []);
        if (!run.result) throw new Error('no result');
        if (ending === 'sweep') await run.h.world.clock.advance(2 * hourMs + 1000);
        return { ...run, made: recordOf(run.result) };
      };
      // The crash-free ending, for its number of writes.
      const ref = await granted();
      const writesBefore = ref.h.writes().length;
      await end(ref.h, ref.made);
      expect(personIn(ref.h)).toEqual(ref.before);
      const writes = ref.h.writes().length - writesBefore;
      expect(writes).toBeGreaterThan(0);
      for (const chain of chains({ writes, slots: 0 })) {
        const { h, before, made } = await granted();
        const where = describeChain(chain);
        let landing: Write | undefined;
        let done = false;
        for (const point of chain) {
          const dying = attempt(h, point, landing);
          const outcome = await end(h, made, dying).then(
            () => true,
            (error: unknown) => {
              expect(error, where).toSatisfy(isLost);
              return false;
            },
          );
          if (outcome) {
            done = true;
            break;
          }
          landing = dying.inFlight;
        }
        if (!done) await end(h, made, attempt(h, undefined, landing));
        expect(personIn(h), where).toEqual(before);
      }
    },
  );
});

const unknownProject: Access = {
  level: 'project',
  projectId: '6602000000000000000000cc',
  role: 'GROUP_READ_ONLY',
};

/** Grants Atlas refuses for good partway (a project it does not know): each takes back what it wrote. */
const refusedScenarios: readonly Scenario[] = [
  {
    name: 'active member',
    person: bob({ projects: { [payments]: ['GROUP_READ_ONLY'] } }),
    access: [billing, paymentsReadWrite, analyticsReadOnly, unknownProject],
  },
  {
    name: 'active member, another active grant shares a role',
    person: bob({
      orgRoles: ['ORG_MEMBER', 'ORG_BILLING_ADMIN'],
      projects: { [analytics]: ['GROUP_READ_ONLY'] },
    }),
    access: [billing, readOnly, analyticsReadOnly, analyticsSearch, unknownProject],
    others: [
      record({
        grantId: 'g-0',
        userId: bobId,
        added: [billing, analyticsReadOnly],
        created: { invitation: false, projectMemberships: [analytics] },
        expiresAt: laterEnd,
      }),
    ],
  },
  {
    name: 'pending invitee',
    person: bob({ status: 'PENDING', projects: { [payments]: ['GROUP_READ_ONLY'] } }),
    access: [billing, paymentsReadWrite, analyticsReadOnly, unknownProject],
  },
];

describe.each(refusedScenarios)('a grant refused for good that dies at each Atlas write: $name', (s) => {
  it.each(endings)(
    'fails as a run that never crashed, and its record is undone by a %s',
    exhaustive,
    async (ending) => {
      const ref = await reference(s);
      expect(ref.outcome).toMatchObject({ error: { code: 'invalid_request' } });
      expect(ref.after).toEqual(ref.before);
      for (const chain of [[], ...chains(ref.size)]) {
        const run = await grantJob(s, chain);
        const where = describeChain(chain);
        expect(run.error, where).toMatchObject({ code: 'invalid_request', retryable: false });
        expect(personIn(run.h), where).toEqual(ref.after);
        await endsAsBefore(s, run, ending, where);
      }
    },
  );
});
