import type { OrgUser } from '../../atlas/index.js';
import type { Created, GrantRecord } from './payloads.js';
import { accessKey, type Access } from './roles.js';

/**
 * Reading the control plane's ledger (the unrevoked grants a job carries). A role is the
 * connector's while some unrevoked grant of the same person lists it in `added`; roles the person
 * held before any grant never appear there, so nothing here can ever remove them.
 */

export function sameEmail(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function recordsOf(grants: readonly GrantRecord[], email: string): GrantRecord[] {
  return grants.filter((g) => sameEmail(g.email, email));
}

/**
 * Whether what `grant` added can be on the membership `person` is now: a pending invitation keeps
 * the user id the grant saw, so a record of another id was made on a membership that is gone
 * (withdrawn, declined, lapsed, or left), and whatever this invitation carries someone else gave.
 * A record with no user id (see `undecided`) counts on no pending invitation.
 */
export function onMembership(
  grant: GrantRecord,
  person: Pick<OrgUser, 'id' | 'orgMembershipStatus'>,
): boolean {
  return person.orgMembershipStatus !== 'PENDING' || grant.userId === person.id;
}

/**
 * A record with no user id on a person who is pending: made from the intent of a grant that invited
 * the person and ended before it recorded the invitation's id (docs/org-portal.md). The invitation
 * may be the grant's, or one someone sent after the grant's was gone: removing its roles could take
 * someone else's access, and closing the record could leave the grant's on an invitation the person
 * accepts later. A pending invitation grants nothing yet, so the record is left open and untouched
 * until the person accepts (the record then counts like any other) or the invitation is gone.
 */
export function undecided(grant: GrantRecord, person: Pick<OrgUser, 'orgMembershipStatus'>): boolean {
  return grant.userId === undefined && person.orgMembershipStatus === 'PENDING';
}

/** The grant sent this very invitation (a pending invitation keeps its user id; none: no invitation). */
export function sentInvitation(grant: GrantRecord, invitationId: string | undefined): boolean {
  return grant.created.invitation && invitationId !== undefined && grant.userId === invitationId;
}

/** Access keys the given grants added (the connector's share of the person's roles). */
export function addedKeys(grants: readonly GrantRecord[]): Set<string> {
  return new Set(grants.flatMap((g) => g.added.map(accessKey)));
}

export function isActive(grant: GrantRecord, nowMs: number): boolean {
  return Date.parse(grant.expiresAt) > nowMs;
}

/**
 * What other unrevoked grants of the person created and this grant now puts roles into: a
 * connector-made project membership where it adds or shares a role, and a connector-made
 * invitation the person has not accepted yet. The creation is shared from then on, so whichever
 * of the grants ends last may still delete the membership or the invitation; without it, the
 * last grant's roles would be kept forever as "the last role of a membership we did not make".
 * `invitationId` is the pending person's user id (undefined for an active member): only the very
 * invitation another grant sent is shared, never one someone else sent after it was gone.
 */
export function sharedCreated(
  mine: readonly GrantRecord[],
  access: readonly Access[],
  invitationId: string | undefined,
): Created {
  const projects = new Set(access.flatMap((a) => (a.level === 'project' ? [a.projectId] : [])));
  return {
    invitation:
      invitationId !== undefined && access.length > 0 && mine.some((g) => sentInvitation(g, invitationId)),
    projectMemberships: [
      ...new Set(mine.flatMap((g) => g.created.projectMemberships.filter((p) => projects.has(p)))),
    ],
  };
}

/** What an earlier delivery of the same grant created, carried into the new result. */
export function mergeCreated(a: Created, b: Created | undefined): Created {
  if (!b) return a;
  return {
    invitation: a.invitation || b.invitation,
    projectMemberships: [...new Set([...a.projectMemberships, ...b.projectMemberships])],
  };
}

export interface Classified {
  /** Requested roles the person lacks: the grant writes these. */
  readonly toAdd: readonly Access[];
  /** Requested roles the person holds only because another grant of ours added them. */
  readonly shared: readonly Access[];
  /** Requested roles the person held independently of the connector. */
  readonly alreadyHeld: readonly Access[];
}

export function classify(
  access: readonly Access[],
  held: ReadonlySet<string>,
  owned: ReadonlySet<string>,
): Classified {
  const toAdd: Access[] = [];
  const shared: Access[] = [];
  const alreadyHeld: Access[] = [];
  for (const a of access) {
    const key = accessKey(a);
    if (!held.has(key)) toAdd.push(a);
    else if (owned.has(key)) shared.push(a);
    else alreadyHeld.push(a);
  }
  return { toAdd, shared, alreadyHeld };
}
