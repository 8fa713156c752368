import type { Policy } from '../../src/config/env.js';
import type { AtlasOrgPortalConfig } from '../../src/adapters/atlas-org-portal/atlas-org-portal-config.js';
import type { GrantIntent, GrantRecord } from '../../src/adapters/atlas-org-portal/payloads.js';
import type { GrantCtx, PortalDeps } from '../../src/adapters/atlas-org-portal/person.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { createSecretScrubber, type SecretScrubber } from '../../src/runtime/secret-scrubber.js';
import { describeError, type JobContext } from '../../src/worker/job-context.js';
import { AtlasWorld, worldOrgId, type WorldOrgUser } from './atlas-world-test-kit.js';

/**
 * Test-only: ids, a baseline and a harness for the org-portal unit tests, which run the operations
 * through the real Atlas client against the sandbox simulator (`AtlasWorld`): Atlas's rules for
 * people (last role, last owner, 409s, invitations) live once, in `src/sandbox/atlas`.
 */
export const orgId = worldOrgId;
export const payments = '6602000000000000000000aa';
export const analytics = '6602000000000000000000bb';
export const nowMs = Date.UTC(2026, 11, 4, 12, 0, 0);
export const hourMs = 3_600_000;

export const baseConfig: AtlasOrgPortalConfig = { orgId, inviteUnknownUsers: true, ownerTagKey: 'owner' };

export const basePolicy: PortalDeps['policy'] = {
  allowedProjectIds: [],
  allowedOrgRoles: [],
  allowedProjectRoles: [],
  maxGrantTtlMs: 12 * hourMs,
} satisfies Partial<Policy>;

/** Org user ids (Atlas's are 24-hex). */
export const bobId = '6603000000000000000000b0';
export const aliceId = '6603000000000000000000a1';
export const erinId = '6603000000000000000000e1';
export const otherId = '6603000000000000000000f0';

/** A person as Atlas holds them, compared across runs: roles sorted, projects without roles left out. */
export interface PersonView {
  readonly status: string;
  readonly orgRoles: string[];
  readonly projectRoles: Record<string, string[]>;
}

/** `user` (a simulator snapshot's org user, or none) as a `PersonView`. */
export function personView(
  user:
    | {
        readonly status: string;
        readonly orgRoles: readonly string[];
        readonly projectRoles: Readonly<Record<string, readonly string[]>>;
      }
    | undefined,
): PersonView | undefined {
  if (!user) return undefined;
  const projectRoles = Object.fromEntries(
    Object.entries(user.projectRoles)
      .filter(([, roles]) => roles.length > 0)
      .map(([project, roles]) => [project, [...roles].sort()]),
  );
  return { status: user.status, orgRoles: [...user.orgRoles].sort(), projectRoles };
}

/** A person seeded in the organization (ORG_MEMBER and ACTIVE unless told). */
export interface PersonSeed {
  readonly id: string;
  readonly email: string;
  readonly status?: 'ACTIVE' | 'PENDING';
  readonly orgRoles?: WorldOrgUser['orgRoles'];
  readonly projects?: Record<string, string[]>;
}

/** bob, an active member holding GROUP_READ_ONLY on payments before any grant (no revoke or take-back may remove it). */
export const bobReadingPayments: PersonSeed = {
  id: bobId,
  email: 'bob@example.com',
  projects: { [payments]: ['GROUP_READ_ONLY'] },
};

export function record(
  overrides: Partial<GrantRecord> & Pick<GrantRecord, 'grantId' | 'added'>,
): GrantRecord {
  return {
    email: 'bob@example.com',
    expiresAt: new Date(nowMs + hourMs).toISOString(),
    created: { invitation: false, projectMemberships: [] },
    ...overrides,
  };
}

/** One recorded Atlas call: `resource.method`, its arguments, then its call options (signal left out) if any. */
export type Call = readonly [string, ...unknown[]];

function asCall(call: {
  method: string;
  args: readonly unknown[];
  options: Readonly<Record<string, unknown>>;
}): Call {
  return Object.keys(call.options).length > 0
    ? [call.method, ...call.args, call.options]
    : [call.method, ...call.args];
}

const isWrite = ([method]: Call): boolean => !/\.(list|get)$/.test(method);

export interface PortalWorld {
  /** The sandbox Atlas simulator with the org, projects `payments` and `analytics`, and the seeded people. */
  readonly world: AtlasWorld;
  readonly deps: PortalDeps;
  /** No earlier intent; `recordIntent` succeeds and is recorded in `intents`; `describe` scrubs with `scrubber`. */
  readonly ctx: GrantCtx & Pick<JobContext, 'describe' | 'countSweepFailures'>;
  /** The daemon's scrubber as this world's jobs see it. */
  readonly scrubber: SecretScrubber;
  /** The daemon-wide invitation pacer as this world's jobs used it: slots taken, holds asked (ms). */
  readonly invitations: { acquired: number; heldOff: number[] };
  /** Each recorded intent with the number of Atlas writes made before it. */
  readonly intents: { intent: GrantIntent; writesBefore: number }[];
  /** The arguments of each `ctx.log.warn` call. */
  readonly warnings: unknown[][];
  /** Each count a sweep passed to `ctx.countSweepFailures`. */
  readonly sweepFailures: number[];
  /** Every Atlas call the connector made, in order. */
  calls(): Call[];
  /** The calls that change Atlas (neither `list` nor `get`). */
  writes(): Call[];
}

/**
 * The org-portal operations' harness: the REAL Atlas client against the sandbox simulator (one
 * model of Atlas's rules — last role, last owner, 409s, invitations), seeded with `seeds`.
 */
export function portalWorld(
  seeds: readonly PersonSeed[] = [],
  policy: Partial<PortalDeps['policy']> = {},
): PortalWorld {
  const world = new AtlasWorld(new FakeClock(nowMs))
    .addProject(payments, 'payments')
    .addProject(analytics, 'analytics');
  for (const seed of seeds) {
    world.addOrgUser({
      id: seed.id,
      username: seed.email,
      status: seed.status ?? 'ACTIVE',
      orgRoles: seed.orgRoles ?? ['ORG_MEMBER'],
      projectRoles: Object.entries(seed.projects ?? {}).map(([projectId, roles]) => ({ projectId, roles })),
    });
  }
  const calls = () => world.calls.map(asCall);
  const writes = () => calls().filter(isWrite);
  const invitations = { acquired: 0, heldOff: [] as number[] };
  const deps: PortalDeps = {
    atlas: world.client,
    clock: world.clock,
    policy: { ...basePolicy, ...policy },
    invitations: {
      acquire: async () => {
        invitations.acquired += 1;
        return () => undefined;
      },
      holdOff: (ms) => {
        invitations.heldOff.push(ms);
      },
    },
  };
  const intents: PortalWorld['intents'] = [];
  const warnings: unknown[][] = [];
  const sweepFailures: number[] = [];
  const scrubber = createSecretScrubber();
  const ctx: PortalWorld['ctx'] = {
    signal: new AbortController().signal,
    describe: (error) => describeError(error, scrubber),
    beforeSideEffect: () => undefined,
    intent: null,
    log: { warn: (...args: unknown[]) => void warnings.push(args) },
    countSweepFailures: (count) => void sweepFailures.push(count),
    recordIntent: async (intent) => {
      intents.push({ intent: structuredClone(intent), writesBefore: writes().length });
    },
  };
  return { world, deps, ctx, scrubber, invitations, intents, warnings, sweepFailures, calls, writes };
}
