import type { OrgUser } from '../../atlas/index.js';
import { maxJsonBodyBytes } from '../../control-plane/protocol.js';
import { isConnectorError, toConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import type { AtlasOrgPortalConfig } from './atlas-org-portal-config.js';
import { isActive, onMembership, undecided } from './ledger.js';
import type { GrantRecord, SweepPayload } from './payloads.js';
import { findPerson, heldAccess, type PortalCtx, type PortalDeps } from './person.js';
import { emptyOutcome, removeGrants, type RemovalOutcome } from './removal.js';
import { accessKey, type Access } from './roles.js';

export interface SweepResult {
  readonly people: number;
  /** Expired grants whose roles this sweep removed (or found gone): the control plane closes them. */
  readonly clearedGrants: string[];
  readonly overdue: { grantId: string; email: string; expiresAt: string; overdueSeconds: number }[];
  readonly removed: { email: string; access: Access }[];
  readonly kept: { email: string; access: Access; reason: string }[];
  /** A role an active grant added that is no longer there: a person changed it in Atlas. */
  readonly drift: { grantId: string; email: string; access: Access; change: 'removed' }[];
  readonly failures: { email: string; code: string; message: string }[];
  /** People not reached: the result had reached its size budget. The next sweep takes them. */
  deferred: number;
  /**
   * Entries left out of the lists above to keep one person's share of the result bounded. A grant
   * left out of `clearedGrants` (with its `overdue` entry) stays open and the next sweep clears it;
   * drift left out is reported again while it lasts; `removed` and `kept` are summarised by count.
   */
  readonly truncated: {
    overdue: number;
    clearedGrants: number;
    removed: number;
    kept: number;
    drift: number;
  };
}

/**
 * A result over the protocol's body limit cannot be reported: the sweep would fail, its cleared
 * grants would never close, and every later sweep would carry them and fail the same way. Past
 * half the limit it takes no more people (one person's entries are far smaller than the rest).
 */
const resultBudgetBytes = maxJsonBodyBytes / 2;

/**
 * One person's share of the result. The budget is checked between people, so without a bound one
 * person with thousands of records (their expired grants' ids, their active grants' drift) could
 * take a result over the body limit alone, and every later sweep would carry them and fail too.
 */
const personBudgetBytes = resultBudgetBytes / 4;

/** The result's lists, to measure what one person added to them. */
const lists = (out: SweepResult): readonly (readonly unknown[])[] => [
  out.clearedGrants,
  out.overdue,
  out.removed,
  out.kept,
  out.drift,
  out.failures,
];

function byPerson(grants: readonly GrantRecord[]): Map<string, GrantRecord[]> {
  const people = new Map<string, GrantRecord[]>();
  for (const g of grants)
    people.set(g.email.toLowerCase(), [...(people.get(g.email.toLowerCase()) ?? []), g]);
  return people;
}

/**
 * Drift is reported on the record's own membership only: a grant made on an invitation that is gone
 * (the person pending again under another user id) added nothing to the current one, so a role of
 * it missing there is no change anyone made. A person gone altogether lost every role: drift.
 */
function recordDrift(
  out: SweepResult,
  email: string,
  person: OrgUser | undefined,
  active: readonly GrantRecord[],
) {
  const held = person ? heldAccess(person) : new Set<string>();
  for (const g of active) {
    if (person && !onMembership(g, person)) continue;
    for (const access of g.added) {
      if (!held.has(accessKey(access)))
        out.drift.push({ grantId: g.grantId, email, access, change: 'removed' });
    }
  }
}

function recordRemoval(out: SweepResult, email: string, removal: RemovalOutcome) {
  out.removed.push(...removal.removed.map((access) => ({ email, access })));
  out.kept.push(...removal.kept.map(({ access, reason }) => ({ email, access, reason })));
}

const entryBytes = (entry: unknown): number => Buffer.byteLength(JSON.stringify(entry)) + 1;

/**
 * Trims what one person added to the result (each list beyond its mark) to `personBudgetBytes`,
 * counting what it leaves out. Drift goes first (the next sweep finds it again), then the grants
 * to close, most recent first, with their `overdue` entries (left open, the next sweep clears them:
 * their roles are already gone), then `removed` and `kept` (done either way, reported by count).
 */
function boundPerson(out: SweepResult, marks: readonly number[], bytes: number): number {
  const [cleared = 0, overdue = 0, removed = 0, kept = 0, drift = 0] = marks;
  let left = bytes;
  const trim = <T>(list: T[], mark: number, key: keyof SweepResult['truncated'], also?: () => void) => {
    while (left > personBudgetBytes && list.length > mark) {
      left -= entryBytes(list.pop());
      out.truncated[key] += 1;
      also?.();
    }
  };
  trim(out.drift, drift, 'drift');
  // A cleared grant and its overdue entry go together: the control plane checks one against the other.
  trim(out.clearedGrants, cleared, 'clearedGrants', () => {
    if (out.overdue.length <= overdue) return;
    left -= entryBytes(out.overdue.pop());
    out.truncated.overdue += 1;
  });
  trim(out.overdue, overdue, 'overdue');
  trim(out.removed, removed, 'removed');
  trim(out.kept, kept, 'kept');
  return left;
}

async function sweepPerson(
  deps: PortalDeps,
  ctx: PortalCtx,
  person: { readonly orgId: string; readonly email: string; readonly grants: GrantRecord[] },
  now: number,
  out: SweepResult,
) {
  const { orgId, email, grants } = person;
  // Most overdue first: what does not fit in the result (boundPerson) is the most recent.
  const expired = grants
    .filter((g) => !isActive(g, now))
    .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt));
  const active = grants.filter((g) => isActive(g, now));
  const found = await findPerson(deps, ctx, orgId, email);
  recordDrift(out, email, found, active);
  // Left open, neither removed nor cleared, while the invitation may be someone else's (`undecided`).
  const held = found ? expired.filter((g) => undecided(g, found)) : [];
  if (held.length > 0) {
    const ids = held.slice(0, 5).map((g) => g.grantId);
    const more = held.length > ids.length ? ` and ${held.length - ids.length} more` : '';
    out.failures.push({
      email,
      code: 'conflict',
      message: `grants ${ids.join(', ')}${more} were recorded without the user id of the invitation they sent, and the person is invited under an invitation that may be someone else's; they stay open until the invitation is accepted (their roles are then removed) or gone`,
    });
  }
  const due = expired.filter((g) => !held.includes(g));
  if (due.length === 0) return;
  for (const g of due) {
    const overdueSeconds = Math.floor((now - Date.parse(g.expiresAt)) / 1000);
    out.overdue.push({ grantId: g.grantId, email, expiresAt: g.expiresAt, overdueSeconds });
  }
  if (found) {
    // Reported even when a later write fails: the next sweep no longer sees what already went.
    const removal = emptyOutcome();
    try {
      await removeGrants(deps, ctx, { orgId, person: found, ending: due, keeping: active }, removal);
    } finally {
      recordRemoval(out, email, removal);
    }
  }
  out.clearedGrants.push(...due.map((g) => g.grantId));
}

/**
 * The expiry backstop (Atlas UI roles have no `deleteAfterDate`): for every person in the control
 * plane's ledger, removes what expired grants added and no active grant still needs, reports
 * those grants as overdue, and reports drift on active ones. One person failing does not stop the rest.
 *
 * "Expired" means expired when the sweep started, not when it reaches the person: the ledger it
 * carries was read at its lease, and a grant renewed since then still shows its old expiry here.
 * Only a grant already expired at the start is past renewing (renew refuses expired grants), so
 * the sweep does not remove access a renewal extended (but for the narrow case docs/org-portal.md
 * describes). A grant that expires while the sweep runs is the next sweep's. Once the result
 * reaches its size budget, the people left are counted in `deferred`, neither read nor cleared, and
 * the next sweep (which gets the unclosed expired ones first) takes them.
 */
export async function sweepAccess(
  input: { readonly config: AtlasOrgPortalConfig; readonly payload: SweepPayload },
  deps: PortalDeps,
  ctx: PortalCtx & Pick<JobContext, 'describe' | 'countSweepFailures'>,
): Promise<SweepResult> {
  const people = byPerson(input.payload.grants);
  const out: SweepResult = {
    people: people.size,
    clearedGrants: [],
    overdue: [],
    removed: [],
    kept: [],
    drift: [],
    failures: [],
    deferred: 0,
    truncated: { overdue: 0, clearedGrants: 0, removed: 0, kept: 0, drift: 0 },
  };
  const startedAt = deps.clock.now();
  let resultBytes = Buffer.byteLength(JSON.stringify(out));
  for (const [email, grants] of people) {
    if (resultBytes >= resultBudgetBytes) {
      out.deferred += 1;
      continue;
    }
    const marks = lists(out).map((list) => list.length);
    try {
      await sweepPerson(deps, ctx, { orgId: input.config.orgId, email, grants }, startedAt, out);
    } catch (error) {
      if (isConnectorError(error) && (error.code === 'cancelled' || error.code === 'lease_lost')) throw error;
      // The message may echo what Atlas or a proxy said (a secret, a connection string): scrubbed.
      out.failures.push({ email, code: toConnectorError(error).code, message: ctx.describe(error) });
    }
    const added = lists(out).reduce(
      (sum, list, i) => sum + Buffer.byteLength(JSON.stringify(list.slice(marks[i]))),
      0,
    );
    resultBytes += boundPerson(out, marks, added);
  }
  ctx.countSweepFailures(out.failures.length);
  return out;
}
