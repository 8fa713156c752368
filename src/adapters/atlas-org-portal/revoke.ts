import type { AtlasOrgPortalConfig } from './atlas-org-portal-config.js';
import { ConnectorError } from '../../errors/connector-error.js';
import { isActive, recordsOf, undecided } from './ledger.js';
import type { RevokePayload } from './payloads.js';
import { checkPersonKey, findPerson, type PortalCtx, type PortalDeps } from './person.js';
import { removeGrants, type RemovalOutcome } from './removal.js';

export type RevokeResult =
  | { readonly outcome: 'already_revoked'; readonly grantId: string; readonly reason: string }
  | ({
      readonly outcome: 'revoked';
      readonly grantId: string;
      readonly userId: string;
      readonly username: string;
    } & Omit<RemovalOutcome, 'personGone'>);

const alreadyRevoked = (grantId: string, reason: string): RevokeResult => ({
  outcome: 'already_revoked',
  grantId,
  reason,
});

/**
 * Removes exactly what the grant added (its record in the job's `grants`, handed back by the
 * control plane) and no other active grant of the same person still needs. No record: the grant
 * is unknown or already revoked. The person gone from the org: nothing left to take away.
 */
export async function revokeAccess(
  input: { readonly config: AtlasOrgPortalConfig; readonly payload: RevokePayload },
  deps: PortalDeps,
  ctx: PortalCtx,
): Promise<RevokeResult> {
  const { config, payload } = input;
  const record = payload.grants.find((g) => g.grantId === payload.grantId);
  if (!record)
    return alreadyRevoked(payload.grantId, 'the control plane holds no unrevoked record of this grant');
  checkPersonKey(ctx, record.email);
  const person = await findPerson(deps, ctx, config.orgId, record.email);
  if (!person) {
    const reason = record.created.invitation
      ? 'the person is neither a member nor invited any more (the invitation this grant sent is gone: deleted by an earlier attempt of this revoke, or declined, lapsed or cancelled in Atlas)'
      : 'the person is no longer a member of the organization';
    return alreadyRevoked(payload.grantId, reason);
  }
  if (undecided(record, person)) {
    // Removing could take access someone else gave, and answering would close the record and leave
    // the grant's roles on an invitation the person may accept later: the record stays open.
    throw new ConnectorError({
      code: 'conflict',
      message: `grantId: grant ${record.grantId} was recorded without the user id of the invitation it sent, and ${record.email} is invited under an invitation that may be someone else's; nothing was removed, and the grant stays open: the sweep removes its roles once the invitation is accepted, and closes it once the invitation is gone`,
      details: { field: 'grantId' },
    });
  }
  const now = deps.clock.now();
  const keeping = recordsOf(payload.grants, record.email).filter(
    (g) => g.grantId !== record.grantId && isActive(g, now),
  );
  const { personGone, ...outcome } = await removeGrants(deps, ctx, {
    orgId: config.orgId,
    person,
    ending: [record],
    keeping,
  });
  if (personGone && outcome.removed.length === 0) {
    return alreadyRevoked(payload.grantId, 'the person left the organization during the revoke');
  }
  return {
    outcome: 'revoked',
    grantId: payload.grantId,
    userId: person.id,
    username: person.username,
    ...outcome,
  };
}
