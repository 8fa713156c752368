import type { OrgUser } from '../../atlas/index.js';
import { isConnectorError } from '../../errors/connector-error.js';
import { addedKeys, classify, mergeCreated, onMembership, recordsOf, sharedCreated } from './ledger.js';
import type { Created, GrantIntent, GrantRecord, GrantResult } from './payloads.js';
import {
  checkPersonKey,
  fieldError,
  findPerson,
  heldAccess,
  membershipOf,
  projectRolesOf,
  type GrantCtx,
  type PortalDeps,
} from './person.js';
import { accessKey, distinctAccess, type Access } from './roles.js';
import { type ValidatedGrant } from './validate.js';
import { addMissing, byProject, invite, type ClaimProject, type Landed } from './grant-writes.js';
import {
  claimsAnything,
  countsOn,
  earlierIntent,
  leftMeanwhile,
  nothingCreated,
  recordOrWarn,
  refusedEntry,
  refusedOutright,
  refusedPerson,
  takeBack,
  takeBackEarlier,
  validated,
  type GrantInput,
  type MemberGrant,
} from './grant-take-back.js';

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
      const failure = refusedEntry(error, payload.access) ?? refusedPerson(error, grant.email) ?? error;
      if (refusedOutright(error)) {
        await recordOrWarn(ctx, unclaimed);
        // Refused for good: what an earlier attempt claimed is taken back (takeBack reads the person
        // again: absent, there is nothing left of it, and its claim goes), as under
        // inviteUnknownUsers false, or the record the failed job leaves would own what someone
        // else gives the person later.
        if (isConnectorError(failure) && !failure.retryable)
          await takeBack(
            { deps, ctx, mine },
            { orgId: config.orgId, grantId: payload.grantId, email: grant.email },
            unclaimed,
          );
      }
      throw failure;
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
    const failure =
      leftMeanwhile(error, grant.email) ??
      refusedEntry(error, input.payload.access) ??
      refusedPerson(error, grant.email) ??
      error;
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
