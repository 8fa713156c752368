import type { OrgUser, ProjectUser } from '../../atlas/index.js';
import { invitationRetryAfterMs, isInvitationLimit } from '../../atlas/atlas-error.js';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import type { AtlasOrgPortalConfig } from './atlas-org-portal-config.js';
import {
  addedKeys,
  classify,
  isActive,
  mergeCreated,
  onMembership,
  recordsOf,
  sharedCreated,
} from './ledger.js';
import {
  GrantIntent,
  type Created,
  type GrantPayload,
  type GrantRecord,
  type GrantResult,
} from './payloads.js';
import {
  checkPersonKey,
  fieldError,
  findPerson,
  heldAccess,
  isAtlasCode,
  membershipOf,
  personKey,
  projectRolesOf,
  type GrantCtx,
  type PortalCtx,
  type PortalDeps,
} from './person.js';
import { emptyOutcome, removeGrants } from './removal.js';
import { accessKey, baselineOrgRole, distinctAccess, type Access } from './roles.js';
import { validateGrant, type ValidatedGrant } from './validate.js';

interface GrantInput {
  readonly config: AtlasOrgPortalConfig;
  readonly payload: GrantPayload;
}

function byProject(access: readonly Access[]): Map<string, string[]> {
  const projects = new Map<string, string[]>();
  for (const a of access) {
    if (a.level === 'project') projects.set(a.projectId, [...(projects.get(a.projectId) ?? []), a.role]);
  }
  return projects;
}

const isConflict = (error: unknown): boolean => isConnectorError(error) && error.code === 'conflict';

/**
 * A write Atlas counts as an invitation (`createOrgUser`; `addGroupUsers` for a pending invitee):
 * it takes a slot of the daemon-wide invitation pacer, and Atlas's invitation limit (per IP) holds
 * every invitation of the daemon off for a minute. `claim` records the intent that claims the
 * write once the slot is taken: the wait for it can last minutes, and a job that ends in it
 * (cancelled, its lease lost) must leave no intent, made into a record, claiming a write never sent.
 */
async function asInvitation<T>(
  deps: PortalDeps,
  ctx: PortalCtx,
  write: () => Promise<T>,
  claim?: () => Promise<void>,
): Promise<T> {
  const done = await deps.invitations.acquire(ctx.signal);
  try {
    await claim?.();
    ctx.beforeSideEffect();
    return await write();
  } catch (error) {
    if (isInvitationLimit(error)) deps.invitations.holdOff(invitationRetryAfterMs);
    throw error;
  } finally {
    done();
  }
}

/**
 * `createOrgUser` with every requested role: one write, one invitation e-mail. ORG_MEMBER is always
 * among the org roles, so revoking the granted org roles later never meets the last-role rule.
 * Returns undefined when Atlas answers 409 (someone invited or added the person meanwhile).
 */
async function invite(
  deps: PortalDeps,
  ctx: PortalCtx,
  orgId: string,
  grant: ValidatedGrant,
  claim: () => Promise<void>,
) {
  const orgRoles = [baselineOrgRole, ...grant.access.flatMap((a) => (a.level === 'org' ? [a.role] : []))];
  const groupRoleAssignments = [...byProject(grant.access)].map(([groupId, groupRoles]) => ({
    groupId,
    groupRoles,
  }));
  const roles = { orgRoles: [...new Set(orgRoles)], groupRoleAssignments };
  try {
    return await asInvitation(
      deps,
      ctx,
      () => deps.atlas.orgUsers.invite(orgId, { username: grant.email, roles }, { signal: ctx.signal }),
      claim,
    );
  } catch (error) {
    if (isConflict(error)) return undefined;
    throw error;
  }
}

/**
 * What an attempt's writes did, filled in as each one lands, so that the caller still has it when
 * a later write fails.
 */
interface Landed {
  /** Roles written. */
  readonly roles: Access[];
  /** Projects whose membership `addGroupUsers` created. */
  readonly projectMemberships: string[];
  /** Roles someone else gave the person between the read and the write (`:addRole` answered 409). */
  readonly raced: Access[];
  /** An `addGroupUsers` that landed on another membership than the one read (`landedElsewhere`). */
  elsewhere?: GrantIntent;
}

/** One `:addRole`; a 409 (the person holds the role after all: someone added it meanwhile) is noted. */
async function addRole(ctx: PortalCtx, landed: Landed, access: Access, call: () => Promise<unknown>) {
  ctx.beforeSideEffect();
  try {
    await call();
    landed.roles.push(access);
  } catch (error) {
    if (!isConflict(error)) throw error;
    landed.raced.push(access);
  }
}

/**
 * Records the intent that claims a pending invitee's first roles in a project (an invitation
 * write), once its pacer slot is taken.
 */
type ClaimProject = (projectId: string) => Promise<void>;

/**
 * `addGroupUsers` names the person by e-mail: one who left the organization between the read and
 * the write is invited anew with the project (Atlas sends an invitation to an e-mail with none),
 * and one whose invitation was withdrawn and sent again gets the project on the new one. The write
 * landed, on a membership the grant never read: the intent claims that membership's project roles
 * and, when it is pending, the invitation, so that the retry (which reads the person again) counts
 * them as this grant's and its revoke removes them, as for an invitation the grant sent itself.
 */
function landedElsewhere(
  landed: Landed,
  person: OrgUser,
  projectId: string,
  member: ProjectUser,
  roles: readonly string[],
  expiresAt: string,
): ConnectorError {
  landed.elsewhere = {
    userId: member.id,
    expiresAt,
    added: roles.map((role) => ({ level: 'project', projectId, role })),
    created: { invitation: member.orgMembershipStatus === 'PENDING', projectMemberships: [projectId] },
  };
  return new ConnectorError({
    code: 'conflict',
    retryable: true,
    message: `requester.email: ${person.username} left the organization between the read and the write; Atlas put project ${projectId} on another membership (user ${member.id}); the job is retried and reads the person again`,
    details: { field: 'requester.email' },
  });
}

/** Adds one project's missing roles; a first role in the project creates the membership. */
async function addProjectRoles(
  deps: PortalDeps,
  ctx: PortalCtx,
  person: OrgUser,
  projectId: string,
  roles: readonly string[],
  landed: Landed,
  claimProject: ClaimProject,
  expiresAt: string,
): Promise<void> {
  const access = (role: string): Access => ({ level: 'project', projectId, role });
  if (projectRolesOf(person, projectId).length === 0) {
    const add = () =>
      deps.atlas.projectUsers.add(projectId, { username: person.username, roles }, { signal: ctx.signal });
    let member: ProjectUser | undefined;
    try {
      // For a pending invitee this adds the project to the invitation: an invitation to Atlas.
      if (person.orgMembershipStatus === 'PENDING')
        member = await asInvitation(deps, ctx, add, () => claimProject(projectId));
      else {
        ctx.beforeSideEffect();
        member = await add();
      }
    } catch (error) {
      // 409: the person is in the project after all (a concurrent change); fall back to :addRole.
      if (!isConflict(error)) throw error;
    }
    if (member !== undefined) {
      if (member.id !== person.id) throw landedElsewhere(landed, person, projectId, member, roles, expiresAt);
      landed.roles.push(...roles.map(access));
      landed.projectMemberships.push(projectId);
      return;
    }
  }
  for (const role of roles) {
    await addRole(ctx, landed, access(role), () =>
      deps.atlas.projectUsers.addRole(projectId, person.id, role, { signal: ctx.signal }),
    );
  }
}

async function addMissing(
  deps: PortalDeps,
  ctx: PortalCtx,
  orgId: string,
  person: OrgUser,
  toAdd: readonly Access[],
  landed: Landed,
  claimProject: ClaimProject,
  expiresAt: string,
): Promise<void> {
  for (const a of toAdd) {
    if (a.level !== 'org') continue;
    await addRole(ctx, landed, a, () =>
      deps.atlas.orgUsers.addRole(orgId, person.id, a.role, { signal: ctx.signal }),
    );
  }
  for (const [projectId, roles] of byProject(toAdd)) {
    await addProjectRoles(deps, ctx, person, projectId, roles, landed, claimProject, expiresAt);
  }
}

function resultOf(
  input: GrantInput,
  grant: ValidatedGrant,
  person: OrgUser,
  parts: { added: readonly Access[]; alreadyHeld: readonly Access[]; created: Created },
): GrantResult {
  const membership = membershipOf(person);
  const invitationExpiresAt = person.invitationExpiresAt ?? undefined;
  return {
    grantId: input.payload.grantId,
    userId: person.id,
    username: person.username,
    membership,
    added: parts.added,
    alreadyHeld: parts.alreadyHeld,
    created: parts.created,
    expiresAt: new Date(grant.expiresAtMs).toISOString(),
    ...(membership === 'invited'
      ? {
          ...(invitationExpiresAt ? { invitationExpiresAt } : {}),
          note: `access starts once ${person.username} accepts the Atlas invitation e-mail${invitationExpiresAt ? `; the invitation expires at ${invitationExpiresAt}` : ''}`,
        }
      : {}),
    ...(input.config.customAccessDetails === undefined
      ? {}
      : { customAccessDetails: input.config.customAccessDetails }),
  };
}

const nothingCreated: Created = { invitation: false, projectMemberships: [] };

const claimsAnything = (intent: GrantIntent): boolean =>
  intent.added.length > 0 || intent.created.invitation || intent.created.projectMemberships.length > 0;

/**
 * Atlas refused the invitation (a 4xx: the invitation rate limit, an unknown role, a domain outside
 * the allow-list, a restricted organization) and created nothing. A 5xx, a timeout or a broken
 * connection leaves it unknown whether the invitation exists.
 */
function refusedOutright(error: unknown): boolean {
  const status = isConnectorError(error) ? error.details.httpStatus : undefined;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Records `intent` where failing to changes nothing the attempt reports: after a refused write (the
 * invitation, or a role or membership; the refusal is still what the job reports, and the broader
 * intent stays, the case docs/org-portal.md describes), or after an invitation landed (the result
 * carries its user id all the same).
 */
async function recordOrWarn(
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
function leftMeanwhile(error: unknown, email: string): ConnectorError | undefined {
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
async function takeBack(
  m: MemberGrant,
  refused: { readonly orgId: string; readonly grantId: string; readonly email: string },
  claimed: GrantIntent,
): Promise<void> {
  const { deps, ctx, mine } = m;
  const { orgId, grantId, email } = refused;
  if (!claimsAnything(claimed)) return;
  const out = emptyOutcome();
  try {
    const person = await findPerson(deps, ctx, orgId, email);
    // A pending invitation under another user id than the claim's: the claimed writes went with the
    // invitation or membership they were made on (countsOn); nothing of them is left to remove, and
    // a record made from the claim would own this invitation's roles once it is accepted.
    if (person === undefined || !countsOn(claimed.userId, person)) out.personGone = true;
    else {
      const now = deps.clock.now();
      // The grant's own record, too: an earlier delivery of this grant id (the control plane reuses
      // it) succeeded, its record stays (a failed job widens it, never narrows it), and what it
      // added and created is promised until its expiry; only this job's writes are taken back.
      const keeping = mine.filter((g) => isActive(g, now));
      const ending: GrantRecord = { grantId, email, ...claimed, added: [...claimed.added] };
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
  if (gone.size === 0 && !out.invitationDeleted && out.projectMembershipsDeleted.length === 0) return;
  const left: GrantIntent = {
    ...claimed,
    added: claimed.added.filter((a) => !gone.has(accessKey(a))),
    created: {
      invitation: claimed.created.invitation && !out.invitationDeleted,
      projectMemberships: claimed.created.projectMemberships.filter(
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
function refusedEntry(error: unknown, access: readonly Access[]): ConnectorError | undefined {
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

/** The earlier attempt's intent; one that does not parse (another kind's, a corrupted one) is none. */
function earlierIntent(ctx: GrantCtx): GrantIntent | undefined {
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
function countsOn(userId: string | undefined, person: OrgUser | undefined): boolean {
  if (userId === undefined) return true;
  return person !== undefined && (person.orgMembershipStatus !== 'PENDING' || userId === person.id);
}

/** What this grant's earlier deliveries (its record) and attempts (`earlier`) created, on `person`. */
function previouslyCreated(
  own: GrantRecord | undefined,
  earlier: GrantIntent | undefined,
  person: OrgUser | undefined,
): Created {
  const recorded = own && countsOn(own.userId, person) ? own.created : nothingCreated;
  return mergeCreated(recorded, earlier?.created);
}

/**
 * Grants Atlas UI roles: an ACTIVE or PENDING member gets exactly the roles they lack (`:addRole`,
 * or `addGroupUsers` for a first role in a project); an unknown person is invited with all of them.
 * Before its first write it records an intent in the control plane (nothing is written when that
 * fails), so a grant that dies between its write and its result still leaves a ledger record. Roles
 * held independently are reported, never recorded as added, so no revoke can take them away; roles
 * an earlier attempt of this job intended and that are now held count as this grant's (`added`).
 */
export async function grantAccess(input: GrantInput, deps: PortalDeps, ctx: GrantCtx): Promise<GrantResult> {
  const { config, payload } = input;
  const mine = recordsOf(payload.grants, payload.requester.email);
  const grant = await validated(input, { deps, ctx, mine });
  checkPersonKey(ctx, grant.email);
  const expiresAt = new Date(grant.expiresAtMs).toISOString();
  let person = await findPerson(deps, ctx, config.orgId, grant.email);
  if (!person) {
    // An earlier attempt that named a membership wrote to one that is gone (countsOn).
    const found = earlierIntent(ctx);
    const earlier = found && countsOn(found.userId, undefined) ? found : undefined;
    const own = mine.find((g) => g.grantId === payload.grantId);
    const previous = previouslyCreated(own, earlier, undefined);
    if (!config.inviteUnknownUsers) {
      const refusal = fieldError(
        'policy_denied',
        'requester.email',
        `${grant.email} is not a member of the organization and inviteUnknownUsers is false`,
      );
      await takeBackEarlier(input, { deps, ctx, mine }, refusal);
      throw refusal;
    }
    const created = mergeCreated(
      { invitation: true, projectMemberships: [...byProject(grant.access).keys()] },
      previous,
    );
    // Recorded once the invitation's pacer slot is taken, before the invitation is sent (asInvitation).
    const claim = () => ctx.recordIntent({ expiresAt, added: [...grant.access], created });
    // What this attempt claims once Atlas has created nothing for it: no more than the earlier
    // attempts did. Left in place, the claim above would let a later attempt, or the record a
    // failed job leaves (fromIntent), take an invitation or roles someone else gives the person
    // meanwhile as this grant's, and its revoke or the sweep would remove them.
    const unclaimed: GrantIntent = { expiresAt, added: [...(earlier?.added ?? [])], created: previous };
    let invited: OrgUser | undefined;
    try {
      invited = await invite(deps, ctx, config.orgId, grant, claim);
    } catch (error) {
      if (refusedOutright(error)) await recordOrWarn(ctx, unclaimed);
      throw refusedEntry(error, payload.access) ?? error;
    }
    if (invited) {
      // The intent above could name no user id: there was none yet. Made into a record (the result
      // lost), it would not say which invitation is the grant's, and a revoke or the sweep could
      // not tell it from one someone sends after it is gone. Nothing is written after this.
      const sent: GrantIntent = { userId: invited.id, expiresAt, added: [...grant.access], created };
      await recordOrWarn(ctx, sent, 'could not record the user id of the invitation the grant sent');
      return resultOf(input, grant, invited, { added: grant.access, alreadyHeld: [], created });
    }
    // 409: someone else invited or added the person. Withdrawn before anything else can fail.
    await ctx.recordIntent(unclaimed);
    person = await findPerson(deps, ctx, config.orgId, grant.email);
    if (!person)
      throw fieldError(
        'invalid_request',
        'requester.email',
        'Atlas reports the person both present (409) and absent',
      );
    // The intent just recorded claims every role and the invitation; Atlas says someone else
    // invited the person. It is replaced below even when nothing is left to write, or a later
    // attempt would count the other invitation and its roles as this grant's.
    return grantToMember(input, grant, { deps, ctx, mine }, person, true);
  }
  return grantToMember(input, grant, { deps, ctx, mine }, person, false);
}

/**
 * A retry refused for good before its first write: the local policy (POLICY_*), the integration's
 * projectIds allow-list or `inviteUnknownUsers` narrowed since an earlier attempt of this job wrote,
 * or the grant's end passed meanwhile. The requester is told the grant failed, so what that attempt's
 * intent claims is taken back as for a refusal by Atlas (takeBack), and the intent is narrowed to
 * what is left. With no earlier intent, or one that claims nothing, no Atlas call is made. Not for
 * a job under another key than the person's (checkPersonKey): the person's other jobs may run at once.
 */
async function takeBackEarlier(input: GrantInput, m: MemberGrant, refusal: unknown): Promise<void> {
  const { config, payload } = input;
  const earlier = earlierIntent(m.ctx);
  const email = payload.requester.email.toLowerCase();
  if (earlier === undefined || !isConnectorError(refusal) || refusal.retryable) return;
  if (m.ctx.resourceKey !== undefined && m.ctx.resourceKey !== personKey(email)) return;
  await takeBack(m, { orgId: config.orgId, grantId: payload.grantId, email }, earlier);
}

/** The grant checked against the policy and the allow-list (validateGrant); refused, see takeBackEarlier. */
async function validated(input: GrantInput, m: MemberGrant): Promise<ValidatedGrant> {
  try {
    return validateGrant(input.payload, input.config, m.deps);
  } catch (error) {
    await takeBackEarlier(input, m, error);
    throw error;
  }
}

interface MemberGrant {
  readonly deps: PortalDeps;
  readonly ctx: GrantCtx;
  /** The person's unrevoked grants (the control plane's records). */
  readonly mine: readonly GrantRecord[];
}

/** An ACTIVE or PENDING member gets the roles they lack; `staleIntent`: record one even if none. */
async function grantToMember(
  input: GrantInput,
  grant: ValidatedGrant,
  m: MemberGrant,
  person: OrgUser,
  staleIntent: boolean,
): Promise<GrantResult> {
  const { deps, ctx, mine } = m;
  const { config } = input;
  const expiresAt = new Date(grant.expiresAtMs).toISOString();
  // An earlier attempt's intent counts only if it can be on this membership (countsOn); one that
  // cannot is still replaced below, so a record made from it claims none of this one.
  const found = earlierIntent(ctx);
  const earlier = found && countsOn(found.userId, person) ? found : undefined;
  const own = mine.find((g) => g.grantId === input.payload.grantId);
  const previous = previouslyCreated(own, earlier, person);
  // A record made on an invitation that is gone owns nothing the person's current one carries.
  const ours = mine.filter((g) => onMembership(g, person));
  const owned = new Set([...addedKeys(ours), ...(earlier?.added ?? []).map(accessKey)]);
  const held = heldAccess(person);
  const { toAdd, shared, alreadyHeld } = classify(grant.access, held, owned);
  // A grant id granted again with fewer roles: what its earlier delivery added and the person
  // still holds stays this grant's (a grant never removes), or no record would ever remove it.
  const requested = new Set(grant.access.map(accessKey));
  const carried = (ours.find((g) => g.grantId === input.payload.grantId)?.added ?? []).filter(
    (a) => held.has(accessKey(a)) && !requested.has(accessKey(a)),
  );
  const added = distinctAccess([...toAdd, ...shared, ...carried]);
  const others = ours.filter((g) => g.grantId !== input.payload.grantId);
  const inherited = mergeCreated(
    sharedCreated(others, added, person.orgMembershipStatus === 'PENDING' ? person.id : undefined),
    previous,
  );
  // An earlier attempt's intent that names no user id (it invited the person and died before it
  // learnt the invitation's id) is stamped with the person's, even with nothing left to write: made
  // into a record, it would otherwise not say which invitation is the grant's. One that names
  // another id is replaced by what this attempt claims: on an active member it counts (`earlier`),
  // on a pending one it was made on an invitation that is gone and claims nothing of this one.
  const unstamped = found !== undefined && found.userId !== person.id && claimsAnything(found);
  const firstInProject = [...byProject(toAdd).keys()].filter((p) => projectRolesOf(person, p).length === 0);
  // A pending invitee's first roles in a project are an invitation (asInvitation): claimed only once
  // its pacer slot is taken, so a job that ends in that wait leaves no claim on them.
  const paced = person.orgMembershipStatus === 'PENDING' ? firstInProject : [];
  const claimedProjects: string[] = [];
  // A 409 on a role an earlier attempt of this grant claimed may be that attempt's own write,
  // landed after this attempt's read: it stays the grant's, or no record would ever remove it.
  const claimedBefore = new Set((earlier?.added ?? []).map(accessKey));
  const intended = (): GrantIntent => {
    const waiting = new Set(paced.filter((p) => !claimedProjects.includes(p)));
    return {
      userId: person.id,
      expiresAt,
      // An earlier attempt's claim stays while this one waits: its write may yet land.
      added: added.filter(
        (a) => a.level !== 'project' || !waiting.has(a.projectId) || claimedBefore.has(accessKey(a)),
      ),
      created: mergeCreated(
        { invitation: false, projectMemberships: firstInProject.filter((p) => !waiting.has(p)) },
        inherited,
      ),
    };
  };
  const claimProject: ClaimProject = async (projectId) => {
    claimedProjects.push(projectId);
    await ctx.recordIntent(intended());
  };
  if (toAdd.length > 0 || staleIntent || unstamped) await ctx.recordIntent(intended());
  const landed: Landed = { roles: [], projectMemberships: [], raced: [] };
  const racedByOthers = () => landed.raced.filter((a) => !claimedBefore.has(accessKey(a)));
  // What the grant may claim once its writes are done or refused: no role someone else added
  // between its read and its write, and only the memberships it did create.
  const claim = (list: readonly Access[]) => {
    const raced = new Set(racedByOthers().map(accessKey));
    return distinctAccess(list.filter((a) => !raced.has(accessKey(a))));
  };
  const narrowed = (claimed: readonly Access[]): GrantIntent => ({
    userId: person.id,
    expiresAt,
    added: claim(claimed),
    created: mergeCreated({ invitation: false, projectMemberships: landed.projectMemberships }, inherited),
  });
  try {
    await addMissing(deps, ctx, config.orgId, person, toAdd, landed, claimProject, expiresAt);
  } catch (error) {
    // The membership read is gone: what this attempt wrote to it went with it; what it wrote to
    // the other one is claimed, for the retry to count and the revoke to remove.
    if (landed.elsewhere !== undefined) {
      await recordOrWarn(
        ctx,
        landed.elsewhere,
        'could not record the membership a project write landed on after the person left',
      );
      throw error;
    }
    // Atlas refused a write outright: it and every write after it never happened. Left in place,
    // the intent would claim them, and the record a failed job leaves (fromIntent) would have its
    // revoke or the sweep remove a role or membership someone else gives the person later.
    const failure = leftMeanwhile(error, grant.email) ?? refusedEntry(error, input.payload.access) ?? error;
    if (refusedOutright(error)) {
      const unclaimed = narrowed([...landed.roles, ...shared, ...(earlier?.added ?? [])]);
      await recordOrWarn(ctx, unclaimed, 'could not narrow the intent of a refused grant write');
      // Refused for good (no retry will complete it): what the grant wrote does not stay behind.
      if (isConnectorError(failure) && !failure.retryable)
        await takeBack(
          m,
          { orgId: config.orgId, grantId: input.payload.grantId, email: grant.email },
          unclaimed,
        );
    }
    throw failure;
  }
  const final = narrowed(added);
  // A role someone else added meanwhile is theirs: held independently, never removed by a revoke.
  // The intent recorded above claims it; a record made from it (the result lost) must not.
  if (racedByOthers().length > 0)
    await recordOrWarn(ctx, final, 'could not narrow the intent of a grant that met a 409');
  return resultOf(input, grant, person, {
    added: final.added,
    alreadyHeld: [...alreadyHeld, ...racedByOthers()],
    created: final.created,
  });
}
