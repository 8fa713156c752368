import type { OrgUser, OrgUserInvite, Page } from '../../src/atlas/index.js';
import type { Policy } from '../../src/config/env.js';
import { atlasHttpError } from '../../src/atlas/atlas-error.js';
import type { ConnectorError } from '../../src/errors/connector-error.js';
import { atlasError, type AtlasErrorCode } from '../../src/sandbox/atlas/errors.js';
import type { AtlasOrgPortalConfig } from '../../src/adapters/atlas-org-portal/atlas-org-portal-config.js';
import type { GrantIntent, GrantRecord } from '../../src/adapters/atlas-org-portal/payloads.js';
import type { GrantCtx, PortalDeps } from '../../src/adapters/atlas-org-portal/person.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { AtlasWorld, worldOrgId } from './atlas-world-test-kit.js';

/** Ids and a baseline for the org-portal unit tests. */
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

export interface PersonSeed {
  readonly id: string;
  readonly email: string;
  readonly status?: 'ACTIVE' | 'PENDING';
  readonly orgRoles?: string[];
  readonly projects?: Record<string, string[]>;
}

export function person(seed: PersonSeed): OrgUser {
  return {
    id: seed.id,
    username: seed.email,
    orgMembershipStatus: seed.status ?? 'ACTIVE',
    roles: {
      orgRoles: seed.orgRoles ?? ['ORG_MEMBER'],
      groupRoleAssignments: Object.entries(seed.projects ?? {}).map(([groupId, groupRoles]) => ({
        groupId,
        groupRoles,
      })),
    },
    teamIds: [],
    ...(seed.status === 'PENDING' ? { invitationExpiresAt: '2027-01-03T12:00:00Z' } : {}),
  };
}

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

/**
 * Atlas's refusal `code` exactly as the real client throws it: status, headers and envelope come
 * from the simulator's error table (one table of Atlas's errors), parsed by the client's own code.
 */
export function atlasRefusal(code: AtlasErrorCode, operation: string): ConnectorError {
  const error = atlasError(code);
  return atlasHttpError({
    operation,
    status: error.status,
    headers: new Headers(error.headers),
    bodyText: JSON.stringify(error.toBody()),
    nowMs: 0,
    redact: (t) => t,
  });
}

/** One recorded Atlas call: `resource.method` and its arguments (options left out). */
export type Call = readonly [string, ...unknown[]];

/**
 * A recording fake of the two Atlas resources the adapter writes through. It holds the people as
 * plain records and applies each write literally; Atlas's rules (last role, last owner, 409s) are
 * not re-implemented here — a test scripts the answer it needs with `failNext`. The simulator is
 * the model of those rules, and the end-to-end suite runs against it.
 */
export class FakePortalAtlas {
  readonly calls: Call[] = [];
  readonly people = new Map<string, OrgUser>();
  private readonly failures = new Map<string, Error[]>();
  private nextId = 1;

  constructor(seeds: readonly PersonSeed[] = []) {
    for (const s of seeds) this.people.set(s.id, person(s));
  }

  failNext(method: string, code: AtlasErrorCode): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), atlasRefusal(code, method)]);
  }

  writes(): Call[] {
    return this.calls.filter(([m]) => !m.endsWith('.list'));
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push([method, ...args]);
    const failure = this.failures.get(method)?.shift();
    if (failure) throw failure;
  }

  private require(userId: string): OrgUser {
    const user = this.people.get(userId);
    if (!user) throw atlasRefusal('USER_NOT_FOUND', 'orgUsers.get');
    return user;
  }

  private setProject(user: OrgUser, projectId: string, roles: string[]): void {
    const others = user.roles.groupRoleAssignments.filter((a) => a.groupId !== projectId);
    user.roles.groupRoleAssignments =
      roles.length > 0 ? [...others, { groupId: projectId, groupRoles: roles }] : others;
  }

  readonly atlas: PortalDeps['atlas'] = {
    orgUsers: {
      list: async (org, options = {}) => {
        this.record('orgUsers.list', org, options.username);
        const results = [...this.people.values()].filter((u) => u.username === options.username);
        return { results: structuredClone(results), pageNum: 1, hasNext: false } satisfies Page<OrgUser>;
      },
      get: async () => Promise.reject(new Error('not used')),
      invite: async (org, invite: OrgUserInvite) => {
        this.record('orgUsers.invite', org, invite);
        const user = person({ id: `u${this.nextId++}`, email: invite.username, status: 'PENDING' });
        user.roles.orgRoles = [...invite.roles.orgRoles];
        for (const a of invite.roles.groupRoleAssignments ?? [])
          this.setProject(user, a.groupId, [...a.groupRoles]);
        this.people.set(user.id, user);
        return structuredClone(user);
      },
      addRole: async (org, userId, role) => {
        this.record('orgUsers.addRole', org, userId, role);
        const user = this.require(userId);
        user.roles.orgRoles = [...new Set([...user.roles.orgRoles, role])];
        return structuredClone(user);
      },
      removeRole: async (org, userId, role) => {
        this.record('orgUsers.removeRole', org, userId, role);
        const user = this.require(userId);
        user.roles.orgRoles = user.roles.orgRoles.filter((r) => r !== role);
        return structuredClone(user);
      },
      remove: async (org, userId) => {
        this.record('orgUsers.remove', org, userId);
        this.people.delete(userId);
      },
    },
    projectUsers: {
      list: async () => Promise.reject(new Error('not used')),
      get: async () => Promise.reject(new Error('not used')),
      add: async (projectId, body) => {
        this.record('projectUsers.add', projectId, body.username, body.roles);
        const user = [...this.people.values()].find((u) => u.username === body.username);
        if (!user) throw atlasRefusal('USER_NOT_FOUND', 'projectUsers.add');
        this.setProject(user, projectId, [...body.roles]);
        return {
          id: user.id,
          username: user.username,
          orgMembershipStatus: user.orgMembershipStatus,
          roles: [...body.roles],
        };
      },
      addRole: async (projectId, userId, role) => this.changeProjectRole('addRole', projectId, userId, role),
      removeRole: async (projectId, userId, role) =>
        this.changeProjectRole('removeRole', projectId, userId, role),
      remove: async (projectId, userId) => {
        this.record('projectUsers.remove', projectId, userId);
        this.setProject(this.require(userId), projectId, []);
      },
    },
  };

  private changeProjectRole(op: 'addRole' | 'removeRole', projectId: string, userId: string, role: string) {
    this.record(`projectUsers.${op}`, projectId, userId, role);
    const user = this.require(userId);
    const current = user.roles.groupRoleAssignments.find((a) => a.groupId === projectId)?.groupRoles ?? [];
    const next = op === 'addRole' ? [...new Set([...current, role])] : current.filter((r) => r !== role);
    this.setProject(user, projectId, next);
    return Promise.resolve({
      id: user.id,
      username: user.username,
      orgMembershipStatus: user.orgMembershipStatus,
      roles: next,
    });
  }
}

export interface PortalHarness {
  readonly fake: FakePortalAtlas;
  readonly deps: PortalDeps;
  /** No earlier intent; `recordIntent` succeeds and is recorded in `intents`. */
  readonly ctx: GrantCtx;
  readonly invitations: { acquired: string[]; heldOff: [string, number][] };
  /** Each recorded intent with the number of Atlas writes made before it. */
  readonly intents: { intent: GrantIntent; writesBefore: number }[];
}

export function portalHarness(
  seeds: readonly PersonSeed[] = [],
  policy: Partial<PortalDeps['policy']> = {},
): PortalHarness {
  const fake = new FakePortalAtlas(seeds);
  const invitations = { acquired: [] as string[], heldOff: [] as [string, number][] };
  const deps: PortalDeps = {
    atlas: fake.atlas,
    clock: { now: () => nowMs },
    policy: { ...basePolicy, ...policy },
    invitations: {
      acquire: async (org) => {
        invitations.acquired.push(org);
        return () => undefined;
      },
      holdOff: (org, ms) => {
        invitations.heldOff.push([org, ms]);
      },
    },
  };
  const intents: PortalHarness['intents'] = [];
  const ctx: GrantCtx = {
    signal: new AbortController().signal,
    beforeSideEffect: () => undefined,
    intent: null,
    recordIntent: async (intent) => {
      intents.push({ intent: structuredClone(intent), writesBefore: fake.writes().length });
    },
  };
  return { fake, deps, ctx, invitations, intents };
}

/** One Atlas call the connector made: `resource.method`, its inputs, then its call options when it had any besides the signal. */
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
  /** No earlier intent; `recordIntent` succeeds and is recorded in `intents`. */
  readonly ctx: GrantCtx;
  readonly invitations: { acquired: string[]; heldOff: [string, number][] };
  /** Each recorded intent with the number of Atlas writes made before it. */
  readonly intents: { intent: GrantIntent; writesBefore: number }[];
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
      orgRoles: (seed.orgRoles ?? ['ORG_MEMBER']) as ['ORG_MEMBER'],
      projectRoles: Object.entries(seed.projects ?? {}).map(([projectId, roles]) => ({ projectId, roles })),
    });
  }
  const calls = () => world.calls.map(asCall);
  const writes = () => calls().filter(isWrite);
  const invitations = { acquired: [] as string[], heldOff: [] as [string, number][] };
  const deps: PortalDeps = {
    atlas: world.client,
    clock: world.clock,
    policy: { ...basePolicy, ...policy },
    invitations: {
      acquire: async (org) => {
        invitations.acquired.push(org);
        return () => undefined;
      },
      holdOff: (org, ms) => {
        invitations.heldOff.push([org, ms]);
      },
    },
  };
  const intents: PortalWorld['intents'] = [];
  const ctx: GrantCtx = {
    signal: new AbortController().signal,
    beforeSideEffect: () => undefined,
    intent: null,
    recordIntent: async (intent) => {
      intents.push({ intent: structuredClone(intent), writesBefore: writes().length });
    },
  };
  return { world, deps, ctx, invitations, intents, calls, writes };
}
