import type { OrgUser } from '../../atlas/index.js';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import type { AtlasOrgPortalConfig } from './atlas-org-portal-config.js';
import { isActive } from './ledger.js';
import { GrantIntent, type Created, type GrantPayload, type GrantRecord } from './payloads.js';
import { findPerson, isAtlasCode, personKey, type GrantCtx, type PortalDeps } from './person.js';
import { emptyOutcome, removeGrants } from './removal.js';
import { accessKey, type Access } from './roles.js';
import { validateGrant, type ValidatedGrant } from './validate.js';

/**
 * What an org-portal grant does when it is refused for good, by Atlas partway or by a narrowed
 * policy on a retry: it takes back what its attempts wrote (as its revoke would) and narrows its
 * intent, so the requester is never left with part of a grant they were told failed (grant.ts).
 */

/** A grant job's config and payload. */
export interface GrantInput {
  readonly config: AtlasOrgPortalConfig;
  readonly payload: GrantPayload;
}

export const nothingCreated: Created = { invitation: false, projectMemberships: [] };

export const claimsAnything = (intent: GrantIntent): boolean =>
  intent.added.length > 0 || intent.created.invitation || intent.created.projectMemberships.length > 0;

/**
 * Atlas refused the invitation (a 4xx: the invitation rate limit, an unknown role, a domain outside
 * the allow-list, a restricted organization) and created nothing. A 5xx, a timeout or a broken
 * connection leaves it unknown whether the invitation exists.
 */
export function refusedOutright(error: unknown): boolean {
  const status = isConnectorError(error) ? error.details.httpStatus : undefined;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Records `intent` where failing to changes nothing the attempt reports: after a refused write (the
 * invitation, or a role or membership; the refusal is still what the job reports, and the broader
 * intent stays, the case docs/org-portal.md describes), or after an invitation landed (the result
 * carries its user id all the same).
 */
export async function recordOrWarn(
  ctx: GrantCtx,
  intent: GrantIntent,
  warning = 'could not withdraw the intent of a refused invitation',
): Promise<void> {
  try {
    await ctx.recordIntent(intent);
  } catch (error) {
    ctx.log.warn({ err: error }, warning);
  }
}

/**
 * The person left the organization (or their invitation lapsed) or the project between the read
 * and the write: a race, not a lasting refusal. The retry reads the person again and invites them
 * (or refuses under `inviteUnknownUsers: false`), or adds them to the project.
 */
export function leftMeanwhile(error: unknown, email: string): ConnectorError | undefined {
  if (!isAtlasCode(error, 'USER_NOT_IN_ORG', 'USER_NOT_FOUND', 'USER_NOT_IN_GROUP')) return undefined;
  const atlasErrorCode = isConnectorError(error) ? error.details.atlasErrorCode : undefined;
  return new ConnectorError({
    code: 'conflict',
    retryable: true,
    message: `requester.email: ${email} left the organization or a project between the read and the write (${String(atlasErrorCode)}); the job is retried and reads the person again`,
    details: { field: 'requester.email', atlasErrorCode },
    cause: error,
  });
}

/**
 * A grant refused for good, by Atlas partway (a project it has no such id for, a role it does not
 * accept at that level, a person it will not take) or before its first write on a retry
 * (`takeBackEarlier`), takes back what it had written, as a revoke of it would: the requester is
 * told the grant failed, and must not keep part of it until the sweep reaches its expiry. `claimed`
 * is what the grant's intent claims after the refusal (this attempt's writes and an earlier
 * attempt's); roles another active grant of the person added, or an earlier delivery of the same
 * grant id whose record is still active, stay. What cannot be taken back (a write fails, Atlas's
 * last-role rules) stays claimed, so the sweep still removes it at the grant's expiry; the intent
 * then claims only that. It reads no policy and no allow-list: like a revoke, nothing blocks it.
 */
export async function takeBack(
  m: MemberGrant,
  refused: { readonly orgId: string; readonly grantId: string; readonly email: string },
  claimed: GrantIntent,
): Promise<void> {
  const { deps, ctx, mine } = m;
  const { orgId, grantId, email } = refused;
  if (!claimsAnything(claimed)) return;
  const out = emptyOutcome();
  let claim = claimed;
  try {
    const person = await findPerson(deps, ctx, orgId, email);
    // A pending invitation under another user id than the claim's: the claimed writes went with the
    // invitation or membership they were made on (countsOn); nothing of them is left to remove, and
    // a record made from the claim would own this invitation's roles once it is accepted.
    if (person === undefined || !countsOn(claimed.userId, person)) out.personGone = true;
    else {
      // A claim that names no user id (an attempt invited the person and ended before it learnt the
      // invitation's id) counts on this invitation, as in the grant, and is stamped with its id:
      // unstamped, the removal would take it for a record made on an invitation that is gone
      // (onMembership) and leave the grant's invitation and roles behind, under a claim that
      // cannot say which invitation is the grant's.
      claim = { ...claimed, userId: claimed.userId ?? person.id };
      const now = deps.clock.now();
      // The grant's own record, too: an earlier delivery of this grant id (the control plane reuses
      // it) succeeded, its record stays (a failed job widens it, never narrows it), and what it
      // added and created is promised until its expiry; only this job's writes are taken back.
      const keeping = mine.filter((g) => isActive(g, now));
      const ending: GrantRecord = { grantId, email, ...claim, added: [...claim.added] };
      await removeGrants(deps, ctx, { orgId, person, ending: [ending], keeping }, out);
    }
  } catch (error) {
    ctx.log.warn(
      { err: error },
      'could not take back every write of a grant Atlas refused; the sweep removes the rest at its expiry',
    );
  }
  if (out.personGone)
    return void (await recordOrWarn(ctx, { ...claimed, added: [], created: nothingCreated }));
  const gone = new Set([...out.removed, ...out.stillNeeded].map(accessKey));
  const unchanged = gone.size === 0 && !out.invitationDeleted && out.projectMembershipsDeleted.length === 0;
  if (unchanged && claim.userId === claimed.userId) return;
  const left: GrantIntent = {
    ...claim,
    added: claim.added.filter((a) => !gone.has(accessKey(a))),
    created: {
      invitation: claim.created.invitation && !out.invitationDeleted,
      projectMemberships: claim.created.projectMemberships.filter(
        (p) => !out.projectMembershipsDeleted.includes(p),
      ),
    },
  };
  await recordOrWarn(ctx, left, 'could not narrow the intent of a refused grant to what is left of it');
}

/**
 * Atlas refused one entry of the request, not the grant as a whole: a project id it knows no
 * project by (a typo, a deleted project), or a role it does not accept at that level (a role the
 * local policy names that Atlas does not define, `INVALID_ROLE_FOR_GROUP` / `INVALID_ROLE_FOR_ORG`).
 * The request's fault, named by its field like every other refusal of the request, not a missing
 * object to retry or investigate. `createOrgUser` carries every entry, so the one Atlas names in
 * its message is looked up.
 */
export function refusedEntry(error: unknown, access: readonly Access[]): ConnectorError | undefined {
  if (!isConnectorError(error)) return undefined;
  const refusal = isAtlasCode(error, 'GROUP_NOT_FOUND', 'INVALID_GROUP_ID')
    ? {
        level: 'project',
        key: 'projectId',
        why: 'Atlas has no such project, or the credential cannot see it',
      }
    : isAtlasCode(error, 'INVALID_ROLE_FOR_GROUP')
      ? { level: 'project', key: 'role', why: 'Atlas does not accept this role on a project' }
      : isAtlasCode(error, 'INVALID_ROLE_FOR_ORG')
        ? { level: 'org', key: 'role', why: 'Atlas does not accept this role on the organization' }
        : undefined;
  if (refusal === undefined) return undefined;
  const valueOf = (a: Access): string => (refusal.key === 'role' || a.level === 'org' ? a.role : a.projectId);
  // A whole word of Atlas's message: `X_READ_ONLY` is not named by a message about `X_READ_ONLY2`.
  const words = new Set(error.message.split(/[^A-Za-z0-9_]+/));
  const named = access.findIndex((a) => a.level === refusal.level && words.has(valueOf(a)));
  const index = named >= 0 ? named : access.findIndex((a) => a.level === refusal.level);
  if (index < 0) return undefined;
  const field = `access[${index}].${refusal.key}`;
  return new ConnectorError({
    code: 'invalid_request',
    message: `${field}: ${refusal.why} (${error.message})`,
    details: { field, atlasErrorCode: error.details.atlasErrorCode },
    cause: error,
  });
}

/**
 * Atlas will not take this person into the organization: the e-mail's domain is outside the
 * federation's allow-list (400 `DOMAIN_NOT_IN_ALLOW_LIST`), or the person's own organization
 * restrictions forbid joining another (403 `USER_ORGS_RESTRICTED`). A refusal of the request's
 * person, named by its field; as a bare 403 `forbidden`, it read as the credential lacking a role.
 */
export function refusedPerson(error: unknown, email: string): ConnectorError | undefined {
  if (!isConnectorError(error) || !isAtlasCode(error, 'DOMAIN_NOT_IN_ALLOW_LIST', 'USER_ORGS_RESTRICTED'))
    return undefined;
  const field = 'requester.email';
  return new ConnectorError({
    code: 'invalid_request',
    message: `${field}: Atlas will not take ${email} into the organization (${error.message})`,
    details: { field, atlasErrorCode: error.details.atlasErrorCode },
    cause: error,
  });
}

/** The earlier attempt's intent; one that does not parse (another kind's, a corrupted one) is none. */
export function earlierIntent(ctx: GrantCtx): GrantIntent | undefined {
  if (ctx.intent === null || ctx.intent === undefined) return undefined;
  const parsed = GrantIntent.safeParse(ctx.intent);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Whether what an earlier attempt or delivery of this grant did, on the membership it names
 * (`userId`), can be on the person's membership now (`undefined`: the person is absent). As for a
 * record (`onMembership`): a pending invitation keeps the user id the attempt saw, so one that named
 * another id wrote to an invitation or membership that is gone, and whatever the person's current
 * invitation carries, roles or the invitation itself, someone else gave; nor can anything be left
 * of it on a person who is absent. Counted as this grant's, it would be removed by its revoke or
 * the sweep. One that names no user id (it invited the person and ended before it learnt the
 * invitation's id) may be this very invitation: it still counts, and is stamped with its id.
 */
export function countsOn(userId: string | undefined, person: OrgUser | undefined): boolean {
  if (userId === undefined) return true;
  return person !== undefined && (person.orgMembershipStatus !== 'PENDING' || userId === person.id);
}

/**
 * A retry refused for good before its first write: the local policy (POLICY_*), the integration's
 * projectIds allow-list or `inviteUnknownUsers` narrowed since an earlier attempt of this job wrote,
 * or the grant's end passed meanwhile. The requester is told the grant failed, so what that attempt's
 * intent claims is taken back as for a refusal by Atlas (takeBack), and the intent is narrowed to
 * what is left. With no earlier intent, or one that claims nothing, no Atlas call is made. Not for
 * a job under another key than the person's (checkPersonKey): the person's other jobs may run at once.
 */
export async function takeBackEarlier(input: GrantInput, m: MemberGrant, refusal: unknown): Promise<void> {
  const { config, payload } = input;
  const earlier = earlierIntent(m.ctx);
  const email = payload.requester.email.toLowerCase();
  if (earlier === undefined || !isConnectorError(refusal) || refusal.retryable) return;
  if (m.ctx.resourceKey !== undefined && m.ctx.resourceKey !== personKey(email)) return;
  await takeBack(m, { orgId: config.orgId, grantId: payload.grantId, email }, earlier);
}

/** The grant checked against the policy and the allow-list (validateGrant); refused, see takeBackEarlier. */
export async function validated(input: GrantInput, m: MemberGrant): Promise<ValidatedGrant> {
  try {
    return validateGrant(input.payload, input.config, m.deps);
  } catch (error) {
    await takeBackEarlier(input, m, error);
    throw error;
  }
}

export interface MemberGrant {
  readonly deps: PortalDeps;
  readonly ctx: GrantCtx;
  /** The person's unrevoked grants (the control plane's records). */
  readonly mine: readonly GrantRecord[];
}
